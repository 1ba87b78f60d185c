import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { CohortDefinitionError, compileCohort, evaluateCohort, parseDefinitionText, prepareCohort, validateDefinition } from '../cohort/index.js';
import { InputError } from '../model/errors.js';
import type { Ontology } from '../ontology/index.js';
import { QueryEngine } from '../query/index.js';
import {
  DEFAULT_SITE_TIMEOUT_MS,
  DEFAULT_SUPPRESS_BELOW,
  FederationError,
  checkThreshold,
  classifyFederated,
  countFailures,
  countsResult,
  failureWarning,
  federatedCohort,
  federatedCounts,
  federatedQuery,
  type FederatedCohort,
  type Site,
  type SiteFailure,
} from '../query/federation.js';
import { openStore, type GraphStore } from '../store/index.js';
import { createApp, type RouteFactory } from './app.js';
import { DEFAULT_CONFIG, type ServerContext } from './context.js';
import { InProcessExecutor } from './serve.js';
import { negotiate } from './sparql.js';

export interface FederationConfig {
  /** Partner SPARQL endpoints (their plain /sparql, never their federation endpoint). */
  partners: Site[];
  /** Counts below this are reported as "<N" (default 5). */
  suppressBelow?: number;
  /** How long a partner may take to answer, in milliseconds (default 10 s). */
  timeoutMs?: number;
  /** The name this store goes by in per-site answers (default "local"). */
  localName?: string;
}

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

/**
 * GET /federation (the configuration), GET|POST /federation/sparql (a query over the partners plus
 * this store: COUNT-only queries per site with small-cell suppression; row-level queries only when
 * every partner allows rows, otherwise 403), POST /federation/cohorts (per-site cohort counts).
 * Register with `startServer(dir, config, [..., federationRoutes(federation)])`.
 */
export function federationRoutes(config: FederationConfig): RouteFactory {
  const suppressBelow = checkThreshold(config.suppressBelow ?? DEFAULT_SUPPRESS_BELOW);
  const timeoutMs = config.timeoutMs ?? DEFAULT_SITE_TIMEOUT_MS;
  const localName = config.localName ?? 'local';
  if (config.partners.some((p) => p.name === localName)) throw new InputError(`a partner is named ${localName}, the name of this store: rename it`);
  return (ctx: ServerContext): Router => {
    const router = express.Router();
    const limit = ctx.config.maxBodyBytes;
    router.use('/federation', express.text({ type: ['application/sparql-query', ...YAML_TYPES], limit }), express.urlencoded({ extended: false, limit }), express.json({ limit }));
    const wrap = (h: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction): void => {
      h(req, res).catch((e: unknown) => sendError(res, e, next));
    };
    router.get('/federation', (_req, res) => {
      res.json({ local: localName, suppressBelow, timeoutMs, partners: config.partners.map((p) => ({ name: p.name, url: p.url, allowRows: p.allowRows === true })) });
    });
    const sparql = wrap(async (req, res) => {
      const query = queryOf(req);
      const local: Site = { name: localName, url: loopback(req), allowRows: true };
      await answerFederated(ctx, res, req, query, [local, ...config.partners], { suppressBelow, timeoutMs });
    });
    router.get('/federation/sparql', sparql);
    router.post('/federation/sparql', sparql);
    router.post('/federation/cohorts', wrap(async (req, res) => {
      const doc = typeof req.body === 'string' ? parseDefinitionText(req.body, 'yaml', 'request body') : req.body;
      const result = await cohortAcrossSites(doc, config.partners, { store: ctx.store, ontology: ctx.ontology, localName, suppressBelow, timeoutMs });
      warn(res, countFailures(result.sites), result.sites.filter((s) => s.status === 'ok').map((s) => s.site));
      res.json(result);
    }));
    return router;
  };
}

function queryOf(req: Request): string {
  const q = req.method === 'GET' ? req.query.query : typeof req.body === 'string' ? req.body : (req.body as Record<string, unknown> | undefined)?.query;
  if (typeof q !== 'string' || !q.trim()) throw new InputError('give one SPARQL query: ?query=, a form field query, or an application/sparql-query body');
  return q;
}

/** This server's own /sparql, reached the way the request reached us (no proxy in between). */
function loopback(req: Request): string {
  const address = req.socket.localAddress ?? '127.0.0.1';
  return `http://${address.includes(':') ? `[${address}]` : address}:${req.socket.localPort}/sparql`;
}

