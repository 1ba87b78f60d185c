import type { Server } from 'node:http';
import { QueryEngine } from '../../../src/query/index.js';
import { createApp, DEFAULT_CONFIG, InProcessExecutor, type ServerContext } from '../../../src/server/index.js';
import type { OxigraphStore } from '../../../src/store/index.js';
import { fixtureStore } from '../../helpers/fixture-store.js';
import { tempDir } from '../../helpers/paths.js';

const Q1 = `PREFIX hx: <https://w3id.org/harmonia/vocab#>
PREFIX obo: <http://purl.obolibrary.org/obo/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?id WHERE { ?p hx:id ?id ; hx:hasPhenotype ?c . ?c rdfs:subClassOf* obo:HP_0001250 } GROUP BY ?id ORDER BY ?id`;

describe('SPARQL 1.1 Protocol over HTTP', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: OxigraphStore;
  let server: Server;
  let base: string;
  let writes = 0;

  beforeAll(async () => {
    dir = tempDir();
    store = await fixtureStore(dir.path);
    const ontology = (await store.ontology())!;
    const engine = await QueryEngine.create(store, ontology, { maxRows: 100 });
    let ctx!: ServerContext;
    ctx = {
      store, ontology, engine,
      executor: new InProcessExecutor(() => ctx),
      config: { ...DEFAULT_CONFIG, port: 0, maxBodyBytes: 64 * 1024, corsOrigins: ['https://app.example.org'], updateToken: 's3cret' },
      async afterWrite() {
        writes++;
        await engine.refresh();
      },
    };
    server = createApp(ctx).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const addr = server.address() as { port: number };
    base = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await store.close();
    dir.remove();
  });

  const post = (body: string, type: string, headers: Record<string, string> = {}) =>
    fetch(`${base}/sparql`, { method: 'POST', body, headers: { 'Content-Type': type, ...headers } });

  test('GET with a query parameter answers SPARQL results JSON by default', async () => {
    const res = await fetch(`${base}/sparql?query=${encodeURIComponent(Q1)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/sparql-results\+json/);
    const body = (await res.json()) as { results: { bindings: { id: { value: string } }[] } };
    expect(body.results.bindings.map((b: { id: { value: string } }) => b.id.value)).toEqual(['PMID_1_Patient_1', 'PMID_1_Patient_2']);
    expect(res.headers.get('x-harmonia-expanded-paths')).toBe('1');
  });

  test('POST form-encoded and POST application/sparql-query, with XML, CSV and TSV by Accept', async () => {
    const form = await fetch(`${base}/sparql`, { method: 'POST', body: new URLSearchParams({ query: Q1 }), headers: { Accept: 'text/csv' } });
    expect(await form.text()).toBe('id\r\nPMID_1_Patient_1\r\nPMID_1_Patient_2\r\n');
    const tsv = await post(Q1, 'application/sparql-query', { Accept: 'text/tab-separated-values' });
    expect((await tsv.text()).split('\n')[1]).toBe('"PMID_1_Patient_1"');
    const xml = await post(Q1, 'application/sparql-query', { Accept: 'application/sparql-results+xml' });
    expect(xml.headers.get('content-type')).toMatch(/sparql-results\+xml/);
    expect(await xml.text()).toMatch(/<literal>PMID_1_Patient_2<\/literal>/);
  });

  test('ASK, and CONSTRUCT as Turtle, N-Triples and JSON-LD', async () => {
    const ask = await post('ASK { ?p <https://w3id.org/harmonia/vocab#id> "PMID_1_Patient_2" }', 'application/sparql-query');
    expect(await ask.json()).toEqual({ head: {}, boolean: true });
    const construct = 'CONSTRUCT { ?p <urn:x:id> ?id } WHERE { ?p <https://w3id.org/harmonia/vocab#id> ?id }';
    const ttl = await post(construct, 'application/sparql-query', { Accept: 'text/turtle' });
    expect(ttl.headers.get('content-type')).toMatch(/^text\/turtle/);
    expect(await ttl.text()).toMatch(/<urn:x:id> "PMID_1_Patient_1"/);
    const nt = await post(construct, 'application/sparql-query', { Accept: 'application/n-triples' });
    expect((await nt.text()).trim().split('\n')).toHaveLength(2);
    const jsonld = await post(construct, 'application/sparql-query', { Accept: 'application/ld+json' });
    const doc = (await jsonld.json()) as Record<string, unknown>[];
    expect(doc.map((n: Record<string, unknown>) => n['@id']).sort()).toEqual([
      'https://w3id.org/harmonia/resource/patient/PMID_1_Patient_1',
      'https://w3id.org/harmonia/resource/patient/PMID_1_Patient_2',
    ]);
  });

  test('unacceptable formats, wrong content types and syntax errors get 406, 415 and 400', async () => {
    expect((await fetch(`${base}/sparql?query=${encodeURIComponent(Q1)}`, { headers: { Accept: 'image/png' } })).status).toBe(406);
    const unknown = await fetch(`${base}/sparql?format=yaml&query=${encodeURIComponent(Q1)}`);
    expect(unknown.status).toBe(406);
    expect(((await unknown.json()) as { error: string }).error).toMatch(/\(format=yaml\); supported: format=json\|xml\|csv\|tsv/);
    expect((await fetch(`${base}/sparql?format=ttl&query=${encodeURIComponent(Q1)}`)).status).toBe(406);
    expect((await post(Q1, 'text/plain')).status).toBe(415);
    const bad = await post('SELECT WHERE {', 'application/sparql-query');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/syntax/i);
  });

  test('row limit is enforced and announced', async () => {
    const res = await post('SELECT * WHERE { ?s ?p ?o }', 'application/sparql-query');
    expect(res.headers.get('x-harmonia-row-limit')).toBe('100');
    expect(((await res.json()) as { results: { bindings: unknown[] } }).results.bindings).toHaveLength(100);
  });

  test('updates: 403 without a configured token is covered by config; 401 without the bearer; 204 and persisted with it', async () => {
    const update = 'INSERT DATA { GRAPH <urn:notes> { <urn:a> <urn:b> "note" } }';
    const anon = await post(update, 'application/sparql-update');
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toMatch(/Bearer/);
    expect((await post(update, 'application/sparql-update', { Authorization: 'Bearer wrong' })).status).toBe(401);
    const ok = await post(update, 'application/sparql-update', { Authorization: 'Bearer s3cret' });
    expect(ok.status).toBe(204);
    expect(writes).toBe(1);
    expect(await store.ask('ASK { <urn:a> <urn:b> "note" }')).toBe(true);
    const viaQuery = await post(update, 'application/sparql-query');
    expect(viaQuery.status).toBe(400);
  });

  test('a request body over the limit is refused with 413 before it is read whole', async () => {
    const big = 'x'.repeat(100 * 1024 * 1024);
    const res = await post(`SELECT * WHERE { ?s ?p "${big}" }`, 'application/sparql-query');
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toMatch(/larger than the 65536 byte limit/);
  });

  test('CORS for configured origins only; service description; health', async () => {
    const allowed = await fetch(`${base}/sparql?query=${encodeURIComponent('ASK {}')}`, { headers: { Origin: 'https://app.example.org' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.org');
    const other = await fetch(`${base}/sparql?query=${encodeURIComponent('ASK {}')}`, { headers: { Origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const sd = await fetch(`${base}/sparql`);
    expect(sd.headers.get('content-type')).toMatch(/text\/turtle/);
    expect(await sd.text()).toMatch(/sd:endpoint <http:\/\/127\.0\.0\.1:\d+\/sparql>/);
    expect(await (await fetch(`${base}/health`)).json()).toMatchObject({ status: 'ok', hpoVersion: '2099-01-01' });
  });
});

test('a server asked for a port already in use fails naming the port, and listens on nothing', async () => {
  const { createServer } = await import('node:net');
  const { startServer } = await import('../../../src/server/index.js');
  const { tinyStore } = await import('../cohort/helpers.js');
  const ctx = await tinyStore();
  await ctx.store.close();
  const blocker = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  const port = (blocker.address() as { port: number }).port;
  try {
    await expect(startServer(ctx.dir, { port })).rejects.toThrow(new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
    // The failed start released the store: it can be opened for writing again.
    const again = await startServer(ctx.dir, { port: 0 });
    await again.close();
  } finally {
    blocker.close();
    await ctx.cleanup();
  }
});
