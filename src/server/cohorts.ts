import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { CohortDefinitionError, parseDefinitionText, type ExportFormat } from '../cohort/index.js';
import { writeAllowed } from './access.js';
import type { ServerContext } from './context.js';
import type { EvaluateOptions } from './jobs.js';
import { sendJobFailure } from './jobs-http.js';

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];
const FORMATS: ExportFormat[] = ['json', 'csv', 'zip'];

type Handler = (req: Request, res: Response) => Promise<void> | void;

/**
 * Cohort routes: POST /cohorts (evaluate), PUT/GET/DELETE /cohorts/{name} (saved definitions),
 * GET /cohorts, GET /cohorts/{name}/members[?format=json|csv|zip], /explain, /characterise,
 * POST /cohorts/compare. Register with `startServer(dir, config, [cohortRoutes])`.
 */
export function cohortRoutes(ctx: ServerContext): Router {
  const router = express.Router();
  const limit = ctx.config.maxBodyBytes;
  router.use('/cohorts', express.json({ limit }), express.text({ type: YAML_TYPES, limit }));
  // Parsing and checking the request stay here; evaluation, explanation, characterisation and export
  // are jobs where the store is (a query worker), so that none of them holds up another request.
  const job = ctx.executor.job.bind(ctx.executor);
  const ms = ctx.config.timeoutMs;
  const wrap = (h: Handler) => (req: Request, res: Response, next: NextFunction): void => {
    Promise.resolve().then(() => h(req, res)).catch((e: unknown) => sendJobFailure(res, e, next));
  };
  const options = (req: Request): EvaluateOptions => {
    const characterise = flag(req.query.characterise);
    return { explain: flag(req.query.explain), characterise, limit: characterise ? limitOf(req) : 25 };
  };

  router.post('/cohorts', wrap(async (req, res) => {
    // Federated callers ask for the count alone: member ids then never leave this site.
    res.json(await job('cohort.evaluate', { doc: body(req), countOnly: flag(req.query.countOnly), ...options(req) }, ms));
  }));
  router.post('/cohorts/compare', wrap(async (req, res) => {
    const { a, b } = (req.body ?? {}) as { a?: unknown; b?: unknown };
    if (a === undefined || b === undefined) throw new CohortDefinitionError([{ path: '', message: 'give {"a": ..., "b": ...}, each a saved cohort name or a definition' }]);
    res.json(await job('cohort.compare', { a, b, limit: limitOf(req) }, ms));
  }));
  router.get('/cohorts', wrap(async (_req, res) => {
    res.json({ cohorts: await job('cohort.list', undefined, ms) });
  }));
  router.put('/cohorts/:name', wrap(async (req, res) => {
    if (!writeAllowed(ctx, req, res, 'saving and deleting cohorts')) return;
    const doc = body(req) as { name?: unknown };
    if (doc && typeof doc === 'object' && doc.name !== req.params.name) {
      throw new CohortDefinitionError([{ path: '/name', message: `the definition is named ${JSON.stringify(doc.name)} but was PUT to /cohorts/${req.params.name}` }]);
    }
    const who = String(req.headers['x-harmonia-user'] ?? 'anonymous').slice(0, 200);
    const { existed, saved } = await job('cohort.save', { doc, createdBy: who }, ms);
    await ctx.afterWrite();
    res.status(existed ? 200 : 201).location(`/cohorts/${encodeURIComponent(saved.name)}`).json(saved);
  }));
  router.get('/cohorts/:name', wrap(async (req, res) => void res.json(await job('cohort.get', { name: String(req.params.name) }, ms))));
  router.delete('/cohorts/:name', wrap(async (req, res) => {
    if (!writeAllowed(ctx, req, res, 'saving and deleting cohorts')) return;
    if (!(await job('cohort.delete', { name: String(req.params.name) }, ms))) return void res.status(404).json({ error: `no saved cohort named ${req.params.name}` });
    await ctx.afterWrite();
    res.status(204).end();
  }));
  router.get('/cohorts/:name/members', wrap(async (req, res) => {
    const name = String(req.params.name);
    const format = req.query.format as string | undefined;
    if (format === undefined) return void res.json(await job('cohort.members', { name, ...options(req) }, ms));
    if (!FORMATS.includes(format as ExportFormat)) return void res.status(400).json({ error: `format must be one of ${FORMATS.join(', ')}` });
    const out = await job('cohort.export', { name, format: format as ExportFormat }, ms);
    if (out.rebuilt !== undefined) res.set('X-Harmonia-Rebuilt', String(out.rebuilt));
    // A zip comes back from the worker as a Uint8Array: sent as bytes, not as JSON.
    const bytes = typeof out.body === 'string' ? out.body : Buffer.from(out.body.buffer, out.body.byteOffset, out.body.byteLength);
    res.type(out.contentType).attachment(out.filename).send(bytes);
  }));
  router.get('/cohorts/:name/explain', wrap(async (req, res) => void res.json(await job('cohort.explain', { name: String(req.params.name) }, ms))));
  router.get('/cohorts/:name/characterise', wrap(async (req, res) => {
    res.json(await job('cohort.characterise', { name: String(req.params.name), limit: limitOf(req) }, ms));
  }));
  return router;
}

function flag(v: unknown): boolean {
  return v === '' || v === 'true' || v === '1';
}

/** `limit` (default 25, 1..1000); anything else is a 400, never a silent default. */
function limitOf(req: Request): number {
  if (req.query.limit === undefined) return 25;
  const n = Number(req.query.limit);
  if (Number.isInteger(n) && n > 0 && n <= 1000) return n;
  throw Object.assign(new Error(`limit ${JSON.stringify(req.query.limit)}: give a whole number from 1 to 1000`), { status: 400 });
}

/** JSON bodies arrive parsed; YAML bodies as text. */
function body(req: Request): unknown {
  if (typeof req.body === 'string') return parseDefinitionText(req.body, 'yaml', 'request body');
  if (req.body === undefined || (typeof req.body === 'object' && Object.keys(req.body as object).length === 0 && !req.is('application/json'))) {
    throw new CohortDefinitionError([{ path: '', message: 'send the cohort definition as application/json or application/yaml' }]);
  }
  return req.body;
}
