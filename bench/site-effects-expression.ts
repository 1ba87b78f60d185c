import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { combat, combatApply, combatFit, type CombatOptions, type Matrix } from '../src/harmonize/combat.js';
import { solve, symmetricEigen } from '../src/harmonize/linalg.js';
import { readExpressionMatrix, readSampleTable } from '../src/sources/expression.js';
import { peakRssMiB, round } from './util.js';

// Site (batch) effects in bladderbatch before and after ComBat, and the biological signal kept.
//  - Site prediction: which of the 5 batches an array comes from, one-vs-rest AUROC averaged over the
//    batches, from out-of-fold predictions of grouped, batch-stratified 5-fold cross-validation.
//  - Signal: cancer vs normal (the 40 cancer and 8 normal arrays; the 9 biopsies left out), AUROC
//    from the same cross-validation.
// The classifier is L2-regularised logistic regression (Newton's method, lambda = 1) on the top 10
// principal components, standardised; the PCA and the classifier are fitted on the training folds
// only. Folds are grouped by subject: bladderbatch has one array per subject, so a group is one array.
// Representations: raw; ComBat on all 57 arrays (with and without mod = ~cancer, as sva users run it:
// the correction then sees every array's batch, and with mod also its cancer label); ComBat fitted on
// the training folds only and applied to the held-out fold (combatFit/combatApply; without
// covariates, or with mod = ~cancer on the training folds and applied without covariates, so no
// held-out label is used). Cross-validation is repeated with 10 fold assignments; mean and SD shown.

const PCS = 10;
const FOLDS = 5;
const REPEATS = 5;
const LAMBDA = 1;

function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

/** Grouped, stratified folds: groups (subjects) dealt round-robin within each stratum after a seeded shuffle. */
export function groupedFolds(groups: string[], strata: string[], k: number, seed: number): number[] {
  const r = rng(seed);
  const groupStratum = new Map<string, string>();
  groups.forEach((g, i) => groupStratum.set(g, strata[i]));
  const byStratum = new Map<string, string[]>();
  for (const [g, s] of groupStratum) byStratum.set(s, [...(byStratum.get(s) ?? []), g]);
  const foldOf = new Map<string, number>();
  let offset = 0;
  for (const s of [...byStratum.keys()].sort()) {
    const gs = byStratum.get(s)!.sort();
    for (let i = gs.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [gs[i], gs[j]] = [gs[j], gs[i]];
    }
    gs.forEach((g, i) => foldOf.set(g, (offset + i) % k));
    offset += gs.length;
  }
  return groups.map((g) => foldOf.get(g)!);
}

/** AUROC by the Mann-Whitney statistic, ties counted half. */
export function auroc(scores: number[], positive: boolean[]): number {
  const idx = scores.map((_, i) => i).sort((a, b) => scores[a] - scores[b]);
  const ranks = new Array<number>(scores.length);
  for (let i = 0; i < idx.length; ) {
    let j = i + 1;
    while (j < idx.length && scores[idx[j]] === scores[idx[i]]) j++;
    for (let k = i; k < j; k++) ranks[idx[k]] = (i + j + 1) / 2;
    i = j;
  }
  let sum = 0;
  let np = 0;
  positive.forEach((p, i) => {
    if (p) { sum += ranks[i]; np++; }
  });
  const nn = positive.length - np;
  return (sum - (np * (np + 1)) / 2) / (np * nn);
}

/** Columns `idx` of a features x samples matrix. */
function columns(m: Matrix, idx: number[]): Matrix {
  const out = new Float64Array(m.features * idx.length);
  for (let g = 0; g < m.features; g++) for (let k = 0; k < idx.length; k++) out[g * idx.length + k] = m.data[g * m.samples + idx[k]];
  return { data: out, features: m.features, samples: idx.length };
}

