import type { ImagingConfig, LearnConfig } from './config.js';
import type { Dataset, PatientData, RecordData, RecordModality } from './data.js';
import { genotypeBatch, hasGenotype, hasPhenotype, phenotypeBatch } from './encode.js';
import { geneRow, maskTokens, selectTokens } from './genotype.js';
import { Model } from './model.js';
import type { SignalBatch, TrainBatch } from './objective.js';
import type { Rng } from './random.js';
import { ontologySimilarity } from './vocabulary.js';

// Draws training batches from the training split with the seeded generator: records with two
// augmented views (the second one masked when the reconstruction loss is on), phenotype sets
// (subsampled to maxTerms), term pairs for the ontology loss.

export class Sampler {
  private readonly records: Partial<Record<RecordModality, RecordData[]>> = {};
  /** Per modality, each patient's training records: later modalities of a step prefer patients already drawn (cross-modal pairs). */
  private readonly byPatient: Partial<Record<RecordModality, Map<string, RecordData[]>>> = {};
  private readonly phenotyped: PatientData[];
  private readonly genotyped: PatientData[];
  private readonly byId: Map<string, PatientData>;
  private readonly used: number[];
  private readonly findings: Partial<Record<RecordModality, number[]>> = {};

  constructor(
    private readonly model: Model,
    dataset: Dataset,
    train: (patient: string) => boolean,
  ) {
    const vocab = model.vocab;
    this.byId = new Map(dataset.patients.map((p) => [p.id, p]));
    this.phenotyped = dataset.patients.filter((p) => train(p.id) && hasPhenotype(model, p));
    this.genotyped = dataset.patients.filter((p) => train(p.id) && hasGenotype(model, p));
    for (const m of model.recordModalities) {
      this.records[m] = dataset.records.filter((r) => r.modality === m && train(r.patient));
      const own = new Map<string, RecordData[]>();
      for (const r of this.records[m]!) own.set(r.patient, [...(own.get(r.patient) ?? []), r]);
      this.byPatient[m] = own;
      const f = new Set<number>();
      for (const r of dataset.records) if (r.modality === m && r.finding && vocab.index.has(r.finding)) f.add(vocab.index.get(r.finding)!);
      this.findings[m] = [...f].sort((a, b) => a - b);
    }
    const used = new Set<number>();
    for (const p of this.phenotyped) for (const t of [...p.observed, ...p.excluded]) if (vocab.index.has(t)) used.add(vocab.index.get(t)!);
    for (const list of Object.values(this.findings)) for (const t of list ?? []) used.add(t);
    this.used = [...used].sort((a, b) => a - b);
  }

  /** How many items of each kind training can draw from (for the model card). */
  counts(): Record<string, number> {
    const c: Record<string, number> = { patientsWithPhenotypes: this.phenotyped.length };
    if (this.model.genes) c.patientsWithGenotypes = this.genotyped.length;
    for (const m of this.model.recordModalities) c[`${m}Records`] = this.records[m]!.length;
    return c;
  }

  next(rng: Rng): TrainBatch {
    const cfg = this.model.config;
    const signals: SignalBatch[] = [];
    const drawn = new Set<string>();
    for (const m of this.model.recordModalities) {
      const pool = this.records[m]!;
      if (pool.length < 2) continue;
      const records = this.draw(m, batchSize(cfg, m), drawn, rng);
      for (const r of records) drawn.add(r.patient);
      signals.push(m === 'mri' || m === 'oct' ? this.volumeBatch(m, records, rng) : this.signalBatch(m, records, rng));
    }
    const vocab = this.model.vocab;
    // Patients of the drawn records who also have phenotypes come first: they make cross-modal pairs.
    const chosen = new Map<string, PatientData>();
    for (const s of signals) for (const r of s.records) {
      const p = this.byId.get(r.patient);
      if (p && hasPhenotype(this.model, p) && chosen.size < cfg.phenotype.batch) chosen.set(p.id, p);
    }
    for (const p of rng.sample(this.phenotyped, cfg.phenotype.batch)) if (chosen.size < cfg.phenotype.batch) chosen.set(p.id, p);
    const patients = [...chosen.values()];
    const sets = patients.map((p) => {
      const all = [...p.observed.map((t) => [t, 'o'] as const), ...p.excluded.map((t) => [t, 'x'] as const)].filter(([t]) => vocab.index.has(t));
      const kept = rng.sample(all, cfg.phenotype.maxTerms);
      return { observed: kept.filter(([, k]) => k === 'o').map(([t]) => t), excluded: kept.filter(([, k]) => k === 'x').map(([t]) => t) };
    });
    const phenotype = patients.length
      ? { batch: phenotypeBatch(this.model, sets), patients: patients.map((p) => p.id), observed: sets.map((s) => s.observed.map((t) => vocab.index.get(t)!)) }
      : undefined;
    const negatives = Int32Array.from({ length: cfg.negatives }, () => rng.int(vocab.ids.length));
    return { phenotype, signals, genotype: this.genotypes(patients, rng), termPairs: this.termPairs(rng), negatives, findings: this.findings };
  }

