import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { InputError } from '../model/errors.js';
import { type DicomSeries, readDicom, readDicomSeries, assembleSeries } from './dicom.js';
import { dicomDirInstances, readDicomDir } from './dicom-dir.js';
import { type ImageVolume, readNifti } from './nifti.js';

// One entry point for an MRI record of a manifest or a BIDS dataset, whatever its container: a
// NIfTI file, a DICOM file, a folder of DICOM slices, or a DICOMDIR (the file or its folder).

export interface MriRecord extends ImageVolume {
  /** The path the record was read from. */
  file: string;
  format: 'nifti' | 'dicom';
  acquisition: Record<string, number | string | boolean | number[] | string[]>;
  /** For DICOM: the slice files in volume order. */
  files?: string[];
}

export interface ReadMriOptions {
  /** Which series, when a folder or DICOMDIR holds several. */
  seriesInstanceUid?: string;
}

const isNifti = (p: string) => /\.(nii|nii\.gz|hdr|hdr\.gz)$/i.test(p);

/** Reads an MRI volume from NIfTI, a DICOM file, a folder of DICOM slices, or a DICOMDIR. */
export async function readMriVolume(path: string, options: ReadMriOptions = {}): Promise<MriRecord> {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new InputError('no such file or directory', path);
  }
  if (st.isFile() && isNifti(path)) {
    const img = await readNifti(path);
    return { file: path, format: 'nifti', data: img.data, dims: img.dims, affine: img.affine, acquisition: img.acquisition };
  }
  const dicomdir = st.isDirectory() ? (existsSync(join(path, 'DICOMDIR')) ? join(path, 'DICOMDIR') : undefined) : basename(path).toUpperCase() === 'DICOMDIR' ? path : undefined;
  let series: DicomSeries;
  if (dicomdir) series = await fromDicomDir(dicomdir, options);
  else if (st.isDirectory()) series = await readDicomSeries(path, options);
  else series = assembleSeries([await readDicom(path)]);
  return { file: path, format: 'dicom', data: series.data, dims: series.dims, affine: series.affine, acquisition: series.acquisition, files: series.files };
}

async function fromDicomDir(file: string, options: ReadMriOptions): Promise<DicomSeries> {
  const dir = await readDicomDir(file);
  const bySeries = new Map<string, string[]>();
  for (const { series, image } of dicomDirInstances(dir)) {
    if (image.recordType !== 'IMAGE') continue;
    const uid = series.seriesInstanceUid ?? '';
    bySeries.set(uid, [...(bySeries.get(uid) ?? []), image.file]);
  }
  if (options.seriesInstanceUid) {
    const files = bySeries.get(options.seriesInstanceUid);
    if (!files) throw new InputError(`no series ${options.seriesInstanceUid} in the DICOMDIR`, file, undefined, 'SeriesInstanceUID');
    return readDicomSeries(files);
  }
  if (bySeries.size !== 1) {
    const list = [...bySeries].map(([uid, f]) => `${uid} (${f.length} images)`).join(', ');
    throw new InputError(`the DICOMDIR lists ${bySeries.size} series; choose one with seriesInstanceUid: ${list}`, file, undefined, 'SeriesInstanceUID');
  }
  return readDicomSeries([...bySeries.values()][0]);
}
