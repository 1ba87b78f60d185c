// Cohort query shapes per store: every benchmark definition (bench/cohort.ts) compiled with each
// combination of the compiler's alternatives (src/cohort/compile.ts: term sets as VALUES or
// FILTER IN, negation as MINUS or FILTER NOT EXISTS, term sets as subqueries or not), evaluated on
// the embedded store and on Virtuoso holding the same quads, in the same run. What each engine
// answers fastest decides the defaults per store kind (cohort/compile.ts, COMPILE_OPTIONS_BY_STORE).
//
//   npm run build && node dist/bench/cohort-plans.js [DATA_DIR] [--store DIR] [--runs N]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_COMPILE_OPTIONS, evaluateCohort, prepareCohort, type CompileOptions } from '../src/cohort/index.js';
import { openEndpoint, openStore, type GraphStore } from '../src/store/index.js';
import { loadOntology } from '../src/ontology/index.js';
import { BENCH_DEFINITIONS } from './cohort.js';
import { loadIntoVirtuoso } from './load.js';
import { peakRssMiB, percentile, round } from './util.js';
import { startVirtuoso, type Virtuoso } from './virtuoso.js';

const here = resolve(new URL('.', import.meta.url).pathname);
const bin = join(here, '..', '..', 'bin', 'harmonia');

type Shape = Required<Omit<CompileOptions, 'cardinalities'>>;
const SHAPES: Shape[] = [];
for (const termMatch of ['values', 'filterIn'] as const) for (const negation of ['minus', 'notExists'] as const) for (const subqueries of [true, false]) SHAPES.push({ termMatch, negation, subqueries });
const shapeName = (s: Shape) => `${s.termMatch}/${s.negation}/${s.subqueries ? 'sub' : 'flat'}`;

interface Timing { p50: number; members: number; runs: number }

/** p50 after one warm-up; a shape past `slowMs` on its warm-up is timed once more only. */
async function time(store: GraphStore, ontology: ReturnType<typeof loadOntology>, def: unknown, shape: Shape, runs: number, slowMs: number): Promise<Timing> {
  const cohort = prepareCohort(def, ontology);
  const t0 = performance.now();
  let members = (await evaluateCohort(store, ontology, cohort, shape)).count;
  const n = performance.now() - t0 > slowMs ? 1 : runs;
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    members = (await evaluateCohort(store, ontology, cohort, shape)).count;
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { p50: round(percentile(ms, 50), 1), members, runs: n };
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const data = resolve(process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : join(here, '..', '..', '..', 'shared', 'data'));
  const runs = Number(flag('--runs') ?? 5);
  const work = mkdtempSync(join(tmpdir(), 'harmonia-cohort-plans-'));
  const hpo = join(data, 'ontologies', 'hp.v2024-04-26.json.gz');
  const notes: string[] = [];
  let virtuoso: Virtuoso | undefined;
  const started = performance.now();
  try {
    let storeDir = flag('--store');
    if (!storeDir) {
      storeDir = join(work, 'store');
      execFileSync(bin, ['ingest', '--store', storeDir, '--hpo', hpo, '--json', join(data, 'phenopackets', 'phenopacket-store-dev.zip')], { stdio: ['ignore', 'ignore', 'inherit'] });
      notes.push('Store: the dev phenopackets, built by `harmonia ingest` in this run.');
    } else notes.push(`DEVELOPMENT RUN: the embedded store was ${storeDir} (--store), not built by this run.`);
    execFileSync(bin, ['dump', '--store', storeDir, '--out', join(work, 'store.nq')], { stdio: ['ignore', 'ignore', 'inherit'] });
    virtuoso = await startVirtuoso(join(work, 'virtuoso'));
    const loaded = await loadIntoVirtuoso(virtuoso, join(work, 'store.nq'), join(work, 'virtuoso'));
    rmSync(join(work, 'store.nq'));
    notes.push(`Virtuoso: ${loaded.loaded} quads (the dump's ${loaded.quads}) by its bulk loader in ${round(loaded.seconds, 1)} s; the queries go through Harmonia's SPARQL endpoint client (the remote store's, read only).`);
    const ontology = loadOntology(hpo);
    const stores: [string, GraphStore][] = [['embedded', await openStore(storeDir)], ['virtuoso', await openEndpoint(virtuoso.endpoint)]];
    const rows: Record<string, string | number>[] = [];
    const best: Record<string, Record<string, string>> = {};
    for (const [kind, store] of stores) {
      best[kind] = {};
      for (const [name, def] of Object.entries(BENCH_DEFINITIONS)) {
        const timings = new Map<string, Timing>();
        for (const shape of SHAPES) {
          timings.set(shapeName(shape), await time(store, ontology, def, shape, runs, kind === 'virtuoso' ? 5000 : 2000));
          process.stderr.write(`${kind} ${name} ${shapeName(shape)}: ${timings.get(shapeName(shape))!.p50} ms\n`);
        }
        const counts = new Set([...timings.values()].map((t) => t.members));
        if (counts.size > 1) notes.push(`${kind} ${name}: THE SHAPES DISAGREE on the members (${[...counts].join(', ')}).`);
        const fastest = [...timings.entries()].sort((a, b) => a[1].p50 - b[1].p50)[0];
        best[kind][name] = fastest[0];
        rows.push({ store: kind, definition: name, members: fastest[1].members, default: timings.get(shapeName(DEFAULT_COMPILE_OPTIONS))!.p50, ...Object.fromEntries([...timings].map(([k, t]) => [k, t.p50])), fastest: fastest[0] });
      }
      await store.close();
    }
    process.stdout.write(JSON.stringify({ title: 'Cohort query shapes per store', runs, shapes: SHAPES.map(shapeName), rows, best, notes, seconds: round((performance.now() - started) / 1000, 0), peakRssMiB: peakRssMiB() }) + '\n');
  } finally {
    await virtuoso?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
