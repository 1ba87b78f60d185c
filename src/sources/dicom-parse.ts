import { inflateRawSync } from 'node:zlib';
import { InputError } from '../model/errors.js';

// A focused DICOM Part 10 parser (PS3.10 file format, PS3.5 data encoding): the 128-byte preamble
// and 'DICM', the file meta group (always explicit VR little endian), then the data set in its
// transfer syntax: implicit or explicit VR, little or big endian, deflated; sequences and items of
// defined and undefined length; encapsulated pixel data as fragments. Values are not copied: each
// element records where its value lies in the file's bytes.
//
// We parse ourselves rather than with dicom-parser because DICOMDIRs in the wild have items whose
// declared length runs past the end of their sequence (pydicom's DICOMDIR-nooffset, which
// dicom-parser rejects); we clamp such items to their parent and say so in `warnings`, and every
// other inconsistency becomes one InputError naming the file, the element and its tag.

export interface DicomElement {
  /** (group << 16 | element), e.g. 0x7fe00010 for Pixel Data. */
  tag: number;
  /** Value representation: explicit from the file, or from the dictionary for implicit VR ('UN' if unknown). */
  vr: string;
  /** Byte offset of the value in the data set's `bytes`. */
  offset: number;
  /** Value length in bytes (for undefined-length sequences and pixel data: up to the delimiter). */
  length: number;
  /** Items of a sequence (SQ). */
  items?: DicomDataSet[];
  /** Encapsulated pixel data: the fragments, the first being the basic offset table. */
  fragments?: { offset: number; length: number }[];
}

export interface DicomDataSet {
  bytes: Uint8Array;
  littleEndian: boolean;
  explicitVR: boolean;
  elements: Map<number, DicomElement>;
  /** Byte offset of this data set: for a sequence item, the offset of its item tag (what DICOMDIR offsets count). */
  offset: number;
}

export interface DicomFile {
  file: string;
  meta: DicomDataSet;
  dataset: DicomDataSet;
  transferSyntaxUid: string;
  /** Problems that were tolerated (e.g. an item longer than its sequence, clamped). */
  warnings: string[];
}

/** Transfer syntaxes by UID: how the data set is encoded, and whether we can decode its pixels. */
export const TRANSFER_SYNTAXES: Record<string, { name: string; explicitVR: boolean; littleEndian: boolean; deflated?: boolean; pixels: 'native' | 'rle' | 'unsupported' }> = {
  '1.2.840.10008.1.2': { name: 'Implicit VR Little Endian', explicitVR: false, littleEndian: true, pixels: 'native' },
  '1.2.840.10008.1.2.1': { name: 'Explicit VR Little Endian', explicitVR: true, littleEndian: true, pixels: 'native' },
  '1.2.840.10008.1.2.1.99': { name: 'Deflated Explicit VR Little Endian', explicitVR: true, littleEndian: true, deflated: true, pixels: 'native' },
  '1.2.840.10008.1.2.2': { name: 'Explicit VR Big Endian', explicitVR: true, littleEndian: false, pixels: 'native' },
  '1.2.840.10008.1.2.5': { name: 'RLE Lossless', explicitVR: true, littleEndian: true, pixels: 'rle' },
  '1.2.840.10008.1.2.4.50': { name: 'JPEG Baseline (Process 1)', explicitVR: true, littleEndian: true, pixels: 'unsupported' },
  '1.2.840.10008.1.2.4.51': { name: 'JPEG Extended (Process 2 & 4)', explicitVR: true, littleEndian: true, pixels: 'unsupported' },
  '1.2.840.10008.1.2.4.57': { name: 'JPEG Lossless, Non-Hierarchical (Process 14)', explicitVR: true, littleEndian: true, pixels: 'unsupported' },
  '1.2.840.10008.1.2.4.70': { name: 'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])', explicitVR: true, littleEndian: true, pixels: 'unsupported' },
  '1.2.840.10008.1.2.4.80': { name: 'JPEG-LS Lossless Image Compression', explicitVR: true, littleEndian: true, pixels: 'unsupported' },
  '1.2.840.10008.1.2.4.81': { name: 'JPEG-LS Lossy (Near-Lossless) Image Compression', explicitVR: true, littleEndian: true, pixels: 'unsupported' },
  '1.2.840.10008.1.2.4.90': { name: 'JPEG 2000 Image Compression (Lossless Only)', explicitVR: true, littleEndian: true, pixels: 'unsupported' },
  '1.2.840.10008.1.2.4.91': { name: 'JPEG 2000 Image Compression', explicitVR: true, littleEndian: true, pixels: 'unsupported' },
  '1.2.840.10008.1.2.4.92': { name: 'JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)', explicitVR: true, littleEndian: true, pixels: 'unsupported' },
  '1.2.840.10008.1.2.4.93': { name: 'JPEG 2000 Part 2 Multi-component Image Compression', explicitVR: true, littleEndian: true, pixels: 'unsupported' },
  '1.2.840.10008.1.2.4.100': { name: 'MPEG2 Main Profile / Main Level', explicitVR: true, littleEndian: true, pixels: 'unsupported' },
  '1.2.840.10008.1.2.4.102': { name: 'MPEG-4 AVC/H.264 High Profile / Level 4.1', explicitVR: true, littleEndian: true, pixels: 'unsupported' },
  '1.2.840.10008.1.2.4.201': { name: 'High-Throughput JPEG 2000 Image Compression (Lossless Only)', explicitVR: true, littleEndian: true, pixels: 'unsupported' },
  '1.2.840.10008.1.2.4.202': { name: 'High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)', explicitVR: true, littleEndian: true, pixels: 'unsupported' },
  '1.2.840.10008.1.2.4.203': { name: 'High-Throughput JPEG 2000 Image Compression', explicitVR: true, littleEndian: true, pixels: 'unsupported' },
};

