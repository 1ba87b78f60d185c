import * as tf from '@tensorflow/tfjs';
import type { GenotypeConfig, ImagingConfig, ImagingModality, LearnConfig, SignalConfig } from './config.js';
import { ATTRIBUTE_WIDTH, MASK_GENE, type GeneVocabulary } from './genotype.js';
import { lookup } from './lookup.js';
import { RHYTHM_FEATURES, rhythmBatch } from './rhythm.js';
import { Rng } from './random.js';
import { initialTermVectors, type TermVocabulary } from './vocabulary.js';

// The encoders into one shared space. Every weight is a named tf.Variable initialised from a seeded
// generator, so a seed gives the same model on every backend. Only ops with gradient kernels on wasm
// are used: patches by reshape + matMul (no convolution; 3D patches are cut in plain JS, they need
// no gradient), lookups with a scatter gradient.

const { sqrt } = Math;

/** tfjs registers variables by name process-wide: each model's names get their own prefix. */
let instances = 0;

/** Modalities the fusion knows; phenotype is the patient's HPO term set, genotype its variants and genes. */
export type ModalityName = 'phenotype' | 'genotype' | 'ecg' | 'eeg' | ImagingModality;
type RecordModality = 'ecg' | 'eeg' | ImagingModality;

/** What a record encoder returns: the embedding, and with a mask the reconstruction of the masked patches. */
export interface RecordEncoding {
  z: tf.Tensor2D;
  /** [B, T, P] reconstruction of every patch from the token outputs (only with a mask). */
  reconstruction?: tf.Tensor3D;
  /** [B, T, P] the patches as the encoder saw them before masking (each sequence or volume standardised). */
  patches?: tf.Tensor3D;
}

/** A batch of genotypes, padded to `width` tokens: gene rows, one-hot attributes [size * width * ATTRIBUTE_WIDTH], 1 for a real token. */
export interface GenotypeBatch {
  size: number;
  width: number;
  genes: Int32Array;
  attributes: Float32Array;
  mask: Float32Array;
}

/** The genomic encoder's output; with a mask, its guesses of the masked tokens' genes. */
export interface GenotypeEncoding {
  z: tf.Tensor2D;
  /** [M, G] logits over the gene table, one row per masked token (in batch order). */
  logits?: tf.Tensor2D;
  /** The masked tokens' true gene rows. */
  targets?: Int32Array;
}

/** A batch of phenotype sets, padded to `width` terms: term indices, 1 for excluded, 1 for a real term. */
export interface PhenotypeBatch {
  size: number;
  width: number;
  terms: Int32Array;
  excluded: Float32Array;
  mask: Float32Array;
}

export class Model {
  readonly vars = new Map<string, tf.Variable>();
  readonly signalModalities: ('ecg' | 'eeg')[];
  readonly imagingModalities: ImagingModality[];
  /** Signal then imaging modalities: the order of the "no finding" anchors. */
  readonly recordModalities: RecordModality[];
  /** The prefix of this model's tfjs variable names (`<prefix>/<weight name>`). */
  readonly prefix = `harmonia${++instances}`;

  /** The gene table's rows, when the model has a genomic encoder. */
  readonly genes?: GeneVocabulary;

  /**
   * `genes` and `geneProfiles` (each gene's HPO terms among training patients carrying it, as
   * vocabulary indices, repeated as often as seen) give the genomic encoder; without them, or
   * without `config.genotype`, the model has none.
   */
  constructor(
    readonly config: LearnConfig,
    readonly vocab: TermVocabulary,
    seed: number,
    genes?: GeneVocabulary,
    geneProfiles?: Map<string, number[]>,
  ) {
    const rng = new Rng(seed);
    const D = config.dim;
    const termInit = initialTermVectors(vocab, D, rng);
    this.add('terms', [vocab.ids.length, D], termInit);
    // Learned per-modality "no finding" anchors: where unlabelled records of a modality are pulled.
    this.signalModalities = (['ecg', 'eeg'] as const).filter((m) => config.signals[m]);
    this.imagingModalities = (['mri', 'oct'] as const).filter((m) => config.imaging?.[m]);
    this.recordModalities = [...this.signalModalities, ...this.imagingModalities];
    const anchors = Math.max(1, this.recordModalities.length);
    this.add('anchors', [anchors, D], rng.normals(anchors * D, 1 / sqrt(D)));
    const A = config.phenotype.attention;
    this.add('pheno.type', [2, D], rng.normals(2 * D, 0.1));
    this.dense(rng, 'pheno.att', D, A);
    this.dense(rng, 'pheno.score', A, 1);
    this.dense(rng, 'pheno.value', D, D);
    this.dense(rng, 'pheno.out', D, D);
    for (const m of this.signalModalities) this.signalParams(rng, m, config.signals[m]!);
    for (const m of this.imagingModalities) this.imagingParams(rng, m, config.imaging[m]!);
    if (config.genotype && genes && genes.ids.length > 2) {
      this.genes = genes;
      this.genotypeParams(rng, config.genotype, genes, termInit, geneProfiles ?? new Map());
    }
    for (const m of this.modalities()) {
      // Fusion projections start as the identity: before training the fused embedding is the mean.
      const eye = new Float32Array(D * D);
      for (let i = 0; i < D; i++) eye[i * D + i] = 1;
      this.add(`fuse.${m}.w`, [D, D], eye);
      this.add(`fuse.${m}.b`, [D], new Float32Array(D));
    }
  }

