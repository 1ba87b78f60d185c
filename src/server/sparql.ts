import express, { type Request, type Response, type Router } from 'express';
import type { QueryKind } from '../query/index.js';
import type { ResultFormat } from '../store/index.js';
import { QueryFailure, type ProtocolDataset } from './answer.js';
import { writeAllowed } from './access.js';
import type { ServerContext } from './context.js';
import { QueryTimeout } from './executor.js';
import { BINDINGS, GRAPH, negotiateFormats, pick, SERVER_MEDIA, type ServerFormat } from './formats.js';
import { MAX_NESTING, nestingError } from './limits.js';

// The SPARQL 1.1 Protocol: query via GET, POST form or POST sparql-query; update via POST sparql-update
// or form, with a bearer token; results by content negotiation; a service description on bare GET.

/**
 * Picks one of the store's own formats from `?format=` or the Accept header; undefined when nothing
 * acceptable (for routes that pass the store's serialisation through, such as federation).
 */
export function negotiate(req: Request, kind: QueryKind): ResultFormat | undefined {
  const table = (kind === 'construct' || kind === 'describe' ? GRAPH : BINDINGS).filter(([, f]) => f !== 'rdfxml' && f !== 'trig');
  return pick(req, table) as ResultFormat | undefined;
}

export function sparqlRoutes(ctx: ServerContext): Router {
  const router = express.Router();
  const limit = ctx.config.maxBodyBytes;
  router.use('/sparql', express.text({ type: ['application/sparql-query', 'application/sparql-update'], limit }));
  router.use('/sparql', express.urlencoded({ extended: false, limit }));

  router.get('/sparql', async (req, res) => {
    const query = req.query.query;
    if (query === undefined) return serviceDescription(ctx, req, res);
    if (typeof query !== 'string') return void res.status(400).json({ error: 'give exactly one query parameter' });
    await answer(ctx, req, res, query, req.query);
  });

  router.post('/sparql', async (req, res) => {
    const type = req.is(['application/sparql-query', 'application/sparql-update', 'application/x-www-form-urlencoded']);
    if (!type) return void res.status(415).json({ error: 'POST a query as application/sparql-query or application/x-www-form-urlencoded (query=...), an update as application/sparql-update' });
    if (type === 'application/sparql-update') return update(ctx, req, res, String(req.body ?? ''));
    if (type === 'application/sparql-query') return answer(ctx, req, res, String(req.body ?? ''), req.query);
    const body = req.body as Record<string, unknown>;
    if (typeof body.update === 'string') return update(ctx, req, res, body.update);
    if (typeof body.query !== 'string') return void res.status(400).json({ error: 'form body needs a query (or update) field' });
    await answer(ctx, req, res, body.query, body);
  });
  return router;
}

