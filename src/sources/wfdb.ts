import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InputError } from '../model/errors.js';
import { signalAcquisition, type SignalAnnotation, type SignalChannel, type SignalRecording } from './signal-recording.js';

// Builtins bound once: hot loops then skip the global lookup (slow in jest's vm contexts, free elsewhere).
const { abs, ceil, floor, max, min } = Math;

// WFDB records (PhysioNet): a text header `<record>.hea` (header(5) of the WFDB Applications Guide)
// names the signal files and how to read them; signal files hold interleaved digital samples in one of
// the WFDB formats (signal(5)); annotation files (`.atr`, ...) are in the MIT format (annot(5)).

/** One signal line of a header. */
export interface WfdbSignalSpec {
  fileName: string;
  format: number;
  samplesPerFrame: number;
  skew: number;
  byteOffset: number;
  /** Digital units per physical unit (ADC gain); 200 when the header gives 0 (uncalibrated). */
  gain: number;
  baseline: number;
  units: string;
  adcResolution: number;
  adcZero: number;
  initialValue: number;
  checksum?: number;
  blockSize: number;
  description: string;
  /** The header gave gain 0: the values are not calibrated. */
  uncalibrated: boolean;
}

export interface WfdbHeader {
  recordName: string;
  /** Frames per second (Hz); a signal's rate is this times its samples per frame. */
  samplingFrequency: number;
  counterFrequency?: number;
  baseCounter?: number;
  /** Frames per signal; undefined when the header does not say (then the file size tells). */
  samplesPerSignal?: number;
  baseTime?: string;
  baseDate?: string;
  signals: WfdbSignalSpec[];
  /** Multi-segment records: the segments in order (`~` is a null segment, a gap). */
  segments?: { name: string; samples: number }[];
  /** Comment lines (`# ...`) without the `#`. */
  comments: string[];
}

const DEFAULT_RESOLUTION: Record<number, number> = { 0: 12, 8: 8, 80: 8, 16: 16, 61: 16, 160: 16, 212: 12, 310: 10, 311: 10, 24: 24, 32: 32 };
/** Bytes per sample (fractional for packed formats); format 0 is a null signal (no data, e.g. in layout headers). */
const BYTES_PER_SAMPLE: Record<number, number> = { 0: 0, 8: 1, 80: 1, 16: 2, 61: 2, 160: 2, 212: 1.5, 310: 4 / 3, 311: 4 / 3, 24: 3, 32: 4 };
/** The digital value WFDB writes for an invalid sample, per format. */
const INVALID: Record<number, number> = { 0: -32768, 8: -128, 80: -128, 16: -32768, 61: -32768, 160: -32768, 212: -2048, 310: -512, 311: -512, 24: -(2 ** 23), 32: -(2 ** 31) };

/** Marks samples a skew asks for past the end of the file (no format can hold this value). */
const BEYOND_FILE = -2147483648;
const NAN = Number.NaN;

function num(text: string, file: string, line: number, field: string): number {
  const x = Number(text);
  if (text === '' || !Number.isFinite(x)) throw new InputError(`'${text}' is not a number`, file, `line ${line}`, field);
  return x;
}