/** Top principal-component scores of training and test samples, from the training samples' Gram matrix. */
function pcaScores(train: Matrix, test: Matrix, k: number): { train: number[][]; test: number[][] } {
  const G = train.features;
  const n = train.samples;
  const t = test.samples;
  const center = new Float64Array(G);
  for (let g = 0; g < G; g++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += train.data[g * n + j];
    center[g] = s / n;
  }
  const gram = new Float64Array(n * n);
  const cross = new Float64Array(t * n);
  const a = new Float64Array(n);
  const b = new Float64Array(t);
  for (let g = 0; g < G; g++) {
    for (let j = 0; j < n; j++) a[j] = train.data[g * n + j] - center[g];
    for (let j = 0; j < t; j++) b[j] = test.data[g * t + j] - center[g];
    for (let i = 0; i < n; i++) {
      const ai = a[i];
      for (let j = i; j < n; j++) gram[i * n + j] += ai * a[j];
      for (let j = 0; j < t; j++) cross[j * n + i] += b[j] * ai;
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) gram[i * n + j] = gram[j * n + i];
  const { values, vectors } = symmetricEigen(gram, n);
  const kk = Math.min(k, n - 1);
  const trainScores = Array.from({ length: n }, (_, i) => Array.from({ length: kk }, (_, c) => vectors[i * n + c] * Math.sqrt(Math.max(values[c], 0))));
  const testScores = Array.from({ length: t }, (_, j) => Array.from({ length: kk }, (_, c) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += cross[j * n + i] * vectors[i * n + c];
    return s / Math.sqrt(Math.max(values[c], 1e-300));
  }));
  return { train: trainScores, test: testScores };
}

/** L2-regularised logistic regression by Newton's method on standardised features; returns a scorer. */
function logistic(x: number[][], y: boolean[], lambda: number): (v: number[]) => number {
  const p = x[0].length;
  const mu = Array.from({ length: p }, (_, c) => x.reduce((s, r) => s + r[c], 0) / x.length);
  const sd = Array.from({ length: p }, (_, c) => Math.sqrt(x.reduce((s, r) => s + (r[c] - mu[c]) ** 2, 0) / x.length) || 1);
  const z = x.map((r) => [1, ...r.map((v, c) => (v - mu[c]) / sd[c])]);
  const w = new Float64Array(p + 1);
  for (let iter = 0; iter < 50; iter++) {
    const h = new Float64Array((p + 1) * (p + 1));
    const grad = new Float64Array(p + 1);
    z.forEach((r, i) => {
      const eta = r.reduce((s, v, c) => s + v * w[c], 0);
      const prob = 1 / (1 + Math.exp(-eta));
      const q = prob * (1 - prob);
      for (let a = 0; a <= p; a++) {
        grad[a] += (prob - (y[i] ? 1 : 0)) * r[a];
        for (let b = 0; b <= p; b++) h[a * (p + 1) + b] += q * r[a] * r[b];
      }
    });
    for (let a = 1; a <= p; a++) { grad[a] += lambda * w[a]; h[a * (p + 1) + a] += lambda; }
    h[0] += 1e-9;
    const step = solve(h, p + 1, grad, 1);
    let change = 0;
    for (let a = 0; a <= p; a++) { w[a] -= step[a]; change = Math.max(change, Math.abs(step[a])); }
    if (change < 1e-10) break;
  }
  return (v) => v.reduce((s, x0, c) => s + ((x0 - mu[c]) / sd[c]) * w[c + 1], w[0]);
}

type Representation = (train: number[], test: number[]) => { train: Matrix; test: Matrix };

interface Task {
  samples: number[];
  classes: string[];
  label: (s: number) => string;
}

