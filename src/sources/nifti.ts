import { createReadStream, existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip, gunzipSync } from 'node:zlib';
import { InputError } from '../model/errors.js';

// NIfTI-1 (348-byte header) and NIfTI-2 (540-byte header) reader, after the NIfTI-1 standard
// (nifti1.h, NITRC) and the NIfTI-2 header (nifti2.h). Single files (.nii, .nii.gz, magic n+1 / n+2)
// and header/image pairs (.hdr + .img, magic ni1 / ni2). Either byte order: the header's sizeof_hdr
// field (348 or 540) tells which. Voxels are decoded chunk by chunk straight from the (gunzip)
// stream into the output array, so a .nii.gz never exists in memory twice.

/** A 3D or 4D scalar volume in NIfTI voxel order: x fastest, then y, z, t. */
export interface ImageVolume {
  /** index = x + nx * (y + ny * (z + nz * t)); as a C-order array its shape is [nt, nz, ny, nx]. */
  data: Float32Array;
  /** [nx, ny, nz] or [nx, ny, nz, nt]. */
  dims: number[];
  /** Voxel (i, j, k) to world (x, y, z) in mm, RAS+ (NIfTI's convention): 16 numbers, row-major 4x4. */
  affine: number[];
}

export type NiftiDatatype =
  | 'uint8' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float32' | 'float64';

export interface NiftiHeader {
  version: 1 | 2;
  littleEndian: boolean;
  /** The header's magic: 'n+1' / 'n+2' (single file) or 'ni1' / 'ni2' (.hdr + .img). */
  magic: string;
  /** dim[0..7] as stored: dim[0] is the number of dimensions. */
  dim: number[];
  /** pixdim[0..7] as stored: pixdim[0] is qfac, pixdim[1..3] voxel sizes, pixdim[4] the time step. */
  pixdim: number[];
  datatypeCode: number;
  datatype: string;
  bitpix: number;
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  xyztUnits: number;
  qformCode: number;
  sformCode: number;
  quatern: [number, number, number];
  qoffset: [number, number, number];
  srowX: number[];
  srowY: number[];
  srowZ: number[];
  intentCode: number;
  description: string;
  calMin: number;
  calMax: number;
  sliceDuration: number;
  toffset: number;
}

export interface NiftiImage extends ImageVolume {
  file: string;
  header: NiftiHeader;
  /** Which transform gave `affine`: sform (sform_code > 0), else qform (qform_code > 0), else pixdim. */
  affineSource: 'sform' | 'qform' | 'pixdim';
  acquisition: Record<string, number | string | boolean | number[] | string[]>;
}

export interface ReadNiftiOptions {
  /**
   * What to do with NaN or infinite voxel values: 'error' (the default) rejects the file with one
   * InputError naming the first such voxel; 'keep' leaves them (counted in acquisition.nonFiniteVoxels).
   */
  nonFinite?: 'error' | 'keep';
}

const DATATYPES: Record<number, { name: NiftiDatatype; bytes: number }> = {
  2: { name: 'uint8', bytes: 1 },
  4: { name: 'int16', bytes: 2 },
  8: { name: 'int32', bytes: 4 },
  16: { name: 'float32', bytes: 4 },
  64: { name: 'float64', bytes: 8 },
  256: { name: 'int8', bytes: 1 },
  512: { name: 'uint16', bytes: 2 },
  768: { name: 'uint32', bytes: 4 },
  1024: { name: 'int64', bytes: 8 },
  1280: { name: 'uint64', bytes: 8 },
};

const UNSUPPORTED_DATATYPES: Record<number, string> = {
  1: 'binary (1 bit)', 32: 'complex64', 128: 'rgb24', 1536: 'float128', 1792: 'complex128', 2048: 'complex256', 2304: 'rgba32',
};

