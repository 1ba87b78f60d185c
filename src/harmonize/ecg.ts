import { InputError } from '../model/errors.js';
import type { SignalChannel, SignalRecording } from '../sources/signal-recording.js';
import { runStep, type NdArray, type StepProvenance } from './provenance.js';
import { butterworth, interpolateNaN, medianFilter, movingAverage, rationalApproximation, resamplePoly, sosfiltfilt } from './signal.js';

// Builtins bound once: hot loops then skip the global lookup (slow in jest's vm contexts, free elsewhere).
const { abs, floor, log, max, min, round, sqrt } = Math;
const INF = Number.POSITIVE_INFINITY;

// ECG and PPG harmonisation: one lead (or the pleth channel) at a common rate, gaps bridged, baseline
// wander removed, band-passed, beats (R peaks or pulse peaks) detected, beat-interval (HRV) features
// that also measure irregularity (atrial fibrillation), and fixed-length windows of the clean signal.
// ECG steps: ecg.gaps -> ecg.resample -> ecg.baseline -> ecg.bandpass -> ecg.rpeaks -> ecg.hrv, ecg.amplitude, ecg.windows.
// PPG steps: ppg.gaps -> ppg.resample -> ppg.bandpass -> ppg.peaks -> ppg.hrv, ppg.amplitude, ppg.windows.

export const DEFAULT_ECG_CONFIG = {
  version: '1',
  /** Common sampling rate (Hz). */
  samplingRate: 250,
  /** Leads to use, in order of preference (case-insensitive); else the first channel in volts. */
  leads: ['II', 'MLII', 'ECG', 'ECG1', 'I', 'V5', 'V1', 'V2', 'III', 'aVF'],
  /** Baseline wander: the median of the median (two windows, s) is subtracted (de Chazal et al. 2004). */
  baselineWindowsSeconds: [0.2, 0.6],
  /** Zero-phase Butterworth band-pass (Hz), order per pass. */
  bandpass: { low: 0.5, high: 40, order: 2 },
  /** R-peak detection (Pan & Tompkins 1985, zero-phase variant). */
  rPeaks: { bandLow: 5, bandHigh: 15, integrationSeconds: 0.15, refractorySeconds: 0.2, tWaveSeconds: 0.36, searchBackFactor: 1.66, locateSeconds: 0.08 },
  /** Sample entropy of the RR series: template length m and tolerance r x SD. */
  sampleEntropy: { m: 2, r: 0.2 },
  /** Non-overlapping windows of the filtered lead (s); a record shorter than one is zero-padded. */
  windowSeconds: 10,
  /** Fewer beats than this is an error (HRV is undefined). */
  minBeats: 5,
};

export type EcgConfig = typeof DEFAULT_ECG_CONFIG;

export const DEFAULT_PPG_CONFIG = {
  version: '1',
  samplingRate: 125,
  channels: ['PLETH', 'PPG', 'PULSE', 'PLETHYSMOGRAM', 'SPO2 WAVE'],
  /** Zero-phase Butterworth band-pass (Hz), order per pass (Elgendi et al. 2013). */
  bandpass: { low: 0.5, high: 8, order: 2 },
  /** Two moving averages (s) and the offset factor of Elgendi et al. (2013). */
  peaks: { peakWindowSeconds: 0.111, beatWindowSeconds: 0.667, offset: 0.02, refractorySeconds: 0.3 },
  sampleEntropy: { m: 2, r: 0.2 },
  windowSeconds: 10,
  minBeats: 5,
};

export type PpgConfig = typeof DEFAULT_PPG_CONFIG;

export interface BeatResult {
  features: Record<string, number>;
  arrays: Record<string, NdArray>;
  provenance: StepProvenance[];
  /** The label of the channel used. */
  channel: string;
  samplingRate: number;
  beats: number;
  windows: number;
  /** The record was shorter than one window and was zero-padded. */
  windowPadded: boolean;
}

// ---- Steps --------------------------------------------------------------------------------------

