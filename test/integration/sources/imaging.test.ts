import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import dicomParser from 'dicom-parser';
import * as niftiReader from 'nifti-reader-js';
import { harmonizeMri, referenceLandmarks, DEFAULT_MRI_CONFIG } from '../../../src/harmonize/mri.js';
import { InputError } from '../../../src/model/errors.js';
import { assembleSeries, readDicom, readDicomSeries } from '../../../src/sources/dicom.js';
import { dicomDirInstances, readDicomDir } from '../../../src/sources/dicom-dir.js';
import { readMriVolume } from '../../../src/sources/imaging.js';
import { readNifti } from '../../../src/sources/nifti.js';
import { dataDir } from '../../helpers/paths.js';

// Real files of ../shared/data/mri. Expected voxel values, sums and positions were computed
// independently with numpy from the raw bytes (header offsets of nifti1.h; DICOM elements walked
// by hand), and cross-checked here against nifti-reader-js and dicom-parser where those can read the file.

const data = dataDir();
const describeReal = data ? describe : describe.skip;
if (!data) console.warn('imaging integration tests skipped: no data directory (set HARMONIA_DATA or provide ../shared/data)');

const mri = (...p: string[]) => join(data!, 'mri', ...p);
const at = (v: { data: Float32Array; dims: number[] }, ...ijk: number[]) => {
  let idx = 0;
  let stride = 1;
  ijk.forEach((c, k) => { idx += c * stride; stride *= v.dims[k]; });
  return v.data[idx];
};
const sum = (a: Float32Array) => a.reduce((s, v) => s + v, 0);

