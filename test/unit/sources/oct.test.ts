import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../../src/model/errors.js';
import { parsePgm, readHeidelbergVol, readOct, readOctImageStack, readOctNifti } from '../../../src/sources/oct.js';
import { encodeHeidelbergVol, encodePgm, syntheticOctVolume } from '../../../src/sources/oct-write.js';
import { fixtures, tempDir } from '../../helpers/paths.js';

// No real OCT data is available to the project: .vol files here are written by our own generator
// (src/sources/oct-write.ts) and, independently of it, byte by byte from the layout of Heidelberg's
// raw-export specification (file header 2048 bytes, SLO, then per B-scan a header and float32 rows).

const FLT_MAX = 3.4028234663852886e38;

/** A minimal .vol written field by field: no SLO, `nb` B-scans of nx x nz, 256-byte B-scan headers. */
function handVol(nx: number, nz: number, nb: number, value: (x: number, z: number, b: number) => number, version = 'HSF-OCT-103'): Buffer {
  const hdr = 256;
  const out = Buffer.alloc(2048 + nb * (hdr + nx * nz * 4));
  out.write(version, 0, 'latin1');
  out.writeInt32LE(nx, 12);
  out.writeInt32LE(nb, 16);
  out.writeInt32LE(nz, 20);
  out.writeDoubleLE(0.0114, 24); // ScaleX
  out.writeDoubleLE(0.12, 32); // Distance
  out.writeDoubleLE(0.0039, 40); // ScaleZ
  out.write('OS', 84, 'latin1');
  out.writeInt32LE(3, 96); // ScanPattern: volume
  out.writeInt32LE(hdr, 100); // BScanHdrSize
  for (let b = 0; b < nb; b++) {
    const at = 2048 + b * (hdr + nx * nz * 4);
    out.write('HSF-BS-103', at, 'latin1');
    out.writeInt32LE(hdr, at + 12);
    out.writeFloatLE(25.5, at + 56); // Quality
    for (let z = 0; z < nz; z++) for (let x = 0; x < nx; x++) out.writeFloatLE(value(x, z, b), at + hdr + 4 * (x + nx * z));
  }
  return out;
}

async function expectInputError(p: Promise<unknown>, field: string, text: RegExp): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(InputError);
  expect((err as InputError).field).toBe(field);
  expect((err as Error).message).toMatch(text);
}

