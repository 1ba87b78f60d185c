import { VOL_BSCAN_FIELDS_SIZE, VOL_FILE_HEADER_SIZE, VOL_INVALID, type VolBScanHeader, type VolHeader } from './oct.js';

// Writing Heidelberg .vol files (the layout read by ./oct.ts), binary PGM images, and a synthetic
// retina phantom. No real OCT data is available to this project: the phantom makes spec-conformant
// test volumes with known layer boundaries, so readers, harmonisation and benchmarks can be checked.

export interface VolInput {
  header: Partial<VolHeader> & Pick<VolHeader, 'sizeX' | 'sizeZ' | 'numBScans' | 'scaleXmm' | 'scaleZmm' | 'distanceMm'>;
  /** index = x + sizeX * (z + sizeZ * b); NaN is written as FLT_MAX (no data). */
  bscans: Float32Array;
  slo?: { width: number; height: number; pixels: Uint8Array; scaleXmm?: number; scaleYmm?: number };
  bscanHeaders?: Partial<VolBScanHeader>[];
  /** index = x + sizeX * (layer + layers * b); NaN is written as FLT_MAX. */
  segmentation?: { layers: number; data: Float32Array };
}

const TICKS_1601_TO_1970 = 116444736000000000n;

function putText(b: Buffer, offset: number, length: number, s: string): void {
  b.fill(0, offset, offset + length);
  b.write(s.slice(0, length - 1), offset, 'latin1');
}

/** The B-scan header size a file needs: the 256 bytes of fields plus the segmentation lines, rounded up to 256. */
export function bscanHeaderSizeFor(layers: number, sizeX: number): number {
  return Math.ceil((VOL_BSCAN_FIELDS_SIZE + layers * sizeX * 4) / 256) * 256;
}

/** Encodes a Heidelberg .vol (HSF-OCT-103) file. */
export function encodeHeidelbergVol(v: VolInput): Buffer {
  const h = v.header;
  const layers = v.segmentation?.layers ?? 0;
  const hdrSize = h.bscanHeaderSize ?? bscanHeaderSizeFor(layers, h.sizeX);
  if (hdrSize < VOL_BSCAN_FIELDS_SIZE + layers * h.sizeX * 4) throw new Error(`bscanHeaderSize ${hdrSize} cannot hold ${layers} segmentation lines of ${h.sizeX} A-scans`);
  const n = h.sizeX * h.sizeZ;
  if (v.bscans.length !== n * h.numBScans) throw new Error(`bscans has ${v.bscans.length} values; ${h.sizeX}x${h.sizeZ}x${h.numBScans} needs ${n * h.numBScans}`);
  const sloW = v.slo?.width ?? h.sizeXSlo ?? 0;
  const sloH = v.slo?.height ?? h.sizeYSlo ?? 0;
  const out = Buffer.alloc(VOL_FILE_HEADER_SIZE + sloW * sloH + h.numBScans * (hdrSize + n * 4));
  putText(out, 0, 12, h.version ?? 'HSF-OCT-103');
  out.writeInt32LE(h.sizeX, 12);
  out.writeInt32LE(h.numBScans, 16);
  out.writeInt32LE(h.sizeZ, 20);
  out.writeDoubleLE(h.scaleXmm, 24);
  out.writeDoubleLE(h.distanceMm, 32);
  out.writeDoubleLE(h.scaleZmm, 40);
  out.writeInt32LE(sloW, 48);
  out.writeInt32LE(sloH, 52);
  out.writeDoubleLE(v.slo?.scaleXmm ?? h.scaleXSloMm ?? 0.0114, 56);
  out.writeDoubleLE(v.slo?.scaleYmm ?? h.scaleYSloMm ?? 0.0114, 64);
  out.writeInt32LE(h.fieldSizeSloDeg ?? 30, 72);
  out.writeDoubleLE(h.scanFocusDpt ?? 0, 76);
  putText(out, 84, 4, h.scanPosition ?? 'OD');
  const exam = h.examTime ? BigInt(Date.parse(h.examTime)) * 10000n + TICKS_1601_TO_1970 : 0n;
  out.writeBigUInt64LE(exam, 88);
  out.writeInt32LE(h.scanPattern ?? 3, 96);
  out.writeInt32LE(hdrSize, 100);
  putText(out, 104, 16, h.id ?? '');
  putText(out, 120, 16, h.referenceId ?? '');
  out.writeInt32LE(h.pid ?? 0, 136);
  putText(out, 140, 21, h.patientId ?? '');
  const days = (iso?: string) => (iso ? (Date.parse(iso) - Date.UTC(1899, 11, 30)) / 86400000 : 0);
  out.writeDoubleLE(days(h.dateOfBirth), 164);
  out.writeInt32LE(h.vid ?? 0, 172);
  putText(out, 176, 24, h.visitId ?? '');
  out.writeDoubleLE(days(h.visitDate), 200);
  out.writeInt32LE(h.gridType ?? 0, 208);
  out.writeInt32LE(h.gridOffset ?? 0, 212);
  out.writeInt32LE(h.gridType1 ?? 0, 216);
  out.writeInt32LE(h.gridOffset1 ?? 0, 220);
  putText(out, 224, 34, h.progId ?? '');
  if (v.slo) out.set(v.slo.pixels.subarray(0, sloW * sloH), VOL_FILE_HEADER_SIZE);
  let at = VOL_FILE_HEADER_SIZE + sloW * sloH;
  const spanMm = h.scaleXmm * (h.sizeX - 1);
  for (let b = 0; b < h.numBScans; b++) {
    const bh = v.bscanHeaders?.[b] ?? {};
    const y = b * h.distanceMm;
    putText(out, at, 12, bh.version ?? 'HSF-BS-103');
    out.writeInt32LE(hdrSize, at + 12);
    out.writeDoubleLE(bh.startXmm ?? 0, at + 16);
    out.writeDoubleLE(bh.startYmm ?? y, at + 24);
    out.writeDoubleLE(bh.endXmm ?? spanMm, at + 32);
    out.writeDoubleLE(bh.endYmm ?? y, at + 40);
    out.writeInt32LE(bh.numSeg ?? layers, at + 48);
    out.writeInt32LE(bh.offSeg ?? VOL_BSCAN_FIELDS_SIZE, at + 52);
    const q = bh.quality;
    out.writeFloatLE(q === undefined || Number.isNaN(q) ? VOL_INVALID : q, at + 56);
    out.writeInt32LE(bh.shift ?? 0, at + 60);
    for (let i = 0; i < 6; i++) out.writeFloatLE(bh.ivTrafo?.[i] ?? 0, at + 64 + 4 * i);
    if (v.segmentation) {
      const s = v.segmentation;
      for (let i = 0; i < layers * h.sizeX; i++) {
        const val = s.data[b * layers * h.sizeX + i];
        out.writeFloatLE(Number.isNaN(val) ? VOL_INVALID : val, at + VOL_BSCAN_FIELDS_SIZE + 4 * i);
      }
    }
    at += hdrSize;
    const px = new Float32Array(v.bscans.buffer.slice(v.bscans.byteOffset + b * n * 4, v.bscans.byteOffset + (b + 1) * n * 4));
    for (let i = 0; i < n; i++) if (Number.isNaN(px[i])) px[i] = VOL_INVALID;
    out.set(new Uint8Array(px.buffer), at);
    at += n * 4;
  }
  return out;
}

