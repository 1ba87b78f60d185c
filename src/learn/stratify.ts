import { characterise, type Characterisation } from '../cohort/index.js';
import { InputError } from '../model/index.js';
import { openStore } from '../store/index.js';
import { resolveVersion } from './embed.js';
import { Rng } from './random.js';
import { loadPatientVectors } from './space.js';

// Patient stratification: k-means (k-means++ seeding, Lloyd iterations, the best of a few seeded
// restarts by inertia) of a model's stored patient embeddings; `auto` picks k by the mean silhouette
// (Euclidean, over a seeded sample of at most SILHOUETTE_SAMPLE patients when there are more, as
// scikit-learn's silhouette_score(sample_size=...) does). Each cluster is then characterised with the
// cohort statistics: sex, age bands, top and enriched HPO terms (Fisher, BH) against the other patients.

const { sqrt } = Math;

/** The k range `auto` tries: 2 to AUTO_MAX_K (fewer when there are few patients). */
export const AUTO_MIN_K = 2;
export const AUTO_MAX_K = 12;
export const SILHOUETTE_SAMPLE = 2000;
const RESTARTS = 3;
const MAX_ITERATIONS = 100;

export interface KMeans {
  k: number;
  /** Cluster of each point. */
  assignments: Int32Array;
  /** [k * dim]. */
  centroids: Float32Array;
  /** Sum of squared distances to the assigned centroid. */
  inertia: number;
  iterations: number;
}

function sqDist(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  let s = 0;
  for (let d = 0; d < dim; d++) {
    const x = a[ao + d] - b[bo + d];
    s += x * x;
  }
  return s;
}

/** k-means++ seeding: the first centre at random, each next one with probability proportional to D². */
function seedCentroids(data: Float32Array, n: number, dim: number, k: number, rng: Rng): Float32Array {
  const c = new Float32Array(k * dim);
  const first = rng.int(n);
  c.set(data.subarray(first * dim, first * dim + dim), 0);
  const d2 = new Float64Array(n);
  for (let i = 0; i < n; i++) d2[i] = sqDist(data, i * dim, c, 0, dim);
  for (let j = 1; j < k; j++) {
    let total = 0;
    for (let i = 0; i < n; i++) total += d2[i];
    let u = rng.next() * total;
    let pick = n - 1;
    for (let i = 0; i < n; i++) if ((u -= d2[i]) < 0) {
      pick = i;
      break;
    }
    if (total === 0) pick = rng.int(n);
    c.set(data.subarray(pick * dim, pick * dim + dim), j * dim);
    for (let i = 0; i < n; i++) {
      const d = sqDist(data, i * dim, c, j * dim, dim);
      if (d < d2[i]) d2[i] = d;
    }
  }
  return c;
}

function lloyd(data: Float32Array, n: number, dim: number, k: number, centroids: Float32Array): KMeans {
  const assignments = new Int32Array(n).fill(-1);
  const counts = new Int32Array(k);
  let inertia = 0;
  let iterations = 0;
  for (; iterations < MAX_ITERATIONS; iterations++) {
    let changed = 0;
    inertia = 0;
    const far = { i: -1, d: -1 };
    for (let i = 0; i < n; i++) {
      let bestJ = 0;
      let bestD = Infinity;
      for (let j = 0; j < k; j++) {
        const d = sqDist(data, i * dim, centroids, j * dim, dim);
        if (d < bestD) {
          bestD = d;
          bestJ = j;
        }
      }
      if (assignments[i] !== bestJ) changed++;
      assignments[i] = bestJ;
      inertia += bestD;
      if (bestD > far.d) {
        far.i = i;
        far.d = bestD;
      }
    }
    if (changed === 0 && iterations > 0) break;
    centroids.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const j = assignments[i];
      counts[j]++;
      for (let d = 0; d < dim; d++) centroids[j * dim + d] += data[i * dim + d];
    }
    for (let j = 0; j < k; j++) {
      if (counts[j] === 0) {
        // An empty cluster takes the point farthest from its centre.
        centroids.set(data.subarray(far.i * dim, far.i * dim + dim), j * dim);
        continue;
      }
      for (let d = 0; d < dim; d++) centroids[j * dim + d] /= counts[j];
    }
  }
  return { k, assignments, centroids, inertia, iterations };
}

/** k-means of n points ([n * dim]): the lowest-inertia run of `restarts` seeded k-means++ starts. */
export function kmeans(data: Float32Array, dim: number, k: number, options: { seed?: number; restarts?: number } = {}): KMeans {
  const n = data.length / dim;
  if (!Number.isInteger(k) || k < 1 || k > n) throw new InputError(`--k ${k}: expected an integer from 1 to the number of patients (${n})`);
  const rng = new Rng(options.seed ?? 1);
  let bestRun: KMeans | undefined;
  for (let r = 0; r < (options.restarts ?? RESTARTS); r++) {
    const run = lloyd(data, n, dim, k, seedCentroids(data, n, dim, k, rng));
    if (!bestRun || run.inertia < bestRun.inertia) bestRun = run;
  }
  return bestRun!;
}

