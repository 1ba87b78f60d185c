// Shared signal processing for EEG, ECG and PPG, on typed arrays, written to give the same numbers as
// SciPy (checked in test/unit/harmonize/signal.test.ts against values computed with scipy 1.17):
// Butterworth design as second-order sections (`scipy.signal.butter(..., output='sos')`), zero-phase
// forward-backward filtering with odd padding and steady-state initial conditions (`sosfiltfilt`),
// notch filters (`iirnotch` + `filtfilt`), polyphase resampling with a Kaiser-windowed sinc
// (`resample_poly`), Welch's PSD (Hann, 50 % overlap, `welch`), and z-scoring.

import type { SampleArray } from '../sources/signal-recording.js';

// Builtins bound once: hot loops then skip the global lookup (slow in jest's vm contexts, free elsewhere).
const { PI, abs, ceil, cos, floor, hypot, log, log2, max, min, sin, sqrt, tan } = Math;

export type Signal = SampleArray | Float64Array;

// ---- Butterworth design ---------------------------------------------------------------------------

type C = [number, number];
const cadd = (a: C, b: C): C => [a[0] + b[0], a[1] + b[1]];
const csub = (a: C, b: C): C => [a[0] - b[0], a[1] - b[1]];
const cmul = (a: C, b: C): C => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]];
const cdiv = (a: C, b: C): C => {
  const d = b[0] * b[0] + b[1] * b[1];
  return [(a[0] * b[0] + a[1] * b[1]) / d, (a[1] * b[0] - a[0] * b[1]) / d];
};
const cscale = (a: C, s: number): C => [a[0] * s, a[1] * s];
function csqrt(a: C): C {
  const r = hypot(a[0], a[1]);
  const re = sqrt((r + a[0]) / 2);
  const im = sqrt(max(0, (r - a[0]) / 2));
  return [re, a[1] < 0 ? -im : im];
}

export type FilterType = 'lowpass' | 'highpass' | 'bandpass' | 'bandstop';

/**
 * Second-order sections: `[b0, b1, b2, 1, a1, a2]` per section, one after another (the layout of
 * SciPy's `sos` arrays, flattened).
 */
export type Sos = Float64Array;

/**
 * A digital Butterworth filter as second-order sections (analog prototype, frequency pre-warping,
 * bilinear transform, as `scipy.signal.butter(order, cutoff, btype, fs=fs, output='sos')`).
 * `cutoff` in Hz: one number for low/high-pass, [low, high] for band-pass/stop.
 */