/** Parses a WFDB header's text. */
export function parseWfdbHeader(text: string, file: string): WfdbHeader {
  const lines = text.split(/\r?\n/).map((l, i) => ({ l: l.trim(), n: i + 1 }));
  const comments = lines.filter((x) => x.l.startsWith('#')).map((x) => x.l.replace(/^#\s?/, ''));
  const body = lines.filter((x) => x.l && !x.l.startsWith('#'));
  if (!body.length) throw new InputError('header has no record line', file, 'line 1', 'record line');
  const [rec, ...sigLines] = body;
  const f = rec.l.split(/\s+/);
  const nameMatch = /^([^/\s]+)(?:\/(\d+))?$/.exec(f[0]);
  if (!nameMatch) throw new InputError(`record name '${f[0]}' is invalid`, file, `line ${rec.n}`, 'record name');
  const nsig = f[1] === undefined ? 0 : num(f[1], file, rec.n, 'number of signals');
  let samplingFrequency = 250;
  let counterFrequency: number | undefined;
  let baseCounter: number | undefined;
  if (f[2] !== undefined) {
    const m = /^([^/(]+)(?:\/([^(]+)(?:\(([^)]+)\))?)?$/.exec(f[2]);
    if (!m) throw new InputError(`sampling frequency '${f[2]}' is invalid`, file, `line ${rec.n}`, 'sampling frequency');
    samplingFrequency = num(m[1], file, rec.n, 'sampling frequency');
    if (m[2] !== undefined) counterFrequency = num(m[2], file, rec.n, 'counter frequency');
    if (m[3] !== undefined) baseCounter = num(m[3], file, rec.n, 'base counter value');
  }
  if (!(samplingFrequency > 0)) throw new InputError(`sampling frequency is ${samplingFrequency} Hz; it must be > 0`, file, `line ${rec.n}`, 'sampling frequency');
  const samplesPerSignal = f[3] !== undefined && Number(f[3]) > 0 ? num(f[3], file, rec.n, 'number of samples per signal') : undefined;
  const header: WfdbHeader = {
    recordName: nameMatch[1],
    samplingFrequency,
    ...(counterFrequency !== undefined ? { counterFrequency } : {}),
    ...(baseCounter !== undefined ? { baseCounter } : {}),
    samplesPerSignal,
    ...(f[4] ? { baseTime: f[4] } : {}),
    ...(f[5] ? { baseDate: f[5] } : {}),
    signals: [],
    comments,
  };
  if (nameMatch[2] !== undefined) {
    const nseg = Number(nameMatch[2]);
    if (sigLines.length < nseg) throw new InputError(`header announces ${nseg} segments but lists ${sigLines.length}`, file, `line ${rec.n}`, 'number of segments');
    header.segments = sigLines.slice(0, nseg).map(({ l, n }) => {
      const [name, samples] = l.split(/\s+/);
      return { name, samples: num(samples ?? '', file, n, 'segment length') };
    });
    return header;
  }
  if (sigLines.length < nsig) throw new InputError(`header announces ${nsig} signals but has ${sigLines.length} signal lines`, file, `line ${rec.n}`, 'number of signals');
  header.signals = sigLines.slice(0, nsig).map(({ l, n }) => parseSignalLine(l, file, n));
  return header;
}

function parseSignalLine(line: string, file: string, n: number): WfdbSignalSpec {
  const f = line.split(/\s+/);
  const fm = /^(\d+)(?:x(\d+))?(?::(\d+))?(?:\+(\d+))?$/.exec(f[1] ?? '');
  if (!fm) throw new InputError(`format '${f[1] ?? ''}' is invalid`, file, `line ${n}`, 'format');
  const format = Number(fm[1]);
  if (!(format in BYTES_PER_SAMPLE)) throw new InputError(`signal format ${format} is not supported (supported: ${Object.keys(BYTES_PER_SAMPLE).join(', ')})`, file, `line ${n}`, 'format');
  const samplesPerFrame = fm[2] ? Number(fm[2]) : 1;
  if (samplesPerFrame < 1) throw new InputError('samples per frame must be >= 1', file, `line ${n}`, 'samples per frame');
  let gain = 200;
  let baseline: number | undefined;
  let units = 'mV';
  let uncalibrated = false;
  if (f[2] !== undefined) {
    const gm = /^([^(/]+)(?:\(([^)]+)\))?(?:\/(.+))?$/.exec(f[2]);
    if (!gm) throw new InputError(`ADC gain '${f[2]}' is invalid`, file, `line ${n}`, 'ADC gain');
    gain = num(gm[1], file, n, 'ADC gain');
    if (gm[2] !== undefined) baseline = num(gm[2], file, n, 'baseline');
    if (gm[3] !== undefined) units = gm[3];
    if (gain === 0) {
      gain = 200;
      uncalibrated = true;
    }
  }
  const adcResolution = f[3] !== undefined ? num(f[3], file, n, 'ADC resolution') : DEFAULT_RESOLUTION[format];
  const adcZero = f[4] !== undefined ? num(f[4], file, n, 'ADC zero') : 0;
  const initialValue = f[5] !== undefined ? num(f[5], file, n, 'initial value') : adcZero;
  const checksum = f[6] !== undefined ? num(f[6], file, n, 'checksum') : undefined;
  const blockSize = f[7] !== undefined ? num(f[7], file, n, 'block size') : 0;
  return {
    fileName: f[0],
    format,
    samplesPerFrame,
    skew: fm[3] ? Number(fm[3]) : 0,
    byteOffset: fm[4] ? Number(fm[4]) : 0,
    gain,
    baseline: baseline ?? adcZero,
    units,
    adcResolution,
    adcZero,
    initialValue,
    ...(checksum !== undefined ? { checksum } : {}),
    blockSize,
    description: f.slice(8).join(' '),
    uncalibrated,
  };
}

/** Decodes `count` samples of one format from `bytes` into digital values (invalid ones stay as written). */
export function decodeWfdbSamples(bytes: Uint8Array, format: number, count: number): Int32Array {
  const out = new Int32Array(count);
  const b = bytes;
  switch (format) {
    case 16:
      for (let i = 0, p = 0; i < count; i++, p += 2) out[i] = ((b[p] | (b[p + 1] << 8)) << 16) >> 16;
      break;
    case 61:
      for (let i = 0, p = 0; i < count; i++, p += 2) out[i] = ((b[p + 1] | (b[p] << 8)) << 16) >> 16;
      break;
    case 160:
      for (let i = 0, p = 0; i < count; i++, p += 2) out[i] = (b[p] | (b[p + 1] << 8)) - 32768;
      break;
    case 80:
      for (let i = 0; i < count; i++) out[i] = b[i] - 128;
      break;
    case 8:
      for (let i = 0; i < count; i++) out[i] = (b[i] << 24) >> 24; // differences; integrated per signal later
      break;
    case 24:
      for (let i = 0, p = 0; i < count; i++, p += 3) out[i] = ((b[p] | (b[p + 1] << 8) | (b[p + 2] << 16)) << 8) >> 8;
      break;
    case 32:
      for (let i = 0, p = 0; i < count; i++, p += 4) out[i] = b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
      break;
    case 212:
      // Two 12-bit samples in three bytes: low byte of the first, the high nibbles, low byte of the second.
      for (let i = 0, p = 0; i < count; i += 2, p += 3) {
        out[i] = ((b[p] | ((b[p + 1] & 0x0f) << 8)) << 20) >> 20;
        if (i + 1 < count) out[i + 1] = ((b[p + 2] | ((b[p + 1] & 0xf0) << 4)) << 20) >> 20;
      }
      break;
    case 310:
      // Three 10-bit samples in two little-endian 16-bit words (bits 1-10 of each, then the two 5-bit tops).
      for (let i = 0, p = 0; i < count; i += 3, p += 4) {
        const w0 = b[p] | (b[p + 1] << 8), w1 = b[p + 2] | (b[p + 3] << 8);
        out[i] = (((w0 >> 1) & 0x3ff) << 22) >> 22;
        if (i + 1 < count) out[i + 1] = (((w1 >> 1) & 0x3ff) << 22) >> 22;
        if (i + 2 < count) out[i + 2] = ((((w0 >> 11) & 0x1f) | (((w1 >> 11) & 0x1f) << 5)) << 22) >> 22;
      }
      break;
    case 311:
      // Three 10-bit samples in one little-endian 32-bit word (bits 0-9, 10-19, 20-29).
      for (let i = 0, p = 0; i < count; i += 3, p += 4) {
        const w = b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
        out[i] = ((w & 0x3ff) << 22) >> 22;
        if (i + 1 < count) out[i + 1] = (((w >> 10) & 0x3ff) << 22) >> 22;
        if (i + 2 < count) out[i + 2] = (((w >> 20) & 0x3ff) << 22) >> 22;
      }
      break;
    default:
      throw new Error(`format ${format} is not supported`);
  }
  return out;
}

/** Bytes needed for `count` samples of a format (packed formats round up to whole groups). */
function bytesFor(format: number, count: number): number {
  if (format === 212) return ceil(count / 2) * 3;
  if (format === 310 || format === 311) return ceil(count / 3) * 4;
  return count * BYTES_PER_SAMPLE[format];
}

/** Samples that fit in `bytes` of a format (whole groups only for packed formats). */
function samplesIn(format: number, bytes: number): number {
  if (format === 212) return floor(bytes / 3) * 2 + (bytes % 3 >= 2 ? 1 : 0);
  if (format === 310 || format === 311) return floor(bytes / 4) * 3;
  return floor(bytes / BYTES_PER_SAMPLE[format]);
}

export interface WfdbReadOptions {
  /** Annotators to read beside the record, e.g. `['atr']` (missing ones are an error). */
  annotators?: string[];
}

/**
 * Reads a WFDB record (path of the `.hea`, with or without the extension): single- or multi-segment,
 * signal files in formats 8, 16, 24, 32, 61, 80, 160, 212, 310 and 311 (including WFDB's `.mat` files,
 * which are format 16 with a byte offset), samples per frame, skew and byte offsets. Physical values are
 * (digital - baseline) / gain; invalid samples become NaN. Checksums are verified (a mismatch is a warning).
 */
export function readWfdb(record: string, options: WfdbReadOptions = {}): SignalRecording {
  const hea = record.endsWith('.hea') ? record : `${record}.hea`;
  if (!existsSync(hea)) throw new InputError('header file not found', hea, undefined, 'header');
  const header = parseWfdbHeader(readFileSync(hea, 'utf8'), hea);
  const rec = header.segments ? readMultiSegment(header, hea) : readSingle(header, hea);
  for (const annotator of options.annotators ?? []) {
    const file = join(dirname(hea), `${header.recordName}.${annotator}`);
    const ann = readWfdbAnnotations(file, { samplingRate: header.samplingFrequency });
    rec.annotations.push(...wfdbToSignalAnnotations(ann));
  }
  rec.annotations.sort((a, b) => a.onset - b.onset);
  return rec;
}

interface Decoded {
  channels: SignalChannel[];
  frames: number;
  warnings: string[];
  specs: WfdbSignalSpec[];
}

function decodeRecord(header: WfdbHeader, hea: string): Decoded {
  const dir = dirname(hea);
  const warnings: string[] = [];
  const byFile = new Map<string, number[]>();
  header.signals.forEach((s, i) => byFile.set(s.fileName, [...(byFile.get(s.fileName) ?? []), i]));
  const digital: Int32Array[] = new Array(header.signals.length);
  let frames = header.samplesPerSignal;
  for (const [fileName, members] of byFile) {
    const specs = members.map((i) => header.signals[i]);
    const format = specs[0].format;
    if (specs.some((s) => s.format !== format || s.byteOffset !== specs[0].byteOffset)) {
      throw new InputError('signals of one file must share format and byte offset', hea, fileName, 'format');
    }
    const frameSamples = specs.reduce((a, s) => a + s.samplesPerFrame, 0);
    const maxSkew = max(...specs.map((s) => s.skew));
    const path = join(dir, fileName);
    if (fileName === '~' || format === 0) {
      if (frames === undefined) throw new InputError('a null signal file (~) needs the number of samples in the header', hea, fileName, 'number of samples per signal');
      for (const i of members) digital[i] = new Int32Array(frames * header.signals[i].samplesPerFrame).fill(INVALID[format]);
      continue;
    }
    if (!existsSync(path)) throw new InputError(`signal file '${fileName}' named in the header does not exist`, hea, `signal ${members[0] + 1}`, 'file name');
    const bytes = readFileSync(path).subarray(specs[0].byteOffset);
    const available = floor(samplesIn(format, bytes.length) / frameSamples);
    const wantFrames = frames === undefined ? available : min(available, frames + maxSkew);
    if (frames !== undefined && available < frames) {
      throw new InputError(`signal file holds ${available} frames, the header says ${frames}: truncated`, path, `frame ${available + 1}`, 'data');
    }
    if (frames === undefined) frames = available - maxSkew;
    if (frames <= 0) throw new InputError('signal file holds no complete frame', path, 'frame 1', 'data');
    const flat = decodeWfdbSamples(bytes.subarray(0, bytesFor(format, wantFrames * frameSamples)), format, wantFrames * frameSamples);
    let offsetInFrame = 0;
    specs.forEach((s, k) => {
      const spf = s.samplesPerFrame;
      const out = new Int32Array(frames! * spf);
      if (format === 8) integrateFrames(flat, frameSamples, offsetInFrame, spf, s.initialValue);
      // The checksum covers the samples as stored (before the skew shifts them).
      if (s.checksum !== undefined) checkSum(flat, frameSamples, offsetInFrame, spf, frames!, s, members[k], warnings);
      for (let f = 0; f < frames!; f++) {
        const src = f + s.skew;
        for (let j = 0; j < spf; j++) out[f * spf + j] = src < wantFrames ? flat[src * frameSamples + offsetInFrame + j] : BEYOND_FILE;
      }
      digital[members[k]] = out;
      offsetInFrame += spf;
    });
  }
  if (frames === undefined) frames = 0;
  const channels = header.signals.map((s, i) => {
    const d = digital[i];
    if (s.uncalibrated) warnings.push(`signal ${i + 1} (${s.description || s.fileName}): ADC gain 0 in the header (uncalibrated); 200 used`);
    const samples = new Float32Array(d.length);
    const invalid = format8Invalid(s.format);
    for (let j = 0; j < d.length; j++) samples[j] = d[j] === invalid || d[j] === BEYOND_FILE ? NAN : (d[j] - s.baseline) / s.gain;
    return { label: s.description || `signal${i + 1}`, unit: s.units, samplingRate: header.samplingFrequency * s.samplesPerFrame, samples };
  });
  return { channels, frames, warnings, specs: header.signals };
}

/** Format 8 stores first differences; it has no invalid-sample code once integrated. */
function format8Invalid(format: number): number | undefined {
  return format === 8 ? undefined : INVALID[format];
}

/** Format 8 stores first differences: integrate one signal's samples in place, frame by frame. */
function integrateFrames(flat: Int32Array, frameSamples: number, at: number, spf: number, initial: number): void {
  let v = initial;
  for (let p = at; p < flat.length; p += frameSamples) {
    for (let j = 0; j < spf; j++) {
      v += flat[p + j];
      flat[p + j] = v;
    }
  }
}

function checkSum(flat: Int32Array, frameSamples: number, at: number, spf: number, frames: number, s: WfdbSignalSpec, index: number, warnings: string[]): void {
  let sum = 0;
  for (let f = 0, p = at; f < frames; f++, p += frameSamples) for (let j = 0; j < spf; j++) sum = (sum + flat[p + j]) & 0xffff;
  const signed = (sum << 16) >> 16;
  if (signed !== s.checksum) warnings.push(`signal ${index + 1} (${s.description || s.fileName}): checksum ${signed} does not match the header's ${s.checksum}`);
}

/** ISO 8601 start from WFDB base time `HH:MM:SS[.sss]` and base date `DD/MM/YYYY`. */
export function wfdbStartTime(h: WfdbHeader): string | undefined {
  if (!h.baseTime || !h.baseDate) return undefined;
  const t = /^(\d{1,2}):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$/.exec(h.baseTime);
  const d = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(h.baseDate);
  if (!t || !d) return undefined;
  const p = (s: string) => s.padStart(2, '0');
  return `${d[3]}-${p(d[2])}-${p(d[1])}T${p(t[1])}:${p(t[2])}:${t[3].includes('.') ? t[3].padStart(6, '0') : p(t[3])}`;
}

function recordOf(header: WfdbHeader, hea: string, channels: SignalChannel[], frames: number, warnings: string[], specs: WfdbSignalSpec[], extra: Record<string, number | string | boolean | number[] | string[]> = {}): SignalRecording {
  const durationSeconds = frames / header.samplingFrequency;
  const sex = header.comments.map((c) => /^sex:\s*(\w+)/i.exec(c)?.[1]).find(Boolean);
  return {
    file: hea,
    format: 'wfdb',
    id: header.recordName,
    startTime: wfdbStartTime(header),
    durationSeconds,
    channels,
    annotations: [],
    segments: [{ onset: 0, duration: durationSeconds }],
    acquisition: signalAcquisition('wfdb', channels, durationSeconds, 1, {
      frameRate: header.samplingFrequency,
      samplesPerSignal: frames,
      signalFormats: specs.map((s) => s.format),
      gains: specs.map((s) => s.gain),
      baselines: specs.map((s) => s.baseline),
      adcResolutions: specs.map((s) => s.adcResolution),
      signalFiles: specs.map((s) => s.fileName),
      ...(sex ? { sex } : {}),
      ...extra,
    }),
    corrections: [],
    warnings,
  };
}

function readSingle(header: WfdbHeader, hea: string): SignalRecording {
  const d = decodeRecord(header, hea);
  return recordOf(header, hea, d.channels, d.frames, d.warnings, d.specs);
}

/**
 * Multi-segment records: each segment is a record of its own; signals are matched by description
 * (label) to the layout segment (a first segment of length 0) or, for fixed layouts, the first segment.
 * Null segments (`~`) and signals a segment lacks are NaN.
 */
function readMultiSegment(header: WfdbHeader, hea: string): SignalRecording {
  const dir = dirname(hea);
  const segs = header.segments!;
  const parts: { header?: WfdbHeader; decoded?: Decoded; samples: number }[] = segs.map((s) => {
    if (s.name === '~') return { samples: s.samples };
    const path = join(dir, `${s.name}.hea`);
    if (!existsSync(path)) throw new InputError(`segment header '${s.name}.hea' not found`, hea, `segment ${s.name}`, 'segment name');
    const h = parseWfdbHeader(readFileSync(path, 'utf8'), path);
    if (h.segments) throw new InputError('a segment may not itself be multi-segment', path, `segment ${s.name}`, 'record name');
    if (abs(h.samplingFrequency - header.samplingFrequency) > 1e-9) {
      throw new InputError(`segment frame rate ${h.samplingFrequency} Hz differs from the record's ${header.samplingFrequency} Hz`, path, `segment ${s.name}`, 'sampling frequency');
    }
    return { header: h, decoded: s.samples > 0 ? decodeRecord({ ...h, samplesPerSignal: s.samples }, path) : undefined, samples: s.samples };
  });
  const layout = parts[0].header && parts[0].samples === 0 ? parts[0].header : parts.find((p) => p.header)?.header;
  if (!layout) throw new InputError('every segment is null', hea, undefined, 'segments');
  const labels = layout.signals.map((s, i) => s.description || `signal${i + 1}`);
  const spf = layout.signals.map((s) => s.samplesPerFrame);
  const frames = parts.reduce((a, p) => a + (p.samples > 0 ? p.samples : 0), 0);
  const outputs = labels.map((_, i) => new Float32Array(frames * spf[i]).fill(NaN));
  const warnings: string[] = [];
  let at = 0;
  for (const p of parts) {
    if (p.samples <= 0) continue;
    if (p.decoded) {
      warnings.push(...p.decoded.warnings);
      labels.forEach((label, i) => {
        const ch = p.decoded!.channels.find((c) => c.label === label);
        if (!ch) return;
        if (ch.samples.length !== p.samples * spf[i]) {
          throw new InputError(`signal '${label}' has ${ch.samples.length / p.samples} samples per frame here, ${spf[i]} in the layout`, hea, `segment ${p.header!.recordName}`, 'samples per frame');
        }
        outputs[i].set(ch.samples, at * spf[i]);
      });
    }
    at += p.samples;
  }
  const units = labels.map((label, i) => parts.map((p) => p.decoded?.channels.find((c) => c.label === label)?.unit).find(Boolean) ?? layout.signals[i].units);
  const channels = labels.map((label, i) => ({ label, unit: units[i], samplingRate: header.samplingFrequency * spf[i], samples: outputs[i] }));
  return recordOf(header, hea, channels, frames, warnings, layout.signals, { segmentNames: segs.map((s) => s.name), segmentSamples: segs.map((s) => s.samples) });
}

// ---- Annotations (MIT format) -------------------------------------------------------------------

/** Annotation codes (ecgcodes.h) to their mnemonic symbols. */
export const WFDB_SYMBOLS: Record<number, string> = {
  0: ' ', 1: 'N', 2: 'L', 3: 'R', 4: 'a', 5: 'V', 6: 'F', 7: 'J', 8: 'A', 9: 'S', 10: 'E', 11: 'j', 12: '/', 13: 'Q', 14: '~',
  16: '|', 18: 's', 19: 'T', 20: '*', 21: 'D', 22: '"', 23: '=', 24: 'p', 25: 'B', 26: '^', 27: 't', 28: '+', 29: 'u', 30: '?',
  31: '!', 32: '[', 33: ']', 34: 'e', 35: 'n', 36: '@', 37: 'x', 38: 'f', 39: '(', 40: ')', 41: 'r',
};

/** Codes that mark a QRS complex (a beat), as WFDB's `isqrs` table. */
export const WFDB_BEAT_CODES = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 25, 30, 34, 35, 37, 38, 41]);

/** Annotations as parallel arrays (a 30-minute record has thousands). */
export interface WfdbAnnotations {
  file: string;
  /** Sample number (at `samplingRate`) of each annotation. */
  sample: Float64Array;
  code: Uint8Array;
  symbol: string[];
  subtype: Int8Array;
  chan: Uint8Array;
  num: Int8Array;
  aux: string[];
  /** From the file's `## time resolution` note, else the option given, else undefined. */
  samplingRate?: number;
}

const SKIP = 59, NUM = 60, SUB = 61, CHN = 62, AUX = 63;

/**
 * Reads an MIT-format annotation file: 16-bit little-endian words of a 6-bit code and a 10-bit time
 * difference; SKIP carries a 32-bit difference (high word first), NUM/SUB/CHN/AUX modify the annotation
 * before them, 0 0 ends the file. Definition notes at sample 0 (`## time resolution: 160`) and code-0
 * entries are not annotations and are left out, as the WFDB library does.
 */
export function readWfdbAnnotations(file: string, options: { samplingRate?: number } = {}): WfdbAnnotations {
  if (!existsSync(file)) throw new InputError('annotation file not found', file, undefined, 'annotations');
  const b = readFileSync(file);
  const sample: number[] = [], code: number[] = [], subtype: number[] = [], chan: number[] = [], numf: number[] = [], aux: string[] = [];
  let t = 0, curChan = 0, curNum = 0;
  let samplingRate = options.samplingRate;
  let i = 0;
  let ended = false;
  const word = (p: number) => b[p] | (b[p + 1] << 8);
  while (i + 1 < b.length) {
    const w = word(i);
    const a = w >> 10, d = w & 0x3ff;
    if (a === 0 && d === 0) {
      ended = true;
      break;
    }
    if (a === SKIP) {
      if (i + 6 > b.length) throw new InputError('file ends inside a SKIP', file, `annotation ${sample.length + 1}`, 'SKIP');
      t += ((word(i + 2) << 16) | word(i + 4)) | 0;
      i += 6;
      continue;
    }
    if (a >= NUM) {
      const last = sample.length - 1;
      if (a === AUX) {
        if (i + 2 + d > b.length) throw new InputError('file ends inside an AUX string', file, `annotation ${sample.length}`, 'AUX');
        const text = b.toString('latin1', i + 2, i + 2 + d).replace(/\0+$/, '');
        if (last >= 0) aux[last] = text;
        i += 2 + d + (d & 1);
        continue;
      }
      if (last >= 0) {
        const v = w & 0xff;
        if (a === NUM) numf[last] = curNum = (v << 24) >> 24;
        else if (a === SUB) subtype[last] = (v << 24) >> 24;
        else chan[last] = curChan = v;
      }
      i += 2;
      continue;
    }
    t += d;
    sample.push(t);
    code.push(a);
    subtype.push(0);
    chan.push(curChan);
    numf.push(curNum);
    aux.push('');
    i += 2;
  }
  if (!ended) {
    throw new InputError('annotation file does not end with the end-of-file word (truncated?)', file, `annotation ${sample.length + 1}`, 'end of file');
  }
  // Definition notes at sample 0 (e.g. the time resolution) and code 0 are not annotations.
  const keep: number[] = [];
  for (let k = 0; k < sample.length; k++) {
    if (code[k] === 0) continue;
    if (sample[k] === 0 && code[k] === 22 && aux[k].startsWith('## ')) {
      const fs = /^## time resolution: (\d+(?:\.\d+)?)/.exec(aux[k]);
      if (fs) samplingRate = Number(fs[1]);
      continue;
    }
    keep.push(k);
  }
  return {
    file,
    sample: Float64Array.from(keep, (k) => sample[k]),
    code: Uint8Array.from(keep, (k) => code[k]),
    symbol: keep.map((k) => WFDB_SYMBOLS[code[k]] ?? `#${code[k]}`),
    subtype: Int8Array.from(keep, (k) => subtype[k]),
    chan: Uint8Array.from(keep, (k) => chan[k]),
    num: Int8Array.from(keep, (k) => numf[k]),
    aux: keep.map((k) => aux[k]),
    ...(samplingRate !== undefined ? { samplingRate } : {}),
  };
}

/** The sample numbers of beat annotations (QRS complexes). */
export function wfdbBeats(ann: WfdbAnnotations): Float64Array {
  const out: number[] = [];
  for (let k = 0; k < ann.code.length; k++) if (WFDB_BEAT_CODES.has(ann.code[k])) out.push(ann.sample[k]);
  return Float64Array.from(out);
}

/** As SignalAnnotations: text is the symbol, then the AUX note after a space when there is one. */
export function wfdbToSignalAnnotations(ann: WfdbAnnotations): SignalAnnotation[] {
  const fs = ann.samplingRate;
  if (!fs) throw new InputError('the sampling rate of the annotations is unknown', ann.file, undefined, 'time resolution');
  return ann.symbol.map((s, k) => ({ onset: ann.sample[k] / fs, duration: 0, text: ann.aux[k] ? `${s} ${ann.aux[k]}`.trim() : s }));
}
