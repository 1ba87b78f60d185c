import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 as zlibCrc32, inflateSync } from 'node:zlib';
import {
  applyPlatt, bestF1Threshold, brierScore, cosineDistances, expectedCalibrationError, f1At, fitPlatt, knnAccuracy, pca2, rocCurve, silhouette, spearman,
} from '../../../src/learn/eval-metrics.js';
import { ontologyDistance } from '../../../src/learn/evaluate.js';
import { Canvas, chart, niceTicks } from '../../../src/learn/plots.js';
import { crc32, encodePng, PNG_SIGNATURE } from '../../../src/learn/png.js';
import { Rng } from '../../../src/learn/random.js';
import { tinyOntology } from '../cohort/helpers.js';

const unit = (v: number[]) => {
  const n = Math.hypot(...v);
  return Float32Array.from(v, (x) => x / n);
};

describe('classification metrics', () => {
  const scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
  const positive = [true, true, false, true, false, false];

  test('F1 at a threshold, and the threshold that maximises it (midpoint to the next lower score)', () => {
    expect(f1At(scores, positive, 0.75)).toEqual({ f1: 0.8, precision: 1, recall: 2 / 3, truePositives: 2, falsePositives: 0, falseNegatives: 1 });
    expect(f1At(scores, positive, 2)).toMatchObject({ f1: 0, precision: 0, recall: 0 });
    const best = bestF1Threshold(scores, positive)!;
    expect(best.threshold).toBeCloseTo(0.55, 12);
    expect(best.f1).toBeCloseTo(6 / 7, 12);
    expect(bestF1Threshold(scores, positive.map(() => false))).toBeUndefined();
  });

  test('ROC curve steps, tied scores moving together', () => {
    expect(rocCurve([0.9, 0.5, 0.5, 0.1], [true, true, false, false])).toEqual([[0, 0], [0, 0.5], [0.5, 1], [1, 1]]);
  });

  test('expected calibration error over 10 equal-width bins, and the Brier score', () => {
    const p = [0.05, 0.15, 0.95, 0.95];
    const y = [false, true, true, true];
    const { ece, bins } = expectedCalibrationError(p, y);
    expect(ece).toBeCloseTo(0.25 * 0.05 + 0.25 * 0.85 + 0.5 * 0.05, 12);
    expect(bins.map((b) => [b.from, b.count, b.fractionPositive])).toEqual([[0, 1, 0], [0.1, 1, 1], [0.9, 2, 1]]);
    expect(expectedCalibrationError([1], [true]).bins[0].from).toBe(0.9); // p = 1 falls in the last bin
    expect(brierScore(p, y)).toBeCloseTo((0.05 ** 2 + 0.85 ** 2 + 2 * 0.05 ** 2) / 4, 12);
  });

  test('Platt scaling recovers a logistic relation and stays finite on separable scores', () => {
    const s: number[] = [];
    const y: boolean[] = [];
    for (let i = 0; i <= 20; i++) {
      const x = -1 + i / 10;
      const positives = Math.round(400 / (1 + Math.exp(-(4 * x + 0.5))));
      for (let k = 0; k < 400; k++) {
        s.push(x);
        y.push(k < positives);
      }
    }
    const m = fitPlatt(s, y)!;
    expect(m.a).toBeCloseTo(4, 1);
    expect(m.b).toBeCloseTo(0.5, 1);
    const separable = fitPlatt([0.1, 0.2, 0.3, 0.7, 0.8, 0.9], [false, false, false, true, true, true])!;
    expect(Number.isFinite(separable.a) && separable.a > 0).toBe(true);
    // Monotone, and Platt's smoothed targets keep the extremes off 0 and 1: (3+1)/(3+2) = 0.8 at most on the training points.
    expect(applyPlatt(separable, 0.9)).toBeGreaterThan(applyPlatt(separable, 0.7));
    expect(applyPlatt(separable, 0.9)).toBeLessThan(0.9);
    expect(fitPlatt([0.1, 0.2], [true, true])).toBeUndefined();
  });
});

