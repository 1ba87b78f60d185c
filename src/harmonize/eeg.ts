import { InputError } from '../model/errors.js';
import type { SignalRecording } from '../sources/signal-recording.js';
import { runStep, type NdArray, type StepProvenance } from './provenance.js';
import { bandPower, butterworth, Fft, lineLength, notch, resamplePoly, rationalApproximation, sosfiltfilt, spectralEdge, spectralEntropy, welch } from './signal.js';

// Builtins bound once: hot loops then skip the global lookup (slow in jest's vm contexts, free elsewhere).
const { ceil, floor, max, min, round, sqrt } = Math;

// EEG harmonisation: the same channels under the same names, at the same rate, filtered, re-referenced,
// cut into epochs of the same length, and summarised by the same spectral features, whatever the device.
// Steps (each recorded with runStep): eeg.resample -> eeg.bandpass -> eeg.notch -> eeg.reference ->
// eeg.epochs -> eeg.zscore (the harmonized array) and eeg.features (from the un-normalised epochs).

export const DEFAULT_EEG_CONFIG = {
  version: '1',
  /** Common sampling rate (Hz): Nyquist 64 Hz clears the 45 Hz top of the analysis band. */
  samplingRate: 128,
  /** Zero-phase Butterworth band-pass (Hz); the order is per pass (forward-backward doubles it). */
  bandpass: { low: 0.5, high: 45, order: 4 },
  /** Mains notches (Hz; both regions by default, above the analysis band); skipped above Nyquist. */
  notch: { frequencies: [50, 60], quality: 30 },
  /** 'average' subtracts the mean of the EEG channels at each sample; needs >= 2 channels. */
  reference: 'average' as 'average' | 'none',
  /** Non-overlapping epochs (s); the remainder of each segment is dropped. */
  epochSeconds: 4,
  /** Welch segment length (s) inside an epoch; Hann, 50 % overlap. */
  welchSeconds: 2,
  /** Bands [low, high) in Hz. */
  bands: { delta: [1, 4], theta: [4, 8], alpha: [8, 13], beta: [13, 30], gamma: [30, 45] } as Record<string, [number, number]>,
  /** Spectral edge: the frequency below which this fraction of the 1-45 Hz power lies. */
  spectralEdgeFraction: 0.95,
  /** Rename the old 10-20 temporal names T3/T4/T5/T6 to T7/T8/P7/P8 (ACNS 2006). */
  modernTemporalNames: true,
  /** Keep EEG channels whose label is not a 10-10 position, under their cleaned label. */
  keepUnmapped: true,
};

export type EegConfig = typeof DEFAULT_EEG_CONFIG;

// ---- Channel names ------------------------------------------------------------------------------

const ROWS: [string, string[]][] = [
  ['N', ['Nz']],
  ['Fp', ['1', 'z', '2']],
  ['AF', ['9', '7', '5', '3', '1', 'z', '2', '4', '6', '8', '10']],
  ['F', ['9', '7', '5', '3', '1', 'z', '2', '4', '6', '8', '10']],
  ['FT', ['9', '7', '8', '10']],
  ['FC', ['5', '3', '1', 'z', '2', '4', '6']],
  ['T', ['9', '7', '8', '10']],
  ['C', ['5', '3', '1', 'z', '2', '4', '6']],
  ['TP', ['9', '7', '8', '10']],
  ['CP', ['5', '3', '1', 'z', '2', '4', '6']],
  ['P', ['9', '7', '5', '3', '1', 'z', '2', '4', '6', '8', '10']],
  ['PO', ['9', '7', '5', '3', '1', 'z', '2', '4', '6', '8', '10']],
  ['O', ['9', '1', 'z', '2', '10']],
  ['I', ['1', 'z', '2']],
];

/** The 10-10 positions (ACNS 2006 / Oostenveld & Praamstra 2001) and the ear/mastoid references. */
export const EEG_10_10: string[] = [
  ...ROWS.flatMap(([row, cols]) => (row === 'N' ? cols : cols.map((c) => row + c))),
  'A1', 'A2', 'M1', 'M2',
];
const OLD_TEMPORAL: Record<string, string> = { T3: 'T7', T4: 'T8', T5: 'P7', T6: 'P8' };
const BY_UPPER = new Map([...EEG_10_10, ...Object.keys(OLD_TEMPORAL)].map((l) => [l.toUpperCase(), l]));
const NON_EEG = /^(EOG|EMG|ECG|EKG|RESP|RESPIRATION|SPO2|SAO2|PLETH|PULSE|HR|IBI|BURSTS?|SUPPR|STATUS|EVENT|TRIGGER|PHOTIC|MARKER|EDF ANNOTATIONS|BDF ANNOTATIONS|LOC|ROC|CHIN|LEG|THORAX|ABDO|NASAL|SNORE|POSITION|LIGHT|OX|DC\d*)\b/i;
const REFERENCE_SUFFIX = /[-_ ](REF\d?|LE|RE|AR|AVG|AV|CAR|A1A2|LINKED|A1|A2|M1|M2)$/i;

