import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { OxigraphStore, SERVE_FILE } from '../../../src/store/index.js';
import { fixtures, miniHpo, repoRoot, tempDir } from '../../helpers/paths.js';
import { startServeProcess, type ServeProcess } from '../../helpers/serve-process.js';

// `--endpoint URL` and the serve.json a running `harmonia serve` leaves in its store directory: the
// read-only commands ask the server instead of reopening the store, and answer exactly as they do
// when they open it. Arguments are checked before any store is opened; a closed pipe ends quietly.
const built = existsSync(join(repoRoot, 'dist', 'src', 'cli', 'main.js'));
const describeCli = built ? describe : describe.skip;
if (!built) console.warn('served.test: dist/ is not built (run `npm run build`); skipping');

const bin = join(repoRoot, 'bin', 'harmonia');
const hpoa = join(fixtures, 'ontology', 'mini.hpoa');
const cohortFile = join(fixtures, 'cohort', 'seizure-not-febrile-scn1a.json');
const IDS = 'PREFIX hx: <https://w3id.org/harmonia/vocab#> SELECT ?id WHERE { ?p hx:id ?id } ORDER BY ?id';

function harmonia(...args: string[]) {
  const r = spawnSync(bin, args, { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Every read-only command of the task, as run against `--store DIR` (or `--endpoint URL` in its place). */
function commands(where: string[]): string[][] {
  return [
    ['query', ...where, IDS],
    ['query', ...where, '--format', 'csv', IDS],
    ['stats', ...where, '--json'],
    ['cohort', ...where, '--json', '--characterise', '--explain', '--compare', cohortFile, cohortFile],
    ['cohort', ...where, cohortFile],
    ['similar', ...where, '--patient', 'PMID_1_Patient_2', '--annotations', hpoa, '--json'],
    ['diagnose', ...where, '--annotations', hpoa, '--hpo', 'HP:0011097,HP:0002373', '--json'],
  ];
}

/** The parts of an answer that may differ between two runs: the time a cohort took. */
function stable(out: string): string {
  return out.replace(/\(\d+ ms\)/g, '(N ms)');
}

describeCli('read-only commands ask a running server', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: string;
  let server: ServeProcess | undefined;
  let log = '';
  const direct = new Map<string, string>();

  beforeAll(async () => {
    dir = tempDir();
    store = join(dir.path, 'store');
    expect(harmonia('ingest', '--store', store, '--hpo', miniHpo, join(fixtures, 'phenopackets')).code).toBe(0);
    // The answers of the store opened by the command itself, before any server holds it.
    for (const args of commands(['--store', store])) {
      const r = harmonia(...args);
      expect(r.code).toBe(0);
      direct.set(args.join(' '), stable(r.out));
    }
    server = await startServeProcess(['--store', store, '--port', '0', '--workers', '1', '--annotations', hpoa, '--max-rows', '3']);
    server.child.stderr!.on('data', (d) => (log += d));
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    dir?.remove();
  });

  test('serve writes serve.json with its url and pid in the store directory', () => {
    const file = JSON.parse(readFileSync(join(store, SERVE_FILE), 'utf8'));
    expect(file).toMatchObject({ url: server!.base, pid: server!.child.pid, annotations: hpoa });
    expect(Number.isNaN(Date.parse(file.started))).toBe(false);
  });

  test('--store DIR: each command says so in one line, asks the server, and answers as the store does', async () => {
    for (const args of commands(['--store', store])) {
      const before = log.length;
      const r = harmonia(...args);
      expect(r.code).toBe(0);
      expect(stable(r.out)).toBe(direct.get(args.join(' ')));
      expect(r.err).toMatch(new RegExp(`^harmonia: .*store is served by process ${server!.child.pid} at ${server!.base} \\(serve\\.json\\): asking it`));
      await new Promise((resolve) => setTimeout(resolve, 200));
      // The server's access log shows the request: the answer came from it.
      expect(log.slice(before)).toMatch(/"path":"\/(sparql|stats|cohorts|patients|diagnose)/);
    }
  });

  test('--endpoint URL (the /sparql or the base URL) gives the same answers, without the note', () => {
    for (const endpoint of [`${server!.base}/sparql`, server!.base]) {
      for (const args of commands(['--endpoint', endpoint])) {
        // The server ranks and computes information content with its own annotations.
        const given = args.filter((a, i) => a !== '--annotations' && args[i - 1] !== '--annotations');
        const r = harmonia(...given);
        expect({ args: given, code: r.code, err: r.err }).toEqual({ args: given, code: 0, err: '' });
        expect(stable(r.out)).toBe(direct.get(args.join(' ').replace(`--endpoint ${endpoint}`, `--store ${store}`)));
      }
    }
  });

  test('an answer that reaches the server\'s row cap says so on stderr', () => {
    const r = harmonia('query', '--store', store, 'SELECT * WHERE { ?s ?p ?o }');
    expect(JSON.parse(r.out).results.bindings).toHaveLength(3);
    expect(r.err).toMatch(/answers at most 3 rows \(serve --max-rows\): this answer may be cut short/);
  });

  test('what the server\'s routes cannot answer opens the store (--store) or is an error naming the options (--endpoint)', () => {
    const local = harmonia('similar', '--store', store, '--hpo', 'HP:0011097', '--annotations', hpoa, '--json');
    expect(local.code).toBe(0);
    expect(local.err).toMatch(/whose routes cannot answer this \(--hpo\): opening the store\n$/);
    expect(JSON.parse(local.out).results[0].patient).toBe('PMID_1_Patient_1');
    const other = harmonia('similar', '--store', store, '--patient', 'PMID_1_Patient_2', '--json');
    expect(other.err).toMatch(/--annotations: none here, .*mini\.hpoa on the server\): opening the store/);
    for (const [args, message] of [
      [['similar', '--endpoint', server!.base, '--hpo', 'HP:0011097'], /--hpo does not combine with --endpoint/],
      [['cohort', '--endpoint', server!.base, '--save', cohortFile], /--save does not combine with --endpoint/],
      [['cohort', '--endpoint', server!.base, '--export', 'csv', '--out', join(dir.path, 'x.csv'), cohortFile], /--export does not combine with --endpoint/],
      [['diagnose', '--endpoint', server!.base, '--annotations', hpoa, '--hpo', 'HP:0011097'], /--annotations does not combine with --endpoint/],
      [['query', '--endpoint', server!.base, '--model', 'v1', IDS], /--model does not combine with --endpoint/],
      [['query', '--endpoint', server!.base, '--federate', server!.base, IDS], /--federate and --endpoint do not combine/],
      [['stats', '--store', store, '--endpoint', server!.base], /give --store .* or --endpoint .*, not both/],
    ] as [string[], RegExp][]) {
      const r = harmonia(...args);
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expect(r.err).toMatch(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
  });

  test('writes never go through the server: ingest meets the write lock it holds', () => {
    const r = harmonia('ingest', '--store', store, '--hpo', miniHpo, join(fixtures, 'phenopackets'));
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(new RegExp(`being written by process ${server!.child.pid}`));
  });

  test('serve.json is removed when the server stops; a stale one (dead pid) is ignored', async () => {
    const pid = server!.child.pid;
    await server!.stop();
    server = undefined;
    expect(existsSync(join(store, SERVE_FILE))).toBe(false);
    writeFileSync(join(store, SERVE_FILE), JSON.stringify({ url: 'http://127.0.0.1:9', pid, started: new Date().toISOString() }));
    const r = harmonia('stats', '--store', store, '--json');
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(JSON.parse(r.out).patients).toBe(2);
  });

  test('the store\'s sweep of unknown files, when opened for writing, leaves serve.json', async () => {
    writeFileSync(join(store, SERVE_FILE), '{}');
    writeFileSync(join(store, 'segments', 'orphan.nq'), '');
    const s = await OxigraphStore.open(store, { write: true });
    await s.close();
    expect(existsSync(join(store, 'segments', 'orphan.nq'))).toBe(false);
    expect(existsSync(join(store, SERVE_FILE))).toBe(true);
  });
});

describeCli('query --endpoint: any SPARQL 1.1 endpoint', () => {
  let endpoint: Server;
  let url: string;
  const asked: string[] = [];
  beforeAll(async () => {
    // A stand-in for a Virtuoso or Fuseki holding other data: it answers every query with one row.
    endpoint = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (req.method !== 'POST') return void res.writeHead(404).end('not found');
        asked.push(decodeURIComponent(new URLSearchParams(body).get('query') ?? ''));
        res.writeHead(200, { 'content-type': 'application/sparql-results+json' });
        res.end(JSON.stringify({ head: { vars: ['name'] }, results: { bindings: [{ name: { type: 'literal', value: 'aspirin', 'xml:lang': 'en' } }] } }));
      });
    });
    await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(endpoint.address() as { port: number }).port}/ds/query`;
  });
  afterAll(() => new Promise<void>((r) => endpoint.close(() => r())));

  test('runs the query as written and prints the W3C formats', async () => {
    const q = 'SELECT ?name WHERE { ?d <http://www.w3.org/2000/01/rdf-schema#label> ?name }';
    const json = await spawnAsync(['query', '--endpoint', url, q]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toEqual({ head: { vars: ['name'] }, results: { bindings: [{ name: { type: 'literal', value: 'aspirin', 'xml:lang': 'en' } }] } });
    expect((await spawnAsync(['query', '--endpoint', `sparql+${url}`, '--format', 'csv', q])).out).toBe('name\r\naspirin\r\n');
    expect(asked).toEqual([q, q]);
  });

  test('a command that needs a Harmonia store there says there is none', async () => {
    const r = await spawnAsync(['stats', '--endpoint', url]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no Harmonia store there yet/);
  });

  test('an endpoint nobody answers is named once', async () => {
    const r = await spawnAsync(['query', '--endpoint', 'http://127.0.0.1:1/sparql', 'ASK {}']);
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});

/** A command run while this process serves the endpoint it asks (spawnSync would block that server). */
function spawnAsync(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(bin, args);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describeCli('arguments, files and formats are checked before a store is opened', () => {
  test('each fails at once with its own error, not the missing store\'s', () => {
    const missing = join(repoRoot, 'no-such-store');
    for (const [args, message] of [
      [['query', '--store', missing, '--format', 'bogus', 'ASK {}'], /--format bogus: unknown format/],
      [['query', '--store', missing, '--format', 'csv', 'CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }'], /--format csv does not fit a CONSTRUCT query/],
      [['query', '--store', missing, '--file', join(missing, 'q.rq')], /q\.rq: no such file/],
      [['query', '--store', missing, 'SELEKT'], /SPARQL syntax error: Parse error on line 1: Expecting/],
      [['query', '--store', missing, 'INSERT DATA { <a:s> <a:p> <a:o> }'], /this is a SPARQL Update/],
      [['similar', '--store', missing, '--hpo', 'HP:0001250', '--top', '0'], /--top 0: expected at least 1/],
      [['similar', '--store', missing, '--query', join(missing, 'p.json')], /p\.json: no such file/],
      [['diagnose', '--store', missing, '--annotations', join(missing, 'x.hpoa'), '--hpo', 'HP:0001250'], /x\.hpoa: no such file/],
      [['diagnose', '--store', missing, '--annotations', hpoa, '--hpo', 'HP:0001250', '--rank', 'genez'], /--rank must be diseases or genes/],
      [['diagnose', '--store', missing, '--hpo', 'HP:0001250'], /required option '--annotations <file>'/],
      [['cohort', '--store', missing, join(missing, 'c.json')], /c\.json: no such file/],
      [['cohort', '--store', missing, '--compare', join(missing, 'b.json'), cohortFile], /b\.json: no such file/],
    ] as [string[], RegExp][]) {
      const r = harmonia(...args);
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expect(r.err).toMatch(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
  });
});

describeCli('a reader that stops early ends the command quietly', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: string;
  beforeAll(() => {
    dir = tempDir();
    store = join(dir.path, 'store');
    expect(harmonia('ingest', '--store', store, '--hpo', miniHpo, join(fixtures, 'phenopackets')).code).toBe(0);
  });
  afterAll(() => dir.remove());

  /** `cmd | reader` under bash with pipefail: the status is harmonia's unless it exited 0. */
  function piped(args: string[], reader: string) {
    const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const r = spawnSync('bash', ['-c', `set -o pipefail; '${bin}' ${quoted} | ${reader} > /dev/null`], { encoding: 'utf8' });
    return { code: r.status, err: r.stderr };
  }

  test('query | head -1', () => {
    // Some 100,000 CSV rows: far more than a pipe holds, so the writer meets the closed pipe.
    expect(piped(['query', '--store', store, '--format', 'csv', 'SELECT * WHERE { ?s ?p ?o . ?a ?b ?c } LIMIT 100000'], 'head -1')).toEqual({ code: 0, err: '' });
  });

  test('dump | head, and dump to a reader slower than the writer', () => {
    // 110 kB of N-Quads: more than a pipe buffer (64 kB).
    expect(piped(['dump', '--store', store], 'head -1')).toEqual({ code: 0, err: '' });
    expect(piped(['dump', '--store', store], '(sleep 1; head -c 100)')).toEqual({ code: 0, err: '' });
    expect(piped(['dump', '--store', store], '(sleep 1; cat)')).toEqual({ code: 0, err: '' });
  });
});
