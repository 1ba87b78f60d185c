import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureOntology, ingestPhenopackets } from '../../../src/ingest/index.js';
import { loadOntology } from '../../../src/ontology/index.js';
import { startServer, type RouteFactory, type RunningServer } from '../../../src/server/index.js';
import { OxigraphStore } from '../../../src/store/index.js';
import { fixtures } from '../../helpers/paths.js';

export const COHORT_FIXTURES = join(fixtures, 'cohort');

/**
 * Two sites built from the five cohort fixture patients: A holds P-A, P-B, P-C and B holds P-D, P-E,
 * each with the tiny HPO. Under HP:0001250 Seizure: A has P-A, P-B, P-C, B has P-E (its obsolete
 * HP:0000999 is replaced by HP:0001250); P-D's seizure is excluded.
 */
export async function buildSites(): Promise<{ work: string; dirs: { a: string; b: string }; cleanup(): void }> {
  const work = mkdtempSync(join(tmpdir(), 'harmonia-federation-'));
  const lines = readFileSync(join(COHORT_FIXTURES, 'patients.jsonl'), 'utf8').trim().split('\n');
  const parts = { a: lines.slice(0, 3), b: lines.slice(3) };
  const ontology = loadOntology(join(COHORT_FIXTURES, 'tiny.obo'));
  const dirs = { a: join(work, 'site-a'), b: join(work, 'site-b') };
  for (const key of ['a', 'b'] as const) {
    const file = join(work, `${key}.jsonl`);
    writeFileSync(file, parts[key].join('\n') + '\n');
    const store = await OxigraphStore.open(dirs[key], { create: true, write: true });
    await ensureOntology(store, ontology);
    const summary = await ingestPhenopackets(store, [file]);
    await store.close();
    if (summary.accepted !== parts[key].length) throw new Error(`site ${key}: ${JSON.stringify(summary.rejections)}`);
  }
  return { work, dirs, cleanup: () => rmSync(work, { recursive: true, force: true }) };
}

export function serveSite(dir: string, routes: RouteFactory[] = []): Promise<RunningServer> {
  return startServer(dir, { port: 0 }, routes);
}

/** A TCP server that accepts connections and never answers: a site that hangs. */
export async function silentSite(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((s) => void sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/sparql`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A port nothing listens on (bound, read and released). */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}/sparql`;
}

export const PREFIXES = `PREFIX hx: <https://w3id.org/harmonia/vocab#>
PREFIX obo: <http://purl.obolibrary.org/obo/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
`;

export const SEIZURE_COUNT = `${PREFIXES}SELECT (COUNT(DISTINCT ?p) AS ?patients) WHERE { ?p hx:hasPhenotype ?c . ?c rdfs:subClassOf* obo:HP_0001250 }`;
export const SEIZURE_IDS = `${PREFIXES}SELECT DISTINCT ?id WHERE { ?p hx:id ?id ; hx:hasPhenotype ?c . ?c rdfs:subClassOf* obo:HP_0001250 }`;
export const ALL_IDS = `${PREFIXES}SELECT ?id WHERE { ?p a hx:Patient ; hx:id ?id }`;

/** The ?id values of a SPARQL JSON answer, sorted. */
export function ids(body: string): string[] {
  const json = JSON.parse(body) as { results: { bindings: { id?: { value: string } }[] } };
  return json.results.bindings.map((b) => b.id!.value).sort();
}
