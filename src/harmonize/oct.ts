import { InputError } from '../model/errors.js';
import type { OctVolume } from '../sources/oct.js';
import { type NdArray, type StepProvenance, runStep } from './provenance.js';
import { entropyBits, linearGrid, maskedValues, meanSd, otsuThreshold, percentiles, smoothAxis } from './volume.js';

// OCT harmonisation, layer-independent (no retinal layer segmentation is needed):
//   oct.intensity   linear reflectivity to display scale by a fourth root (Heidelberg's advice for
//                   .vol data); data already on a display scale (8-bit images) pass unchanged
//   oct.normalize   per B-scan: its 1st..99th percentile range mapped to 0..1 and clipped, which
//                   removes per-scan gain and brightness differences; pixels without data become 0
//   oct.resample    linear interpolation across each B-scan to a common A-scan spacing, with a
//                   Gaussian pre-filter when downsampling
// then texture features of the retina-and-choroid pixels (above an Otsu threshold): mean, sd,
// histogram entropy and grey-level co-occurrence (GLCM) contrast, homogeneity, energy and
// correlation on an image quantised to `levels` grey levels.
// B-scans are x (A-scan) fastest, then depth; the harmonized array is C-order [B-scan, depth, A-scan].

export const OCT_STEP_VERSION = '1';

export interface OctConfig {
  version: string;
  /** 'auto': fourth root for linear data (.vol), none for display-scaled data. */
  intensity: 'auto' | 'fourthRoot' | 'none';
  normalize: { lowerPercentile: number; upperPercentile: number };
  resample: { ascanSpacingMm: number; antialias: boolean } | null;
  texture: { levels: number; distance: number };
}

/**
 * Defaults. 0.0115 mm between A-scans is Spectralis' standard 768-A-scan, 30-degree raster (about
 * 8.8 mm wide), the coarsest spacing in common use: high-resolution scans are downsampled to it
 * instead of standard ones being upsampled. 32 grey levels and a 1-pixel offset are the usual
 * GLCM choices for OCT texture.
 */
export const DEFAULT_OCT_CONFIG: OctConfig = {
  version: '1',
  intensity: 'auto',
  normalize: { lowerPercentile: 1, upperPercentile: 99 },
  resample: { ascanSpacingMm: 0.0115, antialias: true },
  texture: { levels: 32, distance: 1 },
};

export interface OctHarmonized {
  features: Record<string, number>;
  /** `bscans`: float32 [B-scans, depth, A-scans], values 0..1. */
  arrays: Record<string, NdArray>;
  provenance: StepProvenance[];
  /** [A-scans, depth, B-scans] and the spacing (mm) of the harmonized volume. */
  dims: [number, number, number];
  spacingMm: [number, number, number];
}

/** x^(1/4) of every value (negative values, which linear reflectivity cannot have, become 0); NaN stays NaN. */
export function fourthRoot(data: Float32Array, _p: object = {}): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    out[i] = v > 0 ? Math.sqrt(Math.sqrt(v)) : v === v ? 0 : NaN;
  }
  return out;
}

/** Each B-scan's [lower, upper] percentiles of its valid (non-NaN) pixels. */
export function bscanRanges(data: Float32Array, dims: number[], lowerPercentile: number, upperPercentile: number): { lower: number[]; upper: number[] } {
  const [nx, nz, nb] = dims;
  const n = nx * nz;
  const lower: number[] = [];
  const upper: number[] = [];
  for (let b = 0; b < nb; b++) {
    const valid = maskedValues(data.subarray(b * n, (b + 1) * n));
    const [lo, hi] = valid.length ? percentiles(valid, [lowerPercentile, upperPercentile]) : [0, 1];
    lower.push(lo);
    upper.push(hi);
  }
  return { lower, upper };
}

/** Per B-scan: (x - lower) / (upper - lower), clipped to 0..1; NaN (no data) becomes 0. */
export function normalizeBscans(data: Float32Array, p: { dims: number[]; lower: number[]; upper: number[] }): Float32Array {
  const [nx, nz, nb] = p.dims;
  const n = nx * nz;
  const out = new Float32Array(data.length);
  for (let b = 0; b < nb; b++) {
    const lo = p.lower[b];
    const range = p.upper[b] - lo;
    const inv = range > 0 ? 1 / range : 0;
    for (let i = b * n; i < (b + 1) * n; i++) {
      const v = (data[i] - lo) * inv;
      out[i] = v === v ? (v < 0 ? 0 : v > 1 ? 1 : v) : 0;
    }
  }
  return out;
}