/** The attributes this project reads, with their VR (for implicit VR) and keyword (for messages). */
const DICTIONARY: Record<number, [string, string]> = {
  0x00020000: ['UL', 'FileMetaInformationGroupLength'], 0x00020001: ['OB', 'FileMetaInformationVersion'],
  0x00020002: ['UI', 'MediaStorageSOPClassUID'], 0x00020003: ['UI', 'MediaStorageSOPInstanceUID'],
  0x00020010: ['UI', 'TransferSyntaxUID'], 0x00020012: ['UI', 'ImplementationClassUID'], 0x00020013: ['SH', 'ImplementationVersionName'],
  0x00041130: ['CS', 'FileSetID'], 0x00041200: ['UL', 'OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity'],
  0x00041202: ['UL', 'OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity'], 0x00041212: ['US', 'FileSetConsistencyFlag'],
  0x00041220: ['SQ', 'DirectoryRecordSequence'], 0x00041400: ['UL', 'OffsetOfTheNextDirectoryRecord'],
  0x00041410: ['US', 'RecordInUseFlag'], 0x00041420: ['UL', 'OffsetOfReferencedLowerLevelDirectoryEntity'],
  0x00041430: ['CS', 'DirectoryRecordType'], 0x00041500: ['CS', 'ReferencedFileID'],
  0x00041510: ['UI', 'ReferencedSOPClassUIDInFile'], 0x00041511: ['UI', 'ReferencedSOPInstanceUIDInFile'],
  0x00041512: ['UI', 'ReferencedTransferSyntaxUIDInFile'],
  0x00080005: ['CS', 'SpecificCharacterSet'], 0x00080008: ['CS', 'ImageType'], 0x00080016: ['UI', 'SOPClassUID'],
  0x00080018: ['UI', 'SOPInstanceUID'], 0x00080020: ['DA', 'StudyDate'], 0x00080021: ['DA', 'SeriesDate'],
  0x00080030: ['TM', 'StudyTime'], 0x00080050: ['SH', 'AccessionNumber'], 0x00080060: ['CS', 'Modality'],
  0x00080070: ['LO', 'Manufacturer'], 0x00081030: ['LO', 'StudyDescription'], 0x0008103e: ['LO', 'SeriesDescription'],
  0x00081090: ['LO', 'ManufacturerModelName'], 0x00081140: ['SQ', 'ReferencedImageSequence'], 0x00082112: ['SQ', 'SourceImageSequence'],
  0x00100010: ['PN', 'PatientName'], 0x00100020: ['LO', 'PatientID'], 0x00100030: ['DA', 'PatientBirthDate'], 0x00100040: ['CS', 'PatientSex'],
  0x00180015: ['CS', 'BodyPartExamined'], 0x00180020: ['CS', 'ScanningSequence'], 0x00180023: ['CS', 'MRAcquisitionType'],
  0x00180050: ['DS', 'SliceThickness'], 0x00180060: ['DS', 'KVP'], 0x00180080: ['DS', 'RepetitionTime'], 0x00180081: ['DS', 'EchoTime'],
  0x00180082: ['DS', 'InversionTime'], 0x00180087: ['DS', 'MagneticFieldStrength'], 0x00180088: ['DS', 'SpacingBetweenSlices'],
  0x00181020: ['LO', 'SoftwareVersions'], 0x00181030: ['LO', 'ProtocolName'], 0x00181314: ['DS', 'FlipAngle'], 0x00185100: ['CS', 'PatientPosition'],
  0x0020000d: ['UI', 'StudyInstanceUID'], 0x0020000e: ['UI', 'SeriesInstanceUID'], 0x00200010: ['SH', 'StudyID'],
  0x00200011: ['IS', 'SeriesNumber'], 0x00200012: ['IS', 'AcquisitionNumber'], 0x00200013: ['IS', 'InstanceNumber'],
  0x00200032: ['DS', 'ImagePositionPatient'], 0x00200037: ['DS', 'ImageOrientationPatient'], 0x00200052: ['UI', 'FrameOfReferenceUID'],
  0x00201041: ['DS', 'SliceLocation'], 0x00209113: ['SQ', 'PlanePositionSequence'], 0x00209116: ['SQ', 'PlaneOrientationSequence'],
  0x00280002: ['US', 'SamplesPerPixel'], 0x00280004: ['CS', 'PhotometricInterpretation'], 0x00280006: ['US', 'PlanarConfiguration'],
  0x00280008: ['IS', 'NumberOfFrames'], 0x00280010: ['US', 'Rows'], 0x00280011: ['US', 'Columns'], 0x00280030: ['DS', 'PixelSpacing'],
  0x00280100: ['US', 'BitsAllocated'], 0x00280101: ['US', 'BitsStored'], 0x00280102: ['US', 'HighBit'], 0x00280103: ['US', 'PixelRepresentation'],
  0x00281050: ['DS', 'WindowCenter'], 0x00281051: ['DS', 'WindowWidth'], 0x00281052: ['DS', 'RescaleIntercept'],
  0x00281053: ['DS', 'RescaleSlope'], 0x00281054: ['LO', 'RescaleType'], 0x00289110: ['SQ', 'PixelMeasuresSequence'],
  0x52009229: ['SQ', 'SharedFunctionalGroupsSequence'], 0x52009230: ['SQ', 'PerFrameFunctionalGroupsSequence'],
  0x7fe00010: ['OW', 'PixelData'],
};

