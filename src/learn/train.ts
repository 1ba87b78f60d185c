import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Ontology } from '../ontology/index.js';
import { openStore, writeAtomic } from '../store/index.js';
import { MODELS_DIR } from './vectors.js';
import { chooseBackend, type BackendChoice } from './backend.js';
import { hasCheckpoint, loadOptimizer, loadWeights, saveOptimizer, saveWeights } from './checkpoint.js';
import { formatSeconds, type LearnConfig } from './config.js';
import { loadDataset, mapUmlsTerms, splitOf, usedTerms, type Dataset, type Split } from './data.js';
import { embedPatients, embedRecords, embedTerms } from './encode.js';
import { geneVocabulary, geneVocabularyFromIds, type GeneVocabulary } from './genotype.js';
import { auroc, cosine } from './metrics.js';
import { Model } from './model.js';
import { batchLosses, LOSS_NAMES, totalLoss, type LossName } from './objective.js';
import { hash32, Rng } from './random.js';
import { Sampler } from './sampler.js';
import { buildVocabulary, vocabularyFromIds } from './vocabulary.js';

export { latestVersion, MODELS_DIR } from './vectors.js';

export interface TrainOptions {
  storeDir: string;
  config: LearnConfig;
  seed?: number;
  backend?: string;
  resume?: boolean;
  /** The software name and version, for the model card. */
  software: string;
  log?: (line: string) => void;
  onProgress?: (p: TrainProgress) => void;
}

export interface TrainProgress {
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  losses: Partial<Record<LossName | 'total', number>>;
  stepsPerSecond: number;
  etaSeconds: number;
}

/** Zero-shot scores of one task: records of a modality against one finding term. */
export interface TaskMetric {
  modality: string;
  term: string;
  records: number;
  positives: number;
  auroc: number;
}

export interface EpochRecord {
  epoch: number;
  steps: number;
  losses: Partial<Record<LossName | 'total', number>>;
  validation: number;
  seconds: number;
}

export interface ModelCard {
  version: string;
  created: string;
  software: string;
  tfjs: string;
  backend: BackendChoice;
  seed: number;
  config: LearnConfig;
  data: {
    store: string;
    ontology: string;
    terms: number;
    patients: number;
    records: Record<string, number>;
    skippedRecords: Dataset['skipped'];
    /** UMLS CUIs of the data read as the HPO terms they map to, and those that map to none (left out). */
    umls: { mapped: number; unmapped: string[] };
    simulated: string;
  };
  splits: { unit: string; seed: number; fractions: LearnConfig['split']; patients: Record<Split, number>; records: Record<Split, number> };
  losses: { enabled: LossName[]; weights: LearnConfig['losses'] };
  metrics: { validationMetric: string; bestEpoch: number; bestValidation: number; validation: TaskMetric[]; test: TaskMetric[] };
  history: EpochRecord[];
  time: { seconds: number; steps: number; stepsPerSecond: number; stoppedBy: 'epochs' | 'early stopping' | 'time limit' };
}

interface TrainState {
  version: string;
  epoch: number;
  steps: number;
  seconds: number;
  rng: number;
  bestValidation: number;
  bestEpoch: number;
  sinceBest: number;
  history: EpochRecord[];
}

const SIMULATED =
  'Nothing is simulated in the inputs: phenotype sets and genotypes are the phenopackets\' own (genotypes also from VCF/MAF records\' called variants); signal and imaging records are real recordings and volumes with the findings ' +
  'their manifests give (hx:finding). Records without a finding are aligned with a learned per-modality "no finding" anchor, not with an HPO term. ' +
  'Imaging volumes are trilinearly resampled to the encoder\'s input shape when loaded.';

/** The model's version: its preset or config name, seed and a hash of the configuration. */
export function modelVersion(config: LearnConfig, seed: number): string {
  return `${config.name}-s${seed}-${hash32(JSON.stringify(config)).toString(16).padStart(8, '0')}`;
}

