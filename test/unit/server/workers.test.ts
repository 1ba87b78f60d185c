import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureStore } from '../../helpers/fixture-store.js';
import { repoRoot, tempDir } from '../../helpers/paths.js';
import { startServeProcess, type ServeProcess } from '../../helpers/serve-process.js';

// The query-worker pool runs compiled code (dist/), so this drives `bin/harmonia serve` itself.
const built = existsSync(join(repoRoot, 'dist', 'src', 'server', 'query-worker.js'));
if (!built) console.warn('workers.test: dist/ is not built (run `npm run build`); skipping the query-worker pool tests');
const maybe = built ? describe : describe.skip;

const COUNT = 'SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }';
// Four unconstrained patterns over some 620 triples: 1.5e11 combinations, far past any time limit.
const RUNAWAY = 'SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }';
// No nesting at all, yet Oxigraph's recursive evaluation of 3,000 chained additions traps its WASM instance.
const CHAIN = `SELECT * WHERE { ?s ?p ?o BIND(${'1 + '.repeat(3000)}1 AS ?x) }`;
const NESTED = `SELECT * WHERE ${'{'.repeat(700)} ?s ?p ?o ${'}'.repeat(700)}`;

interface Health {
  status: string;
  workers: { size: number; ready: number; busy: number; starting: number; restarts: Record<string, number>; lastTrap?: { error: string } };
}

