// Opening the embedded store (issue 12, item 5: "serve ready within 5 s at 7,400 patients; measured
// beside the raw N-Quads parse rate"): the dev phenopackets ingested by the CLI as a user would, then
// opened from its segment log and from its heap snapshot, in this process and as `harmonia serve`.
//
//   npm run build && node dist/bench/open.js DATA_DIR
//
// Prints { title, rows, peakRssMiB, notes } (the table format of bench/run.ts) on stdout, progress on
// stderr. HARMONIA_OPEN_STORE=DIR measures an existing store instead of building one (it is read, and
// its snapshot rewritten, never its segments).
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StreamParser } from 'n3';
import { OxigraphStore } from '../src/store/index.js';
import { peakRssMiB, percentile, round } from './util.js';
import { freePort } from './virtuoso.js';

const TITLE = 'Opening the embedded store (issue 12)';
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
const RUNS = 5;
const SERVE_RUNS = 3;
const log = (s: string): void => void process.stderr.write(s);

interface Row { measure: string; value: string; anchor: string; ratio: string }

function buildStore(data: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'harmonia-open-')), 'store');
  log('ingesting the dev phenopackets with `harmonia ingest`...\n');
  const r = spawnSync(process.execPath, [CLI, 'ingest', '--store', dir, '--hpo', join(data, 'ontologies', 'hp.v2024-04-26.json.gz'), join(data, 'phenopackets', 'phenopacket-store-dev.zip')], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`harmonia ingest failed: ${r.stderr.slice(-2000)}`);
  return dir;
}

function filesUnder(dir: string, test: (name: string) => boolean): string[] {
  return readdirSync(dir).filter(test).map((f) => join(dir, f));
}

const bytes = (files: string[]): number => files.reduce((n, f) => n + statSync(f).size, 0);
const mib = (n: number): string => `${Math.round(n / 2 ** 20).toLocaleString('en-US')} MiB`;

/** The anchor: N3.js streaming the same segment files, parsing only (no store). */
async function parseRate(files: string[]): Promise<{ quads: number; seconds: number }> {
  const t0 = performance.now();
  let quads = 0;
  for (const file of files) {
    const parser = new StreamParser({ format: 'N-Quads' });
    parser.on('data', () => void quads++);
    createReadStream(file).pipe(parser);
    await once(parser, 'end');
  }
  return { quads, seconds: (performance.now() - t0) / 1000 };
}

/** Open + ontology(), the work every command and each query worker does first; median of `runs`. */
async function timeOpen(dir: string, runs: number, snapshot: boolean): Promise<{ p50: number; from: string }> {
  process.env.HARMONIA_SNAPSHOT = snapshot ? 'on' : 'off';
  const times: number[] = [];
  let from = '';
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const s = await OxigraphStore.open(dir);
    await s.ontology();
    times.push((performance.now() - t0) / 1000);
    from = s.loadedFrom;
    await s.close();
    (globalThis as { gc?: () => void }).gc?.();
  }
  delete process.env.HARMONIA_SNAPSHOT;
  return { p50: percentile(times.sort((a, b) => a - b), 50), from };
}

/** `harmonia serve` as a user starts it, until /health says every worker is ready; median of `runs`. */
async function timeServe(dir: string, runs: number, snapshot: boolean): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const port = await freePort();
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, 'serve', '--store', dir, '--port', String(port), '--log-level', 'quiet'], { stdio: 'ignore', env: { ...process.env, HARMONIA_SNAPSHOT: snapshot ? 'on' : 'off' } });
    try {
      for (const deadline = Date.now() + 300_000; ; await new Promise((r) => setTimeout(r, 50))) {
        if (child.exitCode !== null) throw new Error(`harmonia serve exited with ${child.exitCode}`);
        const health = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.json() as Promise<{ status: string }>, () => undefined);
        if (health?.status === 'ok') break;
        if (Date.now() > deadline) throw new Error('harmonia serve did not become ready within 300 s');
      }
      times.push((performance.now() - t0) / 1000);
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
  }
  return percentile(times.sort((a, b) => a - b), 50);
}

