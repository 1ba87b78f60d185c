import { DEFAULT_ECG_CONFIG, DEFAULT_PPG_CONFIG, detectPulsePeaks, detectRPeaks, harmonizeEcg, harmonizePpg, intervalFeatures, removeBaseline, sampleEntropy } from '../../../src/harmonize/ecg.js';
import { InputError } from '../../../src/model/errors.js';
import type { SignalRecording } from '../../../src/sources/signal-recording.js';

let seed = 12345;
const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;

/** Beat times (s) from RR intervals (s), starting at 0.5 s. */
const beatTimes = (rr: number[]) => rr.reduce<number[]>((t, r) => [...t, t[t.length - 1] + r], [0.5]);
const gauss = (t: number, mu: number, sd: number) => Math.exp(-0.5 * ((t - mu) / sd) ** 2);

/** A synthetic ECG (mV): Gaussian P, QRS and T waves at the beat times, 0.3 Hz baseline wander, a little noise. */
function ecg(beats: number[], fs: number, seconds: number, sign = 1): Float32Array {
  return Float32Array.from({ length: Math.round(seconds * fs) }, (_, i) => {
    const t = i / fs;
    let v = 0.4 * Math.sin(2 * Math.PI * 0.3 * t) + 0.02 * (rand() - 0.5);
    for (const b of beats) {
      if (Math.abs(t - b) > 0.6) continue;
      v += sign * (1.2 * gauss(t, b, 0.01) - 0.2 * gauss(t, b - 0.03, 0.008) + 0.15 * gauss(t, b - 0.16, 0.025) + 0.3 * gauss(t, b + 0.25, 0.045));
    }
    return v;
  });
}

function rec(label: string, unit: string, fs: number, samples: Float32Array, more: SignalRecording['channels'] = []): SignalRecording {
  return { file: 'synthetic.hea', format: 'wfdb', id: 'syn', durationSeconds: samples.length / fs, channels: [{ label, unit, samplingRate: fs, samples }, ...more], annotations: [], segments: [{ onset: 0, duration: samples.length / fs }], acquisition: {}, corrections: [], warnings: [] };
}

function matched(found: number[], truth: number[], tol: number): number {
  let n = 0;
  for (const t of truth) if (found.some((f) => Math.abs(f - t) <= tol)) n++;
  return n;
}

const regularRR = Array.from({ length: 40 }, (_, i) => 0.8 + 0.02 * Math.sin(i / 3));
const afRR = Array.from({ length: 50 }, () => 0.4 + 0.7 * rand());

