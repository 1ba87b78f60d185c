import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { federatedCohort, federatedCounts, federatedQuery, type Site } from '../../../src/query/federation.js';
import { cohortRoutes } from '../../../src/server/cohorts.js';
import { federationRoutes, startLocalEndpoint } from '../../../src/server/federation.js';
import type { RunningServer } from '../../../src/server/index.js';
import { compileCohort, prepareCohort } from '../../../src/cohort/index.js';
import { loadOntology } from '../../../src/ontology/index.js';
import { ALL_IDS, COHORT_FIXTURES, SEIZURE_COUNT, SEIZURE_IDS, buildSites, deadUrl, ids, serveSite, silentSite } from './sites.js';

// Two real harmonia servers as two sites (A: P-A, P-B, P-C; B: P-D, P-E), talked to over HTTP.

let sites: Awaited<ReturnType<typeof buildSites>>;
let a: RunningServer;
let b: RunningServer;
let plainB: RunningServer; // site B without the cohort API: a plain SPARQL endpoint
let A: Site;
let B: Site;

beforeAll(async () => {
  sites = await buildSites();
  [a, b, plainB] = await Promise.all([serveSite(sites.dirs.a, [cohortRoutes]), serveSite(sites.dirs.b, [cohortRoutes]), serveSite(sites.dirs.b)]);
  A = { name: 'site-a', url: `${a.url}/sparql` };
  B = { name: 'site-b', url: `${b.url}/sparql` };
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close(), plainB?.close()]);
  sites?.cleanup();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const j = async (r: Response | Promise<Response>): Promise<any> => (await r).json();

const scn1aOrSeizure = { name: 'seizure', criteria: { phenotype: { concept: 'HP:0001250', status: 'observed' } } };

describe('a federated query (Comunica over both sites)', () => {
  test('a SELECT returns the union of both sites', async () => {
    const answer = await federatedQuery(ALL_IDS, [A, B], { format: 'json' });
    expect(ids(answer.body)).toEqual(['P-A', 'P-B', 'P-C', 'P-D', 'P-E']);
    expect(answer.answered).toEqual(['site-a', 'site-b']);
    expect(answer.failures).toEqual([]);
  });

  test('ontology paths work across sites: seizure patients of both', async () => {
    const answer = await federatedQuery(SEIZURE_IDS, [A, B], { format: 'json' });
    expect(ids(answer.body)).toEqual(['P-A', 'P-B', 'P-C', 'P-E']);
  });

  test('with this side\'s ontology the path is expanded before Comunica: same answer, far fewer requests', async () => {
    let requests = 0;
    const count = (): void => void requests++;
    for (const s of [a, b]) s.server.on('request', count);
    try {
      await federatedQuery(SEIZURE_IDS, [A, B], { format: 'json' });
      const walked = requests;
      requests = 0;
      const answer = await federatedQuery(SEIZURE_IDS, [A, B], { format: 'json', ontology: loadOntology(join(COHORT_FIXTURES, 'tiny.obo')) });
      expect(ids(answer.body)).toEqual(['P-A', 'P-B', 'P-C', 'P-E']);
      expect(requests).toBeLessThan(walked);
    } finally {
      for (const s of [a, b]) s.server.off('request', count);
    }
  });

  test('CSV, and a row cap', async () => {
    const answer = await federatedQuery(ALL_IDS, [A, B], { format: 'csv', maxRows: 2 });
    expect(answer.cappedAt).toBe(2);
    expect(answer.body.trim().split(/\r?\n/)).toHaveLength(3);
    expect(answer.body.split(/\r?\n/)[0]).toBe('id');
  });

  test('a site that is down: partial answer naming it', async () => {
    const down: Site = { name: 'site-down', url: await deadUrl() };
    const answer = await federatedQuery(ALL_IDS, [A, down], { format: 'json', timeoutMs: 2000 });
    expect(ids(answer.body)).toEqual(['P-A', 'P-B', 'P-C']);
    expect(answer.failures).toEqual([{ site: 'site-down', url: down.url, reason: 'connection refused' }]);
  });

  test('a site that hangs: partial answer after the time limit', async () => {
    const silent = await silentSite();
    try {
      const started = Date.now();
      const answer = await federatedQuery(ALL_IDS, [A, { name: 'site-slow', url: silent.url }], { format: 'json', timeoutMs: 800 });
      expect(ids(answer.body)).toEqual(['P-A', 'P-B', 'P-C']);
      expect(answer.failures[0]).toMatchObject({ site: 'site-slow', reason: 'no answer within 800 ms' });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await silent.close();
    }
  });

  test('every site down: an error naming each', async () => {
    await expect(federatedQuery(ALL_IDS, [{ name: 'x', url: await deadUrl() }], { format: 'json', timeoutMs: 1000 })).rejects.toThrow(/no site answered: x \(connection refused\)/);
  });
});

