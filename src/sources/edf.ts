import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { InputError } from '../model/errors.js';
import { recordStem, signalAcquisition, type SignalAnnotation, type SignalChannel, type SignalFormat, type SignalRecording, type SignalSegment } from './signal-recording.js';

// Builtins bound once: hot loops then skip the global lookup (slow in jest's vm contexts, free elsewhere).
const { abs, floor, max, min } = Math;

// EDF (Kemp et al. 1992), EDF+ (Kemp & Olivan 2003, https://www.edfplus.info/specs/edfplus.html) and
// BDF (BioSemi's 24-bit EDF). A 256-byte fixed header, 256 bytes per signal, then data records of a
// fixed size: each signal's samples for `recordDuration` seconds, one signal after another.
// EDF+ adds "EDF Annotations" signals holding time-stamped annotation lists (TALs); the first TAL of
// every record keeps time (its onset is the record's start), which is how EDF+D stores gaps.

export interface EdfSignalHeader {
  label: string;
  transducer: string;
  physicalDimension: string;
  physicalMinimum: number;
  physicalMaximum: number;
  digitalMinimum: number;
  digitalMaximum: number;
  prefiltering: string;
  samplesPerRecord: number;
  reserved: string;
  /** An "EDF Annotations" / "BDF Annotations" signal of EDF+/BDF+. */
  isAnnotation: boolean;
}

export type EdfVariant = 'EDF' | 'EDF+C' | 'EDF+D' | 'BDF' | 'BDF+C' | 'BDF+D';

export interface EdfHeader {
  variant: EdfVariant;
  bytesPerSample: 2 | 3;
  /** Local patient identification as written (EDF+: code, sex, birthdate, name). Not put in `acquisition`. */
  patient: string;
  /** Local recording identification as written (EDF+: `Startdate dd-MMM-yyyy admincode technician equipment`). */
  recording: string;
  startDate: string;
  startTime: string;
  headerBytes: number;
  reserved: string;
  /** The number of data records as the header states it (-1: unknown). */
  dataRecords: number;
  /** Seconds per data record. */
  recordDuration: number;
  signals: EdfSignalHeader[];
}

export interface EdfOpenOptions {
  /** Throw instead of repairing a record count that does not match the file size. Default false. */
  strict?: boolean;
}

/** An EDF file opened for reading: its header, the record count to trust, and how to read the bytes. */
export interface EdfFile {
  file: string;
  header: EdfHeader;
  /** Complete data records in the file (may differ from `header.dataRecords`: see `corrections`). */
  recordCount: number;
  recordBytes: number;
  /** Bytes of each signal in a record, and where it starts. */
  signalOffsets: number[];
  /** The data was damaged by a text-mode copy (every LF preceded by an inserted CR); CRs are dropped while reading. */
  repairCrlf: boolean;
  corrections: string[];
}

/** One data record, decoded: its start (s), physical samples of each data signal, its annotations. */
export interface EdfDataRecord {
  index: number;
  onset: number;
  /** Physical values per signal (index as in `header.signals`; annotation signals get an empty array). */
  samples: Float32Array[];
  annotations: SignalAnnotation[];
}

const HEADER_FIELDS: [keyof EdfSignalHeader, number][] = [
  ['label', 16], ['transducer', 80], ['physicalDimension', 8], ['physicalMinimum', 8], ['physicalMaximum', 8],
  ['digitalMinimum', 8], ['digitalMaximum', 8], ['prefiltering', 80], ['samplesPerRecord', 8], ['reserved', 32],
];
const TEXT_FIELDS = new Set<string>(['label', 'transducer', 'physicalDimension', 'prefiltering', 'reserved']);
const FIELD_NAMES: Record<string, string> = {
  physicalMinimum: 'physical minimum', physicalMaximum: 'physical maximum', digitalMinimum: 'digital minimum',
  digitalMaximum: 'digital maximum', samplesPerRecord: 'number of samples in each data record',
};

function ascii(buf: Buffer, start: number, length: number): string {
  return buf.toString('latin1', start, start + length).trim();
}

function number(text: string, file: string, field: string, record?: string): number {
  const x = Number(text);
  if (text === '' || !Number.isFinite(x)) throw new InputError(`'${text}' is not a number`, file, record, field);
  return x;
}

