import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from '../../../src/server/index.js';
import { fixtures, miniHpo, repoRoot, tempDir } from '../../helpers/paths.js';
import { startVirtuoso, VIRTUOSO_BINARY, type Virtuoso } from '../../helpers/virtuoso.js';

const built = existsSync(join(repoRoot, 'dist', 'src', 'cli', 'main.js'));
const run = built && VIRTUOSO_BINARY ? describe : describe.skip;
if (!built || !VIRTUOSO_BINARY) console.warn(`remote store CLI tests skipped: ${!built ? 'run `npm run build` first' : 'virtuoso-t is not installed (.ci/run installs it)'}`);

// Asynchronous: the Virtuoso of this test answers on this same event loop's machine, never block it.
function harmonia(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(join(repoRoot, 'bin', 'harmonia'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

run('harmonia commands with --store sparql+http://… on a real Virtuoso', () => {
  let v: Virtuoso;
  const tmp = tempDir();
  beforeAll(async () => {
    v = await startVirtuoso();
  }, 90_000);
  afterAll(async () => {
    await v?.stop();
    tmp.remove();
  });

  test('ingest, stats, query, validate, cohort and serve work on the remote store', async () => {
    const missing = await harmonia('stats', '--store', v.location);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toMatch(/no Harmonia store there yet/);

    const ingest = await harmonia('ingest', '--store', v.location, '--hpo', miniHpo, '--json', join(fixtures, 'phenopackets'));
    expect(ingest.err).not.toMatch(/Error/);
    expect(JSON.parse(ingest.out)).toMatchObject({ read: 2, accepted: 2, rejected: 0 });
    const again = await harmonia('ingest', '--store', v.location, '--json', join(fixtures, 'phenopackets'));
    expect(JSON.parse(again.out)).toMatchObject({ read: 2, accepted: 0, unchanged: 2 });

    const stats = JSON.parse((await harmonia('stats', '--store', v.location, '--json')).out);
    expect(stats).toMatchObject({ patients: 2, rejected: 0 });
    expect(stats.triples).toBeGreaterThan(100);

    const q = 'PREFIX hx: <https://w3id.org/harmonia/vocab#> SELECT ?id WHERE { ?p hx:id ?id } ORDER BY ?id';
    expect((await harmonia('query', '--store', v.location, '--format', 'csv', q)).out).toBe('id\r\nPMID_1_Patient_1\r\nPMID_1_Patient_2\r\n');
    const validate = await harmonia('validate', '--store', v.location);
    expect(validate.code).toBe(0);
    expect(validate.out).toMatch(/2 patients checked: all conform/);

    const def = join(tmp.path, 'any.json');
    writeFileSync(def, JSON.stringify({ name: 'everyone', criteria: { none: [{ sex: 'OTHER_SEX' }] } }));
    const cohort = await harmonia('cohort', '--store', v.location, '--json', def);
    expect(JSON.parse(cohort.out)).toMatchObject({ count: 2, patients: ['PMID_1_Patient_1', 'PMID_1_Patient_2'] });

    const server = await startServer(v.location, { port: 0 });
    try {
      const r = await fetch(`${server.url}/sparql`, { method: 'POST', headers: { 'content-type': 'application/sparql-query', accept: 'text/csv' }, body: q });
      expect(r.status).toBe(200);
      expect(await r.text()).toBe('id\r\nPMID_1_Patient_1\r\nPMID_1_Patient_2\r\n');
      expect(((await (await fetch(`${server.url}/health`)).json()) as { status: string }).status).toBe('ok');
    } finally {
      await server.close();
    }
  });
});
