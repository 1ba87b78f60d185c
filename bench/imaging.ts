// Imaging: NIfTI, DICOM and OCT readers and the MRI / OCT harmonizers, each beside an anchor measured
// in the same run where one exists (nifti-reader-js and plain gunzip on the same bytes, dicom-parser
// on the same files, a plain readFile of the same .vol).
//
//   npm run build && node dist/bench/imaging.js [DATA_DIR]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import dicomParser from 'dicom-parser';
import * as niftiReader from 'nifti-reader-js';
import { harmonizeMri } from '../src/harmonize/mri.js';
import { harmonizeOct } from '../src/harmonize/oct.js';
import { parseDicomImage, readDicom, readDicomSeries } from '../src/sources/dicom.js';
import { dicomDirInstances, readDicomDir } from '../src/sources/dicom-dir.js';
import { parseNifti, readNifti } from '../src/sources/nifti.js';
import { readHeidelbergVol } from '../src/sources/oct.js';
import { encodeHeidelbergVol, syntheticOctVolume } from '../src/sources/oct-write.js';
import { peakRssMiB, round, timeRuns } from './util.js';

interface Row { measure: string; value: string; anchor: string; ratio: string }

const mbs = (bytes: number, ms: number) => round(bytes / 1e6 / (ms / 1000), 0);

/** nifti-reader-js on the same bytes: decompress (fflate), header, image, as a Float32Array like ours. */
function niftiReaderJs(bytes: Buffer): Float32Array {
  let ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
  if (niftiReader.isCompressed(ab)) ab = niftiReader.decompress(ab) as ArrayBuffer;
  const h = niftiReader.readHeader(ab)!;
  const img = niftiReader.readImage(h, ab);
  const typed = h.datatypeCode === 2 ? new Uint8Array(img) : h.datatypeCode === 4 ? new Int16Array(img) : new Float32Array(img);
  return Float32Array.from(typed);
}