/** Encodes a binary PGM (P5): 8-bit when maxval < 256, else 16-bit big-endian. */
export function encodePgm(width: number, height: number, pixels: ArrayLike<number>, maxval = 255): Buffer {
  const head = Buffer.from(`P5\n${width} ${height}\n${maxval}\n`, 'latin1');
  const bpp = maxval < 256 ? 1 : 2;
  const body = Buffer.alloc(width * height * bpp);
  for (let i = 0; i < width * height; i++) {
    if (bpp === 1) body[i] = pixels[i];
    else body.writeUInt16BE(pixels[i], 2 * i);
  }
  return Buffer.concat([head, body]);
}

export interface PhantomOptions {
  sizeX?: number;
  sizeZ?: number;
  numBScans?: number;
  scaleXmm?: number;
  scaleZmm?: number;
  distanceMm?: number;
  /** Multiplies every reflectivity (a device or site gain). */
  gain?: number;
  /** Speckle: 0 none, 1 fully developed (exponentially distributed intensity). */
  speckle?: number;
  /** Additive noise floor (linear reflectivity). */
  noiseFloor?: number;
  /** Retinal thickness at the edge of the scan, mm (the fovea is thinner). */
  thicknessMm?: number;
  /** A-scans at each side of every B-scan without data (FLT_MAX), as real scans have after motion correction. */
  invalidMargin?: number;
  seed?: number;
  eye?: 'OD' | 'OS';
}

export interface Phantom {
  vol: VolInput;
  /** ILM and BM depth (pixels) per A-scan: index = x + sizeX * b. */
  ilm: Float32Array;
  bm: Float32Array;
}