const SPATIAL_UNITS: Record<number, { name: string; toMm: number }> = {
  0: { name: 'unknown', toMm: 1 }, 1: { name: 'm', toMm: 1000 }, 2: { name: 'mm', toMm: 1 }, 3: { name: 'um', toMm: 0.001 },
};
const TEMPORAL_UNITS: Record<number, { name: string; toSeconds?: number }> = {
  0: { name: 'unknown' }, 8: { name: 's', toSeconds: 1 }, 16: { name: 'ms', toSeconds: 1e-3 }, 24: { name: 'us', toSeconds: 1e-6 },
  32: { name: 'Hz' }, 40: { name: 'ppm' }, 48: { name: 'rad/s' },
};

const isGzip = (b: Uint8Array): boolean => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

function cString(b: Uint8Array, offset: number, length: number): string {
  let end = offset;
  while (end < offset + length && b[end] !== 0) end++;
  return Buffer.from(b.buffer, b.byteOffset + offset, end - offset).toString('latin1').trim();
}

/** Which NIfTI version and byte order the first 4 bytes announce, or undefined. */
function sniff(b: Uint8Array): { version: 1 | 2; littleEndian: boolean } | undefined {
  if (b.length < 4) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, 4);
  for (const le of [true, false]) {
    const size = dv.getInt32(0, le);
    if (size === 348) return { version: 1, littleEndian: le };
    if (size === 540) return { version: 2, littleEndian: le };
  }
  return undefined;
}

/** Parses a NIfTI-1 or NIfTI-2 header from the first 348 / 540 bytes of a file. */
export function parseNiftiHeader(bytes: Uint8Array, file = 'nifti'): NiftiHeader {
  const kind = sniff(bytes);
  if (!kind) throw new InputError('not a NIfTI file: sizeof_hdr is neither 348 (NIfTI-1) nor 540 (NIfTI-2) in either byte order', file, 'header', 'sizeof_hdr');
  const size = kind.version === 1 ? 348 : 540;
  if (bytes.length < size) throw new InputError(`truncated header: ${bytes.length} of ${size} bytes`, file, 'header', 'sizeof_hdr');
  const h = kind.version === 1 ? parseV1(bytes, kind.littleEndian) : parseV2(bytes, kind.littleEndian);
  if (!/^n(\+|i)[12]$/.test(h.magic)) throw new InputError(`bad magic '${h.magic}' (expected 'n+1', 'ni1', 'n+2' or 'ni2')`, file, 'header', 'magic');
  if (Number(h.magic[2]) !== h.version) throw new InputError(`magic '${h.magic}' does not match the NIfTI-${h.version} header size`, file, 'header', 'magic');
  return h;
}

function parseV1(b: Uint8Array, le: boolean): NiftiHeader {
  const dv = new DataView(b.buffer, b.byteOffset, 348);
  const i16 = (o: number) => dv.getInt16(o, le);
  const f32 = (o: number) => dv.getFloat32(o, le);
  const code = i16(70);
  return {
    version: 1,
    littleEndian: le,
    magic: cString(b, 344, 4),
    dim: Array.from({ length: 8 }, (_, i) => i16(40 + 2 * i)),
    pixdim: Array.from({ length: 8 }, (_, i) => f32(76 + 4 * i)),
    datatypeCode: code,
    datatype: DATATYPES[code]?.name ?? UNSUPPORTED_DATATYPES[code] ?? `code ${code}`,
    bitpix: i16(72),
    voxOffset: f32(108),
    sclSlope: f32(112),
    sclInter: f32(116),
    xyztUnits: b[123],
    qformCode: i16(252),
    sformCode: i16(254),
    quatern: [f32(256), f32(260), f32(264)],
    qoffset: [f32(268), f32(272), f32(276)],
    srowX: [0, 1, 2, 3].map((i) => f32(280 + 4 * i)),
    srowY: [0, 1, 2, 3].map((i) => f32(296 + 4 * i)),
    srowZ: [0, 1, 2, 3].map((i) => f32(312 + 4 * i)),
    intentCode: i16(68),
    description: cString(b, 148, 80),
    calMax: f32(124),
    calMin: f32(128),
    sliceDuration: f32(132),
    toffset: f32(136),
  };
}

