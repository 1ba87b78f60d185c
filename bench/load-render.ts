import type { LoadResults, LoadRow } from './load.js';

// The "Server under load" section of docs/benchmarks.md from bench/load.ts's result (a module of its
// own: bench/run.ts imports it, and importing load.js would run the benchmark).

const ms = (x: number): string => (Number.isFinite(x) ? `${x} ms` : '-');
const ratio = (a: number, b: number): string => (b > 0 && Number.isFinite(a) && Number.isFinite(b) ? `${(a / b).toFixed(2)}x` : 'n/a');
const cells = (r: LoadRow): string => `${r.requests} | ${r.perSecond} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.errors}`;

/** The issues' latency goals (Q1-Q4 and cohorts under 50 ms p50 over HTTP) and "no errors", checked at each concurrency. */
export function loadGoals(r: LoadResults): string[] {
  const at = (rows: LoadRow[], pick: (row: LoadRow) => boolean): string =>
    r.levels.map((level) => {
      const worst = rows.filter((x) => x.level === level && pick(x)).reduce((a, x) => Math.max(a, x.p50), 0);
      return `${level}: ${worst < 50 ? 'met' : 'not met'} (slowest p50 ${worst} ms)`;
    }).join('; ');
  const sparqlRoutes = (x: LoadRow): boolean => x.route.startsWith('POST /sparql ');
  const errors = [...r.mixed, ...r.sparql.flatMap((p) => [p.harmonia, p.virtuoso])].filter((x) => x.route === 'all routes').reduce((a, x) => a + x.errors, 0);
  const served = r.mixed.filter((x) => x.route === 'all routes').reduce((a, x) => a + x.requests, 0) + r.sparql.filter((p) => p.route === 'all routes').reduce((a, p) => a + p.harmonia.requests + p.virtuoso.requests, 0);
  return [
    `- Under load, Q1-Q4 under 50 ms p50 over HTTP, by concurrency; SPARQL alone: ${at(r.sparql.map((p) => p.harmonia), sparqlRoutes)}. In the mixed workload: ${at(r.mixed, sparqlRoutes)}.`,
    `- Under load, cohorts under 50 ms p50 over HTTP (posted and saved definitions, mixed workload), by concurrency: ${at(r.mixed, (x) => x.route.includes('/cohorts'))}.`,
    `- No errors under load: ${errors === 0 ? 'met' : `NOT MET, ${errors} errors`} (${served} requests, both servers).`,
  ];
}

export function renderLoad(r: LoadResults): string[] {
  const out = [`## ${r.title}`, ''];
  out.push(`Measured by \`node dist/bench/load.js DATA\` on ${r.measured}: ${r.machine}, a shared machine. A real \`harmonia serve\` process (default settings: ${r.workers} query workers) on a store of the dev phenopackets built in the same run; concurrency ${r.levels.join(', ')}, ${r.secondsPerLevel} s per level and phase; closed loop (each client sends its next request when its previous one is answered). See the notes for the workload.`, '');
  out.push(...loadGoals(r), '');
  out.push('### Mixed workload, Harmonia', '', 'p50 and p99 over the successful answers; errors are counted, never retried.', '');
  out.push('| concurrency | route | requests | req/s | p50 | p99 | errors |', '|---|---|---|---|---|---|---|');
  for (const x of r.mixed) out.push(`| ${x.level} | ${x.route === 'all routes' ? '**all routes**' : x.route} | ${cells(x)} |`);
  out.push('', '### The SPARQL part alone: Harmonia beside Virtuoso', '', 'The same query text to both servers (Harmonia expands the `rdfs:subClassOf*` paths with its ontology; Virtuoso evaluates them), the same quads, measured back to back at each level. Ratio: Virtuoso / Harmonia, p50 and req/s.', '');
  out.push('| concurrency | query | Harmonia requests | req/s | p50 | p99 | errors | Virtuoso requests | req/s | p50 | p99 | errors | ratio p50 / req/s |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const p of r.sparql) out.push(`| ${p.level} | ${p.route === 'all routes' ? '**all four**' : p.route} | ${cells(p.harmonia)} | ${cells(p.virtuoso)} | ${ratio(p.virtuoso.p50, p.harmonia.p50)} / ${ratio(p.virtuoso.perSecond, p.harmonia.perSecond)} |`);
  out.push('', '### Resources per level', '', 'CPU in cores busy on average over the level (user + system time of the process / wall time; 2.0 is both cores); RSS the highest sampled every 250 ms during the level; the load generator is this benchmark process; "other processes" is the rest of the machine\'s busy time in /proc/stat (other jobs on the shared machine, and time the hypervisor took: steal).', '');
  out.push('| concurrency | phase | wall | server CPU | server RSS (highest) | load generator CPU | other processes CPU |', '|---|---|---|---|---|---|---|');
  for (const x of r.resources) out.push(`| ${x.level} | ${x.phase} | ${x.seconds} s | ${x.serverCpuCores} | ${x.serverRssMiB} MiB | ${x.clientCpuCores} | ${x.otherCpuCores} |`);
  out.push('', '| measure | value | anchor (same run) | ratio |', '|---|---|---|---|');
  for (const row of r.rows) out.push(`| ${row.measure} | ${row.value} | ${row.anchor ?? ''} | ${row.ratio ?? ''} |`);
  out.push('', `Peak RSS of the benchmark process (the load generator): ${r.peakRssMiB} MiB.`, '');
  for (const n of r.notes) out.push(`- ${n}`);
  return [...out, ''];
}
