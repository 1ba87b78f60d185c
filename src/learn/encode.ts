import * as tf from '@tensorflow/tfjs';
import type { Dataset, PatientData, RecordData } from './data.js';
import { ATTRIBUTE_WIDTH, attributeOneHot, geneRow, selectTokens, type VariantToken } from './genotype.js';
import { Model, type GenotypeBatch, type ModalityName, type PhenotypeBatch } from './model.js';

// Inference: embeddings of records, patients and terms with a trained (or freshly initialised) model.

/** At most this many sequences of a record are embedded and averaged (evenly spread over the record). */
const MAX_SEQUENCES = 16;
const CHUNK = 64;

function normalize(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  const s = 1 / (Math.sqrt(n) || 1);
  return v.map((x) => x * s);
}

function spread<T>(items: readonly T[], k: number): T[] {
  if (items.length <= k) return items.slice();
  return Array.from({ length: k }, (_, i) => items[Math.floor(((i + 0.5) * items.length) / k)]);
}

/**
 * One unit vector per record of a modality the model learns: the normalised mean of its sequences'
 * embeddings (an imaging record has one volume).
 */
export function embedRecords(model: Model, records: readonly RecordData[]): Float32Array[] {
  const D = model.config.dim;
  const out: Float32Array[] = new Array(records.length);
  for (const m of model.recordModalities) {
    const L = model.inputLength(m);
    // Volumes are larger than sequences: fewer per chunk keeps memory flat.
    const chunk = m === 'mri' || m === 'oct' ? Math.max(1, Math.floor((CHUNK * 2500) / L)) : CHUNK;
    const jobs: { record: number; seq: Float32Array }[] = [];
    records.forEach((r, i) => {
      if (r.modality === m) for (const s of spread(r.sequences, MAX_SEQUENCES)) jobs.push({ record: i, seq: s });
    });
    const sums = new Map<number, Float32Array>();
    for (let o = 0; o < jobs.length; o += chunk) {
      const part = jobs.slice(o, o + chunk);
      const x = new Float32Array(part.length * L);
      part.forEach((j, k) => x.set(j.seq, k * L));
      const z = tf.tidy(() => model.encodeRecords(m, x, part.length).z).dataSync() as Float32Array;
      part.forEach((j, k) => {
        const s = sums.get(j.record) ?? new Float32Array(D);
        for (let d = 0; d < D; d++) s[d] += z[k * D + d];
        sums.set(j.record, s);
      });
    }
    for (const [i, s] of sums) out[i] = normalize(s);
  }
  return out;
}

/** Phenotype sets as a padded batch (at most `maxTerms` terms each, observed first). */
export function phenotypeBatch(model: Model, sets: readonly { observed: string[]; excluded: string[] }[]): PhenotypeBatch {
  const max = model.config.phenotype.maxTerms;
  const lists = sets.map((s) => {
    const items = [...s.observed.map((t) => [t, 0] as const), ...s.excluded.map((t) => [t, 1] as const)].filter(([t]) => model.vocab.index.has(t));
    return items.slice(0, max);
  });
  const width = Math.max(1, ...lists.map((l) => l.length));
  const terms = new Int32Array(sets.length * width);
  const excluded = new Float32Array(sets.length * width);
  const mask = new Float32Array(sets.length * width);
  lists.forEach((l, i) =>
    l.forEach(([t, ex], j) => {
      terms[i * width + j] = model.vocab.index.get(t)!;
      excluded[i * width + j] = ex;
      mask[i * width + j] = 1;
    }),
  );
  return { size: sets.length, width, terms, excluded, mask };
}

