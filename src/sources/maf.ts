// Mutation Annotation Format (TCGA/GDC MAF, maftools' input) with its clinical table: one mutation per
// row, linked to its tumour sample (Tumor_Sample_Barcode) and through it to the sample's clinical row.
import { statSync } from 'node:fs';
import { InputError } from '../model/errors.js';
import { assemblyName, normaliseChromosome, readTextLines, type Assembly } from './vcf.js';

export interface MafMutation {
  /** 1-based line in the (decompressed) file. */
  line: number;
  /** Hugo_Symbol. */
  gene: string;
  entrezId: string | null;
  /** Normalised (`chr17`, `17` → `17`; the WashU `23`/`24` → `X`/`Y`). */
  chrom: string;
  /** Start_Position and End_Position, 1-based inclusive, as the MAF gives them. */
  start: number;
  end: number;
  /** Reference_Allele; `-` for an insertion. */
  ref: string;
  /** The tumour allele that differs from the reference (Tumor_Seq_Allele2, else Tumor_Seq_Allele1); `-` for a deletion. */
  alt: string;
  tumorSeqAllele1: string | null;
  tumorSeqAllele2: string | null;
  /** Variant_Classification, e.g. Missense_Mutation, Frame_Shift_Del, Silent. */
  classification: string;
  /** Variant_Type: SNP, DNP, TNP, ONP, INS, DEL. */
  type: string | null;
  /** Tumor_Sample_Barcode. */
  sample: string;
  /** Protein_Change or HGVSp_Short. */
  proteinChange: string | null;
  /** From NCBI_Build (`37`, `GRCh38`), else the reader's option. */
  assembly: Assembly | null;
  /** Tumour variant allele fraction (0..1): t_alt_count / (t_ref_count + t_alt_count), else i_TumorVAF_WU / 100. */
  vaf: number | null;
  center: string | null;
}

export interface ClinicalTable {
  file: string;
  columns: string[];
  /** The column rows are keyed by (Tumor_Sample_Barcode where present, else the first column). */
  key: string;
  rows: Map<string, Record<string, string>>;
}

export interface MafSample {
  barcode: string;
  /** Indices into `MafDocument.mutations`. */
  mutations: number[];
  /** The sample's clinical row, null when the clinical table has none. */
  clinical: Record<string, string> | null;
}

export interface MafDocument {
  file: string;
  mutations: MafMutation[];
  /** Samples with at least one mutation, in order of first appearance. */
  samples: MafSample[];
  clinical: ClinicalTable | null;
  /** Clinical rows whose sample has no mutation in the MAF (kept: a sample without mutations is data too). */
  clinicalWithoutMutations: string[];
  acquisition: Record<string, number | string | boolean | number[] | string[]>;
}

/** maftools' default non-synonymous classes (`vc_nonSyn`). */
export const NONSYNONYMOUS_CLASSES: readonly string[] = [
  'Frame_Shift_Del', 'Frame_Shift_Ins', 'Splice_Site', 'Translation_Start_Site', 'Nonsense_Mutation',
  'Nonstop_Mutation', 'In_Frame_Del', 'In_Frame_Ins', 'Missense_Mutation',
];

const REQUIRED = ['Hugo_Symbol', 'Chromosome', 'Start_Position', 'End_Position', 'Reference_Allele', 'Tumor_Seq_Allele2', 'Variant_Classification', 'Tumor_Sample_Barcode'] as const;
const INT = /^\d+$/;
const ALLELE = /^([ACGTNacgtn]+|-)$/;

/** MAF chromosomes: as VCF, plus the numeric X/Y some centres wrote (23, 24). */
export function normaliseMafChromosome(c: string): string {
  const n = normaliseChromosome(c);
  return n === '23' ? 'X' : n === '24' ? 'Y' : n;
}

function columnIndex(header: string[]): Map<string, number> {
  // GDC and maftools spell some columns differently (End_position, End_Position): match without case.
  const m = new Map<string, number>();
  header.forEach((h, i) => {
    const k = h.trim().toLowerCase();
    if (!m.has(k)) m.set(k, i);
  });
  return m;
}

const blank = (s: string | undefined): boolean => s === undefined || s === '' || s === '.' || s === 'NA' || s === '__UNKNOWN__';

/**
 * Reads a MAF (plain or gzip; `#` comment lines such as `#version 2.4` are skipped) and, when given,
 * its clinical table (TSV with a Tumor_Sample_Barcode column). A sample is linked to a clinical row by
 * its exact barcode, else by the 12-character TCGA patient barcode (TCGA-XX-XXXX) when both are TCGA barcodes.
 */
