import { readFileSync } from 'node:fs';
import { load as loadYaml } from 'js-yaml';
import { InputError } from '../model/index.js';

/** TensorFlow.js backends, in the order they are tried. */
export const BACKENDS = ['node-gpu', 'node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** 75 -> "1m15s". */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

/** One signal modality's encoder: 1D patches by reshape + dense, then a small transformer. */
export interface SignalConfig {
  /** Average-pool the harmonized samples by this factor first (ECG 250 Hz / 2 = 125 Hz). */
  downsample: number;
  /** Samples per patch after downsampling; the sequence length must be a multiple. */
  patch: number;
  dModel: number;
  layers: number;
  heads: number;
  mlp: number;
  /** Records per step (each gives two views). */
  batch: number;
  /** ECG only: one more token per window with its beat-interval statistics (src/learn/rhythm.ts). Absent in models saved before it: off. */
  rhythm?: boolean;
}

/** Imaging modalities: harmonized MRI volumes and OCT B-scan stacks. */
export const IMAGING_MODALITIES = ['mri', 'oct'] as const;
export type ImagingModality = (typeof IMAGING_MODALITIES)[number];

/** One imaging modality's encoder: 3D patches by reshape + dense (no convolution), then a small ViT. */
export interface ImagingConfig {
  /** The encoder's input grid [z, y, x]: stored volumes of another shape are trilinearly resampled to it when loaded. */
  shape: [number, number, number];
  /** Voxels per patch along [z, y, x]; each axis of `shape` a multiple. */
  patch: [number, number, number];
  dModel: number;
  layers: number;
  heads: number;
  mlp: number;
  /** Records per step (each gives two views). */
  batch: number;
}

/**
 * The genomic encoder: one token per variant (gene plus pathogenicity, zygosity, consequence and
 * haplotype), a small transformer over the set (no positions: a genotype has no order), masked-variant
 * pretraining.
 */
export interface GenotypeConfig {
  /** Tokens per patient: the likeliest-damaging variants first (an exome has tens of thousands). */
  maxVariants: number;
  dModel: number;
  layers: number;
  heads: number;
  mlp: number;
  /** Genotyped patients per step. */
  batch: number;
}

export interface LossWeights {
  /** Symmetric InfoNCE between two modalities of the same patient. */
  crossModal: number;
  /** Symmetric InfoNCE between two augmented views of a signal record. */
  views: number;
  /** A patient or record near its HPO terms and record findings (unlabelled records near their modality's "no finding" anchor). */
  alignment: number;
  /** Term-term cosine similarity regressed on the ontology's ancestor overlap. */
  ontology: number;
  /** Masked-patch reconstruction (signals and volumes): MSE on the masked patches only, from the encoder's token outputs. */
  reconstruction: number;
  /** Masked-variant pretraining (BERT-style, haplotype-aware units): the masked variants' genes predicted from the rest. */
  maskedVariants: number;
}

export interface LearnConfig {
  name: string;
  /** Dimension of the shared space. */
  dim: number;
  phenotype: { batch: number; maxTerms: number; attention: number };
  /** Signal modalities to learn; a modality absent here is not trained nor embedded. */
  signals: Partial<Record<'ecg' | 'eeg', SignalConfig>>;
  /** Imaging modalities to learn; absent (or null in a file) leaves the modality out. */
  imaging: Partial<Record<ImagingModality, ImagingConfig>>;
  /** The genomic encoder; absent (or null in a file) leaves genotypes out. */
  genotype?: GenotypeConfig | null;
  losses: LossWeights;
  /** Fraction of a record's patches masked in its second view when the reconstruction loss is on. */
  maskRatio: number;
  temperature: number;
  /** Term pairs per step for the ontology loss. */
  termPairs: number;
  /** Random HPO terms added per step as negatives of the alignment loss. */
  negatives: number;
  learningRate: number;
  epochs: number;
  stepsPerEpoch: number;
  /** Epochs without a better validation metric before stopping. */
  patience: number;
  /** Training stops (keeping the best checkpoint) once this much wall time is spent. */
  maxMinutes: number;
  /**
   * Fractions of subject groups (publication, else patient) held out. `assign` honours a data set's
   * own split: patients whose id matches a split's regular expression go to that split, whatever the hash says.
   */
  split: { validation: number; test: number; assign?: Partial<Record<'train' | 'validation' | 'test', string>> };
}

const ecg = (s: Partial<SignalConfig>): SignalConfig => ({ downsample: 2, patch: 25, dModel: 64, layers: 2, heads: 4, mlp: 128, batch: 32, rhythm: true, ...s });
const eeg = (s: Partial<SignalConfig>): SignalConfig => ({ downsample: 1, patch: 16, dModel: 64, layers: 2, heads: 4, mlp: 128, batch: 32, ...s });

// Harmonized MRI is 2 mm isotropic (91 x 109 x 91 for an MNI-sized head): 32^3 in patches of 8^3 is
// 64 tokens. OCT is [B-scans, depth, A-scans], a few dozen B-scans of ~500 x 500: 64 tokens as well.
const mri = (s: Partial<ImagingConfig>): ImagingConfig => ({ shape: [32, 32, 32], patch: [8, 8, 8], dModel: 64, layers: 2, heads: 4, mlp: 128, batch: 16, ...s });
const oct = (s: Partial<ImagingConfig>): ImagingConfig => ({ shape: [16, 64, 64], patch: [4, 16, 16], dModel: 64, layers: 2, heads: 4, mlp: 128, batch: 16, ...s });
const IMAGING_DEFAULTS: Record<ImagingModality, (s: Partial<ImagingConfig>) => ImagingConfig> = { mri, oct };

const BASE: LearnConfig = {
  name: 'quick',
  dim: 128,
  phenotype: { batch: 128, maxTerms: 32, attention: 64 },
  signals: { ecg: ecg({}), eeg: eeg({}) },
  // Imaging encoders train only when the store has records of their modality.
  imaging: { mri: mri({}), oct: oct({}) },
  // Trains only when the store's patients have variants or genes (phenopackets' interpretations, VCF records).
  genotype: { maxVariants: 16, dModel: 64, layers: 1, heads: 4, mlp: 128, batch: 64 },
  losses: { crossModal: 1, views: 1, alignment: 1, ontology: 0.5, reconstruction: 0.5, maskedVariants: 0.5 },
  maskRatio: 0.4,
  temperature: 0.1,
  termPairs: 256,
  negatives: 64,
  learningRate: 1e-3,
  // About 2 s per step on wasm for the encoders of the semi-synthetic cohort together (phenotype,
  // genotype, ECG, EEG; measured 2026-12-02): 480 steps fit the time limit, validated every 30 steps so
  // early stopping has epochs to compare (at 12 epochs validation was still rising at the last one).
  epochs: 16,
  stepsPerEpoch: 30,
  patience: 4,
  maxMinutes: 17,
  split: { validation: 0.1, test: 0.2 },
};

/** quick: sized from the measured wasm step times to end within 20 minutes on 2 cores; full: larger and longer. */
export const PRESETS: Record<'quick' | 'full', LearnConfig> = {
  quick: BASE,
  full: {
    ...BASE,
    name: 'full',
    phenotype: { batch: 256, maxTerms: 48, attention: 128 },
    signals: { ecg: ecg({ downsample: 1, patch: 50, dModel: 128, layers: 4, mlp: 256, batch: 64 }), eeg: eeg({ dModel: 128, layers: 4, mlp: 256, batch: 64 }) },
    imaging: { mri: mri({ shape: [64, 64, 64], dModel: 128, layers: 4, mlp: 256, batch: 32 }), oct: oct({ shape: [32, 128, 128], patch: [4, 16, 16], dModel: 128, layers: 4, mlp: 256, batch: 32 }) },
    genotype: { maxVariants: 48, dModel: 128, layers: 2, heads: 4, mlp: 256, batch: 128 },
    epochs: 60,
    stepsPerEpoch: 200,
    patience: 8,
    maxMinutes: 600,
  },
};

const bad = (file: string, field: string, why: string) => new InputError(`${field}: ${why}`, file);

function positive(file: string, field: string, v: unknown, integer = true): number {
  if (typeof v !== 'number' || !(v > 0) || (integer && !Number.isInteger(v))) throw bad(file, field, `expected a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(v)}`);
  return v;
}

function checkSignal(file: string, name: string, s: SignalConfig): void {
  for (const k of ['downsample', 'patch', 'dModel', 'layers', 'heads', 'mlp', 'batch'] as const) positive(file, `signals.${name}.${k}`, s[k]);
  if (s.dModel % s.heads !== 0) throw bad(file, `signals.${name}.heads`, `dModel ${s.dModel} is not a multiple of ${s.heads} heads`);
  if (s.rhythm !== undefined && typeof s.rhythm !== 'boolean') throw bad(file, `signals.${name}.rhythm`, `expected true or false, got ${JSON.stringify(s.rhythm)}`);
  if (s.rhythm && name !== 'ecg') throw bad(file, `signals.${name}.rhythm`, 'the rhythm token reads R peaks: ECG only');
}

function checkImaging(file: string, name: string, s: ImagingConfig): void {
  for (const k of ['dModel', 'layers', 'heads', 'mlp', 'batch'] as const) positive(file, `imaging.${name}.${k}`, s[k]);
  for (const k of ['shape', 'patch'] as const) {
    const v = s[k];
    if (!Array.isArray(v) || v.length !== 3) throw bad(file, `imaging.${name}.${k}`, `expected [z, y, x], got ${JSON.stringify(v)}`);
    v.forEach((n, i) => positive(file, `imaging.${name}.${k}[${i}]`, n));
  }
  s.shape.forEach((n, i) => {
    if (n % s.patch[i] !== 0) throw bad(file, `imaging.${name}.patch`, `shape ${s.shape.join('x')} does not split into patches of ${s.patch.join('x')} (axis ${'zyx'[i]})`);
  });
  if (s.dModel % s.heads !== 0) throw bad(file, `imaging.${name}.heads`, `dModel ${s.dModel} is not a multiple of ${s.heads} heads`);
}

function checkGenotype(file: string, g: GenotypeConfig): void {
  for (const k of ['maxVariants', 'dModel', 'layers', 'heads', 'mlp', 'batch'] as const) positive(file, `genotype.${k}`, g[k]);
  if (g.dModel % g.heads !== 0) throw bad(file, 'genotype.heads', `dModel ${g.dModel} is not a multiple of ${g.heads} heads`);
}

const SPLITS = ['train', 'validation', 'test'] as const;

function checkSplit(file: string, split: LearnConfig['split']): void {
  const { validation, test } = split;
  if (!(validation >= 0 && test > 0 && validation + test < 1)) throw bad(file, 'split', `validation ${validation} and test ${test} must be fractions with test > 0 and a sum below 1`);
  for (const [k, re] of Object.entries(split.assign ?? {})) {
    if (!(SPLITS as readonly string[]).includes(k)) throw bad(file, `split.assign.${k}`, 'expected train, validation or test');
    try {
      new RegExp(re as string);
    } catch (e) {
      throw bad(file, `split.assign.${k}`, `not a regular expression: ${(e as Error).message}`);
    }
  }
}

/** Checks a whole configuration, naming the first bad field. */
export function checkConfig(c: LearnConfig, file = 'config'): LearnConfig {
  positive(file, 'dim', c.dim);
  for (const k of ['batch', 'maxTerms', 'attention'] as const) positive(file, `phenotype.${k}`, c.phenotype[k]);
  for (const [name, s] of Object.entries(c.signals)) {
    if (name !== 'ecg' && name !== 'eeg') throw bad(file, `signals.${name}`, 'expected ecg or eeg');
    if (s) checkSignal(file, name, s);
  }
  for (const [name, s] of Object.entries(c.imaging)) {
    if (!(IMAGING_MODALITIES as readonly string[]).includes(name)) throw bad(file, `imaging.${name}`, `expected ${IMAGING_MODALITIES.join(' or ')}`);
    if (s) checkImaging(file, name, s);
  }
  if (c.genotype) checkGenotype(file, c.genotype);
  if (!(c.maskRatio > 0 && c.maskRatio < 1)) throw bad(file, 'maskRatio', `expected a fraction strictly between 0 and 1, got ${JSON.stringify(c.maskRatio)}`);
  for (const [k, w] of Object.entries(c.losses)) if (typeof w !== 'number' || w < 0) throw bad(file, `losses.${k}`, `expected a weight >= 0 (0 switches the loss off), got ${JSON.stringify(w)}`);
  if (Object.values(c.losses).every((w) => w === 0)) throw bad(file, 'losses', 'every loss is switched off');
  positive(file, 'temperature', c.temperature, false);
  positive(file, 'learningRate', c.learningRate, false);
  for (const k of ['termPairs', 'negatives', 'epochs', 'stepsPerEpoch', 'patience'] as const) positive(file, k, c[k]);
  positive(file, 'maxMinutes', c.maxMinutes, false);
  checkSplit(file, c.split);
  return c;
}

/** Merges a partial configuration (JSON or YAML) over a preset (`preset: full` in the file, default quick). */
export function mergeConfig(partial: Record<string, unknown>, file = 'config'): LearnConfig {
  const presetName = (partial.preset ?? 'quick') as string;
  const base = PRESETS[presetName as 'quick' | 'full'];
  if (!base) throw bad(file, 'preset', `expected quick or full, got ${JSON.stringify(presetName)}`);
  const known = new Set([...Object.keys(base), 'preset']);
  for (const k of Object.keys(partial)) if (!known.has(k)) throw bad(file, k, `unknown setting (known: ${[...known].join(', ')})`);
  const { preset: _, ...rest } = partial;
  const obj = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});
  const signals: LearnConfig['signals'] = {};
  const given = partial.signals === undefined ? base.signals : obj(partial.signals);
  for (const [name, s] of Object.entries(given)) {
    if (s === null || s === false) continue;
    const defaults = base.signals[name as 'ecg' | 'eeg'] ?? (name === 'ecg' ? ecg({}) : eeg({}));
    signals[name as 'ecg' | 'eeg'] = { ...defaults, ...obj(s) } as SignalConfig;
  }
  const imaging: LearnConfig['imaging'] = {};
  const givenImaging = partial.imaging === undefined ? base.imaging : obj(partial.imaging);
  for (const [name, s] of Object.entries(givenImaging)) {
    if (s === null || s === false) continue;
    const make = IMAGING_DEFAULTS[name as ImagingModality];
    if (!make) throw bad(file, `imaging.${name}`, `expected ${IMAGING_MODALITIES.join(' or ')}`);
    imaging[name as ImagingModality] = { ...(base.imaging[name as ImagingModality] ?? make({})), ...obj(s) } as ImagingConfig;
  }
  const merged = {
    ...base,
    ...rest,
    name: (partial.name as string) ?? (partial.preset ? presetName : 'custom'),
    phenotype: { ...base.phenotype, ...obj(partial.phenotype) },
    signals,
    imaging,
    genotype: partial.genotype === null || partial.genotype === false ? null : partial.genotype === undefined ? base.genotype : { ...PRESETS.quick.genotype!, ...base.genotype, ...obj(partial.genotype) },
    losses: { ...base.losses, ...obj(partial.losses) },
    split: { ...base.split, ...obj(partial.split) },
  } as LearnConfig;
  return checkConfig(merged, file);
}

/** Reads a configuration file (JSON or YAML). */
export function loadConfig(file: string): LearnConfig {
  let parsed: unknown;
  try {
    parsed = loadYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(`cannot read the training configuration: ${(e as Error).message.split('\n')[0]}`, file);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InputError('a training configuration is a JSON or YAML object', file);
  return mergeConfig(parsed as Record<string, unknown>, file);
}