function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/** Parses the fixed header and the signal headers from the file's first `256 * (ns + 1)` bytes. */
export function parseEdfHeader(fixed: Buffer, signalBytes: Buffer | undefined, file: string): EdfHeader {
  if (fixed.length < 256) throw new InputError(`file is ${fixed.length} bytes, shorter than the 256-byte EDF header`, file, 'header', 'header');
  const bdf = fixed[0] === 0xff && fixed.toString('latin1', 1, 8) === 'BIOSEMI';
  if (!bdf && fixed.toString('latin1', 0, 8) !== '0       ') {
    throw new InputError(`not an EDF or BDF file (version field is '${fixed.toString('latin1', 0, 8).replace(/[^\x20-\x7e]/g, '?')}')`, file, 'header', 'version');
  }
  const reserved = ascii(fixed, 192, 44);
  const ns = number(ascii(fixed, 252, 4), file, 'number of signals', 'header');
  if (!Number.isInteger(ns) || ns < 1) throw new InputError(`number of signals is ${ns}`, file, 'header', 'number of signals');
  const headerBytes = number(ascii(fixed, 184, 8), file, 'number of bytes in header record', 'header');
  if (headerBytes !== 256 * (ns + 1)) {
    throw new InputError(`header size is ${headerBytes} bytes, but ${ns} signals need ${256 * (ns + 1)}`, file, 'header', 'number of bytes in header record');
  }
  if (!signalBytes || signalBytes.length < 256 * ns) {
    throw new InputError(`file ends inside the signal headers (${256 + (signalBytes?.length ?? 0)} of ${headerBytes} bytes)`, file, 'header', 'signal headers');
  }
  const signals = Array.from({ length: ns }, () => ({}) as Record<string, string | number>);
  let pos = 0;
  for (const [name, width] of HEADER_FIELDS) {
    for (let s = 0; s < ns; s++) {
      const text = ascii(signalBytes, pos + s * width, width);
      signals[s][name] = TEXT_FIELDS.has(name) ? text : number(text, file, FIELD_NAMES[name] ?? name, `signal ${s + 1} (${signals[s].label})`);
    }
    pos += width * ns;
  }
  const plus = /^(EDF|BDF)\+[CD]/.exec(reserved)?.[0];
  const variant = (plus ? plus : bdf ? 'BDF' : 'EDF') as EdfVariant;
  const header: EdfHeader = {
    variant,
    bytesPerSample: bdf ? 3 : 2,
    patient: ascii(fixed, 8, 80),
    recording: ascii(fixed, 88, 80),
    startDate: ascii(fixed, 168, 8),
    startTime: ascii(fixed, 176, 8),
    headerBytes,
    reserved,
    dataRecords: number(ascii(fixed, 236, 8), file, 'number of data records', 'header'),
    recordDuration: number(ascii(fixed, 244, 8), file, 'duration of a data record', 'header'),
    signals: signals.map((s) => ({
      ...(s as unknown as EdfSignalHeader),
      isAnnotation: plus !== undefined && /^(EDF|BDF) Annotations$/.test(String(s.label)),
    })),
  };
  checkSignals(header, file);
  return header;
}

function checkSignals(h: EdfHeader, file: string): void {
  if (h.recordDuration < 0) throw new InputError(`record duration is ${h.recordDuration} s`, file, 'header', 'duration of a data record');
  h.signals.forEach((s, i) => {
    const where = `signal ${i + 1} (${s.label})`;
    if (!Number.isInteger(s.samplesPerRecord) || s.samplesPerRecord < 0) throw new InputError(`samples per record is ${s.samplesPerRecord}`, file, where, FIELD_NAMES.samplesPerRecord);
    if (s.isAnnotation) return;
    if (s.samplesPerRecord === 0) throw new InputError('sampling rate is 0 (no samples in a data record)', file, where, FIELD_NAMES.samplesPerRecord);
    if (h.recordDuration === 0) throw new InputError('sampling rate is undefined: the data record duration is 0 s', file, 'header', 'duration of a data record');
    if (s.digitalMaximum <= s.digitalMinimum) throw new InputError(`digital maximum ${s.digitalMaximum} is not above digital minimum ${s.digitalMinimum}`, file, where, 'digital maximum');
    if (s.physicalMaximum === s.physicalMinimum) throw new InputError(`physical maximum equals physical minimum (${s.physicalMinimum})`, file, where, 'physical maximum');
  });
}

const CR = 0x0d;
const LF = 0x0a;
const CRLF = Buffer.from([CR, LF]);