/** Bridges NaN runs (invalid samples) by linear interpolation. */
export function bridgeGaps(x: Float64Array): Float64Array {
  const y = Float64Array.from(x);
  interpolateNaN(y);
  return y;
}

export function resampleLead(x: Float64Array, p: { up: number; down: number }): Float64Array {
  return resamplePoly(x, p.up, p.down, 'mean');
}

/** Subtracts the baseline estimated by two running medians (windows in samples, made odd). */
export function removeBaseline(x: Float64Array, p: { windows: number[] }): Float64Array {
  const baseline = p.windows.reduce((b, w) => medianFilter(b, w), x as Float64Array);
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i] - baseline[i];
  return y;
}

export function bandpassLead(x: Float64Array, p: { fs: number; low: number; high: number; order: number }): Float64Array {
  return sosfiltfilt(butterworth(p.order, [p.low, p.high], 'bandpass', p.fs), x);
}

type RPeakParams = EcgConfig['rPeaks'] & { fs: number };

/**
 * R peaks (sample indices) by a zero-phase Pan-Tompkins: 5-15 Hz band-pass, five-point derivative,
 * squaring, 150 ms moving integration; adaptive signal/noise thresholds on the integrated peaks,
 * a 200 ms refractory period, T-wave rejection by slope within 360 ms, search-back at 1.66 x the mean RR;
 * each detection is placed on the largest deflection of the ECG (of the record's dominant polarity)
 * within 80 ms.
 */
export function detectRPeaks(ecg: Float64Array, p: RPeakParams): Int32Array {
  const fs = p.fs, n = ecg.length;
  const band = sosfiltfilt(butterworth(2, [p.bandLow, p.bandHigh], 'bandpass', fs), ecg);
  const slope = new Float64Array(n);
  for (let i = 2; i < n - 2; i++) slope[i] = (2 * band[i + 2] + band[i + 1] - band[i - 1] - 2 * band[i - 2]) * (fs / 8);
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) sq[i] = slope[i] * slope[i];
  const mwi = movingAverage(sq, max(1, round(p.integrationSeconds * fs)));
  const candidates = localMaxima(mwi, round(0.1 * fs));
  const refractory = round(p.refractorySeconds * fs), tWave = round(p.tWaveSeconds * fs);
  // Initial levels from the whole record, robust to an artefact at the start: the median of the 2 s
  // maxima stands for a QRS peak, half the median of the integrated signal for noise.
  const win = max(1, 2 * fs);
  const maxima: number[] = [];
  for (let s = 0; s < n; s += win) {
    let m = 0;
    for (let i = s; i < min(n, s + win); i++) m = max(m, mwi[i]);
    maxima.push(m);
  }
  let spki = median(maxima);
  let npki = 0.5 * median(mwi);
  const qrs: number[] = [];
  const qrsSlope: number[] = [];
  const rr: number[] = [];
  const maxSlope = (at: number) => {
    let m = 0;
    for (let i = max(0, at - round(0.075 * fs)); i <= min(n - 1, at); i++) m = max(m, abs(slope[i]));
    return m;
  };
  const accept = (at: number, peak: number, searchBack: boolean) => {
    if (qrs.length) rr.push(at - qrs[qrs.length - 1]);
    qrs.push(at);
    qrsSlope.push(maxSlope(at));
    spki = searchBack ? 0.25 * peak + 0.75 * spki : 0.125 * peak + 0.875 * spki;
  };
  let ci = 0;
  for (; ci < candidates.length; ci++) {
    const at = candidates[ci], peak = mwi[at];
    const threshold = npki + 0.25 * (spki - npki);
    const last = qrs[qrs.length - 1];
    // Search back when too long has passed since the last beat.
    // Search back when too long has passed since the last beat (1 s assumed before two beats are known);
    // when nothing qualifies, the signal level halves so that a run of missed beats cannot last.
    const from = last ?? -refractory;
    const recent = rr.slice(-8);
    const meanRR = recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : fs;
    if (at - from > p.searchBackFactor * meanRR) {
      let best = -1;
      for (let k = ci - 1; k >= 0 && candidates[k] > from; k--) {
        const c = candidates[k];
        if (c - from > refractory && mwi[c] > 0.5 * threshold && (best < 0 || mwi[c] > mwi[best])) best = c;
      }
      if (best >= 0) accept(best, mwi[best], true);
      else spki = max(npki, 0.5 * spki);
    }
    const prev = qrs[qrs.length - 1];
    if (prev !== undefined && at - prev < refractory) continue;
    if (peak > threshold) {
      if (prev !== undefined && at - prev < tWave && maxSlope(at) < 0.5 * qrsSlope[qrsSlope.length - 1]) {
        npki = 0.125 * peak + 0.875 * npki; // a T wave
        continue;
      }
      accept(at, peak, false);
    } else {
      npki = 0.125 * peak + 0.875 * npki;
    }
  }
  return locatePeaks(ecg, qrs, round(p.locateSeconds * fs));
}