export interface EegLabel {
  /** The canonical name (`FC5`, `Fp1`, `Fp1-F7`), or the cleaned label when unmapped. */
  label: string;
  /** 'electrode' (a 10-10 position), 'bipolar' (a derivation of two), 'unmapped' EEG, 'other' (not EEG). */
  kind: 'electrode' | 'bipolar' | 'unmapped' | 'other';
}

function electrode(name: string, modern: boolean): string | undefined {
  const hit = BY_UPPER.get(name.toUpperCase());
  if (!hit) return undefined;
  return modern && OLD_TEMPORAL[hit] ? OLD_TEMPORAL[hit] : hit;
}

/**
 * Maps a channel label to its 10-10 name: `Fc5.` -> `FC5`, `EEG Fp1-REF` -> `Fp1`, `EEG T3-LE` -> `T7`,
 * `FP1-F7` -> `Fp1-F7` (bipolar), `EOG left` -> other. Case, padding dots, an `EEG` prefix and a
 * reference suffix (-REF, -LE, -AVG, -A1, -M2, ...) do not matter.
 */
export function canonicalEegLabel(raw: string, modernTemporalNames = true): EegLabel {
  let s = raw.trim().replace(/\.+$/, '').trim();
  if (NON_EEG.test(s)) return { label: s, kind: 'other' };
  s = s.replace(/^EEG[\s:_-]*/i, '').trim();
  if (s === '') return { label: raw.trim().replace(/\.+$/, '') || 'EEG', kind: 'unmapped' };
  s = s.replace(REFERENCE_SUFFIX, '').trim();
  const single = electrode(s, modernTemporalNames);
  if (single) return { label: single, kind: 'electrode' };
  const parts = s.split('-').map((p) => p.trim());
  if (parts.length === 2) {
    const [a, b] = parts.map((p) => electrode(p, modernTemporalNames));
    if (a && b) return { label: `${a}-${b}`, kind: 'bipolar' };
  }
  return { label: s, kind: 'unmapped' };
}

const VOLTS: Record<string, number> = { v: 1e6, mv: 1e3, uv: 1, 'µv': 1, 'μv': 1, nv: 1e-3 };

/** Factor from the channel's unit to µV; undefined for a unit that is not a voltage. Empty means µV. */
export function toMicrovolts(unit: string): number | undefined {
  const u = unit.trim().toLowerCase();
  return u === '' ? 1 : VOLTS[u];
}

export interface EegChannelChoice {
  /** Indices into the recording's channels, in output order. */
  indices: number[];
  labels: string[];
  /** Factors to µV for the chosen channels. */
  scale: number[];
  dropped: { label: string; reason: string }[];
}

/** Picks the EEG channels (10-10 names first, in the recording's order), renamed, at one sampling rate. */
export function chooseEegChannels(rec: SignalRecording, config: EegConfig = DEFAULT_EEG_CONFIG): EegChannelChoice {
  const dropped: EegChannelChoice['dropped'] = [];
  const candidates: { i: number; label: string; scale: number }[] = [];
  const seen = new Set<string>();
  rec.channels.forEach((c, i) => {
    const name = canonicalEegLabel(c.label, config.modernTemporalNames);
    const scale = toMicrovolts(c.unit);
    if (name.kind === 'other') return dropped.push({ label: c.label, reason: 'not an EEG channel' });
    if (scale === undefined) return dropped.push({ label: c.label, reason: `unit '${c.unit}' is not a voltage` });
    if (name.kind === 'unmapped' && !config.keepUnmapped) return dropped.push({ label: c.label, reason: 'not a 10-10 position' });
    if (seen.has(name.label)) return dropped.push({ label: c.label, reason: `duplicate of ${name.label}` });
    seen.add(name.label);
    candidates.push({ i, label: name.label, scale });
  });
  if (!candidates.length) throw new InputError('no EEG channel found', rec.file, rec.id, 'channels');
  // One rate for all: the most common among the EEG channels.
  const counts = new Map<number, number>();
  for (const c of candidates) counts.set(rec.channels[c.i].samplingRate, (counts.get(rec.channels[c.i].samplingRate) ?? 0) + 1);
  const rate = [...counts.entries()].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0][0];
  const kept = candidates.filter((c) => {
    if (rec.channels[c.i].samplingRate === rate) return true;
    dropped.push({ label: rec.channels[c.i].label, reason: `sampled at ${rec.channels[c.i].samplingRate} Hz, not the ${rate} Hz of the other EEG channels` });
    return false;
  });
  return { indices: kept.map((c) => c.i), labels: kept.map((c) => c.label), scale: kept.map((c) => c.scale), dropped };
}

