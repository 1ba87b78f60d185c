import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadHarmonizationConfig } from '../../harmonize/dispatch.js';
import { ensureOntology, ingestPhenopackets, ingestRecords } from '../../ingest/index.js';
import { loadOntology } from '../../ontology/index.js';
import { countDocuments, readManifest } from '../../sources/index.js';
import { isRemoteLocation, openStore } from '../../store/index.js';
import { writeDemoManifest } from './demo-records.js';
import { downloadReleases } from '../download.js';
import { arraysLocation, CliError, findHpo, progressLine, resolveDataDir, softwareName } from '../util.js';
import { progressText, recordProgressText } from './ingest.js';
import { int, serve } from './serve.js';

export const EXAMPLE_QUERIES: { title: string; sparql: string }[] = [
  {
    title: 'Patients with an observed Seizure or any descendant of it',
    sparql: `PREFIX hx: <https://w3id.org/harmonia/vocab#>
PREFIX obo: <http://purl.obolibrary.org/obo/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT (COUNT(DISTINCT ?p) AS ?patients) WHERE {
  ?p hx:hasPhenotype ?c .
  ?c rdfs:subClassOf* obo:HP_0001250 .
}`,
  },
  {
    title: 'The ten most frequent diagnoses',
    sparql: `PREFIX hx: <https://w3id.org/harmonia/vocab#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?disease ?label (COUNT(?p) AS ?patients) WHERE {
  ?p hx:hasDisease ?disease .
  OPTIONAL { ?disease rdfs:label ?label }
} GROUP BY ?disease ?label ORDER BY DESC(?patients) LIMIT 10`,
  },
  {
    title: "One patient's phenotypes with HPO labels and UMLS CUIs",
    sparql: `PREFIX hx: <https://w3id.org/harmonia/vocab#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?term ?label ?cui WHERE {
  ?p hx:id "PMID_23086397_Patient_4" ; hx:hasPhenotype ?term .
  ?term rdfs:label ?label .
  OPTIONAL { ?term hx:umlsCui ?cui }
}`,
  },
  {
    title: 'ECG records by RR irregularity, with their site and finding (atrial fibrillation is HP:0005110)',
    sparql: `PREFIX hx: <https://w3id.org/harmonia/vocab#>
SELECT ?patient ?site ?finding ?cvRR WHERE {
  ?p hx:id ?patient ; hx:hasRecord ?r .
  ?r hx:modality "ecg" ; hx:site ?site ; hx:feature [ hx:name "cvRR" ; hx:value ?cvRR ] .
  OPTIONAL { ?r hx:finding ?finding }
} ORDER BY DESC(?cvRR) LIMIT 10`,
  },
];

export function register(program: Command): void {
  program
    .command('demo')
    .description('build a store from the real HPO and phenopacket data, serve it, and print example queries')
    .option('--data <dir>', 'data directory (default: HARMONIA_DATA, else ../shared/data, else download the official releases)')
    .option('--store <dir|url>', 'store directory, or sparql+http(s)://host/path for a remote SPARQL store', '.harmonia/demo-store')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'port', '3000')
    .option('--no-serve', 'build the store and print the queries, without serving')
    .action(async (opts) => {
      const log = (s: string): void => void process.stderr.write(s);
      let dataDir = resolveDataDir(opts.data);
      if (!dataDir) {
        dataDir = resolve('.harmonia', 'downloads');
        log(`no local data directory (--data, HARMONIA_DATA, ../shared/data): downloading the official releases to ${dataDir}\n`);
        await downloadReleases(dataDir, log);
      }
      const hpo = findHpo(dataDir);
      if (!hpo) throw new CliError(`${dataDir}: no HPO file under ontologies/ (expected hp.json[.gz] or hp.obo[.gz])`);
      const sources = phenopacketSources(dataDir);
      if (sources.length === 0) throw new CliError(`${dataDir}: no phenopackets under phenopackets/`);
      log(`data: ${dataDir}\nstore: ${resolve(opts.store)}\n`);
      const store = await openStore(opts.store, { create: true, write: true });
      try {
        const ontology = loadOntology(hpo);
        if (await ensureOntology(store, ontology)) log(`loaded HPO ${ontology.version}: ${ontology.size} terms\n`);
        const progress = progressLine();
        const total = process.stderr.isTTY ? await countDocuments(sources) : undefined;
        const started = Date.now();
        const s = await ingestPhenopackets(store, sources, { onProgress: (p) => progress.update(progressText(p, total, started)) });
        progress.done();
        log(`phenopackets: ${s.accepted} added, ${s.unchanged} unchanged, ${s.rejected} rejected in ${s.seconds} s\n`);
        const manifest = isRemoteLocation(opts.store) ? undefined : writeDemoManifest(dataDir, join(resolve(opts.store), '..', 'demo-manifest.tsv'));
        if (manifest) {
          const { entries, problems } = readManifest(manifest);
          const started2 = Date.now();
          const r = await ingestRecords(store, entries, problems, {
            config: loadHarmonizationConfig(undefined, dataDir), ...arraysLocation(opts.store, false),
            software: softwareName(), onProgress: (p) => progress.update(recordProgressText(p, started2)),
          });
          progress.done();
          const kinds = Object.entries(r.records).map(([m, n]) => `${m} ${n}`).join(', ');
          log(`records (${manifest}): ${r.accepted} added${kinds ? ` (${kinds})` : ''}, ${r.unchanged} unchanged, ${r.rejected} rejected in ${r.seconds} s\n`);
        }
        log(`${await store.size()} triples in the store\n`);
      } finally {
        await store.close();
      }
      if (!opts.serve) {
        printQueries('http://127.0.0.1:3000');
        return;
      }
      const optional = (rel: string): string | undefined => (existsSync(join(dataDir!, rel)) ? join(dataDir!, rel) : undefined);
      // Writes (SPARQL Update, saved cohorts) need a bearer token: the demo makes one for this run.
      const updateToken = process.env.HARMONIA_UPDATE_TOKEN ?? randomBytes(18).toString('base64url');
      const running = await serve(opts.store, {
        updateToken,
        host: opts.host,
        port: int(opts.port, '--port'),
        annotations: optional('annotations/phenotype.hpoa.gz') ?? optional('annotations/phenotype.hpoa'),
        geneAnnotations: optional('annotations/genes_to_phenotype.txt.gz'),
      });
      process.stdout.write(`\nHarmonia demo: SPARQL endpoint at ${running.url}/sparql (Ctrl-C to stop)\n`);
      process.stdout.write(`Web interface (query editor, cohort builder, patients) at ${running.url}/\n`);
      process.stdout.write(`Writes (SPARQL Update, PUT/DELETE /cohorts/NAME) need: Authorization: Bearer ${updateToken}\n`);
      printQueries(running.url);
    });
}

function phenopacketSources(dataDir: string): string[] {
  const dir = join(dataDir, 'phenopackets');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => /\.(zip|jsonl|json)$/i.test(f)).sort().map((f) => join(dir, f));
}

function printQueries(url: string): void {
  const out = process.stdout;
  EXAMPLE_QUERIES.forEach((q, i) => {
    out.write(`\n# ${i + 1}. ${q.title}\n`);
    out.write(`curl -s ${url}/sparql -H 'Accept: text/csv' --data-urlencode query@- <<'SPARQL'\n${q.sparql}\nSPARQL\n`);
  });
}