describe('per-site counts with small-cell suppression', () => {
  test('each site counts itself; counts below the threshold are "<N", the total sums the rest', async () => {
    const c = await federatedCounts(SEIZURE_COUNT, [A, B], { suppressBelow: 3 });
    expect(c.variables).toEqual(['patients']);
    expect(c.sites.map((s) => [s.site, s.status, s.values.patients, s.suppressed])).toEqual([
      ['site-a', 'ok', 3, false],
      ['site-b', 'ok', '<3', true],
    ]);
    expect(c).toMatchObject({ total: { patients: 3 }, suppressed: true, complete: true, suppressBelow: 3 });
    expect(JSON.stringify(c)).not.toMatch(/"patients":1\b/);
  });

  test('the default threshold is 5: both small sites suppressed, nothing in the total', async () => {
    const c = await federatedCounts(SEIZURE_COUNT, [A, B]);
    expect(c.sites.map((s) => s.values.patients)).toEqual(['<5', '<5']);
    expect(c).toMatchObject({ total: { patients: 0 }, suppressed: true });
  });

  test('a site that is down is reported, the others counted', async () => {
    const c = await federatedCounts(SEIZURE_COUNT, [A, { name: 'gone', url: await deadUrl() }], { suppressBelow: 1, timeoutMs: 1000 });
    expect(c.sites[1]).toMatchObject({ site: 'gone', status: 'unreachable', error: 'connection refused', values: {} });
    expect(c).toMatchObject({ total: { patients: 3 }, complete: false, suppressed: false });
  });
});

describe('cohorts across sites', () => {
  test('each harmonia site evaluates the definition through its cohort API; no ids leave a site', async () => {
    const r = await federatedCohort(scn1aOrSeizure, [A, B], { suppressBelow: 2 });
    expect(r.sites.map((s) => [s.site, s.via, s.status, s.count])).toEqual([
      ['site-a', 'cohort-api', 'ok', 3],
      ['site-b', 'cohort-api', 'ok', '<2'],
    ]);
    expect(r).toMatchObject({ name: 'seizure', total: 3, suppressed: true, complete: true });
    expect(JSON.stringify(r)).not.toMatch(/P-[A-E]/);
  });

  test('a site allowing rows shares its member ids', async () => {
    const r = await federatedCohort(scn1aOrSeizure, [A, { ...B, allowRows: true }], { suppressBelow: 2 });
    expect(r.sites[0].patients).toBeUndefined();
    expect(r.sites[1].patients).toEqual(['P-E']);
  });

  test('a plain SPARQL endpoint gets the compiled query as a COUNT', async () => {
    const compiled = compileCohort(prepareCohort(scn1aOrSeizure, loadOntology(join(COHORT_FIXTURES, 'tiny.obo'))));
    const plain: Site = { name: 'plain-b', url: `${plainB.url}/sparql` };
    const r = await federatedCohort(scn1aOrSeizure, [A, plain], { suppressBelow: 1, compiled });
    expect(r.sites[1]).toMatchObject({ site: 'plain-b', via: 'sparql', status: 'ok', count: 1 });
    expect(r.total).toBe(4);
    const without = await federatedCohort(scn1aOrSeizure, [plain], { suppressBelow: 1 });
    expect(without.sites[0]).toMatchObject({ status: 'failed', error: expect.stringMatching(/no ontology on this side/) });
  });

  test('a definition a site rejects is that site\'s failure, with its reason', async () => {
    const r = await federatedCohort({ name: 'x', criteria: { phenotype: { concept: 'HP:9999999' } } }, [A], {});
    expect(r.sites[0]).toMatchObject({ status: 'failed', error: expect.stringMatching(/HTTP 400/) });
  });
});