describe('separation metrics', () => {
  const rng = new Rng(5);
  const cluster = (c: number[], n: number) => Array.from({ length: n }, () => unit(c.map((x) => x + rng.normal() * 0.05)));
  const vectors = [...cluster([1, 0, 0], 20), ...cluster([0, 1, 0], 20)];
  const d = cosineDistances(vectors);
  const byCluster = vectors.map((_, i) => (i < 20 ? 'a' : 'b'));
  const mixed = vectors.map((_, i) => (i % 2 ? 'x' : 'y'));

  test('silhouette: near 1 for separated groups, near 0 for a labelling that ignores them', () => {
    expect(silhouette(d, byCluster)).toBeGreaterThan(0.9);
    expect(Math.abs(silhouette(d, mixed))).toBeLessThan(0.1);
    expect(silhouette(d, byCluster.map(() => 'one'))).toBeNaN();
  });

  test('leave-one-out kNN accuracy with its chance level', () => {
    expect(knnAccuracy(d, byCluster, 5)).toEqual({ accuracy: 1, chance: 0.5 });
    expect(knnAccuracy(d, mixed, 5).accuracy).toBeLessThan(0.75);
  });

  test('PCA: deterministic, the first component carries a line\'s variance', () => {
    const line = Array.from({ length: 10 }, (_, i) => Float32Array.from([i, i, 0.001 * (i % 2)]));
    const a = pca2(line);
    expect(a.explained[0]).toBeGreaterThan(0.999);
    expect(a.points[9][0] - a.points[0][0]).toBeCloseTo(9 * Math.SQRT2, 3);
    expect(pca2(line)).toEqual(a);
  });

  test('Spearman is 1 for any increasing relation', () => {
    expect(spearman([1, 2, 3, 4], [1, 8, 27, 64])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
  });

  test('ontology distance: is_a edges through the nearest common ancestor', () => {
    const o = tinyOntology();
    expect(ontologyDistance(o, 'HP:0002373', 'HP:0007359')).toBe(2);
    expect(ontologyDistance(o, 'HP:0002373', 'HP:0001249')).toBe(3);
    expect(ontologyDistance(o, 'HP:0001250', 'HP:0001250')).toBe(0);
  });
});

/** Splits a PNG into its chunks, checking each length and CRC against zlib's own crc32. */
function chunks(png: Buffer): { type: string; data: Buffer }[] {
  expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
  const out: { type: string; data: Buffer }[] = [];
  for (let o = 8; o < png.length; ) {
    const length = png.readUInt32BE(o);
    const type = png.toString('latin1', o + 4, o + 8);
    const data = png.subarray(o + 8, o + 8 + length);
    expect(png.readUInt32BE(o + 8 + length)).toBe(zlibCrc32(png.subarray(o + 4, o + 8 + length)));
    out.push({ type, data });
    o += 12 + length;
  }
  return out;
}

describe('PNG encoder', () => {
  const rgba = Uint8Array.from([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, /* row 2 */ 0, 0, 0, 0, 10, 20, 30, 40, 255, 255, 255, 255]);
  const png = encodePng(3, 2, rgba);

  test('our CRC-32 is zlib\'s', () => {
    const bytes = Buffer.from('IEND the quick brown fox');
    expect(crc32(bytes)).toBe(zlibCrc32(bytes));
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  test('signature, IHDR, IDAT inflating back to the filtered scanlines, IEND; every CRC right', () => {
    const c = chunks(png);
    expect(c.map((x) => x.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    const h = c[0].data;
    expect([h.readUInt32BE(0), h.readUInt32BE(4), h[8], h[9], h[10], h[11], h[12]]).toEqual([3, 2, 8, 6, 0, 0, 0]);
    const raw = inflateSync(c[1].data);
    expect(raw).toEqual(Buffer.concat([Buffer.from([0]), Buffer.from(rgba.subarray(0, 12)), Buffer.from([0]), Buffer.from(rgba.subarray(12))]));
    expect(c[2].data.length).toBe(0);
  });

  test('bad sizes are refused', () => {
    expect(() => encodePng(2, 2, new Uint8Array(4))).toThrow(/expected 16 RGBA bytes, got 4/);
    expect(() => encodePng(0, 2, new Uint8Array(0))).toThrow(/expected positive integers/);
  });

  const python = spawnSync('python3', ['-c', 'import zlib, binascii'], { encoding: 'utf8' }).status === 0;
  (python ? test : test.skip)('an independent decoder (Python zlib and binascii) reads the same pixels', () => {
    const dir = mkdtempSync(join(tmpdir(), 'harmonia-png-'));
    try {
      writeFileSync(join(dir, 'a.png'), png);
      const script = [
        'import sys, zlib, struct, binascii',
        'b = open(sys.argv[1], "rb").read()',
        'assert b[:8] == b"\\x89PNG\\r\\n\\x1a\\n"',
        'o, idat = 8, b""',
        'while o < len(b):',
        '  n, = struct.unpack(">I", b[o:o+4]); t = b[o+4:o+8]; d = b[o+8:o+8+n]',
        '  assert struct.unpack(">I", b[o+8+n:o+12+n])[0] == binascii.crc32(t + d) & 0xffffffff',
        '  if t == b"IHDR": w, h = struct.unpack(">II", d[:8])',
        '  if t == b"IDAT": idat += d',
        '  o += 12 + n',
        'raw = zlib.decompress(idat)',
        'rows = [raw[y*(w*4+1):(y+1)*(w*4+1)] for y in range(h)]',
        'assert all(r[0] == 0 for r in rows)',
        'print(w, h, ",".join(str(x) for r in rows for x in r[1:]))',
      ].join('\n');
      const r = spawnSync('python3', ['-c', script, join(dir, 'a.png')], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe(`3 2 ${[...rgba].join(',')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('plots', () => {
  test('text uses the bitmap font (lower case as capitals)', () => {
    const c = new Canvas(20, 10);
    c.text(1, 1, 'i', [0, 0, 0]);
    let dark = 0;
    for (let i = 0; i < 20 * 10; i++) if (c.rgba[i * 4] === 0) dark++;
    expect(dark).toBe(11); // the 5x7 'I': 3 + 5 x 1 + 3 pixels
  });

  test('nice ticks', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(-3, 17)).toEqual([0, 5, 10, 15]);
  });

  test('a chart is a PNG of the requested size with the series drawn in its colour', () => {
    const png = chart({ title: 'ROC', xLabel: 'FPR', yLabel: 'TPR', x: [0, 1], y: [0, 1], width: 300, height: 200, series: [{ name: 'model', kind: 'line', points: [[0, 0], [0.2, 0.8], [1, 1]], color: [214, 39, 40] }] });
    const c = chunks(png);
    expect([c[0].data.readUInt32BE(0), c[0].data.readUInt32BE(4)]).toEqual([300, 200]);
    const raw = inflateSync(c[1].data);
    let red = 0;
    for (let y = 0; y < 200; y++) for (let x = 0; x < 300; x++) {
      const o = y * 1201 + 1 + x * 4;
      if (raw[o] === 214 && raw[o + 1] === 39 && raw[o + 2] === 40) red++;
    }
    expect(red).toBeGreaterThan(100);
  });
});
