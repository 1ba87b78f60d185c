// Federation overhead: the same questions asked of two sites (the real dev phenopackets split in
// halves, each half its own harmonia server) and of one server holding all of them, over HTTP, in
// the same run. The anchor is always the one-store answer.
//
//   npm run build && node dist/bench/federation.js [DATA_DIR] [--runs N]
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureOntology, ingestPhenopackets } from '../src/ingest/index.js';
import { loadOntology } from '../src/ontology/index.js';
import { federatedCohort, federatedCounts, federatedQuery, type Site } from '../src/query/federation.js';
import { cohortRoutes } from '../src/server/cohorts.js';
import { federationRoutes } from '../src/server/federation.js';
import { startServer, type RunningServer } from '../src/server/index.js';
import { readJsonDocuments } from '../src/sources/index.js';
import { OxigraphStore } from '../src/store/index.js';
import { peakRssMiB, round, timeRuns } from './util.js';

const PREFIXES = `PREFIX hx: <https://w3id.org/harmonia/vocab#>
PREFIX obo: <http://purl.obolibrary.org/obo/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
`;
const COUNT = `${PREFIXES}SELECT (COUNT(DISTINCT ?p) AS ?patients) WHERE { ?p hx:hasPhenotype ?c . ?c rdfs:subClassOf* obo:HP_0001250 }`;
const IDS = `${PREFIXES}SELECT DISTINCT ?id WHERE { ?p hx:hasPhenotype ?c . ?c rdfs:subClassOf* obo:HP_0001250 . ?p hx:id ?id }`;
const COHORT = { name: 'seizure', criteria: { phenotype: { concept: 'HP:0001250', status: 'observed' } } };

interface Row {
  measure: string;
  value: string;
  anchor: string;
  ratio: string;
}

/** The dev phenopackets as one store and as two halves (alternate documents), cached in the temp dir. */
async function stores(data: string): Promise<{ all: string; halves: [string, string]; patients: number[] }> {
  const hpo = join(data, 'ontologies', 'hp.v2024-04-26.json.gz');
  const zip = join(data, 'phenopackets', 'phenopacket-store-dev.zip');
  const key = `${statSync(zip).size}-${Math.round(statSync(zip).mtimeMs)}`;
  const root = join(tmpdir(), `harmonia-bench-federation-${key}`);
  const dirs = { all: join(root, 'all'), a: join(root, 'half-a'), b: join(root, 'half-b') };
  const counts = join(root, 'patients.json');
  if (!existsSync(counts)) {
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    const halves: string[][] = [[], []];
    let i = 0;
    for await (const r of readJsonDocuments([zip])) if (r.json) halves[i++ % 2].push(JSON.stringify(r.json));
    const ontology = loadOntology(hpo);
    const patients: number[] = [];
    for (const [dir, files] of [[dirs.all, ['a', 'b']], [dirs.a, ['a']], [dirs.b, ['b']]] as const) {
      for (const f of files) writeFileSync(join(root, `${f}.jsonl`), halves[f === 'a' ? 0 : 1].join('\n') + '\n');
      const building = `${dir}.building`;
      const store = await OxigraphStore.open(building, { create: true, write: true });
      await ensureOntology(store, ontology);
      const s = await ingestPhenopackets(store, files.map((f) => join(root, `${f}.jsonl`)), { batchSize: 2000 });
      patients.push(s.accepted);
      store.compact();
      await store.close();
      renameSync(building, dir);
    }
    writeFileSync(counts, JSON.stringify(patients));
  }
  return { all: dirs.all, halves: [dirs.a, dirs.b], patients: JSON.parse(readFileSync(counts, 'utf8')) as number[] };
}

async function sparqlHttp(url: string, query: string): Promise<string> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/sparql-results+json' }, body: new URLSearchParams({ query }) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return res.text();
}

const count = (body: string): number => Number((JSON.parse(body) as { results: { bindings: { patients: { value: string } }[] } }).results.bindings[0].patients.value);
const rows = (body: string): number => (JSON.parse(body) as { results: { bindings: unknown[] } }).results.bindings.length;
const progress = (what: string): void => void process.stderr.write(`federation bench: ${what}\n`);
const ms = (x: number): string => `${round(x, 1)} ms`;
const ratio = (a: number, b: number): string => `${round(a / b, 2)}x`;