/** Pairwise Euclidean distances of the sampled points, [s * s]. */
function distances(data: Float32Array, dim: number, sample: number[]): Float32Array {
  const s = sample.length;
  const out = new Float32Array(s * s);
  for (let a = 0; a < s; a++) {
    for (let b = a + 1; b < s; b++) {
      const d = sqrt(sqDist(data, sample[a] * dim, data, sample[b] * dim, dim));
      out[a * s + b] = d;
      out[b * s + a] = d;
    }
  }
  return out;
}

/** Indices of at most `size` points, seeded; all points when there are fewer. */
export function silhouetteSample(n: number, size: number, seed: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  return n <= size ? all : new Rng(seed).sample(all, size).sort((a, b) => a - b);
}

/**
 * Mean silhouette of the sampled points: (b - a) / max(a, b), a the mean distance to the other sampled
 * points of its cluster, b the lowest mean distance to another cluster's; 0 for a point alone in its cluster.
 */
export function silhouette(dist: Float32Array, sample: number[], assignments: Int32Array, k: number): number {
  const s = sample.length;
  const label = Int32Array.from(sample, (i) => assignments[i]);
  const size = new Int32Array(k);
  for (const l of label) size[l]++;
  const sums = new Float64Array(k);
  let total = 0;
  for (let a = 0; a < s; a++) {
    sums.fill(0);
    for (let b = 0; b < s; b++) sums[label[b]] += dist[a * s + b];
    const own = label[a];
    if (size[own] <= 1) continue;
    const inA = sums[own] / (size[own] - 1);
    let outB = Infinity;
    for (let j = 0; j < k; j++) if (j !== own && size[j] > 0 && sums[j] / size[j] < outB) outB = sums[j] / size[j];
    if (!Number.isFinite(outB)) continue;
    total += (outB - inA) / Math.max(inA, outB);
  }
  return s ? total / s : 0;
}

export interface StratifyOptions {
  storeDir: string;
  k: number | 'auto';
  version?: string;
  seed?: number;
  /** Patient ids listed per cluster (the size is always the full count); default 100. */
  members?: number;
  /** Terms, genes and diseases per characterisation list; default 10. */
  limit?: number;
}

export interface StratumCluster {
  id: number;
  size: number;
  /** Patient ids, sorted, at most `members` of them. */
  patients: string[];
  /** How many ids were left out of `patients`. */
  more: number;
  characterisation: Characterisation;
}

export interface StratifyResult {
  model: string;
  patients: number;
  k: number;
  /** Mean silhouette of the chosen clustering (over `silhouetteSample` patients). */
  silhouette: number;
  silhouetteSample: number;
  /** With --k auto: the silhouette of every k tried. */
  candidates?: { k: number; silhouette: number }[];
  clusters: StratumCluster[];
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;

/** Clusters the stored patient embeddings of a model and characterises each cluster. */
export async function stratify(options: StratifyOptions): Promise<StratifyResult> {
  const version = resolveVersion(options.storeDir, options.version);
  const seed = options.seed ?? 1;
  const store = await openStore(options.storeDir);
  try {
    const ontology = await store.ontology();
    if (!ontology) throw new Error(`${options.storeDir}: the store has no ontology; ingest with --hpo first`);
    const vectors = await loadPatientVectors(store, version);
    const n = vectors.ids.length;
    const sample = silhouetteSample(n, SILHOUETTE_SAMPLE, seed);
    const dist = distances(vectors.matrix, vectors.dim, sample);
    let chosen: KMeans;
    let candidates: StratifyResult['candidates'];
    if (options.k === 'auto') {
      const hi = Math.min(AUTO_MAX_K, n - 1);
      if (hi < AUTO_MIN_K) throw new InputError(`--k auto: ${n} embedded patients are too few to cluster (at least 3)`);
      const runs = [];
      for (let k = AUTO_MIN_K; k <= hi; k++) {
        const run = kmeans(vectors.matrix, vectors.dim, k, { seed });
        runs.push({ run, s: silhouette(dist, sample, run.assignments, k) });
      }
      const top = runs.reduce((a, b) => (b.s > a.s ? b : a));
      chosen = top.run;
      candidates = runs.map((r) => ({ k: r.run.k, silhouette: round(r.s) }));
    } else {
      chosen = kmeans(vectors.matrix, vectors.dim, options.k, { seed });
    }
    const members = options.members ?? 100;
    const clusters: StratumCluster[] = [];
    // Clusters numbered by size (largest first) so the numbering is stable across seeds that find the same partition.
    const groups = Array.from({ length: chosen.k }, () => [] as string[]);
    chosen.assignments.forEach((c, i) => groups[c].push(vectors.ids[i]));
    groups.sort((a, b) => b.length - a.length || (a[0] < b[0] ? -1 : 1));
    for (const [id, ids] of groups.entries()) {
      if (!ids.length) continue;
      ids.sort();
      clusters.push({ id, size: ids.length, patients: ids.slice(0, members), more: Math.max(0, ids.length - members), characterisation: await characterise(store, ontology, ids, options.limit ?? 10) });
    }
    return {
      model: version, patients: n, k: chosen.k,
      silhouette: round(chosen.k > 1 ? silhouette(dist, sample, chosen.assignments, chosen.k) : 0), silhouetteSample: sample.length,
      ...(candidates ? { candidates } : {}), clusters,
    };
  } finally {
    await store.close();
  }
}