// ---- Steps: pure functions over a channels x samples matrix (row-major), segment by segment ---------

/** Where each segment starts, in samples, and the total; channels are rows of `total` samples. */
export interface Layout {
  channels: number;
  segments: number[];
}

const total = (l: Layout): number => l.segments.reduce((a, b) => a + b, 0);

function eachSegment(data: Float64Array, layout: Layout, outLengths: number[], fn: (x: Float64Array, seg: number) => Float64Array): Float64Array {
  const nIn = total(layout), nOut = outLengths.reduce((a, b) => a + b, 0);
  const out = new Float64Array(layout.channels * nOut);
  for (let c = 0; c < layout.channels; c++) {
    let inAt = c * nIn, outAt = c * nOut;
    layout.segments.forEach((len, s) => {
      const y = fn(data.subarray(inAt, inAt + len), s);
      out.set(y.subarray(0, outLengths[s]), outAt);
      inAt += len;
      outAt += outLengths[s];
    });
  }
  return out;
}

export function resampleMatrix(data: Float64Array, p: { layout: Layout; up: number; down: number }): Float64Array {
  const lengths = p.layout.segments.map((n) => ceil((n * p.up) / p.down));
  return eachSegment(data, p.layout, lengths, (x) => resamplePoly(x, p.up, p.down, 'mean'));
}

export function bandpassMatrix(data: Float64Array, p: { layout: Layout; fs: number; low: number; high: number; order: number }): Float64Array {
  const sos = butterworth(p.order, [p.low, p.high], 'bandpass', p.fs);
  return eachSegment(data, p.layout, p.layout.segments, (x) => sosfiltfilt(sos, x));
}

export function notchMatrix(data: Float64Array, p: { layout: Layout; fs: number; frequencies: number[]; quality: number }): Float64Array {
  const filters = p.frequencies.map((f) => notch(f, p.quality, p.fs));
  return eachSegment(data, p.layout, p.layout.segments, (x) => filters.reduce((y, sos) => sosfiltfilt(sos, y), x as Float64Array));
}

/** Average reference: subtracts, at each sample, the mean over channels. */
export function averageReference(data: Float64Array, p: { layout: Layout }): Float64Array {
  const n = total(p.layout), C = p.layout.channels;
  const out = Float64Array.from(data);
  for (let i = 0; i < n; i++) {
    let m = 0;
    for (let c = 0; c < C; c++) m += data[c * n + i];
    m /= C;
    for (let c = 0; c < C; c++) out[c * n + i] -= m;
  }
  return out;
}

/** Non-overlapping epochs of `length` samples inside each segment: [epochs, channels, length]. */
export function epochMatrix(data: Float64Array, p: { layout: Layout; length: number }): Float64Array {
  const n = total(p.layout), C = p.layout.channels;
  const starts: number[] = [];
  let at = 0;
  for (const len of p.layout.segments) {
    for (let s = 0; s + p.length <= len; s += p.length) starts.push(at + s);
    at += len;
  }
  const out = new Float64Array(starts.length * C * p.length);
  starts.forEach((s, e) => {
    for (let c = 0; c < C; c++) out.set(data.subarray(c * n + s, c * n + s + p.length), (e * C + c) * p.length);
  });
  return out;
}

/** Per-subject z-score: each channel by its mean and standard deviation over all of the subject's epochs. */
export function zscoreEpochs(epochs: Float64Array, p: { channels: number; length: number }): Float32Array {
  const C = p.channels, L = p.length, E = epochs.length / (C * L);
  const out = new Float32Array(epochs.length);
  for (let c = 0; c < C; c++) {
    let m = 0, v = 0;
    for (let e = 0; e < E; e++) for (let i = 0, o = (e * C + c) * L; i < L; i++) m += epochs[o + i];
    m /= E * L;
    for (let e = 0; e < E; e++) for (let i = 0, o = (e * C + c) * L; i < L; i++) v += (epochs[o + i] - m) ** 2;
    const sd = sqrt(v / (E * L));
    for (let e = 0; e < E; e++) for (let i = 0, o = (e * C + c) * L; i < L; i++) out[o + i] = sd > 0 ? (epochs[o + i] - m) / sd : 0;
  }
  return out;
}

