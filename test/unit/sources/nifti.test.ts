import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { InputError } from '../../../src/model/errors.js';
import { axisCodes, parseNifti, qformAffine, readNifti, readNiftiHeader } from '../../../src/sources/nifti.js';
import { fixtures, tempDir } from '../../helpers/paths.js';
import { expectInputError } from '../../helpers/errors.js';

// NIfTI-1 bytes written field by field at the offsets of nifti1.h, so the reader is checked against
// the standard rather than against itself. The Python-written fixtures in test/fixtures/imaging
// (make-fixtures.py) cover NIfTI-2 and header/image pairs.

const CODES = { uint8: 2, int16: 4, int32: 8, float32: 16, float64: 64, int8: 256, uint16: 512, uint32: 768, int64: 1024, uint64: 1280, complex64: 32 } as const;
const SIZES: Record<string, number> = { uint8: 1, int8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, float32: 4, float64: 8, int64: 8, uint64: 8, complex64: 8 };

interface Spec {
  dims: number[];
  datatype?: keyof typeof CODES;
  values?: number[];
  le?: boolean;
  pixdim?: number[];
  slope?: number;
  inter?: number;
  qformCode?: number;
  sformCode?: number;
  quatern?: number[];
  qoffset?: number[];
  srow?: number[][];
  units?: number;
  magic?: string;
  voxOffset?: number;
  truncateTo?: number;
}

function nifti1(s: Spec): Buffer {
  const le = s.le ?? true;
  const dt = s.datatype ?? 'int16';
  const size = SIZES[dt];
  const n = s.dims.reduce((a, b) => a * b, 1);
  const values = s.values ?? Array.from({ length: n }, (_, i) => i);
  const voxOffset = s.voxOffset ?? 352;
  const b = Buffer.alloc(voxOffset + n * size);
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  dv.setInt32(0, 348, le);
  const dim = [s.dims.length, ...s.dims, 1, 1, 1, 1, 1, 1, 1].slice(0, 8);
  dim.forEach((d, i) => dv.setInt16(40 + 2 * i, d, le));
  dv.setInt16(70, CODES[dt], le);
  dv.setInt16(72, size * 8, le);
  [...(s.pixdim ?? [1, 1, 1, 1, 1]), 0, 0, 0, 0, 0, 0, 0, 0].slice(0, 8).forEach((p, i) => dv.setFloat32(76 + 4 * i, p, le));
  dv.setFloat32(108, voxOffset, le);
  dv.setFloat32(112, s.slope ?? 1, le);
  dv.setFloat32(116, s.inter ?? 0, le);
  b[123] = s.units ?? 2;
  dv.setInt16(252, s.qformCode ?? 0, le);
  dv.setInt16(254, s.sformCode ?? 0, le);
  (s.quatern ?? [0, 0, 0]).forEach((q, i) => dv.setFloat32(256 + 4 * i, q, le));
  (s.qoffset ?? [0, 0, 0]).forEach((q, i) => dv.setFloat32(268 + 4 * i, q, le));
  (s.srow ?? [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]).flat().forEach((v, i) => dv.setFloat32(280 + 4 * i, v, le));
  b.write(s.magic ?? 'n+1\0', 344, 'latin1');
  values.forEach((v, i) => {
    const o = voxOffset + i * size;
    switch (dt) {
      case 'uint8': dv.setUint8(o, v); break;
      case 'int8': dv.setInt8(o, v); break;
      case 'int16': dv.setInt16(o, v, le); break;
      case 'uint16': dv.setUint16(o, v, le); break;
      case 'int32': dv.setInt32(o, v, le); break;
      case 'uint32': dv.setUint32(o, v, le); break;
      case 'float32': dv.setFloat32(o, v, le); break;
      case 'float64': dv.setFloat64(o, v, le); break;
      case 'int64': dv.setBigInt64(o, BigInt(v), le); break;
      case 'uint64': dv.setBigUint64(o, BigInt(v), le); break;
      case 'complex64': dv.setFloat32(o, v, le); break;
    }
  });
  return s.truncateTo !== undefined ? b.subarray(0, s.truncateTo) : b;
}