  /**
   * Genotypes of the phenotype batch's patients who have one (phenotype-genotype pairs), topped up
   * with random genotyped training patients; masked units when masked-variant pretraining is on
   * (tokens of genes the model never saw are never masked: there is no row to predict).
   */
  private genotypes(chosen: PatientData[], rng: Rng): TrainBatch['genotype'] {
    const g = this.model.config.genotype;
    const genes = this.model.genes;
    if (!g || !genes || this.genotyped.length < 2) return undefined;
    const picked = new Map<string, PatientData>();
    for (const p of chosen) if (hasGenotype(this.model, p) && picked.size < g.batch) picked.set(p.id, p);
    for (const p of rng.sample(this.genotyped, g.batch)) if (picked.size < g.batch) picked.set(p.id, p);
    const patients = [...picked.values()];
    // The encoder reads at most maxVariants tokens: a random subset of a long genotype, as phenotype sets are subsampled.
    // (among its likeliest-damaging 2 x maxVariants, so an exome's benign bulk does not crowd them out).
    const lists = patients.map((p) => {
      const top = p.variants!.length > g.maxVariants ? selectTokens(p.variants!, 2 * g.maxVariants) : p.variants!;
      return top.length > g.maxVariants ? rng.sample(top, g.maxVariants) : top;
    });
    const { batch, tokens } = genotypeBatch(this.model, lists);
    const inPhenotypeBatch = new Map(chosen.map((p, i) => [p.id, i]));
    const phenotypeRow = Int32Array.from(patients, (p) => inPhenotypeBatch.get(p.id) ?? -1);
    let mask: Float32Array | undefined;
    if (this.model.predictsVariants) {
      mask = new Float32Array(batch.genes.length);
      tokens.forEach((list, i) => {
        const m = maskTokens(list, this.model.config.maskRatio, rng, phenotypeRow[i] >= 0);
        list.forEach((t, j) => (mask![i * batch.width + j] = m[j] && geneRow(genes, t.gene) > 1 ? 1 : 0));
      });
    }
    return { batch, patients: patients.map((p) => p.id), mask, phenotypeRow };
  }

  /** Up to half the batch from patients already drawn this step who have records of `m`, the rest at random. */
  private draw(m: RecordModality, n: number, drawn: Set<string>, rng: Rng): RecordData[] {
    const own = this.byPatient[m]!;
    const linked = [...drawn].filter((p) => own.has(p));
    const chosen = new Set<RecordData>();
    for (const p of rng.sample(linked, Math.floor(n / 2))) {
      const rs = own.get(p)!;
      chosen.add(rs[rng.int(rs.length)]);
    }
    const pool = this.records[m]!;
    for (const r of rng.sample(pool, n)) if (chosen.size < n && !chosen.has(r)) chosen.add(r);
    return [...chosen];
  }

  /** Masks round(maskRatio * T) random patches of each record (at least one, never all). */
  private mask(m: RecordModality, size: number, rng: Rng): Float32Array | undefined {
    if (!this.model.reconstructs) return undefined;
    const T = this.model.tokens(m);
    const k = Math.min(T - 1, Math.max(1, Math.round(this.model.config.maskRatio * T)));
    const mask = new Float32Array(size * T);
    const all = Array.from({ length: T }, (_, t) => t);
    for (let i = 0; i < size; i++) for (const t of rng.sample(all, k)) mask[i * T + t] = 1;
    return mask;
  }

