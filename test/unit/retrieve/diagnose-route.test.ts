import type { Server } from 'node:http';
import { join } from 'node:path';
import { QueryEngine } from '../../../src/query/index.js';
import { createApp, DEFAULT_CONFIG, InProcessExecutor, type ServerContext } from '../../../src/server/index.js';
import { retrievalRoutes } from '../../../src/server/retrieval.js';
import type { OxigraphStore } from '../../../src/store/index.js';
import { fixtureStore } from '../../helpers/fixture-store.js';
import { fixtures, tempDir } from '../../helpers/paths.js';

// POST /diagnose with bayes-lr: probabilities with the prior, evidence, the HTML report, bad `rank`.
describe('POST /diagnose answers readable results', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: OxigraphStore;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    dir = tempDir();
    store = await fixtureStore(dir.path);
    const ontology = (await store.ontology())!;
    const engine = await QueryEngine.create(store, ontology);
    let ctx!: ServerContext;
    ctx = {
      store, ontology, engine, executor: new InProcessExecutor(() => ctx),
      config: { ...DEFAULT_CONFIG, annotations: join(fixtures, 'ontology', 'mini.hpoa'), contact: { name: 'Test', href: 'mailto:t@example.org' } },
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

  const post = (body: unknown, query = ''): Promise<Response> =>
    fetch(`${base}/diagnose${query}`, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });

  test('JSON: probability, prior, and the terms for and against', async () => {
    const res = await post({ hpo: ['HP:0011097'], top: 3 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { method: string; prior: string; results: { probability: number; for: unknown[]; against: unknown[] }[] };
    expect(body.method).toBe('bayes-lr');
    expect(body.prior).toMatch(/^uniform over \d+ diseases$/);
    expect(body.results[0].probability).toBeGreaterThan(0);
    expect(body.results[0].probability).toBeLessThanOrEqual(1);
    expect(Array.isArray(body.results[0].for) && Array.isArray(body.results[0].against)).toBe(true);
  });

  test('?format=html gives the self-contained report; a bad rank is a 400', async () => {
    const res = await post({ hpo: ['HP:0011097'], top: 3 }, '?format=html');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script|https?:\/\//);
    const bad = await post({ hpo: ['HP:0011097'], rank: 'cohorts' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/rank must be "diseases" or "genes"/);
  });
});