/** Per epoch and channel, in order: absolute band powers (µV²), relative band powers, SEF (Hz), entropy, line length (µV/s). */
export function spectralFeatures(epochs: Float64Array, p: { channels: number; length: number; fs: number; nperseg: number; bands: [number, number][]; edgeFraction: number }): Float64Array {
  const C = p.channels, L = p.length, E = epochs.length / (C * L), B = p.bands.length;
  const per = 2 * B + 3;
  const lo = min(...p.bands.map((b) => b[0])), hi = max(...p.bands.map((b) => b[1]));
  const out = new Float64Array(E * C * per);
  const fft = new Fft(min(p.nperseg, L));
  for (let k = 0; k < E * C; k++) {
    const x = epochs.subarray(k * L, (k + 1) * L);
    const s = welch(x, p.fs, p.nperseg, floor(p.nperseg / 2), fft);
    let totalPower = 0;
    const abs = p.bands.map(([a, b]) => bandPower(s, a, b));
    for (const v of abs) totalPower += v;
    const o = k * per;
    abs.forEach((v, b) => {
      out[o + b] = v;
      out[o + B + b] = totalPower > 0 ? v / totalPower : 0;
    });
    out[o + 2 * B] = spectralEdge(s, p.edgeFraction, lo, hi);
    out[o + 2 * B + 1] = spectralEntropy(s, lo, hi);
    out[o + 2 * B + 2] = lineLength(x) / (L / p.fs);
  }
  return out;
}

// ---- The harmonizer -----------------------------------------------------------------------------

export interface EegResult {
  features: Record<string, number>;
  arrays: Record<string, NdArray>;
  provenance: StepProvenance[];
  /** Canonical labels of the channels kept, in array order. */
  channels: string[];
  dropped: { label: string; reason: string }[];
  samplingRate: number;
  epochs: number;
}

function check(config: EegConfig, rec: SignalRecording): void {
  const bad = (field: string, message: string) => new InputError(message, 'EEG config', rec.id, field);
  if (!(config.samplingRate > 0)) throw bad('samplingRate', `must be > 0 Hz, got ${config.samplingRate}`);
  const { low, high } = config.bandpass;
  if (!(low > 0 && high > low && high < config.samplingRate / 2)) throw bad('bandpass', `needs 0 < low < high < ${config.samplingRate / 2} Hz (Nyquist), got ${low}-${high}`);
  if (!(config.epochSeconds > 0) || !(config.welchSeconds > 0) || config.welchSeconds > config.epochSeconds) throw bad('epochSeconds', 'epochs and Welch segments must be > 0 s, Welch segments no longer than epochs');
  for (const [name, [a, b]] of Object.entries(config.bands)) if (!(a >= 0 && b > a && b <= config.samplingRate / 2)) throw bad(`bands.${name}`, `band ${a}-${b} Hz is invalid at ${config.samplingRate} Hz`);
}

/**
 * Harmonizes one EEG recording with `config` (defaults: DEFAULT_EEG_CONFIG). Features are the means over
 * epochs and channels of the per-epoch values (absolute powers in µV²; see docs/harmonization.md);
 * arrays: `epochs` [epochs, channels, samples] z-scored (float32), `bandPower` [channels, bands] in µV²,
 * `epochFeatures` [epochs, channels, features] (float32).
 */
