// Server under load (issue 11, item 7): a real `harmonia serve` process (default worker pool) on the
// dev phenopackets under a fixed mixed workload (SPARQL, cohorts, similarity, MME, health, stats) at
// concurrency 1, 4 and 16; beside it, in the same run, the SPARQL part alone against Harmonia and
// against Virtuoso holding the same store's quads.
//
//   npm run build && node dist/bench/load.js DATA_DIR [--seconds 20] [--levels 1,4,16]
//
// Prints { title, rows, peakRssMiB, notes, mixed, sparql, ... } (the table format of bench/run.ts,
// rendered by bench/load-render.ts) on stdout, progress on stderr. Needs Debian's virtuoso-opensource.
// By default it builds its own store with `harmonia ingest`; HARMONIA_LOAD_STORE=DIR starts from a copy
// of an existing store instead (development only: the copy is written to, the original never).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, cpSync, createReadStream, createWriteStream, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { BENCH_DEFINITIONS } from './cohort.js';
import { QUERIES } from './foundation.js';
import { machineBusySeconds, peakRssMiB, percentile, processCpuSeconds, processMemoryMiB, round } from './util.js';
import { freePort, startVirtuoso, type Virtuoso } from './virtuoso.js';

const TITLE = 'Server under load (issue 11)';
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
/** A client gives up on one request after this long (the server's own limit is 30 s): the run stays bounded. */
const REQUEST_TIMEOUT_MS = 60_000;
/** Requests per level at most, whatever the duration: bounds a level whose answers come back very fast. */
const MAX_REQUESTS = 50_000;
const SAVED_COHORT = 'load-bench';
/** The MME query: the Pfeiffer syndrome patient of the Exomiser example (data README). */
const MME_FEATURES = ['HP:0001156', 'HP:0001363', 'HP:0011304', 'HP:0010055'];
const MME_TYPE = 'application/vnd.ga4gh.matchmaker.v1.1+json';
const log = (s: string): void => void process.stderr.write(s);
const seconds = (t0: number): number => (performance.now() - t0) / 1000;

/** One kind of request of the workload; `digest` reduces a 2xx answer to what must stay the same from one answer to the next. */
interface Probe {
  route: string;
  send(signal: AbortSignal): Promise<Response>;
  digest(body: string): string;
  /** The first answer's digest (set by the warm-up); a later answer with another one counts as an error. */
  expected?: string;
}

/** Per level and route: requests, throughput, latency of the successful answers, errors. */
export interface LoadRow { level: number; route: string; requests: number; perSecond: number; p50: number; p99: number; errors: number }
export interface SparqlPair { level: number; route: string; harmonia: LoadRow; virtuoso: LoadRow }
export interface LevelResources { level: number; phase: string; seconds: number; serverCpuCores: number; serverRssMiB: number; clientCpuCores: number; otherCpuCores: number }
export interface LoadResults {
  title: string;
  measured: string;
  machine: string;
  levels: number[];
  secondsPerLevel: number;
  workers: number;
  mixed: LoadRow[];
  sparql: SparqlPair[];
  resources: LevelResources[];
  rows: { measure: string; value: string; anchor?: string; ratio?: string }[];
  peakRssMiB: number;
  notes: string[];
}

interface Sample { route: string; ms: number; error?: string }

// ---- processes ----

/** Runs the CLI to completion; its stdout, or an error with the end of its stderr. */
async function harmonia(args: string[]): Promise<string> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => void (stdout += d));
  child.stderr.on('data', (d: Buffer) => void (stderr = (stderr + d).slice(-4000)));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`harmonia ${args.join(' ')}: exit ${code}: ${stderr}`);
  return stdout;
}

interface Served { base: string; pid: number; workers: number; startSeconds: number; stop(): Promise<void> }

/**
 * `harmonia serve` as a user starts it (default workers, time limit and access log, the log going to a
 * file so that this process never reads it), ready once /health says every worker is.
 */
