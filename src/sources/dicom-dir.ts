import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InputError } from '../model/errors.js';
import { type DicomDataSet, dicomItems, dicomNumber, dicomString, dicomStrings, parseDicomFile, tagName } from './dicom-parse.js';

// DICOMDIR (PS3.3 F, the Basic Directory IOD; PS3.10 8 for the File-set). The Directory Record
// Sequence holds records linked by byte offsets from the start of the file: the root's first record
// (0004,1200), each record's next sibling (0004,1400) and first child (0004,1420). We follow the
// offsets, not the order of the items, so a reordered DICOMDIR reads the same; an absent offset
// counts as 0 (none), which is what the standard's "0" means; offsets that point at no record, loops
// and records of an invalid type are InputErrors naming the record's offset.

export interface DicomDirImage {
  /** Record type: IMAGE, or another instance-level type (RT DOSE, SR DOCUMENT, PRESENTATION, ...). */
  recordType: string;
  /** Absolute path of the referenced file. */
  file: string;
  referencedFileId: string[];
  sopClassUid?: string;
  sopInstanceUid?: string;
  transferSyntaxUid?: string;
  instanceNumber?: number;
}

export interface DicomDirSeries {
  seriesInstanceUid?: string;
  modality?: string;
  seriesNumber?: number;
  images: DicomDirImage[];
}

export interface DicomDirStudy {
  studyInstanceUid?: string;
  studyDate?: string;
  studyDescription?: string;
  studyId?: string;
  series: DicomDirSeries[];
}

export interface DicomDirPatient {
  patientId?: string;
  patientName?: string;
  studies: DicomDirStudy[];
}

export interface DicomDirectory {
  file: string;
  fileSetId?: string;
  transferSyntaxUid: string;
  patients: DicomDirPatient[];
  warnings: string[];
}

// Record types of PS3.3 Table F.4-1 (the ones defined in the current standard and the retired ones).
const INSTANCE_TYPES = new Set([
  'IMAGE', 'RT DOSE', 'RT STRUCTURE SET', 'RT PLAN', 'RT TREAT RECORD', 'PRESENTATION', 'WAVEFORM', 'SR DOCUMENT', 'KEY OBJECT DOC',
  'SPECTROSCOPY', 'RAW DATA', 'REGISTRATION', 'FIDUCIAL', 'HANGING PROTOCOL', 'ENCAP DOC', 'HL7 STRUC DOC', 'VALUE MAP', 'STEREOMETRIC',
  'PALETTE', 'IMPLANT', 'IMPLANT ASSY', 'IMPLANT GROUP', 'PLAN', 'MEASUREMENT', 'SURFACE', 'SURFACE SCAN', 'TRACT', 'ASSESSMENT',
  'RADIOTHERAPY', 'ANNOTATION', 'INVENTORY', 'OVERLAY', 'MODALITY LUT', 'VOI LUT', 'CURVE', 'STORED PRINT', 'TOPIC', 'VISIT', 'RESULTS',
  'INTERPRETATION', 'STUDY COMPONENT', 'MRDR', 'PRIVATE',
]);
// Root-level records that are not patients (a File-set may list them beside the patients).
const ROOT_NON_PATIENT = new Set(['HANGING PROTOCOL', 'PALETTE', 'IMPLANT', 'IMPLANT ASSY', 'IMPLANT GROUP', 'TOPIC', 'PRIVATE']);

const FIRST = 0x00041200;
const NEXT = 0x00041400;
const LOWER = 0x00041420;
const TYPE = 0x00041430;

interface Records {
  byOffset: Map<number, DicomDataSet>;
  file: string;
  seen: Set<number>;
}