const ITEM = 0xfffee000;
const ITEM_END = 0xfffee00d;
const SEQUENCE_END = 0xfffee0dd;
const UNDEFINED = 0xffffffff;
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

/** '(7FE0,0010) PixelData': how messages name an element. */
export function tagName(tag: number): string {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
  const kw = DICTIONARY[tag]?.[1];
  return `(${hex(tag >>> 16)},${hex(tag & 0xffff)})${kw ? ' ' + kw : ''}`;
}

export const tagOf = (group: number, element: number): number => ((group << 16) | element) >>> 0;

class Reader {
  readonly dv: DataView;
  constructor(readonly bytes: Uint8Array, readonly file: string, readonly warnings: string[]) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u16(o: number, le: boolean): number {
    return this.dv.getUint16(o, le);
  }

  u32(o: number, le: boolean): number {
    return this.dv.getUint32(o, le);
  }

  truncated(what: string, at: number, need: number, end: number): InputError {
    return new InputError(`truncated file: ${what} at byte ${at} needs ${need} bytes but only ${Math.max(0, end - at)} remain`, this.file, undefined, what);
  }

  /** Parses elements from `start` to `end` (or to an item delimiter when `untilDelimiter`). Returns where it stopped. */
  parse(ds: DicomDataSet, start: number, end: number, untilDelimiter: boolean, stopAt?: (tag: number) => boolean): number {
    let p = start;
    const le = ds.littleEndian;
    while (p < end) {
      if (p + 8 > end) {
        if (untilDelimiter) throw this.truncated('item delimiter', p, 8, end);
        // Trailing padding shorter than an element header is tolerated, as most readers do.
        this.warnings.push(`ignored ${end - p} trailing bytes at ${p}`);
        return end;
      }
      const tag = ((this.u16(p, le) << 16) | this.u16(p + 2, le)) >>> 0;
      if (stopAt?.(tag)) return p;
      if (tag === ITEM_END) return p + 8;
      if (tag === ITEM || tag === SEQUENCE_END) throw new InputError(`unexpected item tag ${tagName(tag)} at byte ${p} inside a data set`, this.file, undefined, tagName(tag));
      let vr: string;
      let length: number;
      let header: number;
      if (ds.explicitVR) {
        const c0 = this.bytes[p + 4];
        const c1 = this.bytes[p + 5];
        vr = String.fromCharCode(c0, c1);
        if (c0 < 0x41 || c0 > 0x5a || c1 < 0x41 || c1 > 0x5a) throw new InputError(`invalid VR '${vr.replace(/[^\x20-\x7e]/g, '?')}' at byte ${p + 4}: not explicit VR as the transfer syntax says, or a corrupt file`, this.file, undefined, tagName(tag));
        if (LONG_VRS.has(vr)) {
          if (p + 12 > end) throw this.truncated(tagName(tag), p, 12, end);
          length = this.u32(p + 8, le);
          header = 12;
        } else {
          length = this.u16(p + 6, le);
          header = 8;
        }
      } else {
        vr = DICTIONARY[tag]?.[0] ?? 'UN';
        length = this.u32(p + 4, le);
        header = 8;
      }
      const offset = p + header;
      const el: DicomElement = { tag, vr, offset, length };
      if (length === UNDEFINED) {
        if (tag === 0x7fe00010) p = this.fragments(el, ds, end);
        else if (vr === 'SQ' || vr === 'UN' || !ds.explicitVR) {
          // An undefined-length UN is a sequence encoded as implicit VR little endian (PS3.5 6.2.2).
          const inner = vr === 'UN' && ds.explicitVR ? { le: true, explicit: false } : { le, explicit: ds.explicitVR };
          el.vr = 'SQ';
          p = this.sequence(el, ds.bytes, offset, end, true, inner.le, inner.explicit);
        } else throw new InputError(`undefined length on a ${vr} element at byte ${p}`, this.file, undefined, tagName(tag));
      } else {
        if (offset + length > end) {
          throw new InputError(`truncated file: element ${tagName(tag)} at byte ${p} declares ${length} bytes but only ${Math.max(0, end - offset)} remain`, this.file, undefined, tagName(tag));
        }
        if (vr === 'SQ' || (!ds.explicitVR && vr === 'UN' && this.looksLikeSequence(offset, length, le))) {
          el.vr = 'SQ';
          this.sequence(el, ds.bytes, offset, offset + length, false, le, ds.explicitVR);
        }
        p = offset + length;
      }
      ds.elements.set(tag, el);
    }
    if (untilDelimiter) throw this.truncated('item delimiter', p, 8, end);
    return p;
  }