describe('ECG harmonizer', () => {
  test('R peaks of a synthetic ECG at 360 Hz (with baseline wander and T waves) are found within 10 ms', () => {
    const truth = beatTimes(regularRR);
    const r = harmonizeEcg(rec('MLII', 'mV', 360, ecg(truth, 360, 34)));
    expect(r.channel).toBe('MLII');
    expect(r.samplingRate).toBe(250);
    const found = Array.from(r.arrays.peaks.data, (i) => i / r.samplingRate);
    expect(found.length).toBe(truth.length);
    expect(matched(found, truth, 0.01)).toBe(truth.length);
    expect(r.provenance.map((p) => p.step)).toEqual(['ecg.gaps', 'ecg.resample', 'ecg.baseline', 'ecg.bandpass', 'ecg.rpeaks', 'ecg.hrv', 'ecg.amplitude', 'ecg.windows']);
    expect(r.provenance[1].parameters).toMatchObject({ fromHz: 360, toHz: 250, up: 25, down: 36 });
    const mean = regularRR.reduce((a, b) => a + b, 0) / regularRR.length;
    expect(r.features.meanRR).toBeCloseTo(mean * 1000, -0.5);
    expect(r.features.heartRate).toBeCloseTo(60 / mean, 0);
    expect(r.windows).toBe(3);
    expect(r.arrays.windows.shape).toEqual([3, 2500]);
    expect(r.windowPadded).toBe(false);
  });

  test('an inverted lead and an irregular (AF-like) rhythm at 300 Hz: all beats found, irregularity much higher', () => {
    const truth = beatTimes(afRR);
    const af = harmonizeEcg(rec('ECG', 'mV', 300, ecg(truth, 300, 40, -1)));
    const found = Array.from(af.arrays.peaks.data, (i) => i / af.samplingRate);
    expect(matched(found, truth.filter((t) => t < 39.8), 0.015)).toBeGreaterThanOrEqual(truth.filter((t) => t < 39.8).length - 1);
    const sinus = harmonizeEcg(rec('ECG', 'mV', 300, ecg(beatTimes(regularRR), 300, 34)));
    expect(af.features.cvRR).toBeGreaterThan(5 * sinus.features.cvRR);
    expect(af.features.nRMSSD).toBeGreaterThan(5 * sinus.features.nRMSSD);
    expect(af.features.pnn50).toBeGreaterThan(0.6);
    expect(sinus.features.pnn50).toBe(0);
  });

  test('amplitude features scale with the gain; interval features do not', () => {
    const s = ecg(beatTimes(regularRR), 250, 34);
    const a = harmonizeEcg(rec('II', 'mV', 250, s));
    const b = harmonizeEcg(rec('II', 'mV', 250, s.map((v) => 1.3 * v)));
    expect(b.features.signalRms / a.features.signalRms).toBeCloseTo(1.3, 6);
    expect(b.features.amplitudeRange / a.features.amplitudeRange).toBeCloseTo(1.3, 6);
    expect(b.features.meanRR).toBe(a.features.meanRR);
  });

  test('interval features from known peaks: mean, SDNN, RMSSD, pNN50, CV, nRMSSD, turning points, rate', () => {
    const peaks = Int32Array.from([0, 200, 420, 600, 830, 1000]); // at 250 Hz: RR 800, 880, 720, 920, 680 ms
    const f = intervalFeatures(peaks, { fs: 250, m: 2, r: 0.2 });
    const rr = [800, 880, 720, 920, 680];
    const mean = 800, sd = Math.sqrt(rr.reduce((a, v) => a + (v - mean) ** 2, 0) / 4);
    const rmssd = Math.sqrt((80 ** 2 + 160 ** 2 + 200 ** 2 + 240 ** 2) / 4);
    const expected = [mean, sd, rmssd, 1, sd / mean, rmssd / mean, undefined, 1, 75];
    expected.forEach((v, i) => v !== undefined && expect(f[i]).toBeCloseTo(v, 9));
  });

  test('sample entropy agrees with a direct reference implementation; no match gives the documented bound', () => {
    const x = Float64Array.from([800, 810, 790, 805, 795, 820, 780, 800, 815, 785, 800, 790, 810, 805, 795, 800, 812, 788, 801, 799]);
    const sd = 10.3618734335366; // sample SD of x
    expect(sampleEntropy(x, 2, 0.5 * sd)).toBeCloseTo(0.5465437063680699, 12); // A = 11, B = 19
    expect(sampleEntropy(x, 2, 1.0 * sd)).toBeCloseTo(0.42488319396526597, 12); // A = 34, B = 52
    expect(sampleEntropy(Float64Array.from([1, 2, 3, 4, 5, 6]), 2, 0.1)).toBeCloseTo(Math.log((3 * 4) / 2), 12);
  });

  test('baseline removal takes out slow wander and keeps the QRS', () => {
    const fs = 250;
    const x = Float64Array.from({ length: 5000 }, (_, i) => 0.8 * Math.sin((2 * Math.PI * 0.2 * i) / fs) + (i % 200 === 100 ? 1 : 0));
    const y = removeBaseline(x, { windows: [51, 151] });
    expect(Math.max(...Array.from(y.subarray(200, 4800)).map(Math.abs).filter((v, i) => (i + 200) % 200 !== 100))).toBeLessThan(0.02); // 2.5 % of the wander
    expect(y[2100]).toBeCloseTo(1, 1);
  });

  test('a record shorter than one window is zero-padded to one; invalid samples are bridged and counted', () => {
    const samples = ecg(beatTimes(regularRR.slice(0, 8)), 250, 7);
    samples[300] = NaN;
    samples[301] = NaN;
    const r = harmonizeEcg(rec('II', 'uV', 250, samples.map((v) => v * 1000)));
    expect(r.windows).toBe(1);
    expect(r.windowPadded).toBe(true);
    expect(r.provenance[0].parameters).toMatchObject({ channel: 'II', invalidSamples: 2 });
    expect(r.features.meanRR).toBeCloseTo(800, -1.5);
    // µV are converted to mV: the amplitude of the ~1.2 mV R waves is in mV.
    expect(r.features.amplitudeRange).toBeGreaterThan(0.8);
    expect(r.features.amplitudeRange).toBeLessThan(2);
  });

  test('the preferred lead is chosen among several', () => {
    const s = ecg(beatTimes(regularRR), 250, 34);
    const r = harmonizeEcg(rec('V1', 'mV', 250, s, [{ label: 'II', unit: 'mV', samplingRate: 250, samples: s }]));
    expect(r.channel).toBe('II');
  });

  test('bad input gives one clear error naming file, record and field', () => {
    expect(() => harmonizeEcg(rec('ECG', 'mV', 250, new Float32Array(2500)))).toThrow(new InputError('0 beats detected in 10.0 s, fewer than the 5 needed for interval features', 'synthetic.hea', 'syn', 'channel ECG'));
    expect(() => harmonizeEcg(rec('PLETH', 'NU', 250, new Float32Array(2500)))).toThrow(/field channels: no ECG channel \(looked for II, MLII/);
    expect(() => harmonizeEcg(rec('ECG', 'mV', 250, new Float32Array(2500).fill(NaN)))).toThrow(/field channel ECG: 2500 of 2500 samples are not finite/);
    expect(() => harmonizeEcg(rec('ECG', 'mV', 250, new Float32Array(2500)), { ...DEFAULT_ECG_CONFIG, samplingRate: 0 })).toThrow(/ECG config, record syn, field samplingRate/);
  });

  test('R-peak detection alone, at 200 Hz', () => {
    const truth = beatTimes(regularRR.slice(0, 20));
    const x = Float64Array.from(ecg(truth, 200, 17.5));
    const peaks = detectRPeaks(x, { ...DEFAULT_ECG_CONFIG.rPeaks, fs: 200 });
    expect(matched(Array.from(peaks, (i) => i / 200), truth.filter((t) => t < 17.4), 0.015)).toBe(truth.filter((t) => t < 17.4).length);
  });
});

describe('PPG harmonizer', () => {
  /** Pulses: a fast systolic rise and slow decay with a dicrotic bump, peak at each beat time. */
  const ppg = (beats: number[], fs: number, seconds: number) =>
    Float32Array.from({ length: Math.round(seconds * fs) }, (_, i) => {
      const t = i / fs;
      let v = 0.1 * Math.sin(2 * Math.PI * 0.15 * t);
      for (const b of beats) if (Math.abs(t - b) < 1) v += gauss(t, b, 0.06) * (t < b ? 1 : 1) + 0.35 * gauss(t, b + 0.3, 0.07);
      return v;
    });

  test('pulse peaks of a synthetic pleth at 250 Hz are found within 40 ms; pulse rate and steps', () => {
    const truth = beatTimes(regularRR);
    const r = harmonizePpg(rec('PLETH', 'NU', 250, ppg(truth, 250, 34)));
    expect(r.channel).toBe('PLETH');
    expect(r.samplingRate).toBe(125);
    const found = Array.from(r.arrays.peaks.data, (i) => i / r.samplingRate);
    expect(matched(found, truth.filter((t) => t < 33.5), 0.04)).toBe(truth.filter((t) => t < 33.5).length);
    expect(found.length).toBeLessThanOrEqual(truth.length);
    expect(r.features.pulseRate).toBeCloseTo(75, -0.5);
    expect(r.provenance.map((p) => p.step)).toEqual(['ppg.gaps', 'ppg.resample', 'ppg.bandpass', 'ppg.peaks', 'ppg.hrv', 'ppg.amplitude', 'ppg.windows']);
    const direct = detectPulsePeaks(Float64Array.from(ppg(truth, 125, 34)), { ...DEFAULT_PPG_CONFIG.peaks, fs: 125 });
    expect(direct.length).toBeGreaterThanOrEqual(truth.length - 2);
  });

  test('a record without a pleth channel is an error', () => {
    expect(() => harmonizePpg(rec('II', 'mV', 250, new Float32Array(2500)))).toThrow(/field channels: no PPG channel \(looked for PLETH, PPG/);
  });
});
