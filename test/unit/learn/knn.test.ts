import { spawnSync } from 'node:child_process';
import type { Server } from 'node:http';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Store as N3Store, DataFactory } from 'n3';
import { KnnService, saveEmbeddings, similarityFunctions } from '../../../src/learn/knn.js';
import type { EmbeddedItem } from '../../../src/learn/embed.js';
import { comunica } from '../../../src/query/federation-comunica.js';
import { QueryEngine, QueryError } from '../../../src/query/index.js';
import { createApp, DEFAULT_CONFIG, InProcessExecutor, type ServerContext } from '../../../src/server/index.js';
import type { OxigraphStore } from '../../../src/store/index.js';
import { repoRoot } from '../../helpers/paths.js';
import { tinyStore } from '../cohort/helpers.js';

// Five fixture patients with hand-made unit vectors whose cosines are all distinct:
// from P-A: P-B 0.8, P-C 0.6, P-E 0.28, P-D 0; from P-C: P-A 0.6, P-B 0.48; from P-D: P-E 0.768.
const HXR = 'https://w3id.org/harmonia/resource/';
const P = (id: string) => `${HXR}patient/${id}`;
const R = (id: string) => `${HXR}record/test/${id}`;
const OBO = 'http://purl.obolibrary.org/obo/';
const VECTORS: Record<string, number[]> = {
  'P-A': [1, 0, 0, 0],
  'P-B': [0.8, 0.6, 0, 0],
  'P-C': [0.6, 0, 0.8, 0],
  'P-D': [0, 0.6, 0, 0.8],
  'P-E': [0.28, 0, 0, 0.96],
};
const PREFIXES = `PREFIX hx: <https://w3id.org/harmonia/vocab#>
PREFIX obo: <http://purl.obolibrary.org/obo/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
`;
const KNN = '<https://w3id.org/harmonia/knn>';

function items(): EmbeddedItem[] {
  const v = (x: number[]) => Float32Array.from(x);
  return [
    ...Object.entries(VECTORS).map(([id, x]): EmbeddedItem => ({ kind: 'patient', id, subject: P(id), vector: v(x) })),
    { kind: 'record', id: 'R1', subject: R('R1'), modality: 'ecg', vector: v([0.6, 0.8, 0, 0]) },
    { kind: 'record', id: 'R2', subject: R('R2'), modality: 'ecg', vector: v([0, 0, 0, 1]) },
    { kind: 'record', id: 'R3', subject: R('R3'), modality: 'ecg', vector: v([1, 0, 0, 0]) },
    { kind: 'record', id: 'R4', subject: R('R4'), modality: 'eeg', vector: v([0.8, 0, 0.6, 0]) },
    { kind: 'term', id: 'HP:0001250', subject: `${OBO}HP_0001250`, vector: v([0, 0, 0, 1]) },
  ];
}

