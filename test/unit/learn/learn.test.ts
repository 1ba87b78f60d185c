import * as tf from '@tensorflow/tfjs';
import {
  alignmentLoss, augmentVolume, auroc, batchLosses, buildVocabulary, chooseBackend, crossModalPairs, decodeVector, encodeVector, infoNce, lookup,
  maskedReconstructionLoss, mergeConfig, Model, ontologySimilarity, patchify, patientSplits, resampleVolume, Rng, Sampler, splitOf, totalLoss,
  type Dataset, type LearnConfig, type RecordData,
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
    imaging: null, termPairs: 16, negatives: 2, learningRate: 0.01, ...extra,
  });

/** A tiny imaging configuration: MRI volumes of 8^3 in patches of 4^3 (8 tokens), no signals. */
const tinyImaging = (extra: Record<string, unknown> = {}): LearnConfig =>
  tiny({ signals: {}, imaging: { mri: { shape: [8, 8, 8], patch: [4, 4, 4], dModel: 16, layers: 1, heads: 2, mlp: 16, batch: 8 } }, ...extra });

/** Toy volumes: a bright ball, large ("hyperplasia", HP:0008221) in even records, small in odd ones, at a random place. */
function toyVolumes(n = 16, withEcg = false): Dataset {
  const rng = new Rng(9);
  const records: RecordData[] = [];
  for (let i = 0; i < n; i++) {
    const large = i % 2 === 0;
    const r = large ? 2.6 : 1.4;
    const c = [3.5 + rng.next() - 0.5, 3.5 + rng.next() - 0.5, 3.5 + rng.next() - 0.5];
    const v = new Float32Array(512);
    for (let z = 0; z < 8; z++) for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) {
      const d = Math.hypot(z - c[0], y - c[1], x - c[2]);
      v[(z * 8 + y) * 8 + x] = (d < r ? 1 : -0.5) + 0.05 * rng.normal();
    }
    records.push({ iri: `urn:v${i}`, id: `P${i}/mri-${i}`, patient: `P${i}`, modality: 'mri', finding: large ? 'HP:0008221' : undefined, sequences: [v] });
  }
  const ecg = withEcg ? toyDataset(n).records.map((r, i) => ({ ...r, patient: `P${i}` })) : [];
  const all = [...records, ...ecg];
  const patients = records.map((r, i) => ({
    id: r.patient, iri: `urn:p${i}`, group: r.patient, observed: i % 4 === 0 ? ['HP:0011097'] : [], excluded: [],
    records: all.map((x, k) => [x, k] as const).filter(([x]) => x.patient === r.patient).map(([, k]) => k),
  }));
  return { patients, records: all, skipped: [] };
}

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
    expect(Object.keys(parts).sort()).toEqual(['alignment', 'crossModal', 'reconstruction']);
    model.dispose();
    expect(() => tiny({ losses: { crossModal: 0, views: 0, alignment: 0, ontology: 0, reconstruction: 0, maskedVariants: 0 } })).toThrow(/losses: every loss is switched off/);
  }, 60_000);

  test('a seed gives the same run; another seed a different one', () => {
    const a = trainSteps(tiny(), 7, 4);
    expect(trainSteps(tiny(), 7, 4)).toEqual(a);
    expect(trainSteps(tiny(), 8, 4)).not.toEqual(a);
  }, 60_000);
});

