// Site effects in harmonized ECG and EEG features, and what ComBat does to them, on SIMULATED sites.
//
// Real records (PhysioNet/CinC 2017 AF and normal ECGs; Bonn seizure set S and healthy set Z) are each
// "recorded" at three simulated sites, a travelling-subject design: every subject appears once per site,
// so site and biology are unconfounded and an ideal harmonisation leaves site prediction at chance.
//   site A: the record as it is;
//   site B: gain x1.3, white Gaussian noise, acquired at a different rate (ECG 250 Hz, EEG 250 Hz);
//   site C: gain x0.8, 50 Hz mains and slow baseline drift, another rate (ECG 500 Hz, EEG 128 Hz),
//           ECG quantised to 5 µV steps.
// Each simulated record goes through the harmonizer (src/harmonize/ecg.ts, eeg.ts) with its defaults;
// positive heavy-tailed features are log10-transformed. Then, with 5-fold cross-validation grouped by
// subject (all three copies of a subject in the same fold) and stratified by label:
//   - site prediction: one-vs-rest L2 logistic regression per site, macro AUROC;
//   - biology kept: AF vs normal (ECG) and seizure vs healthy (EEG), L2 logistic regression AUROC;
// on the features before ComBat, after ComBat fitted on the training folds and applied to the held-out
// fold (src/harmonize/combat.ts, batch = site, no covariates), and after ComBat fitted on all samples.
// Usage: node dist/bench/site-effects-signals.js DATA_DIR [--ecg N] [--eeg N]; prints one JSON object.

import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { combat, combatApply, combatFit } from '../src/harmonize/combat.js';
import { harmonizeEcg } from '../src/harmonize/ecg.js';
import { harmonizeEeg } from '../src/harmonize/eeg.js';
import { resample } from '../src/harmonize/signal.js';
import { readBonn } from '../src/sources/bonn.js';
import { readMat4Signal, readPhysionetReference } from '../src/sources/mat.js';
import type { SignalRecording } from '../src/sources/signal-recording.js';
import { peakRssMiB, round } from './util.js';

// ---- Simulated sites ------------------------------------------------------------------------------

export interface SiteSpec {
  name: string;
  gain: number;
  /** Sampling rate of the simulated device (Hz); undefined keeps the record's. */
  rate?: number;
  /** Standard deviation of added white noise, in the channel's unit. */
  noise?: number;
  /** Amplitude of added 50 Hz mains, in the channel's unit. */
  mains?: number;
  /** Amplitude of a 0.25 Hz baseline drift, in the channel's unit. */
  drift?: number;
  /** Quantisation step of the simulated ADC, in the channel's unit. */
  quantum?: number;
}

export const ECG_SITES: SiteSpec[] = [
  { name: 'A', gain: 1 },
  { name: 'B', gain: 1.3, rate: 250, noise: 0.03 },
  { name: 'C', gain: 0.8, rate: 500, mains: 0.05, drift: 0.3, quantum: 0.005 },
];
export const EEG_SITES: SiteSpec[] = [
  { name: 'A', gain: 1 },
  { name: 'B', gain: 1.3, rate: 250, noise: 10 },
  { name: 'C', gain: 0.8, rate: 128, mains: 20, drift: 30 },
];

function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
}

function gaussian(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
}

/** The record as a simulated site would have acquired it (every channel). */
export function simulateSite(rec: SignalRecording, site: SiteSpec, seed: number): SignalRecording {
  const noise = gaussian(random(seed));
  const channels = rec.channels.map((c) => {
    const r = site.rate && site.rate !== c.samplingRate ? resample(c.samples, c.samplingRate, site.rate) : { samples: Float64Array.from(c.samples), samplingRate: c.samplingRate };
    const out = new Float32Array(r.samples.length);
    for (let i = 0; i < out.length; i++) {
      const t = i / r.samplingRate;
      let v = r.samples[i] * site.gain;
      if (site.noise) v += site.noise * noise();
      if (site.mains) v += site.mains * Math.sin(2 * Math.PI * 50 * t);
      if (site.drift) v += site.drift * Math.sin(2 * Math.PI * 0.25 * t + 1);
      if (site.quantum) v = Math.round(v / site.quantum) * site.quantum;
      out[i] = v;
    }
    return { ...c, samples: out, samplingRate: r.samplingRate };
  });
  return { ...rec, id: `${rec.id}@${site.name}`, channels };
}

// ---- Logistic regression, AUROC, grouped folds --------------------------------------------------

