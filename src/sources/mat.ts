import { readFileSync } from 'node:fs';
import { InputError } from '../model/errors.js';
import { recordStem, signalAcquisition, type SignalChannel, type SignalRecording } from './signal-recording.js';

// Builtins bound once: hot loops then skip the global lookup (slow in jest's vm contexts, free elsewhere).
const { floor } = Math;

// MATLAB Level 4 MAT-files (MATLAB External Interfaces, "Level 4 MAT-File Format"): a sequence of
// variables, each a 20-byte header of five int32 (type MOPT, rows, columns, imaginary flag, name length),
// the NUL-terminated name, then the real (and imaginary) parts in column-major order.
// MOPT: M = byte order (0 IEEE little-endian, 1 IEEE big-endian), O = 0, P = element type, T = 0 full,
// 1 text, 2 sparse. PhysioNet/CinC 2017 and WFDB's `.mat` signal files are of this kind.

export type Mat4Type = 'double' | 'single' | 'int32' | 'int16' | 'uint16' | 'uint8';
export type Mat4Data = Float64Array | Float32Array | Int32Array | Int16Array | Uint16Array | Uint8Array;

export interface Mat4Variable {
  name: string;
  rows: number;
  cols: number;
  type: Mat4Type;
  /** T = 1: the values are character codes. */
  text: boolean;
  bigEndian: boolean;
  /** rows x cols values in column-major order (element (r, c) at `c * rows + r`). */
  data: Mat4Data;
  imag?: Mat4Data;
}

const TYPES: [Mat4Type, { new (n: number): Mat4Data; BYTES_PER_ELEMENT: number }][] = [
  ['double', Float64Array], ['single', Float32Array], ['int32', Int32Array], ['int16', Int16Array], ['uint16', Uint16Array], ['uint8', Uint8Array],
];

function decode(buf: Buffer, at: number, n: number, p: number, big: boolean): Mat4Data {
  const [, Ctor] = TYPES[p];
  const out = new Ctor(n);
  const size = Ctor.BYTES_PER_ELEMENT;
  const bytes = new Uint8Array(out.buffer);
  buf.copy(bytes, 0, at, at + n * size);
  if (big && size > 1) {
    // Typed arrays use the platform's order (little-endian on every platform Node runs on).
    for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
  }
  return out;
}

/** Reads every variable of a MATLAB v4 MAT-file (a path or the file's bytes). */
export function readMat4(source: string | Buffer, file = typeof source === 'string' ? source : 'mat'): Mat4Variable[] {
  const buf = typeof source === 'string' ? readFileSync(source) : source;
  if (buf.length >= 116 && /^MATLAB [57]\.\d MAT-file/.test(buf.toString('latin1', 0, 20))) {
    throw new InputError('MATLAB Level 5/7 MAT-files are not supported; only Level 4 (v4)', file, 'header', 'version');
  }
  const vars: Mat4Variable[] = [];
  for (let at = 0; at < buf.length; ) {
    const where = `variable ${vars.length + 1}`;
    if (buf.length - at < 20) throw new InputError(`file ends inside a variable header (${buf.length - at} of 20 bytes)`, file, where, 'header');
    let big = false;
    let type = buf.readInt32LE(at);
    if (type < 0 || type > 4999) {
      type = buf.readInt32BE(at);
      big = true;
    }
    const int = (k: number) => (big ? buf.readInt32BE(at + 4 * k) : buf.readInt32LE(at + 4 * k));
    const m = floor(type / 1000), o = floor(type / 100) % 10, p = floor(type / 10) % 10, t = type % 10;
    if (m !== (big ? 1 : 0) || o !== 0 || p > 5 || t > 2) throw new InputError(`type ${type} is not a Level 4 MAT-file type (MOPT)`, file, where, 'type');
    if (m > 1) throw new InputError(`byte order M=${m} (VAX/Cray) is not supported`, file, where, 'type');
    if (t === 2) throw new InputError('sparse matrices are not supported', file, where, 'type');
    const rows = int(1), cols = int(2), imagf = int(3), namlen = int(4);
    if (rows < 0 || cols < 0 || namlen < 1 || (imagf !== 0 && imagf !== 1)) throw new InputError(`header is invalid (rows ${rows}, columns ${cols}, imagf ${imagf}, name length ${namlen})`, file, where, 'header');
    at += 20;
    if (at + namlen > buf.length) throw new InputError('file ends inside the variable name', file, where, 'name');
    const name = buf.toString('latin1', at, at + namlen).replace(/\0.*$/s, '');
    at += namlen;
    const n = rows * cols;
    const bytes = n * TYPES[p][1].BYTES_PER_ELEMENT;
    if (at + bytes * (1 + imagf) > buf.length) {
      throw new InputError(`file ends inside the data: ${rows} x ${cols} ${TYPES[p][0]} values need ${bytes * (1 + imagf)} bytes, ${buf.length - at} remain`, file, name || where, 'data');
    }
    const data = decode(buf, at, n, p, big);
    at += bytes;
    const variable: Mat4Variable = { name, rows, cols, type: TYPES[p][0], text: t === 1, bigEndian: big, data };
    if (imagf) {
      variable.imag = decode(buf, at, n, p, big);
      at += bytes;
    }
    vars.push(variable);
  }
  return vars;
}

