import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { nestingPastLimit, readJsonDocuments, splitLines, type Origin, type SourceRecord } from '../../../src/sources/read.js';
import { writeZip as zipBytes } from '../../../src/cohort/index.js';
import { fixtures, tempDir } from '../../helpers/paths.js';

const P1 = readFileSync(join(fixtures, 'phenopackets', 'patient-1.json'), 'utf8');

async function readAll(sources: string[], options: Parameters<typeof readJsonDocuments>[1] = {}): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const r of readJsonDocuments(sources, options)) out.push(r);
  return out;
}

/** A zip whose directory and local header claim `claimed` bytes for every entry, whatever they hold. */
function lyingZip(entries: Record<string, string>, claimed: number): Buffer {
  const zip = Buffer.from(zipBytes(Object.entries(entries).map(([name, data]) => ({ name, data }))));
  for (let i = 0; i + 4 <= zip.length; i++) {
    const sig = zip.readUInt32LE(i);
    if (sig === 0x04034b50) zip.writeUInt32LE(claimed, i + 22);
    if (sig === 0x02014b50) zip.writeUInt32LE(claimed, i + 24);
  }
  return zip;
}

describe('reading JSON documents: limits and odd folders', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => (dir = tempDir()));
  afterEach(() => dir.remove());

  test('10,000-deep nesting is refused before parsing, with the limit in the reason', async () => {
    const f = join(dir.path, 'deep.json');
    writeFileSync(f, '{"id":"x","subject":' + '['.repeat(10_000) + ']'.repeat(10_000) + '}');
    const [r] = await readAll([f]);
    expect(r.json).toBeUndefined();
    expect(r.error).toEqual({ path: '$', reason: 'nested deeper than 64 levels (at character 83; limit maxDepth)' });
    expect(nestingPastLimit('{"a":"[[[[[[[[[[[","b":[[]]}', 3)).toBe(-1);
    expect(nestingPastLimit('{"a":"\\"[[","b":[[[]]]}', 3)).toBe(18);
  });

  test('a file or line past the record size is refused unread; a zip entry past its limit is not inflated', async () => {
    const big = join(dir.path, 'big.json');
    writeFileSync(big, JSON.stringify({ id: 'big', pad: 'x'.repeat(5000) }));
    const lines = join(dir.path, 'lines.jsonl.gz');
    writeFileSync(lines, gzipSync([P1.replace(/\n\s*/g, ''), JSON.stringify({ pad: 'y'.repeat(5000) }), '{"id":"last"}'].join('\n')));
    const zip = join(dir.path, 'a.zip');
    writeFileSync(zip, zipBytes([{ name: 'huge.json', data: ' '.repeat(200_000) + '{}' }, { name: 'ok.json', data: '{"id":"ok"}' }]));
    const limits = { maxRecordBytes: 4096, maxEntryBytes: 100_000 };
    const got = await readAll([big, lines, zip], { limits });
    const why = got.map((r) => [r.origin.entry ?? r.origin.line ?? '', r.error?.reason ?? (r.json as { id?: string }).id]);
    expect(why).toEqual([
      ['', 'file of 5021 bytes is larger than the record limit of 4096 bytes (maxRecordBytes); not read'],
      [1, 'PMID_1_Patient_1'],
      [2, 'line of 5010 bytes is larger than the record limit of 4096 bytes (maxRecordBytes); not parsed'],
      [3, 'last'],
      ['huge.json', 'zip entry of 200002 bytes (uncompressed) is larger than the limit of 4096 bytes (maxRecordBytes); not inflated'],
      ['ok.json', 'ok'],
    ]);
  });

  test('a zip bomb whose directory lies about its size stops inflating; the next entry is still read', async () => {
    const zip = join(dir.path, 'bomb.zip');
    writeFileSync(zip, lyingZip({ 'bomb.json': ' '.repeat(3_000_000), 'next.json': '{"id":"n"}' }, 1000));
    const got = await readAll([zip]);
    expect(got[0].origin.entry).toBe('bomb.json');
    expect(got[0].error?.reason).toMatch(/^cannot inflate this zip entry: /);
    // The second entry's header lies too (it claims 1000 bytes, holds 10): that is an error, not a crash.
    expect(got).toHaveLength(2);
    expect(got[1].origin.entry).toBe('next.json');
  });

  test('a symbolic link loop is skipped with a note; a broken link is a note; files beside them are read', async () => {
    const root = join(dir.path, 'cohort');
    mkdirSync(join(root, 'a', 'b'), { recursive: true });
    writeFileSync(join(root, 'a', 'one.json'), '{"id":"one"}');
    writeFileSync(join(root, 'a', 'b', 'two.json'), '{"id":"two"}');
    symlinkSync(join(root, 'a'), join(root, 'a', 'b', 'loop'));
    symlinkSync(join(root, 'missing.json'), join(root, 'a', 'broken.json'));
    const notes: [Origin, string][] = [];
    const got = await readAll([root], { onNote: (o, n) => notes.push([o, n]) });
    expect(got.map((r) => (r.json as { id: string }).id)).toEqual(['two', 'one']);
    expect(notes).toEqual([
      [{ file: join(root, 'a', 'b', 'loop') }, `folder skipped: it is ${join(root, 'a')} again (a symbolic link loop or a second link to it)`],
      [{ file: join(root, 'a', 'broken.json') }, 'skipped: cannot be read (ENOENT, a broken symbolic link)'],
    ]);
  });

  test('an unreadable or corrupt archive is one error record, not an exception', async () => {
    const notZip = join(dir.path, 'x.zip');
    writeFileSync(notZip, 'PK this is not a zip');
    const got = await readAll([notZip]);
    expect(got).toHaveLength(1);
    expect(got[0].error?.reason).toMatch(/^not a readable zip archive: /);
  });

  test('only the wanted entries and lines are read (retrying the quarantine)', async () => {
    const zip = join(dir.path, 'w.zip');
    writeFileSync(zip, zipBytes([{ name: 'a.json', data: '{"id":"a"}' }, { name: 'b.jsonl', data: '{"id":"b1"}\n{"id":"b2"}\n' }]));
    const got = await readAll([zip], { want: (o) => o.entry === undefined || (o.entry === 'b.jsonl' && (o.line === undefined || o.line === 2)) });
    expect(got.map((r) => [r.origin.entry, r.origin.line, (r.json as { id: string }).id])).toEqual([['b.jsonl', 2, 'b2']]);
  });

  test('lines split across chunks, CRLF, and a last line without a newline', async () => {
    async function* chunks(): AsyncGenerator<Buffer> {
      // The two bytes of é arrive in different chunks.
      const e = Buffer.from('é');
      yield Buffer.from('{"a":1}\r\n{"b":"');
      yield e.subarray(0, 1);
      yield Buffer.concat([e.subarray(1), Buffer.from('"}\nlast')]);
    }
    const out = [];
    for await (const l of splitLines(chunks(), 100)) out.push(l);
    expect(out).toEqual([{ line: 1, text: '{"a":1}' }, { line: 2, text: '{"b":"é"}' }, { line: 3, text: 'last' }]);
  });
});
