import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataFactory } from 'n3';
import oxigraph from 'oxigraph';
import { OxigraphStore } from '../../../src/store/index.js';
import { newOxigraph, restoreSnapshot } from '../../../src/store/oxigraph-snapshot.js';
import { tempDir } from '../../helpers/paths.js';

const { namedNode, literal, quad } = DataFactory;
const g = (n: number) => `http://example.org/graph/${n}`;
const q = (s: string, o: string, graph: string) => quad(namedNode(`http://example.org/${s}`), namedNode('http://example.org/p'), literal(o), namedNode(graph));
const batch = (replace: [string, ReturnType<typeof q>[]][]) => ({ replace: new Map(replace), add: [], rejected: [], accepted: [] });
const values = async (s: OxigraphStore) => (await s.select('SELECT ?o WHERE { ?s <http://example.org/p> ?o } ORDER BY ?o')).map((r) => r.o);
const cache = (path: string) => join(path, 'cache');
const header = (path: string) => JSON.parse(readFileSync(join(cache(path), 'oxigraph-snapshot.json'), 'utf8'));
const heapFile = (path: string) => join(cache(path), header(path).heap as string);

describe('heap snapshots of the embedded store', () => {
  let dir: ReturnType<typeof tempDir>;
  let path: string;
  const env = { ...process.env };
  beforeEach(async () => {
    dir = tempDir();
    path = join(dir.path, 's');
    // Every store is worth a snapshot here; the default threshold keeps small ones out.
    process.env.HARMONIA_SNAPSHOT_MIN_QUADS = '0';
    delete process.env.HARMONIA_SNAPSHOT;
  });
  afterEach(async () => {
    process.env = { ...env };
    dir.remove();
  });

  async function twoBatches(): Promise<void> {
    const s = await OxigraphStore.open(path, { create: true, write: true });
    await s.commit(batch([[g(1), [q('a', '1', g(1)), q('b', '2', g(1))]], [g(2), [q('c', '3', g(2))]]]));
    await s.commit(batch([[g(1), [q('a', '1b', g(1))]]]));
    await s.close();
  }

  test('a writer leaves a snapshot when it closes; reopening restores it with the same data and bookkeeping', async () => {
    await twoBatches();
    expect(existsSync(join(cache(path), 'oxigraph-snapshot.json'))).toBe(true);
    const again = await OxigraphStore.open(path, { write: true });
    expect(again.loadedFrom).toBe('snapshot');
    expect(await values(again)).toEqual(['1b', '3']);
    expect(await again.size()).toBe(2);
    expect([...again.graphNames()].sort()).toEqual([g(1), g(2)]);
    // The restored graph list is what makes a later replacement replace instead of add.
    await again.commit(batch([[g(2), [q('c', '3b', g(2))]]]));
    expect(await values(again)).toEqual(['1b', '3b']);
    await again.close();
    const third = await OxigraphStore.open(path);
    expect(third.loadedFrom).toBe('snapshot');
    expect(await values(third)).toEqual(['1b', '3b']);
    // The cache survives the writer's orphan sweep, and only the current heap is kept.
    expect(readdirSync(cache(path)).filter((f) => f.endsWith('.heap'))).toEqual([header(path).heap]);
  });

  test('segments committed after the snapshot are applied on top of it, and a reader refreshes the snapshot', async () => {
    await twoBatches();
    const w = await OxigraphStore.open(path, { write: true });
    process.env.HARMONIA_SNAPSHOT = 'off'; // this writer leaves the old snapshot behind
    await w.commit(batch([[g(3), [q('d', '4', g(3))]]]));
    await w.update('INSERT DATA { GRAPH <http://example.org/graph/u> { <http://example.org/u> <http://example.org/p> "u1" } }');
    await w.close();
    delete process.env.HARMONIA_SNAPSHOT;
    expect(header(path).segments).toHaveLength(2);
    const r = await OxigraphStore.open(path);
    expect(r.loadedFrom).toBe('snapshot');
    expect(await values(r)).toEqual(['1b', '3', '4', 'u1']);
    expect(header(path).segments).toEqual(r.segmentFiles());
    const again = await OxigraphStore.open(path);
    expect(await values(again)).toEqual(['1b', '3', '4', 'u1']);
  });

  test('a torn, corrupt, foreign or outdated snapshot is not used: the store loads from its segments', async () => {
    await twoBatches();
    const heap = readFileSync(heapFile(path));
    const corrupt = Buffer.from(heap);
    corrupt[corrupt.length >> 1] ^= 0xff;
    writeFileSync(heapFile(path), corrupt);
    expect(restoreSnapshot(cache(path))).toEqual({ reason: 'snapshot heap checksum mismatch' });
    let s = await OxigraphStore.open(path, { write: true });
    expect(s.loadedFrom).toBe('segments');
    expect(await values(s)).toEqual(['1b', '3']);
    await s.close();

    writeFileSync(heapFile(path), readFileSync(heapFile(path)).subarray(0, 1000));
    expect(restoreSnapshot(cache(path))).toEqual({ reason: 'snapshot heap has the wrong size' });
    s = await OxigraphStore.open(path, { write: true });
    expect(s.loadedFrom).toBe('segments');
    await s.close();

    const h = header(path);
    writeFileSync(join(cache(path), 'oxigraph-snapshot.json'), JSON.stringify({ ...h, glue: 'another build' }));
    expect(restoreSnapshot(cache(path))).toEqual({ reason: 'snapshot written by another Oxigraph build' });
    writeFileSync(join(cache(path), 'oxigraph-snapshot.json'), '{"format": ');
    expect((restoreSnapshot(cache(path)) as { reason: string }).reason).toMatch(/^unreadable snapshot header/);
    s = await OxigraphStore.open(path, { write: true });
    expect(s.loadedFrom).toBe('segments');
    expect(await values(s)).toEqual(['1b', '3']);
    // A compaction rewrites the log: the old snapshot no longer describes a prefix of it.
    s.compact();
    await s.close();
    process.env.HARMONIA_SNAPSHOT = 'off';
    const w = await OxigraphStore.open(path, { write: true });
    await w.commit(batch([[g(9), [q('z', '9', g(9))]]]));
    for (let i = 0; i < 30; i++) await w.commit(batch([[g(9), [q('z', `9.${i}`, g(9))]]])); // past the compaction threshold
    await w.close();
    delete process.env.HARMONIA_SNAPSHOT;
    const after = await OxigraphStore.open(path);
    expect(after.loadedFrom).toBe('segments');
    expect(await values(after)).toEqual(['1b', '3', '9.29']);
  });

  test('a snapshot another process is writing is left to it', async () => {
    await twoBatches();
    const before = header(path).heap;
    writeFileSync(join(cache(path), 'oxigraph-other.heap.tmp'), 'being written');
    const w = await OxigraphStore.open(path, { write: true });
    await w.commit(batch([[g(5), [q('e', '5', g(5))]]]));
    await w.close();
    expect(header(path).heap).toBe(before);
    expect(existsSync(join(cache(path), 'oxigraph-other.heap.tmp'))).toBe(true);
    // The older snapshot still serves: the later commit is applied on top of it.
    const r = await OxigraphStore.open(path);
    expect(r.loadedFrom).toBe('snapshot');
    expect(await values(r)).toEqual(['1b', '3', '5']);
  });

  test('an ontology replaced since the snapshot makes it unusable', async () => {
    await twoBatches();
    const manifest = JSON.parse(readFileSync(join(path, 'harmonia-store.json'), 'utf8'));
    writeFileSync(join(path, 'harmonia-store.json'), JSON.stringify({ ...manifest, ontology: 'segments/000099.ontology.json' }));
    const s = await OxigraphStore.open(path);
    expect(s.loadedFrom).toBe('segments');
  });

  test('HARMONIA_SNAPSHOT=off writes and reads none; small stores get none by default', async () => {
    process.env.HARMONIA_SNAPSHOT = 'off';
    await twoBatches();
    expect(existsSync(cache(path))).toBe(false);
    delete process.env.HARMONIA_SNAPSHOT;
    delete process.env.HARMONIA_SNAPSHOT_MIN_QUADS;
    const s = await OxigraphStore.open(path);
    expect(s.loadedFrom).toBe('segments');
    expect(existsSync(cache(path))).toBe(false);
  });

  test('stores restored in one process are independent of each other and of the shared oxigraph module', async () => {
    await twoBatches();
    const other = join(dir.path, 'other');
    const o = await OxigraphStore.open(other, { create: true, write: true });
    await o.commit(batch([[g(7), [q('x', 'other', g(7))]]]));
    await o.close();
    const shared = new oxigraph.Store();
    shared.add(oxigraph.quad(oxigraph.namedNode('http://example.org/s'), oxigraph.namedNode('http://example.org/p'), oxigraph.literal('shared'), oxigraph.defaultGraph()));
    const a = await OxigraphStore.open(path);
    const b = await OxigraphStore.open(other);
    const a2 = await OxigraphStore.open(path);
    expect([a.loadedFrom, b.loadedFrom, a2.loadedFrom]).toEqual(['snapshot', 'snapshot', 'snapshot']);
    expect(await values(a)).toEqual(['1b', '3']);
    expect(await values(b)).toEqual(['other']);
    expect(await values(a2)).toEqual(['1b', '3']);
    expect(shared.size).toBe(1);
    // Terms of the shared module work with a store of a private instance (read as RDF/JS terms).
    const dumped = a.raw().dump({ format: 'application/n-triples', from_graph_name: oxigraph.namedNode(g(2)) });
    expect(dumped).toBe('<http://example.org/c> <http://example.org/p> "3" .\n');
    expect((await a.graphQuads(g(1))).map((x) => x.object.value)).toEqual(['1b']);
  });

  test('a private instance starts empty and apart', () => {
    const x = newOxigraph();
    const y = newOxigraph();
    const sx = new x.ox.Store();
    sx.load('<http://a> <http://b> "c" .\n', { format: 'application/n-triples' });
    expect(sx.size).toBe(1);
    expect(new y.ox.Store().size).toBe(0);
    expect(x.wasm.memory).not.toBe(y.wasm.memory);
  });
});