async function serve(store: string, token: string, logFile: string): Promise<Served> {
  const port = await freePort();
  const logFd = openSync(logFile, 'w');
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, 'serve', '--store', store, '--port', String(port), '--update-token', token], { stdio: ['ignore', 'ignore', logFd] });
  closeSync(logFd);
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  };
  const base = `http://127.0.0.1:${port}`;
  const tail = (): string => readFileSync(logFile, 'utf8').slice(-2000);
  try {
    for (const deadline = Date.now() + 600_000; ; await new Promise((r) => setTimeout(r, 500))) {
      if (child.exitCode !== null) throw new Error(`harmonia serve exited with ${child.exitCode}: ${tail()}`);
      const health = await fetch(`${base}/health`).then((r) => r.json() as Promise<{ status: string; workers?: { size: number } }>, () => undefined);
      if (health?.status === 'ok') return { base, pid: child.pid!, workers: health.workers?.size ?? 0, startSeconds: seconds(t0), stop };
      if (Date.now() > deadline) throw new Error(`harmonia serve did not become ready within 600 s: ${tail()}`);
    }
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * The store's quads into Virtuoso by its bulk loader (a benchmark fixture, not Harmonia's write path:
 * docs/stores.md says why Harmonia does not use it). xsd:duration literals get the stand-in datatype
 * Harmonia itself uses on Virtuoso, which refuses some durations; no query of the mix reads them.
 */