function median(xs: ArrayLike<number>): number {
  if (!xs.length) return 0;
  const s = Float64Array.from(xs).sort();
  return s[floor(s.length / 2)];
}

/** Indices that are the maximum of `x` within `radius` samples on either side (first of ties). */
function localMaxima(x: Float64Array, radius: number): number[] {
  const out: number[] = [];
  const n = x.length;
  for (let i = 1; i < n - 1; i++) {
    if (!(x[i] > x[i - 1] && x[i] >= x[i + 1])) continue;
    let isMax = true;
    for (let k = max(0, i - radius); k <= min(n - 1, i + radius) && isMax; k++) if (x[k] > x[i]) isMax = false;
    if (isMax && (out.length === 0 || i - out[out.length - 1] > radius)) out.push(i);
  }
  return out;
}

/** Moves each detection to the ECG's extremum of the dominant polarity within `radius` samples. */
function locatePeaks(ecg: Float64Array, detections: number[], radius: number): Int32Array {
  let up = 0, down = 0;
  for (const d of detections) {
    let mx = -INF, mn = INF;
    for (let i = max(0, d - radius); i <= min(ecg.length - 1, d + radius); i++) {
      mx = max(mx, ecg[i]);
      mn = min(mn, ecg[i]);
    }
    if (mx >= -mn) up++;
    else down++;
  }
  const sign = up >= down ? 1 : -1;
  const out: number[] = [];
  for (const d of detections) {
    let best = d, bestV = -INF;
    for (let i = max(0, d - radius); i <= min(ecg.length - 1, d + radius); i++) {
      if (sign * ecg[i] > bestV) {
        bestV = sign * ecg[i];
        best = i;
      }
    }
    if (out.length === 0 || best > out[out.length - 1]) out.push(best);
  }
  return Int32Array.from(out);
}

/**
 * Pulse peaks of a PPG (Elgendi et al. 2013): the band-passed signal clipped at zero and squared, a
 * peak moving average (111 ms) against a beat moving average (667 ms) plus an offset (0.02 x the mean);
 * blocks where the first exceeds the second and are at least the peak window wide hold one systolic peak
 * each, its maximum; peaks closer than the refractory period keep the larger.
 */
export function detectPulsePeaks(ppg: Float64Array, p: PpgConfig['peaks'] & { fs: number }): Int32Array {
  const n = ppg.length, fs = p.fs;
  const y = new Float64Array(n);
  let mean = 0;
  for (let i = 0; i < n; i++) {
    y[i] = ppg[i] > 0 ? ppg[i] * ppg[i] : 0;
    mean += y[i];
  }
  mean /= n;
  const w1 = max(1, round(p.peakWindowSeconds * fs)), w2 = max(1, round(p.beatWindowSeconds * fs));
  const maPeak = movingAverage(y, w1), maBeat = movingAverage(y, w2);
  const alpha = p.offset * mean;
  const peaks: number[] = [];
  const refractory = round(p.refractorySeconds * fs);
  for (let i = 0; i < n; ) {
    if (!(maPeak[i] > maBeat[i] + alpha)) {
      i++;
      continue;
    }
    const start = i;
    while (i < n && maPeak[i] > maBeat[i] + alpha) i++;
    if (i - start < w1) continue;
    let best = start;
    for (let k = start; k < i; k++) if (ppg[k] > ppg[best]) best = k;
    const last = peaks[peaks.length - 1];
    if (last !== undefined && best - last < refractory) {
      if (ppg[best] > ppg[last]) peaks[peaks.length - 1] = best;
    } else peaks.push(best);
  }
  return Int32Array.from(peaks);
}