export async function benchImaging(dataDir: string, log: (s: string) => void = () => {}) {
  const rows: Row[] = [];
  const notes: string[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'harmonia-bench-imaging-'));
  try {
    // --- NIfTI ---------------------------------------------------------------------------------
    const mni = join(dataDir, 'mri', 'nilearn', 'mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz');
    const gz = readFileSync(mni);
    const raw = gunzipSync(gz);
    await readNifti(mni);
    niftiReaderJs(gz);
    const stream = await timeRuns(7, () => readNifti(mni));
    const inMemory = await timeRuns(7, () => parseNifti(readFileSync(mni), mni));
    const nrj = await timeRuns(7, () => niftiReaderJs(readFileSync(mni)));
    const gunzip = await timeRuns(7, () => gunzipSync(readFileSync(mni)));
    rows.push({ measure: 'NIfTI read, MNI152 T1 .nii.gz (197x233x189 uint8, 8.7 MB of voxels), streamed, p50', value: `${stream.p50} ms, ${mbs(raw.length, stream.p50)} MB/s`, anchor: `nifti-reader-js: ${nrj.p50} ms, ${mbs(raw.length, nrj.p50)} MB/s`, ratio: `${round(nrj.p50 / stream.p50, 1)}x` });
    rows.push({ measure: 'NIfTI parse in memory (readFile + gunzip + decode), same file, p50', value: `${inMemory.p50} ms, ${mbs(raw.length, inMemory.p50)} MB/s`, anchor: `zlib gunzipSync alone: ${gunzip.p50} ms, ${mbs(raw.length, gunzip.p50)} MB/s`, ratio: `${round(gunzip.p50 / inMemory.p50, 2)}x` });
    const plain = join(tmp, 'mni.nii');
    writeFileSync(plain, raw);
    await readNifti(plain);
    const plainRead = await timeRuns(7, () => readNifti(plain));
    const plainNrj = await timeRuns(7, () => niftiReaderJs(readFileSync(plain)));
    rows.push({ measure: 'NIfTI read, the same volume uncompressed (.nii), p50', value: `${plainRead.p50} ms, ${mbs(raw.length, plainRead.p50)} MB/s`, anchor: `nifti-reader-js: ${plainNrj.p50} ms, ${mbs(raw.length, plainNrj.p50)} MB/s`, ratio: `${round(plainNrj.p50 / plainRead.p50, 1)}x` });
    log(`nifti: ${JSON.stringify({ stream, inMemory, nrj, gunzip, plainRead, plainNrj })}\n`);

    // --- DICOM ---------------------------------------------------------------------------------
    const dicomdir = join(dataDir, 'mri', 'dicom', 'dicomdir', 'DICOMDIR');
    const dir = await readDicomDir(dicomdir);
    const files = dicomDirInstances(dir).map((i) => i.image.file);
    const fileBytes = files.reduce((n, f) => n + readFileSync(f).length, 0);
    const bytes = files.map((f) => readFileSync(f));
    const decodeAll = () => { for (let i = 0; i < files.length; i++) parseDicomImage(bytes[i], files[i]); };
    const parseAll = () => { for (const b of bytes) dicomParser.parseDicom(b); };
    const readAll = async () => { for (const f of files) await readDicom(f); };
    // Small files: a few warm-up passes so that both parsers are JIT-compiled before timing.
    for (let i = 0; i < 5; i++) { decodeAll(); parseAll(); await readAll(); }
    const ours = await timeRuns(31, decodeAll);
    const theirs = await timeRuns(31, parseAll);
    const fromDisk = await timeRuns(31, readAll);
    rows.push({ measure: `DICOM parse + pixel decode in memory, the DICOMDIR's ${files.length} images (${round(fileBytes / 1024, 0)} KiB), p50`, value: `${ours.p50} ms, ${round(files.length / (ours.p50 / 1000), 0)} images/s`, anchor: `dicom-parser parseDicom on the same bytes (no pixel decoding): ${theirs.p50} ms, ${round(files.length / (theirs.p50 / 1000), 0)} images/s`, ratio: `${round(theirs.p50 / ours.p50, 2)}x` });
    rows.push({ measure: 'DICOM readDicom of the same 31 files from disk (async readFile + parse + decode), p50', value: `${fromDisk.p50} ms, ${round(files.length / (fromDisk.p50 / 1000), 0)} images/s`, anchor: '', ratio: '' });
    const dirRead = await timeRuns(9, () => readDicomDir(dicomdir));
    rows.push({ measure: 'DICOMDIR read (52 records, patient/study/series/image tree), p50', value: `${dirRead.p50} ms`, anchor: '', ratio: '' });
    const ctSeries = dicomDirInstances(dir).filter((i) => i.image.file.includes('CT5N')).map((i) => i.image.file);
    const series = await timeRuns(9, () => readDicomSeries(ctSeries));
    rows.push({ measure: 'DICOM series assembled into a volume (5 CT slices, sorted along the normal), p50', value: `${series.p50} ms`, anchor: '', ratio: '' });
    const syntaxes = ['MR_small.dcm', 'MR_small_bigendian.dcm', 'MR_small_implicit.dcm', 'MR_small_RLE.dcm'].map((f) => join(dataDir, 'mri', 'dicom', f));
    for (const f of syntaxes) await readDicom(f);
    const perSyntax = await Promise.all(syntaxes.map(async (f) => [f.split('/').pop(), (await timeRuns(21, () => readDicom(f))).p50] as const));
    rows.push({ measure: 'MR_small 64x64 read + decode per transfer syntax, p50', value: perSyntax.map(([f, t]) => `${f!.replace('MR_small', '').replace('.dcm', '') || 'explicit LE'} ${t} ms`).join(', '), anchor: '', ratio: '' });
    log(`dicom: ${JSON.stringify({ ours, theirs, fromDisk, dirRead, series, perSyntax })}\n`);

    // --- MRI harmonisation -----------------------------------------------------------------------
    const img = await readNifti(mni);
    harmonizeMri(img);
    const harm = await timeRuns(3, () => harmonizeMri(img));
    const voxels = img.data.length;
    rows.push({ measure: 'MRI harmonize MNI152 T1 (defaults: RAS, 2 mm with anti-aliasing, Otsu, clip, z-score, features, checksums), p50', value: `${harm.p50} ms, ${round(voxels / 1e6 / (harm.p50 / 1000), 1)} Mvoxel/s (${mbs(voxels * 4, harm.p50)} MB/s of float32)`, anchor: '', ratio: '' });

    // --- OCT -----------------------------------------------------------------------------------
    // A Spectralis-sized macular raster (49 B-scans of 512 A-scans x 496 samples, 50 MB), synthetic:
    // no real OCT data is available to the project.
    const ph = syntheticOctVolume({ sizeX: 512, sizeZ: 496, numBScans: 49, scaleXmm: 0.0117, scaleZmm: 0.0039, distanceMm: 0.12, seed: 1 });
    const volFile = join(tmp, 'raster.vol');
    const volBytes = encodeHeidelbergVol(ph.vol);
    writeFileSync(volFile, volBytes);
    await readHeidelbergVol(volFile);
    const volRead = await timeRuns(5, () => readHeidelbergVol(volFile));
    const rawRead = await timeRuns(5, () => { const b = readFileSync(volFile); return new Float32Array(b.buffer, b.byteOffset, Math.floor(b.length / 4)); });
    rows.push({ measure: `OCT .vol read (synthetic 49 x 512 x 496, ${round(volBytes.length / 1e6, 0)} MB), p50`, value: `${volRead.p50} ms, ${mbs(volBytes.length, volRead.p50)} MB/s`, anchor: `readFileSync of the same file: ${rawRead.p50} ms, ${mbs(volBytes.length, rawRead.p50)} MB/s`, ratio: `${round(rawRead.p50 / volRead.p50, 2)}x` });
    const vol = await readHeidelbergVol(volFile);
    harmonizeOct(vol);
    const octHarm = await timeRuns(3, () => harmonizeOct(vol));
    rows.push({ measure: 'OCT harmonize (fourth root, per-B-scan normalise, 0.0115 mm A-scans, texture features), p50', value: `${octHarm.p50} ms, ${round(49 / (octHarm.p50 / 1000), 1)} B-scans/s`, anchor: '', ratio: '' });
    log(`oct: ${JSON.stringify({ volRead, rawRead, octHarm })}\n`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  notes.push('p50 of repeated runs after a warm-up run; anchors run in the same process on the same bytes.');
  notes.push('nifti-reader-js decompresses with fflate (pure JS) and returns the raw voxel buffer; it is converted to a Float32Array here, as our reader returns.');
  notes.push('dicom-parser only parses elements (no pixel decoding, no rescale, no acquisition record); ours also decodes, masks and types the pixels, so the ratio understates parsing speed.');
  notes.push('The OCT volume is synthetic (src/sources/oct-write.ts): no real OCT data is available to the project.');
  return { title: 'Imaging: NIfTI, DICOM and OCT readers, MRI and OCT harmonisation', rows, peakRssMiB: peakRssMiB(), notes };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const dir = resolve(process.argv[2] ?? process.env.HARMONIA_DATA ?? '../shared/data');
  benchImaging(dir, (s) => process.stderr.write(s))
    .then((r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'))
    .catch((e: Error) => {
      process.stderr.write(`bench/imaging: ${e.message}\n`);
      process.exit(1);
    });
}
