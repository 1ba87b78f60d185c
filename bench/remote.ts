// The remote store (a real Virtuoso on 127.0.0.1) beside the embedded Oxigraph store, in one run on
// the same data: ingest, Q1-Q4, the cohort definitions, stats and reopen, memory of both sides.
//
//   npm run build && node --expose-gc dist/bench/remote.js [DATA_DIR]
//
// Prints one JSON object { title, rows, peakRssMiB, notes } on stdout (the table format of bench/run.ts);
// progress goes to stderr. Needs Debian's virtuoso-opensource (virtuoso-t and isql-vt).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { storeStats } from '../src/cli/commands/stats.js';
import { CohortService } from '../src/cohort/index.js';
import { ensureOntology, ingestPhenopackets, type IngestSummary } from '../src/ingest/index.js';
import { loadOntology } from '../src/ontology/index.js';
import { QueryEngine } from '../src/query/index.js';
import { readJsonDocuments } from '../src/sources/index.js';
import { openStore, type GraphStore } from '../src/store/index.js';
import { BENCH_DEFINITIONS } from './cohort.js';
import { QUERIES } from './foundation.js';
import { peakRssMiB, processMemoryMiB, round, timeRuns } from './util.js';

const TITLE = 'Remote store (Virtuoso) beside the embedded store';
/**
 * The patients go in as CHUNKS interleaved parts (part c: archive positions i with i % CHUNKS === c,
 * about 500 patients, every gene folder of the archive represented). The remote store takes part after
 * part until the next would end past REMOTE_INGEST_BUDGET_S (its rate falls as it fills, so no first
 * rate predicts the rest); the embedded store then takes the same parts.
 */
const CHUNKS = 15;
const REMOTE_INGEST_BUDGET_S = 240;
const QUERY_RUNS = 20;
const COHORT_RUNS = 10;
/** A cohort definition whose first (warm-up) evaluation takes longer than this gets fewer runs. */
const SLOW_COHORT_MS = 3000;

const log = (s: string): void => void process.stderr.write(s);

import { startVirtuoso, type Virtuoso } from './virtuoso.js';


// ---- The benchmark ----

interface Row { measure: string; value: string; anchor: string; ratio: string }