export async function loadIntoVirtuoso(virtuoso: Virtuoso, dump: string, dir: string): Promise<{ seconds: number; quads: number; loaded: number }> {
  const file = join(dir, 'store.nq');
  const out = createWriteStream(file);
  let quads = 0;
  for await (const line of createInterface({ input: createReadStream(dump), crlfDelay: Infinity })) {
    if (!line) continue;
    quads++;
    if (!out.write(line.replace('^^<http://www.w3.org/2001/XMLSchema#duration>', '^^<https://w3id.org/harmonia/vocab#xsdDuration>') + '\n')) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  const t0 = performance.now();
  virtuoso.isql(`ld_dir('${dir}', 'store.nq', 'urn:harmonia:bench:default')`);
  virtuoso.isql('rdf_loader_run()');
  virtuoso.isql('checkpoint');
  const took = seconds(t0);
  const errors = virtuoso.isql('SELECT ll_file, ll_error FROM DB.DBA.LOAD_LIST WHERE ll_error IS NOT NULL');
  if (!/^0 Rows\./m.test(errors)) throw new Error(`Virtuoso bulk load of ${file} reported errors: ${errors}`);
  rmSync(file);
  const counted = await sparqlCsv(virtuoso.endpoint, 'SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } FILTER(STRSTARTS(STR(?g), "https://w3id.org/harmonia/")) }');
  return { seconds: took, quads, loaded: Number(counted.trim().split(/\r?\n/)[1]) };
}

// ---- the workload ----

/** A SPARQL query by form POST (both servers take it), answers as CSV. */
function sparqlRequest(endpoint: string, query: string, signal?: AbortSignal): Promise<Response> {
  return fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/csv' }, body: new URLSearchParams({ query }), signal });
}

async function sparqlCsv(endpoint: string, query: string): Promise<string> {
  const res = await sparqlRequest(endpoint, query);
  const body = await res.text();
  if (!res.ok) throw new Error(`${endpoint}: HTTP ${res.status}: ${body.slice(0, 300)}`);
  return body;
}

/**
 * A CSV answer as its sorted data rows with quotes dropped: Virtuoso quotes every string and IRI,
 * Harmonia only where CSV needs it, so the same rows compare equal.
 */
function csvRows(body: string): string[] {
  return body.split(/\r?\n/).slice(1).filter(Boolean).map((l) => l.replaceAll('"', '')).sort();
}

const csvDigest = (body: string): string => {
  const rows = csvRows(body);
  return `${rows.length} row${rows.length === 1 ? '' : 's'}, ${rows.join('\n')}`;
};

/** Q1-Q4 of bench/foundation.ts, the same text for both servers (Harmonia expands the subClassOf* paths itself, Virtuoso evaluates them). */
function sparqlProbes(endpoint: string): Probe[] {
  return Object.entries(QUERIES).map(([name, q]) => ({ route: `POST /sparql ${name}`, send: (signal) => sparqlRequest(endpoint, q, signal), digest: csvDigest }));
}

const json = (key: string) => (body: string): string => {
  const v = (JSON.parse(body) as Record<string, unknown>)[key];
  return Array.isArray(v) ? `${v.length} ${key}` : `${key} ${JSON.stringify(v)}`;
};

/** The mixed workload: Q1-Q4, a posted and a saved cohort, similarity, MME, health and stats, one of each in turn. */
function mixedProbes(base: string, patients: string[]): Probe[] {
  let next = 0;
  const definition = JSON.stringify(BENCH_DEFINITIONS.example);
  const mme = JSON.stringify({ patient: { id: 'load-bench-query', contact: { name: 'Load benchmark', href: 'mailto:bench@example.org' }, features: MME_FEATURES.map((id) => ({ id, observed: 'yes' })) } });
  return [
    ...sparqlProbes(`${base}/sparql`),
    { route: 'POST /cohorts', send: (signal) => fetch(`${base}/cohorts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: definition, signal }), digest: json('count') },
    { route: 'GET /cohorts/{saved}/members', send: (signal) => fetch(`${base}/cohorts/${SAVED_COHORT}/members`, { signal }), digest: json('count') },
    {
      route: 'GET /patients/{id}/similar?top=10',
      send: (signal) => fetch(`${base}/patients/${encodeURIComponent(patients[next++ % patients.length])}/similar?top=10`, { signal }),
      digest: json('results'),
    },
    { route: 'POST /match', send: (signal) => fetch(`${base}/match`, { method: 'POST', headers: { 'content-type': MME_TYPE }, body: mme, signal }), digest: json('results') },
    { route: 'GET /health', send: (signal) => fetch(`${base}/health`, { signal }), digest: json('status') },
    { route: 'GET /stats', send: (signal) => fetch(`${base}/stats`, { signal }), digest: json('triples') },
  ];
}

/** One request, timed; a non-2xx answer, a network error, a client time-out or a changed answer is an error, named. */
async function attempt(p: Probe): Promise<Sample> {
  const t0 = performance.now();
  let error: string | undefined;
  try {
    const res = await p.send(AbortSignal.timeout(REQUEST_TIMEOUT_MS));
    const body = await res.text();
    if (!res.ok) error = `HTTP ${res.status}: ${body.replace(/\s+/g, ' ').slice(0, 160)}`;
    else {
      const digest = p.digest(body);
      p.expected ??= digest;
      if (digest !== p.expected) error = `answer changed: ${digest.slice(0, 80)} instead of ${p.expected.slice(0, 80)}`;
    }
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    error = err.name === 'TimeoutError' ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s (client time-out)` : `network: ${err.cause?.code ?? err.cause?.message ?? err.message}`;
  }
  return { route: p.route, ms: performance.now() - t0, ...(error ? { error } : {}) };
}

/**
 * `concurrency` clients, each sending its next request when its previous one is answered, cycling
 * through the probes from its own starting point (so the kinds are spread over the clients), for
 * `durationS` (or MAX_REQUESTS): closed-loop load.
 */
async function runLevel(probes: Probe[], concurrency: number, durationS: number): Promise<{ samples: Sample[]; seconds: number }> {
  const samples: Sample[] = [];
  const t0 = performance.now();
  const deadline = t0 + durationS * 1000;
  let sent = 0;
  const client = async (i: number): Promise<void> => {
    for (let k = Math.floor((i * probes.length) / concurrency); performance.now() < deadline && sent < MAX_REQUESTS; k++) {
      sent++;
      samples.push(await attempt(probes[k % probes.length]));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => client(i)));
  return { samples, seconds: seconds(t0) };
}

/** Per route (and all routes together): requests, req/s over the level's wall time, p50/p99 of the successful ones, errors. */
function summarise(level: number, routes: string[], run: { samples: Sample[]; seconds: number }): LoadRow[] {
  const row = (route: string, of: Sample[]): LoadRow => {
    const ok = of.filter((s) => !s.error).map((s) => s.ms).sort((a, b) => a - b);
    return { level, route, requests: of.length, perSecond: round(of.length / run.seconds, 1), p50: round(percentile(ok, 50)), p99: round(percentile(ok, 99)), errors: of.length - ok.length };
  };
  return [...routes.map((r) => row(r, run.samples.filter((s) => s.route === r))), row('all routes', run.samples)];
}

/** Each error message once per level and route, with how often it came. */
function errorNotes(what: string, level: number, samples: Sample[]): string[] {
  const counts = new Map<string, number>();
  for (const s of samples) if (s.error) counts.set(`${s.route}: ${s.error}`, (counts.get(`${s.route}: ${s.error}`) ?? 0) + 1);
  return [...counts].map(([m, n]) => `ERRORS, ${what} at concurrency ${level}: ${n} x ${m}`);
}

/** Samples a process's resident memory every 250 ms: the highest seen since the last reset. */
class RssSampler {
  private highest = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(private readonly pid: number) {
    this.timer = setInterval(() => this.sample(), 250);
  }
  sample(): void {
    this.highest = Math.max(this.highest, processMemoryMiB(this.pid)?.now ?? 0);
  }
  /** The highest since the last call, then start again. */
  take(): number {
    this.sample();
    const h = this.highest;
    this.highest = 0;
    return h;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * A level of one phase with the server's CPU (cores busy on average) and memory, this process's own CPU
 * (the load generator shares the cores) and everything else's: the machine is shared with other jobs.
 */
async function measured(phase: string, level: number, durationS: number, probes: Probe[], pid: number, rss: RssSampler, resources: LevelResources[]): Promise<{ samples: Sample[]; seconds: number }> {
  rss.take();
  const cpu0 = processCpuSeconds(pid);
  const own0 = process.cpuUsage();
  const machine0 = machineBusySeconds();
  const run = await runLevel(probes, level, durationS);
  const own = process.cpuUsage(own0);
  const cores = (cpuSeconds: number): number => round(cpuSeconds / run.seconds, 2);
  const [server, client, machine] = [processCpuSeconds(pid) - cpu0, (own.user + own.system) / 1e6, machineBusySeconds() - machine0];
  resources.push({ level, phase, seconds: round(run.seconds, 1), serverCpuCores: cores(server), serverRssMiB: rss.take(), clientCpuCores: cores(client), otherCpuCores: cores(Math.max(0, machine - server - client)) });
  log(`${phase} c=${level}: ${run.samples.length} requests in ${run.seconds.toFixed(1)} s, ${run.samples.filter((s) => s.error).length} errors\n`);
  return run;
}

function flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
}

/** The store the server runs on: built by `harmonia ingest` (the default) or copied from HARMONIA_LOAD_STORE. */
async function buildStore(dir: string, hpo: string, zip: string, notes: string[]): Promise<number> {
  const t0 = performance.now();
  const given = process.env.HARMONIA_LOAD_STORE;
  if (given) {
    cpSync(given, dir, { recursive: true, filter: (src) => !src.endsWith('serve.json') });
    notes.push(`DEVELOPMENT RUN: the store was a copy of ${given} (HARMONIA_LOAD_STORE), not built by this run.`);
  } else {
    const summary = JSON.parse(await harmonia(['ingest', '--store', dir, '--hpo', hpo, '--json', zip])) as { accepted: number; rejected: number };
    notes.push(`Store: built by \`harmonia ingest --store DIR --hpo hp.v2024-04-26.json.gz phenopacket-store-dev.zip\` in this run (${summary.accepted} patients accepted, ${summary.rejected} rejected) in ${round(seconds(t0), 0)} s.`);
  }
  return seconds(t0);
}

/** What the run has started, so that it is stopped whatever fails. */
interface Running { virtuoso?: Virtuoso; server?: Served; samplers: RssSampler[] }

interface Setup {
  virtuoso: Virtuoso;
  server: Served;
  vRss: RssSampler;
  sRss: RssSampler;
  patients: string[];
  rows: LoadResults['rows'];
}

/**
 * The store, its dump loaded into Virtuoso, `harmonia serve` on it with a saved cohort; the set-up
 * measures (times, memory after start-up) as rows. Virtuoso is loaded before the server starts, so
 * that the two loads do not share the cores.
 */
async function setUp(work: string, data: string, running: Running, notes: string[]): Promise<Setup> {
  const store = join(work, 'store');
  const buildS = await buildStore(store, join(data, 'ontologies', 'hp.v2024-04-26.json.gz'), join(data, 'phenopackets', 'phenopacket-store-dev.zip'), notes);
  log(`store ready in ${buildS.toFixed(0)} s\n`);
  const t0 = performance.now();
  await harmonia(['dump', '--store', store, '--out', join(work, 'store.nq')]);
  const dumpS = seconds(t0);

  const virtuoso = (running.virtuoso = await startVirtuoso(join(work, 'virtuoso')));
  const vRss = new RssSampler(virtuoso.pid);
  running.samplers.push(vRss);
  const loaded = await loadIntoVirtuoso(virtuoso, join(work, 'store.nq'), join(work, 'virtuoso'));
  rmSync(join(work, 'store.nq'));
  log(`Virtuoso loaded ${loaded.loaded} of ${loaded.quads} quads in ${loaded.seconds.toFixed(1)} s\n`);
  if (loaded.loaded !== loaded.quads) notes.push(`VIRTUOSO HOLDS ${loaded.loaded} QUADS in Harmonia's graphs, the dump ${loaded.quads}.`);

  const token = randomBytes(16).toString('hex');
  const server = (running.server = await serve(store, token, join(work, 'serve.log')));
  const sRss = new RssSampler(server.pid);
  running.samplers.push(sRss);
  log(`harmonia serve ready in ${server.startSeconds.toFixed(1)} s (${server.workers} workers)\n`);
  const save = await fetch(`${server.base}/cohorts/${SAVED_COHORT}`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ ...(BENCH_DEFINITIONS.notRecorded as object), name: SAVED_COHORT }) });
  if (!save.ok) throw new Error(`PUT /cohorts/${SAVED_COHORT}: HTTP ${save.status}: ${await save.text()}`);
  const patients = csvRows(await sparqlCsv(`${server.base}/sparql`, 'PREFIX hx: <https://w3id.org/harmonia/vocab#>\nSELECT DISTINCT ?id WHERE { ?p hx:id ?id ; hx:hasPhenotype ?c } ORDER BY ?id LIMIT 64'));
  const rows: LoadResults['rows'] = [
    { measure: `\`harmonia serve\` start until /health is ok (${server.workers} workers)`, value: `${round(server.startSeconds, 1)} s`, anchor: `Virtuoso bulk load of ${loaded.quads} quads: ${round(loaded.seconds, 1)} s`, ratio: '' },
    { measure: 'peak RSS (VmHWM) after start-up (ratio = Virtuoso/Harmonia)', value: memoryCell(server.pid), anchor: `Virtuoso after the load: ${memoryCell(virtuoso.pid)}`, ratio: memoryRatio(virtuoso.pid, server.pid) },
    { measure: 'store build (ingest) and dump to N-Quads', value: `${round(buildS, 0)} s and ${round(dumpS, 0)} s`, anchor: '', ratio: '' },
  ];
  return { virtuoso, server, vRss, sRss, patients, rows };
}

const memoryCell = (pid: number): string => `${processMemoryMiB(pid)?.peak ?? NaN} MiB`;
const memoryRatio = (a: number, b: number): string => `${((processMemoryMiB(a)?.peak ?? NaN) / (processMemoryMiB(b)?.peak ?? NaN)).toFixed(2)}x`;

/**
 * Not counted: each probe once alone (its answer becomes the expected one), then the mix at
 * concurrency 4 so that every worker has built its patient index and prepared the queries. Then
 * whether both servers gave the same SPARQL answers.
 */
async function warmUp(hMixed: Probe[], hSparql: Probe[], vSparql: Probe[], durationS: number, notes: string[]): Promise<void> {
  const t0 = performance.now();
  for (const p of [...hMixed, ...hSparql, ...vSparql]) {
    const s = await attempt(p);
    if (s.error) throw new Error(`warm-up ${p.route}: ${s.error}`);
  }
  const warm = await runLevel(hMixed, 4, Math.max(5, durationS / 4));
  notes.push(`Warm-up (not counted): each request once alone, then the mix at concurrency 4 for ${round(warm.seconds, 1)} s (${warm.samples.length} requests, ${warm.samples.filter((s) => s.error).length} errors); ${round(seconds(t0), 1)} s in all.`, ...errorNotes('warm-up', 4, warm.samples));
  hSparql.forEach((p, i) => {
    const [h, v] = [p.expected!, vSparql[i].expected!];
    const rows = (d: string): string => d.split(',')[0];
    if (h !== v) notes.push(`${p.route}: ANSWERS DIFFER, Harmonia ${rows(h)}, Virtuoso ${rows(v)} (first rows: Harmonia "${csvRowsOf(h)}", Virtuoso "${csvRowsOf(v)}").`);
    else notes.push(`${p.route}: Harmonia and Virtuoso give the same answer (${rows(h)}).`);
  });
}

const routesOf = (ps: Probe[]): string[] => ps.map((p) => p.route);

/** Per level the three phases back to back (mixed, Harmonia SPARQL, Virtuoso SPARQL), so that drift on the shared machine hits all three alike. */
async function measureLevels(s: Setup, levels: number[], durationS: number, probes: { hMixed: Probe[]; hSparql: Probe[]; vSparql: Probe[] }, notes: string[]): Promise<Pick<LoadResults, 'mixed' | 'sparql' | 'resources'>> {
  const out: Pick<LoadResults, 'mixed' | 'sparql' | 'resources'> = { mixed: [], sparql: [], resources: [] };
  for (const level of levels) {
    const m = await measured('harmonia mixed', level, durationS, probes.hMixed, s.server.pid, s.sRss, out.resources);
    out.mixed.push(...summarise(level, routesOf(probes.hMixed), m));
    const h = await measured('harmonia SPARQL', level, durationS, probes.hSparql, s.server.pid, s.sRss, out.resources);
    const v = await measured('virtuoso SPARQL', level, durationS, probes.vSparql, s.virtuoso.pid, s.vRss, out.resources);
    const vRows = summarise(level, routesOf(probes.vSparql), v);
    summarise(level, routesOf(probes.hSparql), h).forEach((r, i) => out.sparql.push({ level, route: r.route, harmonia: r, virtuoso: vRows[i] }));
    notes.push(...errorNotes('Harmonia, mixed', level, m.samples), ...errorNotes('Harmonia, SPARQL only', level, h.samples), ...errorNotes('Virtuoso, SPARQL only', level, v.samples));
  }
  return out;
}

function workloadNotes(s: Setup, hMixed: Probe[], durationS: number): string[] {
  return [
    `Workload: each client sends its next request when its previous one is answered (closed loop, keep-alive connections of Node's fetch), for ${durationS} s per level and phase; the mix is one each of ${routesOf(hMixed).join(', ')} in turn, client i starting at its own place in the cycle. SPARQL: Q1-Q4 of bench/foundation.ts by form POST with Accept: text/csv, the same text to both servers. POST /cohorts posts the \`example\` definition of bench/cohort.ts; the saved cohort is its \`notRecorded\` definition, saved by PUT before the run; similarity goes through ${s.patients.length} patient ids in turn; POST /match asks with the four HPO terms of the Pfeiffer syndrome example.`,
    'p50 and p99 are over the successful answers, each timed from sending to the last byte of the body; req/s is requests over the level\'s wall time. An error is a non-2xx answer, a network error, no answer within 60 s, or an answer other than the first one (SPARQL rows, cohort counts, result counts): all are counted, none retried.',
    `Server: \`harmonia serve --store DIR --port PORT --update-token T\`, everything else default (${s.server.workers} query workers on ${cpus().length} cores, access log on, to a file). Virtuoso as configured by bench/virtuoso.ts (ServerThreads 20, ThreadsPerQuery 2, NumberOfBuffers 170000), loaded by its bulk loader (ld_dir + rdf_loader_run) from \`harmonia dump\` of the same store; both servers, and this load generator, share the same ${cpus().length} cores, and the idle one stays in memory while the other is measured.`,
  ];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const data = resolve(args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')) ?? process.env.HARMONIA_DATA ?? '../shared/data');
  const durationS = Number(flag(args, '--seconds', '20'));
  const levels = flag(args, '--levels', '1,4,16').split(',').map(Number);
  if (!(durationS > 0) || !levels.every((l) => Number.isInteger(l) && l > 0)) throw new Error('--seconds: a positive number; --levels: whole numbers above 0, comma-separated');
  for (const f of [join(data, 'ontologies', 'hp.v2024-04-26.json.gz'), join(data, 'phenopackets', 'phenopacket-store-dev.zip')]) {
    if (!existsSync(f)) throw new Error(`${f}: not found (give the data directory as the first argument)`);
  }
  const started = performance.now();
  const work = mkdtempSync(join(process.env.HARMONIA_BENCH_TMP ?? tmpdir(), 'harmonia-load-'));
  const running: Running = { samplers: [] };
  const notes: string[] = [];
  try {
    const s = await setUp(work, data, running, notes);
    const probes = { hMixed: mixedProbes(s.server.base, s.patients), hSparql: sparqlProbes(`${s.server.base}/sparql`), vSparql: sparqlProbes(s.virtuoso.endpoint) };
    await warmUp(probes.hMixed, probes.hSparql, probes.vSparql, durationS, notes);
    const measures = await measureLevels(s, levels, durationS, probes, notes);
    s.rows.push({ measure: 'peak RSS (VmHWM, the whole process with its worker threads) at the end (ratio = Virtuoso/Harmonia)', value: memoryCell(s.server.pid), anchor: `Virtuoso: ${memoryCell(s.virtuoso.pid)}`, ratio: memoryRatio(s.virtuoso.pid, s.server.pid) });
    notes.push(...workloadNotes(s, probes.hMixed, durationS), `The whole benchmark took ${round(seconds(started), 0)} s.`);
    const result: LoadResults = {
      title: TITLE, measured: new Date().toISOString().slice(0, 10), machine: `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}`,
      levels, secondsPerLevel: durationS, workers: s.server.workers, ...measures, rows: s.rows, peakRssMiB: peakRssMiB(), notes,
    };
    process.stdout.write(JSON.stringify(result, null, 1) + '\n');
  } finally {
    for (const sampler of running.samplers) sampler.stop();
    await running.server?.stop();
    await running.virtuoso?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The first rows of a CSV digest, for a note. */
function csvRowsOf(digest: string): string {
  return digest.split('\n').slice(0, 3).join(' | ').replace(/^\d+ rows?, /, '').slice(0, 200);
}

// Run as a benchmark, not when another benchmark imports its Virtuoso loader.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