/** Solves A x = b (A symmetric positive definite, n x n row-major) by Cholesky. */
function solve(A: Float64Array, b: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = i === j ? Math.sqrt(Math.max(s, 1e-12)) : s / L[j * n + j];
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * y[k];
    y[i] = s / L[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  return x;
}

/**
 * L2-penalised logistic regression by Newton's method on standardised features (the intercept is not
 * penalised). `rows` are samples x features. Returns a scorer for new rows (the linear predictor).
 */
export function logisticRegression(rows: number[][], y: number[], lambda = 1): (row: number[]) => number {
  const p = rows[0].length, n = rows.length;
  const mean = Array.from({ length: p }, (_, j) => rows.reduce((a, r) => a + r[j], 0) / n);
  const sd = Array.from({ length: p }, (_, j) => Math.sqrt(rows.reduce((a, r) => a + (r[j] - mean[j]) ** 2, 0) / n) || 1);
  const X = rows.map((r) => [1, ...r.map((v, j) => (v - mean[j]) / sd[j])]);
  const d = p + 1;
  let w = new Float64Array(d);
  for (let iter = 0; iter < 50; iter++) {
    const H = new Float64Array(d * d), g = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      let z = 0;
      for (let j = 0; j < d; j++) z += w[j] * X[i][j];
      const mu = 1 / (1 + Math.exp(-z));
      const s = Math.max(mu * (1 - mu), 1e-9);
      for (let j = 0; j < d; j++) {
        g[j] += (mu - y[i]) * X[i][j];
        for (let k = 0; k <= j; k++) H[j * d + k] += s * X[i][j] * X[i][k];
      }
    }
    for (let j = 0; j < d; j++) for (let k = 0; k < j; k++) H[k * d + j] = H[j * d + k];
    for (let j = 1; j < d; j++) {
      g[j] += lambda * w[j];
      H[j * d + j] += lambda;
    }
    const step = solve(H, g, d);
    let change = 0;
    w = w.map((v, j) => {
      change = Math.max(change, Math.abs(step[j]));
      return v - step[j];
    });
    if (change < 1e-8) break;
  }
  return (row) => w[0] + row.reduce((a, v, j) => a + w[j + 1] * ((v - mean[j]) / sd[j]), 0);
}

/** Mann-Whitney AUROC of scores for labels 1 vs 0 (ties count half). */
export function auroc(scores: number[], labels: number[]): number {
  const order = scores.map((s, i) => [s, labels[i]] as const).sort((a, b) => a[0] - b[0]);
  let rankSum = 0, pos = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && order[j][0] === order[i][0]) j++;
    const rank = (i + j + 1) / 2;
    for (let k = i; k < j; k++) if (order[k][1] === 1) {
      rankSum += rank;
      pos++;
    }
    i = j;
  }
  const neg = order.length - pos;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Fold of each subject: stratified by label, shuffled with a fixed seed. */
function subjectFolds(subjects: string[], labelOf: Map<string, number>, k: number, seed: number): Map<string, number> {
  const rand = random(seed);
  const fold = new Map<string, number>();
  for (const label of new Set(labelOf.values())) {
    const group = subjects.filter((s) => labelOf.get(s) === label);
    for (let i = group.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [group[i], group[j]] = [group[j], group[i]];
    }
    group.forEach((s, i) => fold.set(s, i % k));
  }
  return fold;
}

// ---- The experiment -----------------------------------------------------------------------------

interface Sample {
  subject: string;
  site: string;
  label: number;
  features: number[];
}

type Condition = 'before' | 'combatTrain' | 'combatFamilies' | 'combatAll' | 'locationScale';

function toMatrix(samples: Sample[]): { data: Float64Array; features: number; samples: number } {
  const p = samples[0].features.length, n = samples.length;
  const data = new Float64Array(p * n);
  samples.forEach((s, j) => s.features.forEach((v, i) => (data[i * n + j] = v)));
  return { data, features: p, samples: n };
}

function fromMatrix(data: Float64Array, like: Sample[]): Sample[] {
  const n = like.length;
  return like.map((s, j) => ({ ...s, features: s.features.map((_, i) => data[i * n + j]) }));
}

/** Samples restricted to some feature columns, and back. */
function columns(samples: Sample[], idx: number[]): Sample[] {
  return samples.map((s) => ({ ...s, features: idx.map((i) => s.features[i]) }));
}