function parseV2(b: Uint8Array, le: boolean): NiftiHeader {
  const dv = new DataView(b.buffer, b.byteOffset, 540);
  const i16 = (o: number) => dv.getInt16(o, le);
  const i32 = (o: number) => dv.getInt32(o, le);
  const i64 = (o: number) => Number(dv.getBigInt64(o, le));
  const f64 = (o: number) => dv.getFloat64(o, le);
  const code = i16(12);
  return {
    version: 2,
    littleEndian: le,
    magic: cString(b, 4, 4),
    dim: Array.from({ length: 8 }, (_, i) => i64(16 + 8 * i)),
    pixdim: Array.from({ length: 8 }, (_, i) => f64(104 + 8 * i)),
    datatypeCode: code,
    datatype: DATATYPES[code]?.name ?? UNSUPPORTED_DATATYPES[code] ?? `code ${code}`,
    bitpix: i16(14),
    voxOffset: i64(168),
    sclSlope: f64(176),
    sclInter: f64(184),
    xyztUnits: i32(500),
    qformCode: i32(344),
    sformCode: i32(348),
    quatern: [f64(352), f64(360), f64(368)],
    qoffset: [f64(376), f64(384), f64(392)],
    srowX: [0, 1, 2, 3].map((i) => f64(400 + 8 * i)),
    srowY: [0, 1, 2, 3].map((i) => f64(432 + 8 * i)),
    srowZ: [0, 1, 2, 3].map((i) => f64(464 + 8 * i)),
    intentCode: i32(504),
    description: cString(b, 240, 80),
    calMax: f64(192),
    calMin: f64(200),
    sliceDuration: f64(208),
    toffset: f64(216),
  };
}

/** The volume's shape from dim[], checked: 1 to 7 dimensions, each at least 1. */
function shapeOf(h: NiftiHeader, file: string): number[] {
  const n = h.dim[0];
  if (!(n >= 1 && n <= 7)) throw new InputError(`dim[0] is ${n}; it must be between 1 and 7`, file, 'header', 'dim[0]');
  const shape = h.dim.slice(1, n + 1);
  shape.forEach((d, i) => {
    if (!(Number.isInteger(d) && d >= 1)) throw new InputError(`dim[${i + 1}] is ${d}; every used dimension must be at least 1`, file, 'header', `dim[${i + 1}]`);
  });
  // Trailing singleton dimensions beyond the third carry no data (a 4D file with one volume is 3D).
  while (shape.length > 3 && shape[shape.length - 1] === 1) shape.pop();
  while (shape.length < 3) shape.push(1);
  return shape;
}

function datatypeOf(h: NiftiHeader, file: string): { name: NiftiDatatype; bytes: number } {
  const dt = DATATYPES[h.datatypeCode];
  if (!dt) {
    const what = UNSUPPORTED_DATATYPES[h.datatypeCode];
    throw new InputError(what ? `datatype ${what} (code ${h.datatypeCode}) is not supported: only scalar integer and float volumes are read` : `unknown datatype code ${h.datatypeCode}`, file, 'header', 'datatype');
  }
  if (h.bitpix !== dt.bytes * 8) throw new InputError(`bitpix is ${h.bitpix} but datatype ${dt.name} has ${dt.bytes * 8} bits`, file, 'header', 'bitpix');
  return dt;
}

/** scl_slope / scl_inter as nibabel applies them: a slope of 0 (or not finite) means no scaling. */
function scaling(h: NiftiHeader): { slope: number; inter: number } {
  if (h.sclSlope === 0 || !Number.isFinite(h.sclSlope)) return { slope: 1, inter: 0 };
  return { slope: h.sclSlope, inter: Number.isFinite(h.sclInter) ? h.sclInter : 0 };
}