const seconds = (t0: number): number => (performance.now() - t0) / 1000;
const x = (a: number, b: number): string => (b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}x` : 'n/a');
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

interface IngestTotals { accepted: number; rejected: number; triples: number; seconds: number; ontologySeconds: number }

/** Patients per commit, for both stores: the CLI's default. */
const BATCH = 1000;

/**
 * A Virtuoso deadlock (SR172, retryable). Its Graph Store endpoint reports it in an HTML page of which
 * HttpClient keeps only the first lines (no error text), so an HTTP 500 from an upload counts too.
 */
const isDeadlock = (e: unknown): boolean => /SR172|deadlock|Graph Store upload failed with HTTP 500/i.test(String((e as Error)?.message ?? e));
const firstLine = (e: unknown): string => String((e as Error)?.message ?? e).replace(/\s*SPARQL query:[\s\S]*$/, '').replace(/<(!DOCTYPE|\/?(html|head|body|title|h\d|p|pre|br))\b[^>]*>/gi, ' ').replace(/\s+/g, ' ').trim().slice(0, 240);

/** Runs `f`, again (up to twice more) when Virtuoso reports a deadlock (SR172, retryable); says so in `notes`. */
async function retryingDeadlocks<T>(what: string, notes: string[], f: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await f();
    } catch (e) {
      if (!isDeadlock(e) || attempt === 3) throw e;
      notes.push(`${what}: attempt ${attempt} failed, most likely a Virtuoso deadlock (SR172; here: ${firstLine(e)}); re-run (idempotent), the time includes the failed attempt.`);
      log(`${what}: deadlock, retrying\n`);
    }
  }
}

/**
 * ensureOntology on the remote store as a user would run it (SPARQL Update); when Virtuoso refuses
 * that, the same through Virtuoso's Graph Store endpoint (HARMONIA_SPARQL_GSP_URL, a documented setting).
 */
async function remoteOntology(location: string, store: GraphStore, ontology: ReturnType<typeof loadOntology>, notes: string[]): Promise<number> {
  let t = performance.now();
  try {
    await ensureOntology(store, ontology);
    return seconds(t);
  } catch (e) {
    const failedS = seconds(t);
    log(`remote: ensureOntology by SPARQL Update failed after ${failedS.toFixed(1)} s: ${firstLine(e)}\n`);
    notes.push(`BUG: ensureOntology of the real HPO into Virtuoso by SPARQL Update fails after ${round(failedS, 1)} s: ${firstLine(e)}. RemoteStore sends the HPO class graph in ~1 MB INSERT DATA requests of one GRAPH block each (~10,000 short triples), and Virtuoso 7.2's SPARQL parser refuses a block of more than ~4,990 triples (checked by hand: 4,900 triples pass, 5,000 fail, whatever the byte size; two GRAPH blocks of 3,000 in one request pass). The benchmark then loaded the HPO through Virtuoso's Graph Store endpoint (HARMONIA_SPARQL_GSP_URL=/sparql-graph-crud for that step only; patients went by SPARQL Update); the HPO figure is that upload.`);
  }
  const previous = process.env.HARMONIA_SPARQL_GSP_URL;
  process.env.HARMONIA_SPARQL_GSP_URL = location.replace(/^sparql\+/, '').replace(/\/sparql$/, '/sparql-graph-crud');
  try {
    t = performance.now();
    const viaGsp = await openStore(location, { write: true });
    await retryingDeadlocks('HPO upload through the Graph Store endpoint', notes, () => ensureOntology(viaGsp, ontology));
    await viaGsp.close();
    return seconds(t);
  } finally {
    if (previous === undefined) delete process.env.HARMONIA_SPARQL_GSP_URL;
    else process.env.HARMONIA_SPARQL_GSP_URL = previous;
  }
}

async function ingestInto(store: GraphStore, files: string[], label: string, notes: string[], totals: IngestTotals): Promise<IngestTotals> {
  for (const file of files) {
    const t = performance.now();
    const s: IngestSummary = await retryingDeadlocks(`${label} ingest of ${file.split('/').pop()}`, notes, () => ingestPhenopackets(store, [file], { batchSize: BATCH }));
    const took = seconds(t);
    totals.accepted += s.accepted + (s.unchanged ?? 0);
    totals.rejected += s.rejected;
    totals.triples += s.triplesAdded;
    totals.seconds += took;
    log(`${label}: ${s.accepted} accepted (${s.unchanged} unchanged), ${s.rejected} rejected, ${s.triplesAdded} triples in ${took.toFixed(1)} s (${file.split('/').pop()})\n`);
  }
  return totals;
}

async function main(): Promise<void> {
  const data = resolve(process.argv[2] ?? process.env.HARMONIA_DATA ?? '../shared/data');
  const hpoFile = join(data, 'ontologies', 'hp.v2024-04-26.json.gz');
  const zip = join(data, 'phenopackets', 'phenopacket-store-dev.zip');
  for (const f of [hpoFile, zip]) if (!existsSync(f)) throw new Error(`${f}: not found (give the data directory as the first argument)`);

  const work = mkdtempSync(join(tmpdir(), 'harmonia-remote-bench-'));
  const rows: Row[] = [];
  const notes: string[] = [];
  let virtuoso: Virtuoso | undefined;
  let virtuosoMemory: { peak: number; now: number } | undefined;
  const started = performance.now();
  try {
    log('starting Virtuoso\n');
    let t = performance.now();
    virtuoso = await startVirtuoso(join(work, 'virtuoso'));
    const virtuosoStartS = seconds(t);
    log(`Virtuoso at ${virtuoso.endpoint} (pid ${virtuoso.pid}) in ${virtuosoStartS.toFixed(1)} s\n`);

    const ontology = loadOntology(hpoFile);
    // The phenopackets as interleaved JSON Lines parts, so a sample can be ingested; the same files go into both stores.
    const docs: string[] = [];
    let readErrors = 0;
    for await (const rec of readJsonDocuments([zip])) {
      if (rec.error) readErrors++;
      else docs.push(JSON.stringify(rec.json));
    }
    const total = docs.length;
    log(`${total} phenopackets read (${readErrors} unreadable)\n`);
    const parts: string[][] = Array.from({ length: CHUNKS }, () => []);
    docs.forEach((d, i) => parts[i % CHUNKS].push(d));
    docs.length = 0;

    // 1. Ingest: the remote store first, part by part within its time budget; then the embedded one.
    const remote = await openStore(virtuoso.location, { create: true, write: true });
    const remoteIngest: IngestTotals = { accepted: 0, rejected: 0, triples: 0, seconds: 0, ontologySeconds: 0 };
    remoteIngest.ontologySeconds = await remoteOntology(virtuoso.location, remote, ontology, notes);
    log(`remote: ontology in ${remoteIngest.ontologySeconds.toFixed(1)} s\n`);
    const files: string[] = [];
    const remoteRates: number[] = [];
    for (let c = 0; c < CHUNKS; c++) {
      const file = join(work, `part-${c + 1}-of-${CHUNKS}.jsonl`);
      writeFileSync(file, parts[c].join('\n') + '\n');
      files.push(file);
      const before = { accepted: remoteIngest.accepted, seconds: remoteIngest.seconds };
      await ingestInto(remote, [file], 'remote', notes, remoteIngest);
      const last = remoteIngest.seconds - before.seconds;
      remoteRates.push((remoteIngest.accepted - before.accepted) / last);
      if (c + 1 < CHUNKS && remoteIngest.seconds + last > REMOTE_INGEST_BUDGET_S) break;
    }
    parts.length = 0;
    const n = remoteIngest.accepted + remoteIngest.rejected;
    if (files.length < CHUNKS) {
      notes.push(`The remote ingest was stopped by its time budget (${REMOTE_INGEST_BUDGET_S} s) after ${files.length} of ${CHUNKS} parts: both stores got the same ${n} of the ${total} patients, those at positions i of phenopacket-store-dev.zip (archive order) with i mod ${CHUNKS} < ${files.length}; every figure below is on those ${n}.`);
    }
    notes.push(`The phenopackets were read from phenopacket-store-dev.zip once and written out as ${CHUNKS} interleaved JSON Lines parts (part c: archive positions i with i mod ${CHUNKS} = c, ~${Math.round(total / CHUNKS)} patients each); each store ingested the same ${files.length} parts, one ingestPhenopackets call per part (batches of ${BATCH} patients), the remote store first.`);
    await remote.close();
    gc();

    const embeddedDir = join(work, 'embedded');
    let embedded: GraphStore | undefined = await openStore(embeddedDir, { create: true, write: true });
    const embeddedIngest: IngestTotals = { accepted: 0, rejected: 0, triples: 0, seconds: 0, ontologySeconds: 0 };
    t = performance.now();
    await ensureOntology(embedded, ontology);
    embeddedIngest.ontologySeconds = seconds(t);
    log(`embedded: ontology in ${embeddedIngest.ontologySeconds.toFixed(1)} s\n`);
    const embeddedRates: number[] = [];
    for (const file of files) {
      const before = { accepted: embeddedIngest.accepted, seconds: embeddedIngest.seconds };
      await ingestInto(embedded, [file], 'embedded', notes, embeddedIngest);
      embeddedRates.push((embeddedIngest.accepted - before.accepted) / (embeddedIngest.seconds - before.seconds));
    }
    await embedded.close();
    embedded = undefined;
    gc();

    // The same patients map to the same triples; the embedded count is used for both (a remote re-run
    // after a deadlock would count only the triples of its second attempt).
    remoteIngest.triples = embeddedIngest.triples;
    const rate = (i: IngestTotals, what: 'accepted' | 'triples'): number => i[what] / i.seconds;
    rows.push({
      measure: `ingest of ${remoteIngest.accepted} phenopackets (read, check, map, SHACL, store) in ${files.length} parts, wall s and patients/s (ratio = remote/embedded rate)`,
      value: `${round(remoteIngest.seconds, 1)} s, ${round(rate(remoteIngest, 'accepted'), 1)} patients/s`,
      anchor: `${round(embeddedIngest.seconds, 1)} s, ${round(rate(embeddedIngest, 'accepted'), 1)} patients/s`,
      ratio: x(rate(remoteIngest, 'accepted'), rate(embeddedIngest, 'accepted')),
    });
    rows.push({
      measure: `ingest, triples/s (${remoteIngest.triples} patient triples; ratio = remote/embedded rate)`,
      value: `${round(rate(remoteIngest, 'triples'), 0)} triples/s`,
      anchor: `${round(rate(embeddedIngest, 'triples'), 0)} triples/s`,
      ratio: x(rate(remoteIngest, 'triples'), rate(embeddedIngest, 'triples')),
    });
    const lastRemote = remoteRates[remoteRates.length - 1];
    const lastEmbedded = embeddedRates[embeddedRates.length - 1];
    rows.push({
      measure: `ingest rate of the first part vs the last (part ${files.length}), patients/s (ratio = remote last/first; the embedded store's own in the anchor column)`,
      value: `${round(remoteRates[0], 1)} then ${round(lastRemote, 1)}`,
      anchor: `${round(embeddedRates[0], 1)} then ${round(lastEmbedded, 1)} (${x(lastEmbedded, embeddedRates[0])})`,
      ratio: x(lastRemote, remoteRates[0]),
    });
    rows.push({
      measure: 'HPO into the store (ensureOntology: class graph and saved copy), wall s (ratio = remote/embedded time)',
      value: `${round(remoteIngest.ontologySeconds, 1)} s`,
      anchor: `${round(embeddedIngest.ontologySeconds, 1)} s`,
      ratio: x(remoteIngest.ontologySeconds, embeddedIngest.ontologySeconds),
    });
    if (remoteIngest.accepted !== embeddedIngest.accepted || remoteIngest.rejected !== embeddedIngest.rejected) {
      notes.push(`Ingest outcomes differ: remote ${remoteIngest.accepted} accepted / ${remoteIngest.rejected} rejected, embedded ${embeddedIngest.accepted} / ${embeddedIngest.rejected}.`);
    }

    // 4b. Reopen (open + ontology()), then everything else runs on the reopened stores.
    t = performance.now();
    const e = await openStore(embeddedDir);
    const eOntology = (await e.ontology())!;
    const embeddedOpenS = seconds(t);
    t = performance.now();
    const r = await openStore(virtuoso.location);
    const rOntology = (await r.ontology())!;
    const remoteOpenS = seconds(t);
    log(`reopen: embedded ${embeddedOpenS.toFixed(2)} s, remote ${remoteOpenS.toFixed(2)} s\n`);
    rows.push({
      measure: 'reopen the store (open + ontology()), wall s (ratio = remote/embedded time)',
      value: `${round(remoteOpenS, 2)} s`,
      anchor: `${round(embeddedOpenS, 2)} s`,
      ratio: x(remoteOpenS, embeddedOpenS),
    });
    if (rOntology.version !== eOntology.version || rOntology.size !== eOntology.size) notes.push(`The saved ontologies differ: remote ${rOntology.version} (${rOntology.size} terms), embedded ${eOntology.version} (${eOntology.size} terms).`);

    // 2. Q1-Q4 through the query engine (ontology path expansion), CSV.
    const rEngine = await QueryEngine.create(r, rOntology);
    const eEngine = await QueryEngine.create(e, eOntology);
    if (rEngine.expandsPaths !== eEngine.expandsPaths) notes.push(`Path expansion differs: remote ${rEngine.expandsPaths}, embedded ${eEngine.expandsPaths}.`);
    const names: Record<string, string> = { Q1: 'Q1 observed descendant of Seizure', Q2: 'Q2 Seizure subtree excluded', Q3: "Q3 one patient's phenotypes with labels", Q4: 'Q4 patients per disease' };
    for (const [name, q] of Object.entries(QUERIES)) {
      const rBody = (await rEngine.run(q, 'csv')).result.body;
      const eBody = (await eEngine.run(q, 'csv')).result.body;
      const lines = (b: string): string[] => b.trim().split(/\r?\n/).slice(1);
      const rowsR = lines(rBody);
      const rowsE = lines(eBody);
      if ([...rowsR].sort().join('\n') !== [...rowsE].sort().join('\n')) {
        notes.push(`${name}: the answers differ (remote ${rowsR.length} rows${rowsR.length === 1 ? ` "${rowsR[0]}"` : ''}, embedded ${rowsE.length} rows${rowsE.length === 1 ? ` "${rowsE[0]}"` : ''}).`);
      }
      if (name === 'Q3' && rowsE.length === 0) notes.push('Q3: patient PMID_23086397_Patient_4 is not among the patients ingested, so Q3 answers no rows on both stores.');
      const rt = await timeRuns(QUERY_RUNS, () => rEngine.run(q, 'csv'));
      const et = await timeRuns(QUERY_RUNS, () => eEngine.run(q, 'csv'));
      log(`${name}: remote ${JSON.stringify(rt)} embedded ${JSON.stringify(et)} (${rowsE.length} rows)\n`);
      rows.push({
        measure: `${names[name] ?? name} (${rowsE.length} rows), p50 / p95 of ${QUERY_RUNS} runs in process, CSV (ratio = remote/embedded p50)`,
        value: `${rt.p50} / ${rt.p95} ms`,
        anchor: `${et.p50} / ${et.p95} ms`,
        ratio: x(rt.p50, et.p50),
      });
    }

    // 3. Cohort definitions of bench/cohort.ts.
    const rCohorts = new CohortService(r, rOntology);
    const eCohorts = new CohortService(e, eOntology);
    for (const [name, def] of Object.entries(BENCH_DEFINITIONS)) {
      let t0 = performance.now();
      const rFirst = await rCohorts.evaluate(def);
      const firstMs = performance.now() - t0;
      t0 = performance.now();
      const eFirst = await eCohorts.evaluate(def);
      const eFirstMs = performance.now() - t0;
      const runs = firstMs > SLOW_COHORT_MS || eFirstMs > SLOW_COHORT_MS ? 3 : COHORT_RUNS;
      if (runs !== COHORT_RUNS) notes.push(`Cohort ${name}: its first evaluation took ${round(firstMs, 0)} ms (remote) / ${round(eFirstMs, 0)} ms (embedded), so it was timed over ${runs} runs, not ${COHORT_RUNS}.`);
      if (rFirst.count !== eFirst.count || rFirst.patients.join('\n') !== eFirst.patients.join('\n')) {
        const missing = eFirst.patients.filter((p) => !rFirst.patients.includes(p)).slice(0, 3);
        notes.push(`Cohort ${name}: MEMBERS DIFFER, remote ${rFirst.count}, embedded ${eFirst.count}${missing.length ? ` (only embedded, e.g. ${missing.join(', ')})` : ''}.`);
      }
      const rt = await timeRuns(runs, () => rCohorts.evaluate(def));
      const et = await timeRuns(runs, () => eCohorts.evaluate(def));
      log(`cohort ${name}: remote ${JSON.stringify(rt)} (${rFirst.count}) embedded ${JSON.stringify(et)} (${eFirst.count})\n`);
      rows.push({
        measure: `cohort ${name} (${eFirst.count} members${rFirst.count !== eFirst.count ? `, remote ${rFirst.count}` : ''}), p50 / p95 of ${runs} runs after one warm-up (ratio = remote/embedded p50)`,
        value: `${rt.p50} / ${rt.p95} ms`,
        anchor: `${et.p50} / ${et.p95} ms`,
        ratio: x(rt.p50, et.p50),
      });
    }

    // 4a. `harmonia stats` without the CLI.
    t = performance.now();
    const rStats = await storeStats(r);
    const rStatsS = seconds(t);
    t = performance.now();
    const eStats = await storeStats(e);
    const eStatsS = seconds(t);
    log(`stats: remote ${rStatsS.toFixed(2)} s ${JSON.stringify(rStats)}\nstats: embedded ${eStatsS.toFixed(2)} s ${JSON.stringify(eStats)}\n`);
    rows.push({
      measure: `harmonia stats (storeStats: ${eStats.patients} patients, ${eStats.triples} triples), once, wall s (ratio = remote/embedded time)`,
      value: `${round(rStatsS, 2)} s`,
      anchor: `${round(eStatsS, 2)} s`,
      ratio: x(rStatsS, eStatsS),
    });
    const differing = Object.keys({ ...eStats, ...rStats }).filter((k) => JSON.stringify(rStats[k]) !== JSON.stringify(eStats[k]));
    if (differing.length) notes.push(`storeStats differ in ${differing.map((k) => `${k} (remote ${JSON.stringify(rStats[k])}, embedded ${JSON.stringify(eStats[k])})`).join('; ')}.`);
    await r.close();
    await e.close();

    // 5. Memory of both sides.
    virtuosoMemory = processMemoryMiB(virtuoso.pid);
    rows.push({
      measure: 'peak RSS: Virtuoso process (VmHWM) vs the benchmark process holding the embedded store (ratio = Virtuoso/benchmark)',
      value: virtuosoMemory ? `${virtuosoMemory.peak} MiB (now ${virtuosoMemory.now} MiB)` : 'n/a',
      anchor: `${peakRssMiB()} MiB`,
      ratio: virtuosoMemory ? x(virtuosoMemory.peak, peakRssMiB()) : '',
    });
    rows.push({ measure: 'Virtuoso start (fresh database) until it answers ASK, wall s', value: `${round(virtuosoStartS, 1)} s`, anchor: '', ratio: '' });
    notes.push(
      'Same process, same data, same run: the embedded store is Oxigraph (WASM) in this process; the remote store is Virtuoso (Debian virtuoso-opensource 7.2) on 127.0.0.1, configured as bench/virtuoso.ts (NumberOfBuffers 170000, MaxQueryMem 1G, ThreadsPerQuery 2, ResultSetMaxRows 10000000), written by SPARQL Update (per patient graph, DELETE WHERE to empty it, as Harmonia does on Virtuoso, and INSERT DATA).',
      'The benchmark process RSS includes both the embedded store and the client side of the remote one (HTTP, JSON parsing); Virtuoso\'s own memory is its process\'s VmHWM. Both share the machine\'s cores during every measurement.',
      `The whole benchmark took ${round(seconds(started), 0)} s.`,
    );
  } finally {
    if (virtuoso) {
      virtuosoMemory ??= processMemoryMiB(virtuoso.pid);
      await virtuoso.stop();
    }
    rmSync(work, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify({ title: TITLE, rows, peakRssMiB: peakRssMiB(), notes }, null, 1) + '\n');
}

await main();