export async function readMaf(file: string, options: { clinical?: string; assembly?: string } = {}): Promise<MafDocument> {
  const optionAssembly = options.assembly === undefined ? null : assemblyName(options.assembly);
  if (options.assembly !== undefined && !optionAssembly) throw new InputError(`unknown assembly "${options.assembly}"`, file, undefined, 'assembly');
  const mutations: MafMutation[] = [];
  let col: Map<string, number> | null = null;
  let headerLine = 0;
  const get = (cols: string[], name: string): string | undefined => {
    const i = col!.get(name.toLowerCase());
    return i === undefined ? undefined : cols[i];
  };
  for await (const { lines, first } of readTextLines(file)) {
    for (let k = 0; k < lines.length; k++) {
      const l = lines[k];
      const lineNo = first + k;
      if (!l || l.startsWith('#')) continue;
      const cols = l.split('\t');
      if (!col) {
        col = columnIndex(cols);
        headerLine = lineNo;
        for (const r of REQUIRED) {
          if (!col.has(r.toLowerCase())) throw new InputError(`MAF header has no ${r} column`, file, `line ${lineNo}`, r);
        }
        continue;
      }
      mutations.push(mafRow(cols, get, file, lineNo, optionAssembly));
    }
  }
  if (!col) throw new InputError('no MAF header line (Hugo_Symbol, Chromosome, ...)', file, undefined, 'header');
  void headerLine;
  const clinical = options.clinical ? await readClinicalTable(options.clinical) : null;
  return linkSamples(file, mutations, clinical);
}

function mafRow(cols: string[], get: (c: string[], n: string) => string | undefined, file: string, lineNo: number, optionAssembly: Assembly | null): MafMutation {
  const where = `line ${lineNo}`;
  const req = (name: string): string => {
    const v = get(cols, name);
    if (v === undefined || v === '') throw new InputError(`${name} is empty`, file, where, name);
    return v;
  };
  const gene = req('Hugo_Symbol');
  const startText = req('Start_Position');
  const endText = req('End_Position');
  if (!INT.test(startText)) throw new InputError(`Start_Position "${startText}" is not a positive integer`, file, where, 'Start_Position');
  if (!INT.test(endText)) throw new InputError(`End_Position "${endText}" is not a positive integer`, file, where, 'End_Position');
  const start = Number(startText);
  const end = Number(endText);
  if (end < start) throw new InputError(`End_Position ${end} is before Start_Position ${start}`, file, where, 'End_Position');
  const ref = req('Reference_Allele');
  if (!ALLELE.test(ref)) throw new InputError(`Reference_Allele "${ref}" is not a base sequence or "-"`, file, where, 'Reference_Allele');
  const a1 = get(cols, 'Tumor_Seq_Allele1');
  const a2 = get(cols, 'Tumor_Seq_Allele2');
  const alt = !blank(a2) && a2 !== ref ? a2! : !blank(a1) && a1 !== ref ? a1! : null;
  if (alt === null) throw new InputError('neither Tumor_Seq_Allele2 nor Tumor_Seq_Allele1 differs from Reference_Allele', file, where, 'Tumor_Seq_Allele2');
  if (!ALLELE.test(alt)) throw new InputError(`tumour allele "${alt}" is not a base sequence or "-"`, file, where, 'Tumor_Seq_Allele2');
  const build = get(cols, 'NCBI_Build');
  const assembly = blank(build) ? optionAssembly : assemblyName(build!);
  if (!blank(build) && !assembly) throw new InputError(`NCBI_Build "${build}" is not a known assembly`, file, where, 'NCBI_Build');
  const refCount = Number(get(cols, 't_ref_count'));
  const altCount = Number(get(cols, 't_alt_count'));
  const wu = get(cols, 'i_TumorVAF_WU');
  const vaf = Number.isFinite(refCount) && Number.isFinite(altCount) && refCount + altCount > 0 && !blank(get(cols, 't_alt_count'))
    ? altCount / (refCount + altCount)
    : !blank(wu) && Number.isFinite(Number(wu)) ? Number(wu) / 100 : null;
  const protein = get(cols, 'Protein_Change') ?? get(cols, 'HGVSp_Short');
  const entrez = get(cols, 'Entrez_Gene_Id');
  const type = get(cols, 'Variant_Type');
  const center = get(cols, 'Center');
  return {
    line: lineNo, gene, entrezId: blank(entrez) || entrez === '0' ? null : entrez!,
    chrom: normaliseMafChromosome(req('Chromosome')), start, end, ref, alt,
    tumorSeqAllele1: blank(a1) ? null : a1!, tumorSeqAllele2: blank(a2) ? null : a2!,
    classification: req('Variant_Classification'), type: blank(type) ? null : type!,
    sample: req('Tumor_Sample_Barcode'), proteinChange: blank(protein) ? null : protein!,
    assembly, vaf, center: blank(center) ? null : center!,
  };
}

