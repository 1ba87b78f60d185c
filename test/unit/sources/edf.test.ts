import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../../src/model/errors.js';
import { openSync, closeSync } from 'node:fs';
import { DataReader, edfDataRecords, openEdf, parseTals, readEdf } from '../../../src/sources/edf.js';
import { tempDir } from '../../helpers/paths.js';

// EDF files written here byte by byte from the specification (https://www.edfplus.info/specs/), so the
// reader is checked against the format, not against itself.

interface SignalSpec {
  label: string;
  unit?: string;
  physMin?: number;
  physMax?: number;
  digMin?: number;
  digMax?: number;
  samples: number;
  prefilter?: string;
}

interface EdfSpec {
  signals: SignalSpec[];
  records: number[][][]; // records x signals x samples (digital); annotation signals take TAL strings instead
  tals?: string[]; // per record, the annotation signal's text (EDF+)
  recordsField?: string;
  duration?: string;
  reserved?: string;
  bdf?: boolean;
  headerBytesField?: string;
  recording?: string;
}

const pad = (s: string, n: number) => s.slice(0, n).padEnd(n, ' ');

function edfBytes(spec: EdfSpec): Buffer {
  const ns = spec.signals.length;
  const bps = spec.bdf ? 3 : 2;
  const head = Buffer.alloc(256 * (ns + 1), ' ');
  if (spec.bdf) {
    head[0] = 0xff;
    head.write('BIOSEMI', 1, 'latin1');
  } else head.write(pad('0', 8), 0, 'latin1');
  head.write(pad('X M 01-JAN-1970 Test_Patient', 80), 8, 'latin1');
  head.write(pad(spec.recording ?? 'Startdate 12-AUG-2009 X X TestAmp', 80), 88, 'latin1');
  head.write('12.08.09', 168, 'latin1');
  head.write('16.15.00', 176, 'latin1');
  head.write(pad(spec.headerBytesField ?? String(256 * (ns + 1)), 8), 184, 'latin1');
  head.write(pad(spec.reserved ?? 'EDF+C', 44), 192, 'latin1');
  head.write(pad(spec.recordsField ?? String(spec.records.length), 8), 236, 'latin1');
  head.write(pad(spec.duration ?? '1', 8), 244, 'latin1');
  head.write(pad(String(ns), 4), 252, 'latin1');
  const fields: [number, (s: SignalSpec) => string][] = [
    [16, (s) => s.label], [80, () => 'AgAgCl electrode'], [8, (s) => s.unit ?? 'uV'], [8, (s) => String(s.physMin ?? -100)], [8, (s) => String(s.physMax ?? 100)],
    [8, (s) => String(s.digMin ?? -2048)], [8, (s) => String(s.digMax ?? 2047)], [80, (s) => s.prefilter ?? 'HP:0.1Hz LP:75Hz'], [8, (s) => String(s.samples)], [32, () => ''],
  ];
  let at = 256;
  for (const [w, f] of fields) for (const s of spec.signals) {
    head.write(pad(f(s), w), at, 'latin1');
    at += w;
  }
  const recs = spec.records.map((rec, r) => {
    const parts = spec.signals.map((s, k) => {
      const buf = Buffer.alloc(s.samples * bps);
      if (/Annotations/.test(s.label)) buf.write(spec.tals?.[r] ?? '', 0, 'latin1');
      else rec[k].forEach((v, i) => (bps === 2 ? buf.writeInt16LE(v, 2 * i) : buf.writeIntLE(v, 3 * i, 3)));
      return buf;
    });
    return Buffer.concat(parts);
  });
  return Buffer.concat([head, ...recs]);
}

const ANN = { label: 'EDF Annotations', samples: 30, physMin: -1, physMax: 1, digMin: -32768, digMax: 32767 };
const EEG = { label: 'EEG Fp1-REF', samples: 4, physMin: -100, physMax: 100, digMin: -2048, digMax: 2047 };
const SLOW = { label: 'Resp', unit: 'mV', samples: 2, physMin: 0, physMax: 10, digMin: 0, digMax: 1000 };

