import { readMaybeGzip } from '../ontology/index.js';
import type { Ontology } from '../ontology/index.js';
import { InputError } from '../model/errors.js';

// Reader for HPO disease annotations (`phenotype.hpoa`), in both layouts the HPO has shipped:
// the 2023 header style (`#DatabaseID\tDiseaseName\t...` as a comment line) and the current one
// (metadata comments, then an uncommented `database_id\tdisease_name\t...` header).

/** One phenotype annotated to a disease. */
export interface DiseaseTerm {
  id: string;
  /** Fraction of patients with the feature, 0..1; undefined when the file gives none. */
  frequency?: number;
  /** `NOT` qualifier or frequency HP:0040285 (Excluded, 0%): the disease explicitly lacks it. */
  excluded: boolean;
  /** The row's references (`PMID:123`, `OMIM:101600`, ...): what leave-publication-out evaluation drops rows by. */
  references?: string[];
}

export interface DiseaseAnnotation {
  /** `OMIM:101600`, `ORPHA:710`, `DECIPHER:1`. */
  id: string;
  label: string;
  /** Phenotypic abnormality annotations (aspect P) after id normalisation. */
  terms: DiseaseTerm[];
  /**
   * Clinical course annotations (aspect C rows: onset, progression, mortality) and the onset column
   * of the phenotype rows, each with its references; absent when the file gives none.
   */
  course?: DiseaseTerm[];
}

export interface HpoaIssue {
  line: number;
  field: string;
  message: string;
}

export interface Hpoa {
  file: string;
  version: string;
  diseases: Map<string, DiseaseAnnotation>;
  /** Problems that did not stop the parse (malformed lines, unknown terms). */
  issues: HpoaIssue[];
}

/** The HPO frequency subontology, mapped to the mid-point of each class's defined range. */
export const FREQUENCY_TERMS: Readonly<Record<string, number>> = {
  'HP:0040280': 1, // Obligate (100%)
  'HP:0040281': 0.895, // Very frequent (80-99%)
  'HP:0040282': 0.545, // Frequent (30-79%)
  'HP:0040283': 0.17, // Occasional (5-29%)
  'HP:0040284': 0.025, // Very rare (1-4%)
  'HP:0040285': 0, // Excluded (0%)
};

/** Parses a frequency cell: an HPO frequency term, `n/m` or `x%`; '' gives undefined. */
export function parseFrequency(cell: string): number | undefined {
  const s = cell.trim();
  if (!s) return undefined;
  if (s in FREQUENCY_TERMS) return FREQUENCY_TERMS[s];
  const ratio = /^(\d+)\s*\/\s*(\d+)$/.exec(s);
  if (ratio) {
    const n = Number(ratio[1]);
    const m = Number(ratio[2]);
    if (m === 0 || n > m) throw new Error(`frequency '${s}' is not a proportion`);
    return n / m;
  }
  const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(s);
  if (pct) {
    const x = Number(pct[1]);
    if (x > 100) throw new Error(`frequency '${s}' exceeds 100%`);
    return x / 100;
  }
  throw new Error(`frequency '${s}' is neither an HPO frequency term, n/m nor x%`);
}

const REQUIRED = ['database_id', 'disease_name', 'qualifier', 'hpo_id', 'frequency', 'aspect'] as const;

/** Maps header names of either layout to the current snake_case names. */
function normaliseHeader(name: string): string {
  const n = name.replace(/^#/, '').trim();
  const legacy: Record<string, string> = { DatabaseID: 'database_id', DiseaseName: 'disease_name', HPO_ID: 'hpo_id' };
  return legacy[n] ?? n.toLowerCase();
}

/**
 * Parses phenotype.hpoa text. Term ids are normalised through the ontology when one is given
 * (alt_id and obsolete-with-replacement resolve; unknown ids are dropped and reported as issues).
 * A file without a recognisable header is an error; a malformed row is an issue, not a crash.
 */
export function parseHpoa(text: string, file = 'phenotype.hpoa', ontology?: Ontology): Hpoa {
  const lines = text.split(/\r?\n/);
  let version = 'unknown';
  let columns: Map<string, number> | undefined;
  const diseases = new Map<string, DiseaseAnnotation>();
  const course = new Map<string, DiseaseTerm[]>();
  const issues: HpoaIssue[] = [];
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    if (!line.trim()) continue;
    const cells = line.split('\t');
    const looksLikeHeader = /^#?(DatabaseID|database_id)\t/.test(line);
    if (looksLikeHeader) {
      columns = new Map(cells.map((c, i) => [normaliseHeader(c), i]));
      const missing = REQUIRED.filter((c) => !columns!.has(c));
      if (missing.length) throw new InputError(`header lacks column(s) ${missing.join(', ')}`, file, `line ${n + 1}`);
      continue;
    }
    if (line.startsWith('#')) {
      const meta = /^#(?:date|version):\s*(\S+)/.exec(line);
      if (meta) version = meta[1];
      continue;
    }
    if (!columns) throw new InputError('data before the header line (expected a DatabaseID / database_id header)', file, `line ${n + 1}`);
    parseRow(cells, columns, n + 1, diseases, course, issues, ontology);
  }
  if (!columns) throw new InputError('no header line found: not a phenotype.hpoa file', file);
  // Course rows of a disease without phenotype rows are dropped with it: nothing ranks it.
  for (const [id, rows] of course) {
    const d = diseases.get(id);
    if (d) d.course = rows;
  }
  return { file, version, diseases, issues };
}