  private looksLikeSequence(offset: number, length: number, le: boolean): boolean {
    return length >= 8 && ((this.u16(offset, le) << 16) | this.u16(offset + 2, le)) >>> 0 === ITEM;
  }

  /** Items of a sequence from `start`; returns the end (after the delimiter for undefined length). */
  private sequence(el: DicomElement, bytes: Uint8Array, start: number, end: number, undefinedLength: boolean, le: boolean, explicit: boolean): number {
    el.items = [];
    let p = start;
    while (p < end) {
      if (p + 8 > end) throw this.truncated(`item of ${tagName(el.tag)}`, p, 8, end);
      const tag = ((this.u16(p, le) << 16) | this.u16(p + 2, le)) >>> 0;
      let length = this.u32(p + 4, le);
      if (tag === SEQUENCE_END) {
        el.length = p - start;
        return p + 8;
      }
      if (tag !== ITEM) throw new InputError(`expected an item tag in ${tagName(el.tag)} at byte ${p}, found ${tagName(tag)}`, this.file, undefined, tagName(el.tag));
      const item: DicomDataSet = { bytes, littleEndian: le, explicitVR: explicit, elements: new Map(), offset: p };
      if (length === UNDEFINED) {
        p = this.parse(item, p + 8, end, true);
      } else {
        if (p + 8 + length > end) {
          this.warnings.push(`item at byte ${p} of ${tagName(el.tag)} declares ${length} bytes but its sequence ends after ${end - p - 8}; read up to the sequence's end`);
          length = end - p - 8;
        }
        this.parse(item, p + 8, p + 8 + length, false);
        p += 8 + length;
      }
      el.items.push(item);
    }
    if (undefinedLength) throw this.truncated(`sequence delimiter of ${tagName(el.tag)}`, p, 8, end);
    return p;
  }