/**
 * Beat-interval features from peak indices at `fs`, in this order: mean interval (ms), SDNN (ms),
 * RMSSD (ms), pNN50 (fraction), coefficient of variation, normalised RMSSD (RMSSD / mean), sample
 * entropy (m, r x SD), turning-point ratio (turning points / (N - 2); 2/3 for a random series), rate (/min).
 */
export function intervalFeatures(peaks: Int32Array, p: { fs: number; m: number; r: number }): Float64Array {
  const rr = new Float64Array(max(0, peaks.length - 1));
  for (let i = 1; i < peaks.length; i++) rr[i - 1] = ((peaks[i] - peaks[i - 1]) / p.fs) * 1000;
  const N = rr.length;
  let mean = 0;
  for (const v of rr) mean += v;
  mean /= N;
  let varSum = 0;
  for (const v of rr) varSum += (v - mean) ** 2;
  const sd = sqrt(varSum / max(1, N - 1));
  let ss = 0, nn50 = 0;
  for (let i = 1; i < N; i++) {
    const d = rr[i] - rr[i - 1];
    ss += d * d;
    if (abs(d) > 50) nn50++;
  }
  const rmssd = sqrt(ss / max(1, N - 1));
  let turning = 0;
  for (let i = 1; i < N - 1; i++) if ((rr[i] > rr[i - 1] && rr[i] > rr[i + 1]) || (rr[i] < rr[i - 1] && rr[i] < rr[i + 1])) turning++;
  return Float64Array.from([
    mean, sd, rmssd, N > 1 ? nn50 / (N - 1) : 0, sd / mean, rmssd / mean,
    sampleEntropy(rr, p.m, p.r * sd), N > 2 ? turning / (N - 2) : 0, 60000 / mean,
  ]);
}

/**
 * Sample entropy (Richman & Moorman 2000): -ln(A / B), B the pairs of length-m templates within
 * tolerance (Chebyshev), A the same for m + 1, self-matches excluded, N - m templates for both. When no
 * pair matches, the bound ln((N - m - 1)(N - m) / 2) is returned so the feature is always defined.
 */
export function sampleEntropy(x: Float64Array, m: number, tolerance: number): number {
  const N = x.length;
  const templates = N - m;
  if (templates < 2) return 0;
  let A = 0, B = 0;
  for (let i = 0; i < templates; i++) {
    for (let j = i + 1; j < templates; j++) {
      let k = 0;
      while (k < m && abs(x[i + k] - x[j + k]) <= tolerance) k++;
      if (k < m) continue;
      B++;
      if (i + m < N && j + m < N && abs(x[i + m] - x[j + m]) <= tolerance) A++;
    }
  }
  const bound = log(((templates - 1) * templates) / 2);
  return A === 0 || B === 0 ? bound : -log(A / B);
}

/** Amplitude of the cleaned signal: RMS and the span between its 1st and 99th percentiles (the signal's unit). */
export function amplitudeFeatures(x: Float64Array): Float64Array {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
  const sorted = Float64Array.from(x).sort();
  const q = (p: number) => sorted[min(sorted.length - 1, max(0, round(p * (sorted.length - 1))))];
  return Float64Array.from([sqrt(ss / max(1, x.length)), q(0.99) - q(0.01)]);
}

/** Non-overlapping windows of `length` samples: [windows, length]; a shorter signal is zero-padded to one. */
export function cutWindows(x: Float64Array, p: { length: number }): Float32Array {
  const count = max(1, floor(x.length / p.length));
  const out = new Float32Array(count * p.length);
  for (let i = 0; i < min(x.length, out.length); i++) out[i] = x[i];
  return out;
}