/** ComBat fitted on `train` and applied to both, separately for each family of feature columns. */
function combatByFamily(train: Sample[], test: Sample[], families: number[][]): { train: Sample[]; test: Sample[] } {
  const outTrain = train.map((s) => ({ ...s, features: [...s.features] }));
  const outTest = test.map((s) => ({ ...s, features: [...s.features] }));
  for (const idx of families) {
    const tr = columns(train, idx), te = columns(test, idx);
    const est = combatFit(toMatrix(tr), tr.map((s) => s.site));
    const a = fromMatrix(combatApply(est, toMatrix(tr), tr.map((s) => s.site)).data, tr);
    const b = te.length ? fromMatrix(combatApply(est, toMatrix(te), te.map((s) => s.site)).data, te) : [];
    a.forEach((s, j) => idx.forEach((col, i) => (outTrain[j].features[col] = s.features[i])));
    b.forEach((s, j) => idx.forEach((col, i) => (outTest[j].features[col] = s.features[i])));
  }
  return { train: outTrain, test: outTest };
}

/**
 * Location/scale alignment without empirical Bayes (what ComBat does with its priors switched off,
 * neuroCombat's eb=False): per feature and site, (x - site mean) / site SD x pooled SD + grand mean,
 * estimated on `train` and applied to both.
 */
function locationScale(train: Sample[], test: Sample[]): { train: Sample[]; test: Sample[] } {
  const p = train[0].features.length;
  const sites = [...new Set(train.map((s) => s.site))];
  const grand = Array.from({ length: p }, (_, i) => train.reduce((a, s) => a + s.features[i], 0) / train.length);
  const stats = new Map(sites.map((site) => {
    const xs = train.filter((s) => s.site === site);
    const mean = Array.from({ length: p }, (_, i) => xs.reduce((a, s) => a + s.features[i], 0) / xs.length);
    const sd = Array.from({ length: p }, (_, i) => Math.sqrt(xs.reduce((a, s) => a + (s.features[i] - mean[i]) ** 2, 0) / xs.length) || 1);
    return [site, { mean, sd }];
  }));
  const pooled = Array.from({ length: p }, (_, i) => Math.sqrt(sites.reduce((a, site) => a + train.filter((s) => s.site === site).reduce((b, s) => b + (s.features[i] - stats.get(site)!.mean[i]) ** 2, 0), 0) / train.length) || 1);
  const map = (xs: Sample[]) => xs.map((s) => {
    const st = stats.get(s.site)!;
    return { ...s, features: s.features.map((v, i) => ((v - st.mean[i]) / st.sd[i]) * pooled[i] + grand[i]) };
  });
  return { train: map(train), test: map(test) };
}

/** Held-out scores for each sample of a binary target under one condition. */
function crossValidated(samples: Sample[], folds: Map<string, number>, k: number, condition: Condition, target: (s: Sample) => number, families: number[][]): { scores: number[]; labels: number[] } {
  const scores: number[] = [], labels: number[] = [];
  let all = samples;
  if (condition === 'combatAll') all = fromMatrix(combat(toMatrix(samples), samples.map((s) => s.site)).data, samples);
  for (let f = 0; f < k; f++) {
    let train = all.filter((s) => folds.get(s.subject) !== f);
    let test = all.filter((s) => folds.get(s.subject) === f);
    if (condition === 'locationScale') ({ train, test } = locationScale(train, test));
    if (condition === 'combatTrain' || condition === 'combatFamilies') {
      const all = condition === 'combatTrain' ? [train[0].features.map((_, i) => i)] : families;
      ({ train, test } = combatByFamily(train, test, all));
    }
    const model = logisticRegression(train.map((s) => s.features), train.map(target));
    for (const s of test) {
      scores.push(model(s.features));
      labels.push(target(s));
    }
  }
  return { scores, labels };
}

export interface SiteReport {
  subjects: number;
  excluded: number;
  sites: string[];
  features: string[];
  siteAuroc: Record<Condition, number>;
  biologyAuroc: Record<Condition, number>;
  singleFeature: { name: string; before: number; afterCombat: number; afterCombatFamilies: number };
  families: string[][];
  seconds: number;
}

