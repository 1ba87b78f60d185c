import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { SOURCE_ROOTS_KEY } from '../ingest/source-paths.js';
import { cors } from './access.js';
import type { ServerContext } from './context.js';
import { graphStoreRoutes } from './graph-store.js';
import { accessLog, Metrics } from './observe.js';
import { sparqlRoutes } from './sparql.js';
import { webRoutes } from './web.js';

/** Extra route groups (cohorts, retrieval) plug in here; each is a Router built from the context. */
export type RouteFactory = (ctx: ServerContext) => Router;

/** The HTTP app: small core, behaviour in middleware and route groups. */
export function createApp(ctx: ServerContext, extra: RouteFactory[] = []): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  ctx.metrics ??= new Metrics();
  app.use(accessLog(ctx, ctx.metrics));
  app.use(cors(ctx));
  app.get('/health', (_req, res) => health(ctx, res));
  app.get('/stats', async (_req, res, next) => stats(ctx, res).catch(next));
  app.get('/metrics', async (_req, res, next) => metrics(ctx, res).catch(next));
  app.use(sparqlRoutes(ctx));
  app.use(graphStoreRoutes(ctx));
  for (const f of extra) app.use(f(ctx));
  app.use(webRoutes(ctx));
  app.use((_req, res) => void res.status(404).json({ error: 'not found' }));
  app.use(errors);
  return app;
}

/**
 * Cheap by design (load balancers call it often): no store access, only the state of the query
 * workers. 503 when no worker can answer; `degraded` while fewer than wanted are ready, e.g. after a
 * trapped worker, which lastTrap then describes.
 */
function health(ctx: ServerContext, res: Response): void {
  const workers = ctx.executor.health?.();
  const status = !workers ? 'ok' : workers.ready === 0 ? 'unavailable' : workers.ready < workers.size ? 'degraded' : 'ok';
  res.status(status === 'unavailable' ? 503 : 200).json({ status, hpoVersion: ctx.ontology.version, ...(workers ? { workers } : {}) });
}

/** Store counts, cached per store generation (counting scans the store). */
const counted = new WeakMap<ServerContext, { generation: string; triples: number }>();

async function storeSize(ctx: ServerContext): Promise<number> {
  const generation = await ctx.store.generation();
  const c = counted.get(ctx);
  if (c?.generation === generation) return c.triples;
  const triples = await ctx.store.size();
  counted.set(ctx, { generation, triples });
  return triples;
}

/** The quarantine's size: a served store knows it without a worker job, other stores count the entries. */
async function rejectedCount(store: ServerContext['store']): Promise<number> {
  const served = store as { rejected?: () => Promise<number> };
  return typeof served.rejected === 'function' ? served.rejected() : (await store.quarantine()).length;
}

async function stats(ctx: ServerContext, res: Response): Promise<void> {
  const [triples, all, generation, rejected] = await Promise.all([storeSize(ctx), ctx.store.meta(), ctx.store.generation(), rejectedCount(ctx.store)]);
  // Where the ingested files lie on this machine is no reader's business.
  const { [SOURCE_ROOTS_KEY]: _roots, ...meta } = all;
  // rejected: the quarantine's size, which `harmonia stats` shows when it asks this server.
  res.json({ triples, rejected, hpoVersion: ctx.ontology.version, generation, store: ctx.store.kind, meta, workers: ctx.executor.health?.() });
}

async function metrics(ctx: ServerContext, res: Response): Promise<void> {
  const w = ctx.executor.health?.();
  const extra: Parameters<Metrics['render']>[0] = [
    { name: 'harmonia_store_quads', help: 'Quads in the store.', type: 'gauge', samples: [['', await storeSize(ctx)]] },
  ];
  if (w) {
    extra.push(
      { name: 'harmonia_query_workers', help: 'Query workers by state.', type: 'gauge', samples: [['state="ready"', w.ready - w.busy], ['state="busy"', w.busy], ['state="starting"', w.starting]] },
      { name: 'harmonia_query_workers_wanted', help: 'Query workers configured.', type: 'gauge', samples: [['', w.size]] },
      { name: 'harmonia_query_queue', help: 'Queries waiting for a free worker.', type: 'gauge', samples: [['', w.queued]] },
      { name: 'harmonia_query_timeouts_total', help: 'Queries stopped at the time limit (running or waiting).', type: 'counter', samples: [['', w.timeouts]] },
      { name: 'harmonia_query_worker_restarts_total', help: 'Query workers replaced, by reason.', type: 'counter', samples: Object.entries(w.restarts).map(([k, v]) => [`reason="${k}"`, v]) },
      { name: 'harmonia_query_worker_refreshes_total', help: 'Writes applied to a query worker\'s copy in place, without a reload.', type: 'counter', samples: [['', w.refreshes]] },
    );
  }
  res.type('text/plain; version=0.0.4; charset=utf-8').send(ctx.metrics!.render(extra));
}

/** Body-parser and unexpected errors as JSON with the right status, never a stack trace. */
function errors(err: { status?: number; type?: string; message?: string; limit?: number }, _req: Request, res: Response, _next: NextFunction): void {
  if (err.type === 'entity.too.large') return void res.status(413).json({ error: `request body larger than the ${err.limit} byte limit` });
  const status = err.status && err.status >= 400 && err.status < 600 ? err.status : 500;
  res.status(status).json({ error: status === 500 ? 'internal error' : err.message });
  if (status === 500) process.stderr.write(`harmonia: ${err.message}\n`);
}