const TCGA_PATIENT = /^(TCGA-[A-Z0-9]{2}-[A-Z0-9]{4})/i;

function linkSamples(file: string, mutations: MafMutation[], clinical: ClinicalTable | null): MafDocument {
  const byBarcode = new Map<string, MafSample>();
  mutations.forEach((m, i) => {
    let s = byBarcode.get(m.sample);
    if (!s) {
      s = { barcode: m.sample, mutations: [], clinical: null };
      byBarcode.set(m.sample, s);
    }
    s.mutations.push(i);
  });
  const samples = [...byBarcode.values()];
  const used = new Set<string>();
  if (clinical) {
    const byPatient = new Map<string, string>();
    for (const k of clinical.rows.keys()) {
      const p = TCGA_PATIENT.exec(k)?.[1]?.toUpperCase();
      if (p && !byPatient.has(p)) byPatient.set(p, k);
    }
    for (const s of samples) {
      let key: string | undefined = clinical.rows.has(s.barcode) ? s.barcode : undefined;
      if (!key) {
        const p = TCGA_PATIENT.exec(s.barcode)?.[1]?.toUpperCase();
        key = p ? byPatient.get(p) : undefined;
      }
      if (key) {
        s.clinical = clinical.rows.get(key)!;
        used.add(key);
      }
    }
  }
  const clinicalWithoutMutations = clinical ? [...clinical.rows.keys()].filter((k) => !used.has(k)) : [];
  const assemblies = [...new Set(mutations.map((m) => m.assembly ?? 'unknown'))];
  const classes = new Map<string, number>();
  for (const m of mutations) classes.set(m.classification, (classes.get(m.classification) ?? 0) + 1);
  return {
    file,
    mutations,
    samples,
    clinical,
    clinicalWithoutMutations,
    acquisition: {
      format: 'MAF',
      assembly: assemblies.length === 1 ? assemblies[0] : assemblies.length ? 'mixed' : 'unknown',
      mutations: mutations.length,
      samples: samples.length,
      genes: new Set(mutations.map((m) => m.gene)).size,
      nonsynonymous: mutations.filter((m) => NONSYNONYMOUS_CLASSES.includes(m.classification)).length,
      variantClassifications: [...classes.keys()].sort(),
      centers: [...new Set(mutations.map((m) => m.center).filter((c): c is string => c !== null))].sort(),
      clinicalRows: clinical ? clinical.rows.size : 0,
      samplesWithClinical: samples.filter((s) => s.clinical !== null).length,
      clinicalWithoutMutations: clinicalWithoutMutations.length,
      bytes: statSync(file).size,
    },
  };
}

/**
 * A clinical table (TSV or CSV, plain or gzip, header required), keyed by Tumor_Sample_Barcode when the
 * header has one, else by its first column. Duplicate keys are an InputError: which row would be meant?
 */
export async function readClinicalTable(file: string, key?: string): Promise<ClinicalTable> {
  let columns: string[] | null = null;
  let keyIndex = 0;
  let sep = '\t';
  const rows = new Map<string, Record<string, string>>();
  for await (const { lines, first } of readTextLines(file)) {
    for (let k = 0; k < lines.length; k++) {
      const l = lines[k];
      if (!l || l.startsWith('#')) continue;
      if (!columns) {
        sep = l.includes('\t') ? '\t' : ',';
        columns = l.split(sep).map(unquote);
        const wanted = key ?? (columns.some((c) => c.toLowerCase() === 'tumor_sample_barcode') ? 'Tumor_Sample_Barcode' : columns[0]);
        keyIndex = columns.findIndex((c) => c.toLowerCase() === wanted.toLowerCase());
        if (keyIndex === -1) throw new InputError(`clinical table has no ${wanted} column`, file, `line ${first + k}`, wanted);
        continue;
      }
      const cells = l.split(sep).map(unquote);
      const where = `line ${first + k}`;
      if (cells.length > columns.length) throw new InputError(`row has ${cells.length} cells, the header ${columns.length}`, file, where, columns[columns.length - 1]);
      const id = cells[keyIndex] ?? '';
      if (!id) throw new InputError(`${columns[keyIndex]} is empty`, file, where, columns[keyIndex]);
      if (rows.has(id)) throw new InputError(`${columns[keyIndex]} "${id}" appears twice`, file, where, columns[keyIndex]);
      const row: Record<string, string> = {};
      columns.forEach((c, i) => (row[c] = cells[i] ?? ''));
      rows.set(id, row);
    }
  }
  if (!columns) throw new InputError('empty clinical table: no header', file, undefined, 'header');
  return { file, columns, key: columns[keyIndex], rows };
}

function unquote(s: string): string {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}
