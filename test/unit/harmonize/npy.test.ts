import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeNpy, encodeNpy } from '../../../src/harmonize/npy.js';
import { checksum, runStep } from '../../../src/harmonize/provenance.js';
import { tempDir } from '../../helpers/paths.js';

describe('.npy files', () => {
  test('header is aligned to 64 bytes and round-trips every supported type', () => {
    for (const data of [new Float32Array([1.5, -2, 3]), new Float64Array([Math.PI, 0, -1, 2, 3, 4]), new Int16Array([-32768, 0, 32767]), new Uint8Array([0, 255])]) {
      const shape = data.length === 6 ? [2, 3] : [data.length];
      const bytes = encodeNpy({ data, shape });
      expect(bytes.toString('latin1', 0, 6)).toBe('\x93NUMPY');
      expect((10 + bytes.readUInt16LE(8)) % 64).toBe(0);
      const back = decodeNpy(bytes);
      expect(back.shape).toEqual(shape);
      expect(Array.from(back.data)).toEqual(Array.from(data));
      expect(back.data.constructor).toBe(data.constructor);
    }
  });

  test('a shape that does not match the data and a truncated file are refused', () => {
    expect(() => encodeNpy({ data: new Float32Array(5), shape: [2, 3] })).toThrow(/does not match 5 values/);
    const bytes = encodeNpy({ data: new Float64Array(10), shape: [10] });
    expect(() => decodeNpy(bytes.subarray(0, bytes.length - 8), 'x.npy')).toThrow(/x.npy: .npy data is truncated/);
    expect(() => decodeNpy(Buffer.from('not numpy at all'), 'y.npy')).toThrow(/y.npy: not a .npy file/);
  });

  const numpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
  (numpy ? test : test.skip)('numpy reads what we write (skipped when python3 has no numpy)', () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'a.npy');
      writeFileSync(file, encodeNpy({ data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [3, 2] }));
      const r = spawnSync('python3', ['-c', `import numpy as n; a = n.load(${JSON.stringify(file)}); print(a.dtype, a.shape, a[2, 1])`], { encoding: 'utf8' });
      expect(r.stdout.trim()).toBe('float32 (3, 2) 6.0');
    } finally {
      dir.remove();
    }
  });
});

test('runStep records the step, its parameters and the checksums of input and output', () => {
  const input = new Float64Array([1, 2, 3]);
  const r = runStep('test.scale', '1', input, { factor: 2 }, (x, p) => x.map((v) => v * p.factor));
  expect(Array.from(r.value)).toEqual([2, 4, 6]);
  expect(r.provenance).toEqual({ step: 'test.scale', version: '1', parameters: { factor: 2 }, input: checksum(input), output: checksum(new Float64Array([2, 4, 6])) });
  expect(r.provenance.input).not.toBe(r.provenance.output);
});
