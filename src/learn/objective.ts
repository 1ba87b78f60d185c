import * as tf from '@tensorflow/tfjs';
import type { LearnConfig } from './config.js';
import type { RecordData, RecordModality } from './data.js';
import { alignmentLoss, infoNce, maskedReconstructionLoss, maskedVariantLoss, ontologyLoss } from './losses.js';
import { lookup } from './lookup.js';
import type { GenotypeBatch, Model, ModalityName, PhenotypeBatch } from './model.js';

// One training step's inputs (built in plain JS by the sampler) and the losses computed from them.

/** A batch of records of one modality (signals or volumes). */
export interface SignalBatch {
  modality: RecordModality;
  size: number;
  /** Two augmented views of each record, [size * L] each (L: a sequence's samples or a volume's voxels). */
  view1: Float32Array;
  view2: Float32Array;
  /** Masked patches of the second view, [size * tokens], 1 = masked: only when the reconstruction loss is on. */
  mask?: Float32Array;
  records: RecordData[];
}
export type RecordBatch = SignalBatch;

export interface TrainBatch {
  phenotype?: { batch: PhenotypeBatch; patients: string[]; observed: number[][] };
  signals: SignalBatch[];
  /**
   * Genotypes of patients (those of the phenotype batch first), with the masked tokens when
   * masked-variant pretraining is on, and per genotype row its patient's row in the phenotype batch (-1: none).
   */
  genotype?: { batch: GenotypeBatch; patients: string[]; mask?: Float32Array; phenotypeRow?: Int32Array };
  termPairs?: { left: Int32Array; right: Int32Array; target: Float32Array };
  /** Vocabulary indices of random terms added to the alignment candidates. */
  negatives: Int32Array;
  /** Every finding term (vocabulary index) of each modality: always candidates for its records. */
  findings: Partial<Record<RecordModality, number[]>>;
}

export type LossName = keyof LearnConfig['losses'];
export const LOSS_NAMES: LossName[] = ['crossModal', 'views', 'alignment', 'ontology', 'reconstruction', 'maskedVariants'];

/** One modality's embeddings in a batch and the batch patient row of each of its rows. */
export interface Present {
  modality: ModalityName;
  z: tf.Tensor2D;
  /** Batch patient row -> row of z (a patient's first record of the modality). */
  rows: Map<number, number>;
}

