import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { KnnService } from '../../learn/knn.js';
import { QueryEngine } from '../../query/index.js';
import { isRemoteLocation, openStore, type ResultFormat } from '../../store/index.js';
import { CliError } from '../util.js';
import { collectOption, federatedQueryCommand } from './federate.js';

const FORMATS: Record<string, ResultFormat> = { json: 'json', csv: 'csv', tsv: 'tsv', xml: 'xml', ttl: 'turtle', nt: 'ntriples', jsonld: 'jsonld' };

export function register(program: Command): void {
  program
    .command('query')
    .description('run a SPARQL query on a store and print the results')
    .option('--store <dir|url>', 'store directory, or sparql+http(s)://host/path for a remote SPARQL store')
    .option('--federate <[name=]url>', 'also query this partner SPARQL endpoint (repeatable; docs/federation.md)', collectOption, [])
    .option('--suppress-below <n>', 'with --federate: per-site COUNT results below n are shown as "<n"', '5')
    .option('--site-timeout <ms>', 'with --federate: how long a site may take to answer', '10000')
    .option('--format <format>', 'json|csv|tsv|xml for SELECT/ASK (json: W3C SPARQL results JSON); ttl|nt|jsonld for CONSTRUCT/DESCRIBE')
    .option('--file <file>', 'read the query from a file')
    .option('--model <version>', 'model version for kNN SERVICE clauses (default: the last trained, else the only one embedded)')
    .argument('[query]', 'the SPARQL query')
    .action(async (query: string | undefined, opts) => {
      if (query && opts.file) throw new CliError('give the query or --file, not both');
      const sparql = opts.file ? readText(opts.file) : query;
      if (!sparql) throw new CliError('no query: give it as an argument or with --file');
      if (opts.federate.length) return federatedQueryCommand(sparql, opts);
      if (!opts.store) throw new CliError('give --store (or --federate URL)');
      const store = await openStore(opts.store);
      try {
        const knn = new KnnService({ store, storeDir: isRemoteLocation(opts.store) ? undefined : opts.store, version: opts.model });
        const engine = await QueryEngine.create(store, await store.ontology(), { services: [knn] });
        const kind = engine.prepare(sparql).kind;
        const graphQuery = kind === 'construct' || kind === 'describe';
        const name = opts.format ?? (graphQuery ? 'ttl' : 'json');
        const format = FORMATS[name];
        if (!format) throw new CliError(`--format ${name}: unknown format (json, csv, tsv, xml, ttl, nt, jsonld)`);
        if (graphQuery !== ['turtle', 'ntriples', 'jsonld'].includes(format)) {
          throw new CliError(`--format ${name} does not fit a ${kind.toUpperCase()} query (${graphQuery ? 'ttl, nt, jsonld' : 'json, csv, tsv, xml'})`);
        }
        const { result } = await engine.run(sparql, format);
        process.stdout.write(result.body.endsWith('\n') ? result.body : result.body + '\n');
      } finally {
        await store.close();
      }
    });
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}
