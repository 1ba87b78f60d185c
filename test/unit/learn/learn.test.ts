import * as tf from '@tensorflow/tfjs';
import {
  alignmentLoss, auroc, batchLosses, buildVocabulary, chooseBackend, decodeVector, encodeVector, infoNce, lookup, mergeConfig, Model,
  ontologySimilarity, Rng, Sampler, splitOf, totalLoss, type Dataset, type LearnConfig, type RecordData,
} from '../../../src/learn/index.js';
import { loadOntology } from '../../../src/ontology/index.js';
import { miniHpo } from '../../helpers/paths.js';

const { sin, PI } = Math;
const quiet = () => undefined;
const ontology = loadOntology(miniHpo);

/** A tiny configuration: ECG only, 1 layer; seconds per run. */
const tiny = (extra: Record<string, unknown> = {}): LearnConfig =>
  mergeConfig({
    name: 'unit', dim: 16, phenotype: { batch: 6, maxTerms: 4, attention: 8 },
    signals: { ecg: { downsample: 10, patch: 10, dModel: 16, layers: 1, heads: 2, mlp: 16, batch: 8 }, eeg: null },
    termPairs: 16, negatives: 2, learningRate: 0.01, ...extra,
  });

/** Toy ECG records: "AF" ones an irregular sine, normal ones regular; each its own patient, some with phenotypes. */
function toyDataset(n = 24): Dataset {
  const rng = new Rng(5);
  const records: RecordData[] = [];
  for (let i = 0; i < n; i++) {
    const af = i % 2 === 0;
    const seq = new Float32Array(2500);
    let phase = 0;
    for (let t = 0; t < 2500; t++) {
      phase += (2 * PI * (af ? 1 + rng.next() * 3 : 1.2)) / 250;
      seq[t] = sin(phase) + 0.05 * rng.normal();
    }
    records.push({ iri: `urn:r${i}`, id: `P${i}/ecg-${i}`, patient: `P${i}`, modality: 'ecg', site: 's', finding: af ? 'HP:0005110' : undefined, sequences: [seq, seq.map((x) => -x)] });
  }
  const patients = records.map((r, i) => ({
    id: r.patient, iri: `urn:p${i}`, group: r.patient, records: [i],
    observed: i % 3 === 0 ? ['HP:0002373', 'HP:0001249'] : i % 3 === 1 ? ['HP:0011097'] : [],
    excluded: i % 3 === 0 ? ['HP:0000252'] : [],
  }));
  return { patients, records, skipped: [] };
}

beforeAll(async () => {
  await chooseBackend('cpu', quiet);
});

describe('backends', () => {
  test('an explicit backend is used; an unavailable one is one clear error; the default falls back past the node backends', async () => {
    expect((await chooseBackend('cpu', quiet)).name).toBe('cpu');
    await expect(chooseBackend('node', quiet)).rejects.toThrow(/--backend node: not available: @tensorflow\/tfjs-node is not installed/);
    await expect(chooseBackend('tpu', quiet)).rejects.toThrow(/--backend tpu: expected one of node-gpu, node, wasm, cpu/);
    const lines: string[] = [];
    const choice = await chooseBackend(undefined, (l) => lines.push(l));
    expect(choice.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(lines.filter((l) => /skipped/.test(l))).toHaveLength(2);
    await chooseBackend('cpu', quiet);
  });

  test('the scatter-based lookup has the gradient of tf.gather (cpu), duplicates summed', () => {
    const table = tf.tensor2d(new Rng(1).normals(7 * 3), [7, 3]);
    const idx = tf.tensor1d([2, 5, 2, 0], 'int32');
    const weights = tf.tensor2d(new Rng(2).normals(4 * 3), [4, 3]);
    const ours = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(lookup(t as tf.Tensor2D, idx), weights)))(table);
    const stock = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idx), weights)))(table);
    const a = ours.arraySync() as number[][];
    const b = stock.arraySync() as number[][];
    for (let i = 0; i < 7; i++) for (let j = 0; j < 3; j++) expect(a[i][j]).toBeCloseTo(b[i][j], 6);
    // Row 2 was looked up twice: its gradient is the sum of both rows of weights.
    const w = weights.arraySync() as number[][];
    expect(a[2][1]).toBeCloseTo(w[0][1] + w[2][1], 6);
    expect(a[1]).toEqual([0, 0, 0]);
  });

  test('wasm and cpu give the same forward pass and gradients train on wasm', async () => {
    const data = toyDataset(6);
    const vocab = buildVocabulary(ontology, ['HP:0005110']);
    const run = () => {
      const model = new Model(tiny(), vocab, 3);
      const x = new Float32Array(3 * 2500);
      data.records.slice(0, 3).forEach((r, i) => x.set(r.sequences[0], i * 2500));
      const sig = model.encodeSignals('ecg', x, 3).arraySync();
      const batch = new Sampler(model, data, () => true).next(new Rng(4));
      const loss = tf.tidy(() => totalLoss(model, batchLosses(model, batch)).arraySync());
      const { grads } = tf.variableGrads(() => totalLoss(model, batchLosses(model, batch)), model.trainable());
      const termGrad = (grads[model.v('terms').name].abs().sum().arraySync() as number);
      model.dispose();
      return { sig: sig.flat(), loss, termGrad };
    };
    await chooseBackend('cpu', quiet);
    const cpu = run();
    await chooseBackend('wasm', quiet);
    const wasm = run();
    await chooseBackend('cpu', quiet);
    cpu.sig.forEach((v, i) => expect(wasm.sig[i]).toBeCloseTo(v, 4));
    expect(wasm.loss).toBeCloseTo(cpu.loss as number, 3);
    expect(wasm.termGrad).toBeGreaterThan(0);
    expect(wasm.termGrad).toBeCloseTo(cpu.termGrad, 3);
  });
});

