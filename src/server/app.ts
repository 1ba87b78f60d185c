import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { ServerContext } from './context.js';
import { sparqlRoutes } from './sparql.js';

/** Extra route groups (cohorts, retrieval) plug in here; each is a Router built from the context. */
export type RouteFactory = (ctx: ServerContext) => Router;

/** The HTTP app: small core, behaviour in middleware and route groups. */
export function createApp(ctx: ServerContext, extra: RouteFactory[] = []): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(cors(ctx));
  app.get('/health', async (_req, res) => {
    res.json({ status: 'ok', triples: await ctx.store.size(), hpoVersion: ctx.ontology.version });
  });
  app.use(sparqlRoutes(ctx));
  for (const f of extra) app.use(f(ctx));
  app.use((_req, res) => void res.status(404).json({ error: 'not found' }));
  app.use(errors);
  return app;
}

function cors(ctx: ServerContext) {
  const allowed = ctx.config.corsOrigins;
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.headers.origin;
    if (origin && (allowed === '*' || allowed.includes(origin))) {
      res.set('Access-Control-Allow-Origin', allowed === '*' ? '*' : origin);
      res.set('Vary', 'Origin');
      res.set('Access-Control-Allow-Headers', 'Content-Type, Accept, Authorization, X-Auth-Token');
      res.set('Access-Control-Allow-Methods', 'GET, POST, PUT, DELETE, OPTIONS');
      res.set('Access-Control-Expose-Headers', 'X-Harmonia-Row-Limit, X-Harmonia-Expanded-Paths');
    }
    if (req.method === 'OPTIONS') return void res.status(204).end();
    next();
  };
}

/** Body-parser and unexpected errors as JSON with the right status, never a stack trace. */
function errors(err: { status?: number; type?: string; message?: string; limit?: number }, _req: Request, res: Response, _next: NextFunction): void {
  if (err.type === 'entity.too.large') return void res.status(413).json({ error: `request body larger than the ${err.limit} byte limit` });
  const status = err.status && err.status >= 400 && err.status < 600 ? err.status : 500;
  res.status(status).json({ error: status === 500 ? 'internal error' : err.message });
  if (status === 500) process.stderr.write(`harmonia: ${err.message}\n`);
}
