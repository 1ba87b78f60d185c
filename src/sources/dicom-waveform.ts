import { readFileSync } from 'node:fs';
import dicomParser from 'dicom-parser';
import type { DataSet } from 'dicom-parser';
import { InputError } from '../model/errors.js';
import { signalAcquisition, type SignalChannel, type SignalRecording } from './signal-recording.js';

// Builtins bound once: hot loops then skip the global lookup (slow in jest's vm contexts, free elsewhere).
const { min } = Math;

// DICOM waveforms (PS3.3 C.10.9 Waveform Module; 12-lead ECG IOD A.34.3). The Waveform Sequence
// (5400,0100) holds multiplex groups; each has its sampling frequency, sample count, channel definitions
// (source, sensitivity, baseline, units, filters) and interleaved samples in Waveform Data (5400,1010).
// The DICOM container is parsed by dicom-parser.

const TAG = {
  transferSyntax: 'x00020010', sopClass: 'x00080016', sopInstance: 'x00080018', modality: 'x00080060', manufacturer: 'x00080070',
  model: 'x00081090', acquisitionDateTime: 'x0008002a', contentDate: 'x00080023', contentTime: 'x00080033',
  waveformSequence: 'x54000100', originality: 'x003a0004', channels: 'x003a0005', samples: 'x003a0010', samplingFrequency: 'x003a001a',
  groupLabel: 'x003a0020', channelDefinitions: 'x003a0200', bitsAllocated: 'x54001004', interpretation: 'x54001006', waveformData: 'x54001010',
  paddingValue: 'x5400100a', timeOffset: 'x00181068',
  channelLabel: 'x003a0203', channelSource: 'x003a0208', sensitivity: 'x003a0210', sensitivityUnits: 'x003a0211',
  correction: 'x003a0212', baseline: 'x003a0213', timeSkew: 'x003a0214', channelBits: 'x003a021a', lowFilter: 'x003a0220', highFilter: 'x003a0221', notch: 'x003a0222',
  codeValue: 'x00080100', codeMeaning: 'x00080104',
};

const UNCOMPRESSED = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.1.99']);

/** One multiplex group of a waveform object. */
export interface DicomWaveformGroup {
  label: string;
  samplingRate: number;
  samples: number;
  timeOffsetSeconds: number;
  originality?: string;
  channels: SignalChannel[];
  filters: { lowHz?: number; highHz?: number; notchHz?: number }[];
}

/** A lead name from a channel source code meaning: `Lead I (Einthoven)` -> `I`, `Lead aVR` -> `aVR`. */
export function leadName(meaning: string): string {
  return meaning.replace(/\s*\(.*\)\s*$/, '').replace(/^Lead\s+/i, '').trim() || meaning;
}

function parse(buf: Buffer, file: string): DataSet {
  try {
    return dicomParser.parseDicom(new Uint8Array(buf.buffer, buf.byteOffset, buf.length));
  } catch (e) {
    const reason = e instanceof Error ? e.message : typeof e === 'string' ? e : String((e as { exception?: unknown }).exception ?? e);
    throw new InputError(`not a readable DICOM file (truncated, or not DICOM): ${reason}`, file, undefined, 'DICOM');
  }
}

function decodeSamples(ds: DataSet, offset: number, count: number, bits: number, interpretation: string, big: boolean, file: string, where: string): Float64Array {
  const v = new DataView(ds.byteArray.buffer, ds.byteArray.byteOffset + offset);
  const out = new Float64Array(count);
  const le = !big;
  const key = `${interpretation}${bits}`;
  switch (key) {
    case 'SS16': for (let i = 0; i < count; i++) out[i] = v.getInt16(2 * i, le); break;
    case 'US16': for (let i = 0; i < count; i++) out[i] = v.getUint16(2 * i, le); break;
    case 'SB8': for (let i = 0; i < count; i++) out[i] = v.getInt8(i); break;
    case 'UB8': for (let i = 0; i < count; i++) out[i] = v.getUint8(i); break;
    case 'SL32': for (let i = 0; i < count; i++) out[i] = v.getInt32(4 * i, le); break;
    case 'UL32': for (let i = 0; i < count; i++) out[i] = v.getUint32(4 * i, le); break;
    case 'SV64': for (let i = 0; i < count; i++) out[i] = Number(v.getBigInt64(8 * i, le)); break;
    default:
      throw new InputError(`waveform sample interpretation ${interpretation} with ${bits} bits allocated is not supported (mu-law and A-law are not decoded)`, file, where, 'Waveform Sample Interpretation');
  }
  return out;
}

