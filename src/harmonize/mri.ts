import { InputError } from '../model/errors.js';
import { type ImageVolume, axisCodes, axisOrientation, readNifti, voxelSizes } from '../sources/nifti.js';
import { type NdArray, type StepProvenance, checksum, runStep } from './provenance.js';
import { entropyBits, maskedValues, matmul4, meanSd, otsuThreshold, percentiles, smoothAxis, trilinear } from './volume.js';

// MRI harmonisation: simple, standard, transparent steps (the HEREDITARY D4.3 finding), each a pure
// function of (array, parameters) recorded with its provenance:
//   mri.temporalMean    4D only: the mean over time (this harmoniser describes anatomy, not dynamics)
//   mri.reorient        voxel axes permuted and flipped to RAS+ (nibabel's as_closest_canonical)
//   mri.resample        trilinear onto a target spacing and/or shape, Gaussian anti-aliasing first
//   mri.foregroundMask  Otsu threshold (or nonzero / a percentile) separating head from background
//   mri.clip            intensities clipped to foreground percentiles (0.5 and 99.5 by default)
//   mri.histogramMatch  optional: piecewise-linear landmark matching to a reference (Nyul & Udupa)
//   mri.zscore          foreground z-score: (x - mean) / sd over the foreground voxels
// Volumes are x fastest (NIfTI order); the harmonized volume is saved as a C-order array of shape
// [z, y, x], so numpy's `np.load(f).T` is the RAS+ volume indexed [x, y, z] as nibabel gives it.

export const MRI_STEP_VERSION = '1';

export interface MriConfig {
  version: string;
  reorient: boolean;
  resample: {
    /** Target voxel size (mm) per axis; null keeps the native spacing (unless `shape` is given). */
    spacingMm: number[] | null;
    /** Target shape in voxels: centre crop / zero pad after resampling to spacingMm, or, without spacingMm, the field of view rescaled to it. */
    shape: number[] | null;
    /** Gaussian pre-filter when downsampling, sigma = (factor - 1) / 2 voxels (scikit-image's rule). */
    antialias: boolean;
  } | null;
  mask: { method: 'otsu' | 'nonzero' | 'percentile'; bins: number; percentile: number };
  clip: { lowerPercentile: number; upperPercentile: number } | null;
  histogramMatching: {
    enabled: boolean;
    /** The reference volume (NIfTI), e.g. the MNI152 T1 template; relative paths resolve against the data directory. */
    reference: string | null;
    /** Foreground percentiles used as landmarks. */
    landmarks: number[];
  };
  normalize: 'zscore' | 'none';
}

/**
 * Defaults. 2 mm isotropic: the standard analysis grid of MNI152 (91 x 109 x 91), coarse enough that
 * 1 mm research scans and 1.5-3 mm clinical scans land on the same grid without inventing detail
 * for most sites, and 8 times fewer voxels than 1 mm. Percentile clipping at 0.5 / 99.5 removes
 * hot spots (vessels, fat, artefacts) before the z-score, the common choice of the
 * intensity-normalization literature. Histogram matching is off by default because it needs a
 * reference of the same contrast (T1 to the MNI152 T1 template, say).
 */
export const DEFAULT_MRI_CONFIG: MriConfig = {
  version: '1',
  reorient: true,
  resample: { spacingMm: [2, 2, 2], shape: null, antialias: true },
  mask: { method: 'otsu', bins: 256, percentile: 50 },
  clip: { lowerPercentile: 0.5, upperPercentile: 99.5 },
  histogramMatching: { enabled: false, reference: null, landmarks: [1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 99] },
  normalize: 'zscore',
};

export interface MriHarmonized {
  features: Record<string, number>;
  /** `volume`: float32 [z, y, x] harmonized intensities; `foreground`: uint8 [z, y, x] mask. */
  arrays: Record<string, NdArray>;
  provenance: StepProvenance[];
  /** Geometry of the harmonized volume: [nx, ny, nz] and its voxel-to-RAS affine. */
  dims: number[];
  affine: number[];
}

// ---------------------------------------------------------------------------------------------
// Steps

/** The mean over the fourth dimension of an [nx, ny, nz, nt] volume. */
export function temporalMean(data: Float32Array, p: { dims: number[] }): Float32Array {
  const n = p.dims[0] * p.dims[1] * p.dims[2];
  const nt = p.dims[3] ?? 1;
  const acc = new Float64Array(n);
  for (let t = 0; t < nt; t++) for (let i = 0; i < n; i++) acc[i] += data[t * n + i];
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = acc[i] / nt;
  return out;
}