describeReal('NIfTI: MNI152 and the nibabel volumes', () => {
  test('MNI152 2009a T1: 197x233x189 uint8, 1 mm, RAS, known voxels; equal to nifti-reader-js', async () => {
    const file = mri('nilearn', 'mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz');
    const img = await readNifti(file);
    expect(img.acquisition).toMatchObject({ format: 'nifti1', dimensions: [197, 233, 189], voxelSize: [1, 1, 1], orientation: 'RAS', datatype: 'uint8', affineSource: 'sform', sformCode: 2 });
    expect(img.affine).toEqual([1, 0, 0, -98, 0, 1, 0, -134, 0, 0, 1, -72, 0, 0, 0, 1]);
    expect(at(img, 98, 134, 72)).toBe(71); // the voxel at world (0, 0, 0)
    expect(at(img, 100, 120, 80)).toBe(175);
    expect(at(img, 50, 60, 70)).toBe(156);
    expect(sum(img.data)).toBe(333468829);
    expect(img.data.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0)).toBe(1886539);
    let raw = readFileSync(file).buffer as ArrayBuffer;
    if (niftiReader.isCompressed(raw)) raw = niftiReader.decompress(raw) as ArrayBuffer;
    const h = niftiReader.readHeader(raw)!;
    const theirs = new Uint8Array(niftiReader.readImage(h, raw));
    expect(theirs.length).toBe(img.data.length);
    let same = 0;
    for (let i = 0; i < theirs.length; i++) if (theirs[i] === img.data[i]) same++;
    expect(same).toBe(theirs.length);
  });

  test('grey and white matter templates share the T1 grid', async () => {
    for (const t of ['gm', 'wm']) {
      const img = await readNifti(mri('nilearn', `mni_icbm152_${t}_tal_nlin_sym_09a_converted.nii.gz`));
      expect(img.dims).toEqual([197, 233, 189]);
      expect(img.acquisition.orientation).toBe('RAS');
    }
  });

  test('anatomical.nii: big-endian int16 SPM volume, LAS, 2 mm, known voxels', async () => {
    const img = await readNifti(mri('nibabel', 'anatomical.nii'));
    expect(img.header.littleEndian).toBe(false);
    expect(img.acquisition).toMatchObject({ byteOrder: 'big', datatype: 'int16', dimensions: [33, 41, 25], voxelSize: [2, 2, 2], orientation: 'LAS', description: 'spm - 3D normalized', qformCode: 2, sformCode: 2 });
    expect(img.affine).toEqual([-2, 0, 0, 32, 0, 2, 0, -40, 0, 0, 2, -16, 0, 0, 0, 1]);
    expect(at(img, 16, 20, 12)).toBe(11881);
    expect(at(img, 10, 30, 5)).toBe(6777);
    expect(at(img, 0, 0, 0)).toBe(10712);
    expect(sum(img.data)).toBe(284166082);
    expect(Math.min(...img.data)).toBe(-610);
    expect(Math.max(...img.data)).toBe(30393);
  });

  test('someones_anatomy: scl_slope and scl_inter applied, 2.75 mm, RAS', async () => {
    const img = await readNifti(mri('nibabel', 'someones_anatomy.nii.gz'));
    expect(img.acquisition).toMatchObject({ dimensions: [57, 67, 56], voxelSize: [2.75, 2.75, 2.75], orientation: 'RAS', sformCode: 4 });
    expect(img.acquisition.sclSlope).toBeCloseTo(0.352459043, 8);
    expect(img.acquisition.sclInter).toBeCloseTo(6.678363800, 8);
    expect(at(img, 28, 33, 28)).toBeCloseTo(64.12918853759766, 4);
    expect(at(img, 10, 20, 30)).toBeCloseTo(62.36689376831055, 4);
    expect(sum(img.data) / 9834293.113646).toBeCloseTo(1, 6);
  });

  test('example4d: a 4D fMRI run, 2 volumes, oblique LAS, TR as the header gives it', async () => {
    const img = await readNifti(mri('nibabel', 'example4d.nii.gz'));
    expect(img.dims).toEqual([128, 96, 24, 2]);
    expect(img.acquisition).toMatchObject({ timepoints: 2, repetitionTime: 2000, temporalUnits: 's', orientation: 'LAS', affineSource: 'sform' });
    const vs = img.acquisition.voxelSize as number[];
    expect(vs.map((v) => Math.round(v * 1000) / 1000)).toEqual([2, 2, 2.2]);
    expect(at(img, 64, 48, 12, 0)).toBe(265);
    expect(at(img, 64, 48, 12, 1)).toBe(266);
    expect(at(img, 30, 40, 10, 1)).toBe(98);
    expect(sum(img.data)).toBe(101985356);
  });

  test('a float32 statistical map (image_10426): LAS, 3 mm', async () => {
    const img = await readNifti(mri('nilearn', 'image_10426.nii.gz'));
    expect(img.acquisition).toMatchObject({ datatype: 'float32', dimensions: [53, 63, 46], voxelSize: [3, 3, 3], orientation: 'LAS' });
    expect(sum(img.data)).toBeCloseTo(3460.168992704268, 2);
  });

  test('harmonized MNI152: 2 mm RAS grid of 99x117x95, a head of about 1.8 L, z-scored', async () => {
    const img = await readNifti(mri('nilearn', 'mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz'));
    const h = harmonizeMri(img);
    expect(h.dims).toEqual([99, 117, 95]);
    expect(h.affine).toEqual([2, 0, 0, -98, 0, 2, 0, -134, 0, 0, 2, -72, 0, 0, 0, 1]);
    expect(h.features.foregroundVolumeMl).toBeGreaterThan(1500);
    expect(h.features.foregroundVolumeMl).toBeLessThan(2200);
    expect(Math.abs(h.features.centroidXMm)).toBeLessThan(1); // a symmetric template
    expect(h.features.normalizedSd).toBeCloseTo(1, 5);
    // Matching the template to itself maps every landmark onto itself.
    const landmarks = await referenceLandmarks(mri('nilearn', 'mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz'));
    const cfg = { ...DEFAULT_MRI_CONFIG, normalize: 'none' as const, histogramMatching: { ...DEFAULT_MRI_CONFIG.histogramMatching, enabled: true, reference: 'mni152_t1' } };
    const m = harmonizeMri(img, cfg, { referenceLandmarks: landmarks });
    const step = m.provenance.find((p) => p.step === 'mri.histogramMatch')!;
    (step.parameters.source as number[]).forEach((s, i) => expect(s).toBeCloseTo(landmarks[i], 6));
  }, 60_000);
});

