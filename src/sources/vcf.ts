// VCF and VCF.gz: header, records with per-sample genotypes, tabix region queries, and what the
// file says about its acquisition (assembly, samples, contig naming). Lines are parsed by @gmod/vcf;
// the file is streamed through zlib, so memory stays flat whatever the size of the call set.
import { closeSync, existsSync, openSync, readSync, statSync, createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import VCFParser, { type InfoValue, type Variant } from '@gmod/vcf';
import { TabixIndexedFile } from '@gmod/tabix';
import { InputError } from '../model/errors.js';

export type { InfoValue } from '@gmod/vcf';

/** Genotype allele code for `.` (a missing allele call). */
export const ALLELE_MISSING = -1;
/** Genotype allele code for a slot past the sample's ploidy (a haploid call in a diploid record). */
export const ALLELE_ABSENT = -2;

export type Assembly = 'GRCh37' | 'GRCh38';
export type ContigNaming = 'chr-prefixed' | 'plain' | 'mixed' | 'none';

export interface VcfContig {
  id: string;
  length: number | null;
  assembly: string | null;
}

export interface VcfFieldDefinition {
  number: string;
  type: string;
  description: string;
}

export interface VcfHeader {
  file: string;
  /** `VCFv4.2` etc.; null when the first line is not `##fileformat=`. */
  fileformat: string | null;
  samples: string[];
  contigs: VcfContig[];
  /** The `##reference=` value, verbatim. */
  reference: string | null;
  info: Record<string, VcfFieldDefinition>;
  format: Record<string, VcfFieldDefinition>;
  filters: Record<string, string>;
  /** Number of header lines, `#CHROM` included: data line numbers start after it. */
  lineCount: number;
}

/**
 * One data line. Genotypes are flat typed arrays (no per-sample objects): sample `s` holds the allele
 * indices `gt[s * ploidy .. s * ploidy + ploidy - 1]` (0 = REF, 1.. = ALT, `ALLELE_MISSING`, `ALLELE_ABSENT`).
 */
export interface VcfRecord {
  /** 1-based line number in the decompressed file; null for records returned by an index query. */
  line: number | null;
  chrom: string;
  pos: number;
  ids: string[];
  ref: string;
  alts: string[];
  qual: number | null;
  /** `[]` for `.` (not filtered), `['PASS']`, or the failed filters. */
  filters: string[];
  /** The INFO column verbatim (`.` when empty); decode with `infoValue` / `infoValues`, on demand. */
  info: string;
  ploidy: number;
  gt: Int16Array;
  /** 1 where the sample's genotype is phased (`0|1`). */
  phased: Uint8Array;
  /** FORMAT DP and GQ per sample, NaN where absent. */
  dp: Float32Array;
  gq: Float32Array;
}

export interface GenomicRegion {
  chrom: string;
  /** 1-based, inclusive. */
  start: number;
  end: number;
}

export type VcfAcquisition = Record<string, number | string | boolean | number[] | string[]>;

export interface VcfOpenOptions {
  /** Overrides the assembly found in the header (`GRCh37`, `hg19`, `b37`, `GRCh38`, ...). */
  assembly?: string;
}

// ---------------------------------------------------------------------------------------------
// Chromosomes and assemblies (shared with the MAF and BED readers and the harmonizer).

const chromCache = new Map<string, string>();

/** `chr1` and `1` → `1`; `chrX` → `X`; `chrM`, `M`, `MT`, `chrMT` → `MT`; other contigs keep their name. */
export function normaliseChromosome(name: string): string {
  const hit = chromCache.get(name);
  if (hit !== undefined) return hit;
  let c = name;
  if (c.length > 3 && /^chr/i.test(c)) c = c.slice(3);
  const u = c.toUpperCase();
  if (u === 'M' || u === 'MT') c = 'MT';
  else if (u === 'X' || u === 'Y') c = u;
  if (chromCache.size < 100_000) chromCache.set(name, c);
  return c;
}

/** GRC name for the spellings in use (`hg19`, `b37`, `GRCh37.p13`, `37`, a FASTA path such as `human_g1k_v37.fasta`). */
export function assemblyName(text: string | number | null | undefined): Assembly | null {
  if (text === null || text === undefined) return null;
  const s = String(text).toLowerCase();
  if (/^(37|grch37(\.p\d+)?|hg19|b37|hs37d?5?)$/.test(s) || /grch37|hg19|\bb37\b|_v37|hs37|g1k_v37|grch37/.test(s)) return 'GRCh37';
  if (/^(38|grch38(\.p\d+)?|hg38|b38|hs38(dh)?)$/.test(s) || /grch38|hg38|\bb38\b|_v38|hs38/.test(s)) return 'GRCh38';
  return null;
}

// Primary-assembly chromosome lengths (GRC): a contig line with one of these lengths names the assembly.
const LENGTHS: Record<Assembly, Record<string, number>> = {
  GRCh37: {
    1: 249250621, 2: 243199373, 3: 198022430, 4: 191154276, 5: 180915260, 6: 171115067, 7: 159138663, 8: 146364022,
    9: 141213431, 10: 135534747, 11: 135006516, 12: 133851895, 13: 115169878, 14: 107349540, 15: 102531392, 16: 90354753,
    17: 81195210, 18: 78077248, 19: 59128983, 20: 63025520, 21: 48129895, 22: 51304566, X: 155270560, Y: 59373566,
  },
  GRCh38: {
    1: 248956422, 2: 242193529, 3: 198295559, 4: 190214555, 5: 181538259, 6: 170805979, 7: 159345973, 8: 145138636,
    9: 138394717, 10: 133797422, 11: 135086622, 12: 133275309, 13: 114364328, 14: 107043718, 15: 101991189, 16: 90338345,
    17: 83257441, 18: 80373285, 19: 58617616, 20: 64444167, 21: 46709983, 22: 50818468, X: 156040895, Y: 57227415,
  },
};

/** Which assembly the contig lengths match: counts per assembly. */
function assemblyFromLengths(contigs: VcfContig[]): { GRCh37: number; GRCh38: number } {
  const votes = { GRCh37: 0, GRCh38: 0 };
  for (const c of contigs) {
    if (c.length === null) continue;
    const chrom = normaliseChromosome(c.id);
    if (LENGTHS.GRCh37[chrom] === c.length) votes.GRCh37++;
    if (LENGTHS.GRCh38[chrom] === c.length) votes.GRCh38++;
  }
  return votes;
}

/**
 * The assembly of a VCF: an option wins; then contig lengths (the most reliable: they are the
 * reference's own); then `assembly=` on contig lines; then `##reference`. `conflict` lists sources that disagree.
 */
export function detectAssembly(header: VcfHeader, option?: string): { assembly: Assembly | null; source: string; conflict: string[] } {
  const candidates: [string, Assembly | null][] = [];
  const votes = assemblyFromLengths(header.contigs);
  if (votes.GRCh37 > 0 && votes.GRCh38 === 0) candidates.push(['contig lengths', 'GRCh37']);
  else if (votes.GRCh38 > 0 && votes.GRCh37 === 0) candidates.push(['contig lengths', 'GRCh38']);
  const fromContig = header.contigs.map((c) => assemblyName(c.assembly)).find((a) => a !== null) ?? null;
  if (fromContig) candidates.push(['contig assembly', fromContig]);
  const fromReference = assemblyName(header.reference);
  if (fromReference) candidates.push(['##reference', fromReference]);
  const found = candidates[0];
  const conflict = found ? candidates.filter(([, a]) => a !== found[1]).map(([s, a]) => `${s}: ${a}`) : [];
  if (option !== undefined) {
    const a = assemblyName(option);
    if (!a) throw new InputError(`unknown assembly "${option}" (expected GRCh37, GRCh38 or a synonym such as hg19, hg38)`, header.file, undefined, 'assembly');
    return { assembly: a, source: 'option', conflict: found && found[1] !== a ? [`${found[0]}: ${found[1]}`] : [] };
  }
  return found ? { assembly: found[1], source: found[0], conflict } : { assembly: null, source: 'none', conflict: [] };
}

export function contigNaming(names: Iterable<string>): ContigNaming {
  let chr = 0;
  let plain = 0;
  for (const n of names) {
    if (/^chr/i.test(n)) chr++;
    else plain++;
  }
  return chr && plain ? 'mixed' : chr ? 'chr-prefixed' : plain ? 'plain' : 'none';
}

// ---------------------------------------------------------------------------------------------
// Text streaming: gzip (BGZF or plain) or uncompressed, split into lines, in batches.

export type Compression = 'bgzf' | 'gzip' | 'none';

/** Sniffs the compression from the magic bytes, never from the file name. */
export function compressionOf(file: string): Compression {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(18);
    const n = readSync(fd, head, 0, 18, 0);
    if (n < 2 || head[0] !== 0x1f || head[1] !== 0x8b) return 'none';
    // BGZF: gzip with FEXTRA and a 'BC' subfield (SAM/BAM spec, section 4.1).
    return n >= 14 && (head[3] & 4) !== 0 && head[12] === 0x42 && head[13] === 0x43 ? 'bgzf' : 'gzip';
  } finally {
    closeSync(fd);
  }
}