describe('kNN inside SPARQL', () => {
  let fixture: Awaited<ReturnType<typeof tinyStore>>;
  let store: OxigraphStore;
  let engine: QueryEngine;
  let knn: KnnService;

  const rows = async (q: string, e = engine) => e.select(PREFIXES + q);

  beforeAll(async () => {
    fixture = await tinyStore();
    store = fixture.store;
    await store.update(`PREFIX hx: <https://w3id.org/harmonia/vocab#> INSERT DATA { GRAPH <https://w3id.org/harmonia/graph/test-records> {
      <${R('R1')}> hx:patient <${P('P-C')}> ; hx:modality "ecg" .
      <${R('R2')}> hx:patient <${P('P-D')}> ; hx:modality "ecg" .
      <${R('R3')}> hx:patient <${P('P-A')}> ; hx:modality "ecg" .
      <${R('R4')}> hx:patient <${P('P-A')}> ; hx:modality "eeg" . } }`);
    await saveEmbeddings(store, fixture.dir, 'test-v1', items(), { latest: true });
    knn = new KnnService({ store, storeDir: fixture.dir });
    engine = await QueryEngine.create(store, fixture.ontology, { services: [knn] });
  });
  afterAll(() => fixture.cleanup());

  test('an IRI target: its nearest patients with exact cosines, itself left out', async () => {
    const r = await rows(`SELECT ?p ?s ?rank WHERE { SERVICE ${KNN} { ?p hx:similarTo <${P('P-A')}> ; hx:k 3 ; hx:score ?s ; hx:rank ?rank } } ORDER BY ?rank`);
    expect(r).toEqual([
      { p: P('P-B'), s: '0.8', rank: '1' },
      { p: P('P-C'), s: '0.6', rank: '2' },
      { p: P('P-E'), s: '0.28', rank: '3' },
    ]);
    expect(existsSync(join(fixture.dir, 'arrays/models/test-v1/patients.usearch'))).toBe(true);
  });

  test('the target bound by the rest of the query, combined with a phenotype and its subclasses', async () => {
    // The four others of P-A, of whom P-D has no seizure (nor a subclass): it is filtered out after kNN.
    const r = await rows(`SELECT ?id ?s WHERE {
      ?t hx:id "P-A" .
      SERVICE ${KNN} { ?p hx:similarTo ?t ; hx:k 4 ; hx:score ?s }
      ?p hx:id ?id ; hx:hasPhenotype ?c . ?c rdfs:subClassOf* obo:HP_0001250 .
    } ORDER BY DESC(?s)`);
    expect(r).toEqual([{ id: 'P-B', s: '0.8' }, { id: 'P-C', s: '0.6' }, { id: 'P-E', s: '0.28' }]);
    expect(engine.prepare(PREFIXES + `SELECT * WHERE { ?t hx:id "P-A" . SERVICE ${KNN} { ?p hx:similarTo ?t } }`).services).toBe(1);
  });

  test('one search per target: the nearest neighbour of every female patient, the clause written first', async () => {
    const r = await rows(`SELECT ?tid ?pid ?s WHERE {
      SERVICE ${KNN} { ?p hx:similarTo ?t ; hx:k 1 ; hx:score ?s }
      ?t hx:sex "FEMALE" ; hx:id ?tid . ?p hx:id ?pid .
    } ORDER BY ?tid`);
    expect(r).toEqual([
      { tid: 'P-A', pid: 'P-B', s: '0.8' },
      { tid: 'P-C', pid: 'P-A', s: '0.6' },
      { tid: 'P-D', pid: 'P-E', s: '0.768' },
    ]);
  });

  test('a FILTER on the score, OPTIONAL around the clause, and a target without an embedding', async () => {
    const filtered = await rows(`SELECT ?p WHERE { ?t hx:id "P-A" . SERVICE ${KNN} { ?p hx:similarTo ?t ; hx:score ?s } FILTER(?s > 0.5) } ORDER BY ?p`);
    expect(filtered.map((x) => x.p)).toEqual([P('P-B'), P('P-C')]);
    const optional = await rows(`SELECT ?id ?p WHERE { ?t hx:id ?id FILTER(?id IN ("P-A", "P-D")) OPTIONAL { SERVICE ${KNN} { ?p hx:similarTo ?t ; hx:k 1 } } } ORDER BY ?id`);
    expect(optional).toEqual([{ id: 'P-A', p: P('P-B') }, { id: 'P-D', p: P('P-E') }]);
    expect(await rows(`SELECT ?p WHERE { SERVICE ${KNN} { ?p hx:similarTo <urn:example:nobody> } }`)).toEqual([]);
    // A target with no embedding under OPTIONAL keeps its row, unbound.
    await store.update(`PREFIX hx: <https://w3id.org/harmonia/vocab#> INSERT DATA { GRAPH <https://w3id.org/harmonia/graph/test-extra> { <urn:example:nobody> hx:id "nobody" } }`);
    const unknown = await rows(`SELECT ?id ?p WHERE { ?t hx:id ?id FILTER(?id = "nobody") OPTIONAL { SERVICE ${KNN} { ?p hx:similarTo ?t } } }`);
    expect(unknown).toEqual([{ id: 'nobody' }]);
    await store.update('DROP GRAPH <https://w3id.org/harmonia/graph/test-extra>');
  });

  test('an HPO class as the target, and records of a modality joined to their patients', async () => {
    const term = await rows(`SELECT ?p ?s WHERE { SERVICE ${KNN} { ?p hx:similarTo obo:HP_0001250 ; hx:k 2 ; hx:score ?s } } ORDER BY DESC(?s)`);
    expect(term).toEqual([{ p: P('P-E'), s: '0.96' }, { p: P('P-D'), s: '0.8' }]);
    const ecg = await rows(`SELECT ?r ?s WHERE { SERVICE ${KNN} { ?r hx:similarTo <${P('P-A')}> ; hx:modality "ecg" ; hx:k 5 ; hx:score ?s } } ORDER BY DESC(?s)`);
    expect(ecg).toEqual([{ r: R('R3'), s: '1' }, { r: R('R1'), s: '0.6' }, { r: R('R2'), s: '0' }]);
    const owners = await rows(`SELECT ?r ?s WHERE {
      SERVICE ${KNN} { ?r hx:similarTo <${P('P-A')}> ; hx:modality "ecg" ; hx:score ?s }
      ?r hx:patient ?o . ?o hx:hasPhenotype obo:HP_0001249 }`);
    expect(owners).toEqual([{ r: R('R1'), s: '0.6' }]);
  });

  test('chained clauses: the nearest of the nearest, in dependency order', async () => {
    const r = await rows(`SELECT ?p ?q ?s2 WHERE {
      SERVICE ${KNN} { ?q hx:similarTo ?p ; hx:k 2 ; hx:score ?s2 }
      SERVICE ${KNN} { ?p hx:similarTo <${P('P-C')}> ; hx:k 1 }
    } ORDER BY DESC(?s2)`);
    // P-C's nearest is P-A; P-A's two nearest are P-B and P-C.
    expect(r).toEqual([{ p: P('P-A'), q: P('P-B'), s2: '0.8' }, { p: P('P-A'), q: P('P-C'), s2: '0.6' }]);
  });

  test('exact search over the graph (also for a remote store) and the HNSW index file give the same neighbours', async () => {
    const remote = new KnnService({ store, version: 'test-v1' });
    const hnsw = new KnnService({ store, storeDir: fixture.dir, exactMax: 0 });
    const [exact, fromGraph, fromIndex] = await Promise.all([knn, remote, hnsw].map((s) => s.nearest([P('P-D'), P('P-C')], { k: 4 })));
    // P-A and P-C tie at 0 from P-D: their order is not specified.
    expect(exact.get(P('P-D'))!.slice(0, 2)).toEqual([{ iri: P('P-E'), score: 0.768 }, { iri: P('P-B'), score: 0.36 }]);
    expect(exact.get(P('P-D'))!.slice(2).map((n) => n.score)).toEqual([0, 0]);
    expect(fromGraph).toEqual(exact);
    expect(fromIndex.get(P('P-C'))!.map((n) => n.iri)).toEqual(exact.get(P('P-C'))!.map((n) => n.iri));
    expect(fromIndex.get(P('P-C'))!.map((n) => n.score)).toEqual([0.6, 0.48, 0.168, 0]);
    expect(await remote.similarity(P('P-A'), P('P-B'))).toBeCloseTo(0.8, 6);
  });

  test('malformed clauses, k above the cap and unbound targets are one clear error each', async () => {
    const fails = (q: string) => rows(q).then(() => 'no error', (e: Error) => (e instanceof QueryError ? e.message : `not a QueryError: ${e.message}`));
    expect(await fails(`SELECT * WHERE { SERVICE ${KNN} { ?p hx:similarTo <${P('P-A')}> ; hx:k 1001 } }`)).toMatch(/hx:k 1001: expected 1 to 1000/);
    expect(await fails(`SELECT * WHERE { SERVICE ${KNN} { ?p hx:k 3 } }`)).toMatch(/hx:similarTo is missing/);
    expect(await fails(`SELECT * WHERE { SERVICE ${KNN} { ?p hx:similarTo <${P('P-A')}> ; hx:nearest 3 } }`)).toMatch(/hx:nearest.*is not a kNN parameter/);
    expect(await fails(`SELECT * WHERE { SERVICE ${KNN} { ?p hx:similarTo "P-A" } }`)).toMatch(/takes a variable or an IRI/);
    expect(await fails(`SELECT * WHERE { SERVICE ${KNN} { ?p hx:similarTo ?t } }`)).toMatch(/\?t is not bound by the rest of the query/);
    expect(await fails(`SELECT * WHERE { ?t hx:id "P-A" FILTER EXISTS { SERVICE ${KNN} { ?p hx:similarTo ?t } } }`)).toMatch(/inside FILTER EXISTS/);
    expect(await fails(`SELECT * WHERE { SERVICE ${KNN} { ?r hx:similarTo <${P('P-A')}> ; hx:modality "mri" } }`)).toMatch(/no record embeddings of that modality \(it has ecg, eeg/);
    expect(await fails(`SELECT * WHERE { SERVICE ${KNN} { ?p hx:similarTo <${P('P-A')}> ; hx:model "other" } }`)).toMatch(/model other has no embeddings in this store: run harmonia embed/);
    expect(await fails(`SELECT * WHERE { ?a hx:id ?x FILTER(hx:similarity(?a, <${P('P-A')}>) > 0.5) }`)).toMatch(/extension function for queries that Comunica runs/);
    // Without a provider (an engine built without embeddings), the clause is refused, never sent anywhere.
    const plain = await QueryEngine.create(store, fixture.ontology);
    expect(await rows(`SELECT * WHERE { SERVICE ${KNN} { ?p hx:similarTo <${P('P-A')}> } }`, plain).catch((e: Error) => e.message)).toMatch(/not available on this query path/);
  });

  test('a store without embeddings names the command to run; several models need hx:model', async () => {
    const empty = await tinyStore();
    try {
      const e = await QueryEngine.create(empty.store, empty.ontology, { services: [new KnnService({ store: empty.store, storeDir: empty.dir })] });
      await expect(e.select(PREFIXES + `SELECT * WHERE { SERVICE ${KNN} { ?p hx:similarTo <${P('P-A')}> } }`)).rejects.toThrow(/no embeddings in this store for kNN: run harmonia train, then harmonia embed --store/);
      await saveEmbeddings(empty.store, empty.dir, 'm1', items().slice(0, 3));
      await saveEmbeddings(empty.store, empty.dir, 'm2', items().slice(0, 2));
      await expect(e.select(PREFIXES + `SELECT * WHERE { SERVICE ${KNN} { ?p hx:similarTo <${P('P-A')}> } }`)).rejects.toThrow(/several models are embedded in this store \(m1, m2\): choose one with hx:model/);
      const m2 = await e.select(PREFIXES + `SELECT ?p WHERE { SERVICE ${KNN} { ?p hx:similarTo <${P('P-A')}> ; hx:model "m2" } }`);
      expect(m2).toEqual([{ p: P('P-B') }]);
    } finally {
      await empty.cleanup();
    }
  });

  test('hx:similarity as a Comunica extension function in FILTER and BIND', async () => {
    const source = new N3Store();
    const { namedNode, literal, quad } = DataFactory;
    for (const id of ['P-B', 'P-C', 'P-D']) source.addQuad(quad(namedNode(P(id)), namedNode('urn:example:id'), literal(id)));
    source.addQuad(quad(namedNode('urn:example:nobody'), namedNode('urn:example:id'), literal('nobody')));
    const engine = await comunica();
    const context = { sources: [source], extensionFunctions: similarityFunctions(knn) } as never;
    const run = async (q: string) => {
      const found = (await (await engine.queryBindings(PREFIXES + q, context)).toArray()).map((b) => Object.fromEntries([...b].map(([k, v]) => [k.value, v.value])));
      return found.sort((a, b) => (a.id < b.id ? -1 : 1));
    };
    const bound = await run(`SELECT ?id ?sim WHERE { ?a <urn:example:id> ?id BIND(hx:similarity(?a, <${P('P-A')}>) AS ?sim) }`);
    expect(bound).toEqual([{ id: 'P-B', sim: '0.8' }, { id: 'P-C', sim: '0.6' }, { id: 'P-D', sim: '0' }, { id: 'nobody', sim: 'NaN' }]);
    const filtered = await run(`SELECT ?id WHERE { ?a <urn:example:id> ?id FILTER(hx:similarity(?a, <${P('P-A')}>) > 0.5) }`);
    expect(filtered).toEqual([{ id: 'P-B' }, { id: 'P-C' }]);
  });

  describe('over HTTP /sparql', () => {
    let server: Server;
    let base: string;
    beforeAll(async () => {
      let ctx!: ServerContext;
      ctx = {
        store, ontology: fixture.ontology, engine,
        executor: new InProcessExecutor(() => ctx),
        config: { ...DEFAULT_CONFIG, port: 0 },
        async afterWrite() {
          await engine.refresh();
        },
      };
      server = createApp(ctx).listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    afterAll(() => new Promise((r) => server.close(r)));

    test('the kNN clause in a query posted to /sparql, and its errors as 4xx JSON', async () => {
      const q = `${PREFIXES}SELECT ?id ?s WHERE { ?t hx:id "P-D" . SERVICE ${KNN} { ?p hx:similarTo ?t ; hx:k 2 ; hx:score ?s } ?p hx:id ?id } ORDER BY DESC(?s)`;
      const res = await fetch(`${base}/sparql`, { method: 'POST', body: q, headers: { 'Content-Type': 'application/sparql-query', Accept: 'text/csv' } });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('id,s\r\nP-E,0.768\r\nP-B,0.36\r\n');
      const bad = await fetch(`${base}/sparql?query=${encodeURIComponent(`${PREFIXES}SELECT * WHERE { SERVICE ${KNN} { ?p hx:similarTo ?t } }`)}`);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(/\?t is not bound/);
    });
  });

  test('saveEmbeddings replaces the graph of a version when written again', async () => {
    const t = await tinyStore();
    try {
      await saveEmbeddings(t.store, t.dir, 'v', items().slice(0, 3));
      await saveEmbeddings(t.store, t.dir, 'v', items().slice(0, 2));
      const [n] = await t.store.select('SELECT (COUNT(*) AS ?n) WHERE { GRAPH <https://w3id.org/harmonia/graph/embeddings/v> { ?e a <https://w3id.org/harmonia/vocab#Embedding> } }');
      expect(n.n).toBe('2');
      rmSync(join(t.dir, 'arrays'), { recursive: true, force: true });
    } finally {
      await t.cleanup();
    }
  });

  test('harmonia query runs the clause (bin/harmonia, from dist/: npm run build first)', async () => {
    const t = await tinyStore();
    await saveEmbeddings(t.store, t.dir, 'cli-v', items(), { latest: true });
    await t.store.close();
    try {
      const q = `${PREFIXES}SELECT ?id ?s WHERE { ?t hx:id "P-A" . SERVICE ${KNN} { ?p hx:similarTo ?t ; hx:k 2 ; hx:score ?s } ?p hx:id ?id } ORDER BY DESC(?s)`;
      const ok = spawnSync(process.execPath, [join(repoRoot, 'bin', 'harmonia'), 'query', '--store', t.dir, '--format', 'csv', q], { encoding: 'utf8', timeout: 60_000 });
      expect(ok.stderr).toBe('');
      expect(ok.stdout).toBe('id,s\r\nP-B,0.8\r\nP-C,0.6\r\n');
      const bad = spawnSync(process.execPath, [join(repoRoot, 'bin', 'harmonia'), 'query', '--store', t.dir, '--model', 'nope', q], { encoding: 'utf8', timeout: 60_000 });
      expect(bad.status).toBe(1);
      expect(bad.stderr.trim()).toBe(`harmonia: model nope has no embeddings in this store: run harmonia embed --store ${t.dir} --model nope`);
    } finally {
      rmSync(t.dir, { recursive: true, force: true });
    }
  });
});
