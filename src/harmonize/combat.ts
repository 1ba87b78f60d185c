import { InputError } from '../model/errors.js';
import { leastSquaresProjector, rank } from './linalg.js';
import { runStep, type StepProvenance } from './provenance.js';

// Math and Number functions bound once: a global lookup in a hot loop is slow in some hosts (jest's vm context).
const { abs, exp, floor, log, sqrt, PI } = Math;
const { isFinite: isFiniteNumber, isInteger: isIntegerNumber } = Number;

// ComBat (Johnson, Li & Rabinovic 2007, Biostatistics 8:118) as Bioconductor's sva::ComBat computes
// it, so that results agree with sva to floating-point precision:
//   1. a linear model per feature, y = X B + e, with X = batch indicators + covariates (an intercept
//      in the covariates is dropped: the batch indicators span it);
//   2. standardisation: z = (y - grand mean - covariate effects) / sqrt(pooled variance), the grand
//      mean weighting batch coefficients by batch size and the pooled variance the mean squared
//      residual over all samples (divisor n, as sva);
//   3. per batch, location gamma-hat (least squares on z) and scale delta-hat (sample variance of z in
//      the batch); priors across features: gamma ~ N(gamma-bar, tau^2), delta ~ InvGamma(a, b) by the
//      method of moments;
//   4. empirical Bayes estimates gamma*, delta*: parametric by sva's fixed-point iteration (it.sol,
//      one convergence test over all features of a batch, relative change below 1e-4), or
//      non-parametric by sva's int.eprior (each feature's posterior mean over the other features'
//      estimates weighted by the likelihood of its data under them);
//   5. y* = (z - gamma*) / sqrt(delta*) * sqrt(pooled variance) + grand mean + covariate effects.
// A reference batch (ref.batch) is left unchanged: its indicator becomes the intercept, the grand mean
// is its coefficient, the pooled variance is taken over its samples only, and its gamma*/delta* are
// 0/1. Features whose values are all equal within any batch of two or more samples are returned
// unchanged (sva does the same). A batch of one sample forces the mean-only version (sva does too).

/** A features x samples matrix, row-major (one feature's samples are contiguous). */
export interface Matrix {
  data: Float64Array;
  features: number;
  samples: number;
}

export type CovariateValues = readonly (string | number)[];

/** One covariate to preserve: a value per sample. Strings are categorical unless told otherwise. */
export interface CovariateColumn {
  name: string;
  values: CovariateValues;
  /** true: dummy-coded as R's model.matrix(~as.factor(x)); false: used as a number. */
  categorical?: boolean;
}

/** A covariate model matrix given as is (samples x columns, row-major), without the batch. */
export interface DesignMatrix {
  columns: string[];
  data: Float64Array;
}

/** How a covariate became design columns, kept in the estimates so new samples are coded the same way. */
export type CovariateCoding =
  | { name: string; kind: 'numeric' }
  | { name: string; kind: 'categorical'; levels: string[] }
  | { name: string; kind: 'design' };

export interface CombatOptions {
  /** Covariates to preserve, one entry per covariate with a value per sample (bare arrays are named cov1, cov2, ...). */
  covariates?: readonly (CovariateValues | CovariateColumn)[];
  /** Or the covariate design matrix itself (an all-ones intercept column is dropped, as sva does). */
  design?: DesignMatrix;
  /** Adjust the batch means only (sva mean.only). Default false. */
  meanOnly?: boolean;
  /** Parametric empirical Bayes priors (sva par.prior). Default true. */
  parametric?: boolean;
  /** Shorthand for parametric: false. */
  nonparametric?: boolean;
  /**
   * false: no empirical Bayes shrinkage, each batch's own location and scale estimates are used as
   * they are (neuroCombat's eb=False). For a few correlated features that react differently to a site
   * the pooled priors can make sites easier to tell apart (docs/harmonization.md). Default true.
   */
  empiricalBayes?: boolean;
  /** This batch is left unchanged and the others are moved onto it (sva ref.batch). */
  refBatch?: string | number;
  /** Feature ids, kept in the estimates so that a later apply can match features by id. */
  featureIds?: readonly string[];
  /** Relative change that ends the parametric iteration (sva: 1e-4). */
  convergence?: number;
  /** Safety net for the parametric iteration (sva has none). Default 10,000. */
  maxIterations?: number;
  /** Called now and then during the slow non-parametric search: features done of the total. */
  onProgress?: (done: number, total: number) => void;
}

/** Everything fitted, enough to apply the same correction to new samples of the same batches. */
export interface CombatEstimates {
  format: 'harmonia-combat-estimates';
  version: 1;
  /** 'none': empiricalBayes false. */
  method: 'parametric' | 'nonparametric' | 'none';
  meanOnly: boolean;
  batches: string[];
  batchSizes: number[];
  refBatch: string | null;
  covariates: CovariateCoding[];
  /** Covariate design columns in the order of `covariateCoefficients`. */
  covariateColumns: string[];
  features: number;
  featureIds: string[] | null;
  /** Features left unchanged (constant within a batch, or no residual variance). */
  unadjusted: number[];
  /** Per feature: grand mean, pooled residual variance (sva's var.pooled). */
  grandMean: Float64Array;
  varPooled: Float64Array;
  /** features x covariateColumns. */
  covariateCoefficients: Float64Array;
  /** batches x features. */
  gammaHat: Float64Array;
  deltaHat: Float64Array;
  gammaStar: Float64Array;
  deltaStar: Float64Array;
  /** Per batch: the priors (NaN where unused, e.g. a and b in mean-only runs). */
  gammaBar: number[];
  tau2: number[];
  aPrior: number[];
  bPrior: number[];
  /** Per batch: fixed-point iterations of the parametric search (0 otherwise). */
  iterations: number[];
}