/** The lateral (A-scan) size after resampling from `spacing` to `target` mm. */
export function resampledWidth(nx: number, spacingMm: number, targetMm: number): number {
  return Math.floor(((nx - 1) * spacingMm) / targetMm + 1e-9) + 1;
}

/** Linear interpolation along x of every row of every B-scan, to `targetMm` between A-scans. */
export function resampleAscans(data: Float32Array, p: { dims: number[]; spacingMm: number; targetMm: number; antialias: boolean }): Float32Array {
  const [nx, nz, nb] = p.dims;
  const scale = p.targetMm / p.spacingMm;
  const nxOut = resampledWidth(nx, p.spacingMm, p.targetMm);
  const src = p.antialias && scale > 1 ? smoothAxis(data, [nx, nz, nb], 0, (scale - 1) / 2) : data;
  const g = linearGrid(nx, nxOut, scale, 0);
  const out = new Float32Array(nxOut * nz * nb);
  for (let row = 0; row < nz * nb; row++) {
    const ib = row * nx;
    const ob = row * nxOut;
    for (let x = 0; x < nxOut; x++) {
      const a = src[ib + g.i0[x]];
      const b = nx > 1 ? src[ib + g.i0[x] + 1] : a;
      out[ob + x] = a + (b - a) * g.w[x];
    }
  }
  return out;
}

/** 1 where the value is above the threshold: retina and choroid, not vitreous or noise. */
export function tissueMask(data: Float32Array, p: { threshold: number }): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] > p.threshold ? 1 : 0;
  return out;
}

/** Grey level (0..levels-1) of a value in 0..1. */
const quantise = (v: number, levels: number): number => Math.min(levels - 1, Math.floor(v * levels));

/**
 * GLCM features pooled over all B-scans for one offset (dx, dz), counting only pairs of tissue
 * pixels; symmetric and normalised (Haralick 1973).
 */
export function glcm(data: Float32Array, mask: Uint8Array, dims: number[], levels: number, dx: number, dz: number): { contrast: number; homogeneity: number; energy: number; correlation: number; pairs: number } {
  const [nx, nz, nb] = dims;
  const m = new Float64Array(levels * levels);
  let pairs = 0;
  for (let b = 0; b < nb; b++) {
    for (let z = 0; z + dz < nz; z++) {
      for (let x = 0; x + dx < nx; x++) {
        const i = x + nx * (z + nz * b);
        const j = i + dx + nx * dz;
        if (!mask[i] || !mask[j]) continue;
        const a = quantise(data[i], levels);
        const c = quantise(data[j], levels);
        m[a * levels + c]++;
        m[c * levels + a]++;
        pairs++;
      }
    }
  }
  const total = 2 * pairs;
  if (total === 0) return { contrast: 0, homogeneity: 0, energy: 0, correlation: 0, pairs };
  let mu = 0;
  for (let a = 0; a < levels; a++) for (let c = 0; c < levels; c++) mu += a * m[a * levels + c];
  mu /= total;
  let variance = 0;
  let contrast = 0;
  let homogeneity = 0;
  let energy = 0;
  let cov = 0;
  for (let a = 0; a < levels; a++) {
    for (let c = 0; c < levels; c++) {
      const p = m[a * levels + c] / total;
      if (p === 0) continue;
      const d = a - c;
      contrast += p * d * d;
      homogeneity += p / (1 + d * d);
      energy += p * p;
      variance += p * (a - mu) * (a - mu);
      cov += p * (a - mu) * (c - mu);
    }
  }
  return { contrast, homogeneity, energy, correlation: variance > 0 ? cov / variance : 0, pairs };
}