  /** Encapsulated pixel data: items (fragments) up to the sequence delimiter. */
  private fragments(el: DicomElement, ds: DicomDataSet, end: number): number {
    const le = ds.littleEndian;
    el.fragments = [];
    let p = el.offset;
    while (true) {
      if (p + 8 > end) throw this.truncated('encapsulated PixelData fragment', p, 8, end);
      const tag = ((this.u16(p, le) << 16) | this.u16(p + 2, le)) >>> 0;
      const length = this.u32(p + 4, le);
      if (tag === SEQUENCE_END) {
        el.length = p - el.offset;
        return p + 8;
      }
      if (tag !== ITEM) throw new InputError(`expected a fragment item in encapsulated pixel data at byte ${p}, found ${tagName(tag)}`, this.file, undefined, tagName(0x7fe00010));
      if (p + 8 + length > end) throw new InputError(`truncated file: pixel data fragment at byte ${p} declares ${length} bytes but only ${Math.max(0, end - p - 8)} remain`, this.file, undefined, tagName(0x7fe00010));
      el.fragments.push({ offset: p + 8, length });
      p += 8 + length;
    }
  }
}

/** Parses a DICOM file (Part 10, or a bare data set without preamble). */
export function parseDicomFile(input: Uint8Array, file = 'dicom'): DicomFile {
  const warnings: string[] = [];
  let bytes = input;
  let start: number;
  if (bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d) start = 132;
  else if (bytes.length >= 8 && (bytes[0] === 0x02 || bytes[0] === 0x08) && bytes[1] === 0x00) {
    start = 0;
    warnings.push("no preamble and 'DICM' prefix: read as a bare data set");
  } else throw new InputError(`not a DICOM file: no 'DICM' prefix at byte 128 (${bytes.length} bytes)`, file, undefined, 'preamble');

  const reader = new Reader(bytes, file, warnings);
  const meta: DicomDataSet = { bytes, littleEndian: true, explicitVR: true, elements: new Map(), offset: start };
  const metaEnd = reader.parse(meta, start, bytes.length, false, (tag) => tag >>> 16 !== 0x0002);
  let uid = meta.elements.has(0x00020010) ? dicomString(meta, 0x00020010) : '';
  if (!uid) {
    // No file meta: guess the encoding of the data set from its first element (implicit VR LE is the default).
    const vr = String.fromCharCode(bytes[metaEnd + 4] ?? 0, bytes[metaEnd + 5] ?? 0);
    uid = /^[A-Z]{2}$/.test(vr) ? '1.2.840.10008.1.2.1' : '1.2.840.10008.1.2';
    warnings.push(`no TransferSyntaxUID in the file meta: guessed ${uid}`);
  }
  const ts = TRANSFER_SYNTAXES[uid];
  // An unknown (e.g. private) transfer syntax: its data set is explicit VR little endian by rule
  // (PS3.5 10), only its pixels are unknown; reading pixels reports it.
  const encoding = ts ?? { explicitVR: true, littleEndian: true };
  let dataReader = reader;
  let dataStart = metaEnd;
  if (ts?.deflated) {
    try {
      bytes = inflateRawSync(bytes.subarray(metaEnd));
    } catch (e) {
      throw new InputError(`deflated data set cannot be inflated (${(e as Error).message})`, file, undefined, 'DeflatedDataSet');
    }
    dataReader = new Reader(bytes, file, warnings);
    dataStart = 0;
  }
  const dataset: DicomDataSet = { bytes, littleEndian: encoding.littleEndian, explicitVR: encoding.explicitVR, elements: new Map(), offset: dataStart };
  dataReader.parse(dataset, dataStart, bytes.length, false);
  return { file, meta, dataset, transferSyntaxUid: uid, warnings };
}

