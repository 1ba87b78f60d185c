import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cohortRoutes } from '../../../src/server/cohorts.js';
import type { RunningServer } from '../../../src/server/index.js';
import { repoRoot } from '../../helpers/paths.js';
import { ALL_IDS, SEIZURE_COUNT, buildSites, deadUrl, serveSite } from './sites.js';

// bin/harmonia (dist/, after `npm run build`) against two harmonia servers running in this process.
// Spawned asynchronously: a blocking spawn would stop the servers the child talks to.

const run = promisify(execFile);
const bin = join(repoRoot, 'bin', 'harmonia');

let sites: Awaited<ReturnType<typeof buildSites>>;
let a: RunningServer;
let b: RunningServer;
let urlA: string;
let urlB: string;

beforeAll(async () => {
  if (!existsSync(join(repoRoot, 'dist', 'src', 'cli', 'commands', 'federate.js'))) throw new Error('dist/ is missing the federation code: run `npm run build` first');
  sites = await buildSites();
  [a, b] = await Promise.all([serveSite(sites.dirs.a, [cohortRoutes]), serveSite(sites.dirs.b, [cohortRoutes])]);
  urlA = `${a.url}/sparql`;
  urlB = `${b.url}/sparql`;
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  sites?.cleanup();
});

async function harmonia(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(bin, args, { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

test('query --federate A --federate B: the union of both sites', async () => {
  const r = await harmonia(['query', '--federate', `a=${urlA}`, '--federate', `b=${urlB}`, '--format', 'csv', ALL_IDS]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout.trim().split(/\r?\n/).slice(1).sort()).toEqual(['P-A', 'P-B', 'P-C', 'P-D', 'P-E']);
});

test('query --store with a site down: per-site counts, a warning naming the site, exit 0', async () => {
  const dead = await deadUrl();
  const r = await harmonia(['query', '--store', sites.dirs.b, '--federate', `a=${urlA}`, '--federate', `gone=${dead}`, '--suppress-below', '2', '--site-timeout', '2000', '--format', 'csv', SEIZURE_COUNT]);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe(`warning: site gone (${dead}: connection refused) did not answer; partial answer from local, a\n`);
  expect(r.stdout.trim().split(/\r?\n/)).toEqual([
    'site,patients,suppressed,status',
    'local,<2,true,ok',
    'a,3,false,ok',
    'gone,,,unreachable: connection refused',
    'total,3,true,partial',
  ]);
});

test('cohort --federate: per-site counts, ids only from a site that allows rows', async () => {
  const file = join(sites.work, 'seizure.json');
  writeFileSync(file, JSON.stringify({ name: 'seizure', criteria: { phenotype: { concept: 'HP:0001250' } } }));
  const r = await harmonia(['cohort', '--federate', `a=${urlA}`, '--federate', `b=${urlB}`, '--allow-rows', 'b', '--suppress-below', '2', '--json', file]);
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out.sites.map((s: { site: string; count: unknown; patients?: string[] }) => [s.site, s.count, s.patients])).toEqual([
    ['a', 3, undefined],
    ['b', '<2', ['P-E']],
  ]);
  expect(out).toMatchObject({ total: 3, suppressed: true, complete: true });
  const text = await harmonia(['cohort', '--federate', `a=${urlA}`, '--federate', `b=${urlB}`, file]);
  expect(text.stdout).toBe('seizure: 0 patients across 2 of 2 sites (plus counts below 5, not included)\n  a: <5\n  b: <5\n');
});

test('bad flags: one line naming the problem', async () => {
  const r = await harmonia(['query', '--federate', 'nonsense', ALL_IDS]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^harmonia: nonsense: not a URL/);
  const all = await harmonia(['query', '--federate', await deadUrl(), '--site-timeout', '1000', ALL_IDS]);
  expect(all.code).toBe(1);
  expect(all.stderr).toMatch(/^harmonia: no site answered: 127\.0\.0\.1:\d+ \(connection refused\)\n$/);
});

test('serve --federate: /federation/sparql over the partner plus the local store', async () => {
  // A copy of site A: the in-process server holds A's write lock.
  const hub = join(sites.work, 'hub');
  cpSync(sites.dirs.a, hub, { recursive: true, filter: (f) => !f.endsWith('LOCK') });
  const child: ChildProcess = spawn(bin, ['serve', '--store', hub, '--port', '0', '--federate', `b=${urlB}`, '--suppress-below', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 60_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /at (http:\/\/\S+)\/sparql/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.stderr!.on('data', (d: Buffer) => void (out += d.toString()));
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
    });
    const res = await fetch(`${url}/federation/sparql?query=${encodeURIComponent(SEIZURE_COUNT)}`, { headers: { accept: 'text/csv' } });
    expect((await res.text()).trim().split(/\r?\n/)).toEqual(['site,patients,suppressed,status', 'local,3,false,ok', 'b,<3,true,ok', 'total,3,true,complete']);
    expect((await fetch(`${url}/federation/sparql?query=${encodeURIComponent(ALL_IDS)}`)).status).toBe(403);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
});
