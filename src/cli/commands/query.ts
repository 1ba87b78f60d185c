import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import sparqljs from 'sparqljs';
import { KnnService } from '../../learn/knn.js';
import { QueryEngine } from '../../query/index.js';
import { isRemoteLocation, MEDIA_TYPES, openEndpoint, openStore, type GraphStore, type ResultFormat } from '../../store/index.js';
import { checkStoreOrEndpoint, readTarget, type HarmoniaServer } from '../served.js';
import { CliError } from '../util.js';
import { collectOption, federatedQueryCommand } from './federate.js';

const FORMATS: Record<string, ResultFormat> = { json: 'json', csv: 'csv', tsv: 'tsv', xml: 'xml', ttl: 'turtle', nt: 'ntriples', jsonld: 'jsonld' };
const GRAPH_FORMATS: ResultFormat[] = ['turtle', 'ntriples', 'jsonld'];

export function register(program: Command): void {
  program
    .command('query')
    .description('run a SPARQL query on a store and print the results')
    .option('--store <dir|url>', 'store directory, or sparql+http(s)://host/path for a remote SPARQL store')
    .option('--endpoint <url>', 'ask this SPARQL 1.1 endpoint instead of opening a store: any server, or a `harmonia serve` (http://host:port/sparql)')
    .option('--federate <[name=]url>', 'also query this partner SPARQL endpoint (repeatable; docs/federation.md)', collectOption, [])
    .option('--suppress-below <n>', 'with --federate: per-site COUNT results below n are shown as "<n"', '5')
    .option('--site-timeout <ms>', 'with --federate: how long a site may take to answer', '10000')
    .option('--format <format>', 'json|csv|tsv|xml for SELECT/ASK (json: W3C SPARQL results JSON); ttl|nt|jsonld for CONSTRUCT/DESCRIBE')
    .option('--file <file>', 'read the query from a file')
    .option('--model <version>', 'model version for kNN SERVICE clauses (default: the last trained, else the only one embedded)')
    .argument('[query]', 'the SPARQL query')
    .action(async (query: string | undefined, opts) => {
      checkStoreOrEndpoint(opts);
      if (query && opts.file) throw new CliError('give the query or --file, not both');
      const sparql = opts.file ? readText(opts.file) : query;
      if (!sparql) throw new CliError('no query: give it as an argument or with --file');
      // Everything that can be checked without the store is checked before the (slow) open.
      if (opts.format !== undefined && !FORMATS[opts.format]) throw new CliError(`--format ${opts.format}: unknown format (json, csv, tsv, xml, ttl, nt, jsonld)`);
      const early = queryKind(sparql);
      if (early) formatFor(early, opts.format);
      if (opts.federate.length) {
        if (opts.endpoint !== undefined) throw new CliError('--federate and --endpoint do not combine: give the endpoint as one more --federate site (docs/federation.md)');
        return federatedQueryCommand(sparql, opts);
      }
      if (opts.store === undefined && opts.endpoint === undefined) throw new CliError('give --store, --endpoint URL or --federate URL');
      const target = await readTarget('query', opts, () => (opts.model ? ['--model'] : []), 'the server answers kNN clauses with its own models');
      if (target.kind === 'server') return queryServer(target.server, sparql, early, opts.format);
      const store = target.kind === 'endpoint' ? await openEndpoint(target.url) : await openStore(target.location);
      try {
        const engine = await engineFor(store, target.kind === 'endpoint' ? undefined : target.location, opts.model);
        const kind = engine.prepare(sparql).kind;
        const { result } = await engine.run(sparql, formatFor(kind, opts.format));
        process.stdout.write(result.body.endsWith('\n') ? result.body : result.body + '\n');
      } finally {
        await store.close();
      }
    });
}

/** A Harmonia store's engine (ontology path expansion, kNN clauses); a plain endpoint runs the text as given. */
async function engineFor(store: GraphStore, location: string | undefined, model: string | undefined): Promise<QueryEngine> {
  if (location === undefined) return QueryEngine.create(store, undefined);
  const knn = new KnnService({ store, storeDir: isRemoteLocation(location) ? undefined : location, version: model });
  return QueryEngine.create(store, await store.ontology(), { services: [knn] });
}

/**
 * The query form, read before any store is opened: a syntax error or an update fails at once. A text
 * sparqljs cannot parse but that names a query form is left to the store (it is stricter in places).
 */
function queryKind(sparql: string): string | undefined {
  let parsed: { type: string; queryType?: string };
  try {
    parsed = new sparqljs.Parser().parse(sparql) as never;
  } catch (e) {
    if (/\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b/i.test(sparql)) return undefined;
    // sparqljs says where on its first line and what it expected on its last.
    const lines = (e as Error).message.split('\n');
    throw new CliError(`SPARQL syntax error: ${lines[0]!.replace(/:$/, '')}${lines.length > 1 ? `: ${lines.at(-1)!.slice(0, 300)}` : ''}`);
  }
  if (parsed.type === 'update') throw new CliError('this is a SPARQL Update; harmonia query runs queries only (send updates to a server with --update-token)');
  return parsed.queryType?.toLowerCase();
}

/** The result format for this query form: --format when it fits, else the form's default (json, or ttl for graphs). */
function formatFor(kind: string, name: string | undefined): ResultFormat {
  const graphQuery = kind === 'construct' || kind === 'describe';
  const format = FORMATS[name ?? (graphQuery ? 'ttl' : 'json')]!;
  if (graphQuery !== GRAPH_FORMATS.includes(format)) {
    throw new CliError(`--format ${name} does not fit a ${kind.toUpperCase()} query (${graphQuery ? 'ttl, nt, jsonld' : 'json, csv, tsv, xml'})`);
  }
  return format;
}

/**
 * The query sent to a harmonia server's /sparql in the format asked for. The server caps SELECT rows
 * (serve --max-rows): an answer that reached the cap says so on stderr, since it may be cut short.
 */
async function queryServer(server: HarmoniaServer, sparql: string, kind: string | undefined, name: string | undefined): Promise<void> {
  const accept = kind ? MEDIA_TYPES[formatFor(kind, name)] : name ? MEDIA_TYPES[FORMATS[name]!] : `${MEDIA_TYPES.json}, ${MEDIA_TYPES.turtle};q=0.9`;
  const r = await server.request('POST', '/sparql', { form: `query=${encodeURIComponent(sparql)}` }, accept);
  const body = await r.text();
  process.stdout.write(body.endsWith('\n') ? body : body + '\n');
  const cap = Number(r.headers.get('x-harmonia-row-limit'));
  if (cap && rowsOf(body, r.headers.get('content-type') ?? '') >= cap) {
    process.stderr.write(`harmonia: the server at ${server.base} answers at most ${cap} rows (serve --max-rows): this answer may be cut short; add a LIMIT and OFFSET, or stop the server and query the store\n`);
  }
}

function rowsOf(body: string, type: string): number {
  if (/json/.test(type)) return ((JSON.parse(body) as { results?: { bindings?: unknown[] } }).results?.bindings ?? []).length;
  if (/csv|tab-separated/.test(type)) return Math.max(0, body.split(/\r?\n/).filter(Boolean).length - 1);
  if (/xml/.test(type)) return (body.match(/<result>/g) ?? []).length;
  return 0;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}