export async function benchFederation(data: string, runs: number): Promise<{ title: string; rows: Row[]; peakRssMiB: number; notes: string[] }> {
  const { all, halves, patients } = await stores(data);
  const notes: string[] = [`one store: ${patients[0]} patients; two sites: ${patients[1]} + ${patients[2]} (alternate phenopackets); p50 of ${runs} runs after one warm-up, all over HTTP on 127.0.0.1`];
  const out: Row[] = [];

  progress('one store');
  // The anchor first, alone, so that the single server has the machine to itself.
  const one = await startServer(all, { port: 0, maxRows: 100_000 }, [cohortRoutes]);
  let anchor: { count: number; ids: number; members: number; tCount: number; tIds: number; tCohort: number };
  try {
    const url = `${one.url}/sparql`;
    const c = count(await sparqlHttp(url, COUNT));
    const ids = rows(await sparqlHttp(url, IDS));
    const post = async (): Promise<number> => ((await (await fetch(`${one.url}/cohorts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(COHORT) })).json()) as { count: number }).count;
    const members = await post();
    anchor = {
      count: c, ids, members,
      tCount: (await timeRuns(runs, () => sparqlHttp(url, COUNT))).p50,
      tIds: (await timeRuns(runs, () => sparqlHttp(url, IDS))).p50,
      tCohort: (await timeRuns(runs, post)).p50,
    };
  } finally {
    await one.close();
  }

  const servers: RunningServer[] = [];
  try {
    const [a, b] = await Promise.all(halves.map((d) => startServer(d, { port: 0, maxRows: 100_000 }, [cohortRoutes])));
    servers.push(a, b);
    const sites: Site[] = [{ name: 'a', url: `${a.url}/sparql`, allowRows: true }, { name: 'b', url: `${b.url}/sparql`, allowRows: true }];
    const hub = await startServer(halves[0], { port: 0, maxRows: 100_000 }, [federationRoutes({ partners: [sites[1]], suppressBelow: 5 })]);
    servers.push(hub);

    progress('per-site counts');
    const perSite = await federatedCounts(COUNT, sites, { suppressBelow: 5 });
    const sum = perSite.total.patients;
    if (sum !== anchor.count) notes.push(`per-site counts sum to ${sum}, the one store counts ${anchor.count} (a patient in both halves would explain it; none expected)`);
    const tPerSite = (await timeRuns(runs, () => federatedCounts(COUNT, sites))).p50;
    out.push({ measure: `count under HP:0001250, two sites, per-site counts (${sum} = ${perSite.sites.map((s) => s.values.patients).join(' + ')})`, value: ms(tPerSite), anchor: `${ms(anchor.tCount)} one store (${anchor.count})`, ratio: ratio(tPerSite, anchor.tCount) });

    const hubUrl = `${hub.url}/federation/sparql`;
    await sparqlHttp(hubUrl, COUNT);
    const tHub = (await timeRuns(runs, () => sparqlHttp(hubUrl, COUNT))).p50;
    out.push({ measure: 'the same count through a server\'s /federation/sparql (local half + partner half)', value: ms(tHub), anchor: ms(anchor.tCount), ratio: ratio(tHub, anchor.tCount) });

    const cohort = await federatedCohort(COHORT, sites);
    const tCohort = (await timeRuns(runs, () => federatedCohort(COHORT, sites))).p50;
    out.push({ measure: `cohort "seizure" at two sites through their cohort APIs (${cohort.total})`, value: ms(tCohort), anchor: `${ms(anchor.tCohort)} POST /cohorts, one store (${anchor.members})`, ratio: ratio(tCohort, anchor.tCohort) });

    // A Comunica SELECT over both sites, as the CLI without --store runs it (Comunica walks the
    // subClassOf* path itself) and with this side's ontology expanding the path first (--store, and
    // the federating server). The slow one is timed once.
    progress('Comunica SELECT over two sites, path walked by Comunica');
    const t0 = performance.now();
    const walked = rows((await federatedQuery(IDS, sites, { format: 'json' })).body);
    const tWalked = performance.now() - t0;
    progress('Comunica SELECT over two sites, path expanded here');
    const ontology = hub.context.ontology;
    const expanded = rows((await federatedQuery(IDS, sites, { format: 'json', ontology })).body);
    for (const [what, n] of [['walked', walked], ['expanded', expanded]] as const) {
      if (n !== anchor.ids) notes.push(`the federated SELECT (${what}) returned ${n} ids, the one store ${anchor.ids}`);
    }
    const expandedRuns = Math.max(3, Math.round(runs / 5));
    const tExpanded = (await timeRuns(expandedRuns, () => federatedQuery(IDS, sites, { format: 'json', ontology }))).p50;
    out.push({ measure: `SELECT of the ${expanded} ids under HP:0001250, Comunica over two sites, path expanded with the local HPO (p50 of ${expandedRuns})`, value: ms(tExpanded), anchor: `${ms(anchor.tIds)} one store (${anchor.ids})`, ratio: ratio(tExpanded, anchor.tIds) });
    out.push({ measure: `the same SELECT, path walked by Comunica (no local store; one run)`, value: ms(tWalked), anchor: `${ms(anchor.tIds)} one store`, ratio: ratio(tWalked, anchor.tIds) });
    notes.push('All three servers run on this one machine, each half with its own query worker: per-site counts can beat the one store because the halves are counted in parallel on two cores; between real sites add the network round trip and the slowest site.');
    notes.push('Comunica evaluates a query over several sources itself: it asks each site for each triple pattern (here every hx:hasPhenotype triple of both sites) and joins them here, and without a local ontology it walks the subClassOf* path with one request per class and site; per-site counts send the whole query to each site, so their overhead is the probe, one round trip and the slower site.');
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
  return { title: 'Federation: two sites against one store', rows: out, peakRssMiB: peakRssMiB(), notes };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 20;
  const data = resolve(args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--runs') ?? process.env.HARMONIA_DATA ?? '../shared/data');
  if (!existsSync(join(data, 'phenopackets', 'phenopacket-store-dev.zip'))) {
    process.stderr.write(`${data}: no phenopackets/phenopacket-store-dev.zip; give the data directory\n`);
    process.exit(1);
  }
  process.stdout.write(JSON.stringify(await benchFederation(data, runs)) + '\n');
}
