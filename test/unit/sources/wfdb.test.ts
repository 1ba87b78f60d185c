import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../../src/model/errors.js';
import { decodeWfdbSamples, parseWfdbHeader, readWfdb, readWfdbAnnotations, wfdbBeats, wfdbToSignalAnnotations } from '../../../src/sources/wfdb.js';
import { fixtures, tempDir } from '../../helpers/paths.js';

// Signal files are encoded here from the bit layouts of signal(5) in the WFDB Applications Guide,
// independently of the decoder under test.

const enc: Record<number, (s: number[]) => Buffer> = {
  16: (s) => {
    const b = Buffer.alloc(2 * s.length);
    s.forEach((v, i) => b.writeInt16LE(v, 2 * i));
    return b;
  },
  61: (s) => {
    const b = Buffer.alloc(2 * s.length);
    s.forEach((v, i) => b.writeInt16BE(v, 2 * i));
    return b;
  },
  80: (s) => Buffer.from(s.map((v) => v + 128)),
  160: (s) => {
    const b = Buffer.alloc(2 * s.length);
    s.forEach((v, i) => b.writeUInt16LE(v + 32768, 2 * i));
    return b;
  },
  24: (s) => {
    const b = Buffer.alloc(3 * s.length);
    s.forEach((v, i) => b.writeIntLE(v, 3 * i, 3));
    return b;
  },
  32: (s) => {
    const b = Buffer.alloc(4 * s.length);
    s.forEach((v, i) => b.writeInt32LE(v, 4 * i));
    return b;
  },
  212: (s) => {
    const out: number[] = [];
    for (let i = 0; i < s.length; i += 2) {
      const a = s[i] & 0xfff, b = (s[i + 1] ?? 0) & 0xfff;
      out.push(a & 0xff, ((a >> 8) & 0x0f) | (((b >> 8) & 0x0f) << 4));
      if (i + 1 < s.length) out.push(b & 0xff);
    }
    return Buffer.from(out);
  },
  310: (s) => {
    const b = Buffer.alloc(Math.ceil(s.length / 3) * 4);
    for (let i = 0, p = 0; i < s.length; i += 3, p += 4) {
      const [x, y, z] = [s[i] & 0x3ff, (s[i + 1] ?? 0) & 0x3ff, (s[i + 2] ?? 0) & 0x3ff];
      b.writeUInt16LE((x << 1) | ((z & 0x1f) << 11), p);
      b.writeUInt16LE((y << 1) | (((z >> 5) & 0x1f) << 11), p + 2);
    }
    return b;
  },
  311: (s) => {
    const b = Buffer.alloc(Math.ceil(s.length / 3) * 4);
    for (let i = 0, p = 0; i < s.length; i += 3, p += 4) b.writeUInt32LE(((s[i] & 0x3ff) | (((s[i + 1] ?? 0) & 0x3ff) << 10) | (((s[i + 2] ?? 0) & 0x3ff) << 20)) >>> 0, p);
    return b;
  },
  8: (s) => Buffer.from(s.map((v, i) => ((v - (i ? s[i - 1] : 0)) & 0xff))),
};

const checksum = (s: number[]) => (s.reduce((a, v) => (a + v) & 0xffff, 0) << 16) >> 16;

