// Retrieval speed: one query against ~10,000 patients (p50/p95) and all pairs of ~10,000 patients,
// for the precomputed PatientIndex and, in the same run, a straightforward set-based implementation
// (string sets of ancestors, a Map of IC, MICA recomputed for every term pair, no caches).
//
//   npm run build && node dist/bench/retrieval.js [DATA_DIR]
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadOntology, type Ontology } from '../src/ontology/index.js';
import {
  BASELINE_METHOD,
  DEFAULT_METHOD,
  icFromAnnotations,
  loadHpoa,
  loadProfiles,
  PatientIndex,
  type InformationContent,
  type PatientProfile,
} from '../src/retrieve/index.js';

const TARGET_PATIENTS = 10_000;
const QUERIES = 200;

/** The dev patients, replicated with new ids until there are `n`. */
function replicate(profiles: PatientProfile[], n: number): PatientProfile[] {
  const out: PatientProfile[] = [];
  for (let copy = 0; out.length < n; copy++) {
    for (const p of profiles) {
      if (out.length === n) break;
      out.push(copy === 0 ? p : { ...p, id: `${p.id}#${copy}` });
    }
  }
  return out;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summary(ms: number[]): { p50: number; p95: number; mean: number; n: number } {
  const s = [...ms].sort((a, b) => a - b);
  const r = (x: number): number => Math.round(x * 100) / 100;
  return { p50: r(percentile(s, 50)), p95: r(percentile(s, 95)), mean: r(s.reduce((a, b) => a + b, 0) / s.length), n: s.length };
}

const now = (): number => performance.now();

/** A deterministic sample of query indices (every k-th patient). */
function sampleQueries(profiles: PatientProfile[], n: number): PatientProfile[] {
  const step = Math.max(1, Math.floor(profiles.length / n));
  return profiles.filter((p, i) => i % step === 0 && p.observed.length > 0).slice(0, n);
}

/** The straightforward implementation: what one writes first from the definitions. */
class NaiveResnik {
  private readonly ic = new Map<string, number>();

  constructor(private readonly ontology: Ontology, ic: InformationContent) {
    ontology.termIds().forEach((id, i) => this.ic.set(id, ic.values[i]));
  }

  private micaIc(a: string, b: string): number {
    const ancB = new Set(this.ontology.ancestors(b));
    let best = 0;
    for (const x of this.ontology.ancestors(a)) if (ancB.has(x)) best = Math.max(best, this.ic.get(x) ?? 0);
    return best;
  }

  bma(q: string[], p: string[]): number {
    if (!q.length || !p.length) return 0;
    const bestQ = q.map((a) => Math.max(...p.map((b) => this.micaIc(a, b))));
    const bestP = p.map((b) => Math.max(...q.map((a) => this.micaIc(a, b))));
    const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
    return (mean(bestQ) + mean(bestP)) / 2;
  }

  search(q: PatientProfile, patients: PatientProfile[], k: number): { id: string; score: number }[] {
    return patients
      .filter((p) => p.id !== q.id)
      .map((p) => ({ id: p.id, score: this.bma(q.observed, p.observed) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, k);
  }
}

/** Wall-clock and CPU milliseconds per query (CPU time is what a loaded shared machine does not distort). */
function timeQueries(index: PatientIndex, queries: PatientProfile[], method: string, cold: boolean): { wall: number[]; cpu: number[] } {
  const wall: number[] = [];
  const cpu: number[] = [];
  const scores = new Float64Array(index.size);
  for (const q of queries) {
    if (cold) index.clearCache();
    const c = process.cpuUsage();
    const t = now();
    const mask = index.excludedCandidates(q);
    index.search(index.prepare(q), method, 10, mask, scores);
    wall.push(now() - t);
    const d = process.cpuUsage(c);
    cpu.push((d.user + d.system) / 1000);
  }
  return { wall, cpu };
}

/** All pairs: each of `fraction` of the patients against all others, extrapolated to n(n-1)/2. */
function timeAllPairs(index: PatientIndex, method: string, queryCount: number): { measuredQueries: number; measuredSeconds: number; allPairsSeconds: number; allPairsCpuSeconds: number; pairsPerSecond: number; extrapolated: boolean } {
  const scores = new Float64Array(index.size);
  const n = index.size;
  const count = Math.min(queryCount, n);
  const t = now();
  const c = process.cpuUsage();
  for (let i = 0; i < count; i++) index.scoreAll(index.prepare(index.profiles[i]), method, scores);
  const seconds = (now() - t) / 1000;
  const d = process.cpuUsage(c);
  const cpuSeconds = (d.user + d.system) / 1e6;
  // Scoring one query against all n patients covers n ordered pairs; the symmetric all-pairs job is
  // n(n-1)/2 unordered pairs, i.e. half of n full queries.
  const pairsPerSecond = (count * n) / seconds;
  const r = (x: number): number => Math.round(x * 10) / 10;
  const allPairsCpuSeconds = ((n * (n - 1)) / 2 / (count * n)) * cpuSeconds;
  return { measuredQueries: count, measuredSeconds: r(seconds), allPairsSeconds: r((n * (n - 1)) / 2 / pairsPerSecond), allPairsCpuSeconds: r(allPairsCpuSeconds), pairsPerSecond: Math.round(pairsPerSecond), extrapolated: count < n };
}

export async function benchRetrieval(dataDir: string, options: { allPairsQueries?: number; naiveQueries?: number; log?: (s: string) => void } = {}): Promise<object> {
  const log = options.log ?? ((): void => {});
  const t0 = now();
  const ontology = loadOntology(join(dataDir, 'ontologies', 'hp.v2024-04-26.json.gz'));
  const hpoa = loadHpoa(join(dataDir, 'annotations', 'phenotype.hpoa.gz'), ontology);
  const { profiles: dev } = await loadProfiles([join(dataDir, 'phenopackets', 'phenopacket-store-dev.zip')], ontology);
  const ic = icFromAnnotations(ontology, hpoa);
  const patients = replicate(dev, TARGET_PATIENTS);
  const loadSeconds = (now() - t0) / 1000;
  log(`loaded ${dev.length} dev patients, replicated to ${patients.length} (${loadSeconds.toFixed(1)} s)`);

  let t = now();
  const index = new PatientIndex(ontology, ic, patients);
  const buildMs = now() - t;
  const queries = sampleQueries(dev, QUERIES);

  const fast: Record<string, unknown> = {};
  for (const method of [DEFAULT_METHOD, BASELINE_METHOD]) {
    index.clearCache();
    const coldRun = timeQueries(index, queries, method, true);
    timeQueries(index, queries, method, false); // warm the MICA row cache
    const warmRun = timeQueries(index, queries, method, false);
    const cold = summary(coldRun.wall);
    const warm = summary(warmRun.wall);
    fast[method] = { coldCacheMs: cold, warmCacheMs: warm, coldCacheCpuMs: summary(coldRun.cpu), warmCacheCpuMs: summary(warmRun.cpu) };
    log(`${method}: one query vs ${patients.length}: cold p50 ${cold.p50} ms, warm p50 ${warm.p50} ms (cpu ${summary(warmRun.cpu).p50} ms)`);
  }

  // Straightforward implementation, same queries, same patients (fewer queries: it is slow).
  const naive = new NaiveResnik(ontology, ic);
  const naiveQueries = queries.slice(0, options.naiveQueries ?? 5);
  const naiveMs: number[] = [];
  const naiveCpu: number[] = [];
  for (const q of naiveQueries) {
    const c = process.cpuUsage();
    t = now();
    naive.search(q, patients, 10);
    naiveMs.push(now() - t);
    const d = process.cpuUsage(c);
    naiveCpu.push((d.user + d.system) / 1000);
  }
  const naiveSummary = summary(naiveMs);
  const naiveCpuSummary = summary(naiveCpu);
  log(`naive resnik-bma: one query vs ${patients.length}: p50 ${naiveSummary.p50} ms over ${naiveMs.length} queries`);

  // Agreement check: the naive and fast Resnik BMA give the same top hit on the naive queries.
  const agree = naiveQueries.every((q) => {
    const top = index.search(index.prepare(q), BASELINE_METHOD, 1, index.excludedCandidates(q))[0];
    const ref = naive.search(q, patients, 1)[0];
    return Math.abs(top.score - ref.score) < 1e-5;
  });

  const allPairsQueries = options.allPairsQueries ?? 1000;
  const allPairs: Record<string, unknown> = {};
  for (const method of [DEFAULT_METHOD, BASELINE_METHOD]) {
    allPairs[method] = timeAllPairs(index, method, allPairsQueries);
    log(`${method}: all pairs ${JSON.stringify(allPairs[method])}`);
  }
  // CPU time, so the ratio is not skewed by other load on a shared machine.
  const naivePairsPerSecond = patients.length / (naiveCpuSummary.mean / 1000);
  const n = patients.length;
  const naiveAllPairsSeconds = (n * (n - 1)) / 2 / naivePairsPerSecond;
  const baselinePairs = allPairs[BASELINE_METHOD] as { allPairsCpuSeconds: number };

  return {
    machine: { cpus: (await import('node:os')).cpus().length, cpuModel: (await import('node:os')).cpus()[0]?.model, node: process.version },
    patients: n,
    devPatients: dev.length,
    vocabulary: index.vocabularySize,
    indexBuildMs: Math.round(buildMs),
    oneQuery: fast,
    naiveOneQueryMs: naiveSummary,
    naiveOneQueryCpuMs: naiveCpuSummary,
    naiveAgreesWithIndex: agree,
    speedupOneQueryCpu: Math.round(naiveCpuSummary.p50 / ((fast[BASELINE_METHOD] as { warmCacheCpuMs: { p50: number } }).warmCacheCpuMs.p50)),
    allPairs,
    naiveAllPairs: { extrapolatedFromQueries: naiveMs.length, allPairsCpuSeconds: Math.round(naiveAllPairsSeconds), hours: Math.round((naiveAllPairsSeconds / 3600) * 10) / 10 },
    speedupAllPairsCpu: Math.round(naiveAllPairsSeconds / baselinePairs.allPairsCpuSeconds),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const dir = resolve(process.argv[2] ?? process.env.HARMONIA_DATA ?? '../shared/data');
  benchRetrieval(dir, { log: (s) => process.stderr.write(s + '\n') })
    .then((r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'))
    .catch((e: Error) => {
      process.stderr.write(`bench/retrieval: ${e.message}\n`);
      process.exit(1);
    });
}