async function answerFederated(ctx: ServerContext, res: Response, req: Request, query: string, sites: Site[], opts: { suppressBelow: number; timeoutMs: number }): Promise<void> {
  const { kind } = classifyFederated(query);
  const format = negotiate(req, kind === 'graph' ? 'construct' : 'select');
  if (!format) return void res.status(406).json({ error: `no acceptable result format among: ${req.headers.accept}` });
  if (kind === 'counts') {
    const counts = await federatedCounts(query, sites, opts);
    warn(res, countFailures(counts.sites), counts.sites.filter((s) => s.status === 'ok').map((s) => s.site));
    const out = countsResult(counts, format);
    return void res.type(`${out.mediaType}; charset=utf-8`).send(out.body);
  }
  const closed = sites.filter((s) => !s.allowRows).map((s) => s.name);
  if (closed.length) {
    return void res.status(403).json({
      error: `row-level answers from ${closed.join(', ')} are not allowed: these partners share only aggregate counts, with counts below ${opts.suppressBelow} suppressed (small-cell suppression). Ask a COUNT query (SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE {...}, no GROUP BY) or POST /federation/cohorts.`,
      refusedSites: closed,
      suppressBelow: opts.suppressBelow,
    });
  }
  const answer = await federatedQuery(query, sites, { format, timeoutMs: opts.timeoutMs, maxRows: ctx.config.maxRows, ontology: ctx.ontology, ...(ctx.config.timeoutMs ? { deadlineMs: ctx.config.timeoutMs } : {}) });
  warn(res, answer.failures, answer.answered);
  if (answer.cappedAt) res.set('X-Harmonia-Row-Limit', String(answer.cappedAt));
  res.type(`${answer.mediaType}; charset=utf-8`).send(answer.body);
}

/** A partial answer says so in a header (bodies are W3C result formats with no room for it). */
function warn(res: Response, failures: SiteFailure[], answered: string[]): void {
  if (!failures.length) return;
  res.set('X-Harmonia-Federation-Warning', failureWarning(failures, answered).replace(/[^\x20-\x7e]/g, '?').slice(0, 2000));
}

function sendError(res: Response, e: unknown, next: NextFunction): void {
  if (e instanceof CohortDefinitionError) return void res.status(400).json({ error: e.message, issues: e.issues });
  if (e instanceof InputError) return void res.status(400).json({ error: e.message });
  if (e instanceof FederationError) return void res.status(502).json({ error: e.message, failures: e.failures });
  next(e);
}

export interface CohortAcrossSitesOptions {
  /** This side's store, evaluated in process as the site `localName`. */
  store?: GraphStore;
  /** This side's ontology: resolves the definition here and compiles it for plain SPARQL partners. */
  ontology?: Ontology;
  localName?: string;
  /** Whether this side's member ids appear in the answer (default false: an aggregate view). */
  localRows?: boolean;
  suppressBelow?: number;
  timeoutMs?: number;
}

/**
 * A cohort definition evaluated at every partner and, when a store is given, locally: the definition
 * is checked here first (schema; with an ontology also every term), so a bad definition is one 400
 * rather than one failure per site.
 */
export async function cohortAcrossSites(doc: unknown, partners: Site[], o: CohortAcrossSitesOptions): Promise<FederatedCohort> {
  const definition = validateDefinition(doc);
  const resolved = o.ontology ? prepareCohort(definition, o.ontology) : undefined;
  const store = o.store;
  const local = store && resolved
    ? {
        name: o.localName ?? 'local',
        allowRows: o.localRows === true,
        evaluate: async () => {
          const e = await evaluateCohort(store, o.ontology!, resolved);
          return { count: e.count, patients: e.patients };
        },
      }
    : undefined;
  return federatedCohort(definition, partners, {
    suppressBelow: o.suppressBelow,
    timeoutMs: o.timeoutMs,
    ...(resolved ? { compiled: compileCohort(resolved) } : {}),
    ...(local ? { local } : {}),
  });
}

export interface LocalEndpoint {
  /** The store's SPARQL endpoint on 127.0.0.1 (a free port). */
  url: string;
  store: GraphStore;
  ontology: Ontology;
  close(): Promise<void>;
}

/**
 * The local store as a SPARQL endpoint for Comunica, in this process: the same /sparql as `harmonia
 * serve` (ontology paths expanded), read-only, no row cap or time limit, without the second copy of
 * the store that serve's query worker loads.
 */
export async function startLocalEndpoint(location: string): Promise<LocalEndpoint> {
  const store = await openStore(location);
  const ontology = await store.ontology();
  if (!ontology) {
    await store.close();
    throw new InputError(`${location}: the store has no ontology yet; ingest with --hpo first`);
  }
  let context!: ServerContext;
  const engine = await QueryEngine.create(store, ontology);
  context = {
    store, ontology, engine,
    executor: new InProcessExecutor(() => context),
    config: { ...DEFAULT_CONFIG, port: 0, timeoutMs: 0 },
    async afterWrite() {},
  };
  const app = createApp(context);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/sparql`,
    store, ontology,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await store.close();
    },
  };
}