/** Reads the data area sequentially, optionally dropping the CR of every CR LF pair (exported for tests). */
export class DataReader {
  private position: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private carryCr = false;
  private readonly raw: Buffer;

  constructor(private readonly fd: number, start: number, private readonly repairCrlf: boolean, chunk = 1 << 22) {
    this.position = start;
    this.raw = repairCrlf ? Buffer.alloc(chunk) : Buffer.alloc(0);
  }

  /** Fills `dst` with up to `n` bytes; returns how many it got (fewer only at the end of the file). */
  read(dst: Buffer, n: number): number {
    if (!this.repairCrlf) {
      let got = 0;
      while (got < n) {
        const k = readSync(this.fd, dst, got, n - got, this.position);
        if (k === 0) break;
        got += k;
        this.position += k;
      }
      return got;
    }
    while (this.pendingBytes < n && this.refill());
    let got = 0;
    while (got < n && this.pending.length) {
      const head = this.pending[0];
      const take = min(head.length, n - got);
      head.copy(dst, got, 0, take);
      got += take;
      if (take === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(take);
    }
    this.pendingBytes -= got;
    return got;
  }

  private refill(): boolean {
    const n = readSync(this.fd, this.raw, 0, this.raw.length, this.position);
    this.position += n;
    if (n === 0) {
      if (!this.carryCr) return false;
      this.carryCr = false;
      this.push(Buffer.from([CR]));
      return true;
    }
    const src = this.raw.subarray(0, n);
    if (this.carryCr && src[0] !== LF) this.push(Buffer.from([CR]));
    this.carryCr = src[n - 1] === CR;
    const end = this.carryCr ? n - 1 : n;
    let start = 0;
    for (let i = src.indexOf(CRLF, 0); i >= 0 && i < end - 1; i = src.indexOf(CRLF, i + 1)) {
      this.push(Buffer.from(src.subarray(start, i)));
      start = i + 1;
    }
    this.push(Buffer.from(src.subarray(start, end)));
    return true;
  }

  private push(b: Buffer): void {
    if (b.length === 0) return;
    this.pending.push(b);
    this.pendingBytes += b.length;
  }
}

/**
 * Counts the LF bytes of the data area and whether each is preceded by a CR: the signature of a file
 * copied in text mode (LF -> CR LF). Returns the CR count to drop, or 0 when any LF stands alone.
 */
function crlfDamage(fd: number, start: number, size: number): number {
  const chunk = Buffer.alloc(1 << 23);
  let pairs = 0;
  let prev = -1;
  for (let pos = start; pos < size; ) {
    const n = readSync(fd, chunk, 0, min(chunk.length, size - pos), pos);
    if (n === 0) break;
    for (let i = chunk.indexOf(LF, 0); i >= 0 && i < n; i = chunk.indexOf(LF, i + 1)) {
      const before = i > 0 ? chunk[i - 1] : prev;
      if (before !== CR) return 0;
      pairs++;
    }
    prev = chunk[n - 1];
    pos += n;
  }
  return pairs;
}

/** Does the first annotation signal of this record start with a time-keeping TAL (`+onset\x14\x14`)? */
function startsWithTal(record: Buffer, offset: number): boolean {
  return /^[+-]\d+(\.\d*)?\x14\x14/.test(record.toString('latin1', offset, offset + 40));
}

/**
 * Opens an EDF/EDF+/BDF file: checks the header, and decides how many records to read. When the
 * header's record count is -1 or disagrees with the file size, the count is inferred from the file size
 * (complete records only) and the correction is reported. When the data bytes carry the signature of a
 * text-mode copy (every LF preceded by an inserted CR) and the record structure is broken, the CRs are
 * dropped while reading and that is reported too.
 */
export function openEdf(file: string, options: EdfOpenOptions = {}): EdfFile {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const fixed = readAt(fd, 256, 0);
    const ns = fixed.length >= 256 ? Number(ascii(fixed, 252, 4)) : 0;
    // At most what the file holds: a lying signal count must not size an allocation (the header check reports it).
    const signalBytes = fixed.length >= 256 && Number.isInteger(ns) && ns > 0 ? readAt(fd, Math.min(256 * ns, Math.max(0, size - 256)), 256) : undefined;
    const header = parseEdfHeader(fixed, signalBytes, file);
    const signalOffsets: number[] = [];
    let recordBytes = 0;
    for (const s of header.signals) {
      signalOffsets.push(recordBytes);
      recordBytes += s.samplesPerRecord * header.bytesPerSample;
    }
    if (recordBytes === 0) throw new InputError('data records are empty (every signal has 0 samples per record)', file, 'header', 'number of samples in each data record');
    const corrections: string[] = [];
    let dataBytes = size - header.headerBytes;
    const annotationAt = header.signals.findIndex((s) => s.isAnnotation);
    const firstRecordBroken = (repair: boolean): boolean => {
      if (annotationAt < 0 || dataBytes < recordBytes) return false;
      const rec = Buffer.alloc(recordBytes);
      new DataReader(fd, header.headerBytes, repair).read(rec, recordBytes);
      return !startsWithTal(rec, signalOffsets[annotationAt]);
    };
    const sizeMismatch = header.dataRecords >= 0 && header.dataRecords * recordBytes !== dataBytes;
    let repairCrlf = false;
    const brokenAsIs = firstRecordBroken(false);
    if (sizeMismatch || brokenAsIs) {
      const crs = crlfDamage(fd, header.headerBytes, size);
      // Repair only when it restores the structure: the time-keeping TAL of EDF+, or the exact size of EDF.
      const restored = annotationAt >= 0 ? !firstRecordBroken(true) : header.dataRecords > 0 && dataBytes - crs === header.dataRecords * recordBytes;
      if (crs > 0 && restored) {
        const message = `every LF byte (0x0A) of the data is preceded by an inserted CR (0x0D), the signature of a text-mode copy; dropping those ${crs} CR bytes restores the record structure`;
        if (options.strict) throw new InputError(message, file, 'data', 'data');
        repairCrlf = true;
        dataBytes -= crs;
        corrections.push(`data repaired: ${message}`);
      } else if (brokenAsIs) {
        throw new InputError('the annotation signal of the first data record does not start with a time-keeping TAL: the record layout does not match the header', file, 'data record 1', header.signals[annotationAt].label);
      }
    }
    const complete = floor(dataBytes / recordBytes);
    const trailing = dataBytes - complete * recordBytes;
    if (complete === 0) throw new InputError(`file holds ${dataBytes} data bytes, less than one data record (${recordBytes} bytes): truncated`, file, 'data record 1', 'data');
    let recordCount = header.dataRecords;
    if (header.dataRecords < 0 || header.dataRecords !== complete || trailing !== 0) {
      const stated = header.dataRecords < 0 ? 'unknown (-1)' : String(header.dataRecords);
      const message = `header states ${stated} data records; the file holds ${complete} complete records of ${recordBytes} bytes${trailing ? ` and ${trailing} bytes of an incomplete one, which are ignored` : ''}`;
      if (options.strict) throw new InputError(message, file, 'header', 'number of data records');
      corrections.push(`record count inferred from the file size: ${message}`);
      recordCount = complete;
    }
    return { file, header, recordCount, recordBytes, signalOffsets, repairCrlf, corrections };
  } finally {
    closeSync(fd);
  }
}

