import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { QueryEngine } from '../../../src/query/index.js';
import { mmeTokens } from '../../../src/cli/commands/serve.js';
import { MmeSchema } from '../../../src/retrieve/index.js';
import { createApp, DEFAULT_CONFIG, InProcessExecutor, type ServerContext } from '../../../src/server/index.js';
import { retrievalRoutes } from '../../../src/server/retrieval.js';
import type { OxigraphStore } from '../../../src/store/index.js';
import { fixtureStore } from '../../helpers/fixture-store.js';
import { dataDir, fixtures, tempDir } from '../../helpers/paths.js';

// POST /match validates with our own MME v1.1 schema out of the box. The official schema, when the
// data directory has it, checks our responses too, and serves as the --mme-schema override.
const data = dataDir();
const officialFile = data ? join(data, 'specs', 'mme-api.schema.json') : '';
const official = data && existsSync(officialFile) ? MmeSchema.load(officialFile) : undefined;
if (!official) console.warn('retrieval-routes.test: no specs/mme-api.schema.json in the data directory; the --mme-schema override goes untested');
const MME = 'application/vnd.ga4gh.matchmaker.v1.1+json';
const MME_1_0 = 'application/vnd.ga4gh.matchmaker.v1.0+json';
const asker = { name: 'Asker', href: 'mailto:asker@example.org' };
const query = { patient: { id: 'q1', contact: asker, features: [{ id: 'HP:0011097', observed: 'yes' }, { id: 'HP:0001249', observed: 'no' }] } };
type MatchBody = { results: { patient: { id: string; contact: { name: string } }; score: { patient: number } }[] };
type ErrorBody = { error: string; message: string; supportedVersions?: string[] };