/** The quaternion (qform) affine of NIfTI method 2, with qfac from pixdim[0]. */
export function qformAffine(h: Pick<NiftiHeader, 'quatern' | 'qoffset' | 'pixdim'>): number[] {
  let [b, c, d] = h.quatern;
  let a2 = 1 - (b * b + c * c + d * d);
  if (a2 < 1e-7) {
    // Rounding in stored quaternions: a is 0, and (b, c, d) is a unit vector (a 180 degree rotation).
    const n = Math.hypot(b, c, d);
    b /= n; c /= n; d /= n;
    a2 = 0;
  }
  const a = Math.sqrt(a2);
  const qfac = h.pixdim[0] < 0 ? -1 : 1;
  const [dx, dy, dz] = [h.pixdim[1], h.pixdim[2], h.pixdim[3] * qfac];
  const r = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  return [
    r[0][0] * dx, r[0][1] * dy, r[0][2] * dz, h.qoffset[0],
    r[1][0] * dx, r[1][1] * dy, r[1][2] * dz, h.qoffset[1],
    r[2][0] * dx, r[2][1] * dy, r[2][2] * dz, h.qoffset[2],
    0, 0, 0, 1,
  ];
}

/**
 * The voxel-to-world affine as nibabel's `get_best_affine` chooses it: the sform when sform_code > 0,
 * else the qform when qform_code > 0, else pixdim scaling with x flipped and the volume centred on
 * the origin (nibabel's fallback for Analyze-style headers).
 */
export function niftiAffine(h: NiftiHeader, shape: number[], file = 'nifti'): { affine: number[]; source: NiftiImage['affineSource'] } {
  const checkPixdim = () => {
    for (let i = 1; i <= 3; i++) {
      if (!(Number.isFinite(h.pixdim[i]) && h.pixdim[i] > 0)) throw new InputError(`voxel size pixdim[${i}] is ${h.pixdim[i]}; it must be a positive number`, file, 'header', `pixdim[${i}]`);
    }
  };
  let affine: number[];
  let source: NiftiImage['affineSource'];
  if (h.sformCode > 0) {
    affine = [...h.srowX, ...h.srowY, ...h.srowZ, 0, 0, 0, 1];
    source = 'sform';
  } else if (h.qformCode > 0) {
    checkPixdim();
    affine = qformAffine(h);
    source = 'qform';
  } else {
    checkPixdim();
    const z = [-h.pixdim[1], h.pixdim[2], h.pixdim[3]];
    const c = [0, 1, 2].map((i) => ((shape[i] - 1) / 2) * z[i]);
    affine = [z[0], 0, 0, -c[0], 0, z[1], 0, -c[1], 0, 0, z[2], -c[2], 0, 0, 0, 1];
    source = 'pixdim';
  }
  affine = affine.map((v) => (v === 0 ? 0 : v)); // no -0 in what we report
  if (affine.some((v) => !Number.isFinite(v))) throw new InputError(`the ${source} affine has a value that is not a finite number`, file, 'header', source === 'sform' ? 'srow_x/srow_y/srow_z' : 'quatern');
  const det = det3(affine);
  if (!(Math.abs(det) > 1e-12)) throw new InputError(`the ${source} affine is singular (a voxel size is 0)`, file, 'header', source === 'sform' ? 'srow_x/srow_y/srow_z' : 'pixdim');
  return { affine, source };
}

function det3(m: number[]): number {
  return m[0] * (m[5] * m[10] - m[6] * m[9]) - m[1] * (m[4] * m[10] - m[6] * m[8]) + m[2] * (m[4] * m[9] - m[5] * m[8]);
}

/** Voxel sizes (mm) as the lengths of the affine's first three columns. */
export function voxelSizes(affine: number[]): number[] {
  return [0, 1, 2].map((j) => Math.hypot(affine[j], affine[4 + j], affine[8 + j]));
}

