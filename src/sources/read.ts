import { createReadStream, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
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

function parse(text: string, origin: Origin): SourceRecord {
  try {
    // A UTF-8 byte order mark is not JSON, but editors on some systems write one.
    return { origin, json: JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) };
  } catch (e) {
    return { origin, error: { path: '$', reason: `invalid JSON: ${(e as Error).message}` } };
  }
}

const isJson = (name: string): boolean => /\.json$/i.test(name);
const isJsonl = (name: string): boolean => /\.(jsonl|ndjson)(\.gz)?$/i.test(name);
const isZip = (name: string): boolean => /\.zip$/i.test(name);

/**
 * Reads phenopacket JSON documents from files, directories (recursive, sorted for reproducibility),
 * `.zip` archives (any depth of folders inside) and `.jsonl` files. Unreadable documents are yielded
 * with an error rather than thrown, so one bad record never stops the rest.
 */
export async function* readJsonDocuments(sources: string[]): AsyncGenerator<SourceRecord> {
  for (const source of sources) {
    let st;
    try {
      st = statSync(source);
    } catch {
      throw new Error(`${source}: no such file or directory`);
    }
    if (st.isDirectory()) {
      for (const file of listFiles(source)) yield* readFileDocuments(file);
    } else {
      yield* readFileDocuments(source);
    }
  }
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      if (name.startsWith('.')) continue;
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (isJson(name) || isJsonl(name) || isZip(name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

async function* readFileDocuments(file: string): AsyncGenerator<SourceRecord> {
  if (isZip(file)) yield* readZip(file);
  else if (isJsonl(file)) yield* readJsonl(file);
  else yield parse(await readFile(file, 'utf8'), { file });
}

async function* readJsonl(file: string): AsyncGenerator<SourceRecord> {
  const raw = createReadStream(file);
  const input = /\.gz$/i.test(file) ? raw.pipe(createGunzip()) : raw;
  let line = 0;
  for await (const text of createInterface({ input, crlfDelay: Infinity })) {
    line++;
    if (text.trim()) yield parse(text, { file, line });
  }
}

/** Streams a zip's entries one at a time, so archives larger than memory work. */
async function* readZip(file: string): AsyncGenerator<SourceRecord> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: true }, (err, z) => (err ? reject(new Error(`${file}: not a readable zip archive: ${err.message}`)) : resolve(z!))),
  );
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
  for (;;) {
    if (queue.length === 0) await new Promise<void>((r) => (wake = r));
    wake = undefined;
    const item = queue.shift()!;
    if (item === null) return;
    if (item instanceof Error) throw new Error(`${file}: corrupt zip archive: ${item.message}`);
    const name = item.fileName;
    if (!name.endsWith('/') && !name.split('/').some((p) => p.startsWith('.') || p === '__MACOSX')) {
      const origin = { file, entry: name };
      if (isJson(name) || isJsonl(name)) {
        const text = await entryText(zip, item);
        if (isJsonl(name)) {
          let line = 0;
          for (const l of text.split(/\r?\n/)) {
            line++;
            if (l.trim()) yield parse(l, { ...origin, line });
          }
        } else {
          yield parse(text, origin);
        }
      } else {
        yield { origin, error: { path: '$', reason: 'not a JSON entry (expected .json or .jsonl)' } };
      }
    }
    zip.readEntry();
  }
}

function entryText(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<string> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err || !stream) return reject(err);
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
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
      files = statSync(source).isDirectory() ? listFiles(source) : [source];
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
