import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_OCT_CONFIG, bscanRanges, fourthRoot, glcm, harmonizeOct, normalizeBscans, resampleAscans, resampledWidth, retinalThicknessUm } from '../../../src/harmonize/oct.js';
import { checksum } from '../../../src/harmonize/provenance.js';
import { type OctVolume, readHeidelbergVol } from '../../../src/sources/oct.js';
import { type PhantomOptions, encodeHeidelbergVol, syntheticOctVolume } from '../../../src/sources/oct-write.js';
import { tempDir } from '../../helpers/paths.js';

// The volumes are synthetic (src/sources/oct-write.ts): no real OCT data is available to the project.

async function phantomVol(o: PhantomOptions): Promise<OctVolume> {
  const dir = tempDir();
  try {
    const f = join(dir.path, 'p.vol');
    writeFileSync(f, encodeHeidelbergVol(syntheticOctVolume(o).vol));
    return await readHeidelbergVol(f);
  } finally {
    dir.remove();
  }
}

describe('OCT steps', () => {
  test('fourth root; NaN (no data) stays NaN, negative values become 0', () => {
    const out = fourthRoot(Float32Array.from([16, 0.0001, 0, -1, NaN]));
    expect(out[0]).toBeCloseTo(2, 6);
    expect(out[1]).toBeCloseTo(0.1, 6);
    expect(Array.from(out.slice(2, 4))).toEqual([0, 0]);
    expect(Number.isNaN(out[4])).toBe(true);
  });

  test('per-B-scan normalisation removes a per-scan gain; no-data pixels become 0', () => {
    const dims = [10, 10, 2];
    const data = Float32Array.from({ length: 200 }, (_, i) => (i < 100 ? (i * 37) % 100 : 4 * ((i * 37) % 100)));
    data[150] = NaN;
    const r = bscanRanges(data, dims, 1, 99);
    expect(r.upper[1] / r.upper[0]).toBeCloseTo(4, 1);
    const out = normalizeBscans(data, { dims, ...r });
    for (let i = 0; i < 100; i++) if (i !== 50) expect(out[100 + i]).toBeCloseTo(out[i], 1);
    expect(out[150]).toBe(0);
    expect(Math.min(...out)).toBe(0);
    expect(Math.max(...out)).toBe(1);
  });

  test('lateral resampling keeps a linear ramp; widths follow the spacing', () => {
    expect(resampledWidth(768, 0.0115, 0.0115)).toBe(768);
    expect(resampledWidth(1536, 0.00575, 0.0115)).toBe(768);
    expect(resampledWidth(512, 0.0117, 0.0115)).toBe(520); // floor(511 * 0.0117 / 0.0115) + 1
    const nx = 101;
    const data = Float32Array.from({ length: nx * 3 }, (_, i) => (i % nx) * 0.01);
    const out = resampleAscans(data, { dims: [nx, 3, 1], spacingMm: 0.01, targetMm: 0.025, antialias: false });
    expect(out.length).toBe(41 * 3);
    for (let x = 0; x < 41; x++) expect(out[41 + x]).toBeCloseTo(x * 0.025, 5);
  });

  test('GLCM: a constant image and a checkerboard', () => {
    const dims = [8, 8, 1];
    const mask = new Uint8Array(64).fill(1);
    const flat = glcm(new Float32Array(64).fill(0.5), mask, dims, 8, 1, 0);
    expect(flat).toMatchObject({ contrast: 0, homogeneity: 1, energy: 1, pairs: 56 });
    const board = Float32Array.from({ length: 64 }, (_, i) => ((i % 8) + Math.floor(i / 8)) % 2);
    const lateral = glcm(board, mask, dims, 2, 1, 0);
    expect(lateral.contrast).toBe(1); // every horizontal neighbour differs by one level (0 vs 1 of 2 levels)
    expect(lateral.homogeneity).toBe(0.5);
    expect(lateral.correlation).toBe(-1);
  });
});

