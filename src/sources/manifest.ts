import { readFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';

/** The modalities a record of another kind than a phenopacket can have. */
export const MODALITIES = ['vcf', 'maf', 'mri', 'eeg', 'ecg', 'ppg', 'oct', 'expression'] as const;
export type Modality = (typeof MODALITIES)[number];

/** One record of a modality, linked to a patient: a manifest row, a BIDS file or a phenopacket `files` entry. */
export interface RecordEntry {
  patient: string;
  modality: Modality;
  /** Absolute path of the file (or folder, for a DICOM series or a WFDB record's header). */
  path: string;
  /** The path relative to the manifest or dataset root: what the graph records (never an absolute server path). */
  relativePath: string;
  site?: string;
  /** An HPO id, a finding of this record (e.g. HP:0005110 for an ECG with atrial fibrillation). */
  label?: string;
  /** The sample's column or barcode inside a file holding several (expression matrix, MAF); default: the patient id. */
  sample?: string;
  /** Acquisition fields given beside the file (BIDS JSON sidecars). */
  sidecar?: Record<string, unknown>;
  source: 'manifest' | 'bids' | 'phenopacket';
  origin: { file: string; line?: number };
}

/** A row that could not be used, with where and why. */
export interface EntryProblem {
  file: string;
  line?: number;
  field?: string;
  reason: string;
}

const REQUIRED = ['patient', 'modality', 'path'] as const;
const KNOWN = new Set(['patient', 'modality', 'path', 'site', 'label', 'sample']);
const HPO_ID = /^HP:\d{7}$/;

/**
 * Reads a manifest: TSV or CSV with a header row naming at least `patient, modality, path` (and
 * optionally `site, label, sample`). Relative paths resolve against the manifest's folder. Each bad
 * row is reported with its line and field; the good rows are returned.
 */
export function readManifest(file: string): { entries: RecordEntry[]; problems: EntryProblem[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (e) {
    throw new Error(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const delimiter = extname(file).toLowerCase() === '.csv' || (!text.split('\n')[0].includes('\t') && text.split('\n')[0].includes(',')) ? ',' : '\t';
  let rows: string[][];
  let lines: number[];
  try {
    // With `info`, each row carries the line it started on, so blank lines and quoted newlines do not shift the numbers we report.
    const parsed = parse(text, { delimiter, relax_column_count: true, skip_empty_lines: true, trim: true, info: true }) as unknown as { record: string[]; info: { lines: number } }[];
    rows = parsed.map((p) => p.record);
    lines = parsed.map((p) => p.info.lines);
  } catch (e) {
    throw new Error(`${file}: not a ${delimiter === ',' ? 'CSV' : 'TSV'} table: ${(e as Error).message}`);
  }
  if (rows.length === 0) throw new Error(`${file}: empty manifest (a header row patient, modality, path[, site, label] is required)`);
  const header = rows[0].map((h) => h.toLowerCase());
  const missing = REQUIRED.filter((c) => !header.includes(c));
  if (missing.length) throw new Error(`${file}: line 1: the header must name the columns ${REQUIRED.join(', ')} (missing ${missing.join(', ')}; found ${rows[0].join(', ')})`);
  const unknown = header.filter((h) => !KNOWN.has(h));
  if (unknown.length) throw new Error(`${file}: line 1: unknown column ${unknown.join(', ')} (known: ${[...KNOWN].join(', ')})`);
  const col = (name: string) => header.indexOf(name);
  const root = dirname(resolve(file));
  const entries: RecordEntry[] = [];
  const problems: EntryProblem[] = [];
  rows.slice(1).forEach((row, i) => {
    const line = lines[i + 1];
    const get = (name: string): string | undefined => (col(name) >= 0 ? row[col(name)] || undefined : undefined);
    const bad = (field: string, reason: string) => void problems.push({ file, line, field, reason });
    if (row.length !== header.length) return bad('', `${row.length} columns where the header has ${header.length}`);
    const patient = get('patient');
    const modality = get('modality')?.toLowerCase();
    const path = get('path');
    const label = get('label');
    if (!patient) return bad('patient', 'empty patient id');
    if (!modality || !(MODALITIES as readonly string[]).includes(modality)) return bad('modality', `${JSON.stringify(modality ?? '')} is not one of ${MODALITIES.join(', ')}`);
    if (!path) return bad('path', 'empty path');
    if (label && !HPO_ID.test(label)) return bad('label', `${JSON.stringify(label)} is not an HPO id (HP:nnnnnnn)`);
    const absolute = isAbsolute(path) ? path : resolve(root, path);
    entries.push({
      patient, modality: modality as Modality, path: absolute, relativePath: relative(root, absolute) || path,
      site: get('site'), label, sample: get('sample'), source: 'manifest', origin: { file, line },
    });
  });
  return { entries, problems };
}

const BY_EXTENSION: [RegExp, Modality][] = [
  [/\.vcf(\.b?gz)?$/i, 'vcf'], [/\.maf(\.gz)?$/i, 'maf'], [/\.nii(\.gz)?$/i, 'mri'], [/\.vol$/i, 'oct'], [/\.gct$/i, 'expression'],
];
const BY_FORMAT: Record<string, Modality> = { vcf: 'vcf', maf: 'maf', nifti: 'mri', dicom: 'mri' };

/**
 * The `files` of a phenopacket (and of its biosamples) as records of its patient: the modality from
 * `fileAttributes.modality`, else `htsFormat`/`fileFormat`, else the file name; `file://` URIs and
 * relative paths (against the phenopacket's folder) that exist are taken, the rest reported.
 */
export function phenopacketFileEntries(
  pp: { id: string; subject?: { id?: string }; files?: PhenopacketFile[]; biosamples?: { files?: PhenopacketFile[] }[] },
  origin: { file: string; entry?: string; line?: number },
): { entries: RecordEntry[]; problems: EntryProblem[] } {
  const entries: RecordEntry[] = [];
  const problems: EntryProblem[] = [];
  const files = [...(pp.files ?? []), ...(pp.biosamples ?? []).flatMap((b) => b.files ?? [])];
  const root = dirname(resolve(origin.file));
  for (const f of files) {
    if (!f.uri) continue;
    const attrs = Object.fromEntries(Object.entries(f.fileAttributes ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
    const declared = (attrs.modality ?? '').toLowerCase();
    const format = (attrs.htsformat ?? attrs.fileformat ?? '').toLowerCase();
    const modality = ((MODALITIES as readonly string[]).includes(declared) ? declared : BY_FORMAT[format] ?? BY_EXTENSION.find(([re]) => re.test(f.uri!))?.[1]) as Modality | undefined;
    if (!modality) continue; // BAM, CRAM, PDFs...: not a record kind Harmonia reads.
    let path: string;
    if (/^file:/i.test(f.uri)) path = fileURLToPath(f.uri);
    else if (/^[a-z][a-z0-9+.-]*:/i.test(f.uri)) {
      problems.push({ file: origin.file, line: origin.line, field: 'files.uri', reason: `${f.uri}: only local files (file:// or a path) are read` });
      continue;
    } else path = isAbsolute(f.uri) ? f.uri : resolve(root, f.uri);
    const sample = pp.subject?.id ? f.individualToFileIdentifiers?.[pp.subject.id] : undefined;
    entries.push({
      patient: pp.id, modality, path, relativePath: relative(root, path) || f.uri, sample,
      source: 'phenopacket', origin: { file: origin.file, line: origin.line },
    });
  }
  return { entries, problems };
}

export interface PhenopacketFile {
  uri?: string;
  individualToFileIdentifiers?: Record<string, string>;
  fileAttributes?: Record<string, string>;
}