export function butterworth(order: number, cutoff: number | [number, number], type: FilterType, fs: number): Sos {
  if (!Number.isInteger(order) || order < 1) throw new Error(`filter order must be a positive integer, got ${order}`);
  const edges = typeof cutoff === 'number' ? [cutoff] : cutoff;
  if (edges.length !== (type === 'bandpass' || type === 'bandstop' ? 2 : 1)) throw new Error(`${type} needs ${type.startsWith('band') ? 'two cutoffs' : 'one cutoff'}`);
  for (const f of edges) if (!(f > 0 && f < fs / 2)) throw new Error(`cutoff ${f} Hz must lie strictly between 0 and the Nyquist frequency ${fs / 2} Hz`);
  if (edges.length === 2 && !(edges[0] < edges[1])) throw new Error(`band edges must increase, got ${edges.join(', ')}`);
  // Pre-warp (SciPy works at fs = 2 after normalising to Nyquist).
  const warped = edges.map((f) => 4 * tan((PI * (f / (fs / 2))) / 2));
  const proto: C[] = [];
  for (let m = -order + 1; m < order; m += 2) proto.push([-cos((PI * m) / (2 * order)), -sin((PI * m) / (2 * order))]);
  let zeros: C[] = [];
  let poles: C[] = [];
  let gain = 1;
  if (type === 'lowpass') {
    poles = proto.map((p) => cscale(p, warped[0]));
    gain = warped[0] ** order;
  } else if (type === 'highpass') {
    poles = proto.map((p) => cdiv([warped[0], 0], p));
    zeros = proto.map(() => [0, 0] as C);
    gain = 1 / realProduct(proto.map((p) => cscale(p, -1)));
  } else {
    const bw = warped[1] - warped[0];
    const wo2 = warped[0] * warped[1];
    for (const p of proto) {
      const base = type === 'bandpass' ? cscale(p, bw / 2) : cdiv([bw / 2, 0], p);
      const root = csqrt(csub(cmul(base, base), [wo2, 0]));
      poles.push(cadd(base, root), csub(base, root));
    }
    if (type === 'bandpass') {
      zeros = proto.map(() => [0, 0] as C);
      gain = bw ** order;
    } else {
      for (let i = 0; i < order; i++) zeros.push([0, sqrt(wo2)], [0, -sqrt(wo2)]);
      gain = 1 / realProduct(proto.map((p) => cscale(p, -1)));
    }
  }
  // Bilinear transform at fs = 2: z = (4 + s) / (4 - s); zeros at infinity go to z = -1.
  const four: C = [4, 0];
  let num: C = [1, 0], den: C = [1, 0];
  for (const z of zeros) num = cmul(num, csub(four, z));
  for (const p of poles) den = cmul(den, csub(four, p));
  gain *= cdiv(num, den)[0];
  const zd = zeros.map((z) => cdiv(cadd(four, z), csub(four, z)));
  while (zd.length < poles.length) zd.push([-1, 0]);
  const pd = poles.map((p) => cdiv(cadd(four, p), csub(four, p)));
  return toSos(zd, pd, gain);
}

function realProduct(xs: C[]): number {
  let acc: C = [1, 0];
  for (const x of xs) acc = cmul(acc, x);
  return acc[0];
}

/** Groups roots into conjugate pairs (or pairs of real roots) and returns quadratic coefficients. */
function quadratics(roots: C[]): [number, number, number][] {
  const eps = 1e-10;
  const complex = roots.filter((r) => r[1] > eps).sort((a, b) => a[0] - b[0]);
  const real = roots.filter((r) => abs(r[1]) <= eps).map((r) => r[0]).sort((a, b) => a - b);
  const out: [number, number, number][] = complex.map((r) => [1, -2 * r[0], r[0] * r[0] + r[1] * r[1]]);
  for (let i = 0; i < real.length; i += 2) {
    if (i + 1 < real.length) out.push([1, -(real[i] + real[i + 1]), real[i] * real[i + 1]]);
    else out.push([1, -real[i], 0]);
  }
  return out;
}

function toSos(zeros: C[], poles: C[], gain: number): Sos {
  const dens = quadratics(poles);
  // Pair zeros so each section gets one zero at +1 and one at -1 where both exist (band-pass), else in order.
  const plus = zeros.filter((z) => abs(z[1]) <= 1e-10 && z[0] > 0);
  const minus = zeros.filter((z) => abs(z[1]) <= 1e-10 && z[0] <= 0);
  const complexZeros = zeros.filter((z) => abs(z[1]) > 1e-10);
  const nums: [number, number, number][] = quadratics(complexZeros);
  while (plus.length && minus.length) {
    const a = plus.pop()![0], b = minus.pop()![0];
    nums.push([1, -(a + b), a * b]);
  }
  nums.push(...quadratics([...plus, ...minus]));
  const n = dens.length;
  const sos = new Float64Array(6 * n);
  for (let s = 0; s < n; s++) {
    const b = nums[s] ?? [1, 0, 0];
    const g = s === 0 ? gain : 1;
    sos.set([b[0] * g, b[1] * g, b[2] * g, 1, dens[s][1], dens[s][2]], 6 * s);
  }
  return sos;
}

