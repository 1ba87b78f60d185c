import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { QueryEngine } from '../../../src/query/index.js';
import { MmeSchema } from '../../../src/retrieve/index.js';
import { createApp, DEFAULT_CONFIG, InProcessExecutor, type ServerContext } from '../../../src/server/index.js';
import { retrievalRoutes } from '../../../src/server/retrieval.js';
import type { OxigraphStore } from '../../../src/store/index.js';
import { fixtureStore } from '../../helpers/fixture-store.js';
import { dataDir, fixtures, tempDir } from '../../helpers/paths.js';

// The MME schema is the official one from the data directory; without it these tests cannot run.
const data = dataDir();
const schemaFile = data ? join(data, 'specs', 'mme-api.schema.json') : '';
const describeMme = data && existsSync(schemaFile) ? describe : describe.skip;
const MME = 'application/vnd.ga4gh.matchmaker.v1.1+json';

describeMme('retrieval routes over HTTP', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: OxigraphStore;
  let server: Server;
  let base: string;
  const schema = data ? MmeSchema.load(schemaFile) : undefined;

  beforeAll(async () => {
    dir = tempDir();
    store = await fixtureStore(dir.path);
    const ontology = (await store.ontology())!;
    const engine = await QueryEngine.create(store, ontology);
    let ctx!: ServerContext;
    ctx = {
      store, ontology, engine, executor: new InProcessExecutor(() => ctx),
      config: { ...DEFAULT_CONFIG, mmeSchema: schemaFile, annotations: join(fixtures, 'ontology', 'mini.hpoa'), contact: { name: 'Test Steward', href: 'mailto:steward@example.org', institution: 'Test Site' } },
      async afterWrite() {},
    };
    server = createApp(ctx, [retrievalRoutes]).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await store.close();
    dir.remove();
  });

  const match = (body: unknown, type = MME) => fetch(`${base}/match`, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': type } });

  test('POST /match answers a valid MME request with a schema-valid response and a contact per patient', async () => {
    const res = await match({ patient: { id: 'q1', contact: { name: 'Asker', href: 'mailto:asker@example.org' }, features: [{ id: 'HP:0011097', observed: 'yes' }, { id: 'HP:0001249', observed: 'no' }] } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/vnd\.ga4gh\.matchmaker\.v1\.1\+json/);
    const body = (await res.json()) as { results: { patient: { id: string; contact: { name: string } }; score: { patient: number } }[] };
    expect(schema!.validateResponse(body)).toMatchObject({ ok: true });
    expect(body.results.map((r) => r.patient.id)).toContain('PMID_1_Patient_1');
    expect(body.results[0].patient.id).toBe('PMID_1_Patient_1');
    for (const r of body.results) expect(r.patient.contact.name).toBe('Test Steward');
  });

  test('POST /match refuses other content types (415) and invalid requests (400, with the reason)', async () => {
    expect((await match({ patient: { id: 'q' } }, 'application/json')).status).toBe(415);
    const noContact = await match({ patient: { id: 'q', features: [{ id: 'HP:0011097' }] } });
    expect(noContact.status).toBe(400);
    expect(((await noContact.json()) as { error: string }).error).toMatch(/contact/);
    const nothing = await match({ patient: { id: 'q', contact: { name: 'A', href: 'mailto:a@example.org' } } });
    expect(nothing.status).toBe(400);
    expect(((await nothing.json()) as { error: string }).error).toMatch(/at least one feature or genomicFeature/);
  });

  test('GET /patients/{id}/similar never returns the patient itself; unknown ids are 404', async () => {
    const res = await fetch(`${base}/patients/PMID_1_Patient_2/similar?top=5&explain=true`);
    const body = (await res.json()) as { query: string; results: { patient: string; score: number; explanation: unknown[] }[] };
    expect(body.query).toBe('PMID_1_Patient_2');
    expect(body.results.map((r) => r.patient)).toEqual(['PMID_1_Patient_1']);
    expect(body.results[0].explanation.length).toBeGreaterThan(0);
    expect((await fetch(`${base}/patients/nobody/similar`)).status).toBe(404);
    const huge = await fetch(`${base}/patients/PMID_1_Patient_2/similar?top=1000000&explain=true`);
    expect(huge.status).toBe(400);
    expect(((await huge.json()) as { error: string }).error).toMatch(/top must be a whole number from 1 to 1000/);
    expect((await fetch(`${base}/patients/PMID_1_Patient_2/similar?top=0`)).status).toBe(400);
  });

  test('POST /diagnose ranks annotated diseases; an empty profile is a 400 with the reason', async () => {
    const res = await fetch(`${base}/diagnose`, { method: 'POST', body: JSON.stringify({ hpo: ['HP:0011097'], top: 3 }), headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { results: { disease: string; label: string; score: number }[] };
    expect(body.results[0]).toMatchObject({ disease: 'OMIM:607208', label: 'Dravet syndrome' });
    expect(body.results.length).toBeLessThanOrEqual(3);
    const empty = await fetch(`${base}/diagnose`, { method: 'POST', body: JSON.stringify({ hpo: ['HP:9999999'] }), headers: { 'Content-Type': 'application/json' } });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { error: string }).error).toMatch(/HP:9999999/);
  });
});
