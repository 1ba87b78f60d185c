import { jest } from '@jest/globals';
import type { Server } from 'node:http';
import oxigraph from 'oxigraph';
import { QueryEngine } from '../../../src/query/index.js';
import { createApp, DEFAULT_CONFIG, InProcessExecutor, type ServerContext } from '../../../src/server/index.js';
import type { OxigraphStore } from '../../../src/store/index.js';
import { fixtureStore } from '../../helpers/fixture-store.js';
import { tempDir } from '../../helpers/paths.js';

const G1 = 'https://w3id.org/harmonia/graph/patient/PMID_1_Patient_1';
const G2 = 'https://w3id.org/harmonia/graph/patient/PMID_1_Patient_2';
const P1 = 'https://w3id.org/harmonia/resource/patient/PMID_1_Patient_1';
const P2 = 'https://w3id.org/harmonia/resource/patient/PMID_1_Patient_2';
const ID = 'https://w3id.org/harmonia/vocab#id';
const COUNT = 'SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }';

describe('SPARQL Protocol datasets and formats, Graph Store, CORS, health, metrics, access log', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: OxigraphStore;
  let server: Server;
  let base: string;
  let sizeCalls = 0;
  const log: string[] = [];
  let total = 0;

  beforeAll(async () => {
    dir = tempDir();
    store = await fixtureStore(dir.path);
    const ontology = (await store.ontology())!;
    const engine = await QueryEngine.create(store, ontology, { maxRows: 100 });
    total = await store.size();
    const size = store.size.bind(store);
    store.size = async () => (sizeCalls++, size());
    let ctx!: ServerContext;
    ctx = {
      store, ontology, engine,
      executor: new InProcessExecutor(() => ctx),
      config: { ...DEFAULT_CONFIG, port: 0, corsOrigins: ['https://reader.example'], corsWriteOrigins: ['https://admin.example'], updateToken: 't0ken', logLevel: 'debug' },
      async afterWrite() {
        await engine.refresh();
      },
    };
    const write = process.stderr.write.bind(process.stderr);
    jest.spyOn(process.stderr, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: never[]) => {
      const s = String(chunk);
      if (s.startsWith('{"time"')) return void log.push(s), true;
      return write(chunk, ...rest);
    }) as typeof process.stderr.write);
    server = createApp(ctx).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await new Promise((r) => server.close(r));
    await store.close();
    dir.remove();
  });

  const count = async (query: string, params: Record<string, string | string[]> = {}): Promise<number> => {
    const form = new URLSearchParams({ query });
    for (const [k, v] of Object.entries(params)) for (const x of [v].flat()) form.append(k, x);
    const res = await fetch(`${base}/sparql`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    return Number(((await res.json()) as { results: { bindings: { n: { value: string } }[] } }).results.bindings[0].n.value);
  };

  test('FROM, FROM NAMED and the protocol graph parameters define the dataset (protocol over query)', async () => {
    expect(await count(COUNT)).toBe(total);
    expect(await count(`SELECT (COUNT(*) AS ?n) FROM <urn:absent> WHERE { ?s ?p ?o }`)).toBe(0);
    expect(await count(`SELECT (COUNT(*) AS ?n) FROM <${G2}> WHERE { ?s ?p ?o }`)).toBe(27);
    expect(await count(`SELECT (COUNT(*) AS ?n) FROM <${G1}> FROM <${G2}> WHERE { ?s ?p ?o }`)).toBe(125);
    // FROM NAMED alone: an empty default graph; GRAPH ?g sees only the named graph.
    expect(await count(`SELECT (COUNT(*) AS ?n) FROM NAMED <${G2}> WHERE { ?s ?p ?o }`)).toBe(0);
    expect(await count(`SELECT (COUNT(DISTINCT ?g) AS ?n) FROM NAMED <${G2}> WHERE { GRAPH ?g { ?s ?p ?o } }`)).toBe(1);
    // A "FROM" inside a literal is not a FROM clause: the union default graph stays.
    expect(await count(`SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o FILTER(?o != "FROM <urn:x>") }`)).toBe(total);
    expect(await count(COUNT, { 'default-graph-uri': 'urn:absent' })).toBe(0);
    expect(await count(COUNT, { 'default-graph-uri': [G1, G2] })).toBe(125);
    expect(await count(`SELECT (COUNT(*) AS ?n) FROM <${G1}> WHERE { ?s ?p ?o }`, { 'default-graph-uri': G2 })).toBe(27);
    expect(await count('SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }', { 'named-graph-uri': [G1, G2] })).toBe(2);
    const get = await fetch(`${base}/sparql?query=${encodeURIComponent(COUNT)}&default-graph-uri=${encodeURIComponent(G2)}`);
    expect(((await get.json()) as { results: { bindings: { n: { value: string } }[] } }).results.bindings[0].n.value).toBe('27');
    const bad = await fetch(`${base}/sparql?query=${encodeURIComponent(COUNT)}&default-graph-uri=not%20an%20iri`);
    expect(bad.status).toBe(400);
  });

  test('CONSTRUCT and DESCRIBE as RDF/XML, TriG and N-Quads that parse back to the same triples', async () => {
    const construct = `CONSTRUCT { ?p <${ID}> ?id } WHERE { ?p <${ID}> ?id }`;
    for (const [accept, media] of [['application/rdf+xml', 'application/rdf+xml'], ['application/trig', 'application/trig'], ['application/n-quads', 'application/n-quads']]) {
      const res = await fetch(`${base}/sparql?query=${encodeURIComponent(construct)}`, { headers: { Accept: accept } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(`${media}; charset=utf-8`);
      const quads = oxigraph.parse(await res.text(), { format: media });
      expect(quads.map((q) => `${q.subject.value} ${q.object.value}`).sort()).toEqual([`${P1} PMID_1_Patient_1`, `${P2} PMID_1_Patient_2`]);
    }
    // SPARQLWrapper's default: format=xml (and Accept: application/rdf+xml) for a graph means RDF/XML.
    const wrapper = await fetch(`${base}/sparql?format=xml&output=xml&results=xml&query=${encodeURIComponent(construct)}`, { headers: { Accept: 'application/rdf+xml' } });
    expect(wrapper.headers.get('content-type')).toBe('application/rdf+xml; charset=utf-8');
    const describe = await fetch(`${base}/sparql?format=rdfxml&query=${encodeURIComponent(`DESCRIBE <${P1}>`)}`);
    const xml = await describe.text();
    expect(xml).toMatch(/^<\?xml version="1.0"/);
    expect(oxigraph.parse(xml, { format: 'application/rdf+xml' }).some((q) => q.predicate.value === ID && q.object.value === 'PMID_1_Patient_1')).toBe(true);
    // With a dataset the graph formats come from Oxigraph directly.
    const scoped = await fetch(`${base}/sparql?query=${encodeURIComponent(construct)}&default-graph-uri=${encodeURIComponent(G1)}`, { headers: { Accept: 'application/rdf+xml' } });
    expect(oxigraph.parse(await scoped.text(), { format: 'application/rdf+xml' })).toHaveLength(1);
  });

  test('an unknown Accept gets 406 with the supported list; a syntax error is one line; deep nesting is a 400', async () => {
    const res = await fetch(`${base}/sparql?query=${encodeURIComponent('DESCRIBE <urn:x>')}`, { headers: { Accept: 'image/png' } });
    expect(res.status).toBe(406);
    expect(((await res.json()) as { error: string }).error).toMatch(/DESCRIBE query \(Accept: image\/png\); supported: .*application\/rdf\+xml, .*application\/trig/);
    const bad = await fetch(`${base}/sparql`, { method: 'POST', body: 'SELECT ?s WHERE {\n  ?s ?p ?o FILTRE(?o) }', headers: { 'Content-Type': 'application/sparql-query' } });
    expect(bad.status).toBe(400);
    const error = ((await bad.json()) as { error: string }).error;
    expect(error).toMatch(/^SPARQL syntax error at line 2, column \d+ near "[^"]+": /);
    expect(error).not.toMatch(/\n/);
    const deep = await fetch(`${base}/sparql`, { method: 'POST', body: 'SELECT * WHERE ' + '{'.repeat(700) + '}'.repeat(700), headers: { 'Content-Type': 'application/sparql-query' } });
    expect(deep.status).toBe(400);
    expect(((await deep.json()) as { error: string }).error).toMatch(/nested 700 deep.*at most 128/);
    const sd = await fetch(`${base}/sparql`, { headers: { Accept: 'application/rdf+xml' } });
    expect(sd.headers.get('content-type')).toMatch(/^application\/rdf\+xml/);
    const sdText = await sd.text();
    expect(sdText).toMatch(/sparql-service-description#Service/);
    expect(sdText).not.toMatch(/BasicFederatedQuery/);
  });

  test('CORS: configured origins read; preflights for writes from others are refused; a cross-origin write is refused even with the token', async () => {
    const read = await fetch(`${base}/sparql?query=${encodeURIComponent('ASK {}')}`, { headers: { Origin: 'https://reader.example' } });
    expect(read.headers.get('access-control-allow-origin')).toBe('https://reader.example');
    expect(read.headers.get('access-control-allow-methods')).not.toMatch(/PUT|DELETE/);
    const preflight = (origin: string, method: string, headers = '') =>
      fetch(`${base}/cohorts/x`, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': method, ...(headers ? { 'Access-Control-Request-Headers': headers } : {}) } });
    expect((await preflight('https://evil.example', 'GET')).status).toBe(403);
    const readerPut = await preflight('https://reader.example', 'PUT');
    expect(readerPut.status).toBe(403);
    expect(readerPut.headers.get('access-control-allow-methods')).not.toMatch(/PUT/);
    expect((await preflight('https://reader.example', 'POST', 'content-type, authorization')).status).toBe(403);
    expect((await preflight('https://reader.example', 'POST', 'content-type')).status).toBe(204);
    const admin = await preflight('https://admin.example', 'DELETE', 'authorization');
    expect(admin.status).toBe(204);
    expect(admin.headers.get('access-control-allow-methods')).toMatch(/DELETE/);
    expect(admin.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    const update = (origin: string) => fetch(`${base}/sparql`, {
      method: 'POST', body: new URLSearchParams({ update: 'INSERT DATA { GRAPH <urn:cors> { <urn:a> <urn:b> <urn:c> } }' }),
      headers: { Origin: origin, Authorization: 'Bearer t0ken' },
    });
    const refused = await update('https://reader.example');
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toMatch(/another origin \(https:\/\/reader\.example\).*--cors-write-origins/);
    expect(await store.ask('ASK { GRAPH <urn:cors> { ?s ?p ?o } }')).toBe(false);
    expect((await update('https://admin.example')).status).toBe(204);
    expect(await store.ask('ASK { GRAPH <urn:cors> { ?s ?p ?o } }')).toBe(true);
  });

  test('Graph Store HTTP Protocol: GET for all, PUT/POST/DELETE with the token, 404 for absent graphs', async () => {
    const g = 'urn:notes:1';
    const at = `${base}/store?graph=${encodeURIComponent(g)}`;
    const auth = { Authorization: 'Bearer t0ken' };
    expect((await fetch(at)).status).toBe(404);
    const ttl = '@prefix ex: <urn:ex:> . ex:a ex:says "hello" . ex:a ex:n 1 .';
    expect((await fetch(at, { method: 'PUT', body: ttl, headers: { 'Content-Type': 'text/turtle' } })).status).toBe(401);
    expect((await fetch(at, { method: 'PUT', body: ttl, headers: { 'Content-Type': 'text/turtle', ...auth } })).status).toBe(201);
    const nt = await fetch(at, { headers: { Accept: 'application/n-triples' } });
    expect((await nt.text()).trim().split('\n').sort()).toEqual(['<urn:ex:a> <urn:ex:n> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .', '<urn:ex:a> <urn:ex:says> "hello" .']);
    const nq = await (await fetch(at, { headers: { Accept: 'application/n-quads' } })).text();
    expect(oxigraph.parse(nq, { format: 'application/n-quads' }).every((q) => q.graph.value === g)).toBe(true);
    const trig = await (await fetch(at, { headers: { Accept: 'application/trig' } })).text();
    expect(oxigraph.parse(trig, { format: 'application/trig' }).map((q) => q.graph.value)).toEqual([g, g]);
    const rdfxml = '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="urn:ex:"><rdf:Description rdf:about="urn:ex:b"><ex:says>bye</ex:says></rdf:Description></rdf:RDF>';
    expect((await fetch(at, { method: 'POST', body: rdfxml, headers: { 'Content-Type': 'application/rdf+xml', ...auth } })).status).toBe(204);
    expect(await count(`SELECT (COUNT(*) AS ?n) WHERE { GRAPH <${g}> { ?s ?p ?o } }`)).toBe(3);
    expect((await fetch(at, { method: 'PUT', body: '<urn:ex:c> <urn:ex:says> "only" .', headers: { 'Content-Type': 'application/n-triples', ...auth } })).status).toBe(204);
    expect(await count(`SELECT (COUNT(*) AS ?n) WHERE { GRAPH <${g}> { ?s ?p ?o } }`)).toBe(1);
    const broken = await fetch(at, { method: 'PUT', body: '<urn:a> <urn:b> .', headers: { 'Content-Type': 'text/turtle', ...auth } });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: string }).error).toMatch(/^the text\/turtle body does not parse/);
    expect((await fetch(at, { method: 'PUT', body: '{}', headers: { 'Content-Type': 'application/json', ...auth } })).status).toBe(415);
    expect((await fetch(`${base}/store?default`, { method: 'PUT', body: ttl, headers: { 'Content-Type': 'text/turtle', ...auth } })).status).toBe(405);
    expect((await fetch(at, { method: 'DELETE', headers: auth })).status).toBe(204);
    expect((await fetch(at, { method: 'DELETE', headers: auth })).status).toBe(404);
    expect((await fetch(`${base}/store`)).status).toBe(400);
    const union = await fetch(`${base}/store?default`, { headers: { Accept: 'application/n-triples' } });
    expect((await union.text()).trim().split('\n').length).toBeGreaterThan(600);
  });

  test('/health answers without counting the store; /stats counts; /metrics is Prometheus text; one access-log line per request', async () => {
    const before = sizeCalls;
    const health = (await (await fetch(`${base}/health`)).json()) as Record<string, unknown>;
    expect(health).toEqual({ status: 'ok', hpoVersion: '2099-01-01' });
    expect(sizeCalls).toBe(before);
    const stats = (await (await fetch(`${base}/stats`)).json()) as { triples: number; store: string };
    expect(stats.store).toBe('oxigraph');
    expect(stats.triples).toBe(await store.size());
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    expect(text).toMatch(/^# HELP harmonia_http_requests_total/m);
    expect(text).toMatch(/^harmonia_http_requests_total\{route="\/sparql",method="POST",status="200"\} \d+$/m);
    expect(text).toMatch(/^harmonia_http_request_duration_seconds_bucket\{route="\/health",le="\+Inf"\} 1$/m);
    expect(text).toMatch(/^harmonia_store_quads \d+$/m);
    log.length = 0;
    await fetch(`${base}/sparql?query=${encodeURIComponent(`SELECT ?id WHERE { ?p <${ID}> ?id }`)}&format=csv`);
    await new Promise((r) => setTimeout(r, 50));
    expect(log).toHaveLength(1);
    const line = JSON.parse(log[0]) as Record<string, unknown>;
    expect(Object.keys(line).sort()).toEqual(['bytes', 'method', 'ms', 'path', 'query', 'rows', 'status', 'time']);
    expect(line).toMatchObject({ method: 'GET', path: '/sparql', status: 200, rows: 2, query: `SELECT ?id WHERE { ?p <${ID}> ?id }` });
    expect(line.bytes).toBe('id\r\nPMID_1_Patient_1\r\nPMID_1_Patient_2\r\n'.length);
  });
});