export interface Reorientation {
  /** For each output (RAS) axis, the input voxel axis it comes from. */
  permutation: number[];
  /** For each output axis, whether the input axis runs the other way. */
  flip: boolean[];
  dims: number[];
  affine: number[];
}

/** How to reach RAS+ from a volume's affine: the permutation and flips, and the new shape and affine. */
export function rasReorientation(dims: number[], affine: number[]): Reorientation {
  const ornt = axisOrientation(affine);
  const permutation = [0, 1, 2].map((j) => ornt.findIndex((o) => o.axis === j));
  const flip = permutation.map((i) => ornt[i].sign < 0);
  const outDims = permutation.map((i) => dims[i]);
  // T maps new voxel coordinates to old ones: old_i = flip ? n_i - 1 - new_j : new_j.
  const t = new Array<number>(16).fill(0);
  t[15] = 1;
  permutation.forEach((i, j) => {
    t[i * 4 + j] = flip[j] ? -1 : 1;
    t[i * 4 + 3] = flip[j] ? dims[i] - 1 : 0;
  });
  return { permutation, flip, dims: outDims, affine: matmul4(affine, t) };
}

/** Permutes and flips the voxels of a 3D volume as `rasReorientation` says. */
export function reorientToRas(data: Float32Array, p: { dims: number[]; affine: number[] }): Float32Array {
  const r = rasReorientation(p.dims, p.affine);
  const inStride = [1, p.dims[0], p.dims[0] * p.dims[1]];
  let base = 0;
  const step = r.permutation.map((i, j) => {
    if (r.flip[j]) base += (p.dims[i] - 1) * inStride[i];
    return r.flip[j] ? -inStride[i] : inStride[i];
  });
  const [nx, ny, nz] = r.dims;
  const out = new Float32Array(nx * ny * nz);
  let o = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      let src = base + z * step[2] + y * step[1];
      for (let x = 0; x < nx; x++, o++, src += step[0]) out[o] = data[src];
    }
  }
  return out;
}

export interface ResampleGrid {
  dims: number[];
  /** Input voxels per output voxel, per axis. */
  scale: number[];
  /** Output voxel c reads input coordinate (c + offset) * scale. */
  offset: number[];
  spacingMm: number[];
  affine: number[];
}

/** The output grid of `mri.resample` for a volume of `dims` and `affine`. */
export function resampleGrid(dims: number[], affine: number[], spacingMm: number[] | null, shape: number[] | null): ResampleGrid {
  const native = voxelSizes(affine);
  let scale: number[];
  let outDims: number[];
  let offset = [0, 0, 0];
  if (spacingMm) {
    scale = spacingMm.map((s, i) => s / native[i]);
    outDims = dims.map((n, i) => Math.floor(((n - 1) * native[i]) / spacingMm[i] + 1e-9) + 1);
    if (shape) {
      // Crop or pad by half the difference at the start (rounded towards zero), the rest at the end, as torchio does.
      offset = shape.map((s, i) => Math.trunc((outDims[i] - s) / 2));
      outDims = [...shape];
    }
  } else if (shape) {
    scale = shape.map((s, i) => (s > 1 ? (dims[i] - 1) / (s - 1) : 1));
    outDims = [...shape];
  } else {
    scale = [1, 1, 1];
    outDims = [...dims];
  }
  const t = [scale[0], 0, 0, offset[0] * scale[0], 0, scale[1], 0, offset[1] * scale[1], 0, 0, scale[2], offset[2] * scale[2], 0, 0, 0, 1];
  return { dims: outDims, scale, offset, spacingMm: native.map((s, i) => s * scale[i]), affine: matmul4(affine, t) };
}

/** Trilinear resampling onto `resampleGrid`'s grid, after a Gaussian pre-filter along downsampled axes. */
export function resample(data: Float32Array, p: { dims: number[]; affine: number[]; spacingMm: number[] | null; shape: number[] | null; antialias: boolean }): Float32Array {
  const g = resampleGrid(p.dims, p.affine, p.spacingMm, p.shape);
  let src = data;
  if (p.antialias) {
    for (let axis = 0; axis < 3; axis++) {
      const sigma = (g.scale[axis] - 1) / 2;
      if (sigma > 0) src = smoothAxis(src, p.dims, axis, sigma);
    }
  }
  return trilinear(src, p.dims, g.dims, g.scale, g.offset, 0);
}