/** Reads a DICOMDIR and its patient / study / series / image tree; file paths resolve against its folder. */
export async function readDicomDir(file: string): Promise<DicomDirectory> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new InputError(`cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file);
  }
  return parseDicomDir(bytes, file);
}

/** Parses a DICOMDIR held in memory; `file` is its path (referenced files resolve against its folder). */
export function parseDicomDir(bytes: Uint8Array, file: string): DicomDirectory {
  const df = parseDicomFile(bytes, file);
  const sopClass = dicomString(df.meta, 0x00020002);
  if (sopClass && sopClass !== '1.2.840.10008.1.3.10') {
    throw new InputError(`MediaStorageSOPClassUID is ${sopClass}, not 1.2.840.10008.1.3.10 (Media Storage Directory): not a DICOMDIR`, file, undefined, tagName(0x00020002));
  }
  const ds = df.dataset;
  if (!ds.elements.has(0x00041220)) throw new InputError('no Directory Record Sequence: not a DICOMDIR', file, undefined, tagName(0x00041220));
  const records: Records = { byOffset: new Map(), file, seen: new Set() };
  for (const item of dicomItems(ds, 0x00041220)) records.byOffset.set(item.offset, item);
  const root = dirname(file);
  const patients: DicomDirPatient[] = [];
  const first = dicomNumber(ds, FIRST) ?? 0;
  for (const rec of chain(records, first, 'root')) {
    const type = recordType(rec, records);
    if (type === 'PATIENT') patients.push(patient(rec, records, root));
    else if (!ROOT_NON_PATIENT.has(type)) throw invalid(rec, records, `${article(type)} ${type} record at the root of the directory, where PATIENT records belong`);
  }
  return { file, fileSetId: dicomString(ds, 0x00041130), transferSyntaxUid: df.transferSyntaxUid, patients, warnings: df.warnings };
}

const article = (word: string): string => (/^[AEIOU]/.test(word) ? 'an' : 'a');

function invalid(rec: DicomDataSet, r: Records, why: string): InputError {
  return new InputError(why, r.file, `directory record at byte ${rec.offset}`, tagName(TYPE));
}

function recordType(rec: DicomDataSet, r: Records): string {
  const type = dicomString(rec, TYPE);
  if (!type) throw new InputError('directory record without a DirectoryRecordType', r.file, `directory record at byte ${rec.offset}`, tagName(TYPE));
  if (type !== 'PATIENT' && type !== 'STUDY' && type !== 'SERIES' && !INSTANCE_TYPES.has(type)) throw invalid(rec, r, `invalid directory record type '${type}'`);
  return type;
}

/** The records of one directory level: from `offset`, following each record's next-record offset. */
function chain(r: Records, offset: number, parent: string): DicomDataSet[] {
  const out: DicomDataSet[] = [];
  let at = offset;
  while (at !== 0) {
    const rec = r.byOffset.get(at);
    if (!rec) throw new InputError(`offset ${at} (from ${parent}) points at no directory record`, r.file, parent, tagName(parent === 'root' ? FIRST : NEXT));
    if (r.seen.has(at)) throw new InputError(`directory record at byte ${at} is reached twice: the offsets form a loop`, r.file, parent, tagName(NEXT));
    r.seen.add(at);
    // Records whose in-use flag is 0 are inactive (deleted) and skipped, as PS3.10 allows.
    if (dicomNumber(rec, 0x00041410) !== 0) out.push(rec);
    at = dicomNumber(rec, NEXT) ?? 0;
    parent = `directory record at byte ${rec.offset}`;
  }
  return out;
}

function children(rec: DicomDataSet, r: Records, expected: string[]): DicomDataSet[] {
  const kids = chain(r, dicomNumber(rec, LOWER) ?? 0, `directory record at byte ${rec.offset}`);
  for (const k of kids) {
    const type = recordType(k, r);
    if (!expected.includes(type) && !(expected.includes('IMAGE') && INSTANCE_TYPES.has(type))) {
      throw invalid(k, r, `${article(type)} ${type} record below ${article(recordType(rec, r))} ${recordType(rec, r)} record, where ${expected.join(' or ')} records belong`);
    }
  }
  return kids;
}

function patient(rec: DicomDataSet, r: Records, root: string): DicomDirPatient {
  return {
    patientId: dicomString(rec, 0x00100020),
    patientName: dicomString(rec, 0x00100010),
    studies: children(rec, r, ['STUDY']).filter((s) => recordType(s, r) === 'STUDY').map((s) => study(s, r, root)),
  };
}

function study(rec: DicomDataSet, r: Records, root: string): DicomDirStudy {
  return {
    studyInstanceUid: dicomString(rec, 0x0020000d),
    studyDate: dicomString(rec, 0x00080020),
    studyDescription: dicomString(rec, 0x00081030),
    studyId: dicomString(rec, 0x00200010),
    series: children(rec, r, ['SERIES']).map((s) => series(s, r, root)),
  };
}

function series(rec: DicomDataSet, r: Records, root: string): DicomDirSeries {
  return {
    seriesInstanceUid: dicomString(rec, 0x0020000e),
    modality: dicomString(rec, 0x00080060),
    seriesNumber: dicomNumber(rec, 0x00200011),
    images: children(rec, r, ['IMAGE']).map((i) => image(i, r, root)),
  };
}

function image(rec: DicomDataSet, r: Records, root: string): DicomDirImage {
  const id = dicomStrings(rec, 0x00041500);
  if (!id || id.length === 0 || id.every((p) => p === '')) {
    throw new InputError('instance record without a ReferencedFileID', r.file, `directory record at byte ${rec.offset}`, tagName(0x00041500));
  }
  return {
    recordType: recordType(rec, r),
    file: join(root, ...id),
    referencedFileId: id,
    sopClassUid: dicomString(rec, 0x00041510),
    sopInstanceUid: dicomString(rec, 0x00041511),
    transferSyntaxUid: dicomString(rec, 0x00041512),
    instanceNumber: dicomNumber(rec, 0x00200013),
  };
}

/** Every instance of a directory, flattened with its patient, study and series. */
export function dicomDirInstances(dir: DicomDirectory): { patient: DicomDirPatient; study: DicomDirStudy; series: DicomDirSeries; image: DicomDirImage }[] {
  return dir.patients.flatMap((patient) => patient.studies.flatMap((study) => study.series.flatMap((series) => series.images.map((image) => ({ patient, study, series, image })))));
}