/** A second-order IIR notch at `f0` Hz with quality factor `q` (`scipy.signal.iirnotch`), as one section. */
export function notch(f0: number, q: number, fs: number): Sos {
  if (!(f0 > 0 && f0 < fs / 2)) throw new Error(`notch frequency ${f0} Hz must lie strictly between 0 and the Nyquist frequency ${fs / 2} Hz`);
  if (!(q > 0)) throw new Error(`notch quality factor must be > 0, got ${q}`);
  const w0 = (2 * PI * f0) / fs;
  const bw = w0 / q;
  const g = 1 / (1 + tan(bw / 2));
  return Float64Array.from([g, -2 * g * cos(w0), g, 1, -2 * g * cos(w0), 2 * g - 1]);
}

/** Frequency response magnitude |H(e^{jw})| of a cascade at `f` Hz. */
export function sosGain(sos: Sos, f: number, fs: number): number {
  const w = (2 * PI * f) / fs;
  const z1: C = [cos(w), -sin(w)];
  const z2 = cmul(z1, z1);
  let h: C = [1, 0];
  for (let s = 0; s < sos.length; s += 6) {
    const num = cadd(cadd([sos[s], 0], cscale(z1, sos[s + 1])), cscale(z2, sos[s + 2]));
    const den = cadd(cadd([1, 0], cscale(z1, sos[s + 4])), cscale(z2, sos[s + 5]));
    h = cmul(h, cdiv(num, den));
  }
  return hypot(h[0], h[1]);
}

/** Steady-state initial conditions of each section for a unit step (`scipy.signal.sosfilt_zi`). */
export function sosZi(sos: Sos): Float64Array {
  const n = sos.length / 6;
  const zi = new Float64Array(2 * n);
  let scale = 1;
  for (let s = 0; s < n; s++) {
    const [b0, b1, b2, , a1, a2] = sos.subarray(6 * s, 6 * s + 6);
    const g = (b0 + b1 + b2) / (1 + a1 + a2);
    zi[2 * s] = scale * (b1 + b2 - (a1 + a2) * g);
    zi[2 * s + 1] = scale * (b2 - a2 * g);
    scale *= g;
  }
  return zi;
}

/** Filters `x` in place through the sections (direct form II transposed); `zi` (2 per section) is updated. */
export function sosfiltInPlace(sos: Sos, x: Float64Array, zi?: Float64Array): void {
  for (let s = 0; s < sos.length / 6; s++) {
    const b0 = sos[6 * s], b1 = sos[6 * s + 1], b2 = sos[6 * s + 2], a1 = sos[6 * s + 4], a2 = sos[6 * s + 5];
    let z1 = zi ? zi[2 * s] : 0, z2 = zi ? zi[2 * s + 1] : 0;
    for (let n = 0; n < x.length; n++) {
      const xn = x[n];
      const yn = b0 * xn + z1;
      z1 = b1 * xn - a1 * yn + z2;
      z2 = b2 * xn - a2 * yn;
      x[n] = yn;
    }
    if (zi) {
      zi[2 * s] = z1;
      zi[2 * s + 1] = z2;
    }
  }
}

/** Causal filtering from rest (`scipy.signal.sosfilt`). */
export function sosfilt(sos: Sos, x: Signal): Float64Array {
  const y = Float64Array.from(x);
  sosfiltInPlace(sos, y);
  return y;
}

/** SciPy's default pad length for `sosfiltfilt`: 3 x (2 x sections + 1 - first-order sections). */
export function defaultPadLength(sos: Sos): number {
  const n = sos.length / 6;
  let zb = 0, za = 0;
  for (let s = 0; s < n; s++) {
    if (sos[6 * s + 2] === 0) zb++;
    if (sos[6 * s + 5] === 0) za++;
  }
  return 3 * (2 * n + 1 - min(zb, za));
}

