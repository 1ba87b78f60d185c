import { averageReference, canonicalEegLabel, DEFAULT_EEG_CONFIG, harmonizeEeg, notchMatrix, toMicrovolts, type EegConfig } from '../../../src/harmonize/eeg.js';
import { InputError } from '../../../src/model/errors.js';
import type { SignalChannel, SignalRecording } from '../../../src/sources/signal-recording.js';

const FS = 256;

function recording(seconds: number, channels: { label: string; unit?: string; f: (t: number) => number }[], segments?: { onset: number; duration: number }[]): SignalRecording {
  const n = Math.round(seconds * FS);
  const chs: SignalChannel[] = channels.map((c) => ({
    label: c.label,
    unit: c.unit ?? 'uV',
    samplingRate: FS,
    samples: Float32Array.from({ length: n }, (_, i) => c.f(i / FS)),
  }));
  return { file: 'synthetic.edf', format: 'edf', id: 'synthetic', durationSeconds: seconds, channels: chs, annotations: [], segments: segments ?? [{ onset: 0, duration: seconds }], acquisition: {}, corrections: [], warnings: [] };
}

const sin = (a: number, f: number, phase = 0) => (t: number) => a * Math.sin(2 * Math.PI * f * t + phase);
const mains = sin(50, 50);
const sum = (...fs: ((t: number) => number)[]) => (t: number) => fs.reduce((a, f) => a + f(t), 0);

/** Fp1 delta, O1 alpha, T3 beta (all with 50 Hz mains and a DC offset), plus EOG and ECG to be dropped. */
function threeChannels(seconds = 20): SignalRecording {
  return recording(seconds, [
    { label: 'EEG Fp1-REF', f: sum(sin(30, 2), mains, () => 100) },
    { label: 'EEG O1-REF', f: sum(sin(20, 10, 1), mains, () => -40) },
    { label: 'EEG T3-REF', f: sum(sin(10, 20, 2), mains) },
    { label: 'EOG left', f: sin(100, 1) },
    { label: 'ECG', unit: 'mV', f: sin(1, 1.2) },
  ]);
}

const noRef: EegConfig = { ...DEFAULT_EEG_CONFIG, reference: 'none' };

describe('EEG channel names', () => {
  test.each([
    ['Fc5.', 'FC5', 'electrode'], ['Cz..', 'Cz', 'electrode'], ['Fpz.', 'Fpz', 'electrode'], ['T10.', 'T10', 'electrode'], ['Iz..', 'Iz', 'electrode'],
    ['EEG Fp1-REF', 'Fp1', 'electrode'], ['EEG T3-LE', 'T7', 'electrode'], ['eeg t5-ref', 'P7', 'electrode'], ['POZ', 'POz', 'electrode'], ['A1', 'A1', 'electrode'],
    ['FP1-F7', 'Fp1-F7', 'bipolar'], ['EOG left', 'EOG left', 'other'], ['ECG', 'ECG', 'other'], ['EDF Annotations', 'EDF Annotations', 'other'],
    ['EEG', 'EEG', 'unmapped'], ['Chan 7', 'Chan 7', 'unmapped'],
  ])('%s -> %s (%s)', (raw, label, kind) => expect(canonicalEegLabel(raw)).toEqual({ label, kind }));

  test('old temporal names are kept when asked; units convert to µV', () => {
    expect(canonicalEegLabel('T4', false).label).toBe('T4');
    expect([toMicrovolts('uV'), toMicrovolts('mV'), toMicrovolts('V'), toMicrovolts('µV'), toMicrovolts(''), toMicrovolts('mmHg')]).toEqual([1, 1000, 1e6, 1, 1, undefined]);
  });
});

