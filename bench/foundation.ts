import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueryEngine as ComunicaEngine } from '@comunica/query-sparql-rdfjs';
import { Parser, Store as N3Store } from 'n3';
import { ensureOntology, ingestPhenopackets } from '../src/ingest/index.js';
import { loadOntology } from '../src/ontology/index.js';
import { startServer } from '../src/server/index.js';
import { OxigraphStore } from '../src/store/index.js';
import { QueryEngine } from '../src/query/index.js';
import { peakRssMiB, round, timeRuns } from './util.js';

const PREFIXES = `PREFIX hx: <https://w3id.org/harmonia/vocab#>
PREFIX obo: <http://purl.obolibrary.org/obo/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
`;
export const QUERIES: Record<string, string> = {
  Q1: `${PREFIXES}SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p hx:hasPhenotype ?c . ?c rdfs:subClassOf* obo:HP_0001250 }`,
  Q2: `${PREFIXES}SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p hx:excludedPhenotype ?c . ?c rdfs:subClassOf* obo:HP_0001250 }`,
  Q3: `${PREFIXES}SELECT ?c ?label WHERE { ?p hx:id "PMID_23086397_Patient_4" ; hx:hasPhenotype ?c . ?c rdfs:label ?label }`,
  Q4: `${PREFIXES}SELECT ?d (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p hx:hasDisease ?d } GROUP BY ?d ORDER BY DESC(?n)`,
};

export interface FoundationResults {
  hpoLoadMs: number;
  hpoTerms: number;
  ingest: { patients: number; seconds: number; patientsPerSecond: number; triplesPerSecond: number; triples: number };
  reloadSeconds: number;
  n3ParseTriplesPerSecond: number;
  queries: Record<string, { httpP50: number; httpP95: number; inProcessP50: number; firstPrepareMs?: number; plainPathP50: number; comunicaP50: number; rows: string }>;
  peakRssMiB: number;
}

/** HPO load, end-to-end ingest, reload, and Q1-Q4 over HTTP against Comunica over an N3 store, one run. */
export async function benchFoundation(dataDir: string, log: (s: string) => void = () => {}): Promise<FoundationResults> {
  const hpoFile = join(dataDir, 'ontologies', 'hp.v2024-04-26.json.gz');
  const zip = join(dataDir, 'phenopackets', 'phenopacket-store-dev.zip');
  const dir = join(tmpdir(), `harmonia-bench-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  try {
    let t = performance.now();
    const ontology = loadOntology(hpoFile);
    const hpoLoadMs = round(performance.now() - t, 0);
    log(`HPO loaded in ${hpoLoadMs} ms\n`);

    const store = await OxigraphStore.open(dir, { create: true, write: true });
    await ensureOntology(store, ontology);
    t = performance.now();
    const s = await ingestPhenopackets(store, [zip]);
    const seconds = (performance.now() - t) / 1000;
    const ingest = { patients: s.accepted, seconds: round(seconds, 1), patientsPerSecond: round(s.accepted / seconds, 0), triplesPerSecond: round(s.triplesAdded / seconds, 0), triples: (await store.size()) };
    log(`ingest: ${JSON.stringify(ingest)}\n`);
    store.compact();
    const dump = store.raw().dump({ format: 'application/n-quads' });
    await store.close();

    t = performance.now();
    const reloaded = await OxigraphStore.open(dir);
    const reloadSeconds = round((performance.now() - t) / 1000, 1);
    log(`reload: ${reloadSeconds} s\n`);

    // The anchor: N3.js parsing the same data, and Comunica over an N3 store holding it.
    t = performance.now();
    const quads = new Parser({ format: 'N-Quads' }).parse(dump);
    const n3ParseTriplesPerSecond = round(quads.length / ((performance.now() - t) / 1000), 0);
    const n3 = new N3Store();
    // Comunica sees the default graph: put every triple there, as the union default graph shows them.
    for (const q of quads) n3.addQuad(q.subject, q.predicate, q.object);
    const comunica = new ComunicaEngine();

    const engine = await QueryEngine.create(reloaded, await reloaded.ontology());
    const server = await startServer(dir, { port: 0 });
    const queries: FoundationResults['queries'] = {};
    for (const [name, q] of Object.entries(QUERIES)) {
      const http = () => fetch(`${server.url}/sparql`, { method: 'POST', body: q, headers: { 'Content-Type': 'application/sparql-query', Accept: 'text/csv' } }).then((r) => r.text());
      const rows = (await http()).trim().split(/\r?\n/).length - 1;
      engine.clearCache();
      const t0 = performance.now();
      engine.prepare(q);
      const prepareMs = round(performance.now() - t0);
      const h = await timeRuns(30, http);
      const inProc = await timeRuns(30, () => engine.run(q, 'csv'));
      const plain = await timeRuns(3, () => reloaded.serialize(q, 'csv'));
      const com = await timeRuns(3, async () => (await comunica.queryBindings(q, { sources: [n3] })).toArray());
      queries[name] = { httpP50: h.p50, httpP95: h.p95, inProcessP50: inProc.p50, firstPrepareMs: prepareMs, plainPathP50: plain.p50, comunicaP50: com.p50, rows: String(rows) };
      log(`${name}: ${JSON.stringify(queries[name])}\n`);
    }
    await server.close();
    reloaded.close();
    return { hpoLoadMs, hpoTerms: ontology.size, ingest, reloadSeconds, n3ParseTriplesPerSecond, queries, peakRssMiB: peakRssMiB() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Also runnable alone: node dist/bench/foundation.js [DATA_DIR]
if (process.argv[1]?.endsWith('foundation.js')) {
  const data = process.argv[2] ?? process.env.HARMONIA_DATA ?? '../shared/data';
  console.log(JSON.stringify(await benchFoundation(data, (s) => process.stderr.write(s)), null, 1));
}
