import { DEFAULT_MRI_CONFIG, type MriConfig, clip, foregroundMask, harmonizeMri, matchHistogram, rasReorientation, reorientToRas, resample, resampleGrid, zscore } from '../../../src/harmonize/mri.js';
import { checksum } from '../../../src/harmonize/provenance.js';
import { maskedValues, otsuThreshold, percentileSorted, percentiles, sortedValues } from '../../../src/harmonize/volume.js';
import { InputError } from '../../../src/model/errors.js';
import { type ImageVolume, axisCodes } from '../../../src/sources/nifti.js';

const world = (a: number[], v: number[]) => [0, 1, 2].map((r) => a[r * 4] * v[0] + a[r * 4 + 1] * v[1] + a[r * 4 + 2] * v[2] + a[r * 4 + 3]);

/** A volume whose voxel values are unique (their index), for checking where each voxel goes. */
function indexed(dims: number[], affine: number[]): ImageVolume {
  const n = dims.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, (_, i) => i), dims, affine };
}

/** Value of every voxel of `v` as a linear function of its world position. */
function ramp(dims: number[], affine: number[], f: (p: number[]) => number): ImageVolume {
  const [nx, ny, nz] = dims;
  const data = new Float32Array(nx * ny * nz);
  let i = 0;
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) data[i++] = f(world(affine, [x, y, z]));
  return { data, dims, affine };
}

/** A head-like phantom: a ball of radius r mm (intensity `inside`) in background `outside`, with noise. */
function ball(dims: number[], affine: number[], r: number, inside: number, outside: number, seed = 1): ImageVolume {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const c = world(affine, dims.map((d) => (d - 1) / 2));
  return ramp(dims, affine, (p) => (Math.hypot(p[0] - c[0], p[1] - c[1], p[2] - c[2]) <= r ? inside : outside) + (rnd() - 0.5) * 4);
}

const LAS_1MM = [-1, 0, 0, 40, 0, 1, 0, -30, 0, 0, 1, -20, 0, 0, 0, 1];
// Sagittal voxels: x runs anterior, y superior, z towards the right (ASR), 1.2 x 1 x 0.8 mm.
const ASR = [0, 0, 0.8, -10, 1.2, 0, 0, -20, 0, 1, 0, -5, 0, 0, 0, 1];

describe('mri.reorient', () => {
  test.each([['LAS', LAS_1MM, [5, 4, 3]], ['ASR', ASR, [6, 4, 5]]])('%s to RAS: every voxel keeps its world position', (_, affine, dims) => {
    const v = indexed(dims as number[], affine as number[]);
    const r = rasReorientation(v.dims, v.affine);
    const out = reorientToRas(v.data, { dims: v.dims, affine: v.affine });
    expect(axisCodes(r.affine)).toBe('RAS');
    const [nx, ny, nz] = r.dims;
    let i = 0;
    for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++, i++) {
      const src = out[i];
      const sv = [src % v.dims[0], Math.floor(src / v.dims[0]) % v.dims[1], Math.floor(src / (v.dims[0] * v.dims[1]))];
      expect(world(r.affine, [x, y, z])).toEqual(world(v.affine, sv).map((w) => expect.closeTo(w, 9)));
    }
  });

  test('an RAS volume is left as it is', () => {
    const v = indexed([3, 2, 2], [2, 0, 0, 1, 0, 2, 0, 2, 0, 0, 2, 3, 0, 0, 0, 1]);
    const r = rasReorientation(v.dims, v.affine);
    expect(r.permutation).toEqual([0, 1, 2]);
    expect(r.flip).toEqual([false, false, false]);
    expect(Array.from(reorientToRas(v.data, v))).toEqual(Array.from(v.data));
  });
});