describe('encoders, fusion and losses', () => {
  const vocab = buildVocabulary(ontology, ['HP:0005110']);

  test('shapes: [B, dim] unit vectors from phenotype sets and signals', () => {
    const model = new Model(tiny(), vocab, 1);
    const batch = new Sampler(model, toyDataset(8), () => true).next(new Rng(1));
    const zp = model.encodePhenotypes(batch.phenotype!.batch);
    expect(zp.shape).toEqual([batch.phenotype!.batch.size, 16]);
    const zs = model.encodeSignals('ecg', batch.signals[0].view1, batch.signals[0].size);
    expect(zs.shape).toEqual([8, 16]);
    for (const n of tf.norm(zs, 'euclidean', 1).arraySync() as number[]) expect(n).toBeCloseTo(1, 5);
    expect(model.tokens('ecg')).toBe(25);
    model.dispose();
  });

  test('term embeddings start near ontology neighbours: siblings under Seizure closer than unrelated terms', () => {
    const model = new Model(tiny({ dim: 1024 }), vocab, 2);
    const ids = ['HP:0002373', 'HP:0011097', 'HP:0000252'].map((t) => vocab.index.get(t)!);
    const z = model.termEmbeddings(Int32Array.from(ids)).arraySync();
    const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
    expect(cos(z[0], z[1])).toBeGreaterThan(cos(z[0], z[2]));
    expect(ontologySimilarity(vocab, ids[0], ids[0])).toBe(1);
    expect(ontologySimilarity(vocab, ids[0], ids[1])).toBeGreaterThan(ontologySimilarity(vocab, ids[0], ids[2]));
    model.dispose();
  });

  test('fusion: a missing modality is absent, not a zero vector', () => {
    const model = new Model(tiny(), vocab, 3);
    const zP = tf.tensor2d(new Rng(1).normals(2 * 16), [2, 16]);
    const zE = tf.tensor2d(new Rng(2).normals(1 * 16), [1, 16]);
    // Patient 0 has phenotypes only, patient 1 phenotypes and an ECG.
    const fused = model.fuse([{ modality: 'phenotype', z: zP, rows: Int32Array.of(0, 1) }, { modality: 'ecg', z: zE, rows: Int32Array.of(1) }], 2).arraySync();
    const alone = model.fuse([{ modality: 'phenotype', z: zP, rows: Int32Array.of(0, 1) }], 2).arraySync();
    fused[0].forEach((v, i) => expect(v).toBeCloseTo(alone[0][i], 6));
    // Identity projections at initialisation: patient 1 is the normalised mean of its two embeddings.
    const mean = tf.tidy(() => { const m = tf.div(tf.add(zP.slice([1, 0], [1, 16]), zE), 2); return tf.div(m, tf.norm(m)).arraySync() as number[][]; });
    fused[1].forEach((v, i) => expect(v).toBeCloseTo(mean[0][i], 5));
    expect(() => model.fuse([{ modality: 'phenotype', z: zP, rows: Int32Array.of(0, 1) }], 3)).toThrow(/patient row 2 has no modality/);
    model.dispose();
  });

  test('InfoNCE is low for matched pairs and high for shuffled ones; alignment prefers the positive', () => {
    const a = tf.eye(4) as tf.Tensor2D;
    expect(infoNce(a, a, 0.1).arraySync()).toBeLessThan(0.01);
    expect(infoNce(a, tf.reverse(a, 0) as tf.Tensor2D, 0.1).arraySync()).toBeGreaterThan(5);
    const items = tf.tensor2d([[1, 0]]);
    const cands = tf.tensor2d([[1, 0], [0, 1]]);
    expect(alignmentLoss(items, cands, Float32Array.of(1, 0), 0.1).arraySync()).toBeLessThan(alignmentLoss(items, cands, Float32Array.of(0, 1), 0.1).arraySync());
  });

  beforeAll(async () => {
    await chooseBackend('wasm', quiet);
  });
  afterAll(async () => {
    await chooseBackend('cpu', quiet);
  });

  const trainSteps = (config: LearnConfig, seed: number, steps: number) => {
    const data = toyDataset();
    const model = new Model(config, vocab, seed);
    const sampler = new Sampler(model, data, () => true);
    const rng = new Rng(seed);
    const opt = tf.train.adam(config.learningRate);
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) {
      const batch = sampler.next(rng);
      const { value, grads } = tf.variableGrads(() => totalLoss(model, batchLosses(model, batch)), model.trainable());
      opt.applyGradients(model.trainable().map((v) => ({ name: v.name, tensor: grads[v.name] ?? tf.zerosLike(v) })));
      losses.push(value.arraySync() as number);
      tf.dispose([value, ...Object.values(grads)]);
    }
    model.dispose();
    return losses;
  };

  test('every loss term decreases on a toy problem; each can be switched off', () => {
    const losses = trainSteps(tiny(), 1, 30);
    const head = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const tail = losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(tail).toBeLessThan(0.8 * head);
    const model = new Model(tiny({ losses: { views: 0, ontology: 0 } }), vocab, 1);
    const parts = batchLosses(model, new Sampler(model, toyDataset(), () => true).next(new Rng(1)));
    expect(Object.keys(parts).sort()).toEqual(['alignment', 'crossModal']);
    model.dispose();
    expect(() => tiny({ losses: { crossModal: 0, views: 0, alignment: 0, ontology: 0 } })).toThrow(/losses: every loss is switched off/);
  }, 60_000);

  test('a seed gives the same run; another seed a different one', () => {
    const a = trainSteps(tiny(), 7, 4);
    expect(trainSteps(tiny(), 7, 4)).toEqual(a);
    expect(trainSteps(tiny(), 8, 4)).not.toEqual(a);
  }, 60_000);
});