describe('Heidelberg .vol', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => (dir = tempDir()));
  afterEach(() => dir.remove());

  test('a file written from the spec layout: values row by row, FLT_MAX as no data, header fields', async () => {
    const f = join(dir.path, 'hand.vol');
    writeFileSync(f, handVol(3, 2, 2, (x, z, b) => (x === 2 && z === 1 && b === 1 ? FLT_MAX : 0.001 * (x + 10 * z + 100 * b))));
    const v = await readHeidelbergVol(f);
    expect(v.dims).toEqual([3, 2, 2]);
    expect(v.spacingMm).toEqual([0.0114, 0.0039, 0.12]);
    expect(v.data[1 + 3 * (1 + 2 * 1)]).toBeCloseTo(0.111, 6); // x=1, z=1, b=1
    expect(v.data[2 + 3 * 0]).toBeCloseTo(0.002, 6);
    expect(Number.isNaN(v.data[2 + 3 * (1 + 2 * 1)])).toBe(true);
    expect(v.invalidPixels).toBe(1);
    expect(v.slo).toBeUndefined();
    expect(v.segmentation).toBeUndefined();
    expect(v.bscanHeaders![1].quality).toBe(25.5);
    expect(v.acquisition).toMatchObject({ format: 'heidelberg-vol', dimensions: [3, 2, 2], voxelSize: [0.0114, 0.0039, 0.12], eye: 'OS', scanPatternName: 'volume', invalidPixels: 1 });
  });

  test('the generator writes the documented offsets, and the reader gives back what it wrote', async () => {
    const ph = syntheticOctVolume({ sizeX: 40, sizeZ: 50, numBScans: 4, invalidMargin: 1, seed: 7 });
    const bytes = encodeHeidelbergVol(ph.vol);
    // File header fields at their documented offsets
    expect(bytes.toString('latin1', 0, 11)).toBe('HSF-OCT-103');
    expect([bytes.readInt32LE(12), bytes.readInt32LE(16), bytes.readInt32LE(20)]).toEqual([40, 4, 50]);
    expect(bytes.readDoubleLE(24)).toBeCloseTo(6 / 40, 12);
    expect(bytes.readDoubleLE(32)).toBeCloseTo(1.5, 12);
    expect([bytes.readInt32LE(48), bytes.readInt32LE(52)]).toEqual([64, 64]);
    expect(bytes.toString('latin1', 84, 86)).toBe('OD');
    const hdr = bytes.readInt32LE(100);
    expect(hdr).toBeGreaterThanOrEqual(256 + 3 * 40 * 4);
    const first = 2048 + 64 * 64;
    expect(bytes.toString('latin1', first, first + 10)).toBe('HSF-BS-103');
    expect(bytes.readInt32LE(first + 48)).toBe(3); // NumSeg
    expect(bytes.readInt32LE(first + 52)).toBe(256); // OffSeg
    expect(bytes.readFloatLE(first + 256 + 4 * 5)).toBeCloseTo(ph.ilm[5], 4); // ILM of A-scan 5
    expect(bytes.readFloatLE(first + hdr)).toBe(FLT_MAX); // A-scan 0 is in the invalid margin
    expect(bytes.readFloatLE(first + hdr + 4 * (3 + 40 * 20))).toBe(ph.vol.bscans[3 + 40 * 20]);
    expect(bytes.length).toBe(2048 + 64 * 64 + 4 * (hdr + 40 * 50 * 4));

    const f = join(dir.path, 'ph.vol');
    writeFileSync(f, bytes);
    const v = await readHeidelbergVol(f);
    let same = 0;
    for (let i = 0; i < v.data.length; i++) if (v.data[i] === ph.vol.bscans[i] || (Number.isNaN(v.data[i]) && Number.isNaN(ph.vol.bscans[i]))) same++;
    expect(same).toBe(v.data.length);
    expect(v.invalidPixels).toBe(2 * 50 * 4);
    expect(v.header).toMatchObject({ examTime: '2020-03-04T05:06:07.000Z', dateOfBirth: '1970-01-01', visitDate: '2020-03-04', scanPosition: 'OD', patientId: 'PHANTOM', id: '1234' });
    expect(v.segmentation!.layers).toBe(3);
    expect(v.segmentation!.data[5 + 40 * 3 * 2]).toBeCloseTo(ph.ilm[5 + 40 * 2], 4); // ILM, B-scan 2, A-scan 5
    expect(v.segmentation!.data[5 + 40 * (1 + 3 * 2)]).toBeCloseTo(ph.bm[5 + 40 * 2], 4); // BM
    expect(Number.isNaN(v.segmentation!.data[0])).toBe(true); // invalid margin
    expect(v.slo!.pixels.length).toBe(64 * 64);
    expect(v.acquisition).toMatchObject({ segmentationLayers: 3, qualityMean: 30, sloDimensions: [64, 64] });
  });

  test('bad files: wrong magic, truncated, lying sizes, zero pixel size, wrong B-scan header size, NaN', async () => {
    const good = handVol(4, 3, 3, () => 0.01);
    const w = (name: string, b: Buffer) => { const f = join(dir.path, name); writeFileSync(f, b); return f; };
    await expectInputError(readHeidelbergVol(w('magic.vol', handVol(4, 3, 3, () => 0.01, 'HSF-XYZ'))), 'Version', /bad magic 'HSF-XYZ'/);
    await expectInputError(readHeidelbergVol(w('short.vol', good.subarray(0, 1000))), 'Version', /truncated file: the .vol header is 2048 bytes/);
    await expectInputError(readHeidelbergVol(w('cut.vol', good.subarray(0, good.length - 10))), 'NumBScans', /declares 3 B-scans of 4x3 .* truncated after 2 complete B-scans/);
    const lying = Buffer.from(good);
    lying.writeInt32LE(30, 16); // NumBScans 3 -> 30
    await expectInputError(readHeidelbergVol(w('lying.vol', lying)), 'NumBScans', /declares 30 B-scans/);
    const zero = Buffer.from(good);
    zero.writeDoubleLE(0, 24);
    await expectInputError(readHeidelbergVol(w('zero.vol', zero)), 'ScaleX', /pixel size\) is 0 mm/);
    const hdr = Buffer.from(good);
    hdr.writeInt32LE(260, 100); // BScanHdrSize wrong: the second B-scan header is not where it says
    await expectInputError(readHeidelbergVol(w('hdr.vol', Buffer.concat([hdr, Buffer.alloc(64)]))), 'Version', /bad B-scan header magic/);
    await expectInputError(readHeidelbergVol(w('nan.vol', handVol(4, 3, 3, (x, z, b) => (b === 2 && z === 1 && x === 3 ? NaN : 0.5)))), 'data', /B-scan value NaN at A-scan 3, depth 1/);
  });
});