/** default-graph-uri and named-graph-uri (each repeatable), from the query string or the form body. */
function protocolDataset(params: Record<string, unknown>): ProtocolDataset | string | undefined {
  const list = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);
  const defaultGraphs = list(params['default-graph-uri']);
  const namedGraphs = list(params['named-graph-uri']);
  if (!defaultGraphs.length && !namedGraphs.length) return undefined;
  const bad = [...defaultGraphs, ...namedGraphs].find((g) => !/^[a-z][a-z0-9+.-]*:[^\s<>"{}|^`\\]*$/i.test(g));
  if (bad !== undefined) return `default-graph-uri / named-graph-uri ${JSON.stringify(bad)} is not an absolute IRI`;
  return { defaultGraphs, namedGraphs };
}

async function answer(ctx: ServerContext, req: Request, res: Response, query: string, params: Record<string, unknown>): Promise<void> {
  res.locals.query = query;
  // Checked here, in one linear scan, because deep nesting makes parsers slow and traps Oxigraph.
  const deep = nestingError(query, ctx.config.maxNesting ?? MAX_NESTING);
  if (deep) return void res.status(400).json({ error: deep });
  const dataset = protocolDataset(params);
  if (typeof dataset === 'string') return void res.status(400).json({ error: dataset });
  try {
    // Parsing, format choice and evaluation all happen in the executor, inside the time limit.
    const a = await ctx.executor.run({ sparql: query, formats: negotiateFormats(req), ...(dataset ? { dataset } : {}) }, ctx.config.timeoutMs);
    if (a.prepared.cappedAt) res.set('X-Harmonia-Row-Limit', String(a.prepared.cappedAt));
    if (a.prepared.expandedPaths) res.set('X-Harmonia-Expanded-Paths', String(a.prepared.expandedPaths));
    res.locals.rows = a.rows;
    res.type(`${SERVER_MEDIA[a.format]}; charset=utf-8`).send(a.body);
  } catch (e) {
    if (e instanceof QueryTimeout) return void res.status(503).set('Retry-After', '5').json({ error: e.message });
    const status = e instanceof QueryFailure ? e.status : ((e as { status?: number }).status ?? 400);
    res.status(status).json({ error: (e as Error).message });
  }
}

async function update(ctx: ServerContext, req: Request, res: Response, sparql: string): Promise<void> {
  if (!writeAllowed(ctx, req, res, 'SPARQL Update')) return;
  res.locals.query = sparql;
  const deep = nestingError(sparql, ctx.config.maxNesting ?? MAX_NESTING);
  if (deep) return void res.status(400).json({ error: deep });
  try {
    await ctx.store.update(sparql);
  } catch (e) {
    return void res.status(e instanceof QueryTimeout ? 503 : 400).json({ error: (e as Error).message.split('\n')[0] });
  }
  await ctx.afterWrite();
  res.status(204).end();
}

const SD_FORMATS: Record<ServerFormat, string> = {
  json: 'SPARQL_Results_JSON', xml: 'SPARQL_Results_XML', csv: 'SPARQL_Results_CSV', tsv: 'SPARQL_Results_TSV',
  turtle: 'Turtle', ntriples: 'N-Triples', jsonld: 'JSON-LD', rdfxml: 'RDF_XML', nquads: 'N-Quads', trig: 'TriG',
};

/** The service description (Turtle by default, or any graph format the client accepts). */
async function serviceDescription(ctx: ServerContext, req: Request, res: Response): Promise<void> {
  const endpoint = `${ctx.config.publicUrl ?? `${req.protocol}://${req.get('host')}`}/sparql`;
  const formats = Object.values(SD_FORMATS).map((f) => `<http://www.w3.org/ns/formats/${f}>`).join(', ');
  // Only what this endpoint really does: SERVICE clauses to other endpoints are not evaluated here.
  const turtle = `@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
<${endpoint}#service> a sd:Service ;
  sd:endpoint <${endpoint}> ;
  sd:supportedLanguage sd:SPARQL11Query${ctx.config.updateToken ? ', sd:SPARQL11Update' : ''} ;
  sd:feature sd:UnionDefaultGraph ;
  sd:resultFormat ${formats} ;
  dcterms:description "Harmonia knowledge graph (HPO ${ctx.ontology.version}); the default graph is the union of all named graphs." .
`;
  const format = pick(req, GRAPH);
  if (!format) return void res.status(406).json({ error: `no acceptable format for the service description (Accept: ${req.headers.accept}); supported: ${[...new Set(GRAPH.map(([m]) => m))].join(', ')}` });
  if (format === 'turtle') return void res.type('text/turtle; charset=utf-8').send(turtle);
  const { default: oxigraph } = await import('oxigraph');
  const store = new oxigraph.Store();
  store.load(turtle, { format: 'text/turtle' });
  const body = format === 'jsonld'
    ? store.query('CONSTRUCT WHERE { ?s ?p ?o }', { results_format: SERVER_MEDIA.jsonld }) as string
    : store.dump({ format: SERVER_MEDIA[format], ...(format === 'nquads' || format === 'trig' ? {} : { from_graph_name: oxigraph.defaultGraph() }) });
  res.type(`${SERVER_MEDIA[format]}; charset=utf-8`).send(body);
}