/** PhysioNet/CinC Challenge 2017: variable `val`, int16, 300 Hz, 1000 digital units per mV, baseline 0. */
export const PHYSIONET_2017 = { variable: 'val', samplingRate: 300, gain: 1000, baseline: 0, unit: 'mV', labels: ['ECG'] };

export interface Mat4SignalOptions {
  /** The variable holding the signals (one row per signal); default `val`. */
  variable?: string;
  /** Hz; default 300 (PhysioNet 2017). */
  samplingRate?: number;
  /** Digital units per physical unit; one number or one per signal; default 1000 (per mV). */
  gain?: number | number[];
  /** Digital value of physical zero; default 0. */
  baseline?: number | number[];
  unit?: string;
  /** Channel labels; default `ECG` (one signal) or `ECG1`, `ECG2`, ... */
  labels?: string[];
}

/**
 * Reads a MATLAB v4 file whose variable holds signals as rows (PhysioNet 2017 records, or WFDB-style
 * `.mat` files without their header): physical = (digital - baseline) / gain. Defaults are PhysioNet 2017's.
 */
export function readMat4Signal(file: string, options: Mat4SignalOptions = {}): SignalRecording {
  const o = { ...PHYSIONET_2017, ...options };
  if (!(o.samplingRate > 0)) throw new InputError(`sampling rate must be > 0 Hz, got ${o.samplingRate}`, file, undefined, 'samplingRate');
  const vars = readMat4(file);
  const v = vars.find((x) => x.name === o.variable);
  if (!v) throw new InputError(`no variable '${o.variable}' (variables: ${vars.map((x) => x.name).join(', ') || 'none'})`, file, undefined, o.variable);
  if (v.text || v.imag) throw new InputError(`variable '${v.name}' is ${v.text ? 'text' : 'complex'}, not a real signal matrix`, file, v.name, 'type');
  if (v.rows === 0 || v.cols === 0) throw new InputError(`variable '${v.name}' is empty (${v.rows} x ${v.cols})`, file, v.name, 'data');
  const per = (x: number | number[], i: number, field: string): number => {
    const value = Array.isArray(x) ? x[i] : x;
    if (value === undefined || !Number.isFinite(value)) throw new InputError(`no ${field} for signal ${i + 1}`, file, v.name, field);
    return value;
  };
  const channels: SignalChannel[] = [];
  const warnings: string[] = [];
  for (let r = 0; r < v.rows; r++) {
    const gain = per(o.gain, r, 'gain');
    const baseline = per(o.baseline, r, 'baseline');
    if (gain === 0) throw new InputError('gain is 0', file, v.name, 'gain');
    const samples = new Float32Array(v.cols);
    let invalid = 0;
    for (let c = 0; c < v.cols; c++) {
      const x = (v.data[c * v.rows + r] - baseline) / gain;
      if (x - x !== 0) invalid++; // NaN or infinite
      samples[c] = x;
    }
    if (invalid) warnings.push(`signal ${r + 1}: ${invalid} samples are not finite (kept as NaN)`);
    const label = o.labels?.[r] ?? (v.rows === 1 ? 'ECG' : `ECG${r + 1}`);
    channels.push({ label, unit: o.unit, samplingRate: o.samplingRate, samples });
  }
  const durationSeconds = v.cols / o.samplingRate;
  return {
    file,
    format: 'mat4',
    id: recordStem(file),
    durationSeconds,
    channels,
    annotations: [],
    segments: [{ onset: 0, duration: durationSeconds }],
    acquisition: signalAcquisition('mat4', channels, durationSeconds, 1, {
      variable: v.name,
      storageType: v.type,
      gain: Array.isArray(o.gain) ? o.gain : [o.gain],
      baseline: Array.isArray(o.baseline) ? o.baseline : [o.baseline],
    }),
    corrections: [],
    warnings,
  };
}

/** Reads a PhysioNet challenge REFERENCE csv (`record,label` lines) into a map record -> label. */
export function readPhysionetReference(file: string): Map<string, string> {
  const labels = new Map<string, string>();
  readFileSync(file, 'utf8').split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const [record, label] = line.split(',').map((s) => s.trim());
    if (!record || !label) throw new InputError(`expected 'record,label', got '${line.slice(0, 40)}'`, file, `line ${i + 1}`, 'label');
    labels.set(record, label);
  });
  return labels;
}