async function main(): Promise<void> {
  const data = process.argv[2];
  if (!data) throw new Error('usage: node dist/bench/open.js DATA_DIR');
  const given = process.env.HARMONIA_OPEN_STORE;
  const dir = given ?? buildStore(data);
  try {
    const segments = filesUnder(join(dir, 'segments'), (f) => f.endsWith('.nq'));
    log('anchor: N3.js parse of the segments...\n');
    const parse = await parseRate(segments);
    log('open from the segment log...\n');
    const full = await timeOpen(dir, 3, false);
    // A reader that loaded from segments wrote the snapshot; make sure it describes the log as it is.
    const writer = await OxigraphStore.open(dir);
    const t0 = performance.now();
    writer.saveSnapshot();
    const writeSeconds = (performance.now() - t0) / 1000;
    const quads = await writer.size();
    await writer.close();
    log('open from the snapshot...\n');
    const snap = await timeOpen(dir, RUNS, true);
    if (snap.from !== 'snapshot') throw new Error(`the store opened from ${snap.from}, not from its snapshot`);
    log('harmonia serve, with and without the snapshot...\n');
    const serveSnap = await timeServe(dir, SERVE_RUNS, true);
    const serveFull = await timeServe(dir, SERVE_RUNS, false);
    const heap = filesUnder(join(dir, 'cache'), (f) => f.endsWith('.heap'));
    const patients = Number(spawnSync(process.execPath, [CLI, 'stats', '--store', dir, '--json'], { encoding: 'utf8' }).stdout.match(/"patients":\s*(\d+)/)?.[1] ?? NaN);
    const rate = parse.quads / parse.seconds;
    const rows: Row[] = [
      { measure: `N-Quads parse of the store's segment files by N3.js (no store), ${parse.quads.toLocaleString('en-US')} quads (the log repeats replaced ones)`, value: `${round(parse.seconds, 2)} s (${Math.round(rate).toLocaleString('en-US')} quads/s)`, anchor: '-', ratio: '-' },
      { measure: 'open + ontology from the segment log (Oxigraph parses and indexes every quad), median of 3', value: `${round(full.p50, 2)} s (${Math.round(quads / full.p50).toLocaleString('en-US')} quads/s)`, anchor: `N3.js parse ${round(parse.seconds, 2)} s`, ratio: `${round(full.p50 / parse.seconds, 2)}x the parse` },
      { measure: `open + ontology from the heap snapshot (${mib(bytes(heap))} read, checksummed), median of ${RUNS}`, value: `${round(snap.p50, 2)} s`, anchor: `from the segments ${round(full.p50, 2)} s`, ratio: `${round(full.p50 / snap.p50, 1)}x faster` },
      { measure: `\`harmonia serve\` start until /health is ok (default workers), with the snapshot, median of ${SERVE_RUNS}`, value: `${round(serveSnap, 2)} s`, anchor: `without it (HARMONIA_SNAPSHOT=off) ${round(serveFull, 2)} s`, ratio: `${round(serveFull / serveSnap, 1)}x faster` },
      { measure: 'writing the snapshot (once per change of the store, by the next reader or the writer closing)', value: `${round(writeSeconds, 2)} s`, anchor: '-', ratio: '-' },
      { measure: 'disk: snapshot heap (zero pages left out) vs the segment log', value: mib(bytes(heap)), anchor: `segments ${mib(bytes(segments))}`, ratio: `${round(bytes(heap) / bytes(segments), 2)}x` },
    ];
    const notes = [
      `Measured on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}; ${patients.toLocaleString('en-US')} patients, ${quads.toLocaleString('en-US')} quads, ${given ? 'the store given by HARMONIA_OPEN_STORE (built by `harmonia ingest` of the dev phenopackets)' : 'built by `harmonia ingest` in this run'}.`,
      `Goal (issue 12): serve ready within 5 s at 7,400 patients: ${serveSnap <= 5 ? 'met' : 'not met'} (${round(serveSnap, 2)} s).`,
      'The snapshot is the store\'s WASM heap as it is at rest after loading, restored into a fresh instance of the same Oxigraph build (docs/stores.md, "Heap snapshots"); a snapshot older than the log is brought up to date by applying the segments committed after it.',
    ];
    process.stdout.write(JSON.stringify({ title: TITLE, rows, peakRssMiB: peakRssMiB(), notes, patients, serveReadySeconds: round(serveSnap, 2), serveReadyWithoutSnapshotSeconds: round(serveFull, 2) }) + '\n');
  } finally {
    if (!given) rmSync(dirname(dir), { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench open: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