/**
 * Zero-phase filtering (`scipy.signal.sosfiltfilt`, padtype 'odd'): the signal is extended at both ends
 * by its point reflection about the end samples, filtered forwards from the steady state for its first
 * value, then backwards likewise, and the extension is cut off. The magnitude response is squared and the
 * phase is zero. `padLength` defaults to SciPy's; the signal must be longer than it.
 */
export function sosfiltfilt(sos: Sos, x: Signal, padLength = defaultPadLength(sos)): Float64Array {
  const n = x.length;
  const edge = padLength;
  if (n <= edge) throw new Error(`signal of ${n} samples is too short for zero-phase filtering (needs more than ${edge})`);
  const ext = new Float64Array(n + 2 * edge);
  const first = x[0], last = x[n - 1];
  for (let i = 0; i < edge; i++) {
    ext[i] = 2 * first - x[edge - i];
    ext[edge + n + i] = 2 * last - x[n - 2 - i];
  }
  for (let i = 0; i < n; i++) ext[edge + i] = x[i];
  const zi0 = sosZi(sos);
  const zi = zi0.map((z) => z * ext[0]);
  sosfiltInPlace(sos, ext, zi);
  ext.reverse();
  const zb = zi0.map((z) => z * ext[0]);
  sosfiltInPlace(sos, ext, zb);
  ext.reverse();
  return ext.slice(edge, edge + n);
}

// ---- Resampling -----------------------------------------------------------------------------------

function besselI0(x: number): number {
  let sum = 1, term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 500; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return sum;
}

/** Symmetric Kaiser window of `n` points (`scipy.signal.windows.kaiser(n, beta, sym=True)`). */
export function kaiser(n: number, beta: number): Float64Array {
  const w = new Float64Array(n);
  const i0b = besselI0(beta);
  for (let i = 0; i < ceil(n / 2); i++) {
    const r = n === 1 ? 0 : (2 * i) / (n - 1) - 1;
    w[i] = w[n - 1 - i] = besselI0(beta * sqrt(max(0, 1 - r * r))) / i0b;
  }
  return w;
}

/** Low-pass FIR by the window method (`scipy.signal.firwin(n, cutoff, window=('kaiser', beta))`), cutoff relative to Nyquist. */
export function firwinKaiser(n: number, cutoff: number, beta: number): Float64Array {
  const h = kaiser(n, beta);
  const alpha = (n - 1) / 2;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const m = cutoff * (i - alpha);
    h[i] *= cutoff * (m === 0 ? 1 : sin(PI * m) / (PI * m));
    sum += h[i];
  }
  for (let i = 0; i < n; i++) h[i] /= sum;
  return h;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** The fraction up/down closest to `ratio` with down <= maxDenominator (continued fractions). */
export function rationalApproximation(ratio: number, maxDenominator = 100000): { up: number; down: number } {
  if (!(ratio > 0) || !Number.isFinite(ratio)) throw new Error(`resampling ratio must be a positive number, got ${ratio}`);
  let [h0, h1, k0, k1] = [0, 1, 1, 0];
  let x = ratio;
  for (let i = 0; i < 64; i++) {
    const a = floor(x);
    const h2 = a * h1 + h0, k2 = a * k1 + k0;
    if (k2 > maxDenominator) break;
    [h0, h1, k0, k1] = [h1, h2, k1, k2];
    if (abs(h1 / k1 - ratio) <= 1e-12 * ratio) break;
    const frac = x - a;
    if (frac < 1e-15) break;
    x = 1 / frac;
  }
  const g = gcd(h1, k1);
  return { up: h1 / g, down: k1 / g };
}

export type PadType = 'constant' | 'mean';

const FILTERS = new Map<string, { phases: Float64Array[]; taps: number[] }>();

/**
 * The anti-aliasing filter of resample_poly for up/down (times up), split into its `up` phases
 * (phase p holds h[p], h[p + up], ...); the last few designs are kept.
 */
