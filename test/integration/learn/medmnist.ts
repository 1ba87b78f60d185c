import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yauzl from 'yauzl';
import { decodeNpy } from '../../../src/harmonize/npy.js';
import type { NdArray } from '../../../src/harmonize/provenance.js';

// AdrenalMNIST3D (MedMNIST v2) as imaging records: the .npz's arrays, and each volume written as a
// NIfTI-1 file that `harmonia ingest --manifest` reads as an `mri` record.

/** The arrays of a NumPy .npz archive (a zip of .npy files, stored or deflated). */
export async function readNpz(file: string): Promise<Map<string, NdArray>> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.open(file, { lazyEntries: true, autoClose: true }, (e, z) => (e ? reject(e) : resolve(z!))));
  const out = new Map<string, NdArray>();
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      zip.openReadStream(entry, (e, stream) => {
        if (e) return reject(e);
        const chunks: Buffer[] = [];
        stream!.on('data', (c: Buffer) => chunks.push(c));
        stream!.on('end', () => {
          out.set(entry.fileName.replace(/\.npy$/, ''), decodeNpy(Buffer.concat(chunks), `${file}:${entry.fileName}`));
          zip.readEntry();
        });
        stream!.on('error', reject);
      });
    });
    zip.on('end', () => resolve());
    zip.on('error', reject);
    zip.readEntry();
  });
  return out;
}

/**
 * A NIfTI-1 file (uint8, `spacingMm` isotropic, RAS identity sform) of one C-order volume [z, y, x]:
 * NIfTI's x-fastest order is the C order of [z, y, x], so the bytes are copied as they are.
 */
export function niftiBytes(voxels: Uint8Array, dims: [number, number, number], spacingMm: number): Buffer {
  const b = Buffer.alloc(352 + voxels.length);
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  dv.setInt32(0, 348, true);
  [3, dims[2], dims[1], dims[0], 1, 1, 1, 1].forEach((d, i) => dv.setInt16(40 + 2 * i, d, true));
  dv.setInt16(70, 2, true); // DT_UINT8
  dv.setInt16(72, 8, true);
  [1, spacingMm, spacingMm, spacingMm, 1, 0, 0, 0].forEach((p, i) => dv.setFloat32(76 + 4 * i, p, true));
  dv.setFloat32(108, 352, true);
  dv.setFloat32(112, 1, true);
  b[123] = 2; // mm
  dv.setInt16(254, 1, true); // sform: scanner
  [[spacingMm, 0, 0, 0], [0, spacingMm, 0, 0], [0, 0, spacingMm, 0]].flat().forEach((v, i) => dv.setFloat32(280 + 4 * i, v, true));
  b.write('n+1\0', 344, 'latin1');
  b.set(voxels, 352);
  return b;
}

export interface AdrenalRecord {
  patient: string;
  split: 'train' | 'val' | 'test';
  hyperplasia: boolean;
  path: string;
}

/**
 * Writes up to `limit[split]` volumes of each split as NIfTI files in `dir` (first ones, in file
 * order) and returns them. Each volume is its own subject (the .npz has no patient ids); its
 * split, from MedMNIST, is in the patient id: AMN3D-<split>-<index>.
 */
export async function writeAdrenalVolumes(npz: string, dir: string, limit: Record<'train' | 'val' | 'test', number>): Promise<AdrenalRecord[]> {
  const arrays = await readNpz(npz);
  const out: AdrenalRecord[] = [];
  for (const split of ['train', 'val', 'test'] as const) {
    const images = arrays.get(`${split}_images`)!;
    const labels = arrays.get(`${split}_labels`)!;
    const [n, Z, Y, X] = images.shape;
    const V = Z * Y * X;
    for (let i = 0; i < Math.min(n, limit[split]); i++) {
      const patient = `AMN3D-${split}-${String(i).padStart(4, '0')}`;
      const path = join(dir, `${patient}.nii`);
      writeFileSync(path, niftiBytes((images.data as Uint8Array).subarray(i * V, (i + 1) * V), [Z, Y, X], 1));
      out.push({ patient, split, hyperplasia: Number(labels.data[i]) === 1, path });
    }
  }
  return out;
}