const LAS = [[-2, 0, 0, 30], [0, 3, 0, -40], [0, 0, 4, -50]];


describe('NIfTI-1 reading', () => {
  test('int16, little endian, sform: values in x-fastest order, geometry and acquisition parameters', () => {
    const img = parseNifti(nifti1({ dims: [4, 3, 2], values: Array.from({ length: 24 }, (_, i) => i * 7 - 80), sformCode: 2, srow: LAS, pixdim: [1, 2, 3, 4] }), 't.nii');
    expect(img.dims).toEqual([4, 3, 2]);
    expect(Array.from(img.data.slice(0, 5))).toEqual([-80, -73, -66, -59, -52]);
    // voxel (x=1, y=2, z=1) is the value at index 1 + 4 * (2 + 3 * 1) = 21
    expect(img.data[1 + 4 * (2 + 3 * 1)]).toBe(21 * 7 - 80);
    expect(img.affine).toEqual([-2, 0, 0, 30, 0, 3, 0, -40, 0, 0, 4, -50, 0, 0, 0, 1]);
    expect(img.affineSource).toBe('sform');
    expect(img.acquisition).toMatchObject({ format: 'nifti1', dimensions: [4, 3, 2], voxelSize: [2, 3, 4], orientation: 'LAS', datatype: 'int16', byteOrder: 'little', spatialUnits: 'mm' });
  });

  test('big endian gives the same volume as little endian', () => {
    const spec: Spec = { dims: [5, 4, 3], values: Array.from({ length: 60 }, (_, i) => (i * 977) % 30000 - 15000), sformCode: 1, srow: LAS };
    const le = parseNifti(nifti1(spec));
    const be = parseNifti(nifti1({ ...spec, le: false }));
    expect(be.header.littleEndian).toBe(false);
    expect(be.acquisition.byteOrder).toBe('big');
    expect(Array.from(be.data)).toEqual(Array.from(le.data));
    expect(be.affine).toEqual(le.affine);
  });

  test.each([
    ['uint8', [0, 1, 200, 255]],
    ['int8', [-128, -1, 0, 127]],
    ['int16', [-32768, -1, 1, 32767]],
    ['uint16', [0, 1, 40000, 65535]],
    ['int32', [-2000000, -1, 5, 16777216]],
    ['uint32', [0, 7, 3000000, 16777216]],
    ['int64', [-123456, 0, 1, 9999999]],
    ['uint64', [0, 1, 2, 123456789]],
    ['float32', [-1.5, 0, 0.25, 1e20]],
    ['float64', [-2.5, 0, 0.125, 1e-3]],
  ] as const)('datatype %s, both byte orders', (datatype, values) => {
    for (const le of [true, false]) {
      const img = parseNifti(nifti1({ dims: [2, 2, 1], datatype, values: [...values], le }));
      expect(Array.from(img.data)).toEqual(values.map((v) => Math.fround(v)));
      expect(img.acquisition.datatype).toBe(datatype);
    }
  });

  test('scl_slope and scl_inter are applied; a slope of 0 means no scaling', () => {
    const scaled = parseNifti(nifti1({ dims: [3, 1, 1], values: [0, 1, 10], slope: 0.5, inter: -3 }));
    expect(Array.from(scaled.data)).toEqual([-3, -2.5, 2]);
    expect(scaled.acquisition).toMatchObject({ sclSlope: 0.5, sclInter: -3 });
    const unscaled = parseNifti(nifti1({ dims: [3, 1, 1], values: [0, 1, 10], slope: 0, inter: -3 }));
    expect(Array.from(unscaled.data)).toEqual([0, 1, 10]);
    expect(unscaled.acquisition).toMatchObject({ sclSlope: 1, sclInter: 0 });
  });

  test('affine as nibabel chooses it: sform first, then qform, then pixdim (x flipped, centred)', () => {
    const both = parseNifti(nifti1({ dims: [4, 4, 4], sformCode: 1, srow: LAS, qformCode: 1, pixdim: [1, 1, 1, 1] }));
    expect(both.affineSource).toBe('sform');
    // qform: no rotation (b = c = d = 0), qfac = -1 flips z: diag(2, 3, -4) plus the offset.
    const q = parseNifti(nifti1({ dims: [4, 4, 4], qformCode: 1, pixdim: [-1, 2, 3, 4], qoffset: [5, 6, 7] }));
    expect(q.affineSource).toBe('qform');
    expect(q.affine).toEqual([2, 0, 0, 5, 0, 3, 0, 6, 0, 0, -4, 7, 0, 0, 0, 1]);
    expect(q.acquisition.orientation).toBe('RAI');
    const p = parseNifti(nifti1({ dims: [5, 3, 2], pixdim: [1, 2, 3, 4] }));
    expect(p.affineSource).toBe('pixdim');
    expect(p.affine).toEqual([-2, 0, 0, 4, 0, 3, 0, -3, 0, 0, 4, -2, 0, 0, 0, 1]);
    expect(p.acquisition.orientation).toBe('LAS');
  });

  test('a quaternion of a 180-degree rotation about z gives LPS', () => {
    // b = c = 0, d = 1: a = 0, R = diag(-1, -1, 1)
    const a = qformAffine({ quatern: [0, 0, 1], qoffset: [0, 0, 0], pixdim: [1, 1, 1, 1] });
    expect(a.slice(0, 11).map((v) => Math.round(v * 1e6) / 1e6)).toEqual([-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1]);
    expect(axisCodes(a)).toBe('LPS');
  });

  test('axis codes as nibabel aff2axcodes', () => {
    const A = (m: number[][]) => [...m[0], 0, ...m[1], 0, ...m[2], 0, 0, 0, 0, 1];
    expect(axisCodes(A([[1, 0, 0], [0, 1, 0], [0, 0, 1]]))).toBe('RAS');
    expect(axisCodes(A([[-1, 0, 0], [0, -1, 0], [0, 0, -1]]))).toBe('LPI');
    // nibabel's docstring example: [[0,1,0],[-1,0,0],[0,0,1]] is ('P', 'R', 'S')
    expect(axisCodes(A([[0, 1, 0], [-1, 0, 0], [0, 0, 1]]))).toBe('PRS');
    // sagittal slices: voxel x runs anterior, y superior, z right
    expect(axisCodes(A([[0, 0, 1], [1, 0, 0], [0, 1, 0]]))).toBe('ASR');
    // oblique by 20 degrees about x, with unequal voxel sizes: still closest to RAS
    const c = Math.cos(0.35);
    const s = Math.sin(0.35);
    expect(axisCodes(A([[0.9, 0, 0], [0, 2 * c, -3 * s], [0, 2 * s, 3 * c]]))).toBe('RAS');
  });

  test('4D: dimensions, timepoints and the repetition time in seconds from ms units', () => {
    const img = parseNifti(nifti1({ dims: [2, 2, 2, 3], pixdim: [1, 1, 1, 1, 2500], units: 2 | 16, sformCode: 1 }));
    expect(img.dims).toEqual([2, 2, 2, 3]);
    expect(img.data.length).toBe(24);
    expect(img.acquisition).toMatchObject({ timepoints: 3, repetitionTime: 2500, repetitionTimeSeconds: 2.5, temporalUnits: 'ms' });
    const one = parseNifti(nifti1({ dims: [2, 2, 2, 1], sformCode: 1 }));
    expect(one.dims).toEqual([2, 2, 2]);
  });

  test('.nii.gz streamed from disk equals the in-memory parse; header alone; voxel offset with extensions', async () => {
    const dir = tempDir();
    try {
      const bytes = nifti1({ dims: [7, 5, 3], values: Array.from({ length: 105 }, (_, i) => i * 3 - 100), sformCode: 1, srow: LAS, voxOffset: 368 });
      const gz = join(dir.path, 'v.nii.gz');
      writeFileSync(gz, gzipSync(bytes));
      const plain = join(dir.path, 'v.nii');
      writeFileSync(plain, bytes);
      const a = await readNifti(gz);
      const b = await readNifti(plain);
      const c = parseNifti(gzipSync(bytes));
      expect(Array.from(a.data)).toEqual(Array.from(c.data));
      expect(Array.from(b.data)).toEqual(Array.from(c.data));
      expect(a.data[104]).toBe(104 * 3 - 100);
      expect((await readNiftiHeader(gz)).dim.slice(0, 4)).toEqual([3, 7, 5, 3]);
    } finally {
      dir.remove();
    }
  });
});

