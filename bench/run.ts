import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FoundationResults } from './foundation.js';
import type { LoadResults } from './load.js';
import { loadGoals, renderLoad } from './load-render.js';
import type { RecordSizeRow } from './validate.js';

// `npm run bench`: each benchmark runs in its own process (so its peak RSS is its own), prints JSON;
// this collects them into docs/benchmarks.md with every number next to an anchor measured in the same run.

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const data = resolve(process.argv[2] ?? process.env.HARMONIA_DATA ?? join(root, '..', 'shared', 'data'));
if (!existsSync(join(data, 'ontologies'))) {
  process.stderr.write(`bench: data directory ${data} not found (give it as an argument or HARMONIA_DATA)\n`);
  process.exit(1);
}
const only = new Set(process.argv.slice(3));
// `--render` rewrites docs/benchmarks.md from the last results without measuring anything.
if (only.has('--render')) only.add('none');

function run(name: string, extra: string[] = []): Record<string, unknown> | undefined {
  const file = join(here, `${name}.js`);
  if (!existsSync(file) || (only.size && !only.has(name))) return undefined;
  process.stderr.write(`\n== bench ${name}\n`);
  const r = spawnSync(process.execPath, ['--max-old-space-size=12288', file, data, ...extra], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    process.stderr.write(`bench ${name} failed (exit ${r.status})\n`);
    return { failed: true, exit: r.status };
  }
  return JSON.parse(r.stdout);
}

// `npm run bench -- DATA NAME...` reruns only the named benchmarks and keeps the others' last results.
const latest = join(root, 'bench', 'results', 'latest.json');
const previous: Record<string, Record<string, unknown> | undefined> = only.size && existsSync(latest) ? JSON.parse(readFileSync(latest, 'utf8')) : {};
if (only.size && !existsSync(latest)) process.stderr.write(`bench: no earlier results in ${latest}: docs/benchmarks.md will hold only the benchmarks run now\n`);
const results: Record<string, Record<string, unknown> | undefined> = {};
for (const name of ['foundation', 'validate', 'retrieval', 'cohort']) results[name] = run(name) ?? previous[name];
// Modality readers, harmonizers and site effects: each reports { title, rows, peakRssMiB, notes }.
const TABLES = ['genomic', 'imaging', 'signals', 'combat', 'site-effects-signals', 'site-effects-expression', 'remote', 'learn', 'knn', 'load', 'federation', 'open'];
for (const name of TABLES) results[name] = run(name) ?? previous[name];
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(latest, JSON.stringify(results, null, 1));
writeFileSync(join(root, 'docs', 'benchmarks.md'), render(results));
process.stderr.write(`\nwrote docs/benchmarks.md and bench/results/latest.json\n`);

/** The issues' performance goals, each checked against this run's numbers. */
function goals(r: typeof results): string[] {
  const lines = ['## Against the goals', ''];
  const f = r.foundation as FoundationResults | undefined;
  if (f?.queries) {
    const worst = Math.max(...Object.values(f.queries).map((q) => q.httpP50));
    lines.push(`- Q1-Q4 under 50 ms p50 over HTTP at ${f.ingest.patients} patients: ${worst < 50 ? 'met' : 'not met'} (slowest p50 ${worst} ms).`);
  }
  const c = r.cohort as Record<string, any> | undefined;
  if (c?.dev?.http) {
    const all = Object.entries(c.dev.http as Record<string, { p50: number; members: number }>);
    const met = all.filter(([, t]) => t.p50 < 50).map(([n]) => n);
    const missed = all.filter(([, t]) => t.p50 >= 50).map(([n, t]) => `${n} ${t.p50} ms, ${t.members} members`);
    lines.push(`- Cohorts under 50 ms p50 over HTTP at ~7,400 patients: met for ${met.length} of ${all.length} definitions${missed.length ? `; not for ${missed.join('; ')} (large answers: most of the time is turning thousands of rows into JSON)` : ''}.`);
  }
  const rt = r.retrieval as Record<string, any> | undefined;
  if (rt?.oneQuery) {
    const entries = Object.entries(rt.oneQuery as Record<string, { warmCacheMs: { p50: number } }>);
    lines.push(`- One retrieval query against ${rt.patients} patients within 20 ms p50: ${entries.map(([m, x]) => `${m} ${x.warmCacheMs.p50} ms (${x.warmCacheMs.p50 <= 20 ? 'met' : 'not met'})`).join(', ')}.`);
  }
  const load = r.load as LoadResults | undefined;
  if (load?.mixed) lines.push(...loadGoals(load));
  const open = r.open as { patients?: number; serveReadySeconds?: number; serveReadyWithoutSnapshotSeconds?: number } | undefined;
  if (open?.serveReadySeconds !== undefined) {
    lines.push(`- \`harmonia serve\` ready within 5 s at ${open.patients} patients: ${open.serveReadySeconds <= 5 ? 'met' : 'not met'} (${open.serveReadySeconds} s from the heap snapshot; ${open.serveReadyWithoutSnapshotSeconds} s from the segment log).`);
  }
  return lines;
}