/** The weighted losses of one batch; a switched-off loss (weight 0) or one without data is absent. */
export function batchLosses(model: Model, b: TrainBatch): Partial<Record<LossName, tf.Scalar>> {
  const w = model.config.losses;
  const tau = model.config.temperature;
  const out: Partial<Record<LossName, tf.Scalar>> = {};
  const zP = b.phenotype ? model.encodePhenotypes(b.phenotype.batch) : undefined;
  const reconstructions: tf.Scalar[] = [];
  const signals = b.signals.map((s) => {
    const L = s.view1.length / s.size;
    const both = new Float32Array(2 * s.size * L);
    both.set(s.view1);
    both.set(s.view2, s.size * L);
    // The first view is never masked: the mask covers the second view's rows only.
    const mask = s.mask && model.reconstructs ? new Float32Array(2 * s.mask.length) : undefined;
    mask?.set(s.mask!, s.mask!.length);
    const enc = model.encodeRecords(s.modality, both, 2 * s.size, mask);
    if (mask && enc.reconstruction) reconstructions.push(maskedReconstructionLoss(enc.reconstruction, enc.patches!, mask));
    const z = enc.z;
    return { s, z1: z.slice([0, 0], [s.size, -1]) as tf.Tensor2D, z2: z.slice([s.size, 0], [s.size, -1]) as tf.Tensor2D };
  });
  if (w.views > 0) {
    const parts = signals.filter((x) => x.s.size >= 2).map((x) => infoNce(x.z1, x.z2, tau));
    if (parts.length) out.views = tf.div(tf.addN(parts), parts.length) as tf.Scalar;
  }
  if (reconstructions.length) out.reconstruction = tf.div(tf.addN(reconstructions), reconstructions.length) as tf.Scalar;
  const geno = b.genotype && model.genes ? b.genotype : undefined;
  const zG = geno ? model.encodeGenotypes(geno.batch).z : undefined;
  if (geno?.mask && model.predictsVariants && (w.maskedVariants ?? 0) > 0) {
    // The phenotype batch's embeddings are the context of the masked pass: genes predicted from phenotypes and the other variants.
    const rows = geno.phenotypeRow;
    const context = zP && rows ? { z: rows2d(zP, Array.from(rows, (r) => Math.max(r, 0))), present: Float32Array.from(rows, (r) => (r >= 0 ? 1 : 0)) } : undefined;
    const enc = model.encodeGenotypes(geno.batch, geno.mask, context);
    if (enc.logits) out.maskedVariants = maskedVariantLoss(enc.logits, enc.targets!);
  }
  // Patients of this batch: those of the phenotype batch, then the genotypes' and the records' patients.
  const patients: string[] = [...(b.phenotype?.patients ?? [])];
  const row = new Map(patients.map((p, i) => [p, i] as [string, number]));
  const join = (p: string) => {
    if (!row.has(p)) row.set(p, patients.push(p) - 1);
    return row.get(p)!;
  };
  const genoRows = geno?.patients.map(join);
  for (const { s } of signals) for (const r of s.records) join(r.patient);
  if (w.crossModal > 0) {
    const present: Present[] = [];
    if (zP) present.push({ modality: 'phenotype', z: zP, rows: new Map(b.phenotype!.patients.map((_, i) => [i, i])) });
    if (zG) present.push({ modality: 'genotype', z: zG, rows: new Map(genoRows!.map((p, i) => [p, i])) });
    for (const { s, z1 } of signals) {
      const rows = new Map<number, number>();
      s.records.forEach((r, i) => {
        const p = row.get(r.patient)!;
        if (!rows.has(p)) rows.set(p, i);
      });
      present.push({ modality: s.modality, z: z1, rows });
    }
    const parts = crossModalPairs(present, tau);
    if (parts.length) out.crossModal = tf.div(tf.addN(parts), parts.length) as tf.Scalar;
  }
  if (w.alignment > 0) out.alignment = alignment(model, b, zP, zG && { z: zG, rows: genoRows! }, signals, patients, row);
  if (w.ontology > 0 && b.termPairs) out.ontology = ontologyLoss(model.termEmbeddings(b.termPairs.left), model.termEmbeddings(b.termPairs.right), b.termPairs.target);
  return out;
}

/**
 * Symmetric InfoNCE between every pair of modalities present in the batch, over the patients that
 * have both (at least two, so there is a negative): phenotype-ECG, ECG-EEG, phenotype-MRI, ...
 */
export function crossModalPairs(present: Present[], tau: number): tf.Scalar[] {
  const parts: tf.Scalar[] = [];
  for (let a = 0; a < present.length; a++) {
    for (let c = a + 1; c < present.length; c++) {
      const shared = [...present[a].rows.keys()].filter((p) => present[c].rows.has(p)).sort((x, y) => x - y);
      if (shared.length < 2) continue;
      const left = rows2d(present[a].z, shared.map((p) => present[a].rows.get(p)!));
      const right = rows2d(present[c].z, shared.map((p) => present[c].rows.get(p)!));
      parts.push(infoNce(left, right, tau));
    }
  }
  return parts;
}

/**
 * Records near their finding (or their modality's "no finding" anchor), patients (fused over the
 * modalities present in the batch) near their observed terms and their records' findings.
 */
