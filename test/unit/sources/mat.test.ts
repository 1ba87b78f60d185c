import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../../src/model/errors.js';
import { readMat4, readMat4Signal, readPhysionetReference } from '../../../src/sources/mat.js';
import { tempDir } from '../../helpers/paths.js';

// Level 4 MAT-files written here from the format description: five int32 (MOPT, rows, columns,
// imaginary flag, name length), the name with its NUL, then column-major data.

const P = { double: 0, single: 1, int32: 2, int16: 3, uint16: 4, uint8: 5 } as const;

function variable(name: string, rows: number, cols: number, values: number[], p: keyof typeof P, big = false, text = false, imag?: number[]): Buffer {
  const size = [8, 4, 4, 2, 2, 1][P[p]];
  const header = Buffer.alloc(20);
  const w = (v: number, at: number) => (big ? header.writeInt32BE(v, at) : header.writeInt32LE(v, at));
  w((big ? 1000 : 0) + P[p] * 10 + (text ? 1 : 0), 0);
  w(rows, 4);
  w(cols, 8);
  w(imag ? 1 : 0, 12);
  w(name.length + 1, 16);
  const part = (xs: number[]) => {
    const b = Buffer.alloc(xs.length * size);
    xs.forEach((v, i) => {
      const at = i * size;
      if (p === 'double') big ? b.writeDoubleBE(v, at) : b.writeDoubleLE(v, at);
      else if (p === 'single') big ? b.writeFloatBE(v, at) : b.writeFloatLE(v, at);
      else if (p === 'int32') big ? b.writeInt32BE(v, at) : b.writeInt32LE(v, at);
      else if (p === 'int16') big ? b.writeInt16BE(v, at) : b.writeInt16LE(v, at);
      else if (p === 'uint16') big ? b.writeUInt16BE(v, at) : b.writeUInt16LE(v, at);
      else b.writeUInt8(v, at);
    });
    return b;
  };
  return Buffer.concat([header, Buffer.from(name + '\0', 'latin1'), part(values), ...(imag ? [part(imag)] : [])]);
}