export interface CombatResult {
  data: Float64Array;
  estimates: CombatEstimates;
  /** What sva would print (mean-only forced, features left unchanged, ...). */
  messages: string[];
}

export interface CombatApplyOptions {
  covariates?: readonly (CovariateValues | CovariateColumn)[];
  design?: DesignMatrix;
  /**
   * Apply without covariates although the fit had some (neuroCombatFromTraining does this): new
   * samples are standardised by the grand mean only, so covariate effects stay in the data but are
   * scaled by the batch's delta*. Exact only for mean-only fits.
   */
  ignoreCovariates?: boolean;
  /** Feature ids of the new matrix: rows are matched to the fit by id (the fit must have ids). */
  featureIds?: readonly string[];
}

const DEFAULT_CONVERGENCE = 1e-4;
const DEFAULT_MAX_ITERATIONS = 10_000;

/** ComBat on a features x samples matrix: the adjusted matrix and the fitted estimates. */
export function combat(matrix: Matrix, batch: readonly (string | number)[], options: CombatOptions = {}): CombatResult {
  checkMatrix(matrix, options.featureIds);
  const messages: string[] = [];
  const b = batchLayout(batch, matrix.samples, options.refBatch);
  let meanOnly = options.meanOnly === true;
  if (b.sizes.some((s) => s === 1) && !meanOnly) {
    meanOnly = true;
    messages.push('a batch has only one sample: using the mean-only version of ComBat');
  }
  const parametric = options.nonparametric === true ? false : options.parametric !== false;
  if (options.featureIds && options.featureIds.length !== matrix.features) throw new InputError(`${options.featureIds.length} feature ids for ${matrix.features} features`, undefined, undefined, 'featureIds');

  const cov = covariateDesign(options, matrix.samples);
  const x = fullDesign(b, cov.data, cov.columns.length);
  checkConfounding(x, matrix.samples, b.levels.length, cov.columns.length);

  const kept = keptFeatures(matrix, b, messages);
  const fit = standardise(matrix, kept, b, x, cov.columns.length, messages);
  const eb = empiricalBayes(fit.z, fit.kept.length, b, meanOnly, parametric, options, messages);

  const estimates = assembleEstimates(matrix, b, cov, fit, eb, { meanOnly, parametric, empiricalBayes: options.empiricalBayes, featureIds: options.featureIds });
  const data = adjust(matrix, estimates, b.index, cov.data);
  return { data, estimates, messages };
}

/** Fits ComBat on training samples; `combatApply` then corrects new samples of the same batches. */
export function combatFit(matrix: Matrix, batch: readonly (string | number)[], options: CombatOptions = {}): CombatEstimates {
  return combat(matrix, batch, options).estimates;
}

/**
 * Applies fitted ComBat estimates to new samples from batches seen in the fit: each sample is
 * standardised with the training grand mean, covariate effects and pooled variance, shifted and
 * scaled by its batch's gamma* and delta*, and put back on the training scale. Samples of the
 * reference batch are returned unchanged. Applying a fit to its own training data reproduces
 * `combat`'s output.
 */
export function combatApply(estimates: CombatEstimates, matrix: Matrix, batch: readonly (string | number)[], options: CombatApplyOptions = {}): { data: Float64Array } {
  checkMatrix(matrix, options.featureIds);
  if (batch.length !== matrix.samples) throw new InputError(`${batch.length} batch labels for ${matrix.samples} samples`, undefined, undefined, 'batch');
  const rows = featureRows(estimates, matrix, options.featureIds);
  const levelIndex = new Map(estimates.batches.map((l, i) => [l, i]));
  const index = new Int32Array(matrix.samples);
  batch.forEach((label, s) => {
    const j = levelIndex.get(String(label));
    if (j === undefined) throw new InputError(`batch ${String(label)} was not in the fit (batches ${estimates.batches.join(', ')})`, undefined, `sample ${s + 1}`, 'batch');
    index[s] = j;
  });
  let covData: Float64Array | undefined;
  if (estimates.covariateColumns.length > 0) {
    if (options.covariates || options.design) covData = encodeForApply(estimates, options, matrix.samples);
    else if (!options.ignoreCovariates) throw new InputError(`the fit has covariates (${estimates.covariates.map((c) => c.name).join(', ')}): give their values for the new samples, or set ignoreCovariates`, undefined, undefined, 'covariates');
  }
  const reordered = rows ? reorderRows(matrix, rows) : matrix;
  const out = adjust(reordered, estimates, index, covData);
  return { data: rows ? restoreRows(out, matrix, rows) : out };
}

/** `combat` as a harmonisation step with provenance (`<modality>.combat`). */
export function combatStep(matrix: Matrix, batch: readonly (string | number)[], options: CombatOptions = {}, step = 'expression.combat'): { value: Float64Array; provenance: StepProvenance; estimates: CombatEstimates; messages: string[] } {
  let result: CombatResult | undefined;
  const parameters = {
    features: matrix.features,
    samples: matrix.samples,
    batch: batch.map(String),
    method: options.empiricalBayes === false ? 'none' : options.nonparametric === true || options.parametric === false ? 'nonparametric' : 'parametric',
    meanOnly: options.meanOnly === true,
    refBatch: options.refBatch === undefined ? null : String(options.refBatch),
    covariates: (options.covariates ?? []).map((c, i) => (isColumn(c) ? c.name : `cov${i + 1}`)),
    design: options.design?.columns ?? null,
    convergence: options.convergence ?? DEFAULT_CONVERGENCE,
  };
  const { value, provenance } = runStep(step, '1', matrix.data, parameters, () => {
    result = combat(matrix, batch, options);
    return result.data;
  });
  return { value, provenance, estimates: result!.estimates, messages: result!.messages };
}