/** The foreground threshold of `mri.foregroundMask` (voxels strictly above it are foreground). */
export function foregroundThreshold(data: Float32Array, mask: MriConfig['mask']): number {
  if (mask.method === 'nonzero') return 0;
  if (mask.method === 'percentile') return percentiles(maskedValues(data), [mask.percentile])[0];
  return otsuThreshold(data, mask.bins);
}

/** 1 where the value is above the threshold (for 'nonzero': where it is not 0). */
export function foregroundMask(data: Float32Array, p: { method: string; threshold: number }): Uint8Array {
  const out = new Uint8Array(data.length);
  if (p.method === 'nonzero') for (let i = 0; i < data.length; i++) out[i] = data[i] !== 0 ? 1 : 0;
  else for (let i = 0; i < data.length; i++) out[i] = data[i] > p.threshold ? 1 : 0;
  return out;
}

/** Every voxel clamped to [lower, upper]. */
export function clip(data: Float32Array, p: { lower: number; upper: number }): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] < p.lower ? p.lower : data[i] > p.upper ? p.upper : data[i];
  return out;
}

/**
 * Piecewise-linear intensity mapping taking the `source` landmarks onto the `reference` ones,
 * extended linearly beyond the first and last (Nyul, Udupa & Zhang 2000, with one reference).
 * Tied source landmarks (common in 8-bit images) are merged.
 */
export function matchHistogram(data: Float32Array, p: { source: number[]; reference: number[] }): Float32Array {
  const xs: number[] = [];
  const ys: number[] = [];
  p.source.forEach((s, i) => {
    if (xs.length === 0 || s > xs[xs.length - 1]) { xs.push(s); ys.push(p.reference[i]); }
  });
  const out = new Float32Array(data.length);
  if (xs.length < 2) {
    out.set(data);
    return out;
  }
  const last = xs.length - 1;
  const slopeLo = (ys[1] - ys[0]) / (xs[1] - xs[0]);
  const slopeHi = (ys[last] - ys[last - 1]) / (xs[last] - xs[last - 1]);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v <= xs[0]) out[i] = ys[0] + (v - xs[0]) * slopeLo;
    else if (v >= xs[last]) out[i] = ys[last] + (v - xs[last]) * slopeHi;
    else {
      let lo = 0;
      let hi = last;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (xs[mid] <= v) lo = mid;
        else hi = mid;
      }
      out[i] = ys[lo] + ((v - xs[lo]) * (ys[hi] - ys[lo])) / (xs[hi] - xs[lo]);
    }
  }
  return out;
}

/** (x - mean) / sd for every voxel, mean and sd being the foreground's. */
export function zscore(data: Float32Array, p: { mean: number; sd: number }): Float32Array {
  const out = new Float32Array(data.length);
  const inv = 1 / p.sd;
  for (let i = 0; i < data.length; i++) out[i] = (data[i] - p.mean) * inv;
  return out;
}

/** Foreground percentiles of a volume, for use as histogram-matching landmarks. */
export function histogramLandmarks(data: Float32Array, mask: Uint8Array, ps: number[]): number[] {
  return percentiles(maskedValues(data, mask), ps);
}

/**
 * The landmarks of a reference volume (e.g. MNI152 T1) prepared the way harmonizeMri prepares its
 * input up to the matching step: reoriented, resampled, masked and clipped with the same config.
 */
export async function referenceLandmarks(file: string, config: MriConfig = DEFAULT_MRI_CONFIG): Promise<number[]> {
  const ref = await readNifti(file);
  const prepared = prepare(ref, config, [], file);
  return histogramLandmarks(prepared.data, prepared.mask, config.histogramMatching.landmarks);
}

// ---------------------------------------------------------------------------------------------
// The pipeline

interface Prepared {
  data: Float32Array;
  mask: Uint8Array;
  dims: number[];
  affine: number[];
  /** After resampling, before clipping: the intensities in their native units. */
  raw: Float32Array;
  threshold: number;
}

function check(volume: ImageVolume, file?: string): void {
  if (volume.dims.length < 3 || volume.dims.length > 4) throw new InputError(`an MRI volume must be 3D or 4D, this one is ${volume.dims.join('x')}`, file, undefined, 'dims');
  const n = volume.dims.reduce((a, b) => a * b, 1);
  if (volume.data.length !== n) throw new InputError(`${volume.data.length} voxels for dims ${volume.dims.join('x')}`, file, undefined, 'data');
  for (let i = 0; i < volume.data.length; i++) {
    if (volume.data[i] - volume.data[i] !== 0) throw new InputError(`voxel ${i} is ${volume.data[i]}: harmonisation needs finite intensities`, file, `voxel ${i}`, 'data');
  }
}

