import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { InputError } from '../../../src/model/errors.js';
import { assembleSeries, modalityValues, parseDicomImage, readDicomSeries } from '../../../src/sources/dicom.js';
import { dicomItems, dicomNumbers, dicomString, parseDicomFile } from '../../../src/sources/dicom-parse.js';
import { decodeRleFrame, encodeRleFrame } from '../../../src/sources/dicom-rle.js';
import { tempDir } from '../../helpers/paths.js';
import { expectInputError } from '../../helpers/errors.js';

// DICOM files written element by element (PS3.5 7.1: tag, VR, length, value), in each encoding.

const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_BE = '1.2.840.10008.1.2.2';
const DEFLATED = '1.2.840.10008.1.2.1.99';
const RLE = '1.2.840.10008.1.2.5';
const LONG = new Set(['OB', 'OW', 'SQ', 'UN', 'UT']);

type Value = string | number[] | Buffer | Item[] | { fragments: Buffer[] };
type Item = El[];
type El = [number, string, Value];

interface Enc { le: boolean; explicit: boolean }

function u16(v: number, le: boolean): Buffer { const b = Buffer.alloc(2); le ? b.writeUInt16LE(v) : b.writeUInt16BE(v); return b; }
function u32(v: number, le: boolean): Buffer { const b = Buffer.alloc(4); le ? b.writeUInt32LE(v) : b.writeUInt32BE(v); return b; }
const tagBytes = (tag: number, le: boolean) => Buffer.concat([u16(tag >>> 16, le), u16(tag & 0xffff, le)]);

function valueBytes(vr: string, v: Value, e: Enc): Buffer {
  if (typeof v === 'string') {
    const b = Buffer.from(v, 'latin1');
    return b.length % 2 ? Buffer.concat([b, Buffer.from(vr === 'UI' ? '\0' : ' ')]) : b;
  }
  if (Buffer.isBuffer(v)) return v;
  if (Array.isArray(v) && typeof v[0] === 'number') {
    const nums = v as number[];
    if (vr === 'US') return Buffer.concat(nums.map((n) => u16(n, e.le)));
    if (vr === 'UL') return Buffer.concat(nums.map((n) => u32(n, e.le)));
    if (vr === 'FD') return Buffer.concat(nums.map((n) => { const b = Buffer.alloc(8); e.le ? b.writeDoubleLE(n) : b.writeDoubleBE(n); return b; }));
  }
  throw new Error(`test encoder: no encoding for ${vr}`);
}

/** One element; sequences of items are written with undefined lengths (delimiters), the harder case. */
function element([tag, vr, v]: El, e: Enc): Buffer {
  if (vr === 'SQ') {
    const items = (v as Item[]).map((it) => Buffer.concat([tagBytes(0xfffee000, e.le), u32(0xffffffff, e.le), ...it.map((x) => element(x, e)), tagBytes(0xfffee00d, e.le), u32(0, e.le)]));
    const body = Buffer.concat([...items, tagBytes(0xfffee0dd, e.le), u32(0, e.le)]);
    return Buffer.concat([tagBytes(tag, e.le), e.explicit ? Buffer.from('SQ\0\0') : Buffer.alloc(0), u32(0xffffffff, e.le), body]);
  }
  if (typeof v === 'object' && 'fragments' in v) {
    const items = [Buffer.alloc(0), ...v.fragments].map((f) => Buffer.concat([tagBytes(0xfffee000, e.le), u32(f.length, e.le), f]));
    return Buffer.concat([tagBytes(tag, e.le), Buffer.from('OB\0\0'), u32(0xffffffff, e.le), ...items, tagBytes(0xfffee0dd, e.le), u32(0, e.le)]);
  }
  const value = valueBytes(vr, v, e);
  if (!e.explicit) return Buffer.concat([tagBytes(tag, e.le), u32(value.length, e.le), value]);
  const len = LONG.has(vr) ? Buffer.concat([Buffer.alloc(2), u32(value.length, e.le)]) : u16(value.length, e.le);
  return Buffer.concat([tagBytes(tag, e.le), Buffer.from(vr, 'latin1'), len, value]);
}

function dicom(ts: string, elements: El[], opts: { deflate?: boolean } = {}): Buffer {
  const e: Enc = { le: ts !== EXPLICIT_BE, explicit: ts !== IMPLICIT_LE };
  const meta = Buffer.concat([[0x00020001, 'OB', Buffer.from([0, 1])], [0x00020002, 'UI', '1.2.840.10008.5.1.4.1.1.4'], [0x00020010, 'UI', ts]].map((x) => element(x as El, { le: true, explicit: true })));
  const group = element([0x00020000, 'UL', [meta.length]], { le: true, explicit: true });
  let body = Buffer.concat(elements.sort((a, b) => a[0] - b[0]).map((x) => element(x, e)));
  if (opts.deflate) body = deflateRawSync(body);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), group, meta, body]);
}