describe('retrieval routes over HTTP', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: OxigraphStore;
  const servers: Server[] = [];
  let base: string;
  let guarded: string;
  let overridden: string;

  beforeAll(async () => {
    dir = tempDir();
    store = await fixtureStore(dir.path);
    const ontology = (await store.ontology())!;
    const engine = await QueryEngine.create(store, ontology);
    const listen = async (patch: Partial<ServerContext['config']>): Promise<string> => {
      let ctx!: ServerContext;
      ctx = {
        store, ontology, engine, executor: new InProcessExecutor(() => ctx),
        config: { ...DEFAULT_CONFIG, annotations: join(fixtures, 'ontology', 'mini.hpoa'), contact: { name: 'Test Steward', href: 'mailto:steward@example.org', institution: 'Test Site' }, ...patch },
        async afterWrite() {},
      };
      const server = createApp(ctx, [retrievalRoutes]).listen(0, '127.0.0.1');
      servers.push(server);
      await new Promise((r) => server.once('listening', r));
      return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    };
    base = await listen({});
    guarded = await listen({ mmeTokens: ['854a439d278df4283bf5498ab020336cdc416a7d', 'second-site'] });
    if (official) overridden = await listen({ mmeSchema: officialFile });
  });
  afterAll(async () => {
    for (const server of servers) await new Promise((r) => server.close(r));
    await store.close();
    dir.remove();
  });

  const match = (body: unknown, type = MME, at = base, headers: Record<string, string> = {}) =>
    fetch(`${at}/match`, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': type, ...headers } });

  test('POST /match works without configuration: a schema-valid response, a contact per patient', async () => {
    const res = await match(query);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/vnd\.ga4gh\.matchmaker\.v1\.1\+json/);
    const body = (await res.json()) as MatchBody;
    expect(MmeSchema.default().validateResponse(body)).toMatchObject({ ok: true });
    if (official) expect(official.validateResponse(body)).toMatchObject({ ok: true });
    expect(body.results.map((r) => r.patient.id)).toContain('PMID_1_Patient_1');
    expect(body.results[0].patient.id).toBe('PMID_1_Patient_1');
    for (const r of body.results) expect(r.patient.contact.name).toBe('Test Steward');
  });

  test('a v1.0 request is answered in v1.0; another major version is 406 naming the supported ones', async () => {
    const v10 = await match(query, MME_1_0);
    expect(v10.status).toBe(200);
    expect(v10.headers.get('content-type')).toMatch(/^application\/vnd\.ga4gh\.matchmaker\.v1\.0\+json/);
    expect(((await v10.json()) as MatchBody).results[0].patient.id).toBe('PMID_1_Patient_1');
    const v2 = await match(query, 'application/vnd.ga4gh.matchmaker.v2.0+json');
    expect(v2.status).toBe(406);
    expect(v2.headers.get('content-type')).toMatch(/^application\/vnd\.ga4gh\.matchmaker\.v1\.1\+json/);
    expect(await v2.json()).toEqual({ error: 'unsupported API version 2.0', message: 'unsupported API version 2.0', supportedVersions: ['1.0', '1.1'] });
  });

  test('POST /match refuses other content types (415) and invalid requests (400, with the reason)', async () => {
    const plain = await match({ patient: { id: 'q' } }, 'application/json');
    expect(plain.status).toBe(415);
    expect(plain.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await plain.json()) as ErrorBody).error).toMatch(/got application\/json/);
    const noContact = await match({ patient: { id: 'q', features: [{ id: 'HP:0011097' }] } });
    expect(noContact.status).toBe(400);
    const reason = (await noContact.json()) as ErrorBody;
    expect(reason.error).toBe("invalid MME request: /patient: must have required property 'contact'");
    expect(reason.message).toBe(reason.error);
    const nothing = await match({ patient: { id: 'q', contact: asker } });
    expect(nothing.status).toBe(400);
    expect(((await nothing.json()) as ErrorBody).error).toMatch(/at least one feature or genomicFeature/);
    const notJson = await fetch(`${base}/match`, { method: 'POST', body: '{"patient":', headers: { 'Content-Type': MME_1_0 } });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as ErrorBody).error).toMatch(/^request body is not JSON/);
  });

  test('with tokens configured, POST /match needs a matching X-Auth-Token (401 otherwise); other routes stay open', async () => {
    const none = await match(query, MME, guarded);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ error: 'missing or unrecognised X-Auth-Token', message: 'missing or unrecognised X-Auth-Token' });
    expect((await match(query, MME, guarded, { 'X-Auth-Token': '854a439d278df4283bf5498ab020336cdc416a7' })).status).toBe(401);
    // Checked before the media type: an unknown caller learns nothing about the request.
    expect((await match(query, 'application/json', guarded, { 'X-Auth-Token': 'wrong' })).status).toBe(401);
    const first = await match(query, MME, guarded, { 'X-Auth-Token': '854a439d278df4283bf5498ab020336cdc416a7d' });
    expect(first.status).toBe(200);
    expect(((await first.json()) as MatchBody).results[0].patient.id).toBe('PMID_1_Patient_1');
    expect((await match(query, MME_1_0, guarded, { 'X-Auth-Token': 'second-site' })).status).toBe(200);
    expect((await fetch(`${guarded}/patients/PMID_1_Patient_2/similar`)).status).toBe(200);
  });

  test('serve takes --mme-token values, else HARMONIA_MME_TOKENS split on commas', () => {
    expect(mmeTokens(['a', 'b'], 'c,d')).toEqual(['a', 'b']);
    expect(mmeTokens([], ' c , d,,')).toEqual(['c', 'd']);
    expect(mmeTokens([], undefined)).toEqual([]);
    expect(() => mmeTokens(['x'.repeat(255)], undefined)).toThrow(/an MME token must be under 255 characters/);
  });

  (official ? test : test.skip)('--mme-schema replaces our schema: the official one checks gender, not sex', async () => {
    const sexF = { patient: { ...query.patient, sex: 'F' } };
    expect((await match(sexF)).status).toBe(400);
    expect((await match(sexF, MME, overridden)).status).toBe(200);
    const genderX = await match({ patient: { ...query.patient, gender: 'X' } }, MME, overridden);
    expect(genderX.status).toBe(400);
    expect(((await genderX.json()) as ErrorBody).error).toMatch(/\/patient\/gender/);
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