export function modelDir(storeDir: string, version: string): string {
  return join(resolve(storeDir), MODELS_DIR, version);
}


/**
 * Each patient's split, by its subject group (publication, else the patient); a patient whose id
 * matches one of `fractions.assign`'s expressions goes to that split (a data set's own split).
 */
export function patientSplits(dataset: Dataset, seed: number, fractions: LearnConfig['split']): Map<string, Split> {
  const assign = Object.entries(fractions.assign ?? {}).map(([split, re]) => [split as Split, new RegExp(re as string)] as const);
  const given = (id: string) => assign.find(([, re]) => re.test(id))?.[0];
  return new Map(dataset.patients.map((p) => [p.id, given(p.id) ?? splitOf(p.group, seed, fractions)]));
}

/**
 * Zero-shot classification on the records of one split: for each modality and each finding the data
 * has, the AUROC of cos(record, term) with that finding's records as positives and records without a
 * finding as negatives. Falls back to patient-term alignment when no split record has a finding.
 */
export function zeroShotMetrics(model: Model, dataset: Dataset, splits: Map<string, Split>, split: Split): TaskMetric[] {
  const records = dataset.records.filter((r) => splits.get(r.patient) === split && model.recordModalities.includes(r.modality));
  if (!records.length) return [];
  const vectors = embedRecords(model, records);
  const terms = embedTerms(model);
  const D = model.config.dim;
  const out: TaskMetric[] = [];
  for (const m of model.recordModalities) {
    const idx = records.map((r, i) => [r, i] as const).filter(([r]) => r.modality === m);
    const findings = [...new Set(idx.map(([r]) => r.finding).filter((f): f is string => f !== undefined && model.vocab.index.has(f)))].sort();
    for (const term of findings) {
      const t = model.vocab.index.get(term)!;
      const tv = terms.subarray(t * D, (t + 1) * D);
      const rows = idx.filter(([r]) => r.finding === term || r.finding === undefined);
      const scores = rows.map(([, i]) => cosine(vectors[i], tv));
      const positive = rows.map(([r]) => r.finding === term);
      out.push({ modality: m, term, records: rows.length, positives: positive.filter(Boolean).length, auroc: auroc(scores, positive) });
    }
  }
  return out;
}

/** Validation patients nearer their own terms than random ones: the mean cosine margin. */
function patientAlignment(model: Model, dataset: Dataset, splits: Map<string, Split>, rng: Rng): number {
  const patients = dataset.patients.filter((p) => splits.get(p.id) === 'validation' && p.observed.some((t) => model.vocab.index.has(t))).slice(0, 512);
  if (!patients.length) return NaN;
  const sub: Dataset = { patients, records: [], skipped: [] };
  const vecs = embedPatients(model, { ...sub, patients: patients.map((p) => ({ ...p, records: [] })) }, []);
  const terms = embedTerms(model);
  const D = model.config.dim;
  let margin = 0;
  for (const p of patients) {
    const v = vecs.get(p.id)!;
    const own = p.observed.filter((t) => model.vocab.index.has(t)).map((t) => model.vocab.index.get(t)!);
    const mean = (ids: number[]) => ids.reduce((s, t) => s + cosine(v, terms.subarray(t * D, (t + 1) * D)), 0) / ids.length;
    margin += mean(own) - mean(own.map(() => rng.int(model.vocab.ids.length)));
  }
  return margin / patients.length;
}

function validationMetric(model: Model, dataset: Dataset, splits: Map<string, Split>, seed: number): { value: number; name: string; tasks: TaskMetric[] } {
  const tasks = zeroShotMetrics(model, dataset, splits, 'validation').filter((t) => Number.isFinite(t.auroc));
  if (tasks.length) return { value: tasks.reduce((s, t) => s + t.auroc, 0) / tasks.length, name: 'mean zero-shot AUROC of validation records', tasks };
  return { value: patientAlignment(model, dataset, splits, new Rng(seed)), name: 'cosine margin of validation patients to their own terms over random terms', tasks };
}

