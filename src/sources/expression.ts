import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { InputError } from '../model/errors.js';

// Math and Number functions bound once: a global lookup in a hot loop is slow in some hosts (jest's vm context).
const { ceil, floor, max, min } = Math;
const { isFinite: isFiniteNumber, isInteger: isIntegerNumber, isNaN: isNaNumber } = Number;

// Expression matrices: features (genes, probes) in rows, samples in columns.
//  - TSV / CSV: a header row of sample ids after the feature-id column, then one row per feature
//    (R's write.table header without a cell for the row names is accepted too); CSV cells may be
//    quoted ("..." with "" for a quote), no line breaks inside cells.
//  - GCT 1.2 (Broad): "#1.2", a "rows<TAB>columns" line, a "Name<TAB>Description<TAB>samples..." header;
//    GCT 1.3: "#1.3", "rows columns rowMeta columnMeta", "id<TAB>row-meta...<TAB>samples", then one line
//    per column-metadata field. The declared dimensions are checked against the file.
// gzip is recognised by its magic bytes. Values go into one Float64Array, features x samples, row-major.
// Missing values (empty, NA, NaN, N/A, #N/A, null) are an error naming file, line and column unless
// `missing: 'nan'`, which stores them as NaN and counts them.

export type ExpressionFormat = 'tsv' | 'csv' | 'gct';
/** What the values look like, by the rule GEO2R uses (see `detectScale`). */
export type ValueScale = 'counts' | 'intensity' | 'log';

export interface ReadExpressionOptions {
  /** Default: from the file name (.gct, .csv, else tab-separated; a .gz suffix is looked through). */
  format?: ExpressionFormat;
  /** 'error' (default): a missing value is an InputError; 'nan': stored as NaN. */
  missing?: 'error' | 'nan';
}

export interface ExpressionMatrix {
  file: string;
  format: ExpressionFormat;
  /** Header of the feature-id column ('probe', 'Name', ...; '' when the header has none). */
  featureHeader: string;
  featureIds: string[];
  sampleIds: string[];
  features: number;
  samples: number;
  /** features x samples, row-major: value (feature f, sample s) is data[f * samples + s]. */
  data: Float64Array;
  /** GCT Description column, GCT 1.3 row metadata, keyed by column name. */
  featureAnnotations: Record<string, string[]>;
  /** GCT 1.3 column metadata, keyed by field name. */
  sampleAnnotations: Record<string, string[]>;
  missingValues: number;
  acquisition: Record<string, number | string | boolean | number[] | string[]>;
}

const MISSING = new Set(['', 'NA', 'NaN', 'nan', 'NAN', 'N/A', '#N/A', 'na', 'null', 'NULL']);