function polyphaseFilter(up: number, down: number): { phases: Float64Array[]; taps: number[] } {
  const key = `${up}/${down}`;
  let f = FILTERS.get(key);
  if (!f) {
    const maxRate = max(up, down);
    const h = firwinKaiser(2 * 10 * maxRate + 1, 1 / maxRate, 5.0);
    const phases: Float64Array[] = [];
    for (let p = 0; p < up; p++) {
      const ph = new Float64Array(ceil((h.length - p) / up));
      for (let k = 0; k < ph.length; k++) ph[k] = h[p + k * up] * up;
      phases.push(ph);
    }
    f = { phases, taps: phases.map((p) => p.length) };
    if (FILTERS.size >= 8) FILTERS.delete(FILTERS.keys().next().value!);
    FILTERS.set(key, f);
  }
  return f;
}

/**
 * Polyphase resampling by up/down (`scipy.signal.resample_poly(x, up, down, window=('kaiser', 5.0))`):
 * upsample by `up`, low-pass with a Kaiser-windowed sinc of 20 x max(up, down) + 1 taps cut at the lower
 * Nyquist (the anti-aliasing filter), downsample by `down`. Only the kept outputs are computed, each from
 * the taps that meet input samples. `padtype 'mean'` removes the mean before and adds it back after, so
 * the ends do not fall towards zero.
 */
export function resamplePoly(x: Signal, up: number, down: number, padtype: PadType = 'constant'): Float64Array {
  if (!Number.isInteger(up) || !Number.isInteger(down) || up < 1 || down < 1) throw new Error(`up and down must be positive integers, got ${up}/${down}`);
  const g = gcd(up, down);
  up /= g;
  down /= g;
  const nIn = x.length;
  if (up === 1 && down === 1) return Float64Array.from(x);
  const nOut = ceil((nIn * up) / down);
  const halfLen = 10 * max(up, down);
  const { phases, taps } = polyphaseFilter(up, down);
  const prePad = down - (halfLen % down);
  const preRemove = floor((halfLen + prePad) / down);
  let background = 0;
  if (padtype === 'mean') {
    for (let i = 0; i < nIn; i++) background += x[i];
    background /= nIn;
  }
  const xs = new Float64Array(nIn);
  for (let i = 0; i < nIn; i++) xs[i] = x[i] - background;
  const y = new Float64Array(nOut);
  // Output m sits at t = (m + preRemove) * down - prePad on the upsampled grid; the taps that meet input
  // samples are h[phase + k * up] against x[iMax - k], with iMax = floor(t / up) and phase = t - iMax * up.
  for (let m = 0; m < nOut; m++) {
    const t = (m + preRemove) * down - prePad;
    const iMax = floor(t / up);
    const phase = t - iMax * up;
    const hp = phases[phase];
    const kEnd = min(taps[phase], iMax + 1);
    let acc = 0;
    let k = iMax >= nIn ? iMax - nIn + 1 : 0;
    for (let i = iMax - k; k < kEnd; k++, i--) acc += hp[k] * xs[i];
    y[m] = acc + background;
  }
  return y;
}

/**
 * Resamples from `fsIn` to `fsOut` Hz by the rational factor closest to their ratio (denominator at most
 * 100,000, so 173.61 -> 128 Hz is exactly 12800/17361). Returns the rate actually reached.
 */
export function resample(x: Signal, fsIn: number, fsOut: number, padtype: PadType = 'mean'): { samples: Float64Array; samplingRate: number; up: number; down: number } {
  if (!(fsIn > 0) || !(fsOut > 0)) throw new Error(`sampling rates must be > 0 Hz, got ${fsIn} -> ${fsOut}`);
  const { up, down } = rationalApproximation(fsOut / fsIn);
  return { samples: resamplePoly(x, up, down, padtype), samplingRate: (fsIn * up) / down, up, down };
}

// ---- FFT and Welch --------------------------------------------------------------------------------

