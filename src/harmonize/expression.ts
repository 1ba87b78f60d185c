import { InputError } from '../model/errors.js';
import { valueSummary, type ExpressionMatrix, type ValueScale } from '../sources/expression.js';
import { runStep, type NdArray, type StepProvenance } from './provenance.js';

// Math and Number functions bound once: a global lookup in a hot loop is slow in some hosts (jest's vm context).
const { floor, log2, min } = Math;
const { isNaN: isNaNumber } = Number;

// Expression harmonisation: every step a pure function of (matrix, parameters), run with provenance.
//   expression.drop_missing     features with a missing value are dropped (ComBat and log-CPM need complete rows)
//   expression.filter_low       counts: edgeR's filterByExpr rule; intensities: an optional log2 threshold
//   expression.log_cpm          counts: edgeR's cpm(log = TRUE, prior.count = 2)
//   expression.log2             intensities: log2(x + offset), skipped (with a warning) when already logged
//   expression.quantile_normalize  optional: limma's normalizeQuantiles (ties get the mean of their ranks)
// ComBat across batches is `combat` in ./combat.ts: it needs the batches of many records at once.

export interface ExpressionConfig {
  /** Step set version: bumped when a default changes. */
  version: string;
  /** 'auto': from the values (GEO2R's rule, see detectScale); or say what the values are. */
  scale: 'auto' | ValueScale;
  /** 'drop-feature': drop features with a missing value (counted); 'error': refuse them. */
  missing: 'drop-feature' | 'error';
  logCpm: { priorCount: number };
  log2: { offset: number };
  filter: {
    enabled: boolean;
    /** Counts (edgeR filterByExpr): a count of minCount in a median-sized library, as CPM. */
    minCount: number;
    minTotalCount: number;
    largeN: number;
    minProp: number;
    /** Intensities and logged data: keep features at or above this log2 value in enough samples; null: no filter. */
    minLog2: number | null;
  };
  quantileNormalize: boolean;
}

export const DEFAULT_EXPRESSION_CONFIG: ExpressionConfig = {
  version: '1',
  scale: 'auto',
  missing: 'drop-feature',
  logCpm: { priorCount: 2 },
  log2: { offset: 1 },
  filter: { enabled: true, minCount: 10, minTotalCount: 15, largeN: 10, minProp: 0.7, minLog2: null },
  quantileNormalize: false,
};

export interface ExpressionHarmonized {
  features: Record<string, number>;
  /** `expression`: the harmonized log2 matrix, [features, samples]. */
  arrays: Record<string, NdArray>;
  provenance: StepProvenance[];
  featureIds: string[];
  sampleIds: string[];
  /** The scale the input was taken to be. */
  scale: ValueScale;
  warnings: string[];
}

/** A features x samples block of values (row-major). */
interface Block {
  data: Float64Array;
  features: number;
  samples: number;
}

/**
 * Harmonizes one expression matrix with the configured steps. `groups` (a label per sample, e.g.
 * the condition) sizes the counts filter as filterByExpr's `group` does; without it all samples are
 * one group.
 */
export function harmonizeExpression(matrix: ExpressionMatrix, config: Partial<ExpressionConfig> = {}, context: { groups?: readonly string[] } = {}): ExpressionHarmonized {
  const c = mergeConfig(config);
  const provenance: StepProvenance[] = [];
  const warnings: string[] = [];
  let block: Block = { data: matrix.data, features: matrix.features, samples: matrix.samples };
  let ids = matrix.featureIds;
  const featuresRead = matrix.features;

  const missingRows = rowsWithMissing(block);
  if (missingRows.length > 0) {
    if (c.missing === 'error') {
      const f = missingRows[0];
      const s = firstMissing(block, f);
      throw new InputError('missing value (set missing: drop-feature to drop such features)', matrix.file, ids[f], matrix.sampleIds[s]);
    }
    const keep = new Uint8Array(block.features).fill(1);
    for (const f of missingRows) keep[f] = 0;
    ({ block, ids } = select(block, ids, keep, 'expression.drop_missing', { dropped: missingRows.length }, provenance));
  }

  const detected = valueSummary(block.data).scale;
  const scale = c.scale === 'auto' ? detected : c.scale;
  if (c.filter.enabled && scale === 'counts') {
    const keep = filterByExpr(block, c.filter, context.groups);
    ({ block, ids } = select(block, ids, keep, 'expression.filter_low', { rule: 'edgeR filterByExpr', ...pick(c.filter, ['minCount', 'minTotalCount', 'largeN', 'minProp']), groups: context.groups ? [...context.groups] : null }, provenance));
  }

  if (scale === 'counts') {
    checkCounts(block, ids, matrix);
    const r = runStep('expression.log_cpm', '1', block.data, { priorCount: c.logCpm.priorCount, samples: block.samples }, (x, p) => logCpm(x, block.features, p.samples, p.priorCount));
    block = { ...block, data: r.value };
    provenance.push(r.provenance);
  } else if (scale === 'intensity') {
    if (detected === 'log') {
      warnings.push('the values look log-transformed already (GEO2R rule: 99th percentile at most 100, narrow range): log2 skipped');
    } else {
      checkPositive(block, ids, matrix, c.log2.offset);
      const r = runStep('expression.log2', '1', block.data, { offset: c.log2.offset }, (x, p) => log2Offset(x, p.offset));
      block = { ...block, data: r.value };
      provenance.push(r.provenance);
    }
  }

  if (c.filter.enabled && scale !== 'counts' && c.filter.minLog2 !== null) {
    const minSamples = minSampleSize(block.samples, c.filter, context.groups);
    const keep = thresholdMask(block, c.filter.minLog2, minSamples);
    ({ block, ids } = select(block, ids, keep, 'expression.filter_low', { rule: 'log2 threshold', minLog2: c.filter.minLog2, minSamples }, provenance));
  }

  if (c.quantileNormalize) {
    const r = runStep('expression.quantile_normalize', '1', block.data, { ties: 'average rank, linear interpolation (limma)', samples: block.samples }, (x, p) => quantileNormalize(x, x.length / p.samples, p.samples));
    block = { ...block, data: r.value };
    provenance.push(r.provenance);
  }

  const summary = valueSummary(block.data);
  return {
    features: {
      featuresRead,
      featuresKept: block.features,
      featuresDroppedMissing: missingRows.length,
      samples: block.samples,
      medianLog2: summary.valueMedian,
      p25Log2: summary.valueP25,
      p99Log2: summary.valueP99,
    },
    arrays: { expression: { data: block.data, shape: [block.features, block.samples] } },
    provenance,
    featureIds: ids,
    sampleIds: matrix.sampleIds,
    scale,
    warnings,
  };
}