function alignment(
  model: Model,
  b: TrainBatch,
  zP: tf.Tensor2D | undefined,
  zG: { z: tf.Tensor2D; rows: number[] } | undefined,
  signals: { s: SignalBatch; z1: tf.Tensor2D }[],
  patients: string[],
  row: Map<string, number>,
): tf.Scalar | undefined {
  const tau = model.config.temperature;
  const index = model.vocab.index;
  const candidates: number[] = [];
  const column = new Map<number, number>();
  const col = (t: number) => {
    let c = column.get(t);
    if (c === undefined) column.set(t, (c = candidates.push(t) - 1));
    return c;
  };
  for (const list of Object.values(b.findings)) for (const t of list ?? []) col(t);
  for (const terms of b.phenotype?.observed ?? []) for (const t of terms) col(t);
  for (const t of b.negatives) col(t);
  const anchorsAt = () => candidates.length;
  const positives: number[][] = patients.map(() => []);
  b.phenotype?.observed.forEach((terms, i) => positives[i].push(...terms.map(col)));
  const recordPositives: number[][][] = signals.map(({ s }) =>
    s.records.map((r) => {
      const f = r.finding !== undefined ? index.get(r.finding) : undefined;
      return f !== undefined ? [col(f)] : [-1 - model.anchorIndex(s.modality)];
    }),
  );
  signals.forEach(({ s }, k) => s.records.forEach((r, i) => {
    const p = positives[row.get(r.patient)!];
    for (const c of recordPositives[k][i]) if (!p.includes(c)) p.push(c);
  }));
  const K = anchorsAt() + model.anchorEmbeddings().shape[0];
  const cand = tf.concat([model.termEmbeddings(Int32Array.from(candidates)), model.anchorEmbeddings()], 0) as tf.Tensor2D;
  const targets = (lists: number[][]) => {
    const t = new Float32Array(lists.length * K);
    lists.forEach((l, i) => l.forEach((c) => (t[i * K + (c >= 0 ? c : anchorsAt() + (-1 - c))] = 1)));
    return t;
  };
  const parts: tf.Scalar[] = [];
  signals.forEach(({ z1 }, k) => parts.push(alignmentLoss(z1, cand, targets(recordPositives[k]), tau)));
  // Patients: fuse the modalities each has in this batch (the first of its records per modality).
  const fuseParts: { modality: ModalityName; z: tf.Tensor2D; rows: Int32Array }[] = [];
  if (zP) fuseParts.push({ modality: 'phenotype', z: zP, rows: Int32Array.from(b.phenotype!.patients.map((_, i) => i)) });
  if (zG) fuseParts.push({ modality: 'genotype', z: zG.z, rows: Int32Array.from(zG.rows) });
  for (const { s, z1 } of signals) {
    const first = new Map<number, number>();
    s.records.forEach((r, i) => {
      const p = row.get(r.patient)!;
      if (!first.has(p)) first.set(p, i);
    });
    fuseParts.push({ modality: s.modality, z: rows2d(z1, [...first.values()]), rows: Int32Array.from(first.keys()) });
  }
  const withTargets = patients.map((_, i) => i).filter((i) => positives[i].length > 0);
  if (fuseParts.length && withTargets.length) {
    const fused = model.fuse(fuseParts, patients.length);
    parts.push(alignmentLoss(rows2d(fused, withTargets), cand, targets(withTargets.map((i) => positives[i])), tau));
  }
  return parts.length ? (tf.div(tf.addN(parts), parts.length) as tf.Scalar) : undefined;
}

/** The weighted sum of the losses present. */
export function totalLoss(model: Model, losses: Partial<Record<LossName, tf.Scalar>>): tf.Scalar {
  const terms = LOSS_NAMES.filter((n) => losses[n]).map((n) => tf.mul(losses[n]!, model.config.losses[n]));
  if (!terms.length) throw new Error('no loss applies to this batch: check the data and the loss weights');
  return tf.addN(terms) as tf.Scalar;
}

/** Rows of a batch tensor, through the lookup whose gradient the wasm backend has (tf.gather's has none there). */
function rows2d(x: tf.Tensor2D, rows: number[]): tf.Tensor2D {
  return lookup(x, tf.tensor1d(rows, 'int32'));
}