  modalities(): ModalityName[] {
    return ['phenotype', ...(this.genes ? (['genotype'] as const) : []), ...this.recordModalities];
  }

  /** Whether masked-variant pretraining (and its prediction head) is part of this model. */
  get predictsVariants(): boolean {
    return this.genes !== undefined && (this.config.losses.maskedVariants ?? 0) > 0;
  }

  /** Whether the masked-reconstruction loss (and its mask token and head) is part of this model. */
  get reconstructs(): boolean {
    return (this.config.losses.reconstruction ?? 0) > 0;
  }

  private add(name: string, shape: number[], values: Float32Array): void {
    this.vars.set(name, tf.variable(tf.tensor(values, shape, 'float32'), true, `${this.prefix}/${name}`));
  }

  private dense(rng: Rng, name: string, inDim: number, outDim: number): void {
    const limit = sqrt(6 / (inDim + outDim));
    const w = new Float32Array(inDim * outDim);
    for (let i = 0; i < w.length; i++) w[i] = (rng.next() * 2 - 1) * limit;
    this.add(`${name}.w`, [inDim, outDim], w);
    this.add(`${name}.b`, [outDim], new Float32Array(outDim));
  }

  private norm(name: string, dim: number): void {
    this.add(`${name}.g`, [dim], new Float32Array(dim).fill(1));
    this.add(`${name}.b`, [dim], new Float32Array(dim));
  }

  private signalParams(rng: Rng, m: 'ecg' | 'eeg', s: SignalConfig): void {
    this.encoderParams(rng, m, this.tokens(m), s.patch, s);
    if (this.hasRhythm(m)) {
      this.dense(rng, `${m}.rhythm`, RHYTHM_FEATURES, s.dModel);
      this.add(`${m}.rhythmPos`, [s.dModel], rng.normals(s.dModel, 0.02));
    }
  }

  /** Whether a signal modality's encoder reads a rhythm token (ECG, when configured). */
  hasRhythm(m: RecordModality): boolean {
    return m === 'ecg' && this.config.signals.ecg?.rhythm === true;
  }

  private imagingParams(rng: Rng, m: ImagingModality, s: ImagingConfig): void {
    this.encoderParams(rng, m, this.tokens(m), patchSize(s), s);
  }

  /**
   * The gene table starts where the ontology puts each gene: the IC-weighted mean of the initial
   * vectors of the HPO terms its training carriers show, so a gene begins near its phenotypes; a gene
   * without carriers' terms (and the two special rows) starts random.
   */
  private genotypeParams(rng: Rng, g: GenotypeConfig, genes: GeneVocabulary, termInit: Float32Array, profiles: Map<string, number[]>): void {
    const D = this.config.dim;
    const table = rng.normals(genes.ids.length * D, 1 / sqrt(D));
    genes.ids.forEach((gene, row) => {
      const terms = profiles.get(gene);
      if (!terms?.length) return;
      const v = new Float32Array(D);
      for (const t of terms) {
        const w = this.vocab.ic[t] + 0.1;
        for (let k = 0; k < D; k++) v[k] += w * termInit[t * D + k];
      }
      let n = 0;
      for (const x of v) n += x * x;
      const s = 1 / (sqrt(n) || 1);
      for (let k = 0; k < D; k++) table[row * D + k] = v[k] * s;
    });
    this.add('genes', [genes.ids.length, D], table);
    this.dense(rng, 'geno.gene', D, g.dModel);
    this.dense(rng, 'geno.attr', ATTRIBUTE_WIDTH, g.dModel);
    this.blocks(rng, 'geno', g);
    this.norm('geno.lnOut', g.dModel);
    this.dense(rng, 'geno.out', g.dModel, D);
    if ((this.config.losses.maskedVariants ?? 0) > 0) {
      this.dense(rng, 'geno.pred', g.dModel, D);
      this.dense(rng, 'geno.context', D, g.dModel);
    }
  }