// ---- Harmonizers --------------------------------------------------------------------------------

const VOLT_UNITS: Record<string, number> = { mv: 1, uv: 1e-3, 'µv': 1e-3, 'μv': 1e-3, v: 1e3 };

function pickChannel(rec: SignalRecording, preferred: string[], what: string, accept: (c: SignalChannel) => boolean): SignalChannel {
  const upper = preferred.map((p) => p.toUpperCase());
  const norm = (l: string) => l.trim().toUpperCase().replace(/^(ECG|EKG|LEAD)\s+(?=\S)/, '');
  for (const p of upper) {
    const hit = rec.channels.find((c) => norm(c.label) === p || c.label.trim().toUpperCase() === p);
    if (hit) return hit;
  }
  const fallback = rec.channels.find(accept);
  if (!fallback) throw new InputError(`no ${what} channel (looked for ${preferred.join(', ')})`, rec.file, rec.id, 'channels');
  return fallback;
}

const HRV_NAMES = (interval: string, rate: string) => [`mean${interval}`, 'sdnn', 'rmssd', 'pnn50', `cv${interval}`, 'nRMSSD', 'sampleEntropy', 'turningPointRatio', rate];

interface BeatPipeline {
  modality: 'ecg' | 'ppg';
  channel: SignalChannel;
  scale: number;
  samplingRate: number;
  windowSeconds: number;
  minBeats: number;
  sampleEntropy: { m: number; r: number };
  clean: (x: Float64Array, fs: number, provenance: StepProvenance[]) => Float64Array;
  detect: (x: Float64Array, fs: number) => { value: Int32Array; provenance: StepProvenance };
  names: string[];
}

function runBeats(rec: SignalRecording, p: BeatPipeline): BeatResult {
  const m = p.modality;
  if (!(p.samplingRate > 0)) throw new InputError(`samplingRate must be > 0 Hz, got ${p.samplingRate}`, `${m.toUpperCase()} config`, rec.id, 'samplingRate');
  const ch = p.channel;
  const raw = new Float64Array(ch.samples.length);
  let finite = 0;
  for (let i = 0; i < raw.length; i++) {
    raw[i] = ch.samples[i] * p.scale;
    if (raw[i] - raw[i] === 0) finite++; // finite: not NaN, not infinite
  }
  if (finite < raw.length / 2) throw new InputError(`${raw.length - finite} of ${raw.length} samples are not finite`, rec.file, rec.id, `channel ${ch.label}`);
  const provenance: StepProvenance[] = [];
  const gaps = runStep(`${m}.gaps`, '1', raw, { channel: ch.label, invalidSamples: raw.length - finite, method: 'linear interpolation' }, bridgeGaps);
  provenance.push(gaps.provenance);
  const { up, down } = rationalApproximation(p.samplingRate / ch.samplingRate);
  const fs = (ch.samplingRate * up) / down;
  const rs = runStep(`${m}.resample`, '1', gaps.value, { fromHz: ch.samplingRate, toHz: fs, up, down, window: 'kaiser(5.0)', padtype: 'mean' }, resampleLead);
  provenance.push(rs.provenance);
  const clean = p.clean(rs.value, fs, provenance);
  const peaks = p.detect(clean, fs);
  provenance.push(peaks.provenance);
  if (peaks.value.length < p.minBeats) {
    throw new InputError(`${peaks.value.length} beats detected in ${(clean.length / fs).toFixed(1)} s, fewer than the ${p.minBeats} needed for interval features`, rec.file, rec.id, `channel ${ch.label}`);
  }
  const hrv = runStep(`${m}.hrv`, '1', peaks.value, { fs, ...p.sampleEntropy }, intervalFeatures);
  provenance.push(hrv.provenance);
  const amp = runStep(`${m}.amplitude`, '1', clean, { percentiles: [1, 99] }, amplitudeFeatures);
  provenance.push(amp.provenance);
  const length = round(p.windowSeconds * fs);
  const win = runStep(`${m}.windows`, '1', clean, { length, windowSeconds: p.windowSeconds }, cutWindows);
  provenance.push(win.provenance);
  const features: Record<string, number> = {};
  p.names.forEach((name, i) => (features[name] = hrv.value[i]));
  features.signalRms = amp.value[0];
  features.amplitudeRange = amp.value[1];
  const intervals = new Float32Array(peaks.value.length - 1);
  for (let i = 1; i < peaks.value.length; i++) intervals[i - 1] = (peaks.value[i] - peaks.value[i - 1]) / fs;
  const windows = win.value.length / length;
  return {
    features,
    arrays: {
      windows: { data: win.value, shape: [windows, length] },
      peaks: { data: peaks.value, shape: [peaks.value.length] },
      intervals: { data: intervals, shape: [intervals.length] },
    },
    provenance,
    channel: ch.label,
    samplingRate: fs,
    beats: peaks.value.length,
    windows,
    windowPadded: clean.length < length,
  };
}