function prepare(volume: ImageVolume, c: MriConfig, prov: StepProvenance[], file?: string): Prepared {
  check(volume, file);
  let data = volume.data;
  let dims = volume.dims.slice(0, 3);
  let affine = volume.affine;
  if (volume.dims.length === 4 && volume.dims[3] > 1) {
    const s = runStep('mri.temporalMean', MRI_STEP_VERSION, data, { dims: volume.dims }, temporalMean);
    data = s.value;
    prov.push(s.provenance);
  }
  if (c.reorient) {
    const r = rasReorientation(dims, affine);
    const s = runStep('mri.reorient', MRI_STEP_VERSION, data, { dims, affine, orientation: axisCodes(affine), permutation: r.permutation, flip: r.flip }, reorientToRas);
    data = s.value;
    prov.push(s.provenance);
    dims = r.dims;
    affine = r.affine;
  }
  if (c.resample && (c.resample.spacingMm || c.resample.shape)) {
    const g = resampleGrid(dims, affine, c.resample.spacingMm, c.resample.shape);
    const params = { dims, affine, spacingMm: c.resample.spacingMm, shape: c.resample.shape, antialias: c.resample.antialias, outputDims: g.dims, outputSpacingMm: g.spacingMm };
    const s = runStep('mri.resample', MRI_STEP_VERSION, data, params, resample);
    data = s.value;
    prov.push(s.provenance);
    dims = g.dims;
    affine = g.affine;
  }
  const raw = data;
  const threshold = foregroundThreshold(data, c.mask);
  const m = runStep('mri.foregroundMask', MRI_STEP_VERSION, data, { method: c.mask.method, bins: c.mask.bins, percentile: c.mask.percentile, threshold }, foregroundMask);
  prov.push(m.provenance);
  const mask = m.value;
  let fg = 0;
  for (let i = 0; i < mask.length; i++) fg += mask[i];
  if (fg < 2) throw new InputError(`the foreground mask (${c.mask.method}, threshold ${threshold}) holds ${fg} voxels: an empty or constant image`, file, 'foreground', 'data');
  if (c.clip) {
    const [lower, upper] = percentiles(maskedValues(data, mask), [c.clip.lowerPercentile, c.clip.upperPercentile]);
    const s = runStep('mri.clip', MRI_STEP_VERSION, data, { ...c.clip, lower, upper, mask: checksum(mask) }, clip);
    data = s.value;
    prov.push(s.provenance);
  }
  return { data, mask, dims, affine, raw, threshold };
}

/**
 * Harmonizes one MRI volume (3D, or 4D reduced to its temporal mean) with `config`. Histogram
 * matching needs the reference's landmarks: pass them (see `referenceLandmarks`) or leave it off.
 */
export function harmonizeMri(volume: ImageVolume, config: MriConfig = DEFAULT_MRI_CONFIG, options: { referenceLandmarks?: number[]; file?: string } = {}): MriHarmonized {
  const prov: StepProvenance[] = [];
  const file = options.file ?? (volume as { file?: string }).file;
  const p = prepare(volume, config, prov, file);
  let data = p.data;
  if (config.histogramMatching.enabled) {
    const reference = options.referenceLandmarks;
    if (!reference || reference.length !== config.histogramMatching.landmarks.length) {
      throw new InputError(`histogram matching is enabled but ${reference ? reference.length : 'no'} reference landmarks were given for ${config.histogramMatching.landmarks.length} percentiles`, config.histogramMatching.reference ?? undefined, undefined, 'histogramMatching.reference');
    }
    const source = histogramLandmarks(data, p.mask, config.histogramMatching.landmarks);
    const s = runStep('mri.histogramMatch', MRI_STEP_VERSION, data, { percentiles: config.histogramMatching.landmarks, source, reference, referenceFile: config.histogramMatching.reference, mask: checksum(p.mask) }, matchHistogram);
    data = s.value;
    prov.push(s.provenance);
  }
  if (config.normalize === 'zscore') {
    const { mean, sd } = meanSd(data, p.mask);
    if (!(sd > 0)) throw new InputError('the foreground has constant intensity: cannot z-score', file, 'foreground', 'data');
    const s = runStep('mri.zscore', MRI_STEP_VERSION, data, { mean, sd, mask: checksum(p.mask) }, zscore);
    data = s.value;
    prov.push(s.provenance);
  }
  const shape = [p.dims[2], p.dims[1], p.dims[0]];
  return {
    features: mriFeatures(volume, p, data),
    arrays: { volume: { data, shape }, foreground: { data: p.mask, shape } },
    provenance: prov,
    dims: p.dims,
    affine: p.affine,
  };
}