  private signalBatch(m: 'ecg' | 'eeg', records: RecordData[], rng: Rng): SignalBatch {
    const L = Model.sequenceLength(m);
    const s = this.model.config.signals[m]!;
    const view1 = new Float32Array(records.length * L);
    const view2 = new Float32Array(records.length * L);
    records.forEach((r, i) => {
      const a = rng.int(r.sequences.length);
      let b = rng.int(r.sequences.length);
      if (r.sequences.length > 1 && b === a) b = (a + 1) % r.sequences.length;
      view1.set(r.sequences[a], i * L);
      view2.set(augment(r.sequences[b], rng, s.patch * s.downsample), i * L);
    });
    return { modality: m, size: records.length, view1, view2, mask: this.mask(m, records.length, rng), records };
  }

  /** Volumes: the first view as it is, the second shifted by up to half a patch per axis, mirrored in x half the time, with noise. */
  private volumeBatch(m: 'mri' | 'oct', records: RecordData[], rng: Rng): SignalBatch {
    const c = this.model.config.imaging[m]!;
    const V = this.model.inputLength(m);
    const view1 = new Float32Array(records.length * V);
    const view2 = new Float32Array(records.length * V);
    records.forEach((r, i) => {
      view1.set(r.sequences[0], i * V);
      view2.set(augmentVolume(r.sequences[0], c, rng), i * V);
    });
    return { modality: m, size: records.length, view1, view2, mask: this.mask(m, records.length, rng), records };
  }

  /** Half (term, one of its ancestors), half random pairs of used terms; targets from the ontology. */
  private termPairs(rng: Rng): TrainBatch['termPairs'] {
    const n = this.model.config.termPairs;
    if (!this.used.length) return undefined;
    const vocab = this.model.vocab;
    const left = new Int32Array(n);
    const right = new Int32Array(n);
    const target = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const t = this.used[rng.int(this.used.length)];
      const anc = vocab.ancestors[t];
      const u = i % 2 === 0 ? anc[rng.int(anc.length)] : this.used[rng.int(this.used.length)];
      left[i] = t;
      right[i] = u;
      target[i] = ontologySimilarity(vocab, t, u);
    }
    return { left, right, target };
  }
}

const batchSize = (cfg: LearnConfig, m: RecordModality) => (m === 'mri' || m === 'oct' ? cfg.imaging[m]!.batch : cfg.signals[m]!.batch);

/**
 * A volume's second view: translated by up to half a patch along each axis (edges repeated),
 * mirrored left-right (x) with probability 1/2, plus noise at 10% of the volume's spread.
 */
export function augmentVolume(x: Float32Array, c: Pick<ImagingConfig, 'shape' | 'patch'>, rng: Rng): Float32Array {
  const [Z, Y, X] = c.shape;
  const shift = c.patch.map((p) => rng.int(2 * Math.floor(p / 2) + 1) - Math.floor(p / 2));
  const flip = rng.next() < 0.5;
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length;
  let ss = 0;
  for (const v of x) ss += (v - mean) * (v - mean);
  const sd = Math.sqrt(ss / x.length) || 1;
  const clamp = (v: number, n: number) => (v < 0 ? 0 : v >= n ? n - 1 : v);
  const out = new Float32Array(x.length);
  let o = 0;
  for (let z = 0; z < Z; z++) {
    const sz = clamp(z - shift[0], Z);
    for (let y = 0; y < Y; y++) {
      const sy = clamp(y - shift[1], Y);
      for (let i = 0; i < X; i++) {
        const sx = clamp((flip ? X - 1 - i : i) - shift[2], X);
        out[o++] = x[(sz * Y + sy) * X + sx] + 0.1 * sd * rng.normal();
      }
    }
  }
  return out;
}

/** The second view: circularly shifted by up to one patch and with noise at 10% of the signal's spread. */
function augment(x: Float32Array, rng: Rng, maxShift: number): Float32Array {
  const n = x.length;
  let mean = 0;
  for (const v of x) mean += v;
  mean /= n;
  let varSum = 0;
  for (const v of x) varSum += (v - mean) * (v - mean);
  const sd = Math.sqrt(varSum / n) || 1;
  const shift = rng.int(2 * maxShift + 1) - maxShift;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = x[(((i + shift) % n) + n) % n] + 0.1 * sd * rng.normal();
  return out;
}

export type { LearnConfig };
