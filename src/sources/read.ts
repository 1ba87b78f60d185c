import { createReadStream, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import yauzl from 'yauzl';

/** Where a record came from: the file, the entry inside an archive, the line of a JSON Lines file. */
export interface Origin {
  file: string;
  entry?: string;
  line?: number;
}

/** One JSON document read from a source, or why it could not be read. */
export interface SourceRecord {
  origin: Origin;
  json?: unknown;
  /** Set when the bytes were not a JSON document; `path` is `$` for the whole document. */
  error?: { path: string; reason: string };
}

export function describeOrigin(o: Origin): string {
  return o.file + (o.entry ? `!${o.entry}` : '') + (o.line ? `:${o.line}` : '');
}

/** Bounds on what one source may make us hold in memory, each refused with a clear reason. */
export interface ReadLimits {
  /** Deepest nesting of arrays and objects in one JSON document (checked before it is parsed). */
  maxDepth: number;
  /** Largest JSON document (one file, one zip entry, one JSON Lines line), in bytes. */
  maxRecordBytes: number;
  /** Largest zip entry once inflated, in bytes (a JSON Lines entry may hold many records). */
  maxEntryBytes: number;
}

export const DEFAULT_READ_LIMITS: ReadLimits = { maxDepth: 64, maxRecordBytes: 16 << 20, maxEntryBytes: 64 << 20 };

export interface ReadOptions {
  limits?: Partial<ReadLimits>;
  /** Told about what a folder walk skipped (a symbolic link loop, an entry that cannot be read). */
  onNote?: (origin: Origin, note: string) => void;
  /**
   * Only these records: called with each file's origin, with an archive entry's origin before it is
   * inflated (no line yet) and with each record's origin; false skips it. For re-reading quarantined records.
   */
  want?: (origin: Origin) => boolean;
}

interface Reader {
  limits: ReadLimits;
  onNote: (origin: Origin, note: string) => void;
  want: (origin: Origin) => boolean;
}

const mib = (n: number): string => (n >= 1 << 20 ? `${+(n / (1 << 20)).toFixed(1)} MiB` : `${n} bytes`);

function parse(text: string, origin: Origin, limits: ReadLimits): SourceRecord {
  if (text.length > limits.maxRecordBytes) return { origin, error: { path: '$', reason: `record of ${mib(text.length)} is larger than the limit of ${mib(limits.maxRecordBytes)} (maxRecordBytes)` } };
  // A UTF-8 byte order mark is not JSON, but editors on some systems write one.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  // JSON.parse itself copes with any depth, but every recursive walk after it (ours, JSON.stringify
  // of the quarantine) would overflow the stack: refuse deep documents before they are built.
  const deep = nestingPastLimit(body, limits.maxDepth);
  if (deep >= 0) return { origin, error: { path: '$', reason: `nested deeper than ${limits.maxDepth} levels (at character ${deep}; limit maxDepth)` } };
  try {
    return { origin, json: JSON.parse(body) };
  } catch (e) {
    return { origin, error: { path: '$', reason: `invalid JSON: ${(e as Error).message}` } };
  }
}

/** Where JSON text first opens more than `max` arrays and objects at once, or -1; strings are skipped. */
export function nestingPastLimit(text: string, max: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return i;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return -1;
}

const isJson = (name: string): boolean => /\.json$/i.test(name);
const isJsonl = (name: string): boolean => /\.(jsonl|ndjson)(\.gz)?$/i.test(name);
const isZip = (name: string): boolean => /\.zip$/i.test(name);
const errorCode = (e: unknown): string => (e as NodeJS.ErrnoException)?.code ?? (e as Error)?.message ?? String(e);

/**
 * Reads phenopacket JSON documents from files, directories (recursive, sorted for reproducibility),
 * `.zip` archives (any depth of folders inside) and `.jsonl` files. Unreadable documents are yielded
 * with an error rather than thrown, so one bad record never stops the rest; only a source that does
 * not exist at all is an error. Sizes and depth are bounded by `limits`.
 */
export async function* readJsonDocuments(sources: string[], options: ReadOptions = {}): AsyncGenerator<SourceRecord> {
  const reader: Reader = { limits: { ...DEFAULT_READ_LIMITS, ...options.limits }, onNote: options.onNote ?? (() => {}), want: options.want ?? (() => true) };
  for (const source of sources) {
    let st;
    try {
      st = statSync(source);
    } catch {
      throw new Error(`${source}: no such file or directory`);
    }
    if (st.isDirectory()) {
      for (const file of listFiles(source, reader.onNote)) yield* readFileDocuments(file, reader);
    } else {
      yield* readFileDocuments(source, reader);
    }
  }
}

/**
 * The readable files under a folder. Each folder is entered once by its real path, so a symbolic link
 * loop (or a second link to a folder already read) is skipped with a note; an entry that cannot be
 * listed or followed is a note too, and the files beside it are still read.
 */
function listFiles(dir: string, onNote: (o: Origin, note: string) => void): string[] {
  const out: string[] = [];
  const entered = new Map<string, string>();
  const walk = (d: string): void => {
    let real: string;
    let names: string[];
    try {
      real = realpathSync(d);
      names = readdirSync(d).sort();
    } catch (e) {
      return onNote({ file: d }, `folder skipped: cannot be read (${errorCode(e)})`);
    }
    const earlier = entered.get(real);
    if (earlier !== undefined) return onNote({ file: d }, `folder skipped: it is ${earlier} again (a symbolic link loop or a second link to it)`);
    entered.set(real, d);
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const p = join(d, name);
      let st;
      try {
        st = statSync(p);
      } catch (e) {
        onNote({ file: p }, `skipped: cannot be read (${errorCode(e)}${lstatIsLink(p) ? ', a broken symbolic link' : ''})`);
        continue;
      }
      if (st.isDirectory()) walk(p);
      else if (isJson(name) || isJsonl(name) || isZip(name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

function lstatIsLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

async function* readFileDocuments(file: string, reader: Reader): AsyncGenerator<SourceRecord> {
  if (!reader.want({ file })) return;
  if (isZip(file)) yield* readZip(file, reader);
  else if (isJsonl(file)) yield* readJsonl(file, reader);
  else yield await readJsonFile(file, reader);
}

async function readJsonFile(file: string, reader: Reader): Promise<SourceRecord> {
  const origin = { file };
  try {
    const size = statSync(file).size;
    if (size > reader.limits.maxRecordBytes) return { origin, error: { path: '$', reason: `file of ${mib(size)} is larger than the record limit of ${mib(reader.limits.maxRecordBytes)} (maxRecordBytes); not read` } };
    return parse(await readFile(file, 'utf8'), origin, reader.limits);
  } catch (e) {
    return { origin, error: { path: '$', reason: `cannot read the file (${errorCode(e)})` } };
  }
}

async function* readJsonl(file: string, reader: Reader): AsyncGenerator<SourceRecord> {
  const raw = createReadStream(file);
  const input = /\.gz$/i.test(file) ? raw.pipe(createGunzip()) : raw;
  // A failing stream (unreadable file, corrupt gzip) ends the file with one error record, not the ingest.
  let failure: unknown;
  raw.on('error', (e) => (failure ??= e));
  try {
    for await (const l of splitLines(input, reader.limits.maxRecordBytes)) yield* lineRecord(l, { file, line: l.line }, reader);
  } catch (e) {
    failure ??= e;
  }
  if (failure) yield { origin: { file }, error: { path: '$', reason: `cannot read the rest of the file (${errorCode(failure)})` } };
}

function* lineRecord(l: Line, origin: Origin, reader: Reader): Generator<SourceRecord> {
  if (!reader.want(origin)) return;
  if (l.tooLong !== undefined) yield { origin, error: { path: '$', reason: `line of ${mib(l.tooLong)} is larger than the record limit of ${mib(reader.limits.maxRecordBytes)} (maxRecordBytes); not parsed` } };
  else if (l.text.trim()) yield parse(l.text, origin, reader.limits);
}

type Line = { line: number; text: string; tooLong?: undefined } | { line: number; text?: undefined; tooLong: number };

/** Lines of a byte stream; a line longer than `max` bytes is not kept, only its length reported. */
export async function* splitLines(input: AsyncIterable<Buffer | string>, max: number): AsyncGenerator<Line> {
  let parts: Buffer[] = [];
  let size = 0;
  let line = 0;
  const end = (): Line => {
    line++;
    const out: Line = size > max ? { line, tooLong: size } : { line, text: Buffer.concat(parts).toString('utf8').replace(/\r$/, '') };
    parts = [];
    size = 0;
    return out;
  };
  for await (const c of input) {
    const chunk = typeof c === 'string' ? Buffer.from(c) : c;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      const piece = chunk.subarray(start, nl < 0 ? chunk.length : nl);
      size += piece.length;
      if (size <= max) parts.push(piece);
      else parts = [];
      if (nl < 0) break;
      yield end();
      start = nl + 1;
    }
  }
  if (size > 0) yield end();
}

/** Streams a zip's entries one at a time, so archives larger than memory work. */
async function* readZip(file: string, reader: Reader): AsyncGenerator<SourceRecord> {
  let zip: yauzl.ZipFile;
  try {
    zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.open(file, { lazyEntries: true, autoClose: true }, (err, z) => (err ? reject(err) : resolve(z!))));
  } catch (e) {
    yield { origin: { file }, error: { path: '$', reason: `not a readable zip archive: ${(e as Error).message}` } };
    return;
  }
  const queue: (yauzl.Entry | null | Error)[] = [];
  let wake: (() => void) | undefined;
  const push = (x: yauzl.Entry | null | Error): void => {
    queue.push(x);
    wake?.();
  };
  zip.on('entry', (e: yauzl.Entry) => push(e));
  zip.on('end', () => push(null));
  zip.on('error', (e: Error) => push(e));
  zip.readEntry();
  try {
    for (;;) {
      if (queue.length === 0) await new Promise<void>((r) => (wake = r));
      wake = undefined;
      const item = queue.shift()!;
      if (item === null) return;
      if (item instanceof Error) {
        // The central directory itself is broken: what was read stands, the rest of the archive is one error.
        yield { origin: { file }, error: { path: '$', reason: `corrupt zip archive, entries after this point not read: ${item.message}` } };
        return;
      }
      yield* readZipEntry(zip, item, file, reader);
      zip.readEntry();
    }
  } finally {
    zip.close();
  }
}

async function* readZipEntry(zip: yauzl.ZipFile, item: yauzl.Entry, file: string, reader: Reader): AsyncGenerator<SourceRecord> {
  const name = item.fileName;
  if (name.endsWith('/') || name.split('/').some((p) => p.startsWith('.') || p === '__MACOSX')) return;
  const origin = { file, entry: name };
  if (!reader.want(origin)) return;
  if (!isJson(name) && !isJsonl(name)) {
    yield { origin, error: { path: '$', reason: 'not a JSON entry (expected .json or .jsonl)' } };
    return;
  }
  // The central directory says how large the entry is once inflated: too large is refused unread.
  const limit = isJsonl(name) ? reader.limits.maxEntryBytes : Math.min(reader.limits.maxEntryBytes, reader.limits.maxRecordBytes);
  const which = isJsonl(name) ? 'maxEntryBytes' : 'maxRecordBytes';
  if (item.uncompressedSize > limit) {
    yield { origin, error: { path: '$', reason: `zip entry of ${mib(item.uncompressedSize)} (uncompressed) is larger than the limit of ${mib(limit)} (${which}); not inflated` } };
    return;
  }
  let text: string;
  try {
    text = await entryText(zip, item, limit);
  } catch (e) {
    yield { origin, error: { path: '$', reason: `cannot inflate this zip entry: ${(e as Error).message}` } };
    return;
  }
  if (!isJsonl(name)) {
    yield parse(text, origin, reader.limits);
    return;
  }
  let line = 0;
  for (const l of text.split(/\r?\n/)) {
    line++;
    const lo = { ...origin, line };
    if (!reader.want(lo)) continue;
    if (l.length > reader.limits.maxRecordBytes) yield { origin: lo, error: { path: '$', reason: `line of ${mib(l.length)} is larger than the record limit of ${mib(reader.limits.maxRecordBytes)} (maxRecordBytes); not parsed` } };
    else if (l.trim()) yield parse(l, lo, reader.limits);
  }
}

/** Inflates one entry, stopping at `limit` bytes whatever its header claims (a zip bomb lies about sizes). */
function entryText(zip: yauzl.ZipFile, entry: yauzl.Entry, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err || !stream) return reject(err ?? new Error('no data'));
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limit) {
          stream.destroy();
          return reject(new Error(`it inflates past the limit of ${mib(limit)} although it declares ${mib(entry.uncompressedSize)}; stopped`));
        }
        chunks.push(c);
      });
      stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      stream.on('error', reject);
    });
  });
}

/**
 * How many documents the sources hold, when that is cheap to know (zip central directories, folder
 * listings, single files); undefined when a JSON Lines file would have to be read to count. For progress bars.
 */
export async function countDocuments(sources: string[]): Promise<number | undefined> {
  let total = 0;
  for (const source of sources) {
    let files: string[];
    try {
      files = statSync(source).isDirectory() ? listFiles(source, () => {}) : [source];
    } catch {
      return undefined;
    }
    for (const f of files) {
      if (isJsonl(f)) return undefined;
      if (!isZip(f)) total++;
      else total += await new Promise<number>((resolve) =>
        yauzl.open(f, { lazyEntries: true, autoClose: false }, (err, z) => {
          if (err || !z) return resolve(0);
          resolve(z.entryCount);
          z.close();
        }),
      );
    }
  }
  return total;
}