  private blocks(rng: Rng, m: string, s: Pick<SignalConfig, 'dModel' | 'layers' | 'mlp'>): void {
    for (let l = 0; l < s.layers; l++) {
      const p = `${m}.block${l}`;
      this.norm(`${p}.ln1`, s.dModel);
      for (const q of ['q', 'k', 'v', 'o']) this.dense(rng, `${p}.${q}`, s.dModel, s.dModel);
      this.norm(`${p}.ln2`, s.dModel);
      this.dense(rng, `${p}.mlp1`, s.dModel, s.mlp);
      this.dense(rng, `${p}.mlp2`, s.mlp, s.dModel);
    }
  }

  /** Patch embedding, positions, transformer blocks, output projection; mask token and reconstruction head when that loss is on. */
  private encoderParams(rng: Rng, m: string, tokens: number, patch: number, s: Pick<SignalConfig, 'dModel' | 'layers' | 'mlp'>): void {
    this.dense(rng, `${m}.patch`, patch, s.dModel);
    this.add(`${m}.pos`, [tokens, s.dModel], rng.normals(tokens * s.dModel, 0.02));
    if (this.reconstructs) {
      this.add(`${m}.maskToken`, [s.dModel], rng.normals(s.dModel, 0.02));
      this.dense(rng, `${m}.recon`, s.dModel, patch);
    }
    this.blocks(rng, m, s);
    this.norm(`${m}.lnOut`, s.dModel);
    this.dense(rng, `${m}.out`, s.dModel, this.config.dim);
  }

  /** Samples one sequence of a modality has as harmonized (ECG window 10 s at 250 Hz, EEG epoch 4 s at 128 Hz). */
  static sequenceLength(m: 'ecg' | 'eeg'): number {
    return m === 'ecg' ? 2500 : 512;
  }

  /** Tokens (patches) per sequence or volume of a modality. */
  tokens(m: RecordModality): number {
    if (m === 'mri' || m === 'oct') {
      const c = this.config.imaging[m]!;
      return c.shape.reduce((t, n, i) => t * (n / c.patch[i]), 1);
    }
    const s = this.config.signals[m]!;
    const L = Model.sequenceLength(m);
    if (L % s.downsample !== 0 || (L / s.downsample) % s.patch !== 0) {
      throw new Error(`signals.${m}: ${L} samples downsampled by ${s.downsample} do not split into patches of ${s.patch}`);
    }
    return L / s.downsample / s.patch;
  }

  v(name: string): tf.Variable {
    const t = this.vars.get(name);
    if (!t) throw new Error(`model has no weight ${name}`);
    return t;
  }

  private affine(x: tf.Tensor, name: string): tf.Tensor {
    const w = this.v(`${name}.w`);
    const shape = x.shape;
    const flat = x.reshape([-1, shape[shape.length - 1]!]);
    const y = tf.add(tf.matMul(flat, w), this.v(`${name}.b`));
    return y.reshape([...shape.slice(0, -1), w.shape[1]!]);
  }