describe('splits, metrics, encodings, configuration', () => {
  test('splits are deterministic per seed and roughly the asked fractions', () => {
    const groups = Array.from({ length: 2000 }, (_, i) => `g${i}`);
    const f = { validation: 0.1, test: 0.2 };
    const s1 = groups.map((g) => splitOf(g, 1, f));
    expect(groups.map((g) => splitOf(g, 1, f))).toEqual(s1);
    expect(groups.map((g) => splitOf(g, 2, f))).not.toEqual(s1);
    const test = s1.filter((s) => s === 'test').length / groups.length;
    expect(test).toBeGreaterThan(0.17);
    expect(test).toBeLessThan(0.23);
    // Ids differing only in their last characters still spread over every split.
    const bonn = Array.from({ length: 100 }, (_, i) => `patient:BONN-Z-Z${String(i + 1).padStart(3, '0')}`).map((g) => splitOf(g, 1, f));
    expect(new Set(bonn)).toEqual(new Set(['train', 'validation', 'test']));
    expect(bonn.filter((s) => s === 'test').length).toBeGreaterThan(10);
  });

  test('AUROC by ranks, ties counted half', () => {
    expect(auroc([0.9, 0.8, 0.1, 0.2], [true, true, false, false])).toBe(1);
    expect(auroc([0.1, 0.2, 0.9, 0.8], [true, true, false, false])).toBe(0);
    expect(auroc([0.5, 0.5], [true, false])).toBe(0.5);
    expect(auroc([0.3, 0.1, 0.2], [true, false, true])).toBe(1);
    expect(auroc([1, 2], [true, true])).toBeNaN();
  });

  test('vectors round-trip through the base64 float32 literal', () => {
    const v = Float32Array.of(1.5, -0.25, 3e-8, 0);
    expect(encodeVector(v)).toBe(Buffer.from(v.buffer).toString('base64'));
    expect([...decodeVector(encodeVector(v))]).toEqual([...v]);
  });

  test('configuration errors name the field', () => {
    expect(() => mergeConfig({ dimm: 3 })).toThrow(/dimm: unknown setting/);
    expect(() => mergeConfig({ signals: { ecg: { dModel: 30, heads: 4 } } })).toThrow(/signals.ecg.heads: dModel 30 is not a multiple of 4 heads/);
    expect(() => mergeConfig({ split: { test: 0 } })).toThrow(/split:/);
    expect(mergeConfig({ preset: 'full' }).signals.ecg!.layers).toBe(4);
  });
});