describe('imaging encoder, masked reconstruction, cross-modal pairs', () => {
  const vocab = buildVocabulary(ontology, ['HP:0005110', 'HP:0008221']);

  test('patchify cuts C-order volumes into z-major patches; resampling keeps corners and is linear between', () => {
    const c = { shape: [4, 4, 6] as [number, number, number], patch: [2, 2, 3] as [number, number, number] };
    const x = Float32Array.from({ length: 2 * 96 }, (_, i) => i);
    const p = patchify(x, 2, c);
    // 2 x 2 x 2 = 8 tokens of 12 voxels per volume. Token 1 is (z 0-1, y 0-1, x 3-5): its first voxel is (0, 0, 3).
    expect(p.length).toBe(x.length);
    expect(Array.from(p.subarray(12, 15))).toEqual([3, 4, 5]);
    // Its fourth voxel is (0, 1, 3) = 6 + 3; the second volume starts at 96.
    expect(p[15]).toBe(9);
    expect(p[8 * 12]).toBe(96);
    expect(new Set(p).size).toBe(x.length);
    expect(() => patchify(x, 3, c)).toThrow(/192 values for 3 volumes of 4x4x6/);
    const v = Float32Array.from({ length: 8 }, (_, i) => i); // [2, 2, 2]: value = 4z + 2y + x
    const up = resampleVolume(v, [2, 2, 2], [3, 3, 3]);
    expect(up[0]).toBe(0);
    expect(up[26]).toBe(7);
    expect(up[13]).toBeCloseTo(3.5, 6); // the centre: the mean of all eight
    expect(up[1]).toBeCloseTo(0.5, 6); // halfway along x
    expect(resampleVolume(v, [2, 2, 2], [2, 2, 2])).toBe(v);
  });

  test('shapes: unit vectors [B, dim] from volumes; a masked batch reconstructs [B, T, P]; config errors name the field', () => {
    const model = new Model(tinyImaging(), vocab, 1);
    expect(model.tokens('mri')).toBe(8);
    expect(model.recordModalities).toEqual(['mri']);
    const data = toyVolumes(4);
    const x = new Float32Array(4 * 512);
    data.records.forEach((r, i) => x.set(r.sequences[0], i * 512));
    const z = model.encodeVolumes('mri', x, 4);
    expect(z.shape).toEqual([4, 16]);
    for (const n of tf.norm(z, 'euclidean', 1).arraySync() as number[]) expect(n).toBeCloseTo(1, 5);
    const mask = new Float32Array(4 * 8).fill(1, 0, 3);
    const enc = model.encodeRecords('mri', x, 4, mask);
    expect(enc.reconstruction!.shape).toEqual([4, 8, 64]);
    expect(enc.patches!.shape).toEqual([4, 8, 64]);
    model.dispose();
    expect(() => tinyImaging({ imaging: { mri: { shape: [8, 8, 9], patch: [4, 4, 4] } } })).toThrow(/imaging.mri.patch: shape 8x8x9 does not split into patches of 4x4x4 \(axis x\)/);
    expect(() => tinyImaging({ imaging: { pet: {} } })).toThrow(/imaging.pet: expected mri or oct/);
    expect(() => tinyImaging({ imaging: { mri: { shape: [8, 8] } } })).toThrow(/imaging.mri.shape: expected \[z, y, x\]/);
    expect(() => tiny({ maskRatio: 1 })).toThrow(/maskRatio: expected a fraction strictly between 0 and 1/);
    expect(mergeConfig({}).imaging.mri!.shape).toEqual([32, 32, 32]);
    // As with signals: the modalities listed are the ones learned, null leaves one out.
    expect(mergeConfig({ imaging: { mri: {}, oct: null } }).imaging).toEqual({ mri: mergeConfig({}).imaging.mri });
  });

  test('the reconstruction loss counts masked patches only', () => {
    const target = tf.tensor3d(new Rng(1).normals(2 * 3 * 4), [2, 3, 4]);
    const noise = tf.tensor3d(new Rng(2).normals(2 * 3 * 4), [2, 3, 4]);
    const mask = Float32Array.of(1, 0, 0, 0, 1, 0);
    // Exact on the masked patches (0 and 4), wrong everywhere else: no loss.
    const keep = tf.tensor3d(Float32Array.from({ length: 24 }, (_, i) => mask[Math.floor(i / 4)]), [2, 3, 4]);
    const exactWhereMasked = tf.add(tf.mul(keep, target), tf.mul(tf.sub(1, keep), noise)) as tf.Tensor3D;
    expect(maskedReconstructionLoss(exactWhereMasked, target, mask).arraySync()).toBeCloseTo(0, 6);
    // Wrong only on the masked ones: the mean over those two patches of the mean squared error.
    const wrongWhereMasked = tf.add(tf.mul(keep, noise), tf.mul(tf.sub(1, keep), target)) as tf.Tensor3D;
    const d = tf.sub(noise, target).arraySync() as number[][][];
    const mse = (p: number[]) => p.reduce((a, v) => a + v * v, 0) / p.length;
    expect(maskedReconstructionLoss(wrongWhereMasked, target, mask).arraySync()).toBeCloseTo((mse(d[0][0]) + mse(d[1][1])) / 2, 5);
    expect(() => maskedReconstructionLoss(target, target, new Float32Array(6))).toThrow(/no patch is masked/);
  });

  test('the sampler masks maskRatio of the second view\'s patches; switched off, there is no mask, no head and no loss', () => {
    const model = new Model(tinyImaging({ maskRatio: 0.25 }), vocab, 2);
    const batch = new Sampler(model, toyVolumes(), () => true).next(new Rng(3));
    const s = batch.signals[0];
    expect(s.modality).toBe('mri');
    expect(s.size).toBe(8);
    for (let i = 0; i < s.size; i++) expect(s.mask!.subarray(i * 8, i * 8 + 8).reduce((a, b) => a + b)).toBe(2);
    expect(Object.keys(batchLosses(model, batch)).sort()).toEqual(['alignment', 'ontology', 'reconstruction', 'views']);
    model.dispose();
    const off = new Model(tinyImaging({ losses: { reconstruction: 0 } }), vocab, 2);
    expect([...off.vars.keys()].filter((k) => /maskToken|recon/.test(k))).toEqual([]);
    const b2 = new Sampler(off, toyVolumes(), () => true).next(new Rng(3));
    expect(b2.signals[0].mask).toBeUndefined();
    expect(Object.keys(batchLosses(off, b2))).not.toContain('reconstruction');
    expect(() => off.encodeRecords('mri', b2.signals[0].view1, 8, new Float32Array(64).fill(1))).toThrow(/a mask needs the reconstruction loss/);
    off.dispose();
    // The second view is a shifted, maybe mirrored, noisy copy: close to the first, not equal.
    const v = toyVolumes(1).records[0].sequences[0];
    const a = augmentVolume(v, { shape: [8, 8, 8], patch: [4, 4, 4] }, new Rng(4));
    expect(a).not.toEqual(v);
    expect(a.length).toBe(512);
  });

  test('cross-modal InfoNCE between every pair of modalities a patient has, phenotype or not', () => {
    const model = new Model(tinyImaging({ signals: { ecg: { downsample: 10, patch: 10, dModel: 16, layers: 1, heads: 2, mlp: 16, batch: 8 } } }), vocab, 3);
    const data = toyVolumes(16, true);
    const batch = new Sampler(model, data, () => true).next(new Rng(5));
    expect(batch.signals.map((s) => s.modality)).toEqual(['ecg', 'mri']);
    // MRI records prefer the patients whose ECG was drawn: at least half of them are shared.
    const ecgPatients = new Set(batch.signals[0].records.map((r) => r.patient));
    expect(batch.signals[1].records.filter((r) => ecgPatients.has(r.patient)).length).toBeGreaterThanOrEqual(4);
    const noPheno = { ...batch, phenotype: undefined };
    const parts = batchLosses(model, noPheno);
    expect(parts.crossModal).toBeDefined();
    // Three modalities a, b, c with rows for patients {0,1,2}, {1,2}, {0}: pairs a-b only (a-c and b-c share < 2).
    const z = (n: number) => tf.tensor2d(new Rng(n).normals(n * 16), [n, 16]);
    const pairs = crossModalPairs([
      { modality: 'phenotype', z: z(3), rows: new Map([[0, 0], [1, 1], [2, 2]]) },
      { modality: 'ecg', z: z(2), rows: new Map([[1, 0], [2, 1]]) },
      { modality: 'mri', z: z(1), rows: new Map([[0, 0]]) },
    ], 0.1);
    expect(pairs).toHaveLength(1);
    model.dispose();
  });

  test('wasm and cpu agree on the imaging encoder\'s forward pass and reconstruction', async () => {
    const data = toyVolumes(3);
    const x = new Float32Array(3 * 512);
    data.records.forEach((r, i) => x.set(r.sequences[0], i * 512));
    const mask = Float32Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const run = () => {
      const model = new Model(tinyImaging(), vocab, 4);
      const enc = model.encodeRecords('mri', x, 3, mask);
      const out = { z: (enc.z.arraySync() as number[][]).flat(), loss: maskedReconstructionLoss(enc.reconstruction!, enc.patches!, mask).arraySync() as number };
      model.dispose();
      return out;
    };
    await chooseBackend('cpu', quiet);
    const cpu = run();
    await chooseBackend('wasm', quiet);
    const wasm = run();
    await chooseBackend('cpu', quiet);
    cpu.z.forEach((v, i) => expect(wasm.z[i]).toBeCloseTo(v, 4));
    expect(wasm.loss).toBeCloseTo(cpu.loss, 3);
  });

  /** Trains an imaging model on toy volumes (patients P0-P23 only); the per-step losses and the model. */
  const trainVolumes = (config: LearnConfig, data: Dataset, steps: number) => {
    const model = new Model(config, vocab, 5);
    const sampler = new Sampler(model, data, (p) => Number(p.slice(1)) < 24);
    const rng = new Rng(5);
    const opt = tf.train.adam(config.learningRate);
    const rec: number[] = [];
    const total: number[] = [];
    for (let s = 0; s < steps; s++) {
      const batch = sampler.next(rng);
      let r = 0;
      const { value, grads } = tf.variableGrads(() => {
        const parts = batchLosses(model, batch);
        r = parts.reconstruction ? (parts.reconstruction.arraySync() as number) : NaN;
        return totalLoss(model, parts);
      }, model.trainable());
      opt.applyGradients(model.trainable().map((v) => ({ name: v.name, tensor: grads[v.name] ?? tf.zerosLike(v) })));
      rec.push(r);
      total.push(value.arraySync() as number);
      tf.dispose([value, ...Object.values(grads)]);
    }
    opt.dispose();
    return { model, rec, total };
  };
  const mean = (a: number[]) => a.reduce((x, y) => x + y) / a.length;

  test('on toy volumes masked reconstruction alone learns; all losses together decrease and held-out large balls score higher for their term', async () => {
    await chooseBackend('wasm', quiet);
    const data = toyVolumes(32);
    // Patches of 2^3 (64 tokens): enough visible neighbours to reconstruct a masked patch from.
    const fine = { imaging: { mri: { shape: [8, 8, 8], patch: [2, 2, 2], dModel: 16, layers: 1, heads: 2, mlp: 16, batch: 8 } } };
    const alone = trainVolumes(tinyImaging({ ...fine, learningRate: 0.01, losses: { crossModal: 0, views: 0, alignment: 0, ontology: 0, reconstruction: 1 } }), data, 40);
    expect(mean(alone.rec.slice(-5))).toBeLessThan(0.8 * mean(alone.rec.slice(0, 5)));
    alone.model.dispose();
    const { model, total } = trainVolumes(tinyImaging({ learningRate: 0.01 }), data, 40);
    expect(mean(total.slice(-5))).toBeLessThan(0.8 * mean(total.slice(0, 5)));
    const held = data.records.slice(24);
    const x = new Float32Array(held.length * 512);
    held.forEach((r, i) => x.set(r.sequences[0], i * 512));
    const z = model.encodeVolumes('mri', x, held.length).arraySync() as number[][];
    const t = (model.termEmbeddings(Int32Array.of(vocab.index.get('HP:0008221')!)).arraySync() as number[][])[0];
    const scores = z.map((v) => v.reduce((s, a, i) => s + a * t[i], 0));
    expect(auroc(scores, held.map((r) => r.finding !== undefined))).toBeGreaterThan(0.7);
    model.dispose();
    await chooseBackend('cpu', quiet);
  }, 60_000);

  test('split.assign honours a data set\'s own split by patient id', () => {
    const data = toyVolumes(8);
    data.patients.forEach((p, i) => (p.id = `${['train', 'val', 'test'][i % 3]}-${i}`));
    const splits = patientSplits(data, 1, { validation: 0.1, test: 0.2, assign: { test: '^test-', validation: '^val-', train: '^train-' } });
    expect([...splits.values()]).toEqual(['train', 'validation', 'test', 'train', 'validation', 'test', 'train', 'validation']);
    expect(() => tiny({ split: { assign: { test: '(' } } })).toThrow(/split.assign.test: not a regular expression/);
    expect(() => tiny({ split: { assign: { holdout: 'x' } } })).toThrow(/split.assign.holdout: expected train, validation or test/);
  });
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
    expect(() => mergeConfig({ signals: { eeg: { rhythm: true } } })).toThrow(/signals.eeg.rhythm: the rhythm token reads R peaks: ECG only/);
    expect(() => mergeConfig({ signals: { ecg: { rhythm: 'yes' } } })).toThrow(/signals.ecg.rhythm: expected true or false/);
  });

  test('the ECG rhythm token: its own weights, read by the embedding, never reconstructed', () => {
    const vocab = buildVocabulary(ontology, ['HP:0005110']);
    const on = new Model(tiny(), vocab, 3);
    const off = new Model(tiny({ signals: { ecg: { downsample: 10, patch: 10, dModel: 16, layers: 1, heads: 2, mlp: 16, batch: 8, rhythm: false }, eeg: null } }), vocab, 3);
    expect(on.hasRhythm('ecg')).toBe(true);
    expect(off.hasRhythm('ecg')).toBe(false);
    expect(() => off.v('ecg.rhythm.w')).toThrow(/no weight/);
    const x = new Float32Array(2 * 2500);
    toyDataset(2).records.slice(0, 2).forEach((r, i) => x.set(r.sequences[0], i * 2500));
    const T = on.tokens('ecg');
    const enc = on.encodeRecords('ecg', x, 2, new Float32Array(2 * T).fill(1));
    expect(enc.reconstruction!.shape).toEqual([2, T, on.patchLength('ecg')]);
    // The same weights apart from the rhythm token give another embedding: the token is read.
    for (const [name, v] of off.vars) on.v(name).assign(v);
    const a = on.encodeSignals('ecg', x, 2).arraySync();
    const b = off.encodeSignals('ecg', x, 2).arraySync();
    expect(Math.max(...a.flat().map((v, i) => Math.abs(v - b.flat()[i])))).toBeGreaterThan(1e-3);
    on.dispose();
    off.dispose();
  });
});
