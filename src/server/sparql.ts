import express, { type Request, type Response, type Router } from 'express';
import { QueryError, type QueryKind } from '../query/index.js';
import { MEDIA_TYPES, type ResultFormat } from '../store/index.js';
import type { ServerContext } from './context.js';
import { QueryTimeout } from './executor.js';

// The SPARQL 1.1 Protocol: query via GET, POST form or POST sparql-query; update via POST sparql-update
// or form, with a bearer token; results by content negotiation; a service description on bare GET.

const BINDINGS: [string, ResultFormat][] = [
  ['application/sparql-results+json', 'json'],
  ['application/json', 'json'],
  ['application/sparql-results+xml', 'xml'],
  ['application/xml', 'xml'],
  ['text/csv', 'csv'],
  ['text/tab-separated-values', 'tsv'],
];
const GRAPH: [string, ResultFormat][] = [
  ['text/turtle', 'turtle'],
  ['application/n-triples', 'ntriples'],
  ['application/ld+json', 'jsonld'],
  ['application/n-quads', 'nquads'],
  ['application/json', 'jsonld'],
];
const SHORT: Record<string, ResultFormat> = { json: 'json', xml: 'xml', csv: 'csv', tsv: 'tsv', ttl: 'turtle', turtle: 'turtle', nt: 'ntriples', ntriples: 'ntriples', nq: 'nquads', jsonld: 'jsonld' };

/** Picks the serialisation from `?format=` or the Accept header; undefined when nothing acceptable. */
export function negotiate(req: Request, kind: QueryKind): ResultFormat | undefined {
  const table = kind === 'construct' || kind === 'describe' ? GRAPH : BINDINGS;
  if (typeof req.query.format === 'string') {
    // An explicit format is a demand: one we do not have (for this kind of query) is refused, never replaced.
    const explicit = SHORT[req.query.format];
    return explicit && table.some(([, f]) => f === explicit) ? explicit : undefined;
  }
  const accepted = req.accepts(table.map(([m]) => m));
  if (accepted) return table.find(([m]) => m === accepted)![1];
  return req.headers.accept ? undefined : table[0][1];
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
    await answer(ctx, req, res, query);
  });

  router.post('/sparql', async (req, res) => {
    const type = req.is(['application/sparql-query', 'application/sparql-update', 'application/x-www-form-urlencoded']);
    if (!type) return void res.status(415).json({ error: 'POST a query as application/sparql-query or application/x-www-form-urlencoded (query=...), an update as application/sparql-update' });
    if (type === 'application/sparql-update') return update(ctx, req, res, String(req.body ?? ''));
    if (type === 'application/sparql-query') return answer(ctx, req, res, String(req.body ?? ''));
    const body = req.body as Record<string, unknown>;
    if (typeof body.update === 'string') return update(ctx, req, res, body.update);
    if (typeof body.query !== 'string') return void res.status(400).json({ error: 'form body needs a query (or update) field' });
    await answer(ctx, req, res, body.query);
  });
  return router;
}

async function answer(ctx: ServerContext, req: Request, res: Response, query: string): Promise<void> {
  let kind: QueryKind;
  try {
    kind = ctx.engine.prepare(query).kind;
  } catch (e) {
    return void res.status(400).json({ error: (e as Error).message });
  }
  if (kind === 'update') return void res.status(400).json({ error: 'this is a SPARQL Update: POST it as application/sparql-update or as the form field update' });
  const format = negotiate(req, kind);
  if (!format) {
    const table = kind === 'construct' || kind === 'describe' ? GRAPH : BINDINGS;
    const asked = typeof req.query.format === 'string' ? `format=${req.query.format}` : `Accept: ${req.headers.accept}`;
    const formats = Object.entries(SHORT).filter(([, f]) => table.some(([, t]) => t === f)).map(([k]) => k);
    return void res.status(406).json({ error: `no acceptable result format for a ${kind.toUpperCase()} query (${asked}); supported: format=${formats.join('|')} or Accept: ${[...new Set(table.map(([m]) => m))].join(', ')}` });
  }
  try {
    const { prepared, result } = await ctx.executor.run(query, format, ctx.config.timeoutMs);
    if (prepared.cappedAt) res.set('X-Harmonia-Row-Limit', String(prepared.cappedAt));
    if (prepared.expandedPaths) res.set('X-Harmonia-Expanded-Paths', String(prepared.expandedPaths));
    res.type(MEDIA_TYPES[format] + '; charset=utf-8').send(result.body);
  } catch (e) {
    if (e instanceof QueryTimeout) return void res.status(503).json({ error: e.message });
    const status = (e as { status?: number }).status ?? (e instanceof QueryError ? e.status : 400);
    res.status(status).json({ error: (e as Error).message });
  }
}

async function update(ctx: ServerContext, req: Request, res: Response, sparql: string): Promise<void> {
  const token = ctx.config.updateToken;
  if (!token) return void res.status(403).json({ error: 'SPARQL Update is disabled on this server (start it with an update token to enable it)' });
  const auth = req.headers.authorization ?? '';
  if (auth !== `Bearer ${token}`) {
    res.set('WWW-Authenticate', 'Bearer realm="harmonia"');
    return void res.status(401).json({ error: 'SPARQL Update needs Authorization: Bearer <token>' });
  }
  try {
    await ctx.store.update(sparql);
    await ctx.afterWrite();
    res.status(204).end();
  } catch (e) {
    res.status(400).json({ error: (e as Error).message });
  }
}

function serviceDescription(ctx: ServerContext, req: Request, res: Response): void {
  const endpoint = `${ctx.config.publicUrl ?? `${req.protocol}://${req.get('host')}`}/sparql`;
  const formats = ['SPARQL_Results_JSON', 'SPARQL_Results_XML', 'SPARQL_Results_CSV', 'SPARQL_Results_TSV', 'Turtle', 'N-Triples', 'JSON-LD']
    .map((f) => `<http://www.w3.org/ns/formats/${f}>`)
    .join(', ');
  // Only what this endpoint really does: SERVICE clauses to other endpoints are not evaluated here.
  const body = `@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
[] a sd:Service ;
  sd:endpoint <${endpoint}> ;
  sd:supportedLanguage sd:SPARQL11Query${ctx.config.updateToken ? ', sd:SPARQL11Update' : ''} ;
  sd:feature sd:UnionDefaultGraph ;
  sd:resultFormat ${formats} ;
  dcterms:description "Harmonia knowledge graph (HPO ${ctx.ontology.version}); the default graph is the union of all named graphs." .
`;
  res.type('text/turtle; charset=utf-8').send(body);
}