const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;

/** Trains, checkpointing each epoch; returns the model card also saved as model-card.json. */
export async function train(opts: TrainOptions): Promise<ModelCard> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const config = opts.config;
  const seed = opts.seed ?? 1;
  const backend = await chooseBackend(opts.backend, log);
  const started = Date.now();
  const store = await openStore(opts.storeDir);
  let dataset: Dataset;
  let ontology: Ontology | undefined;
  try {
    ontology = await store.ontology();
    dataset = await loadDataset(store, resolve(opts.storeDir), [...(Object.keys(config.signals) as ('ecg' | 'eeg')[]), ...(Object.keys(config.imaging) as ('mri' | 'oct')[])], config.imaging, Boolean(config.genotype));
  } finally {
    await store.close();
  }
  const umls = mapUmlsTerms(dataset, ontology);
  if (umls.unmapped.length) log(`learn: ${umls.unmapped.length} UMLS concepts of the data map to no HPO term and are left out: ${umls.unmapped.slice(0, 10).join(', ')}${umls.unmapped.length > 10 ? ', ...' : ''}`);
  const version = modelVersion(config, seed);
  const dir = modelDir(opts.storeDir, version);
  const resuming = opts.resume === true && existsSync(join(dir, 'state.json')) && hasCheckpoint(dir, 'last');
  if (opts.resume && !resuming) log(`learn: nothing to resume for ${version}: training from the start`);
  if (!resuming) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const vocab = resuming ? vocabularyFromIds(JSON.parse(readFileSync(join(dir, 'terms.json'), 'utf8')) as string[], ontology) : buildVocabulary(ontology, [...usedTerms(dataset)].sort());
  const splits = patientSplits(dataset, seed, config.split);
  const isTrain = (p: string) => splits.get(p) === 'train';
  const genes = config.genotype ? (resuming ? savedGenes(dir) : geneVocabulary(dataset.patients.filter((p) => isTrain(p.id)).flatMap((p) => (p.variants ?? []).map((v) => v.gene)))) : undefined;
  const model = new Model(config, vocab, seed, genes, genes && geneProfiles(dataset, vocab.index, isTrain));
  const sampler = new Sampler(model, dataset, isTrain);
  const optimizer = tf.train.adam(config.learningRate);
  const varList = model.trainable();
  let state: TrainState = { version, epoch: 0, steps: 0, seconds: 0, rng: seed, bestValidation: -Infinity, bestEpoch: 0, sinceBest: 0, history: [] };
  if (resuming) {
    state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as TrainState;
    loadWeights(model, dir, 'last');
    await loadOptimizer(optimizer, model, dir, 'optimizer');
    log(`learn: resuming ${version} after epoch ${state.epoch} (${state.steps} steps)`);
  } else {
    writeAtomic(join(dir, 'terms.json'), [JSON.stringify(vocab.ids)]);
    if (model.genes) writeAtomic(join(dir, 'genes.json'), [JSON.stringify(model.genes.ids)]);
    writeAtomic(join(dir, 'model.json'), [JSON.stringify({ version, seed, config }, null, 2)]);
  }
  const rng = new Rng(seed);
  rng.seedState = state.rng;
  log(`learn: ${version}: ${dataset.patients.length} patients, ${dataset.records.length} records, ${vocab.ids.length} terms; training on ${JSON.stringify(sampler.counts())}`);
  let stoppedBy: ModelCard['time']['stoppedBy'] = 'epochs';
  const budget = config.maxMinutes * 60;
  const sessionStart = Date.now();
  const priorSeconds = state.seconds;
  const stepsAtStart = state.steps;
  while (state.epoch < config.epochs) {
    const epoch = state.epoch + 1;
    const sums: Partial<Record<LossName | 'total', number>> = {};
    const epochStart = Date.now();
    for (let step = 1; step <= config.stepsPerEpoch; step++) {
      const batch = sampler.next(rng);
      const parts: Partial<Record<LossName, tf.Scalar>> = {};
      const { value, grads } = tf.variableGrads(() => {
        const losses = batchLosses(model, batch);
        for (const n of LOSS_NAMES) if (losses[n]) parts[n] = tf.keep(losses[n]!);
        return totalLoss(model, losses);
      }, varList);
      // Adam keeps its moments by position: every variable gets a gradient, zero where unused.
      const full = varList.map((v) => ({ name: v.name, tensor: grads[v.name] ?? tf.zerosLike(v) }));
      optimizer.applyGradients(full);
      sums.total = (sums.total ?? 0) + (await value.data())[0];
      for (const n of LOSS_NAMES) if (parts[n]) sums[n] = (sums[n] ?? 0) + (await parts[n]!.data())[0];
      tf.dispose([value, ...full.map((g) => g.tensor), ...Object.values(parts)]);
      state.steps++;
      const elapsed = priorSeconds + (Date.now() - sessionStart) / 1000;
      const rate = (state.steps - stepsAtStart) / ((Date.now() - sessionStart) / 1000);
      const remaining = (config.epochs - epoch) * config.stepsPerEpoch + (config.stepsPerEpoch - step);
      const mean = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, round(v! / step)]));
      opts.onProgress?.({ epoch, epochs: config.epochs, step, stepsPerEpoch: config.stepsPerEpoch, losses: mean, stepsPerSecond: rate, etaSeconds: Math.min(remaining / rate, Math.max(0, budget - elapsed)) });
      if (elapsed >= budget) break;
    }
    const steps = state.steps - (state.history.reduce((s, h) => s + h.steps, 0));
    const losses = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, round(v! / Math.max(1, steps))]));
    const val = validationMetric(model, dataset, splits, seed);
    state.epoch = epoch;
    state.seconds = priorSeconds + (Date.now() - sessionStart) / 1000;
    state.history.push({ epoch, steps, losses, validation: round(val.value), seconds: round((Date.now() - epochStart) / 1000, 1) });
    const better = Number.isFinite(val.value) && val.value > state.bestValidation;
    if (better || state.bestEpoch === 0) {
      state.bestValidation = Number.isFinite(val.value) ? val.value : state.bestValidation;
      state.bestEpoch = epoch;
      state.sinceBest = 0;
      await saveWeights(model, dir, 'best');
    } else state.sinceBest++;
    state.rng = rng.seedState;
    await saveWeights(model, dir, 'last');
    await saveOptimizer(optimizer, model, dir, 'optimizer');
    writeAtomic(join(dir, 'state.json'), [JSON.stringify(state)]);
    const epochSeconds = (Date.now() - epochStart) / 1000;
    const eta = Math.min((config.epochs - epoch) * epochSeconds, Math.max(0, budget - state.seconds));
    log(`learn: epoch ${epoch}/${config.epochs} ${Object.entries(losses).map(([k, v]) => `${k} ${v}`).join(' ')} | validation ${round(val.value)}${better ? ' (best)' : ''} | ${round(steps / epochSeconds, 2)} steps/s | ETA ${formatSeconds(eta)}`);
    if (state.sinceBest >= config.patience) {
      stoppedBy = 'early stopping';
      break;
    }
    if (state.seconds >= budget) {
      stoppedBy = 'time limit';
      break;
    }
  }
  loadWeights(model, dir, 'best');
  const validation = zeroShotMetrics(model, dataset, splits, 'validation');
  const test = zeroShotMetrics(model, dataset, splits, 'test');
  const count = <T>(items: T[], split: (x: T) => Split | undefined) => {
    const c: Record<Split, number> = { train: 0, validation: 0, test: 0 };
    for (const x of items) c[split(x) ?? 'train']++;
    return c;
  };
  const recordsBy: Record<string, number> = {};
  for (const r of dataset.records) recordsBy[r.modality] = (recordsBy[r.modality] ?? 0) + 1;
  const card: ModelCard = {
    version,
    created: new Date().toISOString(),
    software: opts.software,
    tfjs: tf.version.tfjs,
    backend,
    seed,
    config,
    data: {
      store: resolve(opts.storeDir),
      ontology: ontology ? `${ontology.name} ${ontology.version}` : 'none (terms from the data only)',
      terms: vocab.ids.length,
      patients: dataset.patients.length,
      records: recordsBy,
      skippedRecords: dataset.skipped,
      umls,
      simulated: SIMULATED,
    },
    splits: { unit: 'publication (phenopackets), else patient', seed, fractions: config.split, patients: count(dataset.patients, (p) => splits.get(p.id)), records: count(dataset.records, (r) => splits.get(r.patient)) },
    losses: { enabled: LOSS_NAMES.filter((n) => config.losses[n] > 0), weights: config.losses },
    metrics: { validationMetric: validationMetric(model, dataset, splits, seed).name, bestEpoch: state.bestEpoch, bestValidation: round(state.bestValidation), validation, test },
    history: state.history,
    time: { seconds: round(state.seconds, 1), steps: state.steps, stepsPerSecond: round(state.steps / Math.max(state.seconds, 1e-9), 3), stoppedBy },
  };
  writeAtomic(join(dir, 'model-card.json'), [JSON.stringify(card, null, 2)]);
  writeAtomic(join(dir, 'splits.json'), [JSON.stringify(Object.fromEntries(splits))]);
  writeAtomic(join(resolve(opts.storeDir), MODELS_DIR, 'latest.json'), [JSON.stringify({ version })]);
  model.dispose();
  optimizer.dispose();
  log(`learn: ${version} saved in ${dir} (${round((Date.now() - started) / 1000, 1)} s; best epoch ${state.bestEpoch})`);
  return card;
}

