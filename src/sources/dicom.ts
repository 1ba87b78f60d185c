import { readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../model/errors.js';
import {
  type DicomDataSet, type DicomFile, TRANSFER_SYNTAXES, dicomItems, dicomNumber, dicomNumbers, dicomString, parseDicomFile, tagName,
} from './dicom-parse.js';
import { decodeRleFrame } from './dicom-rle.js';
import { type ImageVolume, axisCodes, voxelSizes } from './nifti.js';

// DICOM images (MR, CT and other single-plane grey-level images) and series assembled into volumes.
// Pixels are decoded for the native transfer syntaxes (implicit/explicit VR little endian, explicit
// big endian, deflated) and RLE Lossless; JPEG, JPEG-LS, JPEG 2000 and video syntaxes are refused with
// an InputError naming the transfer syntax, never decoded wrongly.

export type StoredPixels = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

export interface DicomImage {
  file: string;
  transferSyntaxUid: string;
  transferSyntax: string;
  sopClassUid?: string;
  sopInstanceUid?: string;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  frameOfReferenceUid?: string;
  patientId?: string;
  modality?: string;
  rows: number;
  columns: number;
  frames: number;
  samplesPerPixel: number;
  photometricInterpretation: string;
  bitsAllocated: number;
  bitsStored: number;
  /** 0 unsigned, 1 two's complement. */
  pixelRepresentation: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  /** [row spacing, column spacing] in mm: (0028,0030) as stored (the distance between rows first). */
  pixelSpacing?: [number, number];
  sliceThickness?: number;
  spacingBetweenSlices?: number;
  /** (0020,0032): the centre of the first transmitted pixel, in mm, patient (LPS) coordinates. */
  imagePosition?: [number, number, number];
  /** (0020,0037): direction cosines of the first row and then of the first column, LPS. */
  imageOrientation?: [number, number, number, number, number, number];
  instanceNumber?: number;
  /** Stored values before rescale: index = sample + samples * (column + columns * (row + rows * frame)). */
  pixels: StoredPixels;
  acquisition: Record<string, number | string | boolean | number[] | string[]>;
  warnings: string[];
}

const PIXEL_DATA = 0x7fe00010;
const PIXEL_FIELD = tagName(PIXEL_DATA);

/** Reads one DICOM file and decodes its pixels. */
export async function readDicom(file: string): Promise<DicomImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new InputError(`cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file);
  }
  return parseDicomImage(bytes, file);
}

/** Parses a DICOM image held in memory and decodes its pixels. */
export function parseDicomImage(bytes: Uint8Array, file = 'dicom'): DicomImage {
  return imageFromFile(parseDicomFile(bytes, file));
}

function required(ds: DicomDataSet, tag: number, file: string): number {
  const v = dicomNumber(ds, tag);
  if (v === undefined) throw new InputError(`missing required attribute ${tagName(tag)}`, file, undefined, tagName(tag));
  return v;
}

/** Decodes the image of a parsed DICOM file. */
export function imageFromFile(df: DicomFile): DicomImage {
  const { dataset: ds, file } = df;
  if (!ds.elements.has(PIXEL_DATA)) throw new InputError('no pixel data: not an image (e.g. a DICOMDIR, a structured report or a waveform)', file, undefined, PIXEL_FIELD);
  const ts = TRANSFER_SYNTAXES[df.transferSyntaxUid];
  const rows = required(ds, 0x00280010, file);
  const columns = required(ds, 0x00280011, file);
  const bitsAllocated = required(ds, 0x00280100, file);
  const bitsStored = dicomNumber(ds, 0x00280101) ?? bitsAllocated;
  const pixelRepresentation = dicomNumber(ds, 0x00280103) ?? 0;
  const samplesPerPixel = dicomNumber(ds, 0x00280002) ?? 1;
  const frames = Math.max(1, Math.round(dicomNumber(ds, 0x00280008) ?? 1));
  const photometricInterpretation = dicomString(ds, 0x00280004) ?? 'MONOCHROME2';
  if (rows < 1 || columns < 1) throw new InputError(`image is ${rows}x${columns} pixels`, file, undefined, tagName(rows < 1 ? 0x00280010 : 0x00280011));
  if (![8, 16, 32].includes(bitsAllocated)) throw new InputError(`BitsAllocated ${bitsAllocated} is not supported (8, 16 or 32)`, file, undefined, tagName(0x00280100));
  if (!(bitsStored >= 1 && bitsStored <= bitsAllocated)) throw new InputError(`BitsStored ${bitsStored} does not fit BitsAllocated ${bitsAllocated}`, file, undefined, tagName(0x00280101));
  const geometry = { rows, columns, frames, samplesPerPixel, bitsAllocated, bitsStored, pixelRepresentation };
  const pixels = decodePixels(df, geometry, dicomNumber(ds, 0x00280006) ?? 0);
  const slope = dicomNumber(ds, 0x00281053);
  const intercept = dicomNumber(ds, 0x00281052);
  const spacing = dicomNumbers(ds, 0x00280030);
  const position = dicomNumbers(ds, 0x00200032);
  const orientation = dicomNumbers(ds, 0x00200037);
  const image: DicomImage = {
    file,
    transferSyntaxUid: df.transferSyntaxUid,
    transferSyntax: ts?.name ?? 'unknown',
    sopClassUid: dicomString(ds, 0x00080016) ?? dicomString(df.meta, 0x00020002),
    sopInstanceUid: dicomString(ds, 0x00080018) ?? dicomString(df.meta, 0x00020003),
    studyInstanceUid: dicomString(ds, 0x0020000d),
    seriesInstanceUid: dicomString(ds, 0x0020000e),
    frameOfReferenceUid: dicomString(ds, 0x00200052),
    patientId: dicomString(ds, 0x00100020),
    modality: dicomString(ds, 0x00080060),
    ...geometry,
    photometricInterpretation,
    rescaleSlope: slope !== undefined && slope !== 0 ? slope : 1,
    rescaleIntercept: intercept ?? 0,
    pixelSpacing: spacing && spacing.length >= 2 && spacing.every(Number.isFinite) ? [spacing[0], spacing[1]] : undefined,
    sliceThickness: dicomNumber(ds, 0x00180050),
    spacingBetweenSlices: dicomNumber(ds, 0x00180088),
    imagePosition: position && position.length >= 3 && position.every(Number.isFinite) ? [position[0], position[1], position[2]] : undefined,
    imageOrientation: orientation && orientation.length >= 6 && orientation.every(Number.isFinite) ? (orientation.slice(0, 6) as DicomImage['imageOrientation']) : undefined,
    instanceNumber: dicomNumber(ds, 0x00200013),
    pixels,
    acquisition: {},
    warnings: df.warnings,
  };
  if (image.pixelSpacing && !(image.pixelSpacing[0] > 0 && image.pixelSpacing[1] > 0)) {
    throw new InputError(`PixelSpacing ${image.pixelSpacing.join('\\')} must be positive`, file, undefined, tagName(0x00280030));
  }
  image.acquisition = imageAcquisition(image, ds);
  return image;
}

function imageAcquisition(img: DicomImage, ds: DicomDataSet): DicomImage['acquisition'] {
  const a: DicomImage['acquisition'] = {
    format: 'dicom',
    transferSyntaxUid: img.transferSyntaxUid,
    transferSyntax: img.transferSyntax,
    dimensions: img.frames > 1 ? [img.columns, img.rows, img.frames] : [img.columns, img.rows],
    bitsAllocated: img.bitsAllocated,
    bitsStored: img.bitsStored,
    pixelRepresentation: img.pixelRepresentation,
    photometricInterpretation: img.photometricInterpretation,
    rescaleSlope: img.rescaleSlope,
    rescaleIntercept: img.rescaleIntercept,
  };
  if (img.modality) a.modality = img.modality;
  if (img.pixelSpacing) a.pixelSpacing = img.pixelSpacing;
  if (img.sliceThickness !== undefined) a.sliceThickness = img.sliceThickness;
  if (img.imagePosition) a.imagePosition = img.imagePosition;
  if (img.imageOrientation) a.imageOrientation = img.imageOrientation;
  const text: [number, string][] = [[0x00080070, 'manufacturer'], [0x00081090, 'manufacturerModelName'], [0x00180020, 'scanningSequence'], [0x00180023, 'mrAcquisitionType'], [0x00181030, 'protocolName'], [0x00181020, 'softwareVersions']];
  for (const [tag, key] of text) {
    const v = dicomString(ds, tag);
    if (v) a[key] = v;
  }
  const nums: [number, string][] = [[0x00180080, 'repetitionTimeMs'], [0x00180081, 'echoTimeMs'], [0x00180082, 'inversionTimeMs'], [0x00180087, 'magneticFieldStrengthT'], [0x00181314, 'flipAngleDeg'], [0x00180060, 'kvp']];
  for (const [tag, key] of nums) {
    const v = dicomNumber(ds, tag);
    if (v !== undefined) a[key] = v;
  }
  return a;
}

interface Geometry {
  rows: number;
  columns: number;
  frames: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: number;
}

function decodePixels(df: DicomFile, g: Geometry, planar: number): StoredPixels {
  const { dataset: ds, file } = df;
  const el = ds.elements.get(PIXEL_DATA)!;
  const ts = TRANSFER_SYNTAXES[df.transferSyntaxUid];
  const frameBytes = g.rows * g.columns * g.samplesPerPixel * (g.bitsAllocated / 8);
  if (!ts || ts.pixels === 'unsupported') {
    const name = ts?.name ?? 'an unknown transfer syntax';
    throw new InputError(`pixel data in transfer syntax ${df.transferSyntaxUid} (${name}) cannot be decoded: only native (uncompressed), deflated and RLE Lossless pixel data are supported`, file, undefined, 'TransferSyntaxUID');
  }
  let native: Uint8Array;
  if (ts.pixels === 'rle') {
    if (!el.fragments) throw new InputError('RLE Lossless transfer syntax but the pixel data is not encapsulated', file, undefined, PIXEL_FIELD);
    native = new Uint8Array(frameBytes * g.frames);
    rleFrames(ds.bytes, el.fragments, g.frames, file).forEach((parts, f) => {
      const frame = concat(parts.map((p) => ds.bytes.subarray(p.offset, p.offset + p.length)));
      native.set(decodeRleFrame(frame, g.rows, g.columns, g.samplesPerPixel, g.bitsAllocated, file), f * frameBytes);
    });
  } else {
    if (el.fragments) throw new InputError(`encapsulated pixel data in the uncompressed transfer syntax ${df.transferSyntaxUid}`, file, undefined, PIXEL_FIELD);
    const need = frameBytes * g.frames;
    if (el.length < need) {
      throw new InputError(`PixelData holds ${el.length} bytes but ${g.frames} frame(s) of ${g.columns}x${g.rows}x${g.samplesPerPixel} at ${g.bitsAllocated} bits need ${need}: truncated file or lying header`, file, undefined, PIXEL_FIELD);
    }
    // An aligned copy in little-endian order (the platform's), swapped from big endian where needed.
    const copy = Buffer.alloc(need);
    copy.set(ds.bytes.subarray(el.offset, el.offset + need));
    if (!ds.littleEndian) {
      if (g.bitsAllocated === 16) copy.swap16();
      else if (g.bitsAllocated === 32) copy.swap32();
      else if (el.vr === 'OW' && need % 2 === 0) copy.swap16(); // 8-bit data in OW words: bytes swapped pairwise
    }
    native = copy;
  }
  if (g.samplesPerPixel > 1 && planar === 1) native = interleave(native, g);
  return typedPixels(native, g);
}

/** Which fragments make up each frame: one per frame, or grouped by the basic offset table. */
function rleFrames(bytes: Uint8Array, fragments: { offset: number; length: number }[], frames: number, file: string): { offset: number; length: number }[][] {
  const [bot, ...data] = fragments;
  if (!bot || data.length === 0) throw new InputError('encapsulated pixel data has no fragments', file, undefined, PIXEL_FIELD);
  if (data.length === frames) return data.map((f) => [f]);
  if (frames === 1) return [data];
  if (bot.length >= 4 * frames) {
    // Basic offset table: the offset of each frame's first fragment item, from the first fragment's item tag.
    const dv = new DataView(bytes.buffer, bytes.byteOffset + bot.offset, bot.length);
    const base = data[0].offset - 8;
    const starts = new Set(Array.from({ length: frames }, (_, i) => dv.getUint32(4 * i, true)));
    const groups: { offset: number; length: number }[][] = [];
    for (const f of data) {
      if (starts.has(f.offset - 8 - base) || groups.length === 0) groups.push([]);
      groups[groups.length - 1].push(f);
    }
    if (groups.length === frames) return groups;
  }
  throw new InputError(`${data.length} RLE fragments for ${frames} frames and no usable basic offset table`, file, undefined, PIXEL_FIELD);
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Planar configuration 1 (RRR...GGG...BBB...) to interleaved (RGBRGB...), per frame. */
function interleave(b: Uint8Array, g: Geometry): Uint8Array {
  const bps = g.bitsAllocated / 8;
  const px = g.rows * g.columns;
  const out = new Uint8Array(b.length);
  for (let f = 0; f < g.frames; f++) {
    const base = f * px * g.samplesPerPixel * bps;
    for (let s = 0; s < g.samplesPerPixel; s++) {
      for (let i = 0; i < px; i++) {
        for (let k = 0; k < bps; k++) out[base + (i * g.samplesPerPixel + s) * bps + k] = b[base + (s * px + i) * bps + k];
      }
    }
  }
  return out;
}

/** Little-endian pixel bytes as a typed array, masked to BitsStored and sign-extended when signed. */
function typedPixels(b: Uint8Array, g: Geometry): StoredPixels {
  const signed = g.pixelRepresentation === 1;
  const n = b.length / (g.bitsAllocated / 8);
  const buffer = b.buffer as ArrayBuffer;
  let out: StoredPixels;
  if (g.bitsAllocated === 8) out = signed ? new Int8Array(buffer, b.byteOffset, n) : new Uint8Array(buffer, b.byteOffset, n);
  else if (g.bitsAllocated === 16) out = signed ? new Int16Array(buffer, b.byteOffset, n) : new Uint16Array(buffer, b.byteOffset, n);
  else out = signed ? new Int32Array(buffer, b.byteOffset, n) : new Uint32Array(buffer, b.byteOffset, n);
  if (g.bitsStored < g.bitsAllocated) {
    // Bits above the high bit are not part of the value (PS3.5 8.1.1): mask them, then sign-extend.
    const shift = 32 - g.bitsStored;
    const mask = g.bitsStored === 32 ? 0xffffffff : (1 << g.bitsStored) - 1;
    for (let i = 0; i < n; i++) out[i] = signed ? (out[i] << shift) >> shift : out[i] & mask;
  }
  return out;
}

/** Modality values (e.g. Hounsfield units for CT): stored values times RescaleSlope plus RescaleIntercept. */
export function modalityValues(img: DicomImage): Float32Array {
  const out = new Float32Array(img.pixels.length);
  out.set(img.pixels);
  if (img.rescaleSlope !== 1 || img.rescaleIntercept !== 0) {
    for (let i = 0; i < out.length; i++) out[i] = out[i] * img.rescaleSlope + img.rescaleIntercept;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Series

export interface DicomSeries extends ImageVolume {
  seriesInstanceUid: string;
  /** The slice files, in volume order (along the slice normal). */
  files: string[];
  acquisition: Record<string, number | string | boolean | number[] | string[]>;
}

export interface SeriesOptions {
  /** Which series to assemble when the files hold several. */
  seriesInstanceUid?: string;
  /** Relative tolerance of slice gaps before the slices are called unevenly spaced (default 0.01). */
  spacingTolerance?: number;
}

const dot = (a: number[], b: number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: number[], b: number[]) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

/** The files under a folder (recursive, sorted), for series reading. */
export function listFilesRecursive(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name.startsWith('.')) continue;
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * Reads DICOM files (paths, or one folder read recursively) and assembles one series into a volume.
 * Files that are not DICOM images (e.g. a DICOMDIR) are skipped in a folder, but an image that
 * cannot be decoded is an error.
 */
export async function readDicomSeries(paths: string[] | string, options: SeriesOptions = {}): Promise<DicomSeries> {
  const fromFolder = typeof paths === 'string';
  const files = fromFolder ? listFilesRecursive(paths) : paths;
  const images: DicomImage[] = [];
  for (const f of files) {
    const bytes = await readFile(f);
    if (fromFolder && !looksLikeDicom(bytes)) continue;
    const df = parseDicomFile(bytes, f);
    if (fromFolder && !df.dataset.elements.has(PIXEL_DATA)) continue;
    if (options.seriesInstanceUid && dicomString(df.dataset, 0x0020000e) !== options.seriesInstanceUid) continue;
    images.push(imageFromFile(df));
  }
  const where = fromFolder ? paths : files[0] ?? 'series';
  if (images.length === 0) throw new InputError(options.seriesInstanceUid ? `no DICOM image of series ${options.seriesInstanceUid}` : 'no DICOM images', where);
  const uids = [...new Set(images.map((i) => i.seriesInstanceUid ?? ''))];
  if (uids.length > 1) throw new InputError(`the files hold ${uids.length} series (${uids.join(', ')}); choose one with seriesInstanceUid`, where, undefined, tagName(0x0020000e));
  return assembleSeries(images, options);
}

function looksLikeDicom(b: Uint8Array): boolean {
  return (b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d) || (b.length >= 8 && (b[0] === 0x08 || b[0] === 0x02) && b[1] === 0);
}

/**
 * Assembles single-frame slices of one series into a volume: sorted by position along the slice
 * normal (row direction x column direction), checked for one orientation, size and pixel spacing,
 * and for even slice spacing. The affine maps (column, row, slice) to RAS+ mm (DICOM's LPS with x
 * and y negated), as dcm2niix and nibabel do.
 */
export function assembleSeries(images: DicomImage[], options: SeriesOptions = {}): DicomSeries {
  const first = images[0];
  const where = first.file;
  for (const img of images) {
    if (img.frames !== 1) throw new InputError(`multi-frame image (${img.frames} frames): series assembly reads single-frame slices only`, img.file, undefined, tagName(0x00280008));
    if (img.samplesPerPixel !== 1) throw new InputError(`${img.samplesPerPixel} samples per pixel (${img.photometricInterpretation}): a volume needs grey-level slices`, img.file, undefined, tagName(0x00280002));
    if (img.rows !== first.rows || img.columns !== first.columns) throw new InputError(`slice is ${img.columns}x${img.rows}, the series' first slice ${first.columns}x${first.rows}`, img.file, undefined, tagName(0x00280010));
  }
  const orientation = first.imageOrientation ?? [1, 0, 0, 0, 1, 0];
  const rowDir = orientation.slice(0, 3);
  const colDir = orientation.slice(3, 6);
  const normal = cross(rowDir, colDir);
  if (Math.abs(Math.hypot(...normal) - 1) > 1e-3) throw new InputError(`ImageOrientationPatient ${orientation.join('\\')} is not two orthogonal unit vectors`, where, undefined, tagName(0x00200037));
  const spacing = first.pixelSpacing ?? [1, 1];
  for (const img of images) {
    const o = img.imageOrientation ?? [1, 0, 0, 0, 1, 0];
    if (o.some((v, i) => Math.abs(v - orientation[i]) > 1e-4)) throw new InputError(`slice orientation ${o.join('\\')} differs from the series' ${orientation.join('\\')}`, img.file, undefined, tagName(0x00200037));
    const s = img.pixelSpacing ?? [1, 1];
    if (Math.abs(s[0] - spacing[0]) > 1e-4 || Math.abs(s[1] - spacing[1]) > 1e-4) throw new InputError(`PixelSpacing ${s.join('\\')} differs from the series' ${spacing.join('\\')}`, img.file, undefined, tagName(0x00280030));
  }
  const positioned = images.every((i) => i.imagePosition);
  if (images.length > 1 && !positioned) {
    const missing = images.find((i) => !i.imagePosition)!;
    throw new InputError('slice has no ImagePositionPatient: the slices cannot be ordered', missing.file, undefined, tagName(0x00200032));
  }
  const slices = images.map((img) => ({ img, along: img.imagePosition ? dot(img.imagePosition, normal) : 0 }));
  slices.sort((a, b) => a.along - b.along || (a.img.instanceNumber ?? 0) - (b.img.instanceNumber ?? 0));
  for (let i = 1; i < slices.length; i++) {
    if (Math.abs(slices[i].along - slices[i - 1].along) < 1e-4) {
      throw new InputError(`two slices at the same position ${slices[i].along.toFixed(3)} mm along the normal (${slices[i - 1].img.file} and ${slices[i].img.file}): several echoes, phases or acquisitions in one series?`, slices[i].img.file, undefined, tagName(0x00200032));
    }
  }
  const n = slices.length;
  const origin = slices[0].img.imagePosition ?? [0, 0, 0];
  let step: number[];
  let sliceSpacing: number;
  if (n > 1) {
    const gaps = slices.slice(1).map((s, i) => s.along - slices[i].along);
    const last = slices[n - 1].img.imagePosition!;
    step = [0, 1, 2].map((k) => (last[k] - origin[k]) / (n - 1));
    sliceSpacing = Math.hypot(...step);
    const tol = (options.spacingTolerance ?? 0.01) * sliceSpacing + 1e-3;
    const bad = gaps.findIndex((g) => Math.abs(g - sliceSpacing) > tol);
    if (bad >= 0) {
      throw new InputError(`slices are not evenly spaced: ${gaps[bad].toFixed(3)} mm between ${slices[bad].img.file} and ${slices[bad + 1].img.file}, ${sliceSpacing.toFixed(3)} mm on average; a volume would be distorted`, slices[bad + 1].img.file, undefined, tagName(0x00200032));
    }
  } else {
    sliceSpacing = first.spacingBetweenSlices ?? first.sliceThickness ?? 1;
    step = normal.map((v) => v * sliceSpacing);
  }
  const [dr, dc] = spacing;
  // LPS to RAS: negate the x and y rows.
  const lps = [
    [rowDir[0] * dc, colDir[0] * dr, step[0], origin[0]],
    [rowDir[1] * dc, colDir[1] * dr, step[1], origin[1]],
    [rowDir[2] * dc, colDir[2] * dr, step[2], origin[2]],
  ];
  const affine = [...lps[0].map((v) => -v), ...lps[1].map((v) => -v), ...lps[2], 0, 0, 0, 1].map((v) => (Object.is(v, -0) ? 0 : v));
  const px = first.rows * first.columns;
  const data = new Float32Array(px * n);
  slices.forEach((s, k) => data.set(modalityValues(s.img), k * px));
  const acquisition: DicomSeries['acquisition'] = {
    ...first.acquisition,
    dimensions: [first.columns, first.rows, n],
    voxelSize: voxelSizes(affine),
    orientation: axisCodes(affine),
    affine,
    slices: n,
    sliceSpacing,
  };
  delete acquisition.imagePosition;
  delete acquisition.rescaleSlope;
  delete acquisition.rescaleIntercept;
  const slopes = [...new Set(images.map((i) => i.rescaleSlope))];
  const intercepts = [...new Set(images.map((i) => i.rescaleIntercept))];
  acquisition.rescaleSlope = slopes.length === 1 ? slopes[0] : slopes;
  acquisition.rescaleIntercept = intercepts.length === 1 ? intercepts[0] : intercepts;
  return {
    data,
    dims: [first.columns, first.rows, n],
    affine,
    seriesInstanceUid: first.seriesInstanceUid ?? '',
    files: slices.map((s) => s.img.file),
    acquisition,
  };
}
