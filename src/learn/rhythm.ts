import { DEFAULT_ECG_CONFIG, detectRPeaks, intervalFeatures } from '../harmonize/index.js';

// The ECG encoder's rhythm token. Atrial fibrillation is an irregularly irregular rhythm: visible in
// the beat-to-beat intervals over a whole window, which a short CPU training barely learns from raw
// 0.1 s patches. The harmonizer's own R-peak detector (the D4.3 beat-interval features) gives the
// encoder those intervals as one more token; no label is involved. Plain JS: the input needs no gradient.

/** Values per window in the rhythm token. */
export const RHYTHM_FEATURES = 14;

const fs = DEFAULT_ECG_CONFIG.samplingRate;
const peakParams = { fs, ...DEFAULT_ECG_CONFIG.rPeaks };
const entropyParams = { fs, ...DEFAULT_ECG_CONFIG.sampleEntropy };

/**
 * Rhythm features of one harmonized ECG window (250 Hz), each scaled to about unit range: beats per
 * 10 s, mean RR (s), SDNN and RMSSD (per 100 ms), pNN50, coefficient of variation and normalised
 * RMSSD (x 5), sample entropy (/ 3), turning-point ratio, the quartiles and maximum of |ΔRR| / mean RR,
 * and a flag that the window had at least three beats (all others 0 without).
 */
export function rhythmFeatures(window: ArrayLike<number>): Float32Array {
  const out = new Float32Array(RHYTHM_FEATURES);
  const x = Float64Array.from(window);
  // A zero-padded tail (the last window of a short record) holds no beats: detect on the signal only.
  let end = x.length;
  while (end > 0 && x[end - 1] === 0) end--;
  if (end < fs) return out;
  const peaks = detectRPeaks(x.subarray(0, end), peakParams);
  out[0] = (peaks.length * 10 * fs) / end / 10;
  if (peaks.length < 3) return out;
  const [mean, sd, rmssd, pnn50, cv, nrmssd, sampEn, turning] = intervalFeatures(peaks, entropyParams);
  const steps: number[] = [];
  for (let i = 2; i < peaks.length; i++) steps.push(Math.abs(peaks[i] - 2 * peaks[i - 1] + peaks[i - 2]) / ((mean / 1000) * fs));
  steps.sort((a, b) => a - b);
  const q = (p: number) => (steps.length ? steps[Math.min(steps.length - 1, Math.round(p * (steps.length - 1)))] : 0);
  const values = [mean / 1000, sd / 100, rmssd / 100, pnn50, cv * 5, nrmssd * 5, sampEn / 3, turning, q(0.25), q(0.5), q(0.75), q(1), 1];
  for (let i = 0; i < values.length; i++) out[i + 1] = Number.isFinite(values[i]) ? Math.min(values[i], 10) : 0;
  return out;
}

/** The rhythm features of a batch of windows [B, L] as [B, RHYTHM_FEATURES]. */
export function rhythmBatch(x: Float32Array, batch: number): Float32Array {
  const L = x.length / batch;
  const out = new Float32Array(batch * RHYTHM_FEATURES);
  for (let b = 0; b < batch; b++) out.set(rhythmFeatures(x.subarray(b * L, (b + 1) * L)), b * RHYTHM_FEATURES);
  return out;
}