/** The gene vocabulary saved with a model (none for models without a genomic encoder). */
function savedGenes(dir: string): GeneVocabulary | undefined {
  const f = join(dir, 'genes.json');
  return existsSync(f) ? geneVocabularyFromIds(JSON.parse(readFileSync(f, 'utf8')) as string[]) : undefined;
}

/** Each gene's observed HPO terms (vocabulary indices) over the training patients carrying it: where its row starts. */
export function geneProfiles(dataset: Dataset, index: Map<string, number>, isTrain: (patient: string) => boolean): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const p of dataset.patients) {
    if (!isTrain(p.id) || !p.variants?.length) continue;
    const terms = p.observed.map((t) => index.get(t)).filter((t): t is number => t !== undefined);
    for (const gene of new Set(p.variants.map((v) => v.gene))) out.set(gene, [...(out.get(gene) ?? []), ...terms]);
  }
  return out;
}

/** A trained model from its folder (the best checkpoint), with the vocabulary it was trained on. */
export function loadTrainedModel(storeDir: string, version: string, ontology: Ontology | undefined): Model {
  const dir = modelDir(storeDir, version);
  if (!hasCheckpoint(dir, 'best')) throw new Error(`${dir}: no trained model (run harmonia train first)`);
  const { config: saved, seed } = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { config: LearnConfig; seed: number };
  // Models saved before imaging, reconstruction and genotypes existed have none of them.
  const config: LearnConfig = {
    ...saved,
    maskRatio: saved.maskRatio ?? 0.4,
    imaging: saved.imaging ?? {},
    genotype: saved.genotype ?? null,
    losses: { ...saved.losses, reconstruction: saved.losses.reconstruction ?? 0, maskedVariants: saved.losses.maskedVariants ?? 0 },
  };
  const vocab = vocabularyFromIds(JSON.parse(readFileSync(join(dir, 'terms.json'), 'utf8')) as string[], ontology);
  const model = new Model(config, vocab, seed, savedGenes(dir));
  loadWeights(model, dir, 'best');
  return model;
}
