import { readdirSync, statSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { InputError } from '../model/errors.js';
import { readNifti } from './nifti.js';

// Optical coherence tomography volumes: Heidelberg Engineering Spectralis raw export (.vol, the
// HSF-OCT-10x format of Heidelberg's "Special Function: Exporting Raw Data" documentation, as read
// by OCT-Converter, eyepy, retimat and the ImageJ Heyex plugin), OCT stored as NIfTI, and image
// stacks (a folder of 8- or 16-bit binary PGM files, one B-scan each).
//
// .vol layout (little endian): a 2048-byte file header; the SLO fundus image (SizeXSlo * SizeYSlo
// bytes, uint8); then for each B-scan a BScanHdrSize-byte header (256 bytes of fields, the
// segmentation lines at OffSeg) followed by SizeX * SizeZ float32 values, row by row (SizeZ rows of
// SizeX A-scan samples). Values are linear reflectivity, about 0..1; FLT_MAX marks pixels without
// data. Heidelberg recommends a fourth root for display.

export interface VolHeader {
  version: string;
  /** A-scans per B-scan (B-scan width in pixels). */
  sizeX: number;
  numBScans: number;
  /** Samples per A-scan (B-scan height in pixels). */
  sizeZ: number;
  scaleXmm: number;
  /** Distance between adjacent B-scans, mm. */
  distanceMm: number;
  scaleZmm: number;
  sizeXSlo: number;
  sizeYSlo: number;
  scaleXSloMm: number;
  scaleYSloMm: number;
  fieldSizeSloDeg: number;
  scanFocusDpt: number;
  /** 'OD' (right eye) or 'OS' (left eye). */
  scanPosition: string;
  /** ISO 8601, from 100 ns ticks since 1601-01-01 (UTC). */
  examTime?: string;
  /** 0 unknown, 1 single line, 2 circular, 3 volume (ART), 4 fast volume, 5 radial. */
  scanPattern: number;
  bscanHeaderSize: number;
  id: string;
  referenceId: string;
  pid: number;
  patientId: string;
  /** ISO date, from days since 1899-12-30. */
  dateOfBirth?: string;
  vid: number;
  visitId: string;
  visitDate?: string;
  gridType: number;
  gridOffset: number;
  gridType1: number;
  gridOffset1: number;
  progId: string;
}

export interface VolBScanHeader {
  version: string;
  bscanHeaderSize: number;
  startXmm: number;
  startYmm: number;
  endXmm: number;
  endYmm: number;
  numSeg: number;
  offSeg: number;
  /** Image quality; NaN when the file marks it invalid (FLT_MAX). */
  quality: number;
  shift: number;
  ivTrafo: number[];
}

export interface OctVolume {
  file: string;
  format: 'heidelberg-vol' | 'nifti' | 'pgm-stack';
  /** index = x + nx * (z + nz * b): A-scan x fastest, then depth z, then B-scan b (C-order shape [nb, nz, nx]). */
  data: Float32Array;
  /** [A-scans per B-scan, samples per A-scan (depth), B-scans]. */
  dims: [number, number, number];
  /** [A-scan spacing, axial pixel size, B-scan distance], mm. */
  spacingMm: [number, number, number];
  /** 'linear': raw reflectivity (.vol), viewed through a fourth root; 'display': already scaled for viewing (e.g. 8-bit images). */
  intensity: 'linear' | 'display';
  /** Pixels without data (FLT_MAX in a .vol), NaN in `data`. */
  invalidPixels: number;
  header?: VolHeader;
  bscanHeaders?: VolBScanHeader[];
  slo?: { width: number; height: number; pixels: Uint8Array; scaleXmm: number; scaleYmm: number };
  /** Layer boundaries (depth in pixels, NaN where invalid): index = x + nx * (layer + layers * b); layer 0 ILM, 1 BM, 2 RNFL/GCL. */
  segmentation?: { layers: number; data: Float32Array };
  acquisition: Record<string, number | string | boolean | number[] | string[]>;
}

export const VOL_FILE_HEADER_SIZE = 2048;
export const VOL_BSCAN_FIELDS_SIZE = 256;
/** FLT_MAX: what a .vol stores where there is no value. */
export const VOL_INVALID = 3.4028234663852886e38;
const SCAN_PATTERNS = ['unknown', 'single line', 'circular', 'volume', 'fast volume', 'radial'];

function text(b: Uint8Array, o: number, n: number): string {
  let e = o;
  while (e < o + n && b[e] !== 0) e++;
  return Buffer.from(b.buffer, b.byteOffset + o, e - o).toString('latin1').trim();
}

const fromTicks = (ticks: bigint): string | undefined => {
  if (ticks === 0n) return undefined;
  const ms = Number(ticks / 10000n) - 11644473600000;
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
};
const fromDays = (days: number): string | undefined => (days > 0 && Number.isFinite(days) ? new Date(Date.UTC(1899, 11, 30) + days * 86400000).toISOString().slice(0, 10) : undefined);

/** Parses the 2048-byte .vol file header. */
export function parseVolHeader(b: Uint8Array, file = 'oct.vol'): VolHeader {
  if (b.length < VOL_FILE_HEADER_SIZE) throw new InputError(`truncated file: the .vol header is 2048 bytes, the file has ${b.length}`, file, 'header', 'Version');
  const version = text(b, 0, 12);
  if (!version.startsWith('HSF-OCT-')) throw new InputError(`bad magic '${version.replace(/[^\x20-\x7e]/g, '?')}': a Heidelberg .vol starts with 'HSF-OCT-'`, file, 'header', 'Version');
  const dv = new DataView(b.buffer, b.byteOffset, VOL_FILE_HEADER_SIZE);
  const i32 = (o: number) => dv.getInt32(o, true);
  const f64 = (o: number) => dv.getFloat64(o, true);
  return {
    version,
    sizeX: i32(12),
    numBScans: i32(16),
    sizeZ: i32(20),
    scaleXmm: f64(24),
    distanceMm: f64(32),
    scaleZmm: f64(40),
    sizeXSlo: i32(48),
    sizeYSlo: i32(52),
    scaleXSloMm: f64(56),
    scaleYSloMm: f64(64),
    fieldSizeSloDeg: i32(72),
    scanFocusDpt: f64(76),
    scanPosition: text(b, 84, 4),
    examTime: fromTicks(dv.getBigUint64(88, true)),
    scanPattern: i32(96),
    bscanHeaderSize: i32(100),
    id: text(b, 104, 16),
    referenceId: text(b, 120, 16),
    pid: i32(136),
    patientId: text(b, 140, 21),
    dateOfBirth: fromDays(f64(164)),
    vid: i32(172),
    visitId: text(b, 176, 24),
    visitDate: fromDays(f64(200)),
    gridType: i32(208),
    gridOffset: i32(212),
    gridType1: i32(216),
    gridOffset1: i32(220),
    progId: text(b, 224, 34),
  };
}

/** Parses the 256 bytes of fields at the start of a B-scan header. */
export function parseBScanHeader(b: Uint8Array, file = 'oct.vol', index = 0): VolBScanHeader {
  const version = text(b, 0, 12);
  if (!version.startsWith('HSF-BS-')) throw new InputError(`bad B-scan header magic '${version.replace(/[^\x20-\x7e]/g, '?')}' (expected 'HSF-BS-'): wrong BScanHdrSize, or a corrupt file`, file, `B-scan ${index}`, 'Version');
  const dv = new DataView(b.buffer, b.byteOffset, VOL_BSCAN_FIELDS_SIZE);
  const quality = dv.getFloat32(56, true);
  return {
    version,
    bscanHeaderSize: dv.getInt32(12, true),
    startXmm: dv.getFloat64(16, true),
    startYmm: dv.getFloat64(24, true),
    endXmm: dv.getFloat64(32, true),
    endYmm: dv.getFloat64(40, true),
    numSeg: dv.getInt32(48, true),
    offSeg: dv.getInt32(52, true),
    quality: quality >= 3.4e38 || !Number.isFinite(quality) ? NaN : quality,
    shift: dv.getInt32(60, true),
    ivTrafo: Array.from({ length: 6 }, (_, i) => dv.getFloat32(64 + 4 * i, true)),
  };
}

function checkHeader(h: VolHeader, file: string): void {
  const positive: [keyof VolHeader, number][] = [['sizeX', 10000], ['numBScans', 10000], ['sizeZ', 10000]];
  for (const [k, max] of positive) {
    const v = h[k] as number;
    if (!(Number.isInteger(v) && v >= 1 && v <= max)) throw new InputError(`${k} is ${v}; it must be between 1 and ${max}`, file, 'header', k[0].toUpperCase() + k.slice(1));
  }
  for (const k of ['scaleXmm', 'scaleZmm'] as const) {
    if (!(Number.isFinite(h[k]) && h[k] > 0)) throw new InputError(`${k.replace('mm', '')} (pixel size) is ${h[k]} mm; it must be positive`, file, 'header', k === 'scaleXmm' ? 'ScaleX' : 'ScaleZ');
  }
  if (h.numBScans > 1 && !(Number.isFinite(h.distanceMm) && h.distanceMm > 0) && h.scanPattern !== 5) {
    throw new InputError(`Distance between B-scans is ${h.distanceMm} mm; a volume of ${h.numBScans} B-scans needs a positive distance`, file, 'header', 'Distance');
  }
  if (h.sizeXSlo < 0 || h.sizeYSlo < 0) throw new InputError(`SLO size ${h.sizeXSlo}x${h.sizeYSlo}`, file, 'header', 'SizeXSlo');
  if (h.bscanHeaderSize < VOL_BSCAN_FIELDS_SIZE) throw new InputError(`BScanHdrSize ${h.bscanHeaderSize} is smaller than the 256 bytes of B-scan header fields`, file, 'header', 'BScanHdrSize');
}

/**
 * Reads a Heidelberg Spectralis .vol file. B-scans are read one by one straight into the output
 * array (no second copy of the volume); FLT_MAX pixels become NaN and are counted.
 */
export async function readHeidelbergVol(file: string): Promise<OctVolume> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    throw new InputError(`cannot open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file);
  }
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(Math.min(size, VOL_FILE_HEADER_SIZE));
    await fh.read(head, 0, head.length, 0);
    const h = parseVolHeader(head, file);
    checkHeader(h, file);
    const sloBytes = h.sizeXSlo * h.sizeYSlo;
    const bscanBytes = h.sizeX * h.sizeZ * 4;
    const block = h.bscanHeaderSize + bscanBytes;
    const expected = VOL_FILE_HEADER_SIZE + sloBytes + h.numBScans * block;
    if (size < expected) {
      const complete = Math.max(0, Math.floor((size - VOL_FILE_HEADER_SIZE - sloBytes) / block));
      throw new InputError(
        `the header declares ${h.numBScans} B-scans of ${h.sizeX}x${h.sizeZ} float32 (${expected} bytes in all) but the file has ${size} bytes: truncated after ${complete} complete B-scans, or a lying header`,
        file, `B-scan ${complete}`, 'NumBScans',
      );
    }
    const slo = new Uint8Array(sloBytes);
    if (sloBytes) await fh.read(slo, 0, sloBytes, VOL_FILE_HEADER_SIZE);
    const data = new Float32Array(h.sizeX * h.sizeZ * h.numBScans);
    const bytes = new Uint8Array(data.buffer);
    const bscanHeaders: VolBScanHeader[] = [];
    const hdr = Buffer.alloc(h.bscanHeaderSize);
    let layers = 0;
    let seg: Float32Array | undefined;
    for (let b = 0; b < h.numBScans; b++) {
      const at = VOL_FILE_HEADER_SIZE + sloBytes + b * block;
      await fh.read(hdr, 0, h.bscanHeaderSize, at);
      const bh = parseBScanHeader(hdr, file, b);
      if (bh.numSeg < 0 || bh.offSeg < 0 || (bh.numSeg > 0 && bh.offSeg + bh.numSeg * h.sizeX * 4 > h.bscanHeaderSize)) {
        throw new InputError(`${bh.numSeg} segmentation lines at offset ${bh.offSeg} do not fit the ${h.bscanHeaderSize}-byte B-scan header`, file, `B-scan ${b}`, 'NumSeg');
      }
      if (b === 0 && bh.numSeg > 0) {
        layers = bh.numSeg;
        seg = new Float32Array(layers * h.sizeX * h.numBScans);
      }
      if (seg && bh.numSeg >= layers) {
        const lines = new Float32Array(hdr.buffer.slice(hdr.byteOffset + bh.offSeg, hdr.byteOffset + bh.offSeg + layers * h.sizeX * 4));
        for (let i = 0; i < lines.length; i++) seg[b * layers * h.sizeX + i] = lines[i] >= 3.4e38 || !Number.isFinite(lines[i]) ? NaN : lines[i];
      } else if (seg) seg.fill(NaN, b * layers * h.sizeX, (b + 1) * layers * h.sizeX);
      bscanHeaders.push(bh);
      await fh.read(bytes, b * bscanBytes, bscanBytes, at + h.bscanHeaderSize);
    }
    const invalidPixels = markInvalid(data, h.sizeX, h.sizeZ, file);
    const vol: OctVolume = {
      file,
      format: 'heidelberg-vol',
      data,
      dims: [h.sizeX, h.sizeZ, h.numBScans],
      spacingMm: [h.scaleXmm, h.scaleZmm, h.numBScans > 1 ? h.distanceMm : 0],
      intensity: 'linear',
      invalidPixels,
      header: h,
      bscanHeaders,
      slo: sloBytes ? { width: h.sizeXSlo, height: h.sizeYSlo, pixels: slo, scaleXmm: h.scaleXSloMm, scaleYmm: h.scaleYSloMm } : undefined,
      segmentation: seg ? { layers, data: seg } : undefined,
      acquisition: {},
    };
    vol.acquisition = volAcquisition(vol);
    return vol;
  } finally {
    await fh.close();
  }
}

/** FLT_MAX (no data) to NaN, counted; any other non-finite value means a corrupt file. */
function markInvalid(data: Float32Array, nx: number, nz: number, file: string): number {
  let invalid = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v === 0) {
      if (v >= 3.4e38) {
        data[i] = NaN;
        invalid++;
      }
      continue;
    }
    const b = Math.floor(i / (nx * nz));
    const z = Math.floor((i % (nx * nz)) / nx);
    throw new InputError(`B-scan value ${v} at A-scan ${i % nx}, depth ${z}: a .vol holds finite reflectivities (FLT_MAX where there is none)`, file, `B-scan ${b}`, 'data');
  }
  return invalid;
}

function volAcquisition(v: OctVolume): OctVolume['acquisition'] {
  const h = v.header!;
  const a: OctVolume['acquisition'] = {
    format: 'heidelberg-vol',
    version: h.version,
    dimensions: v.dims,
    voxelSize: v.spacingMm,
    ascanSpacingMm: h.scaleXmm,
    axialResolutionMm: h.scaleZmm,
    bscanDistanceMm: v.spacingMm[2],
    bscans: h.numBScans,
    ascansPerBscan: h.sizeX,
    depthSamples: h.sizeZ,
    scanPattern: h.scanPattern,
    scanPatternName: SCAN_PATTERNS[h.scanPattern] ?? 'unknown',
    eye: h.scanPosition,
    fieldSizeSloDeg: h.fieldSizeSloDeg,
    scanFocusDpt: h.scanFocusDpt,
    intensity: v.intensity,
    invalidPixels: v.invalidPixels,
  };
  if (h.examTime) a.examTime = h.examTime;
  if (v.slo) a.sloDimensions = [v.slo.width, v.slo.height];
  if (v.segmentation) a.segmentationLayers = v.segmentation.layers;
  const q = (v.bscanHeaders ?? []).map((b) => b.quality).filter(Number.isFinite);
  if (q.length) a.qualityMean = q.reduce((s, x) => s + x, 0) / q.length;
  return a;
}

export interface OctReadOptions {
  /** Spacing [A-scan, axial, B-scan] in mm, for stacks (else from `oct.json` in the folder); overrides NIfTI's pixdim. */
  spacingMm?: [number, number, number];
  /** How the values are scaled (default: 'linear' for .vol, 'display' otherwise). */
  intensity?: 'linear' | 'display';
}

/**
 * OCT stored as NIfTI: dim 1 = A-scans across a B-scan, dim 2 = depth (samples per A-scan), dim 3 =
 * B-scans; voxel sizes from the header (mm).
 */
export async function readOctNifti(file: string, options: OctReadOptions = {}): Promise<OctVolume> {
  const img = await readNifti(file);
  if (img.dims.length > 3) throw new InputError(`OCT as NIfTI must be 3D (A-scan x depth x B-scan); this file is ${img.dims.join('x')}`, file, 'header', 'dim');
  const dims = img.dims as [number, number, number];
  const spacing = options.spacingMm ?? (img.acquisition.voxelSize as [number, number, number]);
  const vol: OctVolume = {
    file,
    format: 'nifti',
    data: img.data,
    dims,
    spacingMm: spacing,
    intensity: options.intensity ?? 'display',
    invalidPixels: 0,
    acquisition: {},
  };
  vol.acquisition = { ...stackAcquisition(vol), niftiOrientation: img.acquisition.orientation as string, datatype: img.acquisition.datatype as string };
  return vol;
}

function stackAcquisition(v: OctVolume): OctVolume['acquisition'] {
  return {
    format: v.format,
    dimensions: v.dims,
    voxelSize: v.spacingMm,
    ascanSpacingMm: v.spacingMm[0],
    axialResolutionMm: v.spacingMm[1],
    bscanDistanceMm: v.spacingMm[2],
    bscans: v.dims[2],
    ascansPerBscan: v.dims[0],
    depthSamples: v.dims[1],
    intensity: v.intensity,
    invalidPixels: v.invalidPixels,
  };
}

/** Parses a binary PGM (P5): 8-bit when maxval < 256, else 16-bit big-endian (the Netpbm rule). */
export function parsePgm(b: Uint8Array, file = 'image.pgm'): { width: number; height: number; maxval: number; pixels: Uint8Array | Uint16Array } {
  if (b.length < 2 || b[0] !== 0x50 || b[1] !== 0x35) throw new InputError("not a binary PGM: the file does not start with 'P5'", file, 'header', 'magic');
  const fields: number[] = [];
  let p = 2;
  while (fields.length < 3) {
    while (p < b.length && (b[p] === 0x20 || b[p] === 0x09 || b[p] === 0x0a || b[p] === 0x0d)) p++;
    if (b[p] === 0x23) {
      while (p < b.length && b[p] !== 0x0a) p++;
      continue;
    }
    const s = p;
    while (p < b.length && b[p] >= 0x30 && b[p] <= 0x39) p++;
    if (s === p) throw new InputError('truncated or malformed PGM header', file, 'header', ['width', 'height', 'maxval'][fields.length]);
    fields.push(Number(Buffer.from(b.subarray(s, p)).toString('latin1')));
  }
  p++; // the single whitespace before the raster
  const [width, height, maxval] = fields;
  if (width < 1 || height < 1) throw new InputError(`PGM size ${width}x${height}`, file, 'header', 'width');
  if (maxval < 1 || maxval > 65535) throw new InputError(`PGM maxval ${maxval} (1..65535)`, file, 'header', 'maxval');
  const bpp = maxval < 256 ? 1 : 2;
  const need = width * height * bpp;
  if (b.length - p < need) throw new InputError(`PGM declares ${width}x${height} pixels of ${bpp} byte(s) (${need} bytes) but ${b.length - p} follow the header`, file, 'raster', 'height');
  if (bpp === 1) return { width, height, maxval, pixels: Uint8Array.from(b.subarray(p, p + need)) };
  const px = new Uint16Array(width * height);
  for (let i = 0; i < px.length; i++) px[i] = (b[p + 2 * i] << 8) | b[p + 2 * i + 1];
  return { width, height, maxval, pixels: px };
}

const natural = new Intl.Collator('en', { numeric: true });

/**
 * Reads a folder of PGM B-scans (sorted by name, numerically: b2 before b10), each `width` A-scans by
 * `height` depth samples. Spacing comes from options or an `oct.json` beside them:
 * `{ "spacingMm": [ascan, axial, bscan], "intensity": "display" | "linear" }`.
 */
export async function readOctImageStack(dir: string, options: OctReadOptions = {}): Promise<OctVolume> {
  const names = readdirSync(dir).filter((n) => /\.pgm$/i.test(n)).sort(natural.compare);
  if (names.length === 0) throw new InputError('no .pgm B-scans in the folder', dir);
  let side: { spacingMm?: unknown; intensity?: unknown } = {};
  try {
    side = JSON.parse(await readFile(join(dir, 'oct.json'), 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new InputError(`oct.json is not valid JSON (${(e as Error).message})`, join(dir, 'oct.json'));
  }
  const spacing = options.spacingMm ?? side.spacingMm;
  if (!Array.isArray(spacing) || spacing.length !== 3 || !spacing.every((s) => typeof s === 'number' && s > 0)) {
    throw new InputError('an image stack needs its spacing [A-scan, axial, B-scan] in mm (three positive numbers), from options or oct.json', join(dir, 'oct.json'), undefined, 'spacingMm');
  }
  let width = 0;
  let height = 0;
  let data = new Float32Array(0);
  for (const [b, name] of names.entries()) {
    const f = join(dir, name);
    const img = parsePgm(await readFile(f), f);
    if (b === 0) {
      ({ width, height } = img);
      data = new Float32Array(width * height * names.length);
    } else if (img.width !== width || img.height !== height) {
      throw new InputError(`B-scan is ${img.width}x${img.height}, the first (${names[0]}) ${width}x${height}`, f, `B-scan ${b}`, 'width');
    }
    data.set(img.pixels, b * width * height);
  }
  const intensity = options.intensity ?? (side.intensity === 'linear' ? 'linear' : 'display');
  const vol: OctVolume = { file: dir, format: 'pgm-stack', data, dims: [width, height, names.length], spacingMm: spacing as [number, number, number], intensity, invalidPixels: 0, acquisition: {} };
  vol.acquisition = { ...stackAcquisition(vol), files: names.map((n) => basename(n)) };
  return vol;
}

/** Reads OCT from a .vol file, a NIfTI file or a folder of PGM B-scans. */
export async function readOct(path: string, options: OctReadOptions = {}): Promise<OctVolume> {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new InputError('no such file or directory', path);
  }
  if (st.isDirectory()) return readOctImageStack(path, options);
  if (/\.nii(\.gz)?$/i.test(path)) return readOctNifti(path, options);
  return readHeidelbergVol(path);
}