function readGroup(ds: DataSet, item: DataSet, index: number, big: boolean, file: string): DicomWaveformGroup {
  const where = `multiplex group ${index + 1}`;
  const nch = item.uint16(TAG.channels);
  const ns = item.uint32(TAG.samples);
  const fs = item.floatString(TAG.samplingFrequency);
  const bits = item.uint16(TAG.bitsAllocated);
  const interpretation = item.string(TAG.interpretation) ?? '';
  if (!nch) throw new InputError('number of waveform channels is missing or 0', file, where, 'Number of Waveform Channels');
  if (!ns) throw new InputError('number of waveform samples is missing or 0', file, where, 'Number of Waveform Samples');
  if (!(fs !== undefined && fs > 0)) throw new InputError(`sampling frequency is ${fs ?? 'missing'}; it must be > 0 Hz`, file, where, 'Sampling Frequency');
  if (!bits) throw new InputError('waveform bits allocated is missing', file, where, 'Waveform Bits Allocated');
  const data = item.elements[TAG.waveformData];
  if (!data) throw new InputError('waveform data is missing', file, where, 'Waveform Data');
  const need = nch * ns * (bits / 8);
  if (data.length < need || data.dataOffset + need > ds.byteArray.length) {
    throw new InputError(`waveform data holds ${min(data.length, ds.byteArray.length - data.dataOffset)} bytes; ${nch} channels x ${ns} samples x ${bits / 8} bytes need ${need}`, file, where, 'Waveform Data');
  }
  const raw = decodeSamples(ds, data.dataOffset, nch * ns, bits, interpretation, big, file, where);
  const defs = item.elements[TAG.channelDefinitions]?.items ?? [];
  if (defs.length !== nch) throw new InputError(`${defs.length} channel definitions for ${nch} channels`, file, where, 'Channel Definition Sequence');
  const channels: SignalChannel[] = [];
  const filters: DicomWaveformGroup['filters'] = [];
  defs.forEach((d, c) => {
    const cd = d.dataSet!;
    const source = cd.elements[TAG.channelSource]?.items?.[0]?.dataSet;
    const label = cd.string(TAG.channelLabel) ?? (source?.string(TAG.codeMeaning) ? leadName(source.string(TAG.codeMeaning)!) : `channel${c + 1}`);
    const unit = cd.elements[TAG.sensitivityUnits]?.items?.[0]?.dataSet?.string(TAG.codeValue) ?? '';
    const sensitivity = cd.floatString(TAG.sensitivity);
    const correction = cd.floatString(TAG.correction) ?? 1;
    const baseline = cd.floatString(TAG.baseline) ?? 0;
    // Channel Sensitivity is the physical value of one digital unit (Type 1C: without it the values are digital).
    const scale = sensitivity === undefined ? 1 : sensitivity * correction;
    const samples = new Float32Array(ns);
    for (let i = 0; i < ns; i++) samples[i] = raw[i * nch + c] * scale + baseline;
    // A notch of 0 Hz means none.
    const lowHz = cd.floatString(TAG.lowFilter), highHz = cd.floatString(TAG.highFilter), notchHz = cd.floatString(TAG.notch) || undefined;
    const f = { ...(lowHz !== undefined ? { lowHz } : {}), ...(highHz !== undefined ? { highHz } : {}), ...(notchHz !== undefined ? { notchHz } : {}) };
    filters.push(f);
    const prefiltering = [lowHz !== undefined ? `HP:${lowHz}Hz` : '', highHz !== undefined ? `LP:${highHz}Hz` : '', notchHz !== undefined ? `N:${notchHz}Hz` : ''].filter(Boolean).join(' ');
    channels.push({ label, unit: sensitivity === undefined ? '' : unit, samplingRate: fs, samples, ...(source?.string(TAG.codeMeaning) ? { transducer: source.string(TAG.codeMeaning) } : {}), ...(prefiltering ? { prefiltering } : {}) });
  });
  return { label: item.string(TAG.groupLabel) ?? `group${index + 1}`, samplingRate: fs, samples: ns, timeOffsetSeconds: (item.floatString(TAG.timeOffset) ?? 0) / 1000, originality: item.string(TAG.originality), channels, filters };
}