/** Digital -> physical: physical = digital * scale + offset (the header's linear map). */
function scaling(s: EdfSignalHeader): { scale: number; offset: number } {
  const scale = (s.physicalMaximum - s.physicalMinimum) / (s.digitalMaximum - s.digitalMinimum);
  return { scale, offset: s.physicalMinimum - s.digitalMinimum * scale };
}

function decodeSignal(chunk: Buffer, at: number, n: number, bps: 2 | 3, scale: number, offset: number, out: Float32Array, outAt: number): void {
  if (bps === 2) {
    const view = new Int16Array(chunk.buffer, chunk.byteOffset + at, n);
    for (let i = 0; i < n; i++) out[outAt + i] = view[i] * scale + offset;
    return;
  }
  for (let i = 0, p = at; i < n; i++, p += 3) {
    // 24-bit little-endian two's complement: shift the sign bit into bit 31 and back.
    out[outAt + i] = (((chunk[p] | (chunk[p + 1] << 8) | (chunk[p + 2] << 16)) << 8) >> 8) * scale + offset;
  }
}

const TAL_ONSET = /^[+-]\d+(\.\d*)?$/;

/** Parses the TALs of one annotation signal of one record: the time-keeping onset and the annotations. */
export function parseTals(bytes: Buffer, file: string, record: string): { timekeeping?: number; annotations: SignalAnnotation[] } {
  const annotations: SignalAnnotation[] = [];
  let timekeeping: number | undefined;
  let first = true;
  for (let i = 0; i < bytes.length; ) {
    if (bytes[i] === 0) {
      i++;
      continue;
    }
    let end = bytes.indexOf(0, i);
    if (end < 0) end = bytes.length;
    const tal = bytes.toString('utf8', i, end);
    i = end + 1;
    const parts = tal.split('\x14');
    const [onsetText, durationText] = parts[0].split('\x15');
    if (!TAL_ONSET.test(onsetText)) throw new InputError(`TAL onset '${onsetText.replace(/[^\x20-\x7e]/g, '?')}' is not a signed number`, file, record, 'EDF Annotations');
    const onset = Number(onsetText);
    const duration = durationText === undefined || durationText === '' ? 0 : Number(durationText);
    if (!Number.isFinite(duration) || duration < 0) throw new InputError(`TAL duration '${durationText}' is not a number >= 0`, file, record, 'EDF Annotations');
    const texts = parts.slice(1, parts.length - 1);
    if (first && texts[0] === '') {
      timekeeping = onset;
      texts.shift();
    }
    first = false;
    for (const text of texts) if (text !== '') annotations.push({ onset, duration, text });
  }
  return { timekeeping, annotations };
}