/** Skewness and excess kurtosis of the values where mask is set. */
function moments(data: Float32Array, mask: Uint8Array, mean: number, sd: number): { skewness: number; kurtosis: number } {
  let m3 = 0;
  let m4 = 0;
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    if (!mask[i]) continue;
    const z = (data[i] - mean) / sd;
    const z2 = z * z;
    m3 += z2 * z;
    m4 += z2 * z2;
    n++;
  }
  return { skewness: m3 / n, kurtosis: m4 / n - 3 };
}

/**
 * Features (names and units in docs/harmonization.md): shape of the harmonized grid,
 * foreground volume (mL), fraction, extent and centroid (mm, RAS), raw intensity statistics of the
 * foreground (the input's units, before clipping), and statistics of the harmonized intensities.
 */
function mriFeatures(input: ImageVolume, p: Prepared, out: Float32Array): Record<string, number> {
  const [nx, ny, nz] = p.dims;
  const vs = voxelSizes(p.affine);
  const voxelMl = (vs[0] * vs[1] * vs[2]) / 1000;
  const nativeVs = voxelSizes(input.affine);
  let count = 0;
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  const sum = [0, 0, 0];
  let i = 0;
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++, i++) {
    if (!p.mask[i]) continue;
    count++;
    const c = [x, y, z];
    for (let k = 0; k < 3; k++) {
      if (c[k] < lo[k]) lo[k] = c[k];
      if (c[k] > hi[k]) hi[k] = c[k];
      sum[k] += c[k];
    }
  }
  const a = p.affine;
  const mean = sum.map((s) => s / count);
  const centroid = [0, 1, 2].map((r) => a[r * 4] * mean[0] + a[r * 4 + 1] * mean[1] + a[r * 4 + 2] * mean[2] + a[r * 4 + 3]);
  const qs = [1, 5, 25, 50, 75, 95, 99];
  const rawQ = percentiles(maskedValues(p.raw, p.mask), qs);
  const rawStats = meanSd(p.raw, p.mask);
  const norm = maskedValues(out, p.mask);
  const normQ = percentiles(norm, [...qs, 0.5, 99.5]);
  const normStats = meanSd(out, p.mask);
  const mom = normStats.sd > 0 ? moments(out, p.mask, normStats.mean, normStats.sd) : { skewness: 0, kurtosis: 0 };
  // Entropy of the harmonized foreground histogram: 64 bins between its 0.5th and 99.5th percentiles.
  const hLo = normQ[qs.length];
  const hHi = normQ[qs.length + 1];
  const hist = new Float64Array(64);
  if (hHi > hLo) for (let j = 0; j < norm.length; j++) hist[Math.min(63, Math.max(0, Math.floor(((norm[j] - hLo) / (hHi - hLo)) * 64)))]++;
  const f: Record<string, number> = {
    shapeX: nx, shapeY: ny, shapeZ: nz,
    spacingXMm: vs[0], spacingYMm: vs[1], spacingZMm: vs[2],
    nativeVoxelVolumeMm3: nativeVs[0] * nativeVs[1] * nativeVs[2],
    timepoints: input.dims[3] ?? 1,
    foregroundThreshold: p.threshold,
    foregroundVoxels: count,
    foregroundVolumeMl: count * voxelMl,
    foregroundFraction: count / p.mask.length,
    extentXMm: (hi[0] - lo[0] + 1) * vs[0], extentYMm: (hi[1] - lo[1] + 1) * vs[1], extentZMm: (hi[2] - lo[2] + 1) * vs[2],
    centroidXMm: centroid[0], centroidYMm: centroid[1], centroidZMm: centroid[2],
    intensityMean: rawStats.mean, intensitySd: rawStats.sd,
    normalizedMean: normStats.mean, normalizedSd: normStats.sd,
    normalizedSkewness: mom.skewness, normalizedKurtosis: mom.kurtosis,
    normalizedEntropyBits: entropyBits(hist),
  };
  qs.forEach((q, i) => {
    f[`intensityP${q}`] = rawQ[i];
    f[`normalizedP${q}`] = normQ[i];
  });
  return f;
}
