import { readFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { parse } from 'csv-parse/sync';
import { parseJsonPath, parseReference, select, type Step } from './jsonpath.js';
import type { Problem, SourceDef } from './model.js';
import { RowError } from './model.js';

/** One record of a logical source: the values a reference selects, and where it came from. */
export interface SourceRecord {
  /** Line number for CSV and JSON Lines (a CSV header is line 1); 1-based record number for JSON. */
  row: number;
  /** The non-empty values of a reference; `[]` when the cell is empty or the key missing. */
  get(ref: string): string[];
}

export interface LoadedSource {
  /** The file as shown in messages (relative to the working directory when inside it). */
  file: string;
  /** CSV header, so a misspelt column is caught before any row is read. */
  columns?: string[];
  records: SourceRecord[];
  /** Rows that could not be read at all (wrong field count, bad JSON line). */
  problems: Problem[];
}

export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** Reads the whole source; a file that cannot be read or parsed throws (nothing sensible can be mapped). */
export function readSource(def: SourceDef, path: string): LoadedSource {
  const file = displayPath(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (def.formulation === 'csv') return readCsv(text, file, def.delimiter);
  return /\.(jsonl|ndjson)$/i.test(path) ? readJsonLines(text, file, def.iterator) : readJson(text, file, def.iterator);
}

function readCsv(text: string, file: string, delimiter: string): LoadedSource {
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    // With `info`, csv-parse returns {record, info} pairs; its typings only describe the plain form.
    rows = parse(text, { delimiter, bom: true, relax_column_count: true, skip_empty_lines: true, info: true }) as unknown as typeof rows;
  } catch (e) {
    throw new Error(`${file}: not valid CSV: ${(e as Error).message}`);
  }
  if (rows.length === 0) throw new Error(`${file}: empty file, expected a header row`);
  const columns = rows[0].record.map((c) => c.trim());
  const dup = columns.find((c, i) => columns.indexOf(c) !== i);
  if (dup !== undefined) throw new Error(`${file}: column '${dup}' appears twice in the header`);
  const problems: Problem[] = [];
  const records: SourceRecord[] = [];
  for (const { record, info } of rows.slice(1)) {
    if (record.length !== columns.length) {
      problems.push({ file, row: info.lines, reason: `row has ${record.length} fields, the header has ${columns.length}` });
      continue;
    }
    const cells = new Map(columns.map((c, i) => [c, record[i]]));
    records.push({ row: info.lines, get: (ref) => (cells.get(ref) ? [cells.get(ref)!] : []) });
  }
  return { file, columns, records, problems };
}

function readJson(text: string, file: string, iterator: string): LoadedSource {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  const records = select(doc, parseJsonPath(iterator)).map((node, i) => jsonRecord(node, i + 1));
  return { file, records, problems: [] };
}

function readJsonLines(text: string, file: string, iterator: string): LoadedSource {
  const steps = parseJsonPath(iterator);
  const records: SourceRecord[] = [];
  const problems: Problem[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    try {
      for (const node of select(JSON.parse(line), steps)) records.push(jsonRecord(node, i + 1));
    } catch (e) {
      problems.push({ file, row: i + 1, reason: `not valid JSON: ${(e as Error).message}` });
    }
  });
  return { file, records, problems };
}

const refCache = new Map<string, Step[]>();

function jsonRecord(node: unknown, row: number): SourceRecord {
  return {
    row,
    get(ref) {
      let steps = refCache.get(ref);
      if (!steps) refCache.set(ref, (steps = parseReference(ref)));
      // A reference that ends on an array yields each element, as RML processors do.
      return select(node, steps)
        .flatMap((v) => (Array.isArray(v) ? v : [v]))
        .flatMap((v) => scalar(v, ref));
    },
  };
}

/** A UTF-16 surrogate that is not half of a pair: JSON's "\ud800" escape makes one; it cannot go into an IRI or N-Quads. */
const LONE_SURROGATE = /\p{Cs}/u;

function scalar(v: unknown, ref: string): string[] {
  if (v === null || v === undefined || v === '') return [];
  if (typeof v === 'object') throw new RowError(`'${ref}' selects an object, not a value`, ref);
  if (typeof v === 'string' && LONE_SURROGATE.test(v)) throw new RowError(`'${ref}' holds text with an unpaired surrogate (not valid Unicode)`, ref);
  return [String(v)];
}
