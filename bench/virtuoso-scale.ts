// Scale through Virtuoso (issue 9, item 3): the dev phenopackets replicated with new ids (bench/replicate.ts)
// to --patients (default 100,000), ingested into a local Virtuoso with `harmonia ingest --store
// sparql+http://127.0.0.1:PORT/sparql` in parts of --part patients (one CLI run each, so the rate is seen as
// the store fills), then Q1-Q4 and the cohort benchmark definitions over HTTP through `harmonia serve`;
// beside the embedded store holding the first --embedded (default 30,000) of the same patients, same run.
//
//   npm run build && node dist/bench/virtuoso-scale.js DATA_DIR [--patients 100000] [--embedded 30000] [--part 10000]
//     [--bulk] [--statistics auto|always|never|end] [--keep DIR] [--buffers N] [--checkpoint MIN] [--reuse DIR]
//
// --bulk loads through a folder shared with Virtuoso (HARMONIA_SPARQL_BULK_DIR) instead of SPARQL Update;
// --statistics is passed to `harmonia ingest` (end: never while loading, then once, by the re-run of the first part); --keep DIR keeps the Virtuoso database in DIR afterwards;
// --buffers N sets Virtuoso's NumberOfBuffers (8 KiB pages of cache; default that of bench/virtuoso.ts);
// --checkpoint MIN its CheckpointInterval in minutes (default 60); HARMONIA_SPARQL_PARALLEL passes to the ingests;
// --reuse DIR measures a Virtuoso database kept by an earlier run (--keep DIR), also one stopped part way:
// nothing is loaded, its patients are counted, and the re-run, the queries and the embedded side run as usual.
//
// Prints { title, rows, peakRssMiB, notes } (the table format of bench/run.ts) on stdout, progress on
// stderr. Needs Debian's virtuoso-opensource. Temporary files (JSON Lines, both stores) go to
// HARMONIA_BENCH_TMP or the system temporary folder and are deleted at the end.
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BENCH_DEFINITIONS } from './cohort.js';
import { QUERIES } from './foundation.js';
import { replicatePhenopackets } from './replicate.js';
import { peakRssMiB, percentile, processMemoryMiB, round } from './util.js';
import { DEFAULT_BUFFERS, freePort, startVirtuoso, type Virtuoso } from './virtuoso.js';

const TITLE = 'Scale through Virtuoso: replicated patients, ingest by the CLI, queries over HTTP';
const QUERY_RUNS = 20;
const COHORT_RUNS = 10;
const SLOW_MS = 5000;
/** A query whose warm-up takes longer than this is reported from that one run. */
const VERY_SLOW_MS = 60_000;
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
const log = (s: string): void => void process.stderr.write(s);

interface Row { measure: string; value: string; anchor: string; ratio: string }
interface Side { label: string; location: string; patients: number; env?: NodeJS.ProcessEnv; ingestArgs?: string[] }
interface Timing { p50: number; p99: number; runs: number }
interface Part { patients: number; seconds: number; triples: number; storeTriples: number; rssMiB: number; statistics?: { refreshed: boolean; seconds: number; reason?: string } }