test('streaming: values that straddle 1 MiB read chunks (odd vox_offset, 8-byte voxels) decode correctly', async () => {
  const dir = tempDir();
  try {
    const n = 64 * 64 * 40; // 1.3 MB of float64
    const values = Array.from({ length: n }, (_, i) => (i % 1000) * 0.5 - 7);
    for (const [datatype, voxOffset] of [['float64', 355], ['int16', 353]] as const) {
      const bytes = nifti1({ dims: [64, 64, 40], datatype, values: datatype === 'int16' ? values.map((v) => Math.round(v)) : values, voxOffset, le: false });
      const f = join(dir.path, `${datatype}.nii`);
      writeFileSync(f, bytes);
      const streamed = await readNifti(f);
      const whole = parseNifti(bytes);
      expect(Buffer.from(streamed.data.buffer).equals(Buffer.from(whole.data.buffer))).toBe(true);
      expect(streamed.data[n - 1]).toBe(datatype === 'int16' ? Math.round(values[n - 1]) : values[n - 1]);
      expect(streamed.data[524288 / 8 + 3]).toBe(whole.data[524288 / 8 + 3]);
    }
  } finally {
    dir.remove();
  }
});

describe('NIfTI-2 and header/image pairs (fixtures written by numpy)', () => {
  test('NIfTI-2, big endian, int16 with scaling and an LPS sform', async () => {
    const img = await readNifti(join(fixtures, 'imaging', 'tiny-nifti2-be.nii'));
    expect(img.header.version).toBe(2);
    expect(img.acquisition).toMatchObject({ format: 'nifti2', byteOrder: 'big', dimensions: [4, 3, 2], voxelSize: [1.5, 2, 3], orientation: 'LPS', temporalUnits: 's' });
    for (const [i, j, k] of [[0, 0, 0], [3, 2, 1], [1, 2, 0], [2, 0, 1]]) {
      expect(img.data[i + 4 * (j + 3 * k)]).toBe(2 * (100 * i + 10 * j + k - 50) - 1);
    }
  });

  test('an ni1 .hdr reads its voxels from the .img beside it; qform with qfac -1', async () => {
    const img = await readNifti(join(fixtures, 'imaging', 'tiny-pair.hdr'));
    expect(img.header.magic).toBe('ni1');
    expect(Array.from(img.data)).toEqual(Array.from({ length: 12 }, (_, i) => 3 * i));
    expect(img.affine).toEqual([0.5, 0, 0, 1, 0, 0.5, 0, 2, 0, 0, -0.5, 3, 0, 0, 0, 1]);
    expect(img.acquisition.orientation).toBe('RAI');
  });
});

