// Cohort evaluation speed: p50/p95 of a set of definitions over the ~7,400 real dev patients
// (in process and over HTTP with startServer) and over a 100,000-patient store built by replicating
// the dev phenopackets with new ids.
//
//   npm run build && node dist/bench/cohort.js [DATA_DIR] [--patients N] [--skip-large]
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Quad } from 'n3';
import { CohortService } from '../src/cohort/index.js';
import { asPhenopacket } from '../src/harmonize/index.js';
import { ensureOntology, ingestPhenopackets } from '../src/ingest/index.js';
import { mapPhenopacket } from '../src/map/index.js';
import { loadOntology, type Ontology } from '../src/ontology/index.js';
import { cohortRoutes } from '../src/server/cohorts.js';
import { startServer } from '../src/server/index.js';
import { readJsonDocuments } from '../src/sources/index.js';
import { OxigraphStore } from '../src/store/index.js';

const RUNS = 30;

/** Definitions that exercise each kind of criterion, from selective to broad. */
export const BENCH_DEFINITIONS: Record<string, unknown> = {
  example: {
    name: 'seizure-not-febrile-stxbp1',
    conceptSets: [{ id: 'seizure', items: [{ concept: 'HP:0001250' }, { concept: 'HP:0002373', isExcluded: true }] }],
    criteria: { all: [{ phenotype: { conceptSet: 'seizure', status: 'observed' } }, { gene: { symbol: 'STXBP1' } }, { sex: 'FEMALE' }, { none: [{ phenotype: { concept: 'HP:0001249', status: 'observed' } }] }] },
  },
  notRecorded: { name: 'stxbp1-id-not-recorded', criteria: { all: [{ gene: { symbol: 'STXBP1' } }, { phenotype: { concept: 'HP:0001249', status: 'notRecorded' } }] } },
  excluded: { name: 'seizure-excluded', criteria: { phenotype: { concept: 'HP:0001250', status: 'excluded' } } },
  atLeast: { name: 'neuro-2-of-4', criteria: { atLeast: { n: 2, of: [{ phenotype: { concept: 'HP:0001250' } }, { phenotype: { concept: 'HP:0001263' } }, { phenotype: { concept: 'HP:0000252' } }, { sex: 'MALE' }] } } },
  anyAge: { name: 'nf1-or-stxbp1-children', criteria: { all: [{ any: [{ gene: { symbol: 'NF1' } }, { gene: { symbol: 'STXBP1' } }] }, { age: { min: 2, max: 18 } }] } },
  broad: { name: 'nervous-system', criteria: { phenotype: { concept: 'HP:0000707' } } },
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summary(ms: number[]): { p50: number; p95: number; n: number } {
  const s = [...ms].sort((a, b) => a - b);
  const r = (x: number): number => Math.round(x * 10) / 10;
  return { p50: r(percentile(s, 50)), p95: r(percentile(s, 95)), n: s.length };
}

async function timed(runs: number, f: () => Promise<number> | number): Promise<{ p50: number; p95: number; n: number; members: number }> {
  let members = await f(); // warm-up: ontology caches, store statistics
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    members = await f();
    ms.push(performance.now() - t);
  }
  return { ...summary(ms), members };
}

function keyOf(files: string[]): string {
  return files.map((f) => { const s = statSync(f); return `${s.size}-${Math.round(s.mtimeMs)}`; }).join('-');
}