/**
 * For each voxel axis, the world axis it runs along (0 = x/R, 1 = y/A, 2 = z/S) and its direction
 * (+1 towards R/A/S, -1 away), as nibabel's `io_orientation`: the closest rotation to the affine's
 * column-normalised 3x3 part (its polar factor), then per voxel axis the world axis with the largest
 * absolute component, each world axis used once.
 */
export function axisOrientation(affine: number[]): { axis: number; sign: 1 | -1 }[] {
  const zooms = voxelSizes(affine).map((z) => (z === 0 ? 1 : z));
  const m = [0, 1, 2].map((r) => [0, 1, 2].map((c) => affine[r * 4 + c] / zooms[c]));
  const r = polarRotation(m);
  const out: { axis: number; sign: 1 | -1 }[] = [];
  for (let inAx = 0; inAx < 3; inAx++) {
    let best = 0;
    for (let o = 1; o < 3; o++) if (Math.abs(r[o][inAx]) > Math.abs(r[best][inAx])) best = o;
    out.push({ axis: best, sign: r[best][inAx] < 0 ? -1 : 1 });
    for (let c = 0; c < 3; c++) r[best][c] = 0;
  }
  return out;
}

/** Axis codes of the positive end of each voxel axis, e.g. 'RAS', 'LAS', 'LPI' (nibabel's aff2axcodes). */
export function axisCodes(affine: number[]): string {
  const labels = [['L', 'R'], ['P', 'A'], ['I', 'S']];
  return axisOrientation(affine).map((o) => labels[o.axis][o.sign > 0 ? 1 : 0]).join('');
}

/**
 * The orthogonal polar factor U V^T of a non-singular 3x3 matrix by Newton's iteration
 * X <- (X + X^-T) / 2, which converges quadratically to it; a singular matrix is returned as is.
 */
function polarRotation(m: number[][]): number[][] {
  let x = m.map((row) => [...row]);
  for (let it = 0; it < 50; it++) {
    const inv = invert3(x);
    if (!inv) return x;
    const next = x.map((row, i) => row.map((v, j) => (v + inv[j][i]) / 2));
    const delta = Math.max(...next.flatMap((row, i) => row.map((v, j) => Math.abs(v - x[i][j]))));
    x = next;
    if (delta < 1e-14) break;
  }
  return x;
}