/** An in-place complex FFT of one length: radix-2 when it is a power of two, else Bluestein's chirp-z. */
export class Fft {
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly rev?: Uint32Array;
  private readonly bluestein?: { m: number; fft: Fft; wr: Float64Array; wi: Float64Array; br: Float64Array; bi: Float64Array; ar: Float64Array; ai: Float64Array };

  constructor(readonly n: number) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`FFT length must be a positive integer, got ${n}`);
    const pow2 = (n & (n - 1)) === 0;
    this.cos = new Float64Array(pow2 ? n / 2 : 0);
    this.sin = new Float64Array(pow2 ? n / 2 : 0);
    if (pow2) {
      for (let i = 0; i < n / 2; i++) {
        this.cos[i] = cos((2 * PI * i) / n);
        this.sin[i] = -sin((2 * PI * i) / n);
      }
      const bits = log2(n);
      this.rev = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        let r = 0;
        for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
        this.rev[i] = r;
      }
      return;
    }
    let m = 1;
    while (m < 2 * n - 1) m *= 2;
    const wr = new Float64Array(n), wi = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const a = (PI * ((k * k) % (2 * n))) / n;
      wr[k] = cos(a);
      wi[k] = -sin(a);
    }
    const br = new Float64Array(m), bi = new Float64Array(m);
    br[0] = wr[0];
    bi[0] = -wi[0];
    for (let k = 1; k < n; k++) {
      br[k] = br[m - k] = wr[k];
      bi[k] = bi[m - k] = -wi[k];
    }
    const fft = new Fft(m);
    fft.transform(br, bi);
    this.bluestein = { m, fft, wr, wi, br, bi, ar: new Float64Array(m), ai: new Float64Array(m) };
  }

  /** Forward transform of (re, im) in place. */
  transform(re: Float64Array, im: Float64Array): void {
    if (this.bluestein) return this.chirp(re, im);
    const n = this.n, rev = this.rev!;
    for (let i = 0; i < n; i++) {
      const j = rev[i];
      if (j > i) {
        const tr = re[i], ti = im[i];
        re[i] = re[j];
        im[i] = im[j];
        re[j] = tr;
        im[j] = ti;
      }
    }
    const cos = this.cos, sin = this.sin;
    for (let size = 2; size <= n; size *= 2) {
      const half = size / 2, step = n / size;
      for (let start = 0; start < n; start += size) {
        for (let k = 0, tw = 0; k < half; k++, tw += step) {
          const c = cos[tw], s = sin[tw];
          const a = start + k, b = a + half;
          const tr = re[b] * c - im[b] * s, ti = re[b] * s + im[b] * c;
          re[b] = re[a] - tr;
          im[b] = im[a] - ti;
          re[a] += tr;
          im[a] += ti;
        }
      }
    }
  }

  private chirp(re: Float64Array, im: Float64Array): void {
    const { m, fft, wr, wi, br, bi, ar, ai } = this.bluestein!;
    ar.fill(0);
    ai.fill(0);
    for (let k = 0; k < this.n; k++) {
      ar[k] = re[k] * wr[k] - im[k] * wi[k];
      ai[k] = re[k] * wi[k] + im[k] * wr[k];
    }
    fft.transform(ar, ai);
    for (let k = 0; k < m; k++) {
      const r = ar[k] * br[k] - ai[k] * bi[k];
      ai[k] = -(ar[k] * bi[k] + ai[k] * br[k]); // conjugate, for the inverse by a forward transform
      ar[k] = r;
    }
    fft.transform(ar, ai);
    for (let k = 0; k < this.n; k++) {
      const r = ar[k] / m, i = -ai[k] / m;
      re[k] = r * wr[k] - i * wi[k];
      im[k] = r * wi[k] + i * wr[k];
    }
  }
}

/** Periodic Hann window (`scipy.signal.get_window('hann', n)`, as Welch uses). */
export function hann(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * cos((2 * PI * i) / n);
  return w;
}