describeReal('DICOM: MR_small in every transfer syntax, CT_small, the truncated file', () => {
  const dcm = (f: string) => mri('dicom', f);

  test('MR_small (explicit VR little endian): 64x64 signed 16-bit, known pixels and geometry', async () => {
    const img = await readDicom(dcm('MR_small.dcm'));
    expect(img).toMatchObject({ rows: 64, columns: 64, bitsAllocated: 16, pixelRepresentation: 1, modality: 'MR', pixelSpacing: [0.3125, 0.3125], imagePosition: [-83.9063, -91.2, 6.6406], imageOrientation: [1, 0, 0, 0, 1, 0] });
    expect(Array.from(img.pixels.slice(0, 6))).toEqual([905, 1019, 1227, 1259, 761, 404]);
    expect(img.pixels[10 * 64 + 20]).toBe(316);
    expect(img.pixels[63 * 64]).toBe(378);
    expect(Array.from(img.pixels).reduce((s, v) => s + v, 0)).toBe(2125338);
    expect(img.acquisition).toMatchObject({ repetitionTimeMs: 4000, echoTimeMs: 240, manufacturer: 'TOSHIBA_MEC' });
  });

  test.each([
    ['MR_small_bigendian.dcm', 'Explicit VR Big Endian'],
    ['MR_small_implicit.dcm', 'Implicit VR Little Endian'],
    ['MR_small_RLE.dcm', 'RLE Lossless'],
  ])('%s decodes to pixels identical to the explicit little endian file', async (file, syntax) => {
    const ref = await readDicom(dcm('MR_small.dcm'));
    const img = await readDicom(dcm(file));
    expect(img.transferSyntax).toBe(syntax);
    expect(img.pixels.length).toBe(ref.pixels.length);
    expect(Buffer.from(img.pixels.buffer, img.pixels.byteOffset, img.pixels.byteLength).equals(Buffer.from(ref.pixels.buffer, ref.pixels.byteOffset, ref.pixels.byteLength))).toBe(true);
    expect(img.pixelSpacing).toEqual(ref.pixelSpacing);
    expect(img.imagePosition).toEqual(ref.imagePosition);
  });

  test.each([
    ['MR_small_jp2klossless.dcm', '1.2.840.10008.1.2.4.90', 'JPEG 2000 Image Compression (Lossless Only)'],
    ['MR_small_jpeg_ls_lossless.dcm', '1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless Image Compression'],
  ])('%s is refused as unsupported, naming the transfer syntax', async (file, uid, name) => {
    const err = await readDicom(dcm(file)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).field).toBe('TransferSyntaxUID');
    expect((err as Error).message).toContain(`${uid} (${name}) cannot be decoded`);
  });

  test('MR_truncated.dcm gives one clear error naming the pixel data', async () => {
    const err = await readDicom(dcm('MR_truncated.dcm')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/MR_truncated\.dcm, field \(7FE0,0010\) PixelData: truncated file: element \(7FE0,0010\) PixelData at byte 1488 declares 8192 bytes but only 8130 remain/);
  });

  test('CT_small: Hounsfield units from the rescale intercept', async () => {
    const img = await readDicom(dcm('CT_small.dcm'));
    expect(img).toMatchObject({ rows: 128, columns: 128, modality: 'CT', rescaleSlope: 1, rescaleIntercept: -1024 });
    expect(Array.from(img.pixels.slice(0, 4))).toEqual([175, 180, 166, 143]);
    expect(Array.from(img.pixels).reduce((s, v) => s + v, 0)).toBe(14826310);
    const v = assembleSeries([img]);
    expect(v.data[0]).toBe(175 - 1024);
  });

  test('our parser agrees with dicom-parser on the attributes and pixel bytes of every file it reads', async () => {
    for (const f of ['MR_small.dcm', 'MR_small_bigendian.dcm', 'MR_small_implicit.dcm', 'CT_small.dcm']) {
      const bytes = readFileSync(dcm(f));
      const ds = dicomParser.parseDicom(bytes);
      const img = await readDicom(dcm(f));
      expect(img.rows).toBe(ds.uint16('x00280010'));
      expect(img.columns).toBe(ds.uint16('x00280011'));
      expect(img.pixelSpacing).toEqual([ds.floatString('x00280030', 0), ds.floatString('x00280030', 1)]);
      expect(img.imagePosition).toEqual([0, 1, 2].map((i) => ds.floatString('x00200032', i)));
      expect(img.sopInstanceUid).toBe(ds.string('x00080018'));
      const el = ds.elements.x7fe00010;
      const dv = new DataView(bytes.buffer, bytes.byteOffset + el.dataOffset, el.length);
      const le = !f.includes('bigendian');
      for (const i of [0, 1, 100, 2047]) expect(img.pixels[i]).toBe(dv.getInt16(2 * i, le));
    }
  });
});

