import oxigraph from 'oxigraph';
import sparqljs from 'sparqljs';
import { QueryError, type PreparedQuery, type QueryEngine, type QueryKind } from '../query/index.js';
import { OxigraphStore, type GraphStore, type ResultFormat } from '../store/index.js';
import { isGraphKind, notAcceptable, SERVER_MEDIA, type FormatChoice, type ServerFormat } from './formats.js';
import { syntaxErrorLine } from './limits.js';

/** The RDF dataset named by the protocol (default-graph-uri, named-graph-uri); it overrides FROM in the query. */
export interface ProtocolDataset {
  defaultGraphs: string[];
  namedGraphs: string[];
}

/** One /sparql query as the executor gets it: text, acceptable formats, optional dataset. */
export interface QueryRequest {
  sparql: string;
  formats: FormatChoice;
  dataset?: ProtocolDataset;
}

export interface QueryAnswer {
  prepared: PreparedQuery;
  format: ServerFormat;
  body: string;
  /** Rows (SELECT) or triples (CONSTRUCT/DESCRIBE) in the answer, where the format makes that cheap to count. */
  rows?: number;
}

/** A query that failed with a definite HTTP status; `trapped` when the WASM instance is now unusable. */
export class QueryFailure extends Error {
  constructor(readonly status: number, message: string, readonly trapped = false) {
    super(message);
  }
}

const TRAP = /memory access out of bounds|unreachable|RuntimeError|Maximum call stack size exceeded|table index is out of bounds/;

/** True when an error comes from a trapped WASM instance (all its later calls would fail too). */
export function isTrap(e: unknown): boolean {
  return (e as Error)?.constructor?.name === 'RuntimeError' || TRAP.test(String((e as Error)?.message ?? e));
}

/**
 * Prepares and answers one query: the same steps in the query worker and in process. Queries
 * without a dataset of their own go through the QueryEngine (path expansion, row cap, SERVICE
 * providers); a dataset (FROM, FROM NAMED or the protocol's graph parameters) needs Oxigraph's
 * dataset options, since the engine's store answers over the union of all graphs.
 */
export async function answerQuery(engine: QueryEngine, store: GraphStore, request: QueryRequest): Promise<QueryAnswer> {
  try {
    return await answerChecked(engine, store, request);
  } catch (e) {
    if (e instanceof QueryFailure) throw e;
    const message = String((e as Error)?.message ?? e);
    if (isTrap(e)) throw new QueryFailure(422, `the query engine failed on this query (${message.split('\n')[0]}); the query worker is being replaced: simplify the query (fewer nested groups or operators)`, true);
    if (/syntax error|error at \d+:\d+|Parse error on line/.test(message)) throw new QueryFailure(400, syntaxErrorLine(request.sparql, message.replace(/^SPARQL syntax error: /, '')));
    throw new QueryFailure(e instanceof QueryError ? e.status : 400, message);
  }
}

async function answerChecked(engine: QueryEngine, store: GraphStore, request: QueryRequest): Promise<QueryAnswer> {
  const prepared = prepare(engine, request.sparql);
  if (prepared.kind === 'update') throw new QueryFailure(400, 'this is a SPARQL Update: POST it as application/sparql-update or as the form field update');
  const format = isGraphKind(prepared.kind) ? request.formats.graph : request.formats.bindings;
  if (!format) throw new QueryFailure(406, notAcceptable(prepared.kind, request.formats.asked));
  const dataset = request.dataset ?? queryDataset(request.sparql);
  let body: string;
  if (dataset && store instanceof OxigraphStore) {
    body = store.raw().query(await engine.storeText(prepared), datasetOptions(dataset, request.dataset !== undefined, format)) as string;
  } else {
    const text = request.dataset ? withDataset(prepared.sparql, request.dataset) : prepared.sparql;
    const base: ResultFormat = format === 'rdfxml' || format === 'trig' ? 'ntriples' : format;
    body = (await engine.run(text, base)).result.body;
    if (base !== format) body = rewriteGraph(body, format);
  }
  return { prepared, format, body, rows: countRows(body, format) };
}

/** The engine's preparation; a text sparqljs cannot parse is classified by its first keyword. */
function prepare(engine: QueryEngine, sparql: string): PreparedQuery {
  const prepared = engine.prepare(sparql);
  if (prepared.kind !== 'unknown') return prepared;
  const word = /\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b/i.exec(sparql.replace(/#[^\n]*|"[^"\n]*"|'[^'\n]*'|<[^>\s]*>/g, ' '))?.[1];
  return { ...prepared, kind: (word?.toLowerCase() ?? 'unknown') as QueryKind };
}

const parser = new sparqljs.Parser();

/** FROM / FROM NAMED of the query itself, when it has any (parsed, so a "FROM" in a literal does not count). */
function queryDataset(sparql: string): { own: true } | undefined {
  if (!/\bFROM\b/i.test(sparql)) return undefined;
  try {
    const from = (parser.parse(sparql) as { from?: { default: unknown[]; named: unknown[] } }).from;
    return from && (from.default.length || from.named.length) ? { own: true } : undefined;
  } catch {
    return { own: true };
  }
}

/**
 * Oxigraph's options for a dataset. Its union-default-graph option overrides FROM, so it is left off
 * here: the query's own FROM then applies. Protocol graphs are passed explicitly and override FROM,
 * as SPARQL 1.1 Protocol requires (no named graphs given means none; likewise the default graph).
 */
function datasetOptions(dataset: ProtocolDataset | { own: true }, fromProtocol: boolean, format: ServerFormat) {
  const options: Parameters<oxigraph.Store['query']>[1] = { results_format: SERVER_MEDIA[format] };
  if (fromProtocol) {
    const d = dataset as ProtocolDataset;
    options.default_graph = d.defaultGraphs.map((g) => oxigraph.namedNode(g));
    options.named_graphs = d.namedGraphs.map((g) => oxigraph.namedNode(g));
  }
  return options;
}

/** For a remote store: the protocol dataset written into the query as FROM / FROM NAMED clauses. */
function withDataset(sparql: string, dataset: ProtocolDataset): string {
  const parsed = parser.parse(sparql) as { from?: { default: unknown[]; named: unknown[] } };
  const iri = (g: string) => ({ termType: 'NamedNode', value: g });
  parsed.from = { default: dataset.defaultGraphs.map(iri), named: dataset.namedGraphs.map(iri) };
  return new sparqljs.Generator({}).stringify(parsed as never);
}

/** N-Triples re-serialised by Oxigraph as RDF/XML or TriG (formats the store seam does not offer). */
function rewriteGraph(ntriples: string, format: ServerFormat): string {
  const temp = new oxigraph.Store();
  temp.load(ntriples, { format: 'application/n-triples' });
  return temp.dump({ format: SERVER_MEDIA[format], from_graph_name: oxigraph.defaultGraph() });
}

function countRows(body: string, format: ServerFormat): number | undefined {
  if (format === 'ntriples' || format === 'nquads') return lines(body);
  if (format === 'csv' || format === 'tsv') return Math.max(0, lines(body) - 1);
  if (format === 'xml') return occurrences(body, '<result>');
  if (format === 'json' && body.length < 32 << 20) {
    const doc = JSON.parse(body) as { results?: { bindings: unknown[] } };
    return doc.results?.bindings.length;
  }
  return undefined;
}

function lines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

function occurrences(s: string, needle: string): number {
  let n = 0;
  for (let i = s.indexOf(needle); i >= 0; i = s.indexOf(needle, i + 1)) n++;
  return n;
}