function mergeConfig(c: Partial<ExpressionConfig>): ExpressionConfig {
  const d = DEFAULT_EXPRESSION_CONFIG;
  return { ...d, ...c, logCpm: { ...d.logCpm, ...c.logCpm }, log2: { ...d.log2, ...c.log2 }, filter: { ...d.filter, ...c.filter } };
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;
}

function select(block: Block, ids: string[], keep: Uint8Array, step: string, parameters: Record<string, unknown>, provenance: StepProvenance[]): { block: Block; ids: string[] } {
  const kept = keep.reduce((a, k) => a + k, 0);
  const r = runStep(step, '1', block.data, { ...parameters, featuresIn: block.features, featuresKept: kept }, (x) => selectRows(x, block.samples, keep));
  provenance.push(r.provenance);
  return { block: { data: r.value, features: kept, samples: block.samples }, ids: ids.filter((_, f) => keep[f]) };
}

/** The rows of a row-major matrix whose mask entry is 1. */
export function selectRows(data: Float64Array, samples: number, keep: Uint8Array): Float64Array {
  let kept = 0;
  for (const k of keep) kept += k;
  const out = new Float64Array(kept * samples);
  let o = 0;
  keep.forEach((k, f) => {
    if (!k) return;
    out.set(data.subarray(f * samples, (f + 1) * samples), o);
    o += samples;
  });
  return out;
}

function rowsWithMissing(b: Block): number[] {
  const rows: number[] = [];
  for (let f = 0; f < b.features; f++) {
    for (let s = 0; s < b.samples; s++) {
      if (isNaNumber(b.data[f * b.samples + s])) { rows.push(f); break; }
    }
  }
  return rows;
}

function firstMissing(b: Block, f: number): number {
  for (let s = 0; s < b.samples; s++) if (isNaNumber(b.data[f * b.samples + s])) return s;
  return 0;
}

function checkCounts(b: Block, ids: string[], m: ExpressionMatrix): void {
  for (let i = 0; i < b.data.length; i++) {
    const v = b.data[i];
    if (v < 0 || v !== floor(v)) {
      throw new InputError(`value ${v} is not a count (non-negative integer): set scale to intensity or log`, m.file, ids[floor(i / b.samples)], m.sampleIds[i % b.samples]);
    }
  }
}