// ---------------------------------------------------------------------------------------------
// Batches and design

interface BatchLayout {
  levels: string[];
  index: Int32Array;
  sizes: number[];
  members: Int32Array[];
  ref: number;
}

/** Batch levels sorted as R's factor() sorts them (numerically when every label is a number). */
export function sortLevels(values: Iterable<string>): string[] {
  const levels = [...new Set(values)];
  const numeric = levels.every((l) => l.trim() !== '' && isFiniteNumber(Number(l)));
  return numeric ? levels.sort((a, b) => Number(a) - Number(b)) : levels.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function batchLayout(batch: readonly (string | number)[], samples: number, refBatch: string | number | undefined): BatchLayout {
  if (batch.length !== samples) throw new InputError(`${batch.length} batch labels for ${samples} samples`, undefined, undefined, 'batch');
  const labels = batch.map(String);
  const levels = sortLevels(labels);
  if (levels.length < 2) throw new InputError(`ComBat needs at least two batches; found ${levels.length} (${levels.join(', ')})`, undefined, undefined, 'batch');
  const at = new Map(levels.map((l, i) => [l, i]));
  const index = Int32Array.from(labels, (l) => at.get(l)!);
  const sizes = levels.map(() => 0);
  for (const j of index) sizes[j]++;
  const members = sizes.map((n) => new Int32Array(n));
  const fill = sizes.map(() => 0);
  index.forEach((j, s) => (members[j][fill[j]++] = s));
  let ref = -1;
  if (refBatch !== undefined) {
    ref = at.get(String(refBatch)) ?? -1;
    if (ref < 0) throw new InputError(`reference batch ${String(refBatch)} is not one of the batches (${levels.join(', ')})`, undefined, undefined, 'refBatch');
  }
  return { levels, index, sizes, members, ref };
}

function isColumn(c: CovariateValues | CovariateColumn): c is CovariateColumn {
  return !Array.isArray(c) && typeof c === 'object' && c !== null && 'values' in c;
}

interface CovariateDesign {
  coding: CovariateCoding[];
  columns: string[];
  /** samples x columns */
  data: Float64Array;
}

/** Covariates as model.matrix would code them: numbers as is, categories as indicators of all levels but the first. */
function covariateDesign(options: { covariates?: readonly (CovariateValues | CovariateColumn)[]; design?: DesignMatrix }, samples: number, known?: CovariateCoding[]): CovariateDesign {
  if (options.design) return givenDesign(options.design, samples);
  const coding: CovariateCoding[] = [];
  const columns: string[] = [];
  const cols: Float64Array[] = [];
  (options.covariates ?? []).forEach((c, k) => {
    const col: CovariateColumn = isColumn(c) ? c : { name: `cov${k + 1}`, values: c };
    if (col.values.length !== samples) throw new InputError(`covariate ${col.name} has ${col.values.length} values for ${samples} samples`, undefined, undefined, col.name);
    const prior = known?.find((p) => p.name === col.name);
    const categorical = prior ? prior.kind === 'categorical' : col.categorical ?? col.values.some((v) => typeof v !== 'number');
    if (!categorical) {
      const values = Float64Array.from(col.values, (v, s) => {
        const x = typeof v === 'number' ? v : Number(v);
        if (!isFiniteNumber(x)) throw new InputError(`covariate value ${JSON.stringify(v)} is not a number`, undefined, `sample ${s + 1}`, col.name);
        return x;
      });
      coding.push({ name: col.name, kind: 'numeric' });
      columns.push(col.name);
      cols.push(values);
      return;
    }
    const labels = col.values.map(String);
    const levels = prior?.kind === 'categorical' ? prior.levels : sortLevels(labels);
    const at = new Map(levels.map((l, i) => [l, i]));
    labels.forEach((l, s) => {
      if (!at.has(l)) throw new InputError(`covariate level ${l} was not in the fit (levels ${levels.join(', ')})`, undefined, `sample ${s + 1}`, col.name);
    });
    coding.push({ name: col.name, kind: 'categorical', levels });
    for (let i = 1; i < levels.length; i++) {
      columns.push(`${col.name}=${levels[i]}`);
      cols.push(Float64Array.from(labels, (l) => (l === levels[i] ? 1 : 0)));
    }
  });
  const data = new Float64Array(samples * columns.length);
  cols.forEach((v, c) => v.forEach((x, s) => (data[s * columns.length + c] = x)));
  // An all-ones column is an intercept, which the batch indicators already span: sva drops it.
  return dropIntercepts({ coding, columns, data }, samples);
}

function givenDesign(design: DesignMatrix, samples: number): CovariateDesign {
  const q = design.columns.length;
  if (design.data.length !== samples * q) throw new InputError(`design has ${design.data.length} values for ${samples} samples x ${q} columns`, undefined, undefined, 'design');
  for (let i = 0; i < design.data.length; i++) {
    if (!isFiniteNumber(design.data[i])) throw new InputError('design value is not a finite number', undefined, `sample ${floor(i / q) + 1}`, design.columns[i % q]);
  }
  return dropIntercepts({ coding: design.columns.map((name) => ({ name, kind: 'design' as const })), columns: [...design.columns], data: Float64Array.from(design.data) }, samples);
}

function dropIntercepts(d: CovariateDesign, samples: number): CovariateDesign {
  const q = d.columns.length;
  const keep: number[] = [];
  for (let c = 0; c < q; c++) {
    let ones = true;
    for (let s = 0; s < samples && ones; s++) ones = d.data[s * q + c] === 1;
    if (!ones) keep.push(c);
  }
  if (keep.length === q) return d;
  const data = new Float64Array(samples * keep.length);
  for (let s = 0; s < samples; s++) keep.forEach((c, k) => (data[s * keep.length + k] = d.data[s * q + c]));
  const columns = keep.map((c) => d.columns[c]);
  return { coding: d.coding.filter((c) => c.kind !== 'design' || columns.includes(c.name)), columns, data };
}

/** Batch indicators (the reference batch's column all ones, as sva sets it) followed by the covariates. */
function fullDesign(b: BatchLayout, cov: Float64Array, q: number): Float64Array {
  const nb = b.levels.length;
  const p = nb + q;
  const n = b.index.length;
  const x = new Float64Array(n * p);
  for (let s = 0; s < n; s++) {
    x[s * p + b.index[s]] = 1;
    if (b.ref >= 0) x[s * p + b.ref] = 1;
    for (let c = 0; c < q; c++) x[s * p + nb + c] = cov[s * q + c];
  }
  return x;
}

function checkConfounding(x: Float64Array, n: number, nb: number, q: number): void {
  const p = nb + q;
  if (rank(x, n, p) === p) return;
  if (q === 1) throw new InputError('the covariate is confounded with batch: remove it and rerun ComBat', undefined, undefined, 'covariates');
  const covOnly = new Float64Array(n * q);
  for (let s = 0; s < n; s++) for (let c = 0; c < q; c++) covOnly[s * q + c] = x[s * p + nb + c];
  if (rank(covOnly, n, q) < q) throw new InputError('the covariates are confounded with each other: remove one or more of them', undefined, undefined, 'covariates');
  throw new InputError('at least one covariate is confounded with batch: remove the confounded covariates and rerun ComBat', undefined, undefined, 'covariates');
}

// ---------------------------------------------------------------------------------------------
// Fitting

function checkMatrix(m: Matrix, ids?: readonly string[]): void {
  const data = m.data;
  if (data.length !== m.features * m.samples) throw new InputError(`matrix has ${data.length} values for ${m.features} features x ${m.samples} samples`);
  for (let i = 0; i < data.length; i++) {
    if (!isFiniteNumber(data[i])) {
      throw new InputError(`value ${data[i]} is not finite: ComBat needs complete data (impute or drop the feature first)`, undefined, ids?.[floor(i / m.samples)] ?? `feature ${floor(i / m.samples) + 1}`, `sample ${(i % m.samples) + 1}`);
    }
  }
}

/** Features that ComBat adjusts: not constant within any batch of two or more samples (sva's zero.rows). */
function keptFeatures(m: Matrix, b: BatchLayout, messages: string[]): number[] {
  const data = m.data;
  const kept: number[] = [];
  for (let g = 0; g < m.features; g++) {
    const o = g * m.samples;
    let constant = false;
    for (const members of b.members) {
      if (members.length < 2) continue;
      const first = data[o + members[0]];
      let same = true;
      for (let i = 1; i < members.length && same; i++) same = data[o + members[i]] === first;
      if (same) { constant = true; break; }
    }
    if (!constant) kept.push(g);
  }
  const dropped = m.features - kept.length;
  if (dropped > 0) messages.push(`found ${dropped} features with uniform values within a batch; they are not adjusted`);
  return kept;
}

interface Standardised {
  kept: number[];
  /** kept x samples: standardised data z. */
  z: Float64Array;
  /** kept: the grand mean (without covariate effects). */
  grand: Float64Array;
  varPooled: Float64Array;
  /** kept x q */
  coefficients: Float64Array;
}

function standardise(m: Matrix, kept: number[], b: BatchLayout, x: Float64Array, q: number, messages: string[]): Standardised {
  const y = m.data;
  const n = m.samples;
  const nb = b.levels.length;
  const p = nb + q;
  const proj = leastSquaresProjector(x, n, p);
  const weights = b.ref >= 0 ? null : b.sizes.map((s) => s / n);
  const residualSamples = b.ref >= 0 ? b.members[b.ref] : Int32Array.from({ length: n }, (_, s) => s);
  const nr = residualSamples.length;
  const usable: number[] = [];
  const rows: { grand: number; vp: number; coef: Float64Array }[] = [];
  const beta = new Float64Array(p);
  const fitted = new Float64Array(n);
  for (const g of kept) {
    const o = g * n;
    for (let k = 0; k < p; k++) {
      let s = 0;
      for (let t = 0; t < n; t++) s += proj[k * n + t] * y[o + t];
      beta[k] = s;
    }
    let grand = 0;
    if (weights) for (let j = 0; j < nb; j++) grand += weights[j] * beta[j];
    else grand = beta[b.ref];
    for (let t = 0; t < n; t++) {
      let f = 0;
      for (let k = 0; k < p; k++) f += x[t * p + k] * beta[k];
      fitted[t] = f;
    }
    let ss = 0;
    for (let r = 0; r < nr; r++) {
      const t = residualSamples[r];
      const e = y[o + t] - fitted[t];
      ss += e * e;
    }
    const vp = ss / nr;
    // A perfect fit leaves nothing to scale by: sva would divide by zero; leave the feature as it is.
    if (!(vp > 0)) continue;
    usable.push(g);
    rows.push({ grand, vp, coef: beta.slice(nb) });
  }
  if (usable.length < kept.length) messages.push(`${kept.length - usable.length} features have no residual variance; they are not adjusted`);
  const g2 = usable.length;
  const z = new Float64Array(g2 * n);
  const grand = new Float64Array(g2);
  const varPooled = new Float64Array(g2);
  const coefficients = new Float64Array(g2 * q);
  rows.forEach((r, i) => {
    const o = usable[i] * n;
    varPooled[i] = r.vp;
    grand[i] = r.grand;
    coefficients.set(r.coef, i * q);
    const sd = sqrt(r.vp);
    for (let t = 0; t < n; t++) {
      let mean = r.grand;
      for (let c = 0; c < q; c++) mean += x[t * p + nb + c] * r.coef[c];
      z[i * n + t] = (y[o + t] - mean) / sd;
    }
  });
  return { kept: usable, z, grand, varPooled, coefficients };
}

interface EmpiricalBayes {
  gammaHat: Float64Array[];
  deltaHat: Float64Array[];
  gammaStar: Float64Array[];
  deltaStar: Float64Array[];
  gammaBar: number[];
  tau2: number[];
  aPrior: number[];
  bPrior: number[];
  iterations: number[];
}

function empiricalBayes(z: Float64Array, g: number, b: BatchLayout, meanOnly: boolean, parametric: boolean, options: CombatOptions, messages: string[]): EmpiricalBayes {
  const n = b.index.length;
  const nb = b.levels.length;
  // gamma-hat: least squares of z on the batch design (with sva's all-ones reference column).
  const xb = fullDesign(b, new Float64Array(0), 0);
  const projB = leastSquaresProjector(xb, n, nb);
  const gammaHat = b.levels.map(() => new Float64Array(g));
  const deltaHat = b.levels.map(() => new Float64Array(g));
  // Each batch's standardised data as one contiguous features x batch-samples block.
  const blocks = b.members.map((members) => batchBlock(z, n, g, members));
  for (let i = 0; i < g; i++) {
    const o = i * n;
    for (let j = 0; j < nb; j++) {
      let s = 0;
      for (let t = 0; t < n; t++) s += projB[j * n + t] * z[o + t];
      gammaHat[j][i] = s;
    }
  }
  for (let j = 0; j < nb; j++) {
    if (meanOnly) deltaHat[j].fill(1);
    else rowVariances(blocks[j], g, b.members[j].length, deltaHat[j]);
  }
  const gammaBar = gammaHat.map(mean);
  const tau2 = gammaHat.map(variance);
  const aPrior = deltaHat.map((d) => (meanOnly ? NaN : invGammaShape(d)));
  const bPrior = deltaHat.map((d) => (meanOnly ? NaN : invGammaScale(d)));
  const gammaStar: Float64Array[] = [];
  const deltaStar: Float64Array[] = [];
  const iterations: number[] = [];
  const total = g * nb;
  for (let j = 0; j < nb; j++) {
    if (options.empiricalBayes === false) {
      gammaStar.push(Float64Array.from(gammaHat[j]));
      deltaStar.push(Float64Array.from(deltaHat[j]));
      iterations.push(0);
    } else if (parametric && meanOnly) {
      // sva: postmean(gamma.hat, gamma.bar, 1, 1, t2), i.e. n = 1 and delta = 1 whatever the batch size.
      gammaStar.push(Float64Array.from(gammaHat[j], (gh) => (tau2[j] * gh + gammaBar[j]) / (tau2[j] + 1)));
      deltaStar.push(new Float64Array(g).fill(1));
      iterations.push(0);
    } else if (parametric) {
      const r = iterativeSolution(blocks[j], g, b.members[j].length, gammaHat[j], deltaHat[j], gammaBar[j], tau2[j], aPrior[j], bPrior[j], options.convergence ?? DEFAULT_CONVERGENCE, options.maxIterations ?? DEFAULT_MAX_ITERATIONS);
      if (!r.converged) messages.push(`batch ${b.levels[j]}: the parametric search stopped after ${r.iterations} iterations without converging`);
      gammaStar.push(r.gamma);
      deltaStar.push(r.delta);
      iterations.push(r.iterations);
    } else {
      const r = integratedPrior(blocks[j], g, b.members[j].length, gammaHat[j], deltaHat[j], (done) => options.onProgress?.(j * g + done, total));
      gammaStar.push(r.gamma);
      deltaStar.push(r.delta);
      iterations.push(0);
    }
  }
  if (b.ref >= 0) {
    gammaStar[b.ref].fill(0);
    deltaStar[b.ref].fill(1);
  }
  return { gammaHat, deltaHat, gammaStar, deltaStar, gammaBar, tau2, aPrior, bPrior, iterations };
}

function batchBlock(z: Float64Array, n: number, g: number, members: Int32Array): Float64Array {
  const k = members.length;
  const block = new Float64Array(g * k);
  for (let i = 0; i < g; i++) for (let c = 0; c < k; c++) block[i * k + c] = z[i * n + members[c]];
  return block;
}

/** Sample variance (divisor k - 1, as R's var) of each row of a g x k block. */
function rowVariances(block: Float64Array, g: number, k: number, out: Float64Array): void {
  for (let i = 0; i < g; i++) {
    const o = i * k;
    let s = 0;
    for (let c = 0; c < k; c++) s += block[o + c];
    const m = s / k;
    let ss = 0;
    for (let c = 0; c < k; c++) {
      const d = block[o + c] - m;
      ss += d * d;
    }
    out[i] = ss / (k - 1);
  }
}

function mean(v: Float64Array): number {
  let s = 0;
  for (const x of v) s += x;
  return s / v.length;
}

function variance(v: Float64Array): number {
  const m = mean(v);
  let ss = 0;
  for (const x of v) ss += (x - m) ** 2;
  return ss / (v.length - 1);
}

/** Inverse-gamma prior by the method of moments (sva aprior, bprior). */
function invGammaShape(d: Float64Array): number {
  const m = mean(d);
  const s2 = variance(d);
  return (2 * s2 + m * m) / s2;
}

function invGammaScale(d: Float64Array): number {
  const m = mean(d);
  const s2 = variance(d);
  return (m * s2 + m * m * m) / s2;
}

/**
 * sva's it.sol: alternate the posterior mean of gamma given delta and of delta given gamma until the
 * largest relative change over all features of the batch is at most `conv`. The change is taken as
 * sva takes it, |new - old| / old without abs() on old (negative gammas never hold the loop).
 */
function iterativeSolution(block: Float64Array, g: number, k: number, gHat: Float64Array, dHat: Float64Array, gBar: number, t2: number, a: number, b: number, conv: number, maxIterations: number) {
  let gOld = Float64Array.from(gHat);
  let dOld = Float64Array.from(dHat);
  let gNew = new Float64Array(g);
  let dNew = new Float64Array(g);
  let iterations = 0;
  let change: number;
  do {
    change = -Infinity;
    for (let i = 0; i < g; i++) {
      const gm = (t2 * k * gHat[i] + dOld[i] * gBar) / (t2 * k + dOld[i]);
      let sum2 = 0;
      const o = i * k;
      for (let c = 0; c < k; c++) {
        const d = block[o + c] - gm;
        sum2 += d * d;
      }
      const dv = (0.5 * sum2 + b) / (k / 2 + a - 1);
      gNew[i] = gm;
      dNew[i] = dv;
      const cg = abs(gm - gOld[i]) / gOld[i];
      const cd = abs(dv - dOld[i]) / dOld[i];
      // 0/0 (a gamma of exactly zero that stays zero) would stop R with an error; it is no change.
      if (cg > change) change = cg;
      if (cd > change) change = cd;
    }
    [gOld, gNew] = [gNew, gOld];
    [dOld, dNew] = [dNew, dOld];
    iterations++;
  } while (change > conv && iterations < maxIterations);
  return { gamma: gOld, delta: dOld, iterations, converged: !(change > conv) };
}

/**
 * sva's int.eprior: for each feature, gamma* and delta* are the averages of the other features'
 * gamma-hat and delta-hat weighted by the normal likelihood of this feature's standardised data under
 * each of them. Weights are formed in log space (the same numbers where sva's products do not
 * underflow, finite where they would all underflow); a NaN weight counts as zero, as in sva.
 */
function integratedPrior(block: Float64Array, g: number, k: number, gHat: Float64Array, dHat: Float64Array, progress: (done: number) => void) {
  const logNorm = Float64Array.from(dHat, (d) => -(k / 2) * log(2 * PI * d));
  const half = Float64Array.from(dHat, (d) => 1 / (2 * d));
  const logLh = new Float64Array(g);
  const gamma = new Float64Array(g);
  const delta = new Float64Array(g);
  for (let i = 0; i < g; i++) {
    if ((i & 255) === 0) progress(i);
    const o = i * k;
    let sx = 0;
    let sxx = 0;
    for (let c = 0; c < k; c++) {
      const v = block[o + c];
      sx += v;
      sxx += v * v;
    }
    let top = -Infinity;
    for (let q = 0; q < g; q++) {
      if (q === i) continue;
      const gq = gHat[q];
      // sum over the batch of (x - g)^2, expanded so that each pair costs O(1).
      const sum2 = sxx - 2 * gq * sx + k * gq * gq;
      const l = logNorm[q] - sum2 * half[q];
      logLh[q] = l;
      if (l > top) top = l;
    }
    let w = 0;
    let wg = 0;
    let wd = 0;
    for (let q = 0; q < g; q++) {
      if (q === i) continue;
      const e = exp(logLh[q] - top);
      if (!(e >= 0)) continue;
      w += e;
      wg += e * gHat[q];
      wd += e * dHat[q];
    }
    gamma[i] = wg / w;
    delta[i] = wd / w;
  }
  progress(g);
  return { gamma, delta };
}

// ---------------------------------------------------------------------------------------------
// Estimates and adjustment

function assembleEstimates(m: Matrix, b: BatchLayout, cov: CovariateDesign, fit: Standardised, eb: EmpiricalBayes, o: { meanOnly: boolean; parametric: boolean; empiricalBayes?: boolean; featureIds?: readonly string[] }): CombatEstimates {
  const G = m.features;
  const nb = b.levels.length;
  const q = cov.columns.length;
  const grandMean = new Float64Array(G);
  const varPooled = new Float64Array(G);
  const covariateCoefficients = new Float64Array(G * q);
  const perBatch = (fillValue: number) => new Float64Array(nb * G).fill(fillValue);
  const gammaHat = perBatch(0);
  const deltaHat = perBatch(1);
  const gammaStar = perBatch(0);
  const deltaStar = perBatch(1);
  const adjusted = new Uint8Array(G);
  fit.kept.forEach((g, i) => {
    adjusted[g] = 1;
    grandMean[g] = fit.grand[i];
    varPooled[g] = fit.varPooled[i];
    covariateCoefficients.set(fit.coefficients.subarray(i * q, (i + 1) * q), g * q);
    for (let j = 0; j < nb; j++) {
      gammaHat[j * G + g] = eb.gammaHat[j][i];
      deltaHat[j * G + g] = eb.deltaHat[j][i];
      gammaStar[j * G + g] = eb.gammaStar[j][i];
      deltaStar[j * G + g] = eb.deltaStar[j][i];
    }
  });
  const unadjusted: number[] = [];
  adjusted.forEach((a, g) => a || unadjusted.push(g));
  return {
    format: 'harmonia-combat-estimates',
    version: 1,
    method: o.empiricalBayes === false ? 'none' : o.parametric ? 'parametric' : 'nonparametric',
    meanOnly: o.meanOnly,
    batches: b.levels,
    batchSizes: b.sizes,
    refBatch: b.ref >= 0 ? b.levels[b.ref] : null,
    covariates: cov.coding,
    covariateColumns: cov.columns,
    features: G,
    featureIds: o.featureIds ? [...o.featureIds] : null,
    unadjusted,
    grandMean,
    varPooled,
    covariateCoefficients,
    gammaHat,
    deltaHat,
    gammaStar,
    deltaStar,
    gammaBar: eb.gammaBar,
    tau2: eb.tau2,
    aPrior: eb.aPrior,
    bPrior: eb.bPrior,
    iterations: eb.iterations,
  };
}

/** y* = (z - gamma*) / sqrt(delta*) * sd + mean, z = (y - mean) / sd; the reference batch unchanged. */
function adjust(m: Matrix, e: CombatEstimates, index: Int32Array, cov: Float64Array | undefined): Float64Array {
  const G = m.features;
  const n = m.samples;
  const q = cov ? e.covariateColumns.length : 0;
  const ref = e.refBatch === null ? -1 : e.batches.indexOf(e.refBatch);
  const y = m.data;
  const out = Float64Array.from(y);
  const skip = new Uint8Array(G);
  for (const g of e.unadjusted) skip[g] = 1;
  const covEffect = new Float64Array(n);
  const nb = e.batches.length;
  const shift = new Float64Array(nb);
  const scale = new Float64Array(nb);
  for (let g = 0; g < G; g++) {
    if (skip[g]) continue;
    const o = g * n;
    const sd = sqrt(e.varPooled[g]);
    for (let t = 0; t < n; t++) {
      let c = 0;
      for (let k = 0; k < q; k++) c += cov![t * q + k] * e.covariateCoefficients[g * q + k];
      covEffect[t] = c;
    }
    for (let j = 0; j < nb; j++) {
      shift[j] = e.gammaStar[j * G + g];
      scale[j] = sqrt(e.deltaStar[j * G + g]);
    }
    for (let t = 0; t < n; t++) {
      const j = index[t];
      if (j === ref) continue;
      const mu = e.grandMean[g] + covEffect[t];
      const z = (y[o + t] - mu) / sd;
      out[o + t] = ((z - shift[j]) / scale[j]) * sd + mu;
    }
  }
  return out;
}

function encodeForApply(e: CombatEstimates, options: CombatApplyOptions, samples: number): Float64Array {
  const d = covariateDesign(options, samples, e.covariates);
  const q = e.covariateColumns.length;
  const at = e.covariateColumns.map((c) => d.columns.indexOf(c));
  const missing = e.covariateColumns.filter((_, k) => at[k] < 0);
  if (missing.length) throw new InputError(`the new samples lack covariate columns of the fit: ${missing.join(', ')}`, undefined, undefined, 'covariates');
  const out = new Float64Array(samples * q);
  const w = d.columns.length;
  for (let s = 0; s < samples; s++) at.forEach((c, k) => (out[s * q + k] = d.data[s * w + c]));
  return out;
}

/** Row of the fit for each row of the new matrix, matched by feature id; null when rows correspond as they are. */
function featureRows(e: CombatEstimates, m: Matrix, ids: readonly string[] | undefined): Int32Array | null {
  if (!ids) {
    if (m.features !== e.features) throw new InputError(`the matrix has ${m.features} features, the fit ${e.features}: give feature ids to match them`, undefined, undefined, 'features');
    return null;
  }
  if (ids.length !== m.features) throw new InputError(`${ids.length} feature ids for ${m.features} features`, undefined, undefined, 'featureIds');
  if (!e.featureIds) throw new InputError('the fit has no feature ids to match against', undefined, undefined, 'featureIds');
  const at = new Map(e.featureIds.map((id, i) => [id, i]));
  const seen = new Set<string>();
  const rows = Int32Array.from(ids, (id) => {
    const r = at.get(id);
    if (r === undefined) throw new InputError(`feature ${id} was not in the fit`, undefined, id, 'feature');
    if (seen.has(id)) throw new InputError(`feature ${id} appears twice`, undefined, id, 'feature');
    seen.add(id);
    return r;
  });
  if (rows.length === e.features && rows.every((r, i) => r === i)) return null;
  return rows;
}

/** The new matrix laid out as the fit's rows (rows the new matrix lacks are copied from nothing and dropped after). */
function reorderRows(m: Matrix, rows: Int32Array): Matrix {
  let features = 0;
  for (const r of rows) if (r + 1 > features) features = r + 1;
  const data = new Float64Array(features * m.samples);
  rows.forEach((r, i) => data.set(m.data.subarray(i * m.samples, (i + 1) * m.samples), r * m.samples));
  return { data, features, samples: m.samples };
}

function restoreRows(out: Float64Array, m: Matrix, rows: Int32Array): Float64Array {
  const data = new Float64Array(m.features * m.samples);
  rows.forEach((r, i) => data.set(out.subarray(r * m.samples, (r + 1) * m.samples), i * m.samples));
  return data;
}

// ---------------------------------------------------------------------------------------------
// Saving and loading estimates

const ARRAY_FIELDS = ['grandMean', 'varPooled', 'covariateCoefficients', 'gammaHat', 'deltaHat', 'gammaStar', 'deltaStar'] as const;

/** Estimates as plain JSON (typed arrays as number arrays, NaN as null); numbers round-trip exactly. */
export function estimatesToJson(e: CombatEstimates): Record<string, unknown> {
  const out: Record<string, unknown> = { ...e };
  for (const f of ARRAY_FIELDS) out[f] = Array.from(e[f]);
  for (const f of ['gammaBar', 'tau2', 'aPrior', 'bPrior'] as const) out[f] = e[f].map((x) => (isFiniteNumber(x) ? x : null));
  return out;
}

/** Reads estimates written by `estimatesToJson`, checking that they are complete and consistent. */
export function estimatesFromJson(value: unknown, file?: string): CombatEstimates {
  const v = value as Record<string, unknown>;
  const bad = (field: string, why: string): never => {
    throw new InputError(why, file, 'combat estimates', field);
  };
  if (!v || typeof v !== 'object' || v.format !== 'harmonia-combat-estimates') bad('format', 'not a ComBat estimates file (format must be "harmonia-combat-estimates")');
  if (v.version !== 1) bad('version', `unsupported version ${String(v.version)}`);
  const G = v.features;
  if (!isIntegerNumber(G) || (G as number) < 1) bad('features', 'must be a positive integer');
  const batches = v.batches;
  if (!Array.isArray(batches) || batches.length < 2 || !batches.every((x) => typeof x === 'string')) bad('batches', 'must list at least two batch labels');
  const nb = (batches as string[]).length;
  const cols = v.covariateColumns;
  if (!Array.isArray(cols) || !cols.every((x) => typeof x === 'string')) bad('covariateColumns', 'must be a list of names');
  const expected: Record<(typeof ARRAY_FIELDS)[number], number> = {
    grandMean: G as number, varPooled: G as number, covariateCoefficients: (G as number) * (cols as string[]).length,
    gammaHat: nb * (G as number), deltaHat: nb * (G as number), gammaStar: nb * (G as number), deltaStar: nb * (G as number),
  };
  const arrays = {} as Record<(typeof ARRAY_FIELDS)[number], Float64Array>;
  for (const f of ARRAY_FIELDS) {
    const a = v[f];
    if (!Array.isArray(a) || a.length !== expected[f]) bad(f, `must hold ${expected[f]} numbers`);
    const typed = Float64Array.from(a as unknown[], (x) => (typeof x === 'number' ? x : NaN));
    if (f !== 'gammaHat' && f !== 'deltaHat' && typed.some((x) => !isFiniteNumber(x))) bad(f, 'holds a value that is not a finite number');
    arrays[f] = typed;
  }
  const perBatch = (f: string): number[] => {
    const a = v[f];
    if (!Array.isArray(a) || a.length !== nb) bad(f, `must hold ${nb} values`);
    return (a as unknown[]).map((x) => (typeof x === 'number' ? x : NaN));
  };
  const refBatch = v.refBatch === null || v.refBatch === undefined ? null : String(v.refBatch);
  if (refBatch !== null && !(batches as string[]).includes(refBatch)) bad('refBatch', `${refBatch} is not one of the batches`);
  const ids = v.featureIds;
  if (ids !== null && ids !== undefined && (!Array.isArray(ids) || ids.length !== G)) bad('featureIds', `must list ${String(G)} ids`);
  const unadjusted = v.unadjusted;
  if (!Array.isArray(unadjusted) || !unadjusted.every((x) => isIntegerNumber(x) && x >= 0 && x < (G as number))) bad('unadjusted', 'must list feature indices');
  const covariates = v.covariates;
  if (!Array.isArray(covariates)) bad('covariates', 'must be a list');
  return {
    format: 'harmonia-combat-estimates',
    version: 1,
    method: v.method === 'nonparametric' ? 'nonparametric' : v.method === 'none' ? 'none' : 'parametric',
    meanOnly: v.meanOnly === true,
    batches: batches as string[],
    batchSizes: perBatch('batchSizes'),
    refBatch,
    covariates: covariates as CovariateCoding[],
    covariateColumns: cols as string[],
    features: G as number,
    featureIds: (ids as string[] | null | undefined) ?? null,
    unadjusted: unadjusted as number[],
    ...arrays,
    gammaBar: perBatch('gammaBar'),
    tau2: perBatch('tau2'),
    aPrior: perBatch('aPrior'),
    bPrior: perBatch('bPrior'),
    iterations: perBatch('iterations'),
  };
}