describe('harmonizeOct', () => {
  test('a synthetic .vol: steps, provenance chain, shape, features within range', async () => {
    const vol = await phantomVol({ sizeX: 256, sizeZ: 96, numBScans: 5, scaleXmm: 0.023, invalidMargin: 3, seed: 3 });
    const h = harmonizeOct(vol);
    expect(h.provenance.map((p) => p.step)).toEqual(['oct.intensity', 'oct.normalize', 'oct.resample', 'oct.tissueMask']);
    expect(h.provenance[0].input).toBe(checksum(vol.data));
    expect(h.provenance[1].input).toBe(h.provenance[0].output);
    expect(h.provenance[2].input).toBe(h.provenance[1].output);
    expect(h.provenance[2].output).toBe(checksum(h.arrays.bscans.data));
    const width = resampledWidth(256, 0.023, DEFAULT_OCT_CONFIG.resample!.ascanSpacingMm);
    expect(h.dims).toEqual([width, 96, 5]);
    expect(h.arrays.bscans.shape).toEqual([5, 96, width]);
    expect(h.spacingMm[0]).toBe(0.0115);
    const f = h.features;
    expect(f).toMatchObject({ bscanCount: 5, ascanCount: width, depthSamples: 96, ascanSpacingMm: 0.0115 });
    expect(f.invalidFraction).toBeCloseTo(6 / 256, 6);
    expect(f.tissueFraction).toBeGreaterThan(0.2);
    expect(f.tissueFraction).toBeLessThan(0.6);
    expect(f.meanIntensity).toBeGreaterThan(0.3);
    expect(f.meanIntensity).toBeLessThan(0.8);
    expect(f.entropyBits).toBeGreaterThan(2);
    expect(f.entropyBits).toBeLessThanOrEqual(5);
    expect(f.glcmHomogeneity).toBeGreaterThan(0);
    expect(f.glcmHomogeneity).toBeLessThan(1);
    for (const v of Object.values(f)) expect(Number.isFinite(v)).toBe(true);
  });

  test('a device gain does not change the features; speckle and thickness do', async () => {
    const base = { sizeX: 192, sizeZ: 96, numBScans: 4, seed: 11 };
    const a = harmonizeOct(await phantomVol(base)).features;
    const gained = harmonizeOct(await phantomVol({ ...base, gain: 5 })).features;
    for (const k of ['meanIntensity', 'sdIntensity', 'entropyBits', 'glcmContrast', 'glcmHomogeneity', 'tissueFraction']) {
      expect(Math.abs(gained[k] - a[k]) / Math.abs(a[k])).toBeLessThan(0.02);
    }
    const smooth = harmonizeOct(await phantomVol({ ...base, speckle: 0 })).features;
    expect(smooth.glcmHomogeneity).toBeGreaterThan(a.glcmHomogeneity * 1.5);
    expect(smooth.glcmContrast).toBeLessThan(a.glcmContrast / 2);
    const thin = harmonizeOct(await phantomVol({ ...base, thicknessMm: 0.2 })).features;
    expect(thin.retinalThicknessMeanUm).toBeLessThan(a.retinalThicknessMeanUm - 50);
  });

  test('retinal thickness from the segmentation lines matches the phantom truth', async () => {
    const ph = syntheticOctVolume({ sizeX: 64, sizeZ: 96, numBScans: 3, seed: 5 });
    const vol = await phantomVol({ sizeX: 64, sizeZ: 96, numBScans: 3, seed: 5 });
    let sum = 0;
    for (let i = 0; i < ph.ilm.length; i++) sum += ph.bm[i] - ph.ilm[i];
    expect(retinalThicknessUm(vol)).toBeCloseTo((sum / ph.ilm.length) * vol.spacingMm[1] * 1000, 2);
  });

  test('display-scaled data (image stacks) skip the fourth root; resampling can be turned off', async () => {
    const vol = await phantomVol({ sizeX: 64, sizeZ: 64, numBScans: 2, seed: 2 });
    const display: OctVolume = { ...vol, intensity: 'display', data: fourthRoot(vol.data).map((v) => (Number.isNaN(v) ? 0 : v * 255)) };
    const h = harmonizeOct(display, { ...DEFAULT_OCT_CONFIG, resample: null });
    expect(h.provenance.map((p) => p.step)).toEqual(['oct.normalize', 'oct.tissueMask']);
    expect(h.dims).toEqual([64, 64, 2]);
    const linear = harmonizeOct(vol, { ...DEFAULT_OCT_CONFIG, resample: null });
    expect(h.features.meanIntensity).toBeCloseTo(linear.features.meanIntensity, 2);
  });
});