/** 16-bit little-endian pixel bytes of `values`. */
const le16 = (values: number[]) => Buffer.concat(values.map((v) => { const b = Buffer.alloc(2); b.writeInt16LE(v); return b; }));
const swap16 = (b: Buffer) => Buffer.from(b).swap16();

const PIXELS = [-1000, -1, 0, 1, 255, 256, 1234, 32767, -32768, 42, 7, 9];

function mrElements(pixelData: Value, extra: El[] = []): El[] {
  return [
    [0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.4'], [0x00080018, 'UI', '1.2.3.4.5'], [0x00080060, 'CS', 'MR'],
    [0x00100020, 'LO', 'P001'], [0x00180050, 'DS', '1.5'], [0x00180080, 'DS', '2300'], [0x00180081, 'DS', '2.98'],
    [0x0020000d, 'UI', '1.2.3'], [0x0020000e, 'UI', '1.2.3.9'], [0x00200013, 'IS', '7'],
    [0x00200032, 'DS', '-10\\20.5\\30'], [0x00200037, 'DS', '1\\0\\0\\0\\1\\0'],
    [0x00280002, 'US', [1]], [0x00280004, 'CS', 'MONOCHROME2'], [0x00280010, 'US', [3]], [0x00280011, 'US', [4]],
    [0x00280030, 'DS', '0.5\\0.25'], [0x00280100, 'US', [16]], [0x00280101, 'US', [16]], [0x00280103, 'US', [1]],
    [0x00281052, 'DS', '-100'], [0x00281053, 'DS', '2'],
    // a nested sequence before the pixels, to check that sequences of undefined length are skipped correctly
    [0x00081140, 'SQ', [[[0x00081150, 'UI', '1.2.840.10008.5.1.4.1.1.4'], [0x00081155, 'UI', '9.8.7']], [[0x00081155, 'UI', '9.8.6']]]],
    ...extra,
    [0x7fe00010, 'OW', pixelData],
  ];
}


describe('DICOM images', () => {
  test('explicit VR little endian: stored pixels, rescale, geometry and acquisition parameters', () => {
    const img = parseDicomImage(dicom(EXPLICIT_LE, mrElements(le16(PIXELS))), 'mr.dcm');
    expect(img.rows).toBe(3);
    expect(img.columns).toBe(4);
    expect(img.pixels).toBeInstanceOf(Int16Array);
    expect(Array.from(img.pixels)).toEqual(PIXELS);
    expect(Array.from(modalityValues(img))).toEqual(PIXELS.map((v) => 2 * v - 100));
    expect(img).toMatchObject({ pixelSpacing: [0.5, 0.25], sliceThickness: 1.5, imagePosition: [-10, 20.5, 30], imageOrientation: [1, 0, 0, 0, 1, 0], instanceNumber: 7, modality: 'MR', seriesInstanceUid: '1.2.3.9' });
    expect(img.acquisition).toMatchObject({ transferSyntax: 'Explicit VR Little Endian', dimensions: [4, 3], repetitionTimeMs: 2300, echoTimeMs: 2.98, rescaleSlope: 2, rescaleIntercept: -100 });
  });

  test('implicit VR, explicit big endian and deflated files decode to identical pixels', () => {
    const ref = parseDicomImage(dicom(EXPLICIT_LE, mrElements(le16(PIXELS)))).pixels;
    const implicit = parseDicomImage(dicom(IMPLICIT_LE, mrElements(le16(PIXELS))));
    const big = parseDicomImage(dicom(EXPLICIT_BE, mrElements(swap16(le16(PIXELS)))));
    const deflated = parseDicomImage(dicom(DEFLATED, mrElements(le16(PIXELS)), { deflate: true }));
    for (const img of [implicit, big, deflated]) {
      expect(Array.from(img.pixels)).toEqual(Array.from(ref));
      expect(img.pixelSpacing).toEqual([0.5, 0.25]);
      expect(img.rescaleSlope).toBe(2);
    }
    expect(big.transferSyntax).toBe('Explicit VR Big Endian');
    expect(deflated.transferSyntax).toBe('Deflated Explicit VR Little Endian');
  });

  test('sequences of undefined length are parsed into items, in explicit and implicit VR', () => {
    for (const ts of [EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE]) {
      const df = parseDicomFile(dicom(ts, mrElements(ts === EXPLICIT_BE ? swap16(le16(PIXELS)) : le16(PIXELS))));
      const items = dicomItems(df.dataset, 0x00081140);
      expect(items.map((i) => dicomString(i, 0x00081155))).toEqual(['9.8.7', '9.8.6']);
      expect(dicomNumbers(df.dataset, 0x00280010)).toEqual([3]);
    }
  });

  test('RLE Lossless: a hand-encoded 8-bit frame (literal, replicate and no-op runs) decodes as PS3.5 Annex G says', () => {
    const frame = Buffer.alloc(64 + 10);
    frame.writeUInt32LE(1, 0);
    frame.writeUInt32LE(64, 4);
    // literal run of 3, replicate 7 four times (-3), a -128 no-op, literal run of 1
    Buffer.from([0x02, 10, 20, 30, 0xfd, 7, 0x80, 0x00, 99, 0x80]).copy(frame, 64);
    expect(Array.from(decodeRleFrame(frame, 2, 4, 1, 8))).toEqual([10, 20, 30, 7, 7, 7, 7, 99]);
  });

  test('RLE Lossless: 16-bit segments are most significant byte first', () => {
    const frame = Buffer.alloc(64 + 6);
    frame.writeUInt32LE(2, 0);
    frame.writeUInt32LE(64, 4);
    frame.writeUInt32LE(67, 8);
    Buffer.from([0x01, 0x01, 0x03, 0x01, 0x02, 0x04]).copy(frame, 64);
    const bytes = decodeRleFrame(frame, 1, 2, 1, 16);
    expect(Array.from(new Uint16Array(bytes.buffer, bytes.byteOffset, 2))).toEqual([0x0102, 0x0304]);
  });

  test('RLE Lossless file: identical pixels to the uncompressed one; corrupt segments are errors', () => {
    const rle = encodeRleFrame(le16(PIXELS), 12, 1, 16);
    const img = parseDicomImage(dicom(RLE, mrElements({ fragments: [Buffer.from(rle)] })));
    expect(img.transferSyntax).toBe('RLE Lossless');
    expect(Array.from(img.pixels)).toEqual(PIXELS);
    const cut = Buffer.from(rle.subarray(0, rle.length - 6));
    expectInputError(() => parseDicomImage(dicom(RLE, mrElements({ fragments: [cut] })), 'cut.dcm'), '(7FE0,0010) PixelData', /RLE segment 2 (ends inside a literal run|decodes to \d+ of 12 bytes)/);
  });

  test('BitsStored below BitsAllocated: signed values are sign-extended, unsigned ones masked', () => {
    const signed = parseDicomImage(dicom(EXPLICIT_LE, mrElements(le16([0x0fff, 0x0800, 0x07ff, 0, 1, 2, 3, 4, 5, 6, 7, 8]), [[0x00280101, 'US', [12]]])));
    expect(Array.from(signed.pixels.slice(0, 3))).toEqual([-1, -2048, 2047]);
    const unsigned = parseDicomImage(dicom(EXPLICIT_LE, mrElements(le16([-1, 0x1234, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), [[0x00280101, 'US', [12]], [0x00280103, 'US', [0]]])));
    expect(Array.from(unsigned.pixels.slice(0, 2))).toEqual([0x0fff, 0x0234]);
  });

  test('compressed transfer syntaxes we cannot decode are refused, naming the UID and its name', () => {
    expectInputError(() => parseDicomImage(dicom('1.2.840.10008.1.2.4.50', mrElements({ fragments: [Buffer.from([0xff, 0xd8, 0xff, 0xd9])] })), 'j.dcm'), 'TransferSyntaxUID', /1\.2\.840\.10008\.1\.2\.4\.50 \(JPEG Baseline \(Process 1\)\) cannot be decoded/);
    expectInputError(() => parseDicomImage(dicom('1.2.840.10008.1.2.4.91', mrElements({ fragments: [Buffer.from([0, 0])] })), 'j2k.dcm'), 'TransferSyntaxUID', /JPEG 2000 Image Compression\) cannot be decoded/);
  });

  test('truncated pixel data, a lying header, no pixel data, not DICOM', () => {
    const full = dicom(EXPLICIT_LE, mrElements(le16(PIXELS)));
    expectInputError(() => parseDicomImage(full.subarray(0, full.length - 5), 't.dcm'), '(7FE0,0010) PixelData', /truncated file: element \(7FE0,0010\) PixelData .* declares 24 bytes but only 19 remain/);
    const lying = dicom(EXPLICIT_LE, mrElements(le16(PIXELS), [[0x00280010, 'US', [30]]]));
    expectInputError(() => parseDicomImage(lying, 'l.dcm'), '(7FE0,0010) PixelData', /holds 24 bytes but 1 frame\(s\) of 4x30x1 at 16 bits need 240/);
    const noPixels = dicom(EXPLICIT_LE, mrElements(le16(PIXELS)).filter((e) => e[0] !== 0x7fe00010));
    expectInputError(() => parseDicomImage(noPixels, 'n.dcm'), '(7FE0,0010) PixelData', /no pixel data/);
    expectInputError(() => parseDicomImage(Buffer.from('not a dicom file '.repeat(20)), 'x.txt'), 'preamble', /no 'DICM' prefix/);
    const bad = dicom(EXPLICIT_LE, mrElements(le16(PIXELS), [[0x00280030, 'DS', '0\\0.5']]));
    expectInputError(() => parseDicomImage(bad, 'z.dcm'), '(0028,0030) PixelSpacing', /must be positive/);
  });
});

describe('DICOM series', () => {
  const slice = (z: number, instance: number, value: number, extra: El[] = []) =>
    parseDicomImage(dicom(EXPLICIT_LE, mrElements(le16(PIXELS.map(() => value)), [[0x00200032, 'DS', `-10\\20\\${z}`], [0x00200013, 'IS', String(instance)], ...extra])), `s${instance}.dcm`);

  test('slices are sorted by position along the normal; affine in RAS from LPS', () => {
    const v = assembleSeries([slice(35, 1, 3), slice(30, 2, 1), slice(32.5, 3, 2)]);
    expect(v.dims).toEqual([4, 3, 3]);
    expect(v.files).toEqual(['s2.dcm', 's3.dcm', 's1.dcm']);
    // slice k holds value k + 1, rescaled: 2 * v - 100
    expect([v.data[0], v.data[12], v.data[24]]).toEqual([-98, -96, -94]);
    // columns along +x (LPS) = -x RAS, rows along +y (LPS) = -y RAS, slices along +z
    expect(v.affine).toEqual([-0.25, 0, 0, 10, 0, -0.5, 0, -20, 0, 0, 2.5, 30, 0, 0, 0, 1]);
    expect(v.acquisition).toMatchObject({ dimensions: [4, 3, 3], voxelSize: [0.25, 0.5, 2.5], orientation: 'LPS', slices: 3, sliceSpacing: 2.5 });
  });

  test('a sagittal series: orientation codes follow the direction cosines', () => {
    const sag: El[] = [[0x00200037, 'DS', '0\\1\\0\\0\\0\\-1']];
    const mk = (x: number, i: number) => parseDicomImage(dicom(EXPLICIT_LE, mrElements(le16(PIXELS), [...sag, [0x00200032, 'DS', `${x}\\-100\\50`], [0x00200013, 'IS', String(i)]])), `x${i}.dcm`);
    const v = assembleSeries([mk(4, 1), mk(0, 2), mk(2, 3)]);
    // columns along +y LPS (posterior), rows along -z (inferior); the normal, row x column, points to
    // -x LPS (right), so slices are ordered from x = 4 to x = 0 and run towards the right
    expect(v.acquisition.orientation).toBe('PIR');
    expect(v.files).toEqual(['x1.dcm', 'x3.dcm', 'x2.dcm']);
  });

  test('duplicate positions, uneven gaps and mixed orientations are refused', () => {
    expect(() => assembleSeries([slice(30, 1, 1), slice(30, 2, 1)])).toThrow(/two slices at the same position/);
    expect(() => assembleSeries([slice(30, 1, 1), slice(32, 2, 1), slice(40, 3, 1)])).toThrow(/not evenly spaced/);
    const tilted = slice(32, 2, 1, [[0x00200037, 'DS', '1\\0\\0\\0\\0.8\\0.6']]);
    expect(() => assembleSeries([slice(30, 1, 1), tilted])).toThrow(InputError);
  });

  test('a folder is read recursively, non-DICOM files skipped, one series chosen by UID', async () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir.path, 'a.dcm'), dicom(EXPLICIT_LE, mrElements(le16(PIXELS), [[0x00200032, 'DS', '0\\0\\0']])));
      writeFileSync(join(dir.path, 'b.dcm'), dicom(IMPLICIT_LE, mrElements(le16(PIXELS), [[0x00200032, 'DS', '0\\0\\2']])));
      writeFileSync(join(dir.path, 'c.dcm'), dicom(EXPLICIT_LE, mrElements(le16(PIXELS), [[0x00200032, 'DS', '0\\0\\4'], [0x0020000e, 'UI', '7.7.7']])));
      writeFileSync(join(dir.path, 'notes.txt'), 'not an image');
      await expect(readDicomSeries(dir.path)).rejects.toThrow(/the files hold 2 series/);
      const v = await readDicomSeries(dir.path, { seriesInstanceUid: '1.2.3.9' });
      expect(v.dims).toEqual([4, 3, 2]);
      expect(v.acquisition.sliceSpacing).toBe(2);
    } finally {
      dir.remove();
    }
  });
});