/** Builds a store once into `dir` (under a temporary name, then renamed). */
async function cachedStore(dir: string, build: (store: OxigraphStore) => Promise<void>): Promise<string> {
  if (existsSync(join(dir, 'harmonia-store.json'))) return dir;
  const building = `${dir}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(building, { recursive: true });
  const store = await OxigraphStore.open(building, { create: true, write: true });
  try {
    await build(store);
  } finally {
    await store.close();
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(building, dir);
  return dir;
}

/** The predicates cohort queries read; the rest (labels, provenance, issues, metadata) is left out at 100k. */
const COHORT_PREDICATES = new Set(['type', 'id', 'sex', 'ageAtLastEncounterYears', 'hasPhenotype', 'excludedPhenotype', 'hasGene', 'hasDisease',
  'hasVariant', 'gene', 'chrom', 'pos', 'ref', 'alt', 'assembly', 'hgvs', 'acmgClass', 'publication', 'site', 'modality', 'file',
  'phenotypicFeature', 'excluded', 'onsetYears', 'onsetClass'].map((p) => `https://w3id.org/harmonia/vocab#${p}`));
const RDF_TYPE = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type';

/**
 * Keeps what cohort evaluation reads: the embedded (WASM, 4 GiB) Oxigraph cannot hold 100,000 full
 * patient graphs (about 23 M quads). Feature nodes are kept only when they carry an onset.
 */
function slim(quads: Quad[]): Quad[] {
  const withOnset = new Set(quads.filter((q) => q.predicate.value.endsWith('#onsetYears') || q.predicate.value.endsWith('#onsetClass')).map((q) => q.subject.value));
  return quads.filter((q) => {
    const p = q.predicate.value;
    if (p === RDF_TYPE) return q.object.value.endsWith('#Patient');
    if (!COHORT_PREDICATES.has(p)) return false;
    if (p.endsWith('#phenotypicFeature')) return withOnset.has(q.object.value);
    if (q.subject.value.includes('/feature/')) return withOnset.has(q.subject.value);
    return true;
  });
}

/**
 * The dev patients replicated with new ids (`<id>~<copy>`) to `n` patients, mapped with the
 * production mapper, slimmed to the cohort predicates (see slim) and committed in batches.
 * SHACL validation is skipped: the originals passed it.
 */
async function replicate(store: OxigraphStore, ontology: Ontology, zip: string, n: number): Promise<void> {
  await ensureOntology(store, ontology);
  const originals: unknown[] = [];
  for await (const rec of readJsonDocuments([zip])) originals.push(rec.json);
  let made = 0;
  for (let copy = 0; made < n; copy++) {
    const replace = new Map<string, Quad[]>();
    const add: Quad[] = [];
    for (const json of originals) {
      if (made === n) break;
      if (replace.size >= 10_000) {
        await store.commit({ replace: new Map(replace), add: [], rejected: [], accepted: [] });
        replace.clear();
      }
      const pp = asPhenopacket(copy === 0 ? json : { ...(json as object), id: `${(json as { id: string }).id}~${copy}` } as never);
      const mapped = mapPhenopacket(pp, ontology);
      replace.set(mapped.graph, slim(mapped.quads));
      if (copy === 0) add.push(...mapped.shared);
      made++;
    }
    await store.commit({ replace, add, rejected: [], accepted: [] });
  }
}

async function measureStore(dir: string, runs: number, http: boolean): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const openStarted = performance.now();
  const store = await OxigraphStore.open(dir);
  const ontology = (await store.ontology())!;
  out.openSeconds = Math.round((performance.now() - openStarted) / 100) / 10;
  const service = new CohortService(store, ontology);
  const inProcess: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(BENCH_DEFINITIONS)) inProcess[name] = await timed(runs, async () => (await service.evaluate(def)).count);
  out.inProcess = inProcess;
  const members = (await service.evaluate(BENCH_DEFINITIONS.example)).patients;
  out.explainExample = await timed(Math.min(runs, 5), async () => (await service.explain(await service.evaluate(BENCH_DEFINITIONS.example))).length);
  out.characteriseExample = await timed(Math.min(runs, 5), async () => (await service.characterise(members)).count);
  await store.close();
  if (!http) return out;
  const server = await startServer(dir, { port: 0 }, [cohortRoutes]);
  try {
    const overHttp: Record<string, unknown> = {};
    for (const [name, def] of Object.entries(BENCH_DEFINITIONS)) {
      overHttp[name] = await timed(runs, async () => {
        const res = await fetch(`${server.url}/cohorts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(def) });
        return ((await res.json()) as { count: number }).count;
      });
    }
    out.http = overHttp;
  } finally {
    await server.close();
  }
  return out;
}

export async function benchCohort(dataDir: string, options: { patients?: number; skipLarge?: boolean; runs?: number } = {}): Promise<object> {
  const hpo = join(dataDir, 'ontologies', 'hp.v2024-04-26.json.gz');
  const zip = join(dataDir, 'phenopackets', 'phenopacket-store-dev.zip');
  const runs = options.runs ?? RUNS;
  const key = keyOf([hpo, zip]);
  const result: Record<string, unknown> = { runs, machine: `${process.platform} ${process.arch}, node ${process.version}` };
  const devDir = await cachedStore(join(tmpdir(), `harmonia-cohort-dev-store-${key}`), async (store) => {
    await ensureOntology(store, loadOntology(hpo));
    await ingestPhenopackets(store, [zip]);
  });
  result.dev = { patients: 7405, ...(await measureStore(devDir, runs, true)) };
  if (!options.skipLarge) {
    const n = options.patients ?? 100_000;
    const started = performance.now();
    const bigDir = await cachedStore(join(tmpdir(), `harmonia-cohort-replicated-${n}-${key}`), (store) => replicate(store, loadOntology(hpo), zip, n));
    result.large = { patients: n, buildSeconds: Math.round((performance.now() - started) / 1000), ...(await measureStore(bigDir, Math.min(runs, 10), true)) };
  }
  return result;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
  const dataDir = resolve(args.find((a, i) => !a.startsWith('--') && !['--patients', '--runs'].includes(args[i - 1])) ?? process.env.HARMONIA_DATA ?? '../shared/data');
  const patients = flag('--patients');
  const runsFlag = flag('--runs');
  const out = await benchCohort(dataDir, { patients: patients ? Number(patients) : undefined, skipLarge: args.includes('--skip-large'), runs: runsFlag ? Number(runsFlag) : undefined });
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}