/** Reads an expression matrix file (TSV, CSV, GCT; gzip or not). */
export function readExpressionMatrix(file: string, options: ReadExpressionOptions = {}): ExpressionMatrix {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new InputError(`cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file);
  }
  return parseExpressionMatrix(bytes, file, options);
}

/** Parses the bytes of an expression matrix file; `file` names it in errors and picks the format. */
export function parseExpressionMatrix(bytes: Uint8Array, file: string, options: ReadExpressionOptions = {}): ExpressionMatrix {
  const compressed = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  const buf = decompress(bytes, file, compressed);
  const format = options.format ?? formatOf(file, buf);
  const lines = new Lines(buf, file);
  const parsed = format === 'gct' ? parseGct(lines, file, options) : parseDelimited(lines, file, format === 'csv' ? ',' : '\t', options);
  const acquisition: ExpressionMatrix['acquisition'] = {
    format,
    features: parsed.featureIds.length,
    samples: parsed.sampleIds.length,
    compressed,
    bytes: buf.length,
    missingValues: parsed.missingValues,
    ...valueSummary(parsed.data),
  };
  if (parsed.gctVersion) acquisition.gctVersion = parsed.gctVersion;
  return {
    file,
    format,
    featureHeader: parsed.featureHeader,
    featureIds: parsed.featureIds,
    sampleIds: parsed.sampleIds,
    features: parsed.featureIds.length,
    samples: parsed.sampleIds.length,
    data: parsed.data,
    featureAnnotations: parsed.featureAnnotations,
    sampleAnnotations: parsed.sampleAnnotations,
    missingValues: parsed.missingValues,
    acquisition,
  };
}

function decompress(bytes: Uint8Array, file: string, compressed: boolean): Buffer {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!compressed) return buf;
  try {
    return gunzipSync(buf);
  } catch (e) {
    throw new InputError(`gzip data is damaged or truncated (${(e as Error).message})`, file);
  }
}

function formatOf(file: string, buf: Buffer): ExpressionFormat {
  const name = basename(file).toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.gct') || buf.toString('latin1', 0, 3) === '#1.') return 'gct';
  if (name.endsWith('.csv')) return 'csv';
  return 'tsv';
}

/** Lines of a buffer, decoded one at a time (no giant string), CR LF and a UTF-8 BOM tolerated. */
class Lines {
  pos = 0;
  line = 0;
  /** Byte range of the current line (after `advance`). */
  start = 0;
  stop = 0;
  /** Whether the file has a double quote anywhere (else no line needs the quote-aware splitter). */
  readonly quoted: boolean;
  constructor(readonly buf: Buffer, private readonly file: string) {
    if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) this.pos = 3;
    this.quoted = buf.includes(0x22);
  }

  /** Moves to the next non-empty line; false at the end. Empty lines are allowed only at the end. */
  advance(): boolean {
    const buf = this.buf;
    while (this.pos < buf.length) {
      let end = buf.indexOf(10, this.pos);
      if (end < 0) end = buf.length;
      let stop = end;
      if (stop > this.pos && buf[stop - 1] === 13) stop--;
      this.start = this.pos;
      this.stop = stop;
      this.pos = end + 1;
      this.line++;
      if (stop > this.start) return true;
      if (this.rest().trim() !== '') throw new InputError('empty line inside the matrix', this.file, `line ${this.line}`);
    }
    return false;
  }

  /** The next non-empty line as text, or undefined at the end. */
  next(): string | undefined {
    return this.advance() ? this.text() : undefined;
  }

  text(): string {
    return this.buf.toString('utf8', this.start, this.stop);
  }

  private rest(): string {
    return this.buf.toString('latin1', this.pos, min(this.buf.length, this.pos + 4096));
  }
}

/** Splits a line on a delimiter; with double quotes in it, CSV quoting rules ("" is a quote). */
function splitLine(line: string, delimiter: string, file: string, lineNo: number): string[] {
  if (!line.includes('"')) return line.split(delimiter);
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let cell = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new InputError('unterminated quoted cell (line breaks inside cells are not supported)', file, `line ${lineNo}`, `column ${out.length + 1}`);
        cell += line.slice(i, q);
        if (line[q + 1] === '"') { cell += '"'; i = q + 2; continue; }
        i = q + 1;
        break;
      }
      if (i < line.length && line[i] !== delimiter) throw new InputError('text after a closing quote', file, `line ${lineNo}`, `column ${out.length + 1}`);
      out.push(cell);
      i++;
    } else {
      let d = line.indexOf(delimiter, i);
      if (d < 0) d = line.length;
      out.push(line.slice(i, d));
      i = d + 1;
    }
  }
  return out;
}

interface Parsed {
  featureHeader: string;
  featureIds: string[];
  sampleIds: string[];
  data: Float64Array;
  featureAnnotations: Record<string, string[]>;
  sampleAnnotations: Record<string, string[]>;
  missingValues: number;
  gctVersion?: string;
}

interface RowContext {
  file: string;
  columns: string[];
  missing: 'error' | 'nan';
  delimiter: string;
}

// Powers of ten that doubles hold exactly: with a mantissa below 2^53 one multiplication or division
// by them is correctly rounded (Clinger's fast path), i.e. the same double as Number(text).
const POW10 = Float64Array.from({ length: 23 }, (_, i) => 10 ** i);
const TWO53 = 2 ** 53;

/** Growable value store: rows are appended, one Float64Array at the end. */
class Values {
  data: Float64Array;
  rows = 0;
  missing = 0;
  constructor(readonly width: number, expectedRows = 1024) {
    this.data = new Float64Array(max(1, expectedRows) * width);
  }

  private reserve(): number {
    if ((this.rows + 1) * this.width > this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    return this.rows * this.width;
  }

  /**
   * Parses one data line (the current line of `lines`): `lead` text cells (the feature id, GCT
   * annotations), returned, then `width` numbers straight from the bytes. Lines with quotes go
   * through the text splitter.
   */
  row(lines: Lines, lead: number, ctx: RowContext): string[] {
    const { buf, start, stop } = lines;
    const delim = ctx.delimiter.charCodeAt(0);
    if (lines.quoted && buf.subarray(start, stop).includes(0x22)) {
      const cells = splitLine(lines.text(), ctx.delimiter, ctx.file, lines.line);
      if (cells.length !== lead + this.width) throw ragged(cells.length, lead + this.width, ctx.file, lines.line);
      const o = this.reserve();
      for (let s = 0; s < this.width; s++) this.data[o + s] = this.cell(cells[lead + s], lines.line, lead, s, ctx);
      this.rows++;
      return cells.slice(0, lead);
    }
    const head: string[] = [];
    let p = start;
    for (let k = 0; k < lead; k++) {
      let d = buf.indexOf(delim, p);
      if (d < 0 || d > stop) d = stop;
      head.push(buf.toString('utf8', p, d));
      if (d === stop) throw ragged(k + 1, lead + this.width, ctx.file, lines.line);
      p = d + 1;
    }
    const o = this.reserve();
    const data = this.data;
    const width = this.width;
    for (let s = 0; s < width; s++) {
      // Inline fast path (see fastNumber); anything unusual is re-read by the slow path.
      const from = p;
      let c = p < stop ? buf[p] : delim;
      const neg = c === 0x2d;
      if (neg || c === 0x2b) p++;
      let mant = 0;
      let exp = 0;
      let digits = 0;
      while (p < stop && (c = buf[p] - 0x30) >= 0 && c <= 9) { mant = mant * 10 + c; digits++; p++; }
      if (p < stop && buf[p] === 0x2e) {
        p++;
        while (p < stop && (c = buf[p] - 0x30) >= 0 && c <= 9) { mant = mant * 10 + c; exp--; digits++; p++; }
      }
      let v: number;
      if (digits > 0 && mant < TWO53 && exp >= -22 && (p === stop || buf[p] === delim)) {
        v = exp === 0 ? mant : mant / POW10[-exp];
        if (neg) v = -v;
      } else {
        v = fastNumber(buf, from, stop, delim);
        p = scanEnd;
        if (isNaNumber(v)) {
          while (p < stop && buf[p] !== delim) p++;
          v = this.cell(buf.toString('utf8', from, p), lines.line, lead, s, ctx);
        }
      }
      data[o + s] = v;
      if (p === stop && s < width - 1) throw ragged(lead + s + 1, lead + width, ctx.file, lines.line);
      p++;
    }
    if (p <= stop) {
      let found = lead + this.width;
      for (let i = p - 1; i < stop; i++) if (buf[i] === delim) found++;
      throw ragged(found, lead + this.width, ctx.file, lines.line);
    }
    this.rows++;
    return head;
  }

  /** A cell the fast path did not take: a number in another spelling, a missing value, or an error. */
  private cell(cell: string, line: number, lead: number, sample: number, ctx: RowContext): number {
    const v = cell.length === 0 ? NaN : Number(cell);
    if (isFiniteNumber(v)) return v;
    const field = `column ${lead + sample + 1} (${ctx.columns[sample]})`;
    if (MISSING.has(cell.trim())) {
      if (ctx.missing === 'error') throw new InputError(`missing value ${JSON.stringify(cell)} (read with missing: 'nan' to keep it as NaN)`, ctx.file, `line ${line}`, field);
      this.missing++;
      return NaN;
    }
    throw new InputError(isNaNumber(v) ? `not a number: ${JSON.stringify(cell.slice(0, 40))}` : `value ${cell} is not finite`, ctx.file, `line ${line}`, field);
  }

  result(): Float64Array {
    const used = this.rows * this.width;
    // A view when little is wasted (copying 10 MB costs more than keeping a few spare rows).
    return used === this.data.length ? this.data : used >= 0.8 * this.data.length ? this.data.subarray(0, used) : this.data.slice(0, used);
  }
}

/** Where `fastNumber` stopped reading (the delimiter or the line end after a number it took). */
let scanEnd = 0;

/**
 * The plain decimal numbers of most matrices ([-+]digits[.digits][e[-+]digits]) parsed from bytes up
 * to the next delimiter, giving exactly the double Number() gives; NaN for anything else (missing
 * values, other spellings, mantissas of 2^53 or more, exponents beyond 10^22), which then takes the
 * slow path. Sets `scanEnd` to the byte after the number.
 */
function fastNumber(buf: Buffer, p: number, end: number, delim: number): number {
  scanEnd = p;
  let neg = false;
  let c = p < end ? buf[p] : delim;
  if (c === 0x2d || c === 0x2b) { neg = c === 0x2d; p++; }
  let mant = 0;
  let exp = 0;
  let digits = 0;
  while (p < end && (c = buf[p] - 0x30) >= 0 && c <= 9) { mant = mant * 10 + c; digits++; p++; }
  if (p < end && buf[p] === 0x2e) {
    p++;
    while (p < end && (c = buf[p] - 0x30) >= 0 && c <= 9) { mant = mant * 10 + c; exp--; digits++; p++; }
  }
  if (digits === 0 || mant >= TWO53) return NaN;
  if (p < end && (buf[p] === 0x65 || buf[p] === 0x45)) {
    p++;
    let eneg = false;
    if (p < end && (buf[p] === 0x2d || buf[p] === 0x2b)) { eneg = buf[p] === 0x2d; p++; }
    let e = 0;
    let ed = 0;
    while (p < end && (c = buf[p] - 0x30) >= 0 && c <= 9 && ed < 6) { e = e * 10 + c; ed++; p++; }
    if (ed === 0) return NaN;
    exp += eneg ? -e : e;
  }
  if (p !== end && buf[p] !== delim) return NaN;
  let v: number;
  if (exp === 0) v = mant;
  else if (exp < 0 && exp >= -22) v = mant / POW10[-exp];
  else if (exp > 0 && exp <= 22) v = mant * POW10[exp];
  else return NaN;
  scanEnd = p;
  return neg ? -v : v;
}

function checkUnique(ids: string[], what: string, file: string, where: (i: number) => { record: string; field: string }): void {
  const seen = new Map<string, number>();
  ids.forEach((id, i) => {
    if (id.trim() === '') { const w = where(i); throw new InputError(`empty ${what} id`, file, w.record, w.field); }
    const first = seen.get(id);
    if (first !== undefined) { const w = where(i); throw new InputError(`duplicate ${what} id ${id} (first at ${where(first).record})`, file, w.record, w.field); }
    seen.set(id, i);
  });
}

function parseDelimited(lines: Lines, file: string, delimiter: string, options: ReadExpressionOptions): Parsed {
  const headerLine = lines.next();
  if (headerLine === undefined) throw new InputError('empty file: expected a header row of sample ids', file, 'line 1');
  let header = splitLine(headerLine, delimiter, file, lines.line);
  if (header.length < 2) throw new InputError(`header has one column: expected a feature-id column and sample columns ${delimiter === '\t' ? '(tab-separated; is it a CSV?)' : '(comma-separated)'}`, file, 'line 1');
  if (!lines.advance()) throw new InputError('no data rows after the header', file, 'line 2');
  // R's write.table(row.names = TRUE) writes no header cell above the row names.
  let featureHeader = header[0];
  if (splitLine(lines.text(), delimiter, file, lines.line).length === header.length + 1) {
    featureHeader = '';
    header = ['', ...header];
  }
  const sampleIds = header.slice(1);
  checkUnique(sampleIds, 'sample', file, (i) => ({ record: 'line 1', field: `column ${i + 2}` }));
  const values = new Values(sampleIds.length, ceil(min(1 << 22, lines.buf.length / max(16, lines.stop - lines.start) + 16)));
  const featureIds: string[] = [];
  const ctx: RowContext = { file, columns: sampleIds, missing: options.missing ?? 'error', delimiter };
  do featureIds.push(values.row(lines, 1, ctx)[0]);
  while (lines.advance());
  checkUnique(featureIds, 'feature', file, (i) => ({ record: `line ${i + 2}`, field: 'column 1' }));
  return { featureHeader, featureIds, sampleIds, data: values.result(), featureAnnotations: {}, sampleAnnotations: {}, missingValues: values.missing };
}

/** A row of the wrong length: the field named is the first missing or the first extra column. */
function ragged(found: number, expected: number, file: string, line: number): InputError {
  const column = found < expected ? found + 1 : expected + 1;
  return new InputError(`row has ${found} cells, the header ${expected}${found < expected ? '' : ' (extra cells)'}`, file, `line ${line}`, `column ${column}`);
}

function dims(line: string | undefined, file: string, count: number): number[] {
  const parts = (line ?? '').trim().split(/\t| +/);
  const n = parts.map(Number);
  if (parts.length < count || n.slice(0, count).some((x) => !isIntegerNumber(x) || x < 0)) {
    throw new InputError(`expected ${count} non-negative integers (the dimensions), found ${JSON.stringify((line ?? '').slice(0, 60))}`, file, 'line 2');
  }
  return n.slice(0, count);
}

function parseGct(lines: Lines, file: string, options: ReadExpressionOptions): Parsed {
  const magic = lines.next()?.trim().split('\t')[0];
  if (magic !== '#1.2' && magic !== '#1.3') throw new InputError(`not a GCT file: the first line must be #1.2 or #1.3, found ${JSON.stringify((magic ?? '').slice(0, 20))}`, file, 'line 1');
  const v13 = magic === '#1.3';
  const [rows, cols, rowMeta, colMeta] = v13 ? dims(lines.next(), file, 4) : [...dims(lines.next(), file, 2), 1, 0];
  const headerLine = lines.next();
  if (headerLine === undefined) throw new InputError('no header line', file, 'line 3');
  const header = headerLine.split('\t');
  const lead = 1 + rowMeta;
  if (header.length !== lead + cols) throw new InputError(`header has ${header.length - lead} sample columns, the dimensions line says ${cols}`, file, 'line 3');
  if (!v13 && (header[0] !== 'Name' || header[1] !== 'Description')) throw new InputError(`GCT 1.2 header must start with Name, Description; found ${header[0]}, ${header[1]}`, file, 'line 3', 'column 1');
  const sampleIds = header.slice(lead);
  checkUnique(sampleIds, 'sample', file, (i) => ({ record: 'line 3', field: `column ${lead + i + 1}` }));
  const metaNames = header.slice(1, lead);
  const sampleAnnotations: Record<string, string[]> = {};
  for (let k = 0; k < colMeta; k++) {
    const line = lines.next();
    if (line === undefined) throw new InputError(`the file ends inside the ${colMeta} column-metadata lines`, file, `line ${lines.line + 1}`);
    const cells = line.split('\t');
    if (cells.length !== lead + cols) throw new InputError(`column-metadata line has ${cells.length} cells, expected ${lead + cols}`, file, `line ${lines.line}`);
    sampleAnnotations[cells[0]] = cells.slice(lead);
  }
  const featureAnnotations: Record<string, string[]> = Object.fromEntries(metaNames.map((m) => [m, [] as string[]]));
  const values = new Values(cols, rows);
  const featureIds: string[] = [];
  const ctx: RowContext = { file, columns: sampleIds, missing: options.missing ?? 'error', delimiter: '\t' };
  while (lines.advance()) {
    if (featureIds.length === rows) throw new InputError(`more data rows than the ${rows} the dimensions line declares`, file, `line ${lines.line}`);
    const head = values.row(lines, lead, ctx);
    featureIds.push(head[0]);
    metaNames.forEach((m, k) => featureAnnotations[m].push(head[1 + k]));
  }
  if (featureIds.length !== rows) throw new InputError(`the dimensions line declares ${rows} rows, the file has ${featureIds.length} (truncated?)`, file, 'line 2');
  const dataStart = 3 + colMeta;
  checkUnique(featureIds, 'feature', file, (i) => ({ record: `line ${dataStart + i + 1}`, field: 'column 1' }));
  return { featureHeader: header[0], featureIds, sampleIds, data: values.result(), featureAnnotations, sampleAnnotations, missingValues: values.missing, gctVersion: magic.slice(1) };
}

// ---------------------------------------------------------------------------------------------
// What the values look like

/**
 * The scale of a matrix by GEO2R's rule on the quantiles of its values: not yet logged when the 99th
 * percentile exceeds 100, or when the range exceeds 50 with a positive first quartile. Unlogged data
 * of non-negative integers are counts; other unlogged data are intensities. Quantiles are taken over
 * an even subsample of about 65,000 values (the rule needs no more).
 */
export function detectScale(data: Float64Array): ValueScale {
  return valueSummary(data).scale;
}

/** Range, quartiles and kind (see `detectScale`) of the values, NaN ignored. */
export function valueSummary(data: Float64Array): { valueMin: number; valueP25: number; valueMedian: number; valueP99: number; valueMax: number; integerValued: boolean; scale: ValueScale } {
  let lo = Infinity;
  let hi = -Infinity;
  let integer = true;
  let finite = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (isNaNumber(v)) continue;
    finite++;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (integer && v !== floor(v)) integer = false;
  }
  const step = max(1, floor(data.length / 65_536));
  const sample: number[] = [];
  for (let i = 0; i < data.length; i += step) if (!isNaNumber(data[i])) sample.push(data[i]);
  const sorted = Float64Array.from(sample).sort();
  const q = (p: number) => quantile7(sorted, p);
  const summary = { valueMin: finite ? lo : NaN, valueP25: q(0.25), valueMedian: q(0.5), valueP99: q(0.99), valueMax: finite ? hi : NaN, integerValued: finite > 0 && integer };
  const unlogged = summary.valueP99 > 100 || (summary.valueMax - summary.valueMin > 50 && summary.valueP25 > 0);
  const scale: ValueScale = !unlogged ? 'log' : summary.integerValued && summary.valueMin >= 0 ? 'counts' : 'intensity';
  return { ...summary, scale };
}