/** Genotypes as a padded batch: each the likeliest-damaging `maxVariants` tokens (selectTokens); genes the model never saw read the unknown row. */
export function genotypeBatch(model: Model, genotypes: readonly (readonly VariantToken[])[]): { batch: GenotypeBatch; tokens: VariantToken[][] } {
  const genes = model.genes;
  const g = model.config.genotype;
  if (!genes || !g) throw new Error('this model has no genomic encoder');
  const tokens = genotypes.map((list) => selectTokens(list, g.maxVariants));
  const width = Math.max(1, ...tokens.map((t) => t.length));
  const n = genotypes.length * width;
  const batch: GenotypeBatch = { size: genotypes.length, width, genes: new Int32Array(n), attributes: new Float32Array(n * ATTRIBUTE_WIDTH), mask: new Float32Array(n) };
  tokens.forEach((list, i) =>
    list.forEach((t, j) => {
      const at = i * width + j;
      batch.genes[at] = geneRow(genes, t.gene);
      attributeOneHot(t, batch.attributes, at * ATTRIBUTE_WIDTH);
      batch.mask[at] = 1;
    }),
  );
  return { batch, tokens };
}

export const hasGenotype = (model: Model, p: PatientData) => model.genes !== undefined && (p.variants?.length ?? 0) > 0;

export const hasPhenotype = (model: Model, p: PatientData) => p.observed.some((t) => model.vocab.index.has(t)) || p.excluded.some((t) => model.vocab.index.has(t));

/**
 * One unit vector per patient that has anything to embed (phenotypes, a genotype, records of a learned
 * modality): the fusion of its phenotype-set embedding, its genotype's and, per record modality, the mean of its
 * records' embeddings. `recordVectors` are embedRecords' output for dataset.records. `onProgress`:
 * patients embedded so far, of those with anything to embed, after each batch.
 */
export function embedPatients(model: Model, dataset: Dataset, recordVectors: readonly (Float32Array | undefined)[], onProgress?: (done: number, total: number) => void): Map<string, Float32Array> {
  const D = model.config.dim;
  const result = new Map<string, Float32Array>();
  const patients = dataset.patients.filter((p) => hasPhenotype(model, p) || hasGenotype(model, p) || p.records.some((r) => recordVectors[r]));
  for (let o = 0; o < patients.length; o += 256) {
    const chunk = patients.slice(o, o + 256);
    const z = tf.tidy(() => {
      const parts: { modality: ModalityName; z: tf.Tensor2D; rows: Int32Array }[] = [];
      const withPheno = chunk.map((p, i) => [p, i] as const).filter(([p]) => hasPhenotype(model, p));
      if (withPheno.length) parts.push({ modality: 'phenotype', z: model.encodePhenotypes(phenotypeBatch(model, withPheno.map(([p]) => p))), rows: Int32Array.from(withPheno, ([, i]) => i) });
      const withGeno = chunk.map((p, i) => [p, i] as const).filter(([p]) => hasGenotype(model, p));
      if (withGeno.length) parts.push({ modality: 'genotype', z: model.encodeGenotypes(genotypeBatch(model, withGeno.map(([p]) => p.variants!)).batch).z, rows: Int32Array.from(withGeno, ([, i]) => i) });
      for (const m of model.recordModalities) {
        const rows: number[] = [];
        const vecs: Float32Array[] = [];
        chunk.forEach((p, i) => {
          const rs = p.records.filter((r) => dataset.records[r].modality === m && recordVectors[r]).map((r) => recordVectors[r]!);
          if (!rs.length) return;
          const mean = new Float32Array(D);
          for (const v of rs) for (let d = 0; d < D; d++) mean[d] += v[d];
          rows.push(i);
          vecs.push(normalize(mean));
        });
        if (rows.length) {
          const flat = new Float32Array(rows.length * D);
          vecs.forEach((v, k) => flat.set(v, k * D));
          parts.push({ modality: m, z: tf.tensor2d(flat, [rows.length, D]), rows: Int32Array.from(rows) });
        }
      }
      return model.fuse(parts, chunk.length);
    }).dataSync() as Float32Array;
    chunk.forEach((p, i) => result.set(p.id, z.slice(i * D, (i + 1) * D)));
    onProgress?.(o + chunk.length, patients.length);
  }
  return result;
}

/** Every vocabulary term's unit vector, as rows of one array [terms * dim]. */
export function embedTerms(model: Model): Float32Array {
  return tf.tidy(() => {
    const t = model.v('terms');
    return tf.div(t, tf.sqrt(tf.add(tf.sum(tf.square(t), -1, true), 1e-12)));
  }).dataSync() as Float32Array;
}