export interface Spectrum {
  /** Hz, `k * fs / nperseg` for k = 0 .. nperseg/2. */
  frequencies: Float64Array;
  /** Power spectral density, (unit)^2 / Hz, one-sided. */
  psd: Float64Array;
  segments: number;
}

/**
 * Welch's averaged periodogram (`scipy.signal.welch(x, fs, window='hann', nperseg, noverlap=nperseg // 2,
 * detrend='constant', scaling='density')`): Hann-windowed segments with 50 % overlap, each segment's mean
 * removed, one-sided density scaled by 1 / (fs x sum(w^2)). A signal shorter than `nperseg` is one segment.
 */
export function welch(x: Signal, fs: number, nperseg: number, noverlap = floor(nperseg / 2), fft?: Fft): Spectrum {
  if (!(fs > 0)) throw new Error(`sampling rate must be > 0 Hz, got ${fs}`);
  const n = min(nperseg, x.length);
  if (n < 2) throw new Error(`Welch needs at least 2 samples, got ${x.length}`);
  const overlap = n < nperseg ? floor(n / 2) : noverlap;
  const step = n - overlap;
  const segments = floor((x.length - overlap) / step);
  const w = hann(n);
  let wss = 0;
  for (let i = 0; i < n; i++) wss += w[i] * w[i];
  const plan = fft && fft.n === n ? fft : new Fft(n);
  const bins = floor(n / 2) + 1;
  const psd = new Float64Array(bins);
  const re = new Float64Array(n), im = new Float64Array(n);
  for (let s = 0; s < segments; s++) {
    const off = s * step;
    let mean = 0;
    for (let i = 0; i < n; i++) mean += x[off + i];
    mean /= n;
    for (let i = 0; i < n; i++) {
      re[i] = (x[off + i] - mean) * w[i];
      im[i] = 0;
    }
    plan.transform(re, im);
    for (let k = 0; k < bins; k++) psd[k] += re[k] * re[k] + im[k] * im[k];
  }
  const scale = 1 / (fs * wss * segments);
  for (let k = 0; k < bins; k++) {
    const doubled = k > 0 && !(n % 2 === 0 && k === bins - 1);
    psd[k] *= scale * (doubled ? 2 : 1);
  }
  const frequencies = Float64Array.from({ length: bins }, (_, k) => (k * fs) / n);
  return { frequencies, psd, segments };
}

/** Power in [lo, hi) Hz: the sum of PSD bins whose frequency lies in the band, times the bin width. */
export function bandPower(s: Spectrum, lo: number, hi: number): number {
  const df = s.frequencies.length > 1 ? s.frequencies[1] - s.frequencies[0] : 0;
  let p = 0;
  for (let k = 0; k < s.psd.length; k++) if (s.frequencies[k] >= lo && s.frequencies[k] < hi) p += s.psd[k];
  return p * df;
}

/** The frequency below which `fraction` of the power in [lo, hi) lies (spectral edge frequency). */
export function spectralEdge(s: Spectrum, fraction: number, lo: number, hi: number): number {
  const total = bandPower(s, lo, hi);
  if (!(total > 0)) return lo;
  const df = s.frequencies[1] - s.frequencies[0];
  let acc = 0;
  for (let k = 0; k < s.psd.length; k++) {
    if (s.frequencies[k] < lo || s.frequencies[k] >= hi) continue;
    acc += s.psd[k] * df;
    if (acc >= fraction * total) return s.frequencies[k];
  }
  return hi;
}

/** Shannon entropy of the normalised PSD over [lo, hi), divided by log(bins): 0 (one line) to 1 (white). */
export function spectralEntropy(s: Spectrum, lo: number, hi: number): number {
  let total = 0, bins = 0;
  for (let k = 0; k < s.psd.length; k++) if (s.frequencies[k] >= lo && s.frequencies[k] < hi) {
    total += s.psd[k];
    bins++;
  }
  if (!(total > 0) || bins < 2) return 0;
  let h = 0;
  for (let k = 0; k < s.psd.length; k++) if (s.frequencies[k] >= lo && s.frequencies[k] < hi && s.psd[k] > 0) {
    const p = s.psd[k] / total;
    h -= p * log(p);
  }
  return h / log(bins);
}