describe('OCT as NIfTI and as an image stack', () => {
  test('NIfTI (written by numpy): A-scan x depth x B-scan with the header spacing', async () => {
    const v = await readOctNifti(join(fixtures, 'imaging', 'oct-small.nii.gz'));
    expect(v.dims).toEqual([16, 12, 3]);
    expect(v.spacingMm.map((s) => Math.round(s * 1e6) / 1e6)).toEqual([0.01, 0.004, 0.2]);
    for (const [x, z, b] of [[0, 0, 0], [15, 11, 2], [3, 7, 1]]) expect(v.data[x + 16 * (z + 12 * b)]).toBeCloseTo(b + z / 100 + x / 10000, 6);
    expect(v.intensity).toBe('display');
    expect(v.acquisition).toMatchObject({ format: 'nifti', bscans: 3, ascansPerBscan: 16, depthSamples: 12 });
  });

  test('PGM stack: files in natural order (bscan-2 before bscan-10), spacing from oct.json', async () => {
    const stack = join(fixtures, 'imaging', 'oct-stack');
    const v = await readOct(stack);
    expect(v.format).toBe('pgm-stack');
    expect(v.dims).toEqual([16, 12, 3]);
    expect(v.spacingMm).toEqual([0.0115, 0.0039, 0.12]);
    expect(v.acquisition.files).toEqual(['bscan-1.pgm', 'bscan-2.pgm', 'bscan-10.pgm']);
    for (const [x, z, b] of [[0, 0, 0], [15, 11, 2], [4, 5, 1]]) expect(v.data[x + 16 * (z + 12 * b)]).toBe((10 * b + 3 * z + x) % 256);
  });

  test('16-bit PGM is big-endian; mismatched sizes and missing spacing are errors', async () => {
    const px = parsePgm(encodePgm(3, 1, [1, 256, 65535], 65535));
    expect(Array.from(px.pixels)).toEqual([1, 256, 65535]);
    expect(Array.from(parsePgm(Buffer.from([...Buffer.from('P5 2 1 65535\n'), 0x01, 0x02, 0xff, 0x00])).pixels)).toEqual([0x0102, 0xff00]);
    const dir = tempDir();
    try {
      const stack = join(dir.path, 'stack');
      mkdirSync(stack);
      for (const n of readdirSync(join(fixtures, 'imaging', 'oct-stack'))) copyFileSync(join(fixtures, 'imaging', 'oct-stack', n), join(stack, n));
      writeFileSync(join(stack, 'bscan-3.pgm'), encodePgm(8, 12, new Array(96).fill(1)));
      await expect(readOctImageStack(stack)).rejects.toThrow(/bscan-3\.pgm, record B-scan 2, field width: B-scan is 8x12, the first \(bscan-1\.pgm\) 16x12/);
      const bare = join(dir.path, 'bare');
      mkdirSync(bare);
      writeFileSync(join(bare, 'a.pgm'), encodePgm(2, 2, [1, 2, 3, 4]));
      await expect(readOctImageStack(bare)).rejects.toThrow(/needs its spacing/);
      const v = await readOctImageStack(bare, { spacingMm: [0.01, 0.004, 0.1] });
      expect(Array.from(v.data)).toEqual([1, 2, 3, 4]);
      await expect(readOctImageStack(bare, { spacingMm: [0.01, 0, 0.1] })).rejects.toThrow(/three positive numbers/);
      writeFileSync(join(bare, 'b.pgm'), Buffer.from('P2 2 2 255\n1 2 3 4\n'));
      await expect(readOctImageStack(bare, { spacingMm: [0.01, 0.004, 0.1] })).rejects.toThrow(/not a binary PGM/);
    } finally {
      dir.remove();
    }
  });
});