/**
 * Harmonizes an ECG recording (one lead: see `config.leads`). Features: heartRate (/min), meanRR, sdnn,
 * rmssd (ms), pnn50, cvRR, nRMSSD, turningPointRatio (fractions), sampleEntropy, signalRms and
 * amplitudeRange (mV, of the cleaned lead: these carry the device's gain). Arrays: `windows`
 * [windows, samples] (mV, float32), `peaks` (R-peak sample indices at the common rate), `intervals` (s).
 */
export function harmonizeEcg(rec: SignalRecording, config: EcgConfig = DEFAULT_ECG_CONFIG): BeatResult {
  const channel = pickChannel(rec, config.leads, 'ECG', (c) => VOLT_UNITS[c.unit.trim().toLowerCase()] !== undefined);
  const scale = VOLT_UNITS[channel.unit.trim().toLowerCase()] ?? 1;
  return runBeats(rec, {
    modality: 'ecg',
    channel,
    scale,
    samplingRate: config.samplingRate,
    windowSeconds: config.windowSeconds,
    minBeats: config.minBeats,
    sampleEntropy: config.sampleEntropy,
    clean: (x, fs, provenance) => {
      const windows = config.baselineWindowsSeconds.map((s) => round(s * fs) | 1);
      const bl = runStep('ecg.baseline', '1', x, { windows, windowsSeconds: config.baselineWindowsSeconds, method: 'median of median' }, removeBaseline);
      provenance.push(bl.provenance);
      const bp = runStep('ecg.bandpass', '1', bl.value, { fs, ...config.bandpass }, bandpassLead);
      provenance.push(bp.provenance);
      return bp.value;
    },
    detect: (x, fs) => runStep('ecg.rpeaks', '1', x, { fs, ...config.rPeaks }, detectRPeaks),
    names: HRV_NAMES('RR', 'heartRate'),
  });
}

/**
 * Harmonizes a PPG channel (see `config.channels`): features meanIBI, sdnn, rmssd (ms), pnn50, cvIBI,
 * nRMSSD, sampleEntropy, turningPointRatio, pulseRate (/min), signalRms and amplitudeRange (the channel's
 * unit); arrays `windows`, `peaks`, `intervals`.
 */
export function harmonizePpg(rec: SignalRecording, config: PpgConfig = DEFAULT_PPG_CONFIG): BeatResult {
  const channel = pickChannel(rec, config.channels, 'PPG', () => false);
  return runBeats(rec, {
    modality: 'ppg',
    channel,
    scale: 1,
    samplingRate: config.samplingRate,
    windowSeconds: config.windowSeconds,
    minBeats: config.minBeats,
    sampleEntropy: config.sampleEntropy,
    clean: (x, fs, provenance) => {
      const bp = runStep('ppg.bandpass', '1', x, { fs, ...config.bandpass }, bandpassLead);
      provenance.push(bp.provenance);
      return bp.value;
    },
    detect: (x, fs) => runStep('ppg.peaks', '1', x, { fs, ...config.peaks }, detectPulsePeaks),
    names: HRV_NAMES('IBI', 'pulseRate'),
  });
}