function parseRow(
  cells: string[],
  columns: Map<string, number>,
  line: number,
  diseases: Map<string, DiseaseAnnotation>,
  course: Map<string, DiseaseTerm[]>,
  issues: HpoaIssue[],
  ontology?: Ontology,
): void {
  const cell = (name: string): string => (cells[columns.get(name)!] ?? '').trim();
  if (cells.length < columns.size - 1) {
    issues.push({ line, field: 'row', message: `${cells.length} columns, expected ${columns.size}` });
    return;
  }
  const diseaseId = cell('database_id');
  if (!/^[A-Za-z]+:\S+$/.test(diseaseId)) {
    issues.push({ line, field: 'database_id', message: `'${diseaseId}' is not a CURIE` });
    return;
  }
  const aspect = cell('aspect');
  if (aspect !== 'P' && aspect !== 'C') return; // inheritance and modifiers are not phenotypes
  const references = cell('reference').split(';').map((r) => r.trim()).filter(Boolean);
  const refs = references.length ? { references } : {};
  const hpo = termId(cell('hpo_id'), line, 'hpo_id', issues, ontology);
  if (hpo === undefined) return;
  const addCourse = (id: string): void => {
    const rows = course.get(diseaseId) ?? [];
    rows.push({ id, excluded: cell('qualifier') === 'NOT', ...refs });
    course.set(diseaseId, rows);
  };
  if (aspect === 'C') return addCourse(hpo);
  let frequency: number | undefined;
  try {
    frequency = parseFrequency(cell('frequency'));
  } catch (e) {
    issues.push({ line, field: 'frequency', message: (e as Error).message });
    return;
  }
  // The onset of a feature is a bound on the disease's onset: kept as course evidence.
  const onset = columns.has('onset') ? cell('onset') : '';
  const onsetId = onset ? termId(onset, line, 'onset', issues, ontology) : undefined;
  if (onsetId !== undefined) addCourse(onsetId);
  const disease = diseases.get(diseaseId) ?? { id: diseaseId, label: cell('disease_name'), terms: [] };
  diseases.set(diseaseId, disease);
  disease.terms.push({ id: hpo, frequency, excluded: cell('qualifier') === 'NOT' || frequency === 0, ...refs });
}

/** An HPO id of a row, resolved through the ontology when there is one; undefined (and an issue) when unusable. */
function termId(raw: string, line: number, field: string, issues: HpoaIssue[], ontology?: Ontology): string | undefined {
  if (ontology) {
    const r = ontology.resolve(raw);
    if (r.status === 'unknown' || r.status === 'obsolete') {
      issues.push({ line, field, message: `${r.status} term '${raw}'` });
      return undefined;
    }
    return r.id;
  }
  if (!/^HP:\d{7}$/.test(raw)) {
    issues.push({ line, field, message: `'${raw}' is not an HPO id` });
    return undefined;
  }
  return raw;
}

/** Reads (optionally gzipped) phenotype.hpoa. */
export function loadHpoa(file: string, ontology?: Ontology): Hpoa {
  let text: string;
  try {
    text = readMaybeGzip(file);
  } catch (e) {
    throw new InputError(`cannot read annotations: ${(e as Error).message}`, file);
  }
  return parseHpoa(text, file, ontology);
}

/**
 * Disease -> gene symbols from genes_to_phenotype.txt, either the legacy 9-column layout
 * (`entrez-gene-id, symbol, HPO, name, freq raw, freq HPO, info, source, disease`) or the current
 * one (`ncbi_gene_id, gene_symbol, hpo_id, hpo_name, frequency, disease_id`).
 */
export function parseGenesToPhenotype(text: string, file = 'genes_to_phenotype.txt'): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  let diseaseCol = 8;
  let symbolCol = 1;
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    if (!line.trim()) continue;
    if (line.startsWith('#') || line.startsWith('ncbi_gene_id')) {
      const header = line.replace(/^#(Format:\s*)?/, '').split(/\t|<tab>/).map((h) => h.trim().toLowerCase());
      const d = header.findIndex((h) => h === 'disease_id' || h.startsWith('disease-id'));
      const s = header.findIndex((h) => h === 'gene_symbol' || h === 'entrez-gene-symbol');
      if (d >= 0) diseaseCol = d;
      if (s >= 0) symbolCol = s;
      continue;
    }
    const cells = line.split('\t');
    const disease = cells[diseaseCol]?.trim();
    const symbol = cells[symbolCol]?.trim();
    if (!disease || !symbol) throw new InputError(`missing gene symbol or disease id (${cells.length} columns)`, file, `line ${n + 1}`);
    const set = out.get(disease) ?? new Set<string>();
    set.add(symbol);
    out.set(disease, set);
  }
  return new Map([...out].map(([d, s]) => [d, [...s].sort()]));
}

export function loadGenesToPhenotype(file: string): Map<string, string[]> {
  let text: string;
  try {
    text = readMaybeGzip(file);
  } catch (e) {
    throw new InputError(`cannot read gene annotations: ${(e as Error).message}`, file);
  }
  return parseGenesToPhenotype(text, file);
}