/** A small deterministic PRNG (mulberry32), so phantoms are reproducible from their seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Relative depth (0 at ILM, 1 at BM) and linear reflectivity of the retinal layers, from inner to
// outer: RNFL, GCL+IPL, INL, OPL, ONL, ELM/ellipsoid zone, RPE. The values follow the familiar
// appearance of Spectralis B-scans (bright RNFL and RPE, dark nuclear layers) after a fourth root.
const LAYERS: [number, number][] = [[0.12, 0.5], [0.35, 0.15], [0.45, 0.04], [0.55, 0.12], [0.8, 0.02], [0.88, 0.25], [1.0, 0.6]];

/**
 * A synthetic macular volume scan: a curved retina with a foveal pit, seven layers of different
 * reflectivity, a choroid fading with depth, speckle and a noise floor; ILM, BM and RNFL/GCL as
 * segmentation lines. Linear reflectivity, as a Spectralis .vol stores it.
 */
export function syntheticOctVolume(o: PhantomOptions = {}): Phantom {
  const sizeX = o.sizeX ?? 128;
  const sizeZ = o.sizeZ ?? 128;
  const nb = o.numBScans ?? 9;
  const scaleXmm = o.scaleXmm ?? 6 / sizeX;
  const scaleZmm = o.scaleZmm ?? 0.0039 * (496 / sizeZ);
  const distanceMm = o.distanceMm ?? 6 / Math.max(1, nb);
  const gain = o.gain ?? 1;
  const speckle = o.speckle ?? 1;
  const floor = o.noiseFloor ?? 1e-4;
  const thickness = (o.thicknessMm ?? 0.3) / scaleZmm;
  const margin = o.invalidMargin ?? 0;
  const rnd = mulberry32(o.seed ?? 1);
  const data = new Float32Array(sizeX * sizeZ * nb);
  const ilm = new Float32Array(sizeX * nb);
  const bm = new Float32Array(sizeX * nb);
  const layers = 3;
  const seg = new Float32Array(layers * sizeX * nb);
  for (let b = 0; b < nb; b++) {
    const yMm = (b - (nb - 1) / 2) * distanceMm;
    for (let x = 0; x < sizeX; x++) {
      const xMm = (x - (sizeX - 1) / 2) * scaleXmm;
      const r2 = xMm * xMm + yMm * yMm;
      const pit = 1 - 0.55 * Math.exp(-r2 / (2 * 0.6 * 0.6));
      const curve = 0.02 * r2 / scaleZmm; // the eye's curvature: the retina bows towards the back at the edges
      const bmz = sizeZ * 0.7 + curve * 0.2;
      const ilmz = bmz - thickness * pit;
      ilm[b * sizeX + x] = ilmz;
      bm[b * sizeX + x] = bmz;
      const base = b * layers * sizeX;
      seg[base + x] = ilmz;
      seg[base + sizeX + x] = bmz;
      seg[base + 2 * sizeX + x] = ilmz + (bmz - ilmz) * LAYERS[0][0];
      for (let z = 0; z < sizeZ; z++) {
        let r: number;
        if (z < ilmz) r = 0;
        else if (z <= bmz) {
          const t = (z - ilmz) / (bmz - ilmz);
          r = LAYERS.find(([edge]) => t <= edge)?.[1] ?? LAYERS[LAYERS.length - 1][1];
        } else r = 0.2 * Math.exp(-(z - bmz) / (0.1 * sizeZ));
        const s = speckle > 0 ? 1 - speckle + speckle * -Math.log(1 - rnd()) : 1;
        data[x + sizeX * (z + sizeZ * b)] = gain * (r * s + floor * -Math.log(1 - rnd()));
      }
      if (x < margin || x >= sizeX - margin) {
        for (let z = 0; z < sizeZ; z++) data[x + sizeX * (z + sizeZ * b)] = NaN;
        for (let l = 0; l < layers; l++) seg[base + l * sizeX + x] = NaN;
      }
    }
  }
  const sloSize = 64;
  const slo = new Uint8Array(sloSize * sloSize);
  for (let i = 0; i < slo.length; i++) slo[i] = Math.round(80 + 60 * Math.sin(i / 37) * Math.cos(i / 53));
  return {
    vol: {
      header: {
        sizeX, sizeZ, numBScans: nb, scaleXmm, scaleZmm, distanceMm, scanPosition: o.eye ?? 'OD', scanPattern: 3, fieldSizeSloDeg: 30,
        examTime: '2020-03-04T05:06:07.000Z', id: '1234', patientId: 'PHANTOM', dateOfBirth: '1970-01-01', visitDate: '2020-03-04',
      },
      bscans: data,
      slo: { width: sloSize, height: sloSize, pixels: slo, scaleXmm: 0.14, scaleYmm: 0.14 },
      bscanHeaders: Array.from({ length: nb }, () => ({ quality: 30 })),
      segmentation: { layers, data: seg },
    },
    ilm,
    bm,
  };
}