describe('the federation routes of a server (site A federating with B)', () => {
  let hub: RunningServer;
  let open: RunningServer;
  beforeAll(async () => {
    hub = await serveSite(sites.dirs.a, [cohortRoutes, federationRoutes({ partners: [B, { name: 'site-down', url: await deadUrl() }], suppressBelow: 3, timeoutMs: 1500 })]);
    open = await serveSite(sites.dirs.a, [federationRoutes({ partners: [{ ...B, allowRows: true }] })]);
  });
  afterAll(async () => {
    await Promise.all([hub?.close(), open?.close()]);
  });

  test('GET /federation describes the configuration', async () => {
    const body = await j(fetch(`${hub.url}/federation`));
    expect(body).toMatchObject({ local: 'local', suppressBelow: 3, partners: [{ name: 'site-b', allowRows: false }, { name: 'site-down', allowRows: false }] });
  });

  test('a COUNT query is answered per site with suppression, and says which site is missing', async () => {
    const res = await fetch(`${hub.url}/federation/sparql?query=${encodeURIComponent(SEIZURE_COUNT)}`, { headers: { accept: 'application/sparql-results+json' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-harmonia-federation-warning')).toMatch(/site-down .*connection refused.*partial answer from local, site-b/);
    const json = await j(res);
    expect(json.head.vars).toEqual(['site', 'patients', 'suppressed', 'status']);
    const rows = json.results.bindings.map((r: Record<string, { value: string }>) => [r.site.value, r.patients?.value, r.status.value]);
    expect(rows).toEqual([
      ['local', '3', 'ok'],
      ['site-b', '<3', 'ok'],
      ['site-down', undefined, 'unreachable: connection refused'],
      ['total', '3', 'partial'],
    ]);
  });

  test('CSV for the same counts', async () => {
    const res = await fetch(`${hub.url}/federation/sparql`, { method: 'POST', headers: { 'content-type': 'application/sparql-query', accept: 'text/csv' }, body: SEIZURE_COUNT });
    const lines = (await res.text()).trim().split(/\r?\n/);
    expect(lines[0]).toBe('site,patients,suppressed,status');
    expect(lines[2]).toBe('site-b,<3,true,ok');
  });

  test('a row-level SELECT is refused with 403 when a partner does not allow rows', async () => {
    const res = await fetch(`${hub.url}/federation/sparql?query=${encodeURIComponent(ALL_IDS)}`);
    expect(res.status).toBe(403);
    const body = await j(res);
    expect(body.refusedSites).toEqual(['site-b', 'site-down']);
    expect(body.error).toMatch(/small-cell suppression/);
  });

  test('with partners that allow rows, a SELECT gets the union', async () => {
    const res = await fetch(`${open.url}/federation/sparql?query=${encodeURIComponent(ALL_IDS)}`, { headers: { accept: 'application/sparql-results+json' } });
    expect(res.status).toBe(200);
    expect(ids(await res.text())).toEqual(['P-A', 'P-B', 'P-C', 'P-D', 'P-E']);
  });

  test('POST /federation/cohorts: the local store and the partners, counts only', async () => {
    const res = await fetch(`${hub.url}/federation/cohorts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(scn1aOrSeizure) });
    expect(res.status).toBe(200);
    const body = await j(res);
    expect(body.sites.map((s: { site: string; via: string; count?: unknown }) => [s.site, s.via, s.count])).toEqual([
      ['local', 'local', 3],
      ['site-b', 'cohort-api', '<3'],
      ['site-down', 'cohort-api', undefined],
    ]);
    expect(body).toMatchObject({ total: 3, suppressed: true, complete: false });
    expect(JSON.stringify(body)).not.toMatch(/P-[A-E]/);
  });

  test('bad input: one 400 naming the problem', async () => {
    const syntax = await fetch(`${hub.url}/federation/sparql?query=${encodeURIComponent('SELECT ?x WHERE {')}`);
    expect(syntax.status).toBe(400);
    expect((await j(syntax)).error).toMatch(/SPARQL syntax error/);
    const cohort = await fetch(`${hub.url}/federation/cohorts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x', criteria: { phenotype: { concept: 'HP:9999999' } } }) });
    expect(cohort.status).toBe(400);
    expect((await j(cohort)).issues[0].path).toMatch(/criteria/);
  });
});

test('the local store as an in-process endpoint joins the federation', async () => {
  const local = await startLocalEndpoint(sites.dirs.b);
  try {
    const answer = await federatedQuery(ALL_IDS, [{ name: 'local', url: local.url }, A], { format: 'json' });
    expect(ids(answer.body)).toEqual(['P-A', 'P-B', 'P-C', 'P-D', 'P-E']);
  } finally {
    await local.close();
  }
  expect(readFileSync(join(sites.dirs.b, 'harmonia-store.json'), 'utf8')).toMatch(/hpoVersion/);
});