maybe('query-worker pool behind `harmonia serve`', () => {
  let dir: ReturnType<typeof tempDir>;
  let server: ServeProcess | undefined;
  let base: string;
  let total: number;

  beforeAll(async () => {
    dir = tempDir();
    const store = await fixtureStore(dir.path);
    total = await store.size();
    await store.close();
    server = await startServeProcess(['--store', join(dir.path, 'store'), '--port', '0', '--workers', '2', '--timeout', '8000',
      '--log-level', 'quiet', '--update-token', 'tok', '--max-nesting', '1000']);
    base = server.base;
  }, 50_000);
  afterAll(async () => {
    await server?.stop();
    dir?.remove();
  });

  const query = async (sparql: string) => {
    const t = performance.now();
    const res = await fetch(`${base}/sparql`, { method: 'POST', body: sparql, headers: { 'Content-Type': 'application/sparql-query' } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, ms: performance.now() - t };
  };
  const n = (body: Record<string, unknown>) => Number((body as { results: { bindings: { n: { value: string } }[] } }).results.bindings[0].n.value);
  const health = async (): Promise<Health> => (await (await fetch(`${base}/health`)).json()) as Health;
  const allReady = async (): Promise<Health> => {
    for (let i = 0; i < 200; i++) {
      const h = await health();
      if (h.workers.ready === 2 && h.workers.starting === 0) return h;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('workers did not come back within 20 s');
  };

  test('a query that traps the WASM instance gets a clear answer, its worker is replaced at once, and the next query is right', async () => {
    expect((await health()).status).toBe('ok');
    for (const [i, bad] of [CHAIN, NESTED].entries()) {
      const trapped = await query(bad);
      expect(trapped.status).toBe(422);
      expect(String(trapped.body.error)).toMatch(/memory access out of bounds.*the query worker is being replaced/);
      const next = await query(COUNT);
      expect(next.status).toBe(200);
      expect(n(next.body)).toBe(total);
      const h = await health();
      expect(h.workers.restarts.trap).toBe(i + 1);
      expect(h.workers.lastTrap?.error).toMatch(/memory access out of bounds/);
      const back = await allReady();
      expect(back.status).toBe('ok');
    }
    // Every later query on every worker answers correctly (none kept a dead instance).
    for (let i = 0; i < 4; i++) expect(n((await query(COUNT)).body)).toBe(total);
  }, 50_000);

  test('a cheap query beside a runaway one answers within 1 s, and so does the first one after the runaway is stopped', async () => {
    const runaway = query(RUNAWAY);
    await new Promise((r) => setTimeout(r, 300));
    const beside = await query('ASK { ?s ?p ?o }');
    expect(beside.status).toBe(200);
    expect(beside.body.boolean).toBe(true);
    expect(beside.ms).toBeLessThan(1000);
    const stopped = await runaway;
    expect(stopped.status).toBe(503);
    expect(String(stopped.body.error)).toMatch(/exceeded the 8000 ms time limit/);
    const after = await query(COUNT);
    expect(after.ms).toBeLessThan(1000);
    expect(n(after.body)).toBe(total);
    const h = await health();
    expect(h.workers.restarts.timeout).toBe(1);
    // The replacement was started before the stopped worker ended: two were never fewer than one ready.
    expect(h.workers.ready + h.workers.starting).toBe(2);
    await allReady();
  }, 50_000);

  test('a write reaches every worker in place, without a reload and without blocking readers; /metrics counts restarts', async () => {
    const graph = `${base}/store?graph=${encodeURIComponent('urn:workers:note')}`;
    const put = fetch(graph, { method: 'PUT', body: '<urn:a> <urn:b> "c" .', headers: { 'Content-Type': 'application/n-triples', Authorization: 'Bearer tok' } });
    const reader = await query('ASK { ?s ?p ?o }');
    expect(reader.ms).toBeLessThan(1000);
    expect((await put).status).toBe(201);
    expect((await health()).workers).toMatchObject({ size: 2, ready: 2, starting: 0 });
    // Both workers now hold the new graph: each of several queries sees it.
    for (let i = 0; i < 4; i++) expect(n((await query(COUNT)).body)).toBe(total + 1);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^harmonia_query_worker_restarts_total\{reason="trap"\} 2$/m);
    expect(metrics).toMatch(/^harmonia_query_worker_restarts_total\{reason="timeout"\} 1$/m);
    // Both copies caught up with the segment the write committed (the writer's for its caches): no worker was reloaded.
    expect(metrics).toMatch(/^harmonia_query_worker_restarts_total\{reason="reload"\} 0$/m);
    expect(metrics).toMatch(/^harmonia_query_worker_refreshes_total 2$/m);
    expect(metrics).toMatch(/^harmonia_query_timeouts_total 1$/m);
    expect(metrics).toMatch(/^harmonia_query_workers_wanted 2$/m);
  }, 50_000);

  test('writes that compact the log replace the workers instead, and every copy still agrees', async () => {
    // A segment per write; past 24 segments a commit rewrites the log as one, which copies cannot follow.
    for (let i = 0; i < 26; i++) {
      const graph = `${base}/store?graph=${encodeURIComponent(`urn:workers:many${i}`)}`;
      const res = await fetch(graph, { method: 'PUT', body: `<urn:a> <urn:b> "${i}" .`, headers: { 'Content-Type': 'application/n-triples', Authorization: 'Bearer tok' } });
      expect(res.status).toBe(201);
    }
    const h = await allReady();
    expect(h.workers.restarts.reload).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < 4; i++) expect(n((await query(COUNT)).body)).toBe(total + 27);
  }, 80_000);

  test('/stats and /health answer while every worker is busy: they need no worker', async () => {
    const runaways = [query(RUNAWAY), query(RUNAWAY)];
    await new Promise((r) => setTimeout(r, 300));
    expect((await health()).workers.busy).toBe(2);
    const stats = fetch(`${base}/stats`).then(async (res) => ({ status: res.status, body: (await res.json()) as { triples: number; rejected: number } }));
    const first = await Promise.race([stats.then(() => 'stats'), Promise.all(runaways).then(() => 'runaways')]);
    expect(first).toBe('stats');
    expect((await stats).status).toBe(200);
    expect((await stats).body).toMatchObject({ triples: total + 27, rejected: 0 });
    for (const r of await Promise.all(runaways)) expect(r.status).toBe(503);
    await allReady();
  }, 50_000);
});

test('serve refuses --workers 0 with one clear line', () => {
  const r = spawnSync(join(repoRoot, 'bin', 'harmonia'), ['serve', '--store', '/nonexistent', '--workers', '0'], { encoding: 'utf8' });
  expect(r.status).not.toBe(0);
  expect(r.stderr.trim()).toBe('harmonia: --workers 0: expected at least 1');
});
