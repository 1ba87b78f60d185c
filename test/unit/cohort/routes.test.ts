import { startServer, type RunningServer } from '../../../src/server/index.js';
import { cohortRoutes } from '../../../src/server/cohorts.js';
import { createApp } from '../../../src/server/app.js';
import { tinyStore } from './helpers.js';

let ctx: Awaited<ReturnType<typeof tinyStore>>;
let server: RunningServer;

beforeAll(async () => {
  ctx = await tinyStore();
  await ctx.store.close();
  server = await startServer(ctx.dir, { port: 0, updateToken: 'secret' }, [cohortRoutes]);
});
afterAll(async () => {
  await server?.close();
  await ctx?.cleanup();
});

const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(server.url + path, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const j = async (r: Response | Promise<Response>): Promise<any> => (await r).json();

const scn1a = { name: 'scn1a', criteria: { gene: { symbol: 'SCN1A' } } };

describe('cohort HTTP routes', () => {
  test('POST /cohorts evaluates a definition: count, patients, sparql', async () => {
    const res = await call('POST', '/cohorts', scn1a);
    expect(res.status).toBe(200);
    const body = await j(res);
    expect(Object.keys(body)).toEqual(['count', 'patients', 'sparql']);
    expect(body).toMatchObject({ count: 2, patients: ['P-A', 'P-B'] });
  });

  test('YAML bodies, explain and characterise on request', async () => {
    const yaml = 'name: y\ncriteria:\n  phenotype: {concept: HP:0001251}\n';
    const res = await call('POST', '/cohorts?explain=true&characterise=true', yaml, { 'content-type': 'application/yaml' });
    const body = await j(res);
    expect(body.patients).toEqual(['P-A', 'P-B', 'P-C', 'P-E']);
    expect(body.warnings[0].message).toMatch(/alternative id/);
    expect(body.explanations).toHaveLength(4);
    expect(body.characterisation.count).toBe(4);
  });

  test('bad definitions: 400 with the offending paths', async () => {
    const res = await call('POST', '/cohorts', { name: 'x', criteria: { phenotype: { conceptSet: 'nope' } } });
    expect(res.status).toBe(400);
    expect((await j(res)).issues).toEqual([{ path: '/criteria/phenotype/conceptSet', message: expect.stringMatching(/unknown concept set "nope"/) }]);
  });

  test('PUT saves (token needed), GET lists and reads, members and exports', async () => {
    expect((await call('PUT', '/cohorts/scn1a', scn1a)).status).toBe(401);
    expect((await call('PUT', '/cohorts/other', scn1a, { authorization: 'Bearer secret' })).status).toBe(400);
    const put = await call('PUT', '/cohorts/scn1a', scn1a, { authorization: 'Bearer secret', 'x-harmonia-user': 'alice' });
    expect(put.status).toBe(201);
    const list = await j(call('GET', '/cohorts'));
    expect(list.cohorts).toEqual([expect.objectContaining({ name: 'scn1a', hpoVersion: '2024-04-26', createdBy: 'alice' })]);
    const one = await j(call('GET', '/cohorts/scn1a'));
    expect(one.definition).toEqual(scn1a);
    const members = await j(call('GET', '/cohorts/scn1a/members'));
    expect(members.patients).toEqual(['P-A', 'P-B']);
    const csv = await call('GET', '/cohorts/scn1a/members?format=csv');
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    expect((await csv.text()).split('\r\n')).toHaveLength(4);
    const zip = await call('GET', '/cohorts/scn1a/members?format=zip');
    expect(zip.headers.get('content-type')).toBe('application/zip');
    expect(Buffer.from(await zip.arrayBuffer()).readUInt32LE(0)).toBe(0x04034b50);
    const records = await j(call('GET', '/cohorts/scn1a/members?format=json'));
    expect(records.members.map((m: { id: string }) => m.id)).toEqual(['P-A', 'P-B']);
    const explain = await j(call('GET', '/cohorts/scn1a/explain'));
    expect(explain.explanations[0].criteria.evidence).toEqual([{ value: 'HGNC:10585' }]);
    const ch = await j(call('GET', '/cohorts/scn1a/characterise'));
    expect(ch.characterisation.genes[0].value).toBe('SCN1A');
    const cmp = await j(call('POST', '/cohorts/compare', { a: 'scn1a', b: { name: 'f', criteria: { sex: 'FEMALE' } } }));
    expect(cmp.comparison.both).toBe(1);
    expect((await call('GET', '/cohorts/nope/members')).status).toBe(404);
    expect((await call('DELETE', '/cohorts/scn1a', undefined, { authorization: 'Bearer secret' })).status).toBe(204);
    expect((await call('GET', '/cohorts/scn1a')).status).toBe(404);
  });
});

test('a server started without an update token takes no cohort writes', async () => {
  const app = createApp({ ...server.context, config: { ...server.context.config, updateToken: undefined } }, [cohortRoutes]);
  const http = app.listen(0, '127.0.0.1');
  await new Promise((r) => http.once('listening', r));
  try {
    const url = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
    const put = await fetch(`${url}/cohorts/scn1a`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(scn1a) });
    expect(put.status).toBe(403);
    expect(((await put.json()) as { error: string }).error).toMatch(/disabled on this server.*--update-token/);
    expect((await fetch(`${url}/cohorts/scn1a`, { method: 'DELETE' })).status).toBe(403);
    expect((await fetch(`${url}/cohorts`)).status).toBe(200);
  } finally {
    await new Promise((r) => http.close(r));
  }
});