function evaluate(samples: Sample[], sites: string[], features: string[], single: string, familyOf: (name: string) => string, k = 5): Omit<SiteReport, 'subjects' | 'excluded' | 'seconds'> {
  const familyNames = [...new Set(features.map(familyOf))];
  const families = familyNames.map((f) => features.map((n, i) => (familyOf(n) === f ? i : -1)).filter((i) => i >= 0));
  const subjects = [...new Set(samples.map((s) => s.subject))];
  const labelOf = new Map(samples.map((s) => [s.subject, s.label]));
  const folds = subjectFolds(subjects, labelOf, k, 2024);
  const conditions: Condition[] = ['before', 'combatTrain', 'combatFamilies', 'combatAll', 'locationScale'];
  const siteAuroc = {} as Record<Condition, number>, biologyAuroc = {} as Record<Condition, number>;
  for (const c of conditions) {
    const perSite = sites.map((site) => {
      const r = crossValidated(samples, folds, k, c, (s) => (s.site === site ? 1 : 0), families);
      return auroc(r.scores, r.labels);
    });
    siteAuroc[c] = perSite.reduce((a, b) => a + b, 0) / perSite.length;
    const bio = crossValidated(samples, folds, k, c, (s) => s.label, families);
    biologyAuroc[c] = auroc(bio.scores, bio.labels);
  }
  const j = features.indexOf(single);
  const adjusted = fromMatrix(combat(toMatrix(samples), samples.map((s) => s.site)).data, samples);
  const byFamily = combatByFamily(samples, [], families).train;
  const singleFeature = {
    name: single,
    before: auroc(samples.map((s) => s.features[j]), samples.map((s) => s.label)),
    afterCombat: auroc(adjusted.map((s) => s.features[j]), adjusted.map((s) => s.label)),
    afterCombatFamilies: auroc(byFamily.map((s) => s.features[j]), byFamily.map((s) => s.label)),
  };
  return { sites, features, siteAuroc, biologyAuroc, singleFeature, families: families.map((f) => f.map((i) => features[i])) };
}

const LOG_ECG = new Set(['sdnn', 'rmssd', 'signalRms', 'amplitudeRange']);
const LOG_EEG = /^absPower_|^lineLength$/;
/** Feature families for ComBat by family: those that scale with the device's gain, and the rest. */
const ECG_AMPLITUDE = new Set(['signalRms', 'amplitudeRange']);
const EEG_AMPLITUDE = /^absPower_|^lineLength$/;

/** Harmonizes each subject at every site; a subject that fails at any site is left out everywhere. */
function collect(records: { subject: string; label: number; rec: SignalRecording }[], sites: SiteSpec[], features: (r: SignalRecording) => Record<string, number>, log: (name: string) => boolean): { samples: Sample[]; names: string[]; excluded: number } {
  const samples: Sample[] = [];
  let names: string[] = [];
  let excluded = 0;
  records.forEach(({ subject, label, rec }, i) => {
    const rows: Sample[] = [];
    for (const [k, site] of sites.entries()) {
      let f: Record<string, number>;
      try {
        f = features(simulateSite(rec, site, 1000 * i + k + 1));
      } catch {
        excluded++;
        return;
      }
      if (!names.length) names = Object.keys(f);
      rows.push({ subject, site: site.name, label, features: names.map((n) => (log(n) ? Math.log10(Math.max(f[n], 1e-12)) : f[n])) });
    }
    samples.push(...rows);
  });
  return { samples, names, excluded };
}

export function ecgSiteEffects(dataDir: string, limit = 400): SiteReport {
  const t = performance.now();
  const dir = join(dataDir, 'ecg', 'physionet2017');
  const labels = readPhysionetReference(join(dir, 'REFERENCE-subset.csv'));
  const chosen = [...labels].filter(([, l]) => l === 'A' || l === 'N');
  const af = chosen.filter(([, l]) => l === 'A').slice(0, limit / 2), normal = chosen.filter(([, l]) => l === 'N').slice(0, limit / 2);
  const records = [...af, ...normal].map(([id, l]) => ({ subject: id, label: l === 'A' ? 1 : 0, rec: readMat4Signal(join(dir, 'records', `${id}.mat`)) }));
  const { samples, names, excluded } = collect(records, ECG_SITES, (r) => harmonizeEcg(r).features, (n) => LOG_ECG.has(n));
  const subjects = new Set(samples.map((s) => s.subject)).size;
  return { subjects, excluded, ...evaluate(samples, ECG_SITES.map((s) => s.name), names, 'nRMSSD', (n) => (ECG_AMPLITUDE.has(n) ? 'amplitude' : 'rhythm')), seconds: round((performance.now() - t) / 1000, 1) };
}

/** A control: sites that differ by gain alone (a pure shift of the log amplitude features). */
export const EEG_GAIN_ONLY_SITES: SiteSpec[] = [
  { name: 'A', gain: 1 },
  { name: 'B', gain: 1.3 },
  { name: 'C', gain: 0.8 },
];