/** Out-of-fold scores for each class (one-vs-rest), then AUROC per class averaged. */
function crossValidatedAuroc(task: Task, represent: Representation, folds: number[]): number {
  const scores = task.classes.map(() => new Array<number>(task.samples.length).fill(NaN));
  for (let f = 0; f < FOLDS; f++) {
    const trainPos = task.samples.map((_, i) => i).filter((i) => folds[i] !== f);
    const testPos = task.samples.map((_, i) => i).filter((i) => folds[i] === f);
    if (!testPos.length) continue;
    const r = represent(trainPos.map((i) => task.samples[i]), testPos.map((i) => task.samples[i]));
    const pcs = pcaScores(r.train, r.test, PCS);
    const classes = task.classes.length === 2 ? [task.classes[1]] : task.classes;
    classes.forEach((c) => {
      const model = logistic(pcs.train, trainPos.map((i) => task.label(task.samples[i]) === c), LAMBDA);
      testPos.forEach((i, k) => (scores[task.classes.indexOf(c)][i] = model(pcs.test[k])));
    });
  }
  const used = task.classes.length === 2 ? [task.classes[1]] : task.classes;
  const aucs = used.map((c) => auroc(scores[task.classes.indexOf(c)], task.samples.map((s) => task.label(s) === c)));
  return aucs.reduce((a, b) => a + b, 0) / aucs.length;
}