describe('MATLAB v4 reader', () => {
  const tmp = tempDir('harmonia-mat-');
  afterAll(() => tmp.remove());
  const put = (name: string, b: Buffer | string) => {
    const f = join(tmp.path, name);
    writeFileSync(f, b);
    return f;
  };

  test('variables of every type, both byte orders, column-major order, text and complex values', () => {
    const bytes = Buffer.concat([
      variable('val', 1, 4, [-32768, -1, 0, 32767], 'int16'),
      variable('m', 2, 3, [1.5, -2, 3, 4, 5e10, -6], 'double', true),
      variable('s', 1, 2, [0.5, -0.25], 'single', true),
      variable('u', 1, 3, [0, 255, 7], 'uint8'),
      variable('w', 1, 2, [65535, 1], 'uint16', true),
      variable('i', 1, 2, [-2147483648, 5], 'int32'),
      variable('t', 1, 2, [72, 105], 'double', false, true),
      variable('z', 1, 2, [1, 2], 'double', false, false, [3, 4]),
    ]);
    const vars = readMat4(bytes, 'x.mat');
    expect(vars.map((v) => [v.name, v.rows, v.cols, v.type, v.bigEndian])).toEqual([
      ['val', 1, 4, 'int16', false], ['m', 2, 3, 'double', true], ['s', 1, 2, 'single', true], ['u', 1, 3, 'uint8', false],
      ['w', 1, 2, 'uint16', true], ['i', 1, 2, 'int32', false], ['t', 1, 2, 'double', false], ['z', 1, 2, 'double', false],
    ]);
    expect(Array.from(vars[0].data)).toEqual([-32768, -1, 0, 32767]);
    expect(Array.from(vars[1].data)).toEqual([1.5, -2, 3, 4, 5e10, -6]);
    expect(Array.from(vars[2].data)).toEqual([0.5, -0.25]);
    expect(Array.from(vars[4].data)).toEqual([65535, 1]);
    expect(Array.from(vars[5].data)).toEqual([-2147483648, 5]);
    expect(vars[6].text).toBe(true);
    expect(String.fromCharCode(...vars[6].data)).toBe('Hi');
    expect(Array.from(vars[7].imag!)).toEqual([3, 4]);
  });

  test('PhysioNet 2017 defaults: val / 1000 mV at 300 Hz; rows are signals (column-major interleaving)', () => {
    const f = put('A0.mat', variable('val', 1, 6, [1000, -500, 0, 250, 3000, -1], 'int16'));
    const r = readMat4Signal(f);
    expect(r.format).toBe('mat4');
    expect(r.id).toBe('A0');
    expect(r.channels.map((c) => [c.label, c.unit, c.samplingRate])).toEqual([['ECG', 'mV', 300]]);
    expect(Array.from(r.channels[0].samples)).toEqual([1, -0.5, 0, 0.25, 3, -0.001].map(Math.fround));
    expect(r.durationSeconds).toBe(6 / 300);
    expect(r.acquisition).toMatchObject({ samplingRate: 300, channels: 1, gain: [1000], variable: 'val', storageType: 'int16' });
    const two = put('two.mat', variable('val', 2, 3, [1, 10, 2, 20, 3, 30], 'int16'));
    const t = readMat4Signal(two, { gain: [1, 10], samplingRate: 250, labels: ['II', 'PLETH'], unit: 'mV' });
    expect(t.channels.map((c) => [c.label, Array.from(c.samples)])).toEqual([['II', [1, 2, 3]], ['PLETH', [1, 2, 3]]]);
  });

  test('bad files give one clear error naming file, variable and field', () => {
    const good = variable('val', 1, 4, [1, 2, 3, 4], 'int16');
    const cases: [string, Buffer, object, RegExp][] = [
      ['cut.mat', good.subarray(0, good.length - 3), {}, /record val, field data: file ends inside the data: 1 x 4 int16 values need 8 bytes, 5 remain/],
      ['head.mat', good.subarray(0, 12), {}, /record variable 1, field header: file ends inside a variable header \(12 of 20 bytes\)/],
      ['v5.mat', Buffer.concat([Buffer.from('MATLAB 5.0 MAT-file, Platform: GLNXA64'.padEnd(116, ' ')), Buffer.alloc(20)]), {}, /field version: MATLAB Level 5\/7 MAT-files are not supported/],
      ['type.mat', Buffer.concat([Buffer.from([0x39, 0, 0, 0]), good.subarray(4)]), {}, /record variable 1, field type: type 57 is not a Level 4 MAT-file type/],
      ['name.mat', good, { variable: 'ecg' }, /field ecg: no variable 'ecg' \(variables: val\)/],
      ['rate.mat', good, { samplingRate: 0 }, /field samplingRate: sampling rate must be > 0 Hz, got 0/],
      ['gain.mat', good, { gain: 0 }, /record val, field gain: gain is 0/],
    ];
    for (const [name, bytes, options, pattern] of cases) {
      const f = put(name, bytes);
      let error: unknown;
      try {
        readMat4Signal(f, options);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InputError);
      expect((error as Error).message).toMatch(pattern);
      expect((error as InputError).file).toBe(f);
    }
  });

  test('REFERENCE csv: record -> label; a malformed line is an error naming the line', () => {
    expect(readPhysionetReference(put('REF.csv', 'A00001,N\nA00002,A\n\nA00003,~\n'))).toEqual(new Map([['A00001', 'N'], ['A00002', 'A'], ['A00003', '~']]));
    expect(() => readPhysionetReference(put('BAD.csv', 'A00001,N\nA00002\n'))).toThrow(/record line 2, field label: expected 'record,label'/);
  });
});