  private layerNorm(x: tf.Tensor, name: string): tf.Tensor {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), this.v(`${name}.g`)), this.v(`${name}.b`));
  }

  /** Unit-length rows of the term table at `indices`. */
  termEmbeddings(indices: Int32Array): tf.Tensor2D {
    return l2normalize(lookup(this.v('terms') as tf.Tensor2D, tf.tensor1d(indices, 'int32')));
  }

  anchorEmbeddings(): tf.Tensor2D {
    return l2normalize(this.v('anchors') as tf.Tensor2D);
  }

  anchorIndex(m: RecordModality): number {
    return this.recordModalities.indexOf(m);
  }

  /** Values one input item of a record modality has: a sequence's samples or a volume's voxels at the input shape. */
  inputLength(m: RecordModality): number {
    if (m === 'mri' || m === 'oct') return this.config.imaging[m]!.shape.reduce((a, b) => a * b, 1);
    return Model.sequenceLength(m);
  }

  /** Patch values per token of a record modality (after downsampling, for signals). */
  patchLength(m: RecordModality): number {
    return m === 'mri' || m === 'oct' ? patchSize(this.config.imaging[m]!) : this.config.signals[m]!.patch;
  }

  /**
   * Phenotype sets to [B, D]: each term's embedding plus an observed/excluded type embedding, pooled
   * by learned attention over the set's real terms (padding masked out).
   */
  encodePhenotypes(b: PhenotypeBatch): tf.Tensor2D {
    const D = this.config.dim;
    const x = lookup(this.v('terms') as tf.Tensor2D, tf.tensor1d(b.terms, 'int32'));
    const types = tf.tensor2d(Float32Array.from(b.excluded, (e) => e), [b.terms.length, 1]);
    const typeEmb = this.v('pheno.type');
    // Two rows only: a one-hot product is cheaper than a lookup here.
    const t = tf.add(tf.mul(tf.sub(1, types), typeEmb.slice([0, 0], [1, D])), tf.mul(types, typeEmb.slice([1, 0], [1, D])));
    const tokens = tf.add(x, t).reshape([b.size, b.width, D]);
    const scores = this.affine(tf.tanh(this.affine(tokens, 'pheno.att')), 'pheno.score').reshape([b.size, b.width]);
    const mask = tf.tensor2d(b.mask, [b.size, b.width]);
    const weights = tf.softmax(tf.add(scores, tf.mul(tf.sub(1, mask), -1e9)), -1).reshape([b.size, b.width, 1]);
    const pooled = tf.sum(tf.mul(this.affine(tokens, 'pheno.value'), weights), 1);
    return l2normalize(this.affine(tf.relu(pooled), 'pheno.out') as tf.Tensor2D);
  }

  /** Sequences [B, L] of a modality (L as harmonized) to [B, D]. */
  encodeSignals(m: 'ecg' | 'eeg', x: Float32Array, batch: number): tf.Tensor2D {
    return this.encodeRecords(m, x, batch).z;
  }

  /** Volumes [B, Z*Y*X] (C-order, the configured input shape) of an imaging modality to [B, D]. */
  encodeVolumes(m: ImagingModality, x: Float32Array, batch: number): tf.Tensor2D {
    return this.encodeRecords(m, x, batch).z;
  }

  /**
   * Any record modality's encoder. With `mask` ([B * T], 1 = masked), the masked patches' embeddings
   * are replaced by a learned mask token before the transformer, and a linear head reconstructs
   * every patch from the token outputs (the loss counts the masked ones only).
   */
  encodeRecords(m: RecordModality, x: Float32Array, batch: number, mask?: Float32Array): RecordEncoding {
    const T = this.tokens(m);
    const P = this.patchLength(m);
    const patches = m === 'mri' || m === 'oct' ? this.volumePatches(m, x, batch) : this.signalPatches(m, x, batch);
    const s = m === 'mri' || m === 'oct' ? this.config.imaging[m]! : this.config.signals[m]!;
    let e = this.affine(patches, `${m}.patch`);
    if (mask) {
      if (!this.reconstructs) throw new Error('a mask needs the reconstruction loss (losses.reconstruction > 0)');
      const keep = tf.tensor3d(mask, [batch, T, 1]);
      e = tf.add(tf.mul(e, tf.sub(1, keep)), tf.mul(keep, this.v(`${m}.maskToken`)));
    }
    let h = tf.add(e, this.v(`${m}.pos`));
    // The rhythm token goes first; it is pooled with the patches but never masked or reconstructed.
    const rhythm = this.hasRhythm(m);
    if (rhythm) {
      const r = this.affine(tf.tensor2d(rhythmBatch(x, batch), [batch, RHYTHM_FEATURES]), `${m}.rhythm`);
      h = tf.concat([tf.add(r, this.v(`${m}.rhythmPos`)).reshape([batch, 1, s.dModel]), h], 1);
    }
    for (let l = 0; l < s.layers; l++) h = this.block(h, `${m}.block${l}`, s.heads);
    const pooled = this.layerNorm(tf.mean(h, 1), `${m}.lnOut`);
    const z = l2normalize(this.affine(pooled, `${m}.out`) as tf.Tensor2D);
    if (!mask) return { z };
    const tokens = rhythm ? h.slice([0, 1, 0], [batch, T, s.dModel]) : h;
    return { z, reconstruction: this.affine(tokens, `${m}.recon`) as tf.Tensor3D, patches: patches as tf.Tensor3D };
  }

  /**
   * Genotypes [B, W tokens] to [B, D]: each token the projection of its gene's row plus that of its
   * one-hot attributes, a transformer over the set (no positions; padding masked out of attention
   * and of the mean). With `mask` ([B * W], 1 = masked), masked tokens read the mask row instead of
   * their gene, and a head guesses each masked gene by cosine against the whole gene table. `context`
   * (masked pass only) adds one more token per row: the patient's phenotype embedding ([B, D], rows
   * with `present` 0 masked out of attention, so an absent phenotype is never a zero the model reads).
   */
  encodeGenotypes(b: GenotypeBatch, mask?: Float32Array, context?: { z: tf.Tensor2D; present: Float32Array }): GenotypeEncoding {
    const g = this.config.genotype;
    if (!g || !this.genes) throw new Error('this model has no genomic encoder');
    const { size: B, width: W } = b;
    const rows = Int32Array.from(b.genes);
    const masked: number[] = [];
    if (mask) {
      if (!this.predictsVariants) throw new Error('a mask needs masked-variant pretraining (losses.maskedVariants > 0)');
      const maskRow = this.genes.index.get(MASK_GENE)!;
      mask.forEach((m, i) => {
        if (m > 0 && b.mask[i] > 0) {
          masked.push(i);
          rows[i] = maskRow;
        }
      });
    }
    const geneVecs = lookup(this.v('genes') as tf.Tensor2D, tf.tensor1d(rows, 'int32'));
    const attrs = tf.tensor2d(b.attributes, [B * W, ATTRIBUTE_WIDTH]);
    let h = tf.add(this.affine(geneVecs, 'geno.gene'), this.affine(attrs, 'geno.attr')).reshape([B, W, g.dModel]);
    let real = tf.tensor2d(b.mask, [B, W]);
    // The context token goes first: a token at j sits at j + 1 of its row.
    const shift = mask && context ? 1 : 0;
    if (shift) {
      h = tf.concat([this.affine(context!.z, 'geno.context').reshape([B, 1, g.dModel]), h], 1);
      real = tf.concat([tf.tensor2d(context!.present, [B, 1]), real], 1) as tf.Tensor2D;
    }
    const T = W + shift;
    const keyBias = tf.mul(tf.sub(1, real), -1e9).reshape([B, 1, 1, T]);
    for (let l = 0; l < g.layers; l++) h = this.block(h, `geno.block${l}`, g.heads, keyBias);
    const counts = tf.maximum(tf.sum(real, 1, true), 1);
    const pooled = this.layerNorm(tf.div(tf.sum(tf.mul(h, real.reshape([B, T, 1])), 1), counts), 'geno.lnOut');
    const z = l2normalize(this.affine(pooled, 'geno.out') as tf.Tensor2D);
    if (!masked.length) return { z };
    const positions = masked.map((i) => i + (shift ? Math.floor(i / W) + 1 : 0));
    const at = lookup(h.reshape([B * T, g.dModel]) as tf.Tensor2D, tf.tensor1d(positions, 'int32'));
    const guess = l2normalize(this.affine(at, 'geno.pred') as tf.Tensor2D);
    const logits = tf.div(tf.matMul(guess, l2normalize(this.v('genes') as tf.Tensor2D), false, true), this.config.temperature) as tf.Tensor2D;
    return { z, logits, targets: Int32Array.from(masked, (i) => b.genes[i]) };
  }

  /**
   * Volumes cut into [B, T, P] patches, each volume standardised on its own (scanner units and
   * harmonisation choices differ; a shape mask's extent survives as the foreground's value).
   */
  private volumePatches(m: ImagingModality, x: Float32Array, batch: number): tf.Tensor3D {
    const p = tf.tensor3d(patchify(x, batch, this.config.imaging[m]!), [batch, this.tokens(m), this.patchLength(m)]);
    const { mean, variance } = tf.moments(p, [1, 2], true);
    return tf.div(tf.sub(p, mean), tf.sqrt(tf.add(variance, 1e-6))) as tf.Tensor3D;
  }

  /** Signal sequences average-pooled, each standardised on its own, cut into [B, T, patch]. */
  private signalPatches(m: 'ecg' | 'eeg', x: Float32Array, batch: number): tf.Tensor3D {
    const s = this.config.signals[m]!;
    const L = Model.sequenceLength(m);
    let seq: tf.Tensor = tf.tensor2d(x, [batch, L]);
    if (s.downsample > 1) seq = tf.mean(seq.reshape([batch, L / s.downsample, s.downsample]), 2);
    // Each sequence standardised on its own: amplitude and offset differ by device and site.
    const { mean, variance } = tf.moments(seq, 1, true);
    seq = tf.div(tf.sub(seq, mean), tf.sqrt(tf.add(variance, 1e-6)));
    return seq.reshape([batch, this.tokens(m), s.patch]) as tf.Tensor3D;
  }

  /** A pre-norm transformer block: multi-head self-attention (keys biased by `keyBias`, [B, 1, 1, T], when given), then a ReLU MLP, each residual. */
  private block(x: tf.Tensor, p: string, H: number, keyBias?: tf.Tensor): tf.Tensor {
    const [B, T, d] = x.shape;
    const dh = d / H;
    const n = this.layerNorm(x, `${p}.ln1`);
    const heads = (t: tf.Tensor) => t.reshape([B, T, H, dh]).transpose([0, 2, 1, 3]);
    const q = heads(this.affine(n, `${p}.q`));
    const k = heads(this.affine(n, `${p}.k`));
    const v = heads(this.affine(n, `${p}.v`));
    const logits = tf.div(tf.matMul(q, k, false, true), sqrt(dh));
    const att = tf.softmax(keyBias ? tf.add(logits, keyBias) : logits, -1);
    const mixed = tf.matMul(att, v).transpose([0, 2, 1, 3]).reshape([B, T, d]);
    const y = tf.add(x, this.affine(mixed, `${p}.o`));
    const m = this.affine(tf.relu(this.affine(this.layerNorm(y, `${p}.ln2`), `${p}.mlp1`)), `${p}.mlp2`);
    return tf.add(y, m);
  }

  /**
   * Fuses whatever modalities each of `patients` has: the mean of the available modality embeddings,
   * each through its learned projection. `parts[m].rows[i]` is the patient of row i of `parts[m].z`; a
   * patient without modality m simply has no row there (never a zero vector standing in for it).
   */
  fuse(parts: { modality: ModalityName; z: tf.Tensor2D; rows: Int32Array }[], patients: number): tf.Tensor2D {
    const counts = new Float32Array(patients);
    for (const p of parts) for (const r of p.rows) counts[r]++;
    for (let i = 0; i < patients; i++) if (counts[i] === 0) throw new Error(`fusion: patient row ${i} has no modality`);
    let sum: tf.Tensor | undefined;
    for (const p of parts) {
      const select = new Float32Array(patients * p.rows.length);
      p.rows.forEach((r, j) => (select[r * p.rows.length + j] = 1));
      const projected = tf.add(tf.matMul(p.z, this.v(`fuse.${p.modality}.w`)), this.v(`fuse.${p.modality}.b`));
      const placed = tf.matMul(tf.tensor2d(select, [patients, p.rows.length]), projected);
      sum = sum ? tf.add(sum, placed) : placed;
    }
    return l2normalize(tf.div(sum!, tf.tensor2d(counts, [patients, 1])) as tf.Tensor2D);
  }

  trainable(): tf.Variable[] {
    return [...this.vars.values()];
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

const patchSize = (c: ImagingConfig) => c.patch[0] * c.patch[1] * c.patch[2];

/**
 * Cuts C-order volumes [B, Z, Y, X] into non-overlapping patches [B, T, pz*py*px], tokens in
 * z-major order, each patch's voxels in C-order. Plain JS: the input needs no gradient, and it
 * avoids a rank-7 transpose the backends handle unevenly.
 */
export function patchify(x: Float32Array, batch: number, c: Pick<ImagingConfig, 'shape' | 'patch'>): Float32Array {
  const [Z, Y, X] = c.shape;
  const [pz, py, px] = c.patch;
  const V = Z * Y * X;
  if (x.length !== batch * V) throw new Error(`patchify: ${x.length} values for ${batch} volumes of ${c.shape.join('x')}`);
  const out = new Float32Array(x.length);
  let o = 0;
  for (let b = 0; b < batch; b++) {
    const base = b * V;
    for (let z0 = 0; z0 < Z; z0 += pz) for (let y0 = 0; y0 < Y; y0 += py) for (let x0 = 0; x0 < X; x0 += px) {
      for (let z = z0; z < z0 + pz; z++) for (let y = y0; y < y0 + py; y++) {
        const row = base + (z * Y + y) * X;
        for (let i = x0; i < x0 + px; i++) out[o++] = x[row + i];
      }
    }
  }
  return out;
}

export function l2normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), -1, true), 1e-12))) as tf.Tensor2D;
}
