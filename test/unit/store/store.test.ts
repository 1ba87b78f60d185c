import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataFactory } from 'n3';
import { OxigraphStore } from '../../../src/store/index.js';
import { tempDir } from '../../helpers/paths.js';

const { namedNode, literal, quad } = DataFactory;
const g = (n: number) => `http://example.org/graph/${n}`;
const q = (s: string, o: string, graph: string) => quad(namedNode(`http://example.org/${s}`), namedNode('http://example.org/p'), literal(o), namedNode(graph));
const batch = (replace: [string, ReturnType<typeof q>[]][]) => ({ replace: new Map(replace), add: [], rejected: [], accepted: [] });
const values = async (s: OxigraphStore) => (await s.select('SELECT ?o WHERE { ?s <http://example.org/p> ?o } ORDER BY ?o')).map((r) => r.o);

describe('OxigraphStore persistence', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(async () => (dir = tempDir()));
  afterEach(async () => dir.remove());

  test('commits survive a restart; replacing a graph replaces all its triples', async () => {
    const path = join(dir.path, 's');
    const s = await OxigraphStore.open(path, { create: true, write: true });
    await s.commit(batch([[g(1), [q('a', '1', g(1)), q('b', '2', g(1))]], [g(2), [q('c', '3', g(2))]]]));
    await s.commit(batch([[g(1), [q('a', '1b', g(1))]]]));
    expect((await values(s))).toEqual(['1b', '3']);
    await s.close();
    const again = await OxigraphStore.open(path);
    expect((await values(again))).toEqual(['1b', '3']);
    expect((await again.size())).toBe(2);
  });

  test('an empty replacement drops the graph', async () => {
    const path = join(dir.path, 's');
    const s = await OxigraphStore.open(path, { create: true, write: true });
    await s.commit(batch([[g(1), [q('a', '1', g(1))]]]));
    await s.commit(batch([[g(1), []]]));
    expect((await s.size())).toBe(0);
    await s.close();
    expect(await (await OxigraphStore.open(path)).size()).toBe(0);
  });

  test('files of a commit that died before its manifest swap are ignored and cleaned up', async () => {
    const path = join(dir.path, 's');
    const s = await OxigraphStore.open(path, { create: true, write: true });
    await s.commit(batch([[g(1), [q('a', '1', g(1))]]]));
    await s.close();
    // What a crash between writing a segment and swapping the manifest leaves behind.
    writeFileSync(join(path, 'segments', '000099.nq'), '<http://example.org/x> <http://example.org/p> "half" <http://example.org/graph/9> .\n');
    writeFileSync(join(path, 'harmonia-store.json.tmp-12345'), '{"broken": ');
    const again = await OxigraphStore.open(path, { write: true });
    expect((await values(again))).toEqual(['1']);
    expect(existsSync(join(path, 'segments', '000099.nq'))).toBe(false);
    expect(readdirSync(path).filter((f) => f.includes('.tmp-'))).toEqual([]);
    await again.close();
  });

  test('SPARQL updates are persisted and replayed in order', async () => {
    const path = join(dir.path, 's');
    const s = await OxigraphStore.open(path, { create: true, write: true });
    await s.update('INSERT DATA { GRAPH <http://example.org/graph/u> { <http://example.org/u> <http://example.org/p> "u1" } }');
    await s.update('DELETE DATA { GRAPH <http://example.org/graph/u> { <http://example.org/u> <http://example.org/p> "u1" } } ; INSERT DATA { <http://example.org/v> <http://example.org/p> "v1" }');
    await s.close();
    expect((await values(await OxigraphStore.open(path)))).toEqual(['v1']);
  });

  test('compaction keeps every graph, the default graph included', async () => {
    const path = join(dir.path, 's');
    const s = await OxigraphStore.open(path, { create: true, write: true });
    for (let i = 0; i < 30; i++) await s.commit(batch([[g(i % 5), [q(`s${i}`, String(i), g(i % 5))]]]));
    await s.update('INSERT DATA { <http://example.org/d> <http://example.org/p> "default" }');
    s.compact();
    const expected = ['25', '26', '27', '28', '29', 'default'];
    expect((await values(s))).toEqual(expected);
    await s.close();
    const again = await OxigraphStore.open(path);
    expect((await values(again))).toEqual(expected);
    expect(readdirSync(join(path, 'segments')).filter((f) => f.endsWith('.nq'))).toHaveLength(1);
  });

  test('a graph of a compacted segment, replaced after a restart, is replaced, in memory and on reload', async () => {
    const path = join(dir.path, 's');
    const s = await OxigraphStore.open(path, { create: true, write: true });
    await s.commit(batch([[g(1), [q('a', 'old', g(1))]], [g(2), [q('b', 'kept', g(2))]]]));
    s.compact();
    await s.close();
    const w = await OxigraphStore.open(path, { write: true });
    await w.commit(batch([[g(1), [q('a', 'new', g(1))]]]));
    expect(await values(w)).toEqual(['kept', 'new']);
    await w.close();
    expect(await values(await OxigraphStore.open(path))).toEqual(['kept', 'new']);
  });

  test('a reader copy catches up with commits, replacements, updates and the quarantine of another handle; not across a compaction', async () => {
    const path = join(dir.path, 's');
    const w = await OxigraphStore.open(path, { create: true, write: true });
    await w.commit(batch([[g(1), [q('a', '1', g(1))]], [g(2), [q('b', '2', g(2))]]]));
    const r = await OxigraphStore.open(path);
    await w.commit({ ...batch([[g(1), [q('a', '1b', g(1))]]]), rejected: [{ file: 'x.json', stage: 'check', reasons: [{ message: 'bad' }], at: '2026-12-02T00:00:00Z' }] });
    await w.update('INSERT DATA { <http://example.org/d> <http://example.org/p> "d" }');
    expect(await values(r)).toEqual(['1', '2']);
    expect(r.catchUp()).toBe(true);
    expect(await values(r)).toEqual(['1b', '2', 'd']);
    expect(await r.generation()).toBe(await w.generation());
    expect(await r.quarantine()).toEqual(await w.quarantine());
    // Nothing new: a no-op.
    expect(r.catchUp()).toBe(true);
    expect(await values(r)).toEqual(['1b', '2', 'd']);
    // A graph the catching-up copy learnt is replaced, not added to, by a later commit.
    await w.commit(batch([[g(2), [q('b', '2b', g(2))]]]));
    expect(r.catchUp()).toBe(true);
    expect(await values(r)).toEqual(['1b', '2b', 'd']);
    w.compact();
    await w.commit(batch([[g(3), [q('c', '3', g(3))]]]));
    expect(r.catchUp()).toBe(false);
    expect(await values(r)).toEqual(['1b', '2b', 'd']);
    expect(await values(await OxigraphStore.open(path))).toEqual(['1b', '2b', '3', 'd']);
    await w.close();
  });

  test('one writer at a time; readers need no lock; a read-only store refuses writes', async () => {
    const path = join(dir.path, 's');
    const w = await OxigraphStore.open(path, { create: true, write: true });
    await w.close();
    // Another live process holds the lock (our parent process stands in for it).
    writeFileSync(join(path, 'LOCK'), String(process.ppid));
    await expect(OxigraphStore.open(path, { write: true })).rejects.toThrow(new RegExp(`being written by process ${process.ppid}`));
    const r = await OxigraphStore.open(path);
    await expect(r.commit(batch([]))).rejects.toThrow(/read-only/);
    // A lock left by a process that no longer exists is taken over.
    writeFileSync(join(path, 'LOCK'), '2147483646');
    const w2 = await OxigraphStore.open(path, { write: true });
    await w2.close();
    expect(existsSync(join(path, 'LOCK'))).toBe(false);
  });

  test('opening a missing or foreign directory says what is wrong', async () => {
    await expect(OxigraphStore.open(join(dir.path, 'missing'))).rejects.toThrow(/missing: does not exist/);
    await expect(OxigraphStore.open(dir.path)).rejects.toThrow(/is not a Harmonia store/);
  });
});

describe('the embedded store has a size limit', () => {
  test('a batch past it is refused before anything is written, naming the remote-store option', async () => {
    const dir = tempDir();
    try {
      const path = join(dir.path, 's');
      const s = await OxigraphStore.open(path, { create: true, write: true, maxQuads: 3 });
      await s.commit(batch([[g(1), [q('s', 'v1', g(1)), q('s', 'v2', g(1))]]]));
      await expect(s.commit(batch([[g(2), [q('s', 'v3', g(2)), q('s', 'v4', g(2))]]])))
        .rejects.toThrow(/past its limit of 3 .*nothing was written.*--store sparql\+http/);
      await s.close();
      const again = await OxigraphStore.open(path);
      expect(await again.size()).toBe(2);
    } finally {
      dir.remove();
    }
  });
});