/** Runs the CLI; resolves with its stdout and the peak RSS of the process (sampled every second). */
async function harmonia(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; peakMiB: number; stderr: string }> {
  const child = spawn(process.execPath, ['--max-old-space-size=8192', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => void (stdout += d));
  child.stderr.on('data', (d: Buffer) => void (stderr = (stderr + d).slice(-4000)));
  let peak = 0;
  const timer = setInterval(() => void (peak = Math.max(peak, processMemoryMiB(child.pid!)?.peak ?? 0)), 1000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearInterval(timer);
  if (code !== 0) throw new Error(`harmonia ${args.join(' ')}: exit ${code}: ${stderr}`);
  return { stdout, peakMiB: peak, stderr };
}

/** Lines [from, to) of a JSON Lines file into another file. */
async function sliceLines(file: string, from: number, to: number, out: string): Promise<void> {
  const w = createWriteStream(out);
  let i = 0;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (i >= from && i < to && !w.write(line + '\n')) await once(w, 'drain');
    if (++i >= to) break;
  }
  w.end();
  await once(w, 'finish');
}

/** `harmonia ingest` of the replicated patients in parts; the first part brings the HPO. */
async function ingest(side: Side, all: string, partSize: number, hpo: string, work: string, memoryOf?: () => number): Promise<Part[]> {
  const parts: Part[] = [];
  for (let from = 0; from < side.patients; from += partSize) {
    const to = Math.min(side.patients, from + partSize);
    const file = join(work, `part-${from}.jsonl`);
    await sliceLines(all, from, to, file);
    const t = performance.now();
    const { stdout, peakMiB } = await harmonia(['ingest', '--store', side.location, ...(from === 0 ? ['--hpo', hpo] : []), ...(side.ingestArgs ?? []), '--json', file], side.env);
    const seconds = (performance.now() - t) / 1000;
    rmSync(file);
    const s = JSON.parse(stdout) as { accepted: number; rejected: number; triplesAdded: number; storeTriples: number; statistics?: Part['statistics'] };
    if (s.accepted !== to - from) throw new Error(`${side.label}: part ${from}-${to}: ${s.accepted} accepted, ${s.rejected} rejected (expected all ${to - from})`);
    parts.push({ patients: s.accepted, seconds, triples: s.triplesAdded, storeTriples: s.storeTriples, rssMiB: memoryOf?.() ?? peakMiB, statistics: s.statistics });
    const stats = s.statistics ? (s.statistics.refreshed ? `, statistics recomputed in ${s.statistics.seconds} s` : `, statistics not recomputed: ${s.statistics.reason}`) : '';
    log(`${side.label}: patients ${from}-${to} in ${seconds.toFixed(1)} s (${(s.accepted / seconds).toFixed(1)} patients/s, ${s.storeTriples} triples in the store${stats})\n`);
  }
  return parts;
}

/** `harmonia serve` on the store; Q1-Q4 by POST /sparql and the cohort definitions by POST /cohorts. */
async function measureQueries(side: Side): Promise<{ queries: Record<string, Timing & { rows: number }>; cohorts: Record<string, Timing & { members: number }>; serveMiB: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--max-old-space-size=8192', CLI, 'serve', '--store', side.location, '--port', String(port), '--workers', '1', '--log-level', 'quiet', '--timeout', '600000'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => void (stderr = (stderr + d).slice(-4000)));
  const base = `http://127.0.0.1:${port}`;
  try {
    for (const deadline = Date.now() + 600_000; ; ) {
      if (child.exitCode !== null) throw new Error(`harmonia serve exited with ${child.exitCode}: ${stderr}`);
      if (await fetch(`${base}/health`).then((r) => r.ok, () => false)) break;
      if (Date.now() > deadline) throw new Error(`harmonia serve did not answer within 600 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const timed = async (runs: number, f: () => Promise<number>): Promise<{ p50: number; p99: number; n: number; runs: number }> => {
      const t0 = performance.now();
      const n = await f(); // warm-up
      const warm = performance.now() - t0;
      // A query whose warm-up takes seconds is timed over 3 runs (p99 is then their maximum); one that
      // takes over a minute is reported from its warm-up alone.
      if (warm > VERY_SLOW_MS) return { p50: round(warm), p99: round(warm), n, runs: 1 };
      const count = warm > SLOW_MS ? 3 : runs;
      const ms: number[] = [];
      for (let i = 0; i < count; i++) {
        const t = performance.now();
        await f();
        ms.push(performance.now() - t);
      }
      ms.sort((a, b) => a - b);
      return { p50: round(percentile(ms, 50)), p99: round(percentile(ms, 99)), n, runs: count };
    };
    const queries: Record<string, Timing & { rows: number }> = {};
    for (const [name, q] of Object.entries(QUERIES)) {
      const t = await timed(QUERY_RUNS, async () => {
        const r = await fetch(`${base}/sparql`, { method: 'POST', headers: { 'content-type': 'application/sparql-query', accept: 'application/sparql-results+json' }, body: q });
        if (!r.ok) throw new Error(`${side.label} ${name}: HTTP ${r.status}: ${await r.text()}`);
        return ((await r.json()) as { results: { bindings: unknown[] } }).results.bindings.length;
      });
      queries[name] = { p50: t.p50, p99: t.p99, rows: t.n, runs: t.runs };
      log(`${side.label} ${name}: ${JSON.stringify(queries[name])}\n`);
    }
    const cohorts: Record<string, Timing & { members: number }> = {};
    for (const [name, def] of Object.entries(BENCH_DEFINITIONS)) {
      const t = await timed(COHORT_RUNS, async () => {
        const r = await fetch(`${base}/cohorts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(def) });
        if (!r.ok) throw new Error(`${side.label} cohort ${name}: HTTP ${r.status}: ${await r.text()}`);
        return ((await r.json()) as { count: number }).count;
      });
      cohorts[name] = { p50: t.p50, p99: t.p99, members: t.n, runs: t.runs };
      log(`${side.label} cohort ${name}: ${JSON.stringify(cohorts[name])}\n`);
    }
    return { queries, cohorts, serveMiB: processMemoryMiB(child.pid!)?.peak ?? NaN };
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
  }
}

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: expected a whole number above 0, got ${args[i + 1]}`);
  return v;
}

/** A process's peak RSS so far; 0 once it is gone (an exited, unreaped process has no VmHWM). */
function peakOf(pid: number): number {
  const peak = processMemoryMiB(pid)?.peak;
  return peak !== undefined && Number.isFinite(peak) ? peak : 0;
}

/** Patients in a Virtuoso store, asked at its SPARQL endpoint. */
async function countPatients(endpoint: string): Promise<number> {
  const q = 'SELECT (COUNT(?p) AS ?n) WHERE { ?p a <https://w3id.org/harmonia/vocab#Patient> }';
  const r = await fetch(`${endpoint}?query=${encodeURIComponent(q)}`, { headers: { accept: 'application/sparql-results+json' } });
  if (!r.ok) throw new Error(`${endpoint}: HTTP ${r.status}: ${await r.text()}`);
  return Number(((await r.json()) as { results: { bindings: { n: { value: string } }[] } }).results.bindings[0].n.value);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const data = resolve(args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')) ?? process.env.HARMONIA_DATA ?? '../shared/data');
  const n = flag(args, '--patients', 100_000);
  const nEmbedded = Math.min(n, flag(args, '--embedded', 30_000));
  const partSize = flag(args, '--part', 10_000);
  const bulk = args.includes('--bulk');
  const statistics = args.includes('--statistics') ? args[args.indexOf('--statistics') + 1] : 'auto';
  const keep = args.includes('--keep') ? resolve(args[args.indexOf('--keep') + 1]) : undefined;
  const buffers = args.includes('--buffers') ? flag(args, '--buffers', DEFAULT_BUFFERS) : DEFAULT_BUFFERS;
  const reuse = args.includes('--reuse') ? resolve(args[args.indexOf('--reuse') + 1]) : undefined;
  const checkpointMinutes = flag(args, '--checkpoint', 60);
  if (reuse && !existsSync(join(reuse, 'virtuoso.db'))) throw new Error(`--reuse ${reuse}: no virtuoso.db there (keep one with --keep DIR)`);
  const hpo = join(data, 'ontologies', 'hp.v2024-04-26.json.gz');
  const zip = join(data, 'phenopackets', 'phenopacket-store-dev.zip');
  for (const f of [hpo, zip]) if (!existsSync(f)) throw new Error(`${f}: not found (give the data directory as the first argument)`);
  const work = mkdtempSync(join(process.env.HARMONIA_BENCH_TMP ?? tmpdir(), 'harmonia-virtuoso-scale-'));
  const started = performance.now();
  const rows: Row[] = [];
  const notes: string[] = [];
  let virtuoso: Virtuoso | undefined;
  let virtuosoPeak = 0;
  let sampler: NodeJS.Timeout | undefined;
  try {
    const all = join(work, 'replicated.jsonl');
    let t = performance.now();
    // A reused store needs only the patients of the re-run and of the embedded side.
    const rep = await replicatePhenopackets([zip], reuse ? Math.max(nEmbedded, partSize) : n, all);
    log(`${rep.patients} patients from ${rep.originals} originals in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);

    virtuoso = await startVirtuoso(reuse ?? keep ?? join(work, 'virtuoso'), { buffers, checkpointMinutes });
    const pid = virtuoso.pid;
    sampler = setInterval(() => void (virtuosoPeak = Math.max(virtuosoPeak, peakOf(pid))), 2000);
    // Written as the dba through the authenticated endpoint, as docs/stores.md advises, so that each
    // ingest that grows the store by a tenth or more recomputes Virtuoso's planning statistics.
    const dba = { HARMONIA_SPARQL_UPDATE_URL: virtuoso.endpoint.replace(/\/sparql$/, '/sparql-auth'), HARMONIA_SPARQL_USER: 'dba', HARMONIA_SPARQL_PASSWORD: 'dba' };
    let bulkFolder: string | undefined;
    if (bulk) mkdirSync((bulkFolder = join(virtuoso.dir, 'bulk')), { recursive: true });
    // `--statistics end`: no part recomputes the statistics; the re-run of the first part (below) does, once.
    const partStatistics = statistics === 'end' ? 'never' : statistics;
    const remote: Side = { label: 'virtuoso', location: virtuoso.location, patients: n, env: { ...dba, ...(bulkFolder ? { HARMONIA_SPARQL_BULK_DIR: bulkFolder } : {}) }, ingestArgs: ['--statistics', partStatistics] };
    const embedded: Side = { label: 'embedded', location: join(work, 'embedded'), patients: nEmbedded };

    const rParts = reuse ? [] : await ingest(remote, all, partSize, hpo, work, () => processMemoryMiB(pid)?.now ?? NaN);
    const stored = reuse ? await countPatients(virtuoso.endpoint) : n;
    if (reuse) log(`virtuoso: ${stored} patients in the reused store ${reuse}\n`);
    // A re-run of the first part: every patient unchanged (content hash), nothing written.
    await sliceLines(all, 0, Math.min(n, partSize), join(work, 'again.jsonl'));
    t = performance.now();
    const again = JSON.parse((await harmonia(['ingest', '--store', remote.location, '--statistics', statistics === 'end' ? 'always' : statistics, '--json', join(work, 'again.jsonl')], remote.env)).stdout) as { accepted: number; unchanged: number; storeTriples: number; statistics?: Part['statistics'] };
    const againS = (performance.now() - t) / 1000;
    const rQ = await measureQueries(remote);
    clearInterval(sampler);
    sampler = undefined;
    virtuosoPeak = Math.max(virtuosoPeak, peakOf(pid));
    await virtuoso.stop();
    virtuoso = undefined;

    const eParts = await ingest(embedded, all, partSize, hpo, work);
    const eQ = await measureQueries(embedded);
    rmSync(embedded.location, { recursive: true, force: true });

    const sum = (ps: Part[], k: 'patients' | 'triples'): number => ps.reduce((a, p) => a + p[k], 0);
    const seconds = (ps: Part[]): number => ps.reduce((a, p) => a + p.seconds, 0);
    const rate = (ps: Part[]): string => `${round(sum(ps, 'patients') / seconds(ps), 1)} patients/s, ${round(sum(ps, 'triples') / seconds(ps), 0)} triples/s`;
    const perPart = (ps: Part[]): string => ps.map((p) => round(p.patients / p.seconds, 0)).join(', ');
    const x = (a: number, b: number): string => (b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}x` : 'n/a');
    if (reuse) {
      rows.push({ measure: 'store measured (loaded by an earlier run, kept with --keep)', value: `${stored} patients, ${again.storeTriples} triples (Harmonia graphs)`, anchor: `${nEmbedded} patients in ${round(seconds(eParts), 0)} s: ${rate(eParts)}`, ratio: '' });
    } else {
      // Rates over the ingest processes' own time: the slicing of each part out of the replicated file
      // between them (which grows with the part's position) is the benchmark's, not Harmonia's.
      const rRate = sum(rParts, 'patients') / seconds(rParts);
      const eRate = sum(eParts, 'patients') / seconds(eParts);
      rows.push({ measure: `ingest by \`harmonia ingest\` in parts of ${partSize}, time of the ingest processes (ratio = Virtuoso/embedded patients/s)`, value: `${n} patients in ${round(seconds(rParts), 0)} s: ${rate(rParts)}`, anchor: `${nEmbedded} patients in ${round(seconds(eParts), 0)} s: ${rate(eParts)}`, ratio: x(rRate, eRate) });
      rows.push({ measure: 'patients/s of each part, first to last', value: perPart(rParts), anchor: perPart(eParts), ratio: x(rParts[rParts.length - 1].patients / rParts[rParts.length - 1].seconds, rParts[0].patients / rParts[0].seconds) + ' (Virtuoso last/first)' });
      const refreshed = rParts.filter((p) => p.statistics?.refreshed);
      const refusals = [...new Set(rParts.filter((p) => p.statistics && !p.statistics.refreshed).map((p) => p.statistics!.reason))];
      rows.push({ measure: 'Virtuoso planning statistics recomputed by `harmonia ingest` (after parts that grew the store by a tenth or more; seconds each)', value: refreshed.length ? `${refreshed.length} of ${rParts.length} parts: ${refreshed.map((p) => p.statistics!.seconds).join(', ')} s` : 'never', anchor: refusals.length ? `refused: ${refusals.join('; ')}` : '', ratio: '' });
      rows.push({ measure: 'triples in the store at the end (Harmonia graphs)', value: String(rParts[rParts.length - 1].storeTriples), anchor: String(eParts[eParts.length - 1].storeTriples), ratio: '' });
    }
    rows.push({ measure: `re-run of the first ${Math.min(n, partSize)} patients (all unchanged by content hash)${statistics === 'end' ? ', with `--statistics always`: the one statistics refresh of this run' : ''}`, value: `${round(againS, 1)} s, ${again.unchanged} unchanged, ${again.accepted} written${again.statistics ? `; statistics ${again.statistics.refreshed ? `recomputed in ${again.statistics.seconds} s` : `not recomputed: ${again.statistics.reason}`}` : ''}`, anchor: '', ratio: '' });
    for (const [name, q] of Object.entries(rQ.queries)) {
      const e = eQ.queries[name];
      rows.push({ measure: `${name} over HTTP (POST /sparql), p50 / p99 of ${q.runs} / ${e.runs} (rows: Virtuoso ${q.rows}, embedded ${e.rows}; ratio = p50)`, value: `${q.p50} / ${q.p99} ms`, anchor: `${e.p50} / ${e.p99} ms`, ratio: x(q.p50, e.p50) });
    }
    for (const [name, c] of Object.entries(rQ.cohorts)) {
      const e = eQ.cohorts[name];
      rows.push({ measure: `cohort ${name} over HTTP (POST /cohorts), p50 / p99 of ${c.runs} / ${e.runs} (members: ${c.members} of ${stored}, ${e.members} of ${nEmbedded}; ratio = p50)`, value: `${c.p50} / ${c.p99} ms`, anchor: `${e.p50} / ${e.p99} ms`, ratio: x(c.p50, e.p50) });
    }
    rows.push({ measure: 'memory: Virtuoso peak RSS (VmHWM) vs the embedded ingest process peak; `harmonia serve` peak for each', value: `Virtuoso ${virtuosoPeak} MiB${rParts.length ? ` (RSS after each part: ${rParts.map((p) => p.rssMiB).join(', ')})` : ''}; serve ${rQ.serveMiB} MiB`, anchor: `ingest ${Math.max(...eParts.map((p) => p.rssMiB))} MiB; serve ${eQ.serveMiB} MiB`, ratio: '' });
    const last = rParts[rParts.length - 1];
    const lastRate = last ? last.patients / last.seconds : NaN;
    notes.push(
      `Patients: the ${rep.originals} readable dev phenopackets, then copies with every id suffixed ~1, ~2, ... (bench/replicate.ts); the embedded store took the first ${nEmbedded} of the same list. Each part is one \`harmonia ingest --json\` process (default batch of 1000 patients), the first with --hpo; the Virtuoso side first, then the embedded one, so they never share the cores.`,
      reuse
        ? `The Virtuoso database in ${reuse} was loaded by an earlier run and measured as it was found (${stored} patients); its loading rates are that run's.`
        : n < 1_000_000
        ? `Extrapolation to 1,000,000 patients: at the last part's rate (${round(lastRate, 1)} patients/s with ${last.storeTriples} triples stored) the remaining ${1_000_000 - n} would take about ${round((1_000_000 - n) / lastRate / 3600, 1)} h if the rate held; it went from ${round(rParts[0].patients / rParts[0].seconds, 1)} to ${round(lastRate, 1)} over ${n} patients.`
        : `The last part ran at ${round(lastRate, 1)} patients/s with ${last.storeTriples} triples stored; the first at ${round(rParts[0].patients / rParts[0].seconds, 1)}.`,
      `Virtuoso as configured by bench/virtuoso.ts with NumberOfBuffers ${buffers} (about ${round((buffers * 8) / 1024 / 1024, 1)} GiB of 8 KiB pages) and MaxDirtyBuffers ${Math.round(buffers * 0.75)}, CheckpointInterval ${checkpointMinutes} min, written ${bulk ? 'by bulk loads through a shared folder (HARMONIA_SPARQL_BULK_DIR: N-Quads files loaded by DB.DBA.TTLP)' : 'by SPARQL Update'} with HARMONIA_SPARQL_PARALLEL=${process.env.HARMONIA_SPARQL_PARALLEL ?? 1}, as the dba through /sparql-auth, \`harmonia ingest --statistics ${statistics}\`; a query whose warm-up took over ${VERY_SLOW_MS / 1000} s is reported from that one run. The whole benchmark took ${round((performance.now() - started) / 1000, 0)} s.`,
    );
  } finally {
    if (sampler) clearInterval(sampler);
    if (virtuoso) await virtuoso.stop();
    rmSync(work, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify({ title: TITLE, rows, peakRssMiB: peakRssMiB(), notes }, null, 1) + '\n');
}

await main();