export interface EdfRecordOptions {
  /** Records per read (default: about 4 MiB of file). */
  chunkRecords?: number;
  /** Which signals to decode (index as in `header.signals`); default all. */
  signals?: boolean[];
  /** Decode straight into these arrays (one per signal, `recordCount x samplesPerRecord` long); the
   * yielded samples are then views into them. */
  into?: Float32Array[];
}

const EMPTY = new Float32Array(0);

/**
 * Streams the data records of an opened EDF file, reading `chunkRecords` records at a time (memory
 * stays at one chunk whatever the file size). Annotation TALs are checked in every record: a record whose
 * time-keeping TAL is missing stops the read with an error naming the record.
 */
export function* edfDataRecords(edf: EdfFile, options: EdfRecordOptions = {}): Generator<EdfDataRecord> {
  const { header, recordBytes, signalOffsets } = edf;
  const chunkRecords = max(1, options.chunkRecords ?? max(1, floor((4 << 20) / recordBytes)));
  const wanted = options.signals ?? header.signals.map(() => true);
  const scales = header.signals.map(scaling);
  const fd = openSync(edf.file, 'r');
  try {
    const reader = new DataReader(fd, header.headerBytes, edf.repairCrlf);
    const chunk = Buffer.alloc(chunkRecords * recordBytes);
    for (let done = 0; done < edf.recordCount; ) {
      const count = min(chunkRecords, edf.recordCount - done);
      const got = reader.read(chunk, count * recordBytes);
      if (got < count * recordBytes) throw new InputError(`file ends inside data record ${done + floor(got / recordBytes) + 1}`, edf.file, `data record ${done + floor(got / recordBytes) + 1}`, 'data');
      for (let r = 0; r < count; r++) {
        const index = done + r;
        const base = r * recordBytes;
        let onset = index * header.recordDuration;
        let firstAnnotation = true;
        const annotations: SignalAnnotation[] = [];
        const samples = header.signals.map((s, k) => {
          if (s.isAnnotation) {
            const at = base + signalOffsets[k];
            const tals = parseTals(chunk.subarray(at, at + s.samplesPerRecord * header.bytesPerSample), edf.file, `data record ${index + 1}`);
            if (firstAnnotation) {
              if (tals.timekeeping === undefined) throw new InputError('annotation signal does not start with a time-keeping TAL', edf.file, `data record ${index + 1}`, s.label);
              onset = tals.timekeeping;
              firstAnnotation = false;
            }
            annotations.push(...tals.annotations);
            return EMPTY;
          }
          if (!wanted[k]) return EMPTY;
          const spr = s.samplesPerRecord;
          const into = options.into?.[k];
          const out = into ? into.subarray(index * spr, (index + 1) * spr) : new Float32Array(spr);
          decodeSignal(chunk, base + signalOffsets[k], spr, header.bytesPerSample, scales[k].scale, scales[k].offset, out, 0);
          return out;
        });
        yield { index, onset, samples, annotations };
      }
      done += count;
    }
  } finally {
    closeSync(fd);
  }
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

/** Start date and time as ISO 8601 (local, no zone); EDF+'s `Startdate dd-MMM-yyyy` gives the 4-digit year. */
export function edfStartTime(h: EdfHeader): string | undefined {
  const d = /^(\d\d)\.(\d\d)\.(\d\d)$/.exec(h.startDate);
  const t = /^(\d\d)\.(\d\d)\.(\d\d)$/.exec(h.startTime);
  if (!d || !t) return undefined;
  let year = Number(d[3]) >= 85 ? 1900 + Number(d[3]) : 2000 + Number(d[3]);
  const plus = /^Startdate (\d\d)-([A-Z]{3})-(\d{4})\b/.exec(h.recording);
  if (plus && MONTHS.includes(plus[2])) year = Number(plus[3]);
  return `${year}-${d[2]}-${d[1]}T${t[1]}:${t[2]}:${t[3]}`;
}

export interface EdfReadOptions extends EdfOpenOptions {
  /** Labels (as in the file, trimmed) of the signals to read; default every data signal. */
  channels?: string[];
}

/**
 * Reads an EDF, EDF+ (C or D) or BDF file into a SignalRecording: physical values (Float32), each
 * signal at its own rate, EDF+ annotations, the segments an EDF+D file covers. Reads by data record
 * in chunks of about 4 MiB; the result holds only the decoded samples.
 */
export function readEdf(file: string, options: EdfReadOptions = {}): SignalRecording {
  const edf = openEdf(file, options);
  const { header } = edf;
  const wanted = header.signals.map((s) => !s.isAnnotation && (!options.channels || options.channels.includes(s.label)));
  if (options.channels) {
    for (const c of options.channels) if (!header.signals.some((s) => s.label === c && !s.isAnnotation)) throw new InputError(`no data signal labelled '${c}'`, file, 'header', 'label');
  }
  const outputs = header.signals.map((s, k) => (wanted[k] ? new Float32Array(s.samplesPerRecord * edf.recordCount) : new Float32Array(0)));
  const annotations: SignalAnnotation[] = [];
  const onsets = new Float64Array(edf.recordCount);
  for (const rec of edfDataRecords(edf, { signals: wanted, into: outputs })) {
    onsets[rec.index] = rec.onset;
    for (const a of rec.annotations) annotations.push(a);
  }
  const warnings: string[] = [];
  const segments = recordSegments(onsets, header.recordDuration);
  if (header.variant.endsWith('+C') && segments.length > 1) warnings.push(`EDF+C file has ${segments.length} discontinuous segments by its record time stamps`);
  const channels: SignalChannel[] = [];
  header.signals.forEach((s, k) => {
    if (!wanted[k]) return;
    channels.push({
      label: s.label,
      unit: s.physicalDimension,
      samplingRate: s.samplesPerRecord / header.recordDuration,
      samples: outputs[k],
      ...(s.transducer ? { transducer: s.transducer } : {}),
      ...(s.prefiltering ? { prefiltering: s.prefiltering } : {}),
    });
  });
  const durationSeconds = edf.recordCount * header.recordDuration;
  const format = header.variant.toLowerCase() as SignalFormat;
  const equipment = /^Startdate \S+ \S+ \S+ (\S+)/.exec(header.recording)?.[1];
  return {
    file,
    format,
    id: recordStem(file),
    startTime: edfStartTime(header),
    durationSeconds,
    channels,
    annotations: annotations.sort((a, b) => a.onset - b.onset),
    segments,
    acquisition: signalAcquisition(format, channels, durationSeconds, segments.length, {
      recordDurationSeconds: header.recordDuration,
      dataRecords: edf.recordCount,
      dataRecordsInHeader: header.dataRecords,
      prefiltering: channels.map((c) => c.prefiltering ?? ''),
      transducers: channels.map((c) => c.transducer ?? ''),
      bitsPerSample: header.bytesPerSample * 8,
      ...(equipment && equipment !== 'X' ? { equipment } : {}),
      ...(segments.length > 1 ? { spanSeconds: segments[segments.length - 1].onset + segments[segments.length - 1].duration - segments[0].onset } : {}),
    }),
    corrections: edf.corrections,
    warnings,
  };
}

/** Merges records whose onsets follow each other into segments (EDF+D gaps split them). */
function recordSegments(onsets: Float64Array, duration: number): SignalSegment[] {
  const segments: SignalSegment[] = [];
  for (let i = 0; i < onsets.length; i++) {
    const last = segments[segments.length - 1];
    if (last && abs(last.onset + last.duration - onsets[i]) < 1e-6 * max(1, duration)) last.duration += duration;
    else segments.push({ onset: onsets[i], duration });
  }
  return segments;
}