/** Reads every multiplex group of a DICOM waveform file. */
export function readDicomWaveformGroups(file: string): { dataSet: DataSet; groups: DicomWaveformGroup[] } {
  const buf = readFileSync(file);
  const ds = parse(buf, file);
  const ts = ds.string(TAG.transferSyntax) ?? '1.2.840.10008.1.2';
  if (!UNCOMPRESSED.has(ts)) throw new InputError(`transfer syntax ${ts} is not supported for waveforms (uncompressed only)`, file, undefined, 'Transfer Syntax UID');
  const seq = ds.elements[TAG.waveformSequence];
  if (!seq?.items?.length) throw new InputError('no Waveform Sequence (5400,0100): not a waveform object', file, undefined, 'Waveform Sequence');
  const big = ts === '1.2.840.10008.1.2.2';
  return { dataSet: ds, groups: seq.items.map((it, i) => readGroup(ds, it.dataSet!, i, big, file)) };
}

function dicomDateTime(ds: DataSet): string | undefined {
  const dt = ds.string(TAG.acquisitionDateTime);
  const m = dt ? /^(\d{4})(\d\d)(\d\d)(\d\d)?(\d\d)?(\d\d(?:\.\d+)?)?/.exec(dt) : null;
  if (m) return `${m[1]}-${m[2]}-${m[3]}T${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}`;
  const d = ds.string(TAG.contentDate), t = ds.string(TAG.contentTime);
  const dm = d ? /^(\d{4})(\d\d)(\d\d)$/.exec(d) : null;
  const tm = t ? /^(\d\d)(\d\d)?(\d\d(?:\.\d+)?)?/.exec(t) : null;
  return dm ? `${dm[1]}-${dm[2]}-${dm[3]}T${tm?.[1] ?? '00'}:${tm?.[2] ?? '00'}:${tm?.[3] ?? '00'}` : undefined;
}

/**
 * Reads one multiplex group of a DICOM waveform (default: the first, which in a 12-lead ECG is the
 * RHYTHM group) as a SignalRecording; physical = digital x sensitivity x correction factor + baseline.
 */
export function readDicomWaveform(file: string, options: { group?: number | string } = {}): SignalRecording {
  const { dataSet: ds, groups } = readDicomWaveformGroups(file);
  const g = typeof options.group === 'string' ? groups.find((x) => x.label === options.group) : groups[options.group ?? 0];
  if (!g) throw new InputError(`no multiplex group ${options.group} (groups: ${groups.map((x) => x.label).join(', ')})`, file, undefined, 'Waveform Sequence');
  const durationSeconds = g.samples / g.samplingRate;
  const extra: Record<string, string | number | string[] | number[]> = {
    multiplexGroup: g.label,
    multiplexGroups: groups.map((x) => x.label),
    sopClassUid: ds.string(TAG.sopClass) ?? '',
    modality: ds.string(TAG.modality) ?? '',
  };
  const manufacturer = ds.string(TAG.manufacturer);
  const model = ds.string(TAG.model);
  if (manufacturer) extra.manufacturer = manufacturer;
  if (model) extra.deviceModel = model;
  const low = g.filters.map((f) => f.lowHz).filter((x): x is number => x !== undefined);
  const high = g.filters.map((f) => f.highHz).filter((x): x is number => x !== undefined);
  const notch = g.filters.map((f) => f.notchHz).filter((x): x is number => x !== undefined);
  if (low.length) extra.highPassHz = low;
  if (high.length) extra.lowPassHz = high;
  if (notch.length) extra.notchHz = notch;
  return {
    file,
    format: 'dicom-waveform',
    id: ds.string(TAG.sopInstance) ?? file,
    startTime: dicomDateTime(ds),
    durationSeconds,
    channels: g.channels,
    annotations: [],
    segments: [{ onset: g.timeOffsetSeconds, duration: durationSeconds }],
    acquisition: signalAcquisition('dicom-waveform', g.channels, durationSeconds, 1, extra),
    corrections: [],
    warnings: [],
  };
}