describeReal('DICOMDIR and its broken variants', () => {
  const dd = (f: string) => mri('dicom', 'dicomdir', f);

  const summary = async (f: string) => {
    const dir = await readDicomDir(dd(f));
    const inst = dicomDirInstances(dir);
    return {
      patients: dir.patients.map((p) => `${p.patientId} ${p.patientName}`),
      studies: dir.patients.map((p) => p.studies.length),
      series: dir.patients.map((p) => p.studies.reduce((n, s) => n + s.series.length, 0)),
      instances: inst.length,
      perPatient: dir.patients.map((p) => inst.filter((i) => i.patient === p).length),
      files: inst.map((i) => relative(dd(''), i.image.file)),
    };
  };

  test('DICOMDIR: 2 patients, 6 studies, 13 series, 31 instances (7 + 24), as pydicom reads it', async () => {
    const s = await summary('DICOMDIR');
    expect(s.patients).toEqual(['77654033 Doe^Archibald', '98890234 Doe^Peter']);
    expect(s.studies).toEqual([2, 4]);
    expect(s.series).toEqual([4, 9]);
    expect(s.instances).toBe(31);
    expect(s.perPatient).toEqual([7, 24]);
    expect(s.files[0]).toBe('77654033/CR1/6154');
  });

  test.each(['DICOMDIR-bigEnd', 'DICOMDIR-implicit', 'DICOMDIR-reordered', 'DICOMDIR-nooffset'])('%s reads as the same tree', async (f) => {
    expect(await summary(f)).toEqual(await summary('DICOMDIR'));
  });

  test('DICOMDIR-nooffset: the item longer than its sequence is read to the sequence end and reported', async () => {
    const dir = await readDicomDir(dd('DICOMDIR-nooffset'));
    expect(dir.warnings.join('\n')).toMatch(/item at byte 10860 .* declares 248 bytes but its sequence ends after 224/);
  });

  test('DICOMDIR-nopatient: a clear error naming the record and the field', async () => {
    const err = await readDicomDir(dd('DICOMDIR-nopatient')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).field).toBe('(0004,1430) DirectoryRecordType');
    expect((err as InputError).record).toBe('directory record at byte 396');
    expect((err as Error).message).toMatch(/an IMAGE record at the root of the directory, where PATIENT records belong/);
  });

  test('an empty DICOMDIR and the pydicom TINY_ALPHA file-set', async () => {
    expect((await readDicomDir(dd('DICOMDIR-empty.dcm'))).patients).toEqual([]);
    const tiny = await summary('TINY_ALPHA/DICOMDIR');
    expect(tiny).toMatchObject({ patients: ['12345678 Citizen^Jan'], instances: 50 });
    // pydicom names its files in base 36: the 50th is IM00001D
    expect(tiny.files[49]).toBe('TINY_ALPHA/PT000000/ST000000/SE000000/IM00001D');
  });

  test('a CT series found through the DICOMDIR assembles into a volume sorted along the slice normal', async () => {
    const dir = await readDicomDir(dd('DICOMDIR'));
    const series = dicomDirInstances(dir).filter((i) => i.image.file.includes('98892001/CT5N'));
    expect(series.length).toBe(5);
    const v = await readDicomSeries(series.map((i) => i.image.file));
    expect(v.dims).toEqual([16, 16, 5]);
    expect(v.files.map((f) => f.split('/').pop())).toEqual(['3353', '3023', '2693', '2392', '2062']);
    expect(v.acquisition).toMatchObject({ modality: 'CT', sliceSpacing: 2.5, orientation: 'LPS', rescaleIntercept: -1024 });
    expect((v.acquisition.voxelSize as number[]).map((x) => Math.round(x * 1e6) / 1e6)).toEqual([0.488281, 0.488281, 2.5]);
    expect(v.affine.slice(0, 12)).toEqual([-0.488281, 0, 0, 72.199997, 0, -0.488281, 0, 143, 0, 0, 2.5, -1.2375]);
    expect(v.data[0]).toBe(991 - 1024);
    expect(v.data[4 * 256]).toBe(974 - 1024);
  });

  test('series that cannot form one volume are refused with the reason', async () => {
    await expect(readDicomSeries(dd('98892003/MR700'))).rejects.toThrow(/slice orientation .* differs/);
    await expect(readDicomSeries(dd('77654033/CT2'))).rejects.toThrow(/not evenly spaced/);
  });
});

describeReal('readMriVolume: one entry point for NIfTI, DICOM files, folders and DICOMDIRs', () => {
  test('each container gives a volume with its acquisition parameters', async () => {
    const nii = await readMriVolume(mri('nibabel', 'anatomical.nii'));
    expect(nii).toMatchObject({ format: 'nifti', dims: [33, 41, 25] });
    expect(nii.acquisition.voxelSize).toEqual([2, 2, 2]);
    const one = await readMriVolume(mri('dicom', 'MR_small.dcm'));
    expect(one).toMatchObject({ format: 'dicom', dims: [64, 64, 1] });
    expect(one.acquisition.voxelSize).toEqual([0.3125, 0.3125, 0.8]);
    const folder = await readMriVolume(mri('dicom', 'dicomdir', '98892001', 'CT5N'));
    expect(folder.dims).toEqual([16, 16, 5]);
    const root = mri('dicom', 'dicomdir');
    await expect(readMriVolume(root)).rejects.toThrow(/the DICOMDIR lists 13 series; choose one with seriesInstanceUid/);
    const ct5n = dicomDirInstances(await readDicomDir(join(root, 'DICOMDIR'))).find((i) => i.image.file.includes('CT5N'))!.series.seriesInstanceUid!;
    const viaDir = await readMriVolume(join(root, 'DICOMDIR'), { seriesInstanceUid: ct5n });
    expect(viaDir.files).toEqual(folder.files);
    expect(Array.from(viaDir.data)).toEqual(Array.from(folder.data));
  });
});