function checkPositive(b: Block, ids: string[], m: ExpressionMatrix, offset: number): void {
  for (let i = 0; i < b.data.length; i++) {
    if (!(b.data[i] + offset > 0)) {
      throw new InputError(`value ${b.data[i]} + offset ${offset} is not positive: its log2 is undefined`, m.file, ids[floor(i / b.samples)], m.sampleIds[i % b.samples]);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The steps (pure functions on row-major features x samples arrays)

/** Library sizes: the column sums of a counts matrix. */
export function librarySizes(data: Float64Array, features: number, samples: number): Float64Array {
  const lib = new Float64Array(samples);
  for (let f = 0; f < features; f++) for (let s = 0; s < samples; s++) lib[s] += data[f * samples + s];
  return lib;
}

/**
 * log2 counts per million as edgeR's cpm(y, log = TRUE, prior.count) computes them: the prior count
 * is scaled by each library's size relative to the mean library size, added to every count, and
 * twice that is added to the library size, so zero counts get a finite value and small libraries
 * are not over-dispersed: log2((y + p_s) / (L_s + 2 p_s) * 1e6), p_s = prior * L_s / mean(L).
 */
export function logCpm(data: Float64Array, features: number, samples: number, priorCount = 2): Float64Array {
  const lib = librarySizes(data, features, samples);
  let meanLib = 0;
  for (const l of lib) meanLib += l / samples;
  if (!(meanLib > 0)) throw new InputError('every library is empty: log-CPM is undefined', undefined, undefined, 'counts');
  const prior = Float64Array.from(lib, (l) => (l / meanLib) * priorCount);
  const denom = Float64Array.from(lib, (l, s) => (l + 2 * prior[s]) * 1e-6);
  const out = new Float64Array(data.length);
  for (let f = 0; f < features; f++) {
    for (let s = 0; s < samples; s++) out[f * samples + s] = log2((data[f * samples + s] + prior[s]) / denom[s]);
  }
  return out;
}

/** log2(x + offset) (offset 0: plain log2). */
export function log2Offset(data: Float64Array, offset = 1): Float64Array {
  return Float64Array.from(data, (x) => log2(x + offset));
}

/** filterByExpr's minimum number of samples: the smallest group, moderated above largeN. */
export function minSampleSize(samples: number, f: { largeN: number; minProp: number }, groups?: readonly string[]): number {
  let n = samples;
  if (groups) {
    const sizes = new Map<string, number>();
    for (const g of groups) sizes.set(g, (sizes.get(g) ?? 0) + 1);
    n = min(...sizes.values());
  }
  return n > f.largeN ? f.largeN + (n - f.largeN) * f.minProp : n;
}

/**
 * edgeR's filterByExpr: keep a feature when its CPM reaches minCount / median(library size) * 1e6
 * in at least the minimum sample size (see minSampleSize) and its total count reaches minTotalCount.
 */
export function filterByExpr(b: Block, f: { minCount: number; minTotalCount: number; largeN: number; minProp: number }, groups?: readonly string[]): Uint8Array {
  const lib = librarySizes(b.data, b.features, b.samples);
  const sorted = Float64Array.from(lib).sort();
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  const cutoff = (f.minCount / median) * 1e6;
  const need = minSampleSize(b.samples, f, groups) - 1e-14;
  const keep = new Uint8Array(b.features);
  for (let g = 0; g < b.features; g++) {
    let above = 0;
    let total = 0;
    for (let s = 0; s < b.samples; s++) {
      const y = b.data[g * b.samples + s];
      total += y;
      if ((y / lib[s]) * 1e6 >= cutoff) above++;
    }
    keep[g] = above >= need && total >= f.minTotalCount - 1e-14 ? 1 : 0;
  }
  return keep;
}

/** Keep features with a value at or above `threshold` in at least `minSamples` samples. */
export function thresholdMask(b: Block, threshold: number, minSamples: number): Uint8Array {
  const keep = new Uint8Array(b.features);
  for (let g = 0; g < b.features; g++) {
    let above = 0;
    for (let s = 0; s < b.samples; s++) if (b.data[g * b.samples + s] >= threshold) above++;
    keep[g] = above >= minSamples - 1e-14 ? 1 : 0;
  }
  return keep;
}

/**
 * Quantile normalisation as limma's normalizeQuantiles (ties = TRUE): every sample gets the same
 * distribution, the mean of the sorted samples; tied values get their average rank, and a value at
 * a fractional rank is interpolated linearly between the two neighbouring means.
 */
export function quantileNormalize(data: Float64Array, features: number, samples: number): Float64Array {
  const G = features;
  const mean = new Float64Array(G);
  const column = new Float64Array(G);
  for (let s = 0; s < samples; s++) {
    for (let g = 0; g < G; g++) column[g] = data[g * samples + s];
    const sorted = Float64Array.from(column).sort();
    for (let g = 0; g < G; g++) mean[g] += sorted[g];
  }
  for (let g = 0; g < G; g++) mean[g] /= samples;
  const out = new Float64Array(data.length);
  const order = new Int32Array(G);
  for (let s = 0; s < samples; s++) {
    for (let g = 0; g < G; g++) { column[g] = data[g * samples + s]; order[g] = g; }
    order.sort((a, b) => column[a] - column[b]);
    for (let i = 0; i < G; ) {
      let j = i + 1;
      while (j < G && column[order[j]] === column[order[i]]) j++;
      // Ranks i..j-1 (0-based) tie: their average rank is (i + j - 1) / 2.
      const pos = (i + j - 1) / 2;
      const lo = floor(pos);
      const value = lo === pos ? mean[lo] : mean[lo] + (pos - lo) * (mean[lo + 1] - mean[lo]);
      for (let k = i; k < j; k++) out[order[k] * samples + s] = value;
      i = j;
    }
  }
  return out;
}