export function benchSiteEffects(dataDir: string, log: (s: string) => void = () => {}) {
  const dir = join(dataDir, 'expression', 'bladderbatch');
  const m = readExpressionMatrix(join(dir, 'expression.tsv.gz'));
  const table = readSampleTable(join(dir, 'samples.tsv'));
  const col = (name: string) => m.sampleIds.map((id) => table.rows.get(id)![table.columns.indexOf(name)]);
  const batch = col('batch');
  const cancer = col('cancer');
  const all = m.sampleIds.map((_, s) => s);
  const mod = (idx: number[]): CombatOptions => ({ covariates: [{ name: 'cancer', values: idx.map((s) => cancer[s]) }] });

  const fixed = (data: Float64Array): Representation => {
    const full: Matrix = { data, features: m.features, samples: m.samples };
    return (train, test) => ({ train: columns(full, train), test: columns(full, test) });
  };
  // Fitted on the training folds; held-out arrays corrected with their cancer label (exact ComBat) or
  // without it (neuroCombatFromTraining style: grand mean only, the label never seen).
  const inFold = (withMod: boolean, testLabels: boolean): Representation => (train, test) => {
    const fit = combatFit(columns(m, train), train.map((s) => batch[s]), withMod ? mod(train) : {});
    return {
      train: { ...columns(m, train), data: combatApply(fit, columns(m, train), train.map((s) => batch[s]), withMod ? mod(train) : {}).data },
      test: { ...columns(m, test), data: combatApply(fit, columns(m, test), test.map((s) => batch[s]), withMod && testLabels ? mod(test) : { ignoreCovariates: true }).data },
    };
  };
  // [name, representation, usable for cancer vs normal (false where it would use the held-out label)]
  const representations: [string, Representation, boolean][] = [
    ['raw (log2 RMA)', fixed(m.data), true],
    ['ComBat on all 57 arrays, mod = ~cancer', fixed(combat(m, batch, mod(all)).data), true],
    ['ComBat on all 57 arrays, no covariates', fixed(combat(m, batch).data), true],
    ['ComBat fitted on the training folds, no covariates', inFold(false, false), true],
    ['ComBat fitted on the training folds, mod = ~cancer, held-out arrays corrected with their label', inFold(true, true), false],
    ['ComBat fitted on the training folds, mod = ~cancer, held-out arrays corrected without their label', inFold(true, false), true],
  ];
  const site: Task = { samples: all, classes: ['1', '2', '3', '4', '5'], label: (s) => batch[s] };
  // Batch and outcome are confounded (batch 4 holds only biopsies, 3 only normals, 1 only cancers), so
  // preserved biology alone predicts some batches. Among the cancer arrays (batches 1, 2 and 5) the
  // biology is the same, and what predicts the batch is the batch effect.
  const cancers = all.filter((s) => cancer[s] === 'Cancer');
  const siteCancer: Task = { samples: cancers, classes: ['1', '2', '5'], label: (s) => batch[s] };
  const tumour = all.filter((s) => cancer[s] !== 'Biopsy');
  const signal: Task = { samples: tumour, classes: ['Normal', 'Cancer'], label: (s) => cancer[s] };

  const rows: { measure: string; value: string; anchor: string; ratio: string }[] = [];
  const results: Record<string, { site: number[]; siteCancer: number[]; signal: number[] }> = {};
  for (const [name, represent, forSignal] of representations) {
    const siteAuc: number[] = [];
    const signalAuc: number[] = [];
    const siteCancerAuc: number[] = [];
    for (let rep = 0; rep < REPEATS; rep++) {
      siteAuc.push(crossValidatedAuroc(site, represent, groupedFolds(m.sampleIds, site.samples.map((s) => batch[s]), FOLDS, 1000 + rep)));
      siteCancerAuc.push(crossValidatedAuroc(siteCancer, represent, groupedFolds(cancers.map((s) => m.sampleIds[s]), cancers.map((s) => batch[s]), FOLDS, 3000 + rep)));
      const ids = tumour.map((s) => m.sampleIds[s]);
      if (forSignal) signalAuc.push(crossValidatedAuroc(signal, represent, groupedFolds(ids, tumour.map((s) => `${cancer[s]}/${batch[s]}`), FOLDS, 2000 + rep)));
    }
    results[name] = { site: siteAuc, siteCancer: siteCancerAuc, signal: signalAuc };
    log(`${name}: site ${summary(siteAuc)}, site among cancers ${summary(siteCancerAuc)}, cancer vs normal ${summary(signalAuc)}\n`);
  }
  const raw = results['raw (log2 RMA)'];
  for (const [name] of representations) {
    rows.push({ measure: `site AUROC (5 batches, one-vs-rest mean): ${name}`, value: summary(results[name].site), anchor: name.startsWith('raw') ? '' : `raw ${summary(raw.site)}`, ratio: '' });
  }
  for (const [name] of representations) {
    rows.push({ measure: `site AUROC among the 40 cancer arrays (batches 1, 2, 5): ${name}`, value: summary(results[name].siteCancer), anchor: name.startsWith('raw') ? '' : `raw ${summary(raw.siteCancer)}`, ratio: '' });
  }
  for (const [name, , forSignal] of representations) {
    if (!forSignal) continue;
    rows.push({ measure: `cancer vs normal AUROC: ${name}`, value: summary(results[name].signal), anchor: name.startsWith('raw') ? '' : `raw ${summary(raw.signal)}`, ratio: '' });
  }
  const notes = [
    `Cross-validation: ${FOLDS} folds grouped by subject (one array per subject in bladderbatch, so a group is an array) and stratified (by batch for site prediction, by cancer status and batch for the signal), repeated ${REPEATS} times; AUROC from the pooled out-of-fold scores; mean ± SD over the repeats.`,
    `Classifier: L2-regularised logistic regression (lambda ${LAMBDA}) on the top ${PCS} principal components of all 22,283 probes, PCA and model fitted on the training folds only; site prediction is one-vs-rest over the 5 batches, AUROC averaged.`,
    'Cancer vs normal uses the 40 cancer and 8 normal arrays (biopsies left out). Batch and outcome are confounded in bladderbatch (batch 1 holds only cancers, batch 3 only normals, batch 4 only biopsies), so removing batch effects also removes some of the outcome signal, and ComBat with mod = ~cancer on all arrays uses every array\'s label: its signal AUROC is optimistic.',
  ];
  return { title: 'Expression site effects: bladderbatch before and after ComBat', rows, results, peakRssMiB: peakRssMiB(), notes };
}

function summary(v: number[]): string {
  if (!v.length) return 'n/a';
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, v.length - 1));
  return `${round(mean, 3).toFixed(3)} ± ${round(sd, 3).toFixed(3)}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const dir = resolve(process.argv[2] ?? process.env.HARMONIA_DATA ?? '../shared/data');
  try {
    process.stdout.write(JSON.stringify(benchSiteEffects(dir, (s) => process.stderr.write(s)), null, 2) + '\n');
  } catch (e) {
    process.stderr.write(`bench/site-effects-expression: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
