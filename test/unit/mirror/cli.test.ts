import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from '../../helpers/paths.js';
import { tinyStore } from '../cohort/helpers.js';

// `harmonia mirror neo4j` end to end through bin/harmonia (dist/: `npm run build` first): its argument
// and environment checks, each one clear line and exit 1.

let fx: Awaited<ReturnType<typeof tinyStore>>;
let closed: number;
beforeAll(async () => {
  fx = await tinyStore();
  await fx.store.close();
  // A port that was just free: nothing listens there.
  const s: Server = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  closed = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
}, 60_000);
afterAll(async () => fx?.cleanup());

function harmonia(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NEO4J_')));
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'harmonia'), 'mirror', 'neo4j', ...args], { encoding: 'utf8', env: { ...clean, ...env }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('harmonia mirror neo4j', () => {
  test('--help names the options and where the credentials come from', () => {
    const r = harmonia(['--help']);
    expect(r.code).toBe(0);
    for (const o of ['--store', '--uri', '--database', '--batch', '--full', '--embedding-model', 'NEO4J_USER', 'NEO4J_PASSWORD']) expect(r.stdout).toContain(o);
  });

  test('credentials in the URI are refused before anything is opened, and never echoed', () => {
    const r = harmonia(['--store', fx.dir, '--uri', 'bolt://neo4j:s3cret-pw@127.0.0.1:7687']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^harmonia: .*credentials do not belong in the URI; set NEO4J_USER and NEO4J_PASSWORD\n$/);
    expect(r.stderr).not.toContain('s3cret-pw');
  });

  test('a URI of another scheme, a bad --batch and a bad --database are one line each', () => {
    expect(harmonia(['--store', fx.dir, '--uri', 'http://127.0.0.1:7474']).stderr).toMatch(/^harmonia: .*scheme http is not one of bolt, bolt\+s, bolt\+ssc, neo4j, neo4j\+s, neo4j\+ssc\n$/);
    expect(harmonia(['--store', fx.dir, '--uri', 'bolt://127.0.0.1:7687', '--batch', '0']).stderr).toBe('harmonia: --batch 0: expected an integer from 1 to 100000\n');
    expect(harmonia(['--store', fx.dir, '--uri', 'bolt://127.0.0.1:7687', '--database', 'a b']).stderr).toBe('harmonia: --database a b: not a Neo4j database name\n');
    expect(harmonia(['--store', join(fx.dir, 'missing'), '--uri', 'bolt://127.0.0.1:7687']).stderr).toMatch(/missing: does not exist/);
  });

  test('a user without a password, and a server that is not there, are clear errors', () => {
    const user = harmonia(['--store', fx.dir, '--uri', `bolt://127.0.0.1:${closed}`], { NEO4J_USER: 'neo4j' });
    expect(user.code).toBe(1);
    expect(user.stderr).toMatch(/NEO4J_USER is set but NEO4J_PASSWORD is not/);
    const down = harmonia(['--store', fx.dir, '--uri', `bolt://127.0.0.1:${closed}`], { NEO4J_USER: 'neo4j', NEO4J_PASSWORD: 'pw-not-shown' });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(new RegExp(`^harmonia: bolt://127\\.0\\.0\\.1:${closed}: cannot connect to Neo4j: `));
    expect(down.stderr.split('\n')).toHaveLength(2);
    expect(down.stderr).not.toContain('pw-not-shown');
  });
});