function threeRecords(): EdfSpec {
  return {
    signals: [EEG, SLOW, ANN],
    records: [
      [[-2048, 0, 2047, 10], [0, 1000], []],
      [[1, 2, 3, 4], [500, 250], []],
      [[-1, -2, -3, -4], [100, 900], []],
    ],
    tals: ['+0\x14\x14\0+0.5\x151.5\x14Eyes open\x14\0', '+1\x14\x14\0', '+2\x14\x14\0+2.25\x14Seizure\x14Spike\x14\0'],
  };
}

describe('EDF/EDF+ reader', () => {
  const tmp = tempDir('harmonia-edf-');
  afterAll(() => tmp.remove());
  const write = (name: string, bytes: Buffer) => {
    const f = join(tmp.path, name);
    writeFileSync(f, bytes);
    return f;
  };
  const errorOf = (fn: () => unknown): InputError => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      return e as InputError;
    }
    throw new Error('expected an InputError');
  };

  test('EDF+C: digital to physical scaling, different sample counts per signal, TAL annotations, start time', () => {
    const f = write('c.edf', edfBytes(threeRecords()));
    const r = readEdf(f);
    expect(r.format).toBe('edf+c');
    expect(r.startTime).toBe('2009-08-12T16:15:00');
    expect(r.durationSeconds).toBe(3);
    expect(r.channels.map((c) => [c.label, c.unit, c.samplingRate, c.samples.length])).toEqual([['EEG Fp1-REF', 'uV', 4, 12], ['Resp', 'mV', 2, 6]]);
    // physical = (d - dmin) * (pmax - pmin) / (dmax - dmin) + pmin
    const eeg = Array.from(r.channels[0].samples);
    expect(eeg[0]).toBeCloseTo(-100, 5);
    expect(eeg[2]).toBeCloseTo(100, 5);
    expect(eeg[3]).toBeCloseTo(((10 + 2048) * 200) / 4095 - 100, 4);
    expect(Array.from(r.channels[1].samples)).toEqual([0, 10, 5, 2.5, 1, 9]);
    expect(r.annotations).toEqual([
      { onset: 0.5, duration: 1.5, text: 'Eyes open' },
      { onset: 2.25, duration: 0, text: 'Seizure' },
      { onset: 2.25, duration: 0, text: 'Spike' },
    ]);
    expect(r.segments).toEqual([{ onset: 0, duration: 3 }]);
    expect(r.corrections).toEqual([]);
    expect(r.acquisition).toMatchObject({ samplingRate: 4, samplingRates: [4, 2], channels: 2, channelLabels: ['EEG Fp1-REF', 'Resp'], durationSeconds: 3, dataRecords: 3, equipment: 'TestAmp', recordDurationSeconds: 1 });
  });

  test('EDF+D: record time stamps give segments with their gaps', () => {
    const spec = threeRecords();
    spec.reserved = 'EDF+D';
    spec.tals = ['+0\x14\x14\0', '+1\x14\x14\0', '+10.5\x14\x14\0+11\x14Late\x14\0'];
    const r = readEdf(write('d.edf', edfBytes(spec)));
    expect(r.format).toBe('edf+d');
    expect(r.segments).toEqual([{ onset: 0, duration: 2 }, { onset: 10.5, duration: 1 }]);
    expect(r.durationSeconds).toBe(3);
    expect(r.acquisition.spanSeconds).toBe(11.5);
    const records = [...edfDataRecords(openEdf(join(tmp.path, 'd.edf')))];
    expect(records.map((x) => x.onset)).toEqual([0, 1, 10.5]);
    expect(records[2].annotations).toEqual([{ onset: 11, duration: 0, text: 'Late' }]);
    expect(Array.from(records[1].samples[1])).toEqual([5, 2.5]);
  });

  test('a record count of -1 or a wrong one is inferred from the file size and reported; strict mode refuses', () => {
    const unknown = threeRecords();
    unknown.recordsField = '-1';
    const r1 = readEdf(write('minus1.edf', edfBytes(unknown)));
    expect(r1.channels[0].samples.length).toBe(12);
    expect(r1.corrections).toEqual([expect.stringMatching(/record count inferred from the file size: header states unknown \(-1\) data records; the file holds 3 complete records of 72 bytes/)]);
    const lying = threeRecords();
    lying.recordsField = '7';
    const f = write('seven.edf', edfBytes(lying));
    const r2 = readEdf(f);
    expect(r2.durationSeconds).toBe(3);
    expect(r2.acquisition).toMatchObject({ dataRecords: 3, dataRecordsInHeader: 7 });
    expect(r2.corrections[0]).toMatch(/header states 7 data records; the file holds 3 complete records/);
    expect(errorOf(() => readEdf(f, { strict: true })).message).toBe(`${f}, record header, field number of data records: header states 7 data records; the file holds 3 complete records of 72 bytes`);
  });

  test('a partial last record is ignored and reported', () => {
    const bytes = edfBytes(threeRecords());
    const r = readEdf(write('partial.edf', bytes.subarray(0, bytes.length - 20)));
    expect(r.durationSeconds).toBe(2);
    expect(r.corrections[0]).toMatch(/the file holds 2 complete records of 72 bytes and 52 bytes of an incomplete one, which are ignored/);
  });

  test('data damaged by a text-mode copy (LF -> CR LF) is repaired exactly and reported', () => {
    const spec = threeRecords();
    spec.records[0][0] = [10, 2560, 10, -246]; // 0x000A, 0x0A00, ... put LF bytes in the data
    const good = edfBytes(spec);
    const lf = good.subarray(768).reduce((n, b) => n + (b === 0x0a ? 1 : 0), 0);
    expect(lf).toBeGreaterThan(2);
    const damaged = Buffer.from(good.toString('latin1').replace(/\n/g, '\r\n'), 'latin1');
    const r = readEdf(write('crlf.edf', damaged));
    const ref = readEdf(write('good.edf', good));
    expect(Array.from(r.channels[0].samples)).toEqual(Array.from(ref.channels[0].samples));
    expect(r.annotations).toEqual(ref.annotations);
    expect(r.corrections).toEqual([expect.stringMatching(new RegExp(`data repaired: every LF byte \\(0x0A\\) of the data is preceded by an inserted CR \\(0x0D\\).*dropping those ${lf} CR bytes`))]);
    expect(() => readEdf(join(tmp.path, 'crlf.edf'), { strict: true })).toThrow(/text-mode copy/);
  });

  test('the CR LF repair is exact at every chunk boundary (random bytes, chunks of 1 to 7 bytes)', () => {
    let seed = 1;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let trial = 0; trial < 100; trial++) {
      const orig = Buffer.alloc(50 + (rnd() % 100));
      for (let i = 0; i < orig.length; i++) orig[i] = [0x0a, 0x0d][rnd() % 4] ?? rnd() % 256;
      const f = write('random.bin', Buffer.from(orig.toString('latin1').replace(/\n/g, '\r\n'), 'latin1'));
      const fd = openSync(f, 'r');
      const reader = new DataReader(fd, 0, true, 1 + (rnd() % 7));
      const out = Buffer.alloc(orig.length + 8);
      let got = 0;
      for (let k; (k = reader.read(out.subarray(got), Math.min(3, out.length - got))) > 0; ) got += k;
      closeSync(fd);
      expect(out.subarray(0, got)).toEqual(orig);
    }
  });

  test('BDF: 24-bit samples, negative values', () => {
    const spec: EdfSpec = { bdf: true, reserved: '24BIT', signals: [{ label: 'A1', samples: 3, physMin: -8388608, physMax: 8388607, digMin: -8388608, digMax: 8388607 }], records: [[[-8388608, -1, 8388607]]] };
    const r = readEdf(write('x.bdf', edfBytes(spec)));
    expect(r.format).toBe('bdf');
    expect(Array.from(r.channels[0].samples)).toEqual([-8388608, -1, 8388607]);
    expect(r.acquisition.bitsPerSample).toBe(24);
  });

  test('bad files give one clear error naming file, record and field', () => {
    const good = edfBytes(threeRecords());
    const cases: [string, Buffer, RegExp][] = [
      ['short.edf', good.subarray(0, 100), /record header, field header: file is 100 bytes, shorter than the 256-byte EDF header/],
      ['cut-header.edf', good.subarray(0, 500), /record header, field signal headers: file ends inside the signal headers \(500 of 1024 bytes\)/],
      ['magic.edf', Buffer.concat([Buffer.from('PK\x03\x04    '), good.subarray(8)]), /field version: not an EDF or BDF file/],
      ['header-size.edf', edfBytes({ ...threeRecords(), headerBytesField: '1000' }), /field number of bytes in header record: header size is 1000 bytes, but 3 signals need 1024/],
      ['rate0.edf', edfBytes({ ...threeRecords(), signals: [{ ...EEG, samples: 0 }, SLOW, ANN], records: [[[], [0, 1], []]] }), /record signal 1 \(EEG Fp1-REF\), field number of samples in each data record: sampling rate is 0/],
      ['dur0.edf', edfBytes({ ...threeRecords(), duration: '0' }), /field duration of a data record: sampling rate is undefined: the data record duration is 0 s/],
      ['digital.edf', edfBytes({ ...threeRecords(), signals: [{ ...EEG, digMin: 5, digMax: 5 }, SLOW, ANN] }), /field digital maximum: digital maximum 5 is not above digital minimum 5/],
      ['nonnumber.edf', edfBytes({ ...threeRecords(), duration: 'abc' }), /field duration of a data record: 'abc' is not a number/],
      ['no-record.edf', good.subarray(0, 1024 + 30), /record data record 1, field data: file holds 30 data bytes, less than one data record \(72 bytes\): truncated/],
      ['no-tal.edf', edfBytes({ ...threeRecords(), tals: ['garbage', '+1\x14\x14\0', '+2\x14\x14\0'] }), /record data record 1, field EDF Annotations: the annotation signal of the first data record does not start with a time-keeping TAL/],
      ['tal2.edf', edfBytes({ ...threeRecords(), tals: ['+0\x14\x14\0', 'x', '+2\x14\x14\0'] }), /record data record 2, field EDF Annotations: TAL onset 'x' is not a signed number/],
    ];
    for (const [name, bytes, pattern] of cases) {
      const f = write(name, bytes);
      const e = errorOf(() => readEdf(f));
      expect(e.message).toMatch(pattern);
      expect(e.file).toBe(f);
    }
  });

  test('TALs: several per record, durations, UTF-8 text', () => {
    const t = parseTals(Buffer.from('+0\x14\x14\0+3.5\x152\x14Réveil\x14\0-1\x14Before\x14\0\0\0', 'utf8'), 'f', 'data record 1');
    expect(t.timekeeping).toBe(0);
    expect(t.annotations).toEqual([{ onset: 3.5, duration: 2, text: 'Réveil' }, { onset: -1, duration: 0, text: 'Before' }]);
  });

  test('channels can be chosen by label; an unknown label is an error', () => {
    const f = write('pick.edf', edfBytes(threeRecords()));
    expect(readEdf(f, { channels: ['Resp'] }).channels.map((c) => c.label)).toEqual(['Resp']);
    expect(() => readEdf(f, { channels: ['Cz'] })).toThrow(/field label: no data signal labelled 'Cz'/);
  });
});