function invert3(m: number[][]): number[][] | undefined {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  if (Math.abs(det) < 1e-12) return undefined;
  return [
    [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
    [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
    [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
  ];
}

type NativeArray = Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

const VIEW: Record<NiftiDatatype, new (b: ArrayBuffer, o: number, n: number) => NativeArray> = {
  uint8: Uint8Array, int8: Int8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array,
  int64: BigInt64Array, uint64: BigUint64Array, float32: Float32Array, float64: Float64Array,
};

/**
 * `count` values of `dt` at `b[off..]` as a typed array in the platform's (little-endian) byte
 * order: a zero-copy view when the bytes are aligned and little-endian, else an aligned copy,
 * byte-swapped natively (Buffer.swap16/32/64) for big-endian files.
 */
function nativeView(dt: { name: NiftiDatatype; bytes: number }, b: Uint8Array, off: number, count: number, le: boolean): NativeArray {
  const Ctor = VIEW[dt.name];
  const at = b.byteOffset + off;
  if (dt.bytes === 1 || (le && at % dt.bytes === 0)) return new Ctor(b.buffer as ArrayBuffer, at, count);
  const copy = Buffer.allocUnsafeSlow(count * dt.bytes);
  copy.set(b.subarray(off, off + count * dt.bytes));
  if (!le) {
    if (dt.bytes === 2) copy.swap16();
    else if (dt.bytes === 4) copy.swap32();
    else copy.swap64();
  }
  return new Ctor(copy.buffer as ArrayBuffer, copy.byteOffset, count);
}

/**
 * Decodes voxels of one datatype and byte order from a stream of chunks into a Float32Array, with
 * scl_slope / scl_inter applied. Values may straddle chunk boundaries; a few bytes are carried over.
 */
class VoxelDecoder {
  readonly out: Float32Array;
  filled = 0;
  nonFinite = 0;
  firstNonFinite = -1;
  private carry: Uint8Array;
  private carryLen = 0;

  constructor(private dt: { name: NiftiDatatype; bytes: number }, private le: boolean, n: number, private slope: number, private inter: number) {
    this.out = new Float32Array(n);
    this.carry = new Uint8Array(dt.bytes);
  }

  get done(): boolean {
    return this.filled >= this.out.length;
  }

  push(chunk: Uint8Array): void {
    let off = 0;
    const bpv = this.dt.bytes;
    if (this.carryLen > 0) {
      const take = Math.min(bpv - this.carryLen, chunk.length);
      this.carry.set(chunk.subarray(0, take), this.carryLen);
      this.carryLen += take;
      off = take;
      if (this.carryLen < bpv) return;
      this.decode(this.carry, 0, 1);
      this.carryLen = 0;
    }
    const count = Math.min(Math.floor((chunk.length - off) / bpv), this.out.length - this.filled);
    if (count > 0) this.decode(chunk, off, count);
    off += count * bpv;
    if (!this.done && off < chunk.length) {
      this.carry.set(chunk.subarray(off));
      this.carryLen = chunk.length - off;
    }
  }

  private decode(b: Uint8Array, off: number, count: number): void {
    const out = this.out;
    const start = this.filled;
    const view = nativeView(this.dt, b, off, count, this.le);
    if (view instanceof BigInt64Array || view instanceof BigUint64Array) {
      for (let i = 0; i < count; i++) out[start + i] = Number(view[i]);
    } else {
      if (view instanceof Float32Array || view instanceof Float64Array) {
        for (let i = 0; i < count; i++) {
          const v = view[i];
          if (v - v !== 0) this.flag(start + i); // NaN and +-Infinity are the values for which v - v is not 0
        }
      }
      // TypedArray.prototype.set converts between element types natively, far faster than a JS loop.
      out.set(view, start);
    }
    const { slope, inter } = this;
    if (slope !== 1 || inter !== 0) for (let i = start; i < start + count; i++) out[i] = out[i] * slope + inter;
    this.filled += count;
  }

  private flag(i: number): void {
    if (this.nonFinite++ === 0) this.firstNonFinite = i;
  }
}

function voxelName(index: number, shape: number[]): string {
  const idx: number[] = [];
  let r = index;
  for (const d of shape) {
    idx.push(r % d);
    r = Math.floor(r / d);
  }
  return `voxel (${idx.join(', ')})`;
}

/** 2^29 voxels: 2 GiB as float32, beyond any single MRI or OCT volume. */
const MAX_VOXELS = 2 ** 29;

interface Plan {
  header: NiftiHeader;
  shape: number[];
  dt: { name: NiftiDatatype; bytes: number };
  n: number;
  offset: number;
}

function plan(header: NiftiHeader, file: string, pairedImage: boolean): Plan {
  const shape = shapeOf(header, file);
  const dt = datatypeOf(header, file);
  const n = shape.reduce((a, b) => a * b, 1);
  // Decoded voxels are float32: past this a header is lying (or the image needs a streaming reader).
  if (!(n <= MAX_VOXELS)) throw new InputError(`the header declares ${shape.join('x')} = ${n} voxels, more than the ${MAX_VOXELS} this reader holds in memory: a lying header, or an image too large for one volume`, file, 'header', 'dim');
  const headerSize = header.version === 1 ? 348 : 540;
  const offset = pairedImage ? Math.max(0, Math.round(header.voxOffset)) : Math.round(header.voxOffset);
  if (!pairedImage && !(offset >= headerSize)) throw new InputError(`vox_offset ${header.voxOffset} points inside the ${headerSize}-byte header`, file, 'header', 'vox_offset');
  return { header, shape, dt, n, offset };
}

function finish(p: Plan, dec: VoxelDecoder, file: string, options: ReadNiftiOptions): NiftiImage {
  if (!dec.done) {
    const need = p.n * p.dt.bytes;
    throw new InputError(
      `the header declares ${p.shape.join('x')} ${p.dt.name} voxels (${need} bytes from offset ${p.offset}) but the file holds only ${dec.filled * p.dt.bytes} bytes of them: truncated file or lying header`,
      file, 'header', 'dim',
    );
  }
  if (dec.nonFinite > 0 && (options.nonFinite ?? 'error') === 'error') {
    throw new InputError(`${dec.nonFinite} voxel values are NaN or infinite (first at ${voxelName(dec.firstNonFinite, p.shape)}); pass nonFinite: 'keep' to accept them`, file, voxelName(dec.firstNonFinite, p.shape), 'data');
  }
  return assemble(p, dec.out, dec.nonFinite, file);
}

function assemble(p: Plan, data: Float32Array, nonFinite: number, file: string): NiftiImage {
  const h = p.header;
  const { affine, source } = niftiAffine(h, p.shape, file);
  const { slope, inter } = scaling(h);
  const spatial = SPATIAL_UNITS[h.xyztUnits & 0x07] ?? SPATIAL_UNITS[0];
  const temporal = TEMPORAL_UNITS[h.xyztUnits & 0x38] ?? TEMPORAL_UNITS[0];
  const acquisition: NiftiImage['acquisition'] = {
    format: h.version === 1 ? 'nifti1' : 'nifti2',
    dimensions: p.shape,
    voxelSize: voxelSizes(affine).map((v) => v * spatial.toMm),
    orientation: axisCodes(affine),
    affine,
    affineSource: source,
    datatype: p.dt.name,
    byteOrder: h.littleEndian ? 'little' : 'big',
    spatialUnits: spatial.name,
    temporalUnits: temporal.name,
    sclSlope: slope,
    sclInter: inter,
    qformCode: h.qformCode,
    sformCode: h.sformCode,
  };
  if (h.description) acquisition.description = h.description;
  if (p.shape.length >= 4) {
    acquisition.timepoints = p.shape[3];
    acquisition.repetitionTime = h.pixdim[4];
    if (temporal.toSeconds !== undefined) acquisition.repetitionTimeSeconds = h.pixdim[4] * temporal.toSeconds;
  }
  if (nonFinite > 0) acquisition.nonFiniteVoxels = nonFinite;
  return { file, header: h, data, dims: p.shape, affine, affineSource: source, acquisition };
}

/** Parses a whole NIfTI file held in memory (gzipped or not; single-file .nii only). */
export function parseNifti(bytes: Uint8Array, file = 'nifti', options: ReadNiftiOptions = {}): NiftiImage {
  const raw = isGzip(bytes) ? gunzip(bytes, file) : bytes;
  const header = parseNiftiHeader(raw, file);
  if (header.magic[1] === 'i') throw new InputError(`magic '${header.magic}' means the voxels are in a separate .img file; read it with readNifti(path of the .hdr)`, file, 'header', 'magic');
  const p = plan(header, file, false);
  const dec = new VoxelDecoder(p.dt, header.littleEndian, p.n, scaling(header).slope, scaling(header).inter);
  if (raw.length > p.offset) dec.push(raw.subarray(p.offset));
  return finish(p, dec, file, options);
}

function gunzip(bytes: Uint8Array, file: string): Uint8Array {
  try {
    return gunzipSync(bytes);
  } catch (e) {
    throw new InputError(`gzip data is corrupt or truncated (${(e as Error).message})`, file, 'gzip', 'data');
  }
}

/** Reads a NIfTI header only (the first 348 / 540 bytes, decompressing no more than needed). */
export async function readNiftiHeader(file: string): Promise<NiftiHeader> {
  let acc = Buffer.alloc(0);
  for await (const c of await byteStream(file, file)) {
    acc = Buffer.concat([acc, c as Buffer]);
    if (acc.length >= 540) break;
  }
  return parseNiftiHeader(acc, file);
}

/** The file's bytes as a stream, gunzipped when the file starts with the gzip magic. */
async function byteStream(path: string, file: string): Promise<AsyncIterable<Uint8Array>> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new InputError(`cannot open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file);
  }
  const magic = Buffer.alloc(2);
  try {
    if (!(await fh.stat()).isFile()) throw new InputError('not a file', file);
    await fh.read(magic, 0, 2, 0);
  } finally {
    await fh.close();
  }
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  if (!isGzip(magic)) return raw;
  const gz = raw.pipe(createGunzip({ chunkSize: 1 << 20 }));
  raw.on('error', (e) => gz.destroy(e));
  return (async function* () {
    try {
      for await (const c of gz) yield c as Buffer;
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(`gzip data is corrupt or truncated (${(e as Error).message})`, file, 'gzip', 'data');
    }
  })();
}

/**
 * Reads a NIfTI-1 or NIfTI-2 volume from .nii, .nii.gz or a .hdr/.img pair, streaming: the voxels
 * are decoded as the (decompressed) bytes arrive, never held twice. Values come back as float32
 * with scl_slope / scl_inter applied.
 */
export async function readNifti(file: string, options: ReadNiftiOptions = {}): Promise<NiftiImage> {
  let headerBytes = Buffer.alloc(0);
  let p: Plan | undefined;
  let dec: VoxelDecoder | undefined;
  let position = 0;
  const stream = await byteStream(file, file);
  for await (const c of stream) {
    const chunk = c as Buffer;
    if (!p) {
      headerBytes = Buffer.concat([headerBytes, chunk]);
      const kind = sniff(headerBytes);
      if (headerBytes.length >= 4 && !kind) parseNiftiHeader(headerBytes, file);
      if (!kind || headerBytes.length < (kind.version === 1 ? 348 : 540)) continue;
      const header = parseNiftiHeader(headerBytes, file);
      if (header.magic[1] === 'i') return readPair(file, header, options);
      p = plan(header, file, false);
      const s = scaling(header);
      dec = new VoxelDecoder(p.dt, header.littleEndian, p.n, s.slope, s.inter);
      position = headerBytes.length;
      if (position > p.offset) dec.push(headerBytes.subarray(p.offset));
      continue;
    }
    const start = position;
    position += chunk.length;
    if (position <= p.offset) continue;
    dec!.push(start >= p.offset ? chunk : chunk.subarray(p.offset - start));
    if (dec!.done) break;
  }
  if (!p) return parseNifti(headerBytes, file, options);
  return finish(p, dec!, file, options);
}

/** The .img (or .img.gz) beside a .hdr whose magic is ni1 / ni2. */
async function readPair(hdrFile: string, header: NiftiHeader, options: ReadNiftiOptions): Promise<NiftiImage> {
  const base = hdrFile.replace(/\.hdr(\.gz)?$/i, '');
  const candidates = [`${base}.img`, `${base}.img.gz`, `${base}.IMG`];
  const img = candidates.find((c) => existsSync(c));
  if (!img) throw new InputError(`magic '${header.magic}' needs a separate image file, but none of ${candidates.join(', ')} exists`, hdrFile, 'header', 'magic');
  const p = plan(header, hdrFile, true);
  const s = scaling(header);
  const dec = new VoxelDecoder(p.dt, header.littleEndian, p.n, s.slope, s.inter);
  let position = 0;
  for await (const c of await byteStream(img, img)) {
    const chunk = c as Buffer;
    const start = position;
    position += chunk.length;
    if (position <= p.offset) continue;
    dec.push(start >= p.offset ? chunk : chunk.subarray(p.offset - start));
    if (dec.done) break;
  }
  return finish(p, dec, img, options);
}