/** Harmonizes one OCT volume with `config`. */
export function harmonizeOct(vol: OctVolume, config: OctConfig = DEFAULT_OCT_CONFIG): OctHarmonized {
  const prov: StepProvenance[] = [];
  let data = vol.data;
  let dims: [number, number, number] = [...vol.dims];
  let spacing: [number, number, number] = [...vol.spacingMm];
  if (data.length !== dims[0] * dims[1] * dims[2]) throw new InputError(`${data.length} values for dims ${dims.join('x')}`, vol.file, undefined, 'data');
  const transform = config.intensity === 'auto' ? (vol.intensity === 'linear' ? 'fourthRoot' : 'none') : config.intensity;
  if (transform === 'fourthRoot') {
    const s = runStep('oct.intensity', OCT_STEP_VERSION, data, { transform, from: vol.intensity }, fourthRoot);
    data = s.value;
    prov.push(s.provenance);
  }
  const ranges = bscanRanges(data, dims, config.normalize.lowerPercentile, config.normalize.upperPercentile);
  const n = runStep('oct.normalize', OCT_STEP_VERSION, data, { ...config.normalize, dims, ...ranges }, normalizeBscans);
  data = n.value;
  prov.push(n.provenance);
  if (config.resample) {
    if (!(spacing[0] > 0)) throw new InputError(`A-scan spacing is ${spacing[0]} mm: cannot resample`, vol.file, undefined, 'spacingMm');
    const params = { dims, spacingMm: spacing[0], targetMm: config.resample.ascanSpacingMm, antialias: config.resample.antialias };
    const s = runStep('oct.resample', OCT_STEP_VERSION, data, params, resampleAscans);
    data = s.value;
    prov.push(s.provenance);
    dims = [resampledWidth(dims[0], spacing[0], config.resample.ascanSpacingMm), dims[1], dims[2]];
    spacing = [config.resample.ascanSpacingMm, spacing[1], spacing[2]];
  }
  return {
    features: octFeatures(vol, data, dims, config, prov),
    arrays: { bscans: { data, shape: [dims[2], dims[1], dims[0]] } },
    provenance: prov,
    dims,
    spacingMm: spacing,
  };
}

function octFeatures(vol: OctVolume, data: Float32Array, dims: [number, number, number], c: OctConfig, prov: StepProvenance[]): Record<string, number> {
  const threshold = otsuThreshold(data, 64);
  const m = runStep('oct.tissueMask', OCT_STEP_VERSION, data, { method: 'otsu', bins: 64, threshold }, tissueMask);
  prov.push(m.provenance);
  const mask = m.value;
  const stats = meanSd(data, mask);
  const levels = c.texture.levels;
  const hist = new Float64Array(levels);
  for (let i = 0; i < data.length; i++) if (mask[i]) hist[quantise(data[i], levels)]++;
  const d = c.texture.distance;
  const lateral = glcm(data, mask, dims, levels, d, 0);
  const axial = glcm(data, mask, dims, levels, 0, d);
  const avg = (k: 'contrast' | 'homogeneity' | 'energy' | 'correlation') => (lateral[k] + axial[k]) / 2;
  const f: Record<string, number> = {
    bscanCount: dims[2],
    ascanCount: dims[0],
    depthSamples: dims[1],
    ascanSpacingMm: c.resample ? c.resample.ascanSpacingMm : vol.spacingMm[0],
    invalidFraction: vol.invalidPixels / vol.data.length,
    tissueThreshold: threshold,
    tissueFraction: stats.n / data.length,
    meanIntensity: stats.mean,
    sdIntensity: stats.sd,
    entropyBits: entropyBits(hist),
    glcmContrast: avg('contrast'),
    glcmHomogeneity: avg('homogeneity'),
    glcmEnergy: avg('energy'),
    glcmCorrelation: avg('correlation'),
    glcmContrastLateral: lateral.contrast,
    glcmContrastAxial: axial.contrast,
  };
  const thickness = retinalThicknessUm(vol);
  if (thickness !== undefined) f.retinalThicknessMeanUm = thickness;
  return f;
}

/** Mean ILM-to-BM distance (micrometres) from a .vol's segmentation lines, when it has them. */
export function retinalThicknessUm(vol: OctVolume): number | undefined {
  const seg = vol.segmentation;
  if (!seg || seg.layers < 2) return undefined;
  const [nx, , nb] = vol.dims;
  let sum = 0;
  let n = 0;
  for (let b = 0; b < nb; b++) {
    for (let x = 0; x < nx; x++) {
      const ilm = seg.data[x + nx * seg.layers * b];
      const bm = seg.data[x + nx * (1 + seg.layers * b)];
      if (ilm === ilm && bm === bm && bm > ilm) {
        sum += bm - ilm;
        n++;
      }
    }
  }
  return n ? (sum / n) * vol.spacingMm[1] * 1000 : undefined;
}