/** The raw value bytes of an element (a view, not a copy). */
export function dicomBytes(ds: DicomDataSet, tag: number): Uint8Array | undefined {
  const el = ds.elements.get(tag);
  return el ? ds.bytes.subarray(el.offset, el.offset + el.length) : undefined;
}

/** A text value with DICOM padding (trailing spaces and NULs) removed; multiple values stay joined by '\'. */
export function dicomString(ds: DicomDataSet, tag: number): string | undefined {
  const b = dicomBytes(ds, tag);
  if (!b) return undefined;
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
}

/** The values of a multi-valued text element, each trimmed. */
export function dicomStrings(ds: DicomDataSet, tag: number): string[] | undefined {
  const s = dicomString(ds, tag);
  return s === undefined ? undefined : s.split('\\').map((v) => v.trim());
}

/** Numeric values of an element: DS and IS parsed from text, binary VRs read in the data set's byte order. */
export function dicomNumbers(ds: DicomDataSet, tag: number): number[] | undefined {
  const el = ds.elements.get(tag);
  if (!el) return undefined;
  const dv = new DataView(ds.bytes.buffer, ds.bytes.byteOffset + el.offset, el.length);
  const le = ds.littleEndian;
  const read = (size: number, get: (o: number) => number) => Array.from({ length: Math.floor(el.length / size) }, (_, i) => get(i * size));
  switch (el.vr) {
    case 'US': return read(2, (o) => dv.getUint16(o, le));
    case 'SS': return read(2, (o) => dv.getInt16(o, le));
    case 'UL': return read(4, (o) => dv.getUint32(o, le));
    case 'SL': return read(4, (o) => dv.getInt32(o, le));
    case 'FL': return read(4, (o) => dv.getFloat32(o, le));
    case 'FD': return read(8, (o) => dv.getFloat64(o, le));
    default: {
      const s = dicomString(ds, tag);
      if (s === undefined || s === '') return [];
      return s.split('\\').map((v) => (v.trim() === '' ? NaN : Number(v.trim())));
    }
  }
}

/** The first numeric value, or undefined when absent or empty. */
export function dicomNumber(ds: DicomDataSet, tag: number): number | undefined {
  const v = dicomNumbers(ds, tag);
  return v && v.length > 0 && !Number.isNaN(v[0]) ? v[0] : undefined;
}

/** The items of a sequence element (empty when absent). */
export function dicomItems(ds: DicomDataSet, tag: number): DicomDataSet[] {
  return ds.elements.get(tag)?.items ?? [];
}