export function harmonizeEeg(rec: SignalRecording, config: EegConfig = DEFAULT_EEG_CONFIG): EegResult {
  check(config, rec);
  const choice = chooseEegChannels(rec, config);
  const src = choice.indices.map((i) => rec.channels[i]);
  const fsIn = src[0].samplingRate;
  const n = src[0].samples.length;
  const segLengths = segmentSamples(rec, fsIn, n);
  const input = new Float64Array(src.length * n);
  src.forEach((c, k) => {
    for (let i = 0; i < n; i++) {
      const v = c.samples[i] * choice.scale[k];
      if (v - v !== 0) throw new InputError(`sample ${i} is not a finite number`, rec.file, rec.id, `channel ${c.label}`);
      input[k * n + i] = v;
    }
  });
  const provenance: StepProvenance[] = [];
  const C = src.length;
  let layout: Layout = { channels: C, segments: segLengths };
  let data: Float64Array = input;
  const { up, down } = rationalApproximation(config.samplingRate / fsIn);
  const fs = (fsIn * up) / down;
  const r = runStep('eeg.resample', '1', data, { layout, fromHz: fsIn, toHz: fs, up, down, window: 'kaiser(5.0)', padtype: 'mean' }, resampleMatrix);
  provenance.push(r.provenance);
  data = r.value;
  layout = { channels: C, segments: segLengths.map((len) => ceil((len * up) / down)) };
  const padMin = min(...layout.segments);
  if (padMin <= 3 * (2 * config.bandpass.order + 1)) throw new InputError(`a segment of ${padMin} samples at ${fs} Hz is too short to filter`, rec.file, rec.id, 'segments');
  const bp = runStep('eeg.bandpass', '1', data, { layout, fs, ...config.bandpass, design: 'butterworth-sos', zeroPhase: 'sosfiltfilt, odd padding' }, bandpassMatrix);
  provenance.push(bp.provenance);
  data = bp.value;
  const notches = config.notch.frequencies.filter((f) => f < fs / 2);
  const nt = runStep('eeg.notch', '1', data, { layout, fs, frequencies: notches, quality: config.notch.quality }, notchMatrix);
  provenance.push(nt.provenance);
  data = nt.value;
  if (config.reference === 'average' && C >= 2 && choice.labels.every((l) => !l.includes('-'))) {
    const ref = runStep('eeg.reference', '1', data, { layout, reference: 'average' }, averageReference);
    provenance.push(ref.provenance);
    data = ref.value;
  }
  const L = round(config.epochSeconds * fs);
  const ep = runStep('eeg.epochs', '1', data, { layout, length: L, epochSeconds: config.epochSeconds }, epochMatrix);
  provenance.push(ep.provenance);
  const epochs = ep.value;
  const E = epochs.length / (C * L);
  if (E === 0) throw new InputError(`recording is shorter than one ${config.epochSeconds} s epoch`, rec.file, rec.id, 'durationSeconds');
  const z = runStep('eeg.zscore', '1', epochs, { channels: C, length: L, scope: 'subject (all epochs), per channel' }, zscoreEpochs);
  provenance.push(z.provenance);
  const bandNames = Object.keys(config.bands);
  const bands = bandNames.map((b) => config.bands[b]);
  const nperseg = round(config.welchSeconds * fs);
  const sf = runStep('eeg.features', '1', epochs, { channels: C, length: L, fs, nperseg, bands, edgeFraction: config.spectralEdgeFraction, window: 'hann', overlap: 0.5 }, spectralFeatures);
  provenance.push(sf.provenance);
  const names = [...bandNames.map((b) => `absPower_${b}`), ...bandNames.map((b) => `relPower_${b}`), 'spectralEdge95', 'spectralEntropy', 'lineLength'];
  const per = names.length;
  const means = new Float64Array(per);
  const bandPerChannel = new Float32Array(C * bandNames.length);
  for (let e = 0; e < E; e++) {
    for (let c = 0; c < C; c++) {
      const o = (e * C + c) * per;
      for (let f = 0; f < per; f++) means[f] += sf.value[o + f] / (E * C);
      for (let b = 0; b < bandNames.length; b++) bandPerChannel[c * bandNames.length + b] += sf.value[o + b] / E;
    }
  }
  const features: Record<string, number> = {};
  names.forEach((name, f) => (features[name] = means[f]));
  return {
    features,
    arrays: {
      epochs: { data: z.value, shape: [E, C, L] },
      bandPower: { data: bandPerChannel, shape: [C, bandNames.length] },
      epochFeatures: { data: Float32Array.from(sf.value), shape: [E, C, per] },
    },
    provenance,
    channels: choice.labels,
    dropped: choice.dropped,
    samplingRate: fs,
    epochs: E,
  };
}

/** Sample counts of the recording's segments at rate `fs` (their sum is the channel length). */
function segmentSamples(rec: SignalRecording, fs: number, n: number): number[] {
  if (rec.segments.length <= 1) return [n];
  const lengths = rec.segments.map((s) => round(s.duration * fs));
  const sum = lengths.reduce((a, b) => a + b, 0);
  if (sum !== n) throw new InputError(`segments cover ${sum} samples but the channels hold ${n}`, rec.file, rec.id, 'segments');
  return lengths;
}