describe('bad NIfTI files give one clear InputError', () => {
  test('wrong magic', () => {
    expectInputError(() => parseNifti(nifti1({ dims: [2, 2, 2], magic: 'xyz\0' }), 'bad.nii'), 'magic', /bad magic 'xyz'/);
  });

  test('not NIfTI at all', () => {
    expectInputError(() => parseNifti(Buffer.from('hello, this is not an image at all, just some text'.repeat(10)), 'x.nii'), 'sizeof_hdr', /neither 348/);
  });

  test('truncated data and a lying header (dims larger than the data)', async () => {
    expectInputError(() => parseNifti(nifti1({ dims: [4, 4, 4], truncateTo: 352 + 100 }), 't.nii'), 'dim', /4x4x4 int16 voxels .* only 100 bytes.*truncated file or lying header/);
    const lying = nifti1({ dims: [4, 4, 4] });
    lying.writeInt16LE(40, 44); // dim[2]: 4 -> 40
    expectInputError(() => parseNifti(lying, 'l.nii'), 'dim', /4x40x4/);
    const dir = tempDir();
    try {
      const f = join(dir.path, 'l.nii.gz');
      writeFileSync(f, gzipSync(lying));
      await expect(readNifti(f)).rejects.toThrow(/l\.nii\.gz, record header, field dim: .*lying header/);
    } finally {
      dir.remove();
    }
  });

  test('truncated gzip stream', async () => {
    const dir = tempDir();
    try {
      const f = join(dir.path, 'cut.nii.gz');
      const gz = gzipSync(nifti1({ dims: [30, 30, 30], values: Array.from({ length: 27000 }, (_, i) => (i * 7919) % 30000) }));
      writeFileSync(f, gz.subarray(0, Math.floor(gz.length / 2)));
      await expect(readNifti(f)).rejects.toBeInstanceOf(InputError);
      expectInputError(() => parseNifti(gz.subarray(0, Math.floor(gz.length / 2)), 'cut.nii.gz'), 'data', /gzip data is corrupt or truncated/);
    } finally {
      dir.remove();
    }
  });

  test('NaN voxels are rejected with the first one named, or kept on request', () => {
    const bytes = nifti1({ dims: [3, 2, 1], datatype: 'float32', values: [1, 2, 3, NaN, 5, Infinity] });
    expectInputError(() => parseNifti(bytes, 'nan.nii'), 'data', /2 voxel values are NaN or infinite \(first at voxel \(0, 1, 0\)\)/);
    const kept = parseNifti(bytes, 'nan.nii', { nonFinite: 'keep' });
    expect(Number.isNaN(kept.data[3])).toBe(true);
    expect(kept.acquisition.nonFiniteVoxels).toBe(2);
  });

  test('voxel size 0 (no sform or qform) and a singular sform', () => {
    expectInputError(() => parseNifti(nifti1({ dims: [2, 2, 2], pixdim: [1, 1, 0, 1] }), 'z.nii'), 'pixdim[2]', /voxel size pixdim\[2\] is 0/);
    expectInputError(() => parseNifti(nifti1({ dims: [2, 2, 2], sformCode: 1, srow: [[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0]] }), 's.nii'), 'srow_x/srow_y/srow_z', /singular/);
  });

  test('unsupported datatype, bad dim[0], zero dimension, vox_offset inside the header', () => {
    expectInputError(() => parseNifti(nifti1({ dims: [2, 2, 1], datatype: 'complex64' })), 'datatype', /complex64 .* not supported/);
    const b = nifti1({ dims: [2, 2, 2] });
    b.writeInt16LE(9, 40);
    expectInputError(() => parseNifti(b), 'dim[0]', /dim\[0\] is 9/);
    const z = nifti1({ dims: [2, 2, 2] });
    z.writeInt16LE(0, 44);
    expectInputError(() => parseNifti(z), 'dim[2]', /dim\[2\] is 0/);
    const v = nifti1({ dims: [2, 2, 2] });
    v.writeFloatLE(100, 108);
    expectInputError(() => parseNifti(v), 'vox_offset', /inside the 348-byte header/);
  });

  test('a missing file', async () => {
    await expect(readNifti('/no/such/file.nii')).rejects.toThrow(/\/no\/such\/file\.nii: cannot open: ENOENT/);
  });
});
