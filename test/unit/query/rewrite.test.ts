import { QueryEngine, PathRewriter } from '../../../src/query/index.js';
import { loadOntology } from '../../../src/ontology/index.js';
import type { OxigraphStore } from '../../../src/store/index.js';
import { fixtureStore } from '../../helpers/fixture-store.js';
import { miniHpo, tempDir } from '../../helpers/paths.js';

const PREFIX = `PREFIX hx: <https://w3id.org/harmonia/vocab#>
PREFIX obo: <http://purl.obolibrary.org/obo/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
`;

describe('ontology path expansion', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: OxigraphStore;
  beforeAll(async () => {
    dir = tempDir();
    store = await fixtureStore(dir.path);
  });
  afterAll(async () => {
    await store.close();
    dir.remove();
  });

  // Each query is answered once by the store's own path evaluation and once rewritten: same rows.
  const queries: [string, string, number][] = [
    ['descendants, zero or more', '?p hx:hasPhenotype ?c . ?c rdfs:subClassOf* obo:HP_0001250 .', 1],
    ['descendants, one or more', '?p hx:hasPhenotype ?c . ?c rdfs:subClassOf+ obo:HP_0001250 .', 1],
    ['inverse path', '?p hx:hasPhenotype ?c . obo:HP_0001250 ^rdfs:subClassOf* ?c .', 1],
    ['sequence path', '?p hx:hasPhenotype/rdfs:subClassOf* obo:HP_0001250 .', 1],
    ['ancestors', 'obo:HP_0002373 rdfs:subClassOf* ?c . ?p hx:hasPhenotype ?c .', 1],
    ['inside OPTIONAL and UNION', '{ ?p hx:id ?id OPTIONAL { ?p hx:hasPhenotype ?c . ?c rdfs:subClassOf* obo:HP_0001250 } } UNION { ?p hx:excludedPhenotype ?c . ?c rdfs:subClassOf* obo:HP_0000118 }', 2],
  ];

  test.each(queries)('%s gives the same answer as the property path', async (_name, where, expanded) => {
    const sparql = `${PREFIX}SELECT DISTINCT ?p ?c WHERE { ${where} } ORDER BY ?p ?c`;
    const engine = await QueryEngine.create(store, (await store.ontology()));
    expect(engine.expandsPaths).toBe(true);
    const prepared = engine.prepare(sparql);
    expect(prepared.expandedPaths).toBe(expanded);
    expect(prepared.sparql).toMatch(/VALUES/);
    const plain = (await store.select(sparql));
    expect(plain.length).toBeGreaterThan(0);
    expect((await engine.select(sparql))).toEqual(plain);
  });

  test('paths inside GRAPH, with unknown terms, or with two variables are left to the store', async () => {
    const r = new PathRewriter(loadOntology(miniHpo));
    for (const where of [
      'GRAPH ?g { ?c rdfs:subClassOf* obo:HP_0001250 }',
      '?c rdfs:subClassOf* obo:HP_7777777',
      '?c rdfs:subClassOf* ?d',
      '?c rdfs:subPropertyOf* obo:HP_0001250',
    ]) {
      expect(r.rewrite(`${PREFIX}SELECT * WHERE { ${where} }`).expanded).toBe(0);
    }
  });

  test('expansion switches off when the store has subClassOf triples the ontology does not', async () => {
    await store.update(`${PREFIX}INSERT DATA { GRAPH <urn:x> { obo:HP_0000252 rdfs:subClassOf obo:HP_0001250 } }`);
    const engine = await QueryEngine.create(store, (await store.ontology()));
    expect(engine.expandsPaths).toBe(false);
    const sparql = `${PREFIX}SELECT DISTINCT ?c WHERE { ?c rdfs:subClassOf* obo:HP_0001250 } ORDER BY ?c`;
    expect((await engine.select(sparql)).map((r) => r.c)).toContain('http://purl.obolibrary.org/obo/HP_0000252');
    await store.update(`${PREFIX}DROP GRAPH <urn:x>`);
    await engine.refresh();
    expect(engine.expandsPaths).toBe(true);
  });

  test('SELECTs without a LIMIT, or with a larger one, are capped', async () => {
    const engine = await QueryEngine.create(store, (await store.ontology()), { maxRows: 3 });
    const p = engine.prepare('SELECT * WHERE { ?s ?p ?o }');
    expect(p.cappedAt).toBe(3);
    expect((await store.select(p.sparql))).toHaveLength(3);
    expect(engine.prepare('SELECT * WHERE { ?s ?p ?o } LIMIT 2').cappedAt).toBeUndefined();
    expect(engine.prepare('INSERT DATA { <a:b> <a:c> <a:d> }').kind).toBe('update');
    expect(() => engine.prepare('SELEKT nothing')).toThrow(/SPARQL syntax error/);
  });
});