export function eegSiteEffects(dataDir: string, limit = 200, sites: SiteSpec[] = EEG_SITES): SiteReport {
  const t = performance.now();
  const set = (s: string, label: number) => {
    const dir = join(dataDir, 'eeg', 'bonn', 'sets', s);
    return readdirSync(dir).sort().slice(0, limit / 2).map((f) => ({ subject: `${s}/${f}`, label, rec: readBonn(join(dir, f)) }));
  };
  const records = [...set('S', 1), ...set('Z', 0)];
  const { samples, names, excluded } = collect(records, sites, (r) => harmonizeEeg(r).features, (n) => LOG_EEG.test(n));
  const subjects = new Set(samples.map((s) => s.subject)).size;
  return { subjects, excluded, ...evaluate(samples, sites.map((s) => s.name), names, 'lineLength', (n) => (EEG_AMPLITUDE.test(n) ? 'amplitude' : 'spectral shape')), seconds: round((performance.now() - t) / 1000, 1) };
}

function rows(kind: string, r: SiteReport, biology: string) {
  const f = (x: number) => x.toFixed(3);
  return [
    { measure: `${kind}: site prediction AUROC (3 simulated sites, one-vs-rest, 5-fold CV grouped by subject)`, value: `before ComBat ${f(r.siteAuroc.before)}; ComBat on all features, fit on training folds ${f(r.siteAuroc.combatTrain)}; ComBat per feature family, fit on training folds ${f(r.siteAuroc.combatFamilies)}; ComBat on all features fit on all samples ${f(r.siteAuroc.combatAll)}; location/scale per feature without empirical Bayes, fit on training folds ${f(r.siteAuroc.locationScale)}`, anchor: 'chance 0.500', ratio: '' },
    { measure: `${kind}: ${biology} AUROC (logistic regression, same CV)`, value: `before ComBat ${f(r.biologyAuroc.before)}; ComBat on all features ${f(r.biologyAuroc.combatTrain)}; per family ${f(r.biologyAuroc.combatFamilies)}; fit on all samples ${f(r.biologyAuroc.combatAll)}; location/scale without EB ${f(r.biologyAuroc.locationScale)}`, anchor: '', ratio: '' },
    { measure: `${kind}: ${biology} AUROC of ${r.singleFeature.name} alone`, value: `before ComBat ${f(r.singleFeature.before)}; after ComBat on all features ${f(r.singleFeature.afterCombat)}; per family ${f(r.singleFeature.afterCombatFamilies)}`, anchor: '', ratio: '' },
  ];
}

async function main(): Promise<void> {
  const dataDir = resolve(process.argv[2] ?? process.env.HARMONIA_DATA ?? '../shared/data');
  const arg = (name: string, fallback: number) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const ecg = ecgSiteEffects(dataDir, arg('--ecg', 400));
  process.stderr.write(`ECG done in ${ecg.seconds} s\n`);
  const eeg = eegSiteEffects(dataDir, arg('--eeg', 200));
  process.stderr.write(`EEG done in ${eeg.seconds} s\n`);
  const control = eegSiteEffects(dataDir, arg('--eeg', 200), EEG_GAIN_ONLY_SITES);
  process.stderr.write(`EEG gain-only control done in ${control.seconds} s\n`);
  const out = {
    title: 'Site effects in harmonized ECG/EEG features before and after ComBat (SIMULATED sites from real records)',
    rows: [
      ...rows('ECG (PhysioNet 2017)', ecg, 'AF vs normal'),
      ...rows('EEG (Bonn)', eeg, 'seizure (S) vs healthy (Z)'),
      ...rows('EEG (Bonn), control: sites differing by gain only', control, 'seizure (S) vs healthy (Z)'),
    ],
    peakRssMiB: peakRssMiB(),
    notes: [
      'The sites are simulated: every real record is replayed through three device models (gain, noise, mains, drift, sampling rate, quantisation; see ECG_SITES and EEG_SITES in bench/site-effects-signals.ts).',
      `ECG: ${ecg.subjects} subjects (PhysioNet 2017 A and N) x 3 sites, ${ecg.excluded} subject-site harmonisations failed (those subjects left out); features ${ecg.features.join(', ')}.`,
      `EEG: ${eeg.subjects} subjects (Bonn S and Z segments) x 3 sites, ${eeg.excluded} failed; features ${eeg.features.join(', ')}. Bonn does not say which segments share a subject, so each segment is a subject.`,
      'Logistic regression: L2 (lambda 1) on features standardised on the training folds; log10 of sdnn, rmssd, signalRms, amplitudeRange (ECG) and of absolute band powers and line length (EEG).',
      `Run time: ECG ${ecg.seconds} s, EEG ${eeg.seconds} s.`,
    ],
    ecg,
    eeg,
    eegGainOnly: control,
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  });
}