const BGZF_EOF = Buffer.from('1f8b08040000000000ff0600424302001b0003000000000000000000', 'hex');

/** A BGZF file ends with an empty block; without it the file was cut at a block boundary. */
function hasBgzfEof(file: string): boolean {
  const size = statSync(file).size;
  if (size < BGZF_EOF.length) return false;
  const fd = openSync(file, 'r');
  try {
    const tail = Buffer.alloc(BGZF_EOF.length);
    readSync(fd, tail, 0, tail.length, size - tail.length);
    return tail.equals(BGZF_EOF);
  } finally {
    closeSync(fd);
  }
}

export interface LineBatch {
  lines: string[];
  /** 1-based number of `lines[0]`. */
  first: number;
}

/**
 * Streams a text file (gzip, BGZF or plain) as batches of lines without line terminators. A
 * truncated gzip stream or a BGZF file without its end-of-file block is an InputError naming the last line read.
 */
export async function* readTextLines(file: string, field = 'file'): AsyncGenerator<LineBatch> {
  let compression: Compression;
  try {
    compression = compressionOf(file);
  } catch (e) {
    throw new InputError(`cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file, undefined, field);
  }
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  const gunzip = compression === 'none' ? null : createGunzip();
  if (gunzip) raw.on('error', (e) => gunzip.destroy(e));
  const stream = gunzip ? raw.pipe(gunzip) : raw;
  stream.setEncoding('utf8');
  let rest = '';
  let lineNo = 1;
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      const text = rest + chunk;
      const lines: string[] = [];
      let start = 0;
      let nl: number;
      while ((nl = text.indexOf('\n', start)) !== -1) {
        lines.push(text.charCodeAt(nl - 1) === 13 ? text.slice(start, nl - 1) : text.slice(start, nl));
        start = nl + 1;
      }
      rest = text.slice(start);
      if (lines.length) {
        yield { lines, first: lineNo };
        lineNo += lines.length;
      }
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    const err = e as NodeJS.ErrnoException;
    const what = err.code === 'Z_BUF_ERROR' ? 'truncated gzip stream (unexpected end of file)' : compression !== 'none' ? `corrupt gzip stream (${err.message})` : `read failed (${err.code ?? err.message})`;
    throw new InputError(`${what} after line ${lineNo - 1}`, file, `line ${lineNo}`, compression !== 'none' ? 'gzip' : field);
  } finally {
    raw.destroy();
    gunzip?.destroy();
  }
  if (rest.length) yield { lines: [rest.endsWith('\r') ? rest.slice(0, -1) : rest], first: lineNo };
  if (compression === 'bgzf' && !hasBgzfEof(file)) {
    throw new InputError('truncated BGZF file: the end-of-file block is missing', file, `line ${lineNo}`, 'gzip');
  }
}

// ---------------------------------------------------------------------------------------------
// Header.

const META_LINE = /^##([^=]+)=(.*)$/;

function metaAttributes(body: string): Record<string, string> {
  // `<ID=x,Number=1,Type=Integer,Description="a, b">`: commas inside quotes are not separators.
  const out: Record<string, string> = {};
  const inner = body.startsWith('<') && body.endsWith('>') ? body.slice(1, -1) : body;
  const re = /([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|[^,]*)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(inner))) out[m[1]] = m[2].startsWith('"') ? m[2].slice(1, -1) : m[2];
  return out;
}

interface ParsedHeader {
  header: VcfHeader;
  parser: VCFParser;
}

/** Parses the header lines (`##...` and `#CHROM`); `text` is them joined by newlines. */
function parseHeader(lines: string[], file: string): ParsedHeader {
  const last = lines[lines.length - 1];
  if (!last || !last.startsWith('#CHROM')) throw new InputError('no #CHROM header line', file, `line ${lines.length}`, '#CHROM');
  const columns = last.split('\t');
  const expected = ['#CHROM', 'POS', 'ID', 'REF', 'ALT', 'QUAL', 'FILTER', 'INFO'];
  for (let i = 0; i < expected.length; i++) {
    if (columns[i] !== expected[i]) {
      throw new InputError(`#CHROM line: column ${i + 1} is "${columns[i] ?? ''}", expected ${expected[i]} (columns must be tab-separated)`, file, `line ${lines.length}`, expected[i]);
    }
  }
  if (columns.length > 8 && columns[8] !== 'FORMAT') throw new InputError(`#CHROM line: column 9 is "${columns[8]}", expected FORMAT`, file, `line ${lines.length}`, 'FORMAT');
  const samples = columns.slice(9);
  const dup = samples.find((s, i) => samples.indexOf(s) !== i);
  if (dup !== undefined) throw new InputError(`sample "${dup}" appears twice on the #CHROM line`, file, `line ${lines.length}`, 'sample');
  const header: VcfHeader = { file, fileformat: null, samples, contigs: [], reference: null, info: {}, format: {}, filters: {}, lineCount: lines.length };
  for (let i = 0; i < lines.length - 1; i++) {
    const m = META_LINE.exec(lines[i]);
    if (!m) {
      if (!lines[i].startsWith('##')) throw new InputError('header line does not start with ##', file, `line ${i + 1}`, 'header');
      continue; // a bare `##comment`: the spec has no use for it, readers ignore it
    }
    const [, key, value] = m;
    if (i === 0 && key === 'fileformat') header.fileformat = value;
    else if (key === 'reference') header.reference = value;
    else if (key === 'contig') {
      const a = metaAttributes(value);
      if (a.ID) header.contigs.push({ id: a.ID, length: a.length && /^\d+$/.test(a.length) ? Number(a.length) : null, assembly: a.assembly ?? null });
    } else if (key === 'INFO' || key === 'FORMAT') {
      const a = metaAttributes(value);
      if (a.ID) (key === 'INFO' ? header.info : header.format)[a.ID] = { number: a.Number ?? '.', type: a.Type ?? 'String', description: a.Description ?? '' };
    } else if (key === 'FILTER') {
      const a = metaAttributes(value);
      if (a.ID) header.filters[a.ID] = a.Description ?? '';
    }
  }
  let parser: VCFParser;
  try {
    parser = new VCFParser({ header: lines.join('\n'), strict: false });
  } catch (e) {
    throw new InputError(`header not readable: ${(e as Error).message.split('\n')[0]}`, file, undefined, 'header');
  }
  return { header, parser };
}

// ---------------------------------------------------------------------------------------------
// Data lines.

const REF_RE = /^[ACGTNRYKMSWBDHVacgtnrykmswbdhv]+$/;
const ALT_RE = /^(?:[ACGTNRYKMSWBDHVacgtnrykmswbdhv]+|\*|<[^<>\t]+>|[A-Za-z]*[[\]][^\t,]*|\.[A-Za-z]+|[A-Za-z]+\.)$/;
const POS_RE = /^\d+$/;
const QUAL_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^(inf|nan)$/i;
const COLUMN = ['CHROM', 'POS', 'ID', 'REF', 'ALT', 'QUAL', 'FILTER', 'INFO', 'FORMAT'];
const FORMAT_KEYS = ['GT', 'DP', 'GQ'];

function recordName(line: number | null, chrom?: string, pos?: string | number): string {
  return line !== null ? `line ${line}` : `${chrom}:${pos}`;
}

function tabCount(line: string): number {
  let n = 0;
  let i = -1;
  while ((i = line.indexOf('\t', i + 1)) !== -1) n++;
  return n;
}

/** Parses and checks one data line; a malformed line is an InputError naming file, line and field. */
export function parseVcfLine(parser: VCFParser, header: VcfHeader, line: string, lineNo: number | null): VcfRecord {
  const file = header.file;
  const nSamples = header.samples.length;
  const columns = tabCount(line) + 1;
  const where = (): string => recordName(lineNo, line.slice(0, line.indexOf('\t')), '');
  if (columns < 8) throw new InputError(`data line has ${columns} tab-separated columns, at least 8 are required`, file, where(), COLUMN[columns] ?? 'INFO');
  const expected = nSamples ? 9 + nSamples : columns === 9 ? 9 : 8;
  if (columns !== expected) {
    throw new InputError(`data line has ${columns} columns, the #CHROM line declares ${nSamples ? 9 + nSamples : 8} (${nSamples} samples)`, file, where(), columns < expected ? (nSamples ? 'sample' : 'INFO') : 'sample');
  }
  // INFO is handed to @gmod/vcf as "." and kept verbatim: decoding every INFO key of every record
  // was two thirds of the parse time, and the harmonizer reads only a few keys of a few records.
  const infoStart = nthTab(line, 7) + 1;
  const infoEnd = columns > 8 ? line.indexOf('\t', infoStart) : line.length;
  const info = line.slice(infoStart, infoEnd);
  let v: Variant;
  try {
    v = parser.parseLine(info === '.' ? line : line.slice(0, infoStart) + '.' + line.slice(infoEnd));
  } catch (e) {
    throw new InputError(`not a VCF data line: ${(e as Error).message}`, file, where(), 'line');
  }
  const chrom = v.CHROM ?? '';
  if (!chrom || /\s/.test(chrom)) throw new InputError(`CHROM "${chrom}" is empty or contains whitespace`, file, recordName(lineNo, chrom, v.POS), 'CHROM');
  const posText = line.slice(chrom.length + 1, line.indexOf('\t', chrom.length + 1));
  if (!POS_RE.test(posText)) throw new InputError(`POS "${posText}" is not a non-negative integer`, file, recordName(lineNo, chrom, v.POS), 'POS');
  const ref = v.REF ?? '';
  if (!REF_RE.test(ref)) throw new InputError(`REF "${ref}" is not a sequence of bases`, file, recordName(lineNo, chrom, v.POS), 'REF');
  const alts = v.ALT ?? [];
  for (const a of alts) if (!ALT_RE.test(a)) throw new InputError(`ALT allele "${a}" is not a base sequence, *, <ID> or breakend`, file, recordName(lineNo, chrom, v.POS), 'ALT');
  const qualText = fieldAt(line, 5);
  if (qualText !== '.' && !QUAL_RE.test(qualText)) throw new InputError(`QUAL "${qualText}" is not a number or "."`, file, recordName(lineNo, chrom, v.POS), 'QUAL');
  const filters = v.FILTER === undefined ? [] : typeof v.FILTER === 'string' ? [v.FILTER] : v.FILTER;
  const rec: VcfRecord = {
    line: lineNo, chrom, pos: v.POS, ids: v.ID ?? [], ref, alts,
    qual: v.QUAL === undefined ? null : v.QUAL, filters, info: info || '.',
    ploidy: 0, gt: EMPTY_GT, phased: EMPTY_U8, dp: EMPTY_F32, gq: EMPTY_F32,
  };
  if (nSamples && v.FORMAT !== undefined) readSamples(v, header, rec);
  return rec;
}

const EMPTY_GT = new Int16Array(0);
const EMPTY_U8 = new Uint8Array(0);
const EMPTY_F32 = new Float32Array(0);

/** Offset of the n-th tab (1-based n). */
function nthTab(line: string, n: number): number {
  let i = -1;
  for (let k = 0; k < n; k++) i = line.indexOf('\t', i + 1);
  return i;
}

function fieldAt(line: string, index: number): string {
  const start = nthTab(line, index) + 1;
  const end = line.indexOf('\t', start);
  return line.slice(start, end === -1 ? line.length : end);
}

// ---------------------------------------------------------------------------------------------
// INFO, decoded on demand with the types the header declares (as @gmod/vcf does).

function decodeInfo(raw: string, type: string | undefined, escaped: boolean): InfoValue {
  if (type === 'Flag') return true;
  const isNumber = type === 'Integer' || type === 'Float';
  const items = raw.split(',');
  const out: (string | number | undefined)[] = new Array(items.length);
  for (let j = 0; j < items.length; j++) {
    const v = items[j];
    if (v === '.') out[j] = undefined;
    else {
      const w = escaped ? safeDecode(v) : v;
      out[j] = isNumber ? Number(w) : w;
    }
  }
  return out;
}

function safeDecode(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

/** One INFO key of a record: `true` for a flag, the comma-separated values, or undefined when absent. */
export function infoValue(header: VcfHeader, info: string, key: string): InfoValue | undefined {
  if (info === '.' || !info) return undefined;
  let at = 0;
  for (;;) {
    const i = info.indexOf(key, at);
    if (i === -1) return undefined;
    const after = i + key.length;
    if ((i === 0 || info.charCodeAt(i - 1) === 59) && (after === info.length || info.charCodeAt(after) === 59 || info.charCodeAt(after) === 61)) {
      if (after === info.length || info.charCodeAt(after) === 59) return true;
      const end = info.indexOf(';', after + 1);
      const raw = info.slice(after + 1, end === -1 ? info.length : end);
      return raw === '' ? true : decodeInfo(raw, header.info[key]?.type, raw.includes('%'));
    }
    at = after;
  }
}

/** Every INFO key of a record, decoded. */
export function infoValues(header: VcfHeader, info: string): Record<string, InfoValue> {
  const out: Record<string, InfoValue> = {};
  if (info === '.' || !info) return out;
  const escaped = info.includes('%');
  for (const pair of info.split(';')) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    if (!key) continue;
    const raw = eq === -1 ? '' : pair.slice(eq + 1);
    out[key] = raw === '' ? true : decodeInfo(raw, header.info[key]?.type, escaped);
  }
  return out;
}

let scratch = new Int32Array(64);

/** GT, DP and GQ of every sample, read from offsets into the line (no per-sample strings or objects). */
function readSamples(v: Variant, header: VcfHeader, rec: VcfRecord): void {
  const n = header.samples.length;
  if (scratch.length < 2 * n) scratch = new Int32Array(2 * n);
  const gtStart = scratch; // [start, end) of sample s's GT at 2s, 2s + 1; reused across records
  gtStart.fill(-1, 0, 2 * n);
  const dp = new Float32Array(n).fill(NaN);
  const gq = new Float32Array(n).fill(NaN);
  let ploidy = 0;
  let line = '';
  v.processFormatFields(FORMAT_KEYS, (str, r, s) => {
    line = str;
    if (r[0] !== -1) {
      gtStart[2 * s] = r[0];
      gtStart[2 * s + 1] = r[1];
      let p = 1;
      for (let i = r[0]; i < r[1]; i++) {
        const c = str.charCodeAt(i);
        if (c === 47 || c === 124) p++;
      }
      if (p > ploidy) ploidy = p;
    }
    if (r[2] !== -1) dp[s] = numberField(str, r[2], r[3], header, rec, s, 'DP');
    if (r[4] !== -1) gq[s] = numberField(str, r[4], r[5], header, rec, s, 'GQ');
  });
  rec.dp = dp;
  rec.gq = gq;
  if (ploidy === 0) return;
  const gt = new Int16Array(n * ploidy).fill(ALLELE_ABSENT);
  const phased = new Uint8Array(n);
  const nAlleles = rec.alts.length + 1;
  for (let s = 0; s < n; s++) {
    const a = gtStart[2 * s];
    if (a === -1) continue;
    parseGenotype(line, a, gtStart[2 * s + 1], gt, s * ploidy, phased, s, nAlleles, header, rec);
  }
  rec.ploidy = ploidy;
  rec.gt = gt;
  rec.phased = phased;
}

function numberField(str: string, a: number, b: number, header: VcfHeader, rec: VcfRecord, s: number, key: string): number {
  if (b - a === 1 && str.charCodeAt(a) === 46) return NaN;
  const x = Number(str.slice(a, b));
  if (Number.isNaN(x)) throw new InputError(`sample ${header.samples[s]}: ${key} "${str.slice(a, b)}" is not a number`, header.file, recordName(rec.line, rec.chrom, rec.pos), key);
  return x;
}

/** `0/1`, `1|0`, `./.`, `1`, `0/1/2`: allele indices into `out`, phase into `phased`. */
function parseGenotype(str: string, a: number, b: number, out: Int16Array, at: number, phased: Uint8Array, s: number, nAlleles: number, header: VcfHeader, rec: VcfRecord): void {
  let k = 0;
  let allPhased = true;
  let seps = 0;
  let i = a;
  // VCF 4.4 allows a leading phase marker on the first allele; skip it.
  if (i < b && (str.charCodeAt(i) === 124 || str.charCodeAt(i) === 47)) i++;
  while (i <= b) {
    let value = 0;
    let digits = 0;
    while (i < b) {
      const c = str.charCodeAt(i);
      if (c < 48 || c > 57) break;
      value = value * 10 + (c - 48);
      digits++;
      i++;
    }
    if (digits === 0) {
      if (i < b && str.charCodeAt(i) === 46) {
        out[at + k] = ALLELE_MISSING;
        i++;
      } else {
        throw new InputError(`sample ${header.samples[s]}: GT "${str.slice(a, b)}" is malformed`, header.file, recordName(rec.line, rec.chrom, rec.pos), 'GT');
      }
    } else {
      if (value >= nAlleles) throw new InputError(`sample ${header.samples[s]}: GT "${str.slice(a, b)}" refers to allele ${value}, the record has ${nAlleles - 1} ALT allele(s)`, header.file, recordName(rec.line, rec.chrom, rec.pos), 'GT');
      out[at + k] = value;
    }
    k++;
    if (i >= b) break;
    const sep = str.charCodeAt(i);
    if (sep !== 47 && sep !== 124) throw new InputError(`sample ${header.samples[s]}: GT "${str.slice(a, b)}" is malformed`, header.file, recordName(rec.line, rec.chrom, rec.pos), 'GT');
    if (sep === 47) allPhased = false;
    seps++;
    i++;
  }
  phased[s] = seps > 0 && allPhased ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Reader.

export interface VcfStats {
  records: number;
  multiallelicRecords: number;
  /** Records per contig (names as written), in the order first seen. */
  contigRecords: Map<string, number>;
  phasedGenotypes: number;
  /** Uncompressed characters read, line terminators included (bytes, for ASCII files). */
  bytes: number;
}

/** An open VCF: its header, then its records streamed in batches (once). */
export class VcfReader {
  readonly stats: VcfStats = { records: 0, multiallelicRecords: 0, contigRecords: new Map(), phasedGenotypes: 0, bytes: 0 };
  private consumed = false;

  private constructor(
    readonly file: string,
    readonly header: VcfHeader,
    private readonly parser: VCFParser,
    private readonly source: AsyncGenerator<LineBatch>,
    private pending: LineBatch | null,
    private readonly options: VcfOpenOptions,
    readonly compression: Compression,
  ) {}

  /** Reads the header (streamed; the data lines stay unread until `batches()` or `records()`). */
  static async open(file: string, options: VcfOpenOptions = {}): Promise<VcfReader> {
    if (!existsSync(file)) throw new InputError('no such file', file, undefined, 'file');
    const compression = compressionOf(file);
    const source = readTextLines(file);
    const headerLines: string[] = [];
    let pending: LineBatch | null = null;
    let headerBytes = 0;
    outer: for (;;) {
      const next = await source.next();
      if (next.done) break;
      const { lines, first } = next.value;
      for (let i = 0; i < lines.length; i++) {
        const l = lines[i];
        if (l.length === 0 && headerLines.length === 0) continue;
        if (!l.startsWith('#')) {
          throw new InputError('no #CHROM header line before the first data line', file, `line ${first + i}`, '#CHROM');
        }
        headerLines.push(l);
        headerBytes += l.length + 1;
        if (l.startsWith('#CHROM')) {
          pending = { lines: lines.slice(i + 1), first: first + i + 1 };
          break outer;
        }
      }
    }
    if (!headerLines.length || !headerLines[headerLines.length - 1].startsWith('#CHROM')) {
      throw new InputError(headerLines.length ? 'no #CHROM header line (the file ends inside the header)' : 'empty file: no VCF header', file, `line ${headerLines.length + 1}`, '#CHROM');
    }
    const { header, parser } = parseHeader(headerLines, file);
    const reader = new VcfReader(file, header, parser, source, pending, options, compression);
    reader.stats.bytes = headerBytes;
    return reader;
  }

  /** Records in batches of a few thousand (one decompressed chunk each). */
  async *batches(): AsyncGenerator<VcfRecord[]> {
    if (this.consumed) throw new Error(`${this.file}: records were already read; open the file again`);
    this.consumed = true;
    if (this.pending) yield this.parseBatch(this.pending);
    this.pending = null;
    for await (const batch of this.source) yield this.parseBatch(batch);
  }

  async *records(): AsyncGenerator<VcfRecord> {
    for await (const batch of this.batches()) yield* batch;
  }

  private parseBatch({ lines, first }: LineBatch): VcfRecord[] {
    const out: VcfRecord[] = [];
    const stats = this.stats;
    let lastChrom = '';
    let lastCount = 0;
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i];
      stats.bytes += l.length + 1;
      if (l.length === 0) continue;
      if (l.charCodeAt(0) === 35) throw new InputError('header line after the #CHROM line', this.file, `line ${first + i}`, 'header');
      const r = parseVcfLine(this.parser, this.header, l, first + i);
      out.push(r);
      stats.records++;
      if (r.alts.length > 1) stats.multiallelicRecords++;
      for (let s = 0; s < r.phased.length; s++) stats.phasedGenotypes += r.phased[s];
      if (r.chrom !== lastChrom) {
        if (lastChrom) stats.contigRecords.set(lastChrom, (stats.contigRecords.get(lastChrom) ?? 0) + lastCount);
        lastChrom = r.chrom;
        lastCount = 0;
      }
      lastCount++;
    }
    if (lastChrom) stats.contigRecords.set(lastChrom, (stats.contigRecords.get(lastChrom) ?? 0) + lastCount);
    return out;
  }

  /** The `.tbi` beside the file, if there is one. */
  get indexPath(): string | null {
    return tabixIndexOf(this.file);
  }

  /**
   * Acquisition parameters: from the header, plus the record counts once the records were read
   * (`records` is -1 before that).
   */
  acquisition(): VcfAcquisition {
    const h = this.header;
    const asm = detectAssembly(h, this.options.assembly);
    const contigs = [...this.stats.contigRecords.keys()];
    const out: VcfAcquisition = {
      format: 'VCF',
      fileformat: h.fileformat ?? 'unknown',
      assembly: asm.assembly ?? 'unknown',
      assemblySource: asm.source,
      samples: h.samples,
      sampleCount: h.samples.length,
      records: this.consumed ? this.stats.records : -1,
      multiallelicRecords: this.consumed ? this.stats.multiallelicRecords : -1,
      phasedGenotypes: this.consumed ? this.stats.phasedGenotypes : -1,
      contigs,
      contigNaming: contigNaming(contigs),
      headerContigs: h.contigs.length,
      headerContigNaming: contigNaming(h.contigs.map((c) => c.id)),
      compression: this.compression,
      indexed: this.indexPath !== null,
      bytes: statSync(this.file).size,
    };
    if (h.reference) out.reference = h.reference;
    if (asm.conflict.length) out.assemblyConflict = asm.conflict;
    return out;
  }
}

/** Reads the whole file once and returns its acquisition parameters (header and record counts). */
export async function scanVcf(file: string, options: VcfOpenOptions = {}): Promise<{ header: VcfHeader; acquisition: VcfAcquisition; stats: VcfStats }> {
  const reader = await VcfReader.open(file, options);
  for await (const batch of reader.batches()) void batch;
  return { header: reader.header, acquisition: reader.acquisition(), stats: reader.stats };
}

export function tabixIndexOf(file: string): string | null {
  return existsSync(`${file}.tbi`) ? `${file}.tbi` : null;
}

/** The contig name the index uses for `chrom` (`10`, `chr10`; `MT`, `chrM`). */
function resolveContig(chrom: string, names: string[]): string | null {
  if (names.includes(chrom)) return chrom;
  const want = normaliseChromosome(chrom);
  return names.find((n) => normaliseChromosome(n) === want) ?? null;
}

/**
 * Records overlapping a region (1-based, inclusive), read through the file's `.tbi` index with
 * @gmod/tabix: only the BGZF blocks the index points to are decompressed. The region's chromosome
 * may be named either way (`10` or `chr10`).
 */
export async function queryVcf(file: string, region: GenomicRegion, options: { tbiPath?: string } = {}): Promise<{ header: VcfHeader; records: VcfRecord[] }> {
  const tbiPath = options.tbiPath ?? tabixIndexOf(file);
  if (!tbiPath || !existsSync(tbiPath)) throw new InputError('no tabix index (.tbi) beside the file: region queries need one (bgzip + tabix -p vcf)', file, undefined, 'index');
  if (!(region.start >= 1) || !(region.end >= region.start)) throw new InputError(`region ${region.chrom}:${region.start}-${region.end} is not a 1-based inclusive range`, file, undefined, 'region');
  if (compressionOf(file) !== 'bgzf') throw new InputError('region queries need a BGZF-compressed file (bgzip), this one is not', file, undefined, 'gzip');
  const tabix = new TabixIndexedFile({ path: file, tbiPath });
  let headerText: string;
  let names: string[];
  try {
    headerText = await tabix.getHeader();
    names = await tabix.getReferenceSequenceNames();
  } catch (e) {
    throw new InputError(`tabix index or file not readable: ${(e as Error).message}`, file, undefined, 'index');
  }
  const headerLines = headerText.split('\n').filter((l) => l.length > 0);
  const { header, parser } = parseHeader(headerLines, file);
  const ref = resolveContig(region.chrom, names);
  const records: VcfRecord[] = [];
  if (ref === null) return { header, records };
  await tabix.getLines(ref, region.start - 1, region.end, (line: string) => {
    records.push(parseVcfLine(parser, header, line, null));
  });
  return { header, records };
}