describe('mri.resample', () => {
  const A = [1, 0, 0, -10, 0, 1, 0, -12, 0, 0, 1, -8, 0, 0, 0, 1];
  const f = (p: number[]) => 3 * p[0] - 2 * p[1] + 0.5 * p[2] + 7;

  test('trilinear resampling reproduces a linear function exactly; grid and affine as documented', () => {
    const v = ramp([21, 25, 17], A, f);
    const g = resampleGrid(v.dims, v.affine, [2, 2.5, 2], null);
    expect(g.dims).toEqual([11, 10, 9]);
    expect(g.affine).toEqual([2, 0, 0, -10, 0, 2.5, 0, -12, 0, 0, 2, -8, 0, 0, 0, 1]);
    const out = resample(v.data, { dims: v.dims, affine: v.affine, spacingMm: [2, 2.5, 2], shape: null, antialias: false });
    let i = 0;
    for (let z = 0; z < 9; z++) for (let y = 0; y < 10; y++) for (let x = 0; x < 11; x++) expect(out[i++]).toBeCloseTo(f(world(g.affine, [x, y, z])), 3);
  });

  test('anti-aliasing smooths before downsampling (a linear function stays linear away from the edges)', () => {
    const v = ramp([21, 21, 21], A, f);
    const out = resample(v.data, { dims: v.dims, affine: v.affine, spacingMm: [3, 3, 3], shape: null, antialias: true });
    const g = resampleGrid(v.dims, v.affine, [3, 3, 3], null);
    expect(out[3 + 7 * (3 + 7 * 3)]).toBeCloseTo(f(world(g.affine, [3, 3, 3])), 3);
    // An alternating pattern is averaged away instead of aliasing into stripes.
    const stripes = { data: Float32Array.from({ length: 21 * 21 * 21 }, (_, i) => (i % 2 ? 100 : 0)), dims: [21, 21, 21], affine: A };
    const smooth = resample(stripes.data, { ...stripes, spacingMm: [3, 1, 1], shape: null, antialias: true });
    const sharp = resample(stripes.data, { ...stripes, spacingMm: [3, 1, 1], shape: null, antialias: false });
    const spread = (a: Float32Array) => Math.max(...a.slice(1, 6)) - Math.min(...a.slice(1, 6));
    expect(spread(sharp)).toBe(100);
    expect(spread(smooth)).toBeLessThan(20);
  });

  test('target shape: centre crop or zero pad after resampling, or the field of view rescaled to it', () => {
    const v = ramp([21, 25, 17], A, f);
    const g = resampleGrid(v.dims, v.affine, [2, 2, 2], [8, 16, 9]);
    expect(g.dims).toEqual([8, 16, 9]);
    expect(g.offset).toEqual([1, -1, 0]); // 11 -> 8 crops 1 (and 2), 13 -> 16 pads 1 (and 2)
    const out = resample(v.data, { dims: v.dims, affine: v.affine, spacingMm: [2, 2, 2], shape: [8, 16, 9], antialias: false });
    expect(out[0 + 8 * (0 + 16 * 4)]).toBe(0); // padded row y = 0
    expect(out[2 + 8 * (5 + 16 * 4)]).toBeCloseTo(f(world(g.affine, [2, 5, 4])), 3);
    const s = resampleGrid(v.dims, v.affine, null, [11, 13, 9]);
    expect(s.spacingMm).toEqual([2, 2, 2]);
  });
});

describe('masking and intensity steps', () => {
  test('percentiles by selection equal those of a full sort (numpy linear interpolation)', () => {
    let seed = 3;
    const data = Float32Array.from({ length: 10007 }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 100 - 20);
    data.fill(5, 100, 400); // ties
    const ps = [0, 0.5, 1, 25, 50, 50, 73.3, 99.5, 100];
    const sorted = sortedValues(data);
    expect(percentiles(maskedValues(data), ps)).toEqual(ps.map((p) => percentileSorted(sorted, p)));
    expect(percentiles(Float32Array.from([1, 2, 3, 4]), [50, 25])).toEqual([2.5, 1.75]); // numpy: 2.5, 1.75
    expect(percentiles(new Float32Array(0), [50])).toEqual([NaN]);
  });

  test('Otsu separates two populations; the mask is what lies above it', () => {
    const data = Float32Array.from({ length: 2000 }, (_, i) => (i < 1500 ? 10 + (i % 7) : 100 + (i % 11)));
    const t = otsuThreshold(data);
    expect(t).toBeGreaterThan(16);
    expect(t).toBeLessThan(100);
    const m = foregroundMask(data, { method: 'otsu', threshold: t });
    expect(m.reduce((a, b) => a + b, 0)).toBe(500);
  });

  test('clip, histogram matching and z-score', () => {
    expect(Array.from(clip(Float32Array.from([-5, 0, 5, 50]), { lower: 0, upper: 10 }))).toEqual([0, 0, 5, 10]);
    const src = Float32Array.from({ length: 1001 }, (_, i) => i / 10); // 0..100
    const sorted = sortedValues(src);
    const pcts = [1, 50, 99];
    const source = pcts.map((p) => percentileSorted(sorted, p));
    const reference = [10, 20, 200];
    const matched = matchHistogram(src, { source, reference });
    const ms = sortedValues(matched);
    pcts.forEach((p, i) => expect(percentileSorted(ms, p)).toBeCloseTo(reference[i], 3));
    expect(matched[0]).toBeCloseTo(10 - 1 * (10 / 49), 3); // linear extension below the first landmark
    for (let i = 1; i < matched.length; i++) expect(matched[i]).toBeGreaterThanOrEqual(matched[i - 1]);
    // tied landmarks (8-bit images) are merged rather than dividing by zero
    expect(Array.from(matchHistogram(Float32Array.from([0, 1, 2]), { source: [0, 0, 2], reference: [0, 5, 10] }))).toEqual([0, 5, 10]);
    const z = zscore(Float32Array.from([1, 2, 3]), { mean: 2, sd: 0.5 });
    expect(Array.from(z)).toEqual([-2, 0, 2]);
  });
});