/** Check, mapping and validation of one record by its size: linear when the last ms-per-1k column stays flat. */
function recordSizeTable(rows: RecordSizeRow[] | undefined): string[] {
  if (!rows?.length) return [];
  const out = ['### Time by record size', '', 'One real phenopacket grown to n phenotypic features (its own features repeated, each with the next current HPO term), best of the runs; compiled SHACL engine.', ''];
  out.push('| features | triples | check | map | validate | map + validate per 1k features | runs | peak RSS |', '|---|---|---|---|---|---|---|---|');
  for (const r of rows) out.push(`| ${r.features} | ${r.triples} | ${r.checkMs} ms | ${r.mapMs} ms | ${r.validateMs} ms | ${r.mapValidateMsPer1k} ms | ${r.runs} | ${r.peakRssMiB} MiB |`);
  return [...out, ''];
}

function render(r: typeof results): string {
  const out: string[] = [];
  const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(1)}x` : 'n/a');
  out.push('# Benchmarks', '');
  out.push(`Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, data from \`${data}\`.`);
  out.push('Every number stands next to an anchor measured in the same run, on the same data and machine; read the ratios, not the absolute times, across machines. Peak RSS is per benchmark process.', '');
  const f = r.foundation as FoundationResults | undefined;
  out.push(...goals(r), '');
  if (f && !('failed' in f)) {
    out.push('## Foundation: HPO, ingest, reload, SPARQL', '');
    out.push('| measure | value | anchor (same run) | ratio |', '|---|---|---|---|');
    out.push(`| HPO 2024-04-26 load (OBO Graphs JSON, ${f.hpoTerms} terms) | ${f.hpoLoadMs} ms | | |`);
    out.push(`| ingest of ${f.ingest.patients} phenopackets end to end (read, check, map, SHACL, store, fsync) | ${f.ingest.seconds} s, ${f.ingest.patientsPerSecond} patients/s, ${f.ingest.triplesPerSecond} triples/s | N3.js parsing the same triples: ${f.n3ParseTriplesPerSecond} triples/s | ${(f.ingest.triplesPerSecond / f.n3ParseTriplesPerSecond).toFixed(3)} of raw parse speed |`);
    out.push(`| store reload from disk (${f.ingest.triples} triples) | ${f.reloadSeconds} s | | |`);
    out.push(`| peak RSS of the whole benchmark process | ${f.peakRssMiB} MiB | | |`, '');
    out.push('The foundation process holds the store three times at its peak (the benchmark\'s own copy, the server\'s, and the query worker\'s) plus the N3.js store and Comunica of the anchor; `harmonia serve` alone holds two copies (main thread and query worker).', '');
    out.push('Queries on the same store (median of 30 runs over HTTP with `text/csv`; 3 runs for the anchors). Anchor: Comunica over an N3.js store holding the same triples, in the same process run. "Plain path" is Oxigraph evaluating the property path itself, without our expansion.', '');
    out.push('Prepared queries (parse, path expansion, row cap) are cached by query text; "first prepare" is the one-off cost a query pays the first time it is seen.', '');
    out.push('| query | rows | HTTP p50 | HTTP p95 | in-process p50 | first prepare | plain path p50 | Comunica p50 | vs Comunica | plain path / ours (in process) |', '|---|---|---|---|---|---|---|---|---|---|');
    const names: Record<string, string> = { Q1: 'Q1 observed descendant of Seizure', Q2: 'Q2 Seizure subtree excluded', Q3: "Q3 one patient's phenotypes with labels", Q4: 'Q4 patients per disease' };
    for (const [k, q] of Object.entries(f.queries)) {
      out.push(`| ${names[k] ?? k} | ${q.rows} | ${q.httpP50} ms | ${q.httpP95} ms | ${q.inProcessP50} ms | ${q.firstPrepareMs ?? '-'} ms | ${q.plainPathP50} ms | ${q.comunicaP50} ms | ${ratio(q.comunicaP50, q.httpP50)} faster | ${ratio(q.plainPathP50, q.inProcessP50)} |`);
    }
    out.push('');
  }
  const v = r.validate as { compiledPerSecond: number; referencePerSecond: number; patients: number } | undefined;
  if (v && !('failed' in v)) {
    out.push('## SHACL validation', '');
    out.push('| engine | patients/s | ratio |', '|---|---|---|');
    out.push(`| compiled (ours, SHACL Core subset) | ${v.compiledPerSecond} | ${ratio(v.compiledPerSecond, v.referencePerSecond)} |`);
    out.push(`| rdf-validate-shacl (anchor) | ${v.referencePerSecond} | 1.0x |`, '', `${v.patients} real patients, batches of 1,000.`, '');
    out.push(...recordSizeTable((v as { recordSizes?: RecordSizeRow[] }).recordSizes));
  }
  const rt = r.retrieval as Record<string, any> | undefined;
  if (rt && !('failed' in rt)) {
    out.push('## Patient retrieval', '', 'See docs/retrieval.md for the method and quality tables. Anchor: a straightforward set-based Resnik best-match-average with no caches, same queries and patients.', '');
    out.push('| measure | value | anchor | ratio |', '|---|---|---|---|');
    for (const [m, x] of Object.entries(rt.oneQuery as Record<string, any>)) {
      out.push(`| one query vs ${rt.patients} patients, ${m}, warm cache | p50 ${x.warmCacheMs.p50} ms, p95 ${x.warmCacheMs.p95} ms (CPU p50 ${x.warmCacheCpuMs.p50} ms) | naive CPU p50 ${rt.naiveOneQueryCpuMs.p50} ms | ${ratio(rt.naiveOneQueryCpuMs.p50, x.warmCacheCpuMs.p50)} faster |`);
    }
    for (const [m, x] of Object.entries(rt.allPairs as Record<string, any>)) {
      const how = x.extrapolated ? `, extrapolated from ${x.measuredQueries} queries against all` : '';
      out.push(`| all pairs of ${rt.patients} patients, ${m} | ${x.allPairsSeconds} s (${x.allPairsCpuSeconds} s CPU${how}), ${x.pairsPerSecond} pairs/s | naive ~${rt.naiveAllPairs.hours} h CPU (extrapolated) | ${ratio(rt.naiveAllPairs.allPairsCpuSeconds, x.allPairsCpuSeconds)} faster |`);
    }
    out.push(`| index build | ${rt.indexBuildMs} ms | | |`, `| peak RSS | ${rt.peakRssMiB} MiB | | |`, '');
  }
  const c = r.cohort as Record<string, any> | undefined;
  if (c && !('failed' in c) && c.dev) {
    type T = { p50: number; p95: number; members: number };
    out.push('## Cohorts', '', 'See docs/cohorts.md for the definitions. p50 / p95 in ms; the anchor is the same definition on the ~7,400-patient store in the same run, so the last column is the cost of 13.5 times more patients.', '');
    out.push(`| definition | members (dev) | dev in process | dev HTTP | members (${c.large?.patients ?? '-'}) | large in process | large HTTP | large / dev (HTTP p50) |`, '|---|---|---|---|---|---|---|---|');
    const cell = (t?: T) => (t ? `${t.p50} / ${t.p95}` : '-');
    for (const name of Object.keys(c.dev.inProcess)) {
      const d = c.dev.inProcess[name] as T;
      const dh = c.dev.http?.[name] as T | undefined;
      const l = c.large?.inProcess?.[name] as T | undefined;
      const lh = c.large?.http?.[name] as T | undefined;
      out.push(`| ${name} | ${d.members} | ${cell(d)} | ${cell(dh)} | ${l?.members ?? '-'} | ${cell(l)} | ${cell(lh)} | ${dh && lh ? ratio(lh.p50, dh.p50) : '-'} |`);
    }
    out.push('', `Explain (example): ${cell(c.dev.explainExample)} ms; characterise (example): ${cell(c.dev.characteriseExample)} ms. Store open: ${c.dev.openSeconds} s (dev), ${c.large?.openSeconds ?? '-'} s (large; built in ${c.large?.buildSeconds ?? '-'} s as a slimmed replica, see docs/cohorts.md).`, '');
  }
  for (const name of TABLES) {
    const t = r[name] as { title?: string; rows?: { measure: string; value: string; anchor?: string; ratio?: string }[]; peakRssMiB?: number; notes?: string[]; failed?: boolean } | undefined;
    if (!t || t.failed || !t.rows) continue;
    // The load benchmark has tables of its own (levels, routes, both servers side by side).
    if (name === 'load') {
      out.push(...renderLoad(t as unknown as LoadResults));
      continue;
    }
    out.push(`## ${t.title ?? name}`, '', '| measure | value | anchor (same run) | ratio |', '|---|---|---|---|');
    for (const row of t.rows) out.push(`| ${row.measure} | ${row.value} | ${row.anchor ?? ''} | ${row.ratio ?? ''} |`);
    out.push('', `Peak RSS of the benchmark process: ${t.peakRssMiB ?? '-'} MiB.`, '');
    for (const n of t.notes ?? []) out.push(`- ${n}`);
    if (t.notes?.length) out.push('');
  }
  return out.join('\n') + '\n';
}