describe('WFDB reader', () => {
  const tmp = tempDir('harmonia-wfdb-');
  afterAll(() => tmp.remove());
  const put = (name: string, content: string | Buffer) => writeFileSync(join(tmp.path, name), content);

  test('every format decodes to the values its bit layout holds', () => {
    const values: Record<number, number[]> = {
      16: [-32767, -1, 0, 1, 32767], 61: [-32767, -1, 0, 258, 32767], 80: [-127, -1, 0, 1, 127], 160: [-32767, -5, 0, 7, 32767],
      24: [-8388607, -1, 0, 65536, 8388607], 32: [-2147483647, -1, 0, 1 << 20, 2147483647],
      212: [-2047, -1, 0, 1, 2047], 310: [-511, -1, 0, 1, 511, -300, 300], 311: [-511, -1, 0, 1, 511, -300, 300],
    };
    for (const [f, v] of Object.entries(values)) expect([Number(f), Array.from(decodeWfdbSamples(enc[Number(f)](v), Number(f), v.length))]).toEqual([Number(f), v]);
  });

  test('two signals interleaved in format 212, gain, baseline and units, checksums verified', () => {
    const a = [100, -200, 300, 2047, -2047];
    const b = [1000, 1010, 990, 1005, 995];
    const flat = a.flatMap((v, i) => [v, b[i]]);
    put('r212.dat', enc[212](flat));
    put('r212.hea', `# a comment first\nr212 2 360 5 10:11:12 01/02/2003\n\nr212.dat 212 200(0)/mV 12 0 ${a[0]} ${checksum(a)} 0 MLII\nr212.dat 212 100(1000)/mmHg 12 0 ${b[0]} ${checksum(b)} 0 ABP\n# 69 M\n`);
    const r = readWfdb(join(tmp.path, 'r212'));
    expect(r.id).toBe('r212');
    expect(r.startTime).toBe('2003-02-01T10:11:12');
    expect(r.channels.map((c) => [c.label, c.unit, c.samplingRate])).toEqual([['MLII', 'mV', 360], ['ABP', 'mmHg', 360]]);
    expect(Array.from(r.channels[0].samples)).toEqual(a.map((v) => Math.fround(v / 200)));
    expect(Array.from(r.channels[1].samples)).toEqual(b.map((v) => Math.fround((v - 1000) / 100)));
    expect(r.warnings).toEqual([]);
    expect(r.durationSeconds).toBeCloseTo(5 / 360, 12);
    expect(r.acquisition).toMatchObject({ samplingRate: 360, channels: 2, signalFormats: [212, 212], gains: [200, 100], baselines: [0, 1000], samplesPerSignal: 5 });
  });

  test('samples per frame, skew, byte offset, invalid samples and a checksum mismatch', () => {
    // Signal 1 at 2 samples per frame, signal 2 at 1 with a skew of 1 frame; 3 frames after a 4-byte offset.
    const s1 = [1, 2, 3, 4, 5, 6], s2 = [10, -32768, 30];
    const frames = [1, 2, 10, 3, 4, -32768, 5, 6, 30];
    put('sk.dat', Buffer.concat([Buffer.from([9, 9, 9, 9]), enc[16](frames)]));
    put('sk.hea', `sk 2 100 3\nsk.dat 16x2+4 10 16 0 1 ${checksum(s1)} 0 fast\nsk.dat 16:1+4 10/uV 16 0 10 12345 0 slow\n`);
    const r = readWfdb(join(tmp.path, 'sk.hea'));
    expect(r.channels[0].samplingRate).toBe(200);
    expect(Array.from(r.channels[0].samples)).toEqual(s1.map((v) => Math.fround(v / 10)));
    // The skew moves signal 2 one frame earlier; the frame past the end and the invalid value are NaN.
    expect(Array.from(r.channels[1].samples)).toEqual([NaN, 3, NaN]);
    expect(r.warnings).toEqual([`signal 2 (slow): checksum ${checksum(s2)} does not match the header's 12345`]);
  });

  test('formats 8 (first differences from the initial value), 80, 61, 310 and 311 in records', () => {
    const v = [5, 7, 4, 4, 10, -3];
    for (const f of [8, 80, 61, 310, 311]) {
      put(`f${f}.dat`, enc[f](f === 8 ? v.map((x, i) => (i === 0 ? x - 5 + 0 : x)) : v));
      const init = f === 8 ? '5' : String(v[0]);
      put(`f${f}.hea`, `f${f} 1 50 ${v.length}\nf${f}.dat ${f} 1 10 0 ${init}\n`);
    }
    // Format 8 stores the differences from the initial value: 0, +2, -3, 0, +6, -13.
    put('f8.dat', Buffer.from([0, 2, 253, 0, 6, 243]));
    for (const f of [8, 80, 61, 310, 311]) expect([f, Array.from(readWfdb(join(tmp.path, `f${f}`)).channels[0].samples)]).toEqual([f, v]);
  });

  test('the length comes from the file when the header omits it; a WFDB .mat file (16+24) reads as format 16', () => {
    put('nolen.dat', enc[16]([1, 2, 3, 4, 5, 6, 7]));
    put('nolen.hea', 'nolen 1 100\nnolen.dat 16 1 16 0\n');
    expect(readWfdb(join(tmp.path, 'nolen')).channels[0].samples.length).toBe(7);
    const mat = Buffer.concat([Buffer.alloc(24, 1), enc[16]([10, 20, 30, 40])]);
    put('m.mat', mat);
    put('m.hea', 'm 2 250 2\nm.mat 16+24 10/mV 16 0 10 0 0 II\nm.mat 16+24 10/mV 16 0 20 0 0 PLETH\n');
    const r = readWfdb(join(tmp.path, 'm'));
    expect(r.channels.map((c) => Array.from(c.samples))).toEqual([[1, 3], [2, 4]]);
  });

  test('multi-segment records: layout segment, signals matched by name, a null segment is NaN', () => {
    put('seg1.dat', enc[16]([1, 2, 3, 4]));
    put('seg1.hea', 'seg1 2 10 2\nseg1.dat 16 1 16 0 1 0 0 II\nseg1.dat 16 1 16 0 2 0 0 V\n');
    put('seg2.dat', enc[16]([7, 8, 9]));
    put('seg2.hea', 'seg2 1 10 3\nseg2.dat 16 1 16 0 7 0 0 V\n');
    put('lay.hea', 'lay 2 10 0\n~ 0 1 16 0 0 0 0 II\n~ 0 1 16 0 0 0 0 V\n');
    put('multi.hea', 'multi/4 2 10 7\nlay 0\nseg1 2\n~ 2\nseg2 3\n');
    const r = readWfdb(join(tmp.path, 'multi'));
    expect(r.channels.map((c) => c.label)).toEqual(['II', 'V']);
    expect(Array.from(r.channels[0].samples)).toEqual([1, 3, NaN, NaN, NaN, NaN, NaN]);
    expect(Array.from(r.channels[1].samples)).toEqual([2, 4, NaN, NaN, 7, 8, 9]);
    expect(r.durationSeconds).toBeCloseTo(0.7, 12);
    expect(r.acquisition.segmentNames).toEqual(['lay', 'seg1', '~', 'seg2']);
  });

  test('the tiny fixture record (format 212, annotations) under test/fixtures/signals', () => {
    const r = readWfdb(join(fixtures, 'signals', 'tiny'), { annotators: ['atr'] });
    expect(r.channels.map((c) => [c.label, Array.from(c.samples)])).toEqual([['ECG', [0, 0.5, 1, -0.5, -1, 0]]]);
    expect(r.annotations).toEqual([{ onset: 0.02, duration: 0, text: 'N' }, { onset: 0.05, duration: 0, text: '+ (AFIB' }]);
  });

  test('annotations: time deltas, SKIP, NUM/SUB/CHN/AUX, the time-resolution note and code 0 are handled', () => {
    const words: number[] = [];
    const w = (code: number, d: number) => words.push((code << 10) | d);
    const aux = (text: string) => {
      w(63, text.length);
      const b = Buffer.from(text + (text.length % 2 ? '\0' : ''), 'latin1');
      for (let i = 0; i < b.length; i += 2) words.push(b[i] | (b[i + 1] << 8));
    };
    w(22, 0);
    aux('## time resolution: 250');
    w(1, 100); // N at 100
    w(62, 1); // chan 1
    w(5, 50); // V at 150, inherits chan 1
    w(60, 3); // num 3
    w(59, 0);
    words.push(0x0001, 0x0000); // SKIP 65536 (high word first)
    w(28, 4); // + at 150 + 65536 + 4
    aux('(AFIB');
    w(61, 2); // sub 2
    w(0, 7); // code 0: not an annotation
    w(8, 1); // A
    words.push(0);
    const b = Buffer.alloc(2 * words.length);
    words.forEach((x, i) => b.writeUInt16LE(x, 2 * i));
    put('t.atr', b);
    const a = readWfdbAnnotations(join(tmp.path, 't.atr'));
    expect(a.samplingRate).toBe(250);
    expect(Array.from(a.sample)).toEqual([100, 150, 65690, 65698]);
    expect(a.symbol).toEqual(['N', 'V', '+', 'A']);
    expect(Array.from(a.chan)).toEqual([1, 1, 1, 1]);
    expect(Array.from(a.num)).toEqual([0, 3, 3, 3]);
    expect(Array.from(a.subtype)).toEqual([0, 0, 2, 0]);
    expect(a.aux).toEqual(['', '', '(AFIB', '']);
    expect(Array.from(wfdbBeats(a))).toEqual([100, 150, 65698]);
    expect(wfdbToSignalAnnotations(a)[2]).toEqual({ onset: 65690 / 250, duration: 0, text: '+ (AFIB' });
    put('cut.atr', b.subarray(0, b.length - 2));
    expect(() => readWfdbAnnotations(join(tmp.path, 'cut.atr'))).toThrow(/field end of file: annotation file does not end with the end-of-file word/);
  });

  test('bad headers and files give one clear error naming file, record and field', () => {
    const cases: [string, string, Buffer | undefined, RegExp][] = [
      ['nodat', 'nodat 1 100 10\nmissing.dat 16 200 16 0\n', undefined, /nodat.hea, record signal 1, field file name: signal file 'missing.dat' named in the header does not exist/],
      ['fs0', 'fs0 1 0 10\nfs0.dat 16\n', Buffer.alloc(20), /record line 1, field sampling frequency: sampling frequency is 0 Hz; it must be > 0/],
      ['fmt', 'fmt 1 100 10\nfmt.dat 999\n', Buffer.alloc(20), /record line 2, field format: signal format 999 is not supported/],
      ['short', 'short 1 100 10\nshort.dat 16\n', Buffer.alloc(8), /short.dat, record frame 5, field data: signal file holds 4 frames, the header says 10: truncated/],
      ['nsig', 'nsig 3 100 10\nnsig.dat 16\n', Buffer.alloc(20), /record line 1, field number of signals: header announces 3 signals but has 1 signal lines/],
      ['gain', 'gain 1 100 10\ngain.dat 16 abc/mV\n', Buffer.alloc(20), /record line 2, field ADC gain: 'abc' is not a number/],
    ];
    for (const [name, hea, dat, pattern] of cases) {
      put(`${name}.hea`, hea);
      if (dat) put(`${name}.dat`, dat);
      let error: unknown;
      try {
        readWfdb(join(tmp.path, name));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InputError);
      expect((error as Error).message).toMatch(pattern);
    }
    expect(() => readWfdb(join(tmp.path, 'absent'))).toThrow(/absent.hea, field header: header file not found/);
    expect(parseWfdbHeader('x 1 250/1000(5) 100\nx.dat 16\n', 'x.hea')).toMatchObject({ samplingFrequency: 250, counterFrequency: 1000, baseCounter: 5, samplesPerSignal: 100 });
  });
});
