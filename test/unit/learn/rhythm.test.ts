import { RHYTHM_FEATURES, rhythmBatch, rhythmFeatures } from '../../../src/learn/rhythm.js';
import { prng } from '../../helpers/prng.js';

const FS = 250;

/** A 10 s window at 250 Hz with a narrow R wave (and a small T wave) at each beat time (s). */
function ecgWindow(beats: number[], length = 10 * FS): Float32Array {
  const x = new Float32Array(length);
  for (const t of beats) {
    for (let i = 0; i < length; i++) {
      const s = i / FS - t;
      x[i] += Math.exp(-(s * s) / (2 * 0.012 ** 2)) + 0.2 * Math.exp(-((s - 0.25) ** 2) / (2 * 0.04 ** 2));
    }
  }
  return x;
}

const regular = () => Array.from({ length: 12 }, (_, i) => 0.4 + i * 0.8);
function irregular(seed: number): number[] {
  const rand = prng(seed);
  const out = [0.3];
  while (out[out.length - 1] < 9.4) out.push(out[out.length - 1] + 0.4 + 0.7 * rand());
  return out.slice(0, -1);
}

describe('rhythmFeatures', () => {
  test('counts the beats of a regular rhythm and finds it regular', () => {
    const f = rhythmFeatures(ecgWindow(regular()));
    expect(f).toHaveLength(RHYTHM_FEATURES);
    expect(f[0] * 10).toBeCloseTo(12, 0); // beats per 10 s
    expect(f[1]).toBeCloseTo(0.8, 1); // mean RR (s)
    expect(f[5]).toBeLessThan(0.05); // coefficient of variation x 5
    expect(f[13]).toBe(1);
  });

  test('an irregularly irregular rhythm scores higher on every variability feature', () => {
    const reg = rhythmFeatures(ecgWindow(regular()));
    for (const seed of [1, 2, 3]) {
      const irr = rhythmFeatures(ecgWindow(irregular(seed)));
      for (const k of [2, 3, 5, 6, 10, 11, 12]) expect(irr[k]).toBeGreaterThan(reg[k]);
    }
  });

  test('a zero-padded tail is not read as missing beats', () => {
    const short = ecgWindow(regular().filter((t) => t < 6));
    short.fill(0, 6.2 * FS);
    const f = rhythmFeatures(short);
    // 7 beats in the first ~6 s: a rate near the full window's 12 per 10 s, not 7 per 10 s.
    expect(f[0] * 10).toBeGreaterThan(10.5);
    expect(f[0] * 10).toBeLessThan(13);
    expect(f[5]).toBeLessThan(0.05);
  });

  test('a window without beats gives zeros and the no-rhythm flag', () => {
    expect([...rhythmFeatures(new Float32Array(10 * FS))]).toEqual(new Array(RHYTHM_FEATURES).fill(0));
    const two = rhythmFeatures(ecgWindow([2, 6]));
    expect(two[13]).toBe(0);
  });

  test('a batch is its windows one after another', () => {
    const a = ecgWindow(regular());
    const b = ecgWindow(irregular(4));
    const x = new Float32Array(a.length * 2);
    x.set(a);
    x.set(b, a.length);
    const out = rhythmBatch(x, 2);
    expect([...out.subarray(0, RHYTHM_FEATURES)]).toEqual([...rhythmFeatures(a)]);
    expect([...out.subarray(RHYTHM_FEATURES)]).toEqual([...rhythmFeatures(b)]);
  });
});