/** R's default quantile (type 7) of sorted values. */
export function quantile7(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * p;
  const lo = floor(h);
  const hi = min(sorted.length - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

// ---------------------------------------------------------------------------------------------
// Writing, and sample tables

/**
 * Writes a features x samples matrix as TSV (gzip when the name ends in .gz). Numbers are written in
 * JavaScript's shortest round-trip form, so reading the file back gives the same doubles.
 */
export function writeExpressionMatrix(file: string, m: { featureHeader?: string; featureIds: readonly string[]; sampleIds: readonly string[]; data: Float64Array }): void {
  const S = m.sampleIds.length;
  if (m.data.length !== m.featureIds.length * S) throw new Error(`${file}: ${m.data.length} values for ${m.featureIds.length} x ${S}`);
  const chunks: Buffer[] = [Buffer.from(`${m.featureHeader || 'feature'}\t${m.sampleIds.join('\t')}\n`)];
  let part: string[] = [];
  for (let f = 0; f < m.featureIds.length; f++) {
    let line = m.featureIds[f];
    for (let s = 0; s < S; s++) line += '\t' + formatValue(m.data[f * S + s]);
    part.push(line);
    if (part.length === 2048) { chunks.push(Buffer.from(part.join('\n') + '\n')); part = []; }
  }
  if (part.length) chunks.push(Buffer.from(part.join('\n') + '\n'));
  const bytes = Buffer.concat(chunks);
  writeFileSync(file, file.toLowerCase().endsWith('.gz') ? gzipSync(bytes, { level: 6 }) : bytes);
}

function formatValue(v: number): string {
  return isNaNumber(v) ? 'NA' : String(v);
}

/** A table of sample attributes: header required; the first column is the sample id. */
export interface SampleTable {
  file: string;
  columns: string[];
  /** Sample id (first column) to its row of cells. */
  rows: Map<string, string[]>;
}

/** Reads a TSV or CSV sample table (gzip or not; comma-separated when named .csv). */
export function readSampleTable(file: string): SampleTable {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new InputError(`cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file);
  }
  const buf = decompress(bytes, file, bytes[0] === 0x1f && bytes[1] === 0x8b);
  const delimiter = basename(file).toLowerCase().replace(/\.gz$/, '').endsWith('.csv') ? ',' : '\t';
  const lines = new Lines(buf, file);
  const head = lines.next();
  if (head === undefined) throw new InputError('empty file: expected a header row', file, 'line 1');
  const columns = splitLine(head, delimiter, file, 1);
  const rows = new Map<string, string[]>();
  for (let line = lines.next(); line !== undefined; line = lines.next()) {
    const cells = splitLine(line, delimiter, file, lines.line);
    if (cells.length !== columns.length) throw new InputError(`row has ${cells.length} cells, the header ${columns.length}`, file, `line ${lines.line}`);
    if (rows.has(cells[0])) throw new InputError(`duplicate sample id ${cells[0]}`, file, `line ${lines.line}`, columns[0]);
    rows.set(cells[0], cells);
  }
  return { file, columns, rows };
}
