import { rmSync } from 'node:fs';
import { embedStore, kmeans, mergeConfig, Rng, silhouette, silhouetteSample, stratify, train } from '../../../src/learn/index.js';
import { tinyStore } from '../cohort/helpers.js';

const quiet = () => undefined;

/** Three well-separated blobs of 40 points in 4 dimensions, shuffled; `truth` is each point's blob. */
function blobs(): { data: Float32Array; truth: number[] } {
  const rng = new Rng(7);
  const centres = [[5, 0, 0, 0], [0, 5, 0, 0], [0, 0, 5, 0]];
  const order = rng.sample(Array.from({ length: 120 }, (_, i) => i), 120);
  const data = new Float32Array(120 * 4);
  const truth: number[] = [];
  order.forEach((p, i) => {
    const c = p % 3;
    truth.push(c);
    for (let d = 0; d < 4; d++) data[i * 4 + d] = centres[c][d] + 0.3 * rng.normal();
  });
  return { data, truth };
}

/** Euclidean distances of the sampled points, as stratify computes them. */
function distances(data: Float32Array, dim: number, sample: number[]): Float32Array {
  const s = sample.length;
  const out = new Float32Array(s * s);
  for (let a = 0; a < s; a++) for (let b = 0; b < s; b++) {
    let x = 0;
    for (let d = 0; d < dim; d++) x += (data[sample[a] * dim + d] - data[sample[b] * dim + d]) ** 2;
    out[a * s + b] = Math.sqrt(x);
  }
  return out;
}

describe('k-means and silhouette', () => {
  test('k-means++ recovers three separated blobs exactly, deterministically for a seed', () => {
    const { data, truth } = blobs();
    const r = kmeans(data, 4, 3, { seed: 2 });
    // Same partition as the truth, up to the cluster numbering.
    const map = new Map<number, number>();
    r.assignments.forEach((c, i) => {
      if (!map.has(c)) map.set(c, truth[i]);
      expect(map.get(c)).toBe(truth[i]);
    });
    expect(new Set(map.values()).size).toBe(3);
    expect(kmeans(data, 4, 3, { seed: 2 }).assignments).toEqual(r.assignments);
    // Within-cluster spread only: 120 points x 4 dims x 0.3^2 is about 43.
    expect(r.inertia).toBeGreaterThan(25);
    expect(r.inertia).toBeLessThan(65);
  });

  test('silhouette is high for the true k, lower for too few or too many clusters; sampled like scikit-learn', () => {
    const { data } = blobs();
    const all = silhouetteSample(120, 2000, 1);
    expect(all).toHaveLength(120);
    const dist = distances(data, 4, all);
    const s = (k: number) => silhouette(dist, all, kmeans(data, 4, k, { seed: 1 }).assignments, k);
    expect(s(3)).toBeGreaterThan(0.8);
    expect(s(2)).toBeLessThan(s(3));
    expect(s(6)).toBeLessThan(s(3));
    const sample = silhouetteSample(120, 50, 1);
    expect(sample).toHaveLength(50);
    expect(new Set(sample).size).toBe(50);
    expect(silhouette(distances(data, 4, sample), sample, kmeans(data, 4, 3, { seed: 1 }).assignments, 3)).toBeGreaterThan(0.8);
  });

  test('a bad k is one clear error', () => {
    expect(() => kmeans(new Float32Array(8), 4, 3)).toThrow(/--k 3: expected an integer from 1 to the number of patients \(2\)/);
  });
});

describe('harmonia stratify on a tiny store', () => {
  let dir: string;
  beforeAll(async () => {
    const t = await tinyStore();
    dir = t.dir;
    await t.store.close();
    const config = mergeConfig({ name: 'unit', dim: 8, phenotype: { batch: 4, maxTerms: 4, attention: 4 }, signals: { ecg: null, eeg: null }, termPairs: 4, negatives: 2, epochs: 1, stepsPerEpoch: 2, patience: 1 });
    await train({ storeDir: dir, config, seed: 5, backend: 'cpu', software: 'harmonia test', log: quiet });
    await embedStore({ storeDir: dir, backend: 'cpu', log: quiet });
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('k 2: every embedded patient in one cluster, ids capped, each cluster characterised against the rest', async () => {
    const r = await stratify({ storeDir: dir, k: 2, members: 2 });
    expect(r).toMatchObject({ patients: 5, k: 2, silhouetteSample: 5 });
    expect(r.clusters.map((c) => c.size).reduce((a, b) => a + b, 0)).toBe(5);
    expect(r.clusters[0].size).toBeGreaterThanOrEqual(r.clusters[1].size);
    const ids = r.clusters.flatMap((c) => c.patients);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of r.clusters) {
      expect(c.patients.length).toBe(Math.min(2, c.size));
      expect(c.more).toBe(c.size - c.patients.length);
      expect(c.characterisation.count).toBe(c.size);
      expect(Object.values(c.characterisation.sex).reduce((a, b) => a + b, 0)).toBe(c.size);
    }
    expect(r.silhouette).toBeGreaterThanOrEqual(-1);
    expect(r.silhouette).toBeLessThanOrEqual(1);
  });

  test('k auto tries 2..4 for five patients and keeps the best silhouette', async () => {
    const r = await stratify({ storeDir: dir, k: 'auto', seed: 3 });
    expect(r.candidates!.map((c) => c.k)).toEqual([2, 3, 4]);
    expect(r.silhouette).toBeCloseTo(Math.max(...r.candidates!.map((c) => c.silhouette)), 3);
    expect(r.candidates!.find((c) => c.k === r.k)!.silhouette).toBeCloseTo(r.silhouette, 3);
    await expect(stratify({ storeDir: dir, k: 9 })).rejects.toThrow(/--k 9: expected an integer from 1 to the number of patients \(5\)/);
  });
});
