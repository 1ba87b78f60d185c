import express, { type Request, type Response, type Router } from 'express';
import { DataFactory, type Quad } from 'n3';
import oxigraph from 'oxigraph';
import { writeAllowed } from './access.js';
import { QueryFailure } from './answer.js';
import type { ServerContext } from './context.js';
import { QueryTimeout } from './executor.js';
import { GRAPH, pick, SERVER_MEDIA } from './formats.js';

/** Media types an uploaded graph may have (Oxigraph parses them). */
const UPLOAD_TYPES: Record<string, string> = {
  'text/turtle': 'text/turtle',
  'application/n-triples': 'application/n-triples',
  'text/plain': 'application/n-triples',
  'application/rdf+xml': 'application/rdf+xml',
};

const IRI = /^[a-z][a-z0-9+.-]*:[^\s<>"{}|^`\\]*$/i;

/**
 * The SPARQL 1.1 Graph Store HTTP Protocol (indirect identification) at /store: `?graph=IRI` names
 * a graph, `?default` the default graph, which here is the union of all graphs, as for queries; so it
 * can be read but not written. GET reads through the query workers (time limit included); PUT, POST
 * and DELETE of a named graph need the bearer token and commit atomically.
 */
export function graphStoreRoutes(ctx: ServerContext): Router {
  const router = express.Router();
  const upload = express.raw({ type: () => true, limit: ctx.config.maxUploadBytes ?? 64 << 20 });

  router.get('/store', (req, res) => read(ctx, req, res));
  router.head('/store', (req, res) => read(ctx, req, res));
  router.put('/store', upload, (req, res) => write(ctx, req, res, 'replace'));
  router.post('/store', upload, (req, res) => write(ctx, req, res, 'merge'));
  router.delete('/store', (req, res) => write(ctx, req, res, 'delete'));
  return router;
}

type Target = { graph: string } | { default: true };

function target(req: Request, res: Response): Target | undefined {
  const { graph } = req.query;
  const dflt = req.query.default !== undefined;
  if (dflt && graph === undefined) return { default: true };
  if (typeof graph === 'string' && !dflt && IRI.test(graph)) return { graph };
  res.status(400).json({ error: 'name the graph: /store?graph=<absolute IRI> (URL-encoded) or /store?default, not both' });
  return undefined;
}

async function read(ctx: ServerContext, req: Request, res: Response): Promise<void> {
  const t = target(req, res);
  if (!t) return;
  const format = pick(req, GRAPH);
  if (!format) return void res.status(406).json({ error: `no acceptable RDF format (Accept: ${req.headers.accept}); supported: ${[...new Set(GRAPH.map(([m]) => m))].join(', ')}` });
  const where = 'graph' in t ? `GRAPH <${t.graph}> { ?s ?p ?o }` : '?s ?p ?o';
  const run = (sparql: string, f: typeof format) =>
    ctx.executor.run({ sparql, formats: { bindings: 'json', graph: f, asked: `Accept: ${req.headers.accept}` } }, ctx.config.timeoutMs);
  try {
    if ('graph' in t) {
      const exists = await run(`ASK { ${where} }`, format);
      if (!exists.body.includes('true')) return void res.status(404).json({ error: `no graph <${t.graph}> in this store` });
    }
    // A named graph as quads keeps its name: N-Triples with the graph appended, or a TriG block.
    const quads = 'graph' in t && (format === 'nquads' || format === 'trig');
    const a = await run(`CONSTRUCT { ?s ?p ?o } WHERE { ${where} }`, quads ? 'ntriples' : format);
    let body = a.body;
    if (quads && format === 'nquads') body = body.replace(/ \.\n/g, ` <${(t as { graph: string }).graph}> .\n`);
    if (quads && format === 'trig') body = `<${(t as { graph: string }).graph}> {\n${body}}\n`;
    res.locals.rows = a.rows;
    res.type(`${SERVER_MEDIA[format]}; charset=utf-8`).send(body);
  } catch (e) {
    if (e instanceof QueryTimeout) return void res.status(503).json({ error: `${e.message}; for the whole store use \`harmonia dump\`` });
    res.status(e instanceof QueryFailure ? e.status : 500).json({ error: (e as Error).message });
  }
}

async function write(ctx: ServerContext, req: Request, res: Response, mode: 'replace' | 'merge' | 'delete'): Promise<void> {
  const t = target(req, res);
  if (!t) return;
  if (!writeAllowed(ctx, req, res, 'writing graphs')) return;
  if (!('graph' in t)) {
    return void res.status(405).set('Allow', 'GET, HEAD').json({ error: 'the default graph is the union of all named graphs here: write a named graph (/store?graph=IRI)' });
  }
  const existing = await ctx.store.graphQuads(t.graph);
  if (mode === 'delete') {
    if (!existing.length) return void res.status(404).json({ error: `no graph <${t.graph}> in this store` });
    await commit(ctx, t.graph, []);
    return void res.status(204).end();
  }
  const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const media = UPLOAD_TYPES[type];
  if (!media) return void res.status(415).json({ error: `send the graph as one of ${Object.keys(UPLOAD_TYPES).join(', ')} (got ${type || 'no Content-Type'})` });
  let quads: Quad[];
  try {
    quads = parseGraph(Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '', media, t.graph);
  } catch (e) {
    return void res.status(400).json({ error: `the ${type} body does not parse: ${(e as Error).message.split('\n')[0]}` });
  }
  await commit(ctx, t.graph, mode === 'merge' ? [...existing, ...quads] : quads);
  res.status(existing.length ? 204 : 201).end();
}

/** The upload's triples, all put into `graph` (relative IRIs resolve against the graph's IRI). */
function parseGraph(text: string, media: string, graph: string): Quad[] {
  const parsed = oxigraph.parse(text, { format: media, base_iri: graph, to_graph_name: oxigraph.namedNode(graph) });
  return parsed.map((q) => DataFactory.fromQuad(q as never) as Quad);
}

async function commit(ctx: ServerContext, graph: string, quads: Quad[]): Promise<void> {
  await ctx.store.commit({ replace: new Map([[graph, quads]]), add: [], rejected: [], accepted: [] });
  await ctx.afterWrite();
}