describe('EEG harmonizer on synthetic recordings', () => {
  test('channels mapped and chosen, common rate, epochs, steps with checksums', () => {
    const r = harmonizeEeg(threeChannels());
    expect(r.channels).toEqual(['Fp1', 'O1', 'T7']);
    expect(r.dropped).toEqual([{ label: 'EOG left', reason: 'not an EEG channel' }, { label: 'ECG', reason: 'not an EEG channel' }]);
    expect(r.samplingRate).toBe(128);
    expect(r.epochs).toBe(5);
    expect(r.arrays.epochs.shape).toEqual([5, 3, 512]);
    expect(r.arrays.bandPower.shape).toEqual([3, 5]);
    expect(r.provenance.map((p) => p.step)).toEqual(['eeg.resample', 'eeg.bandpass', 'eeg.notch', 'eeg.reference', 'eeg.epochs', 'eeg.zscore', 'eeg.features']);
    for (const p of r.provenance) {
      expect(p.input).toMatch(/^[0-9a-f]{64}$/);
      expect(p.output).toMatch(/^[0-9a-f]{64}$/);
    }
    for (let i = 1; i < r.provenance.length - 2; i++) expect(r.provenance[i].input).toBe(r.provenance[i - 1].output);
    expect(r.provenance[0].parameters).toMatchObject({ fromHz: 256, toHz: 128, up: 1, down: 2 });
    expect(r.provenance[2].parameters).toMatchObject({ frequencies: [50, 60], quality: 30 });
    // Same input, same numbers and checksums.
    expect(harmonizeEeg(threeChannels()).provenance).toEqual(r.provenance);
  });

  test('band powers (µV²) equal the tones\' variances without re-referencing; the right band dominates each channel', () => {
    const r = harmonizeEeg(threeChannels(), noRef);
    const bp = r.arrays.bandPower.data;
    const band = (c: number, b: number) => bp[c * 5 + b];
    expect(band(0, 0)).toBeCloseTo(450, -1); // Fp1 delta: 30² / 2
    expect(band(1, 2)).toBeCloseTo(200, -1); // O1 alpha: 20² / 2
    expect(band(2, 3)).toBeCloseTo(50, -0.5); // T7 beta: 10² / 2
    expect(r.provenance.map((p) => p.step)).not.toContain('eeg.reference');
    // Means over channels: each tone is one third of the relative power.
    expect(r.features.relPower_delta).toBeCloseTo(1 / 3, 1);
    expect(r.features.relPower_gamma).toBeLessThan(0.01);
    expect(r.features.absPower_alpha).toBeCloseTo(200 / 3, -0.5);
  });

  test('average reference spreads each tone as 2/3 and -1/3; the referenced channels sum to zero', () => {
    const r = harmonizeEeg(threeChannels());
    expect(r.arrays.bandPower.data[1 * 5 + 2]).toBeCloseTo(((2 / 3) * 20) ** 2 / 2, -0.5);
    expect(r.arrays.bandPower.data[0 * 5 + 2]).toBeCloseTo(((1 / 3) * 20) ** 2 / 2, -0.5);
    const data = Float64Array.from([1, 2, 3, 10, 20, 30]);
    const out = averageReference(data, { layout: { channels: 2, segments: [3] } });
    expect(Array.from(out)).toEqual([-4.5, -9, -13.5, 4.5, 9, 13.5]);
  });

  test('the notch removes mains: 50 Hz at 128 Hz is down by > 40 dB after the transient', () => {
    const n = 1280;
    const x = Float64Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * 50 * i) / 128));
    const y = notchMatrix(x, { layout: { channels: 1, segments: [n] }, fs: 128, frequencies: [50], quality: 30 });
    let e = 0;
    for (let i = 300; i < n - 300; i++) e += y[i] ** 2;
    expect(Math.sqrt(e / (n - 600))).toBeLessThan(0.01 * Math.SQRT1_2);
  });

  test('spectral edge, entropy and line length of a single 10 Hz channel', () => {
    const r = harmonizeEeg(recording(20, [{ label: 'Oz', f: sin(20, 10) }]));
    expect(r.provenance.map((p) => p.step)).not.toContain('eeg.reference'); // one channel: nothing to average
    expect(r.features.spectralEdge95).toBeGreaterThanOrEqual(10);
    expect(r.features.spectralEdge95).toBeLessThanOrEqual(10.5);
    expect(r.features.spectralEntropy).toBeLessThan(0.3);
    // A sine of amplitude A at f has line length 4 A f per second (sampled: a little less).
    expect(r.features.lineLength / (4 * 20 * 10)).toBeGreaterThan(0.97);
    expect(r.features.lineLength / (4 * 20 * 10)).toBeLessThan(1.01);
    expect(r.features.relPower_alpha).toBeGreaterThan(0.99);
  });

  test('per-subject z-scoring: each channel has mean 0 and SD 1 over all its epochs', () => {
    const r = harmonizeEeg(threeChannels());
    const [E, C, L] = r.arrays.epochs.shape;
    const z = r.arrays.epochs.data;
    for (let c = 0; c < C; c++) {
      let m = 0, v = 0;
      for (let e = 0; e < E; e++) for (let i = 0; i < L; i++) m += z[(e * C + c) * L + i];
      m /= E * L;
      for (let e = 0; e < E; e++) for (let i = 0; i < L; i++) v += (z[(e * C + c) * L + i] - m) ** 2;
      expect(Math.abs(m)).toBeLessThan(1e-5);
      expect(Math.sqrt(v / (E * L))).toBeCloseTo(1, 5);
    }
  });

  test('epochs never cross a gap between segments (EDF+D)', () => {
    const rec = recording(16, [{ label: 'Cz', f: sin(10, 6) }, { label: 'Pz', f: sin(10, 12) }], [{ onset: 0, duration: 10 }, { onset: 30, duration: 6 }]);
    const r = harmonizeEeg(rec);
    expect(r.epochs).toBe(3); // 2 in the 10 s segment, 1 in the 6 s one (4 would need to cross the gap)
    expect(r.provenance[0].parameters).toMatchObject({ layout: { channels: 2, segments: [2560, 1536] } });
  });

  test('bad input gives one clear error naming file, record and field', () => {
    const nan = threeChannels();
    nan.channels[1].samples[100] = NaN;
    expect(() => harmonizeEeg(nan)).toThrow(new InputError('sample 100 is not a finite number', 'synthetic.edf', 'synthetic', 'channel EEG O1-REF'));
    expect(() => harmonizeEeg(recording(20, [{ label: 'EOG', f: sin(1, 1) }]))).toThrow(/synthetic.edf, record synthetic, field channels: no EEG channel found/);
    expect(() => harmonizeEeg(recording(3, [{ label: 'Cz', f: sin(1, 5) }]))).toThrow(/field durationSeconds: recording is shorter than one 4 s epoch/);
    expect(() => harmonizeEeg(threeChannels(), { ...DEFAULT_EEG_CONFIG, bandpass: { low: 0.5, high: 70, order: 4 } })).toThrow(/EEG config, record synthetic, field bandpass: needs 0 < low < high < 64 Hz/);
    expect(() => harmonizeEeg(threeChannels(), { ...DEFAULT_EEG_CONFIG, samplingRate: 0 })).toThrow(/field samplingRate: must be > 0 Hz/);
  });
});