// ---- Simple measures and filters ------------------------------------------------------------------

/** Mean and population standard deviation. */
export function meanStd(x: Signal, from = 0, to = x.length): { mean: number; std: number } {
  let m = 0;
  for (let i = from; i < to; i++) m += x[i];
  m /= to - from;
  let v = 0;
  for (let i = from; i < to; i++) v += (x[i] - m) ** 2;
  return { mean: m, std: sqrt(v / (to - from)) };
}

/** (x - mean) / std with the population std (ddof 0); a constant signal becomes zeros. */
export function zscore(x: Signal): Float64Array {
  const { mean, std } = meanStd(x);
  const y = new Float64Array(x.length);
  if (!(std > 0)) return y;
  for (let i = 0; i < x.length; i++) y[i] = (x[i] - mean) / std;
  return y;
}

/** Sum of absolute first differences (Esteller's line length). */
export function lineLength(x: Signal, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from + 1; i < to; i++) s += abs(x[i] - x[i - 1]);
  return s;
}

/**
 * Running median over an odd window of `width` samples, the ends padded with the edge values
 * (`scipy.ndimage.median_filter(x, width, mode='nearest')`). Keeps the window sorted: O(n x width).
 */
export function medianFilter(x: Signal, width: number): Float64Array {
  const w = max(1, width | 1);
  const half = (w - 1) / 2;
  const n = x.length;
  const y = new Float64Array(n);
  if (n === 0) return y;
  const at = (i: number) => x[min(n - 1, max(0, i))];
  const win = new Float64Array(w);
  for (let k = 0; k < w; k++) win[k] = at(k - half);
  win.sort();
  for (let i = 0; i < n; i++) {
    y[i] = win[half];
    const out = at(i - half), inn = at(i + half + 1);
    if (out === inn) continue;
    // Remove `out` (binary search), then insert `inn` keeping order.
    let lo = 0, hi = w - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (win[mid] < out) lo = mid + 1;
      else hi = mid;
    }
    let j = lo;
    if (inn > out) {
      while (j + 1 < w && win[j + 1] < inn) {
        win[j] = win[j + 1];
        j++;
      }
    } else {
      while (j > 0 && win[j - 1] > inn) {
        win[j] = win[j - 1];
        j--;
      }
    }
    win[j] = inn;
  }
  return y;
}

/** Centred moving average over `width` samples (ends use the samples available). */
export function movingAverage(x: Signal, width: number): Float64Array {
  const n = x.length;
  const y = new Float64Array(n);
  const before = floor((width - 1) / 2), after = width - 1 - before;
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i] + x[i];
  for (let i = 0; i < n; i++) {
    const a = max(0, i - before), b = min(n, i + after + 1);
    y[i] = (prefix[b] - prefix[a]) / (b - a);
  }
  return y;
}

/** Replaces NaN runs by linear interpolation between their finite neighbours (edges: nearest). Returns the count. */
export function interpolateNaN(x: Float64Array): number {
  const n = x.length;
  let count = 0;
  let lastGood = -1;
  for (let i = 0; i <= n; i++) {
    if (i < n && x[i] !== x[i]) {
      count++;
      continue;
    }
    if (i - lastGood > 1) {
      const a = lastGood >= 0 ? x[lastGood] : i < n ? x[i] : 0;
      const b = i < n ? x[i] : a;
      for (let k = lastGood + 1; k < i; k++) x[k] = a + ((b - a) * (k - lastGood)) / (i - lastGood);
    }
    lastGood = i;
  }
  return count;
}