describe('harmonizeMri', () => {
  const phantom = () => ball([60, 64, 56], LAS_1MM, 20, 300, 20);

  test('a 1 mm LAS ball: RAS 2 mm grid, foreground volume, z-scored foreground, arrays and features', () => {
    const h = harmonizeMri(phantom());
    expect(h.dims).toEqual([30, 32, 28]);
    expect(axisCodes(h.affine)).toBe('RAS');
    expect(h.arrays.volume.shape).toEqual([28, 32, 30]);
    expect(h.arrays.volume.data).toBeInstanceOf(Float32Array);
    expect(h.arrays.foreground.data).toBeInstanceOf(Uint8Array);
    const sphereMl = ((4 / 3) * Math.PI * 20 ** 3) / 1000;
    expect(h.features.foregroundVolumeMl).toBeGreaterThan(sphereMl * 0.95);
    expect(h.features.foregroundVolumeMl).toBeLessThan(sphereMl * 1.05);
    expect(h.features.normalizedMean).toBeCloseTo(0, 6);
    expect(h.features.normalizedSd).toBeCloseTo(1, 6);
    expect(h.features.intensityP50).toBeGreaterThan(290);
    expect(h.features.intensityP50).toBeLessThan(310);
    expect(h.features.extentXMm).toBeGreaterThan(38);
    expect(h.features.extentXMm).toBeLessThan(44);
    expect(h.features).toMatchObject({ shapeX: 30, shapeY: 32, shapeZ: 28, spacingXMm: 2, nativeVoxelVolumeMm3: 1, timepoints: 1 });
    const c = world(LAS_1MM, [29.5, 31.5, 27.5]);
    expect(h.features.centroidXMm).toBeCloseTo(c[0], 0);
    expect(h.features.centroidZMm).toBeCloseTo(c[2], 0);
    for (const v of Object.values(h.features)) expect(Number.isFinite(v)).toBe(true);
  });

  test('provenance: one record per step, each input the previous output, the last one the saved array', () => {
    const h = harmonizeMri(phantom());
    expect(h.provenance.map((p) => p.step)).toEqual(['mri.reorient', 'mri.resample', 'mri.foregroundMask', 'mri.clip', 'mri.zscore']);
    const [reorient, res, mask, clipped, z] = h.provenance;
    expect(res.input).toBe(reorient.output);
    expect(mask.input).toBe(res.output);
    expect(clipped.input).toBe(res.output);
    expect(z.input).toBe(clipped.output);
    expect(z.output).toBe(checksum(h.arrays.volume.data));
    expect(mask.output).toBe(checksum(h.arrays.foreground.data));
    expect(reorient.parameters).toMatchObject({ orientation: 'LAS', permutation: [0, 1, 2], flip: [true, false, false] });
    expect(clipped.parameters).toMatchObject({ lowerPercentile: 0.5, upperPercentile: 99.5 });
    expect(h.provenance.every((p) => p.version === '1')).toBe(true);
    // deterministic: the same input gives the same checksums
    expect(harmonizeMri(phantom()).provenance.map((p) => p.output)).toEqual(h.provenance.map((p) => p.output));
  });

  test('site differences in gain and offset vanish after the z-score', () => {
    const a = harmonizeMri(phantom());
    const b0 = phantom();
    const b = harmonizeMri({ ...b0, data: b0.data.map((v) => 2.5 * v + 40) });
    expect(b.features.intensityP50).toBeCloseTo(2.5 * a.features.intensityP50 + 40, 1);
    for (const k of ['normalizedP5', 'normalizedP50', 'normalizedP95', 'foregroundVolumeMl']) expect(b.features[k]).toBeCloseTo(a.features[k], 3);
  });

  test('4D input: the temporal mean is harmonized', () => {
    const v = phantom();
    const n = v.data.length;
    const data = new Float32Array(2 * n);
    data.set(v.data.map((x) => x - 10));
    data.set(v.data.map((x) => x + 10), n);
    const h = harmonizeMri({ data, dims: [...v.dims, 2], affine: v.affine });
    const ref = harmonizeMri(v);
    expect(h.provenance[0].step).toBe('mri.temporalMean');
    expect(h.features.timepoints).toBe(2);
    expect(h.provenance.at(-1)!.output).toBe(ref.provenance.at(-1)!.output);
  });

  test('histogram matching to reference landmarks; without landmarks it is an error', () => {
    const config: MriConfig = { ...DEFAULT_MRI_CONFIG, normalize: 'none', histogramMatching: { enabled: true, reference: 'ref.nii.gz', landmarks: [10, 50, 90] } };
    expect(() => harmonizeMri(phantom(), config)).toThrow(InputError);
    const h = harmonizeMri(phantom(), config, { referenceLandmarks: [100, 500, 900] });
    const step = h.provenance.find((p) => p.step === 'mri.histogramMatch')!;
    expect(step.parameters).toMatchObject({ reference: [100, 500, 900], referenceFile: 'ref.nii.gz' });
    const fg = sortedValues(h.arrays.volume.data as Float32Array, h.arrays.foreground.data as Uint8Array);
    expect(percentileSorted(fg, 50)).toBeCloseTo(500, 0);
  });

  test('bad volumes: NaN voxels, an empty image', () => {
    const v = phantom();
    v.data[123] = NaN;
    expect(() => harmonizeMri(v)).toThrow(/voxel 123 is NaN/);
    expect(() => harmonizeMri({ data: new Float32Array(1000), dims: [10, 10, 10], affine: LAS_1MM })).toThrow(/foreground mask .* holds 0 voxels/);
  });
});
