import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { CohortDefinitionError, CohortService, parseDefinitionText, toResult, type Evaluation, type ExportFormat } from '../cohort/index.js';
import { writeAllowed } from './access.js';
import type { ServerContext } from './context.js';

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
  const service = (): CohortService => new CohortService(ctx.store, ctx.ontology);
  const wrap = (h: Handler) => (req: Request, res: Response, next: NextFunction): void => {
    Promise.resolve().then(() => h(req, res)).catch((e: unknown) => sendError(res, e, next));
  };

  router.post('/cohorts', wrap(async (req, res) => {
    const s = service();
    const e = await s.evaluate(body(req));
    // Federated callers ask for the count alone: member ids then never leave this site.
    if (flag(req.query.countOnly)) return void res.json({ count: e.count, sparql: e.sparql });
    res.json(await answer(s, e, req));
  }));
  router.post('/cohorts/compare', wrap(async (req, res) => {
    const s = service();
    const { a, b } = (req.body ?? {}) as { a?: unknown; b?: unknown };
    if (a === undefined || b === undefined) throw new CohortDefinitionError([{ path: '', message: 'give {"a": ..., "b": ...}, each a saved cohort name or a definition' }]);
    const ea = await (typeof a === 'string' ? s.members(a) : s.evaluate(a));
    const eb = await (typeof b === 'string' ? s.members(b) : s.evaluate(b));
    res.json({ a: ea.cohort.definition.name, b: eb.cohort.definition.name, comparison: await s.compare(ea.patients, eb.patients, limitOf(req)) });
  }));
  router.get('/cohorts', wrap(async (_req, res) => {
    res.json({ cohorts: (await service().list()).map(({ definition, ...rest }) => ({ ...rest, description: definition.description })) });
  }));
  router.put('/cohorts/:name', wrap(async (req, res) => {
    if (!writeAllowed(ctx, req, res, 'saving and deleting cohorts')) return;
    const doc = body(req) as { name?: unknown };
    if (doc && typeof doc === 'object' && doc.name !== req.params.name) {
      throw new CohortDefinitionError([{ path: '/name', message: `the definition is named ${JSON.stringify(doc.name)} but was PUT to /cohorts/${req.params.name}` }]);
    }
    const s = service();
    const existed = (await s.list()).some((c) => c.name === req.params.name);
    const who = String(req.headers['x-harmonia-user'] ?? 'anonymous').slice(0, 200);
    const saved = await s.save(doc, who);
    await ctx.afterWrite();
    res.status(existed ? 200 : 201).location(`/cohorts/${encodeURIComponent(saved.name)}`).json(saved);
  }));
  router.get('/cohorts/:name', wrap(async (req, res) => void res.json(await service().get(String(req.params.name)))));
  router.delete('/cohorts/:name', wrap(async (req, res) => {
    if (!writeAllowed(ctx, req, res, 'saving and deleting cohorts')) return;
    if (!(await service().delete(String(req.params.name)))) return void res.status(404).json({ error: `no saved cohort named ${req.params.name}` });
    await ctx.afterWrite();
    res.status(204).end();
  }));
  router.get('/cohorts/:name/members', wrap(async (req, res) => {
    const s = service();
    const e = await s.members(String(req.params.name));
    const format = req.query.format as string | undefined;
    if (format === undefined) return void res.json(await answer(s, e, req));
    if (!FORMATS.includes(format as ExportFormat)) return void res.status(400).json({ error: `format must be one of ${FORMATS.join(', ')}` });
    const out = await s.export(e.cohort.definition.name, e.patients, format as ExportFormat);
    if (out.rebuilt !== undefined) res.set('X-Harmonia-Rebuilt', String(out.rebuilt));
    res.type(out.contentType).attachment(out.filename).send(out.body);
  }));
  router.get('/cohorts/:name/explain', wrap(async (req, res) => {
    const s = service();
    const e = await s.members(String(req.params.name));
    res.json({ ...toResult(e), explanations: await s.explain(e) });
  }));
  router.get('/cohorts/:name/characterise', wrap(async (req, res) => {
    const s = service();
    const e = await s.members(String(req.params.name));
    res.json({ name: e.cohort.definition.name, characterisation: await s.characterise(e.patients, limitOf(req)) });
  }));
  return router;
}

/** The evaluation answer: count, patients, sparql; warnings, explanations, characterisation on request. */
async function answer(s: CohortService, e: Evaluation, req: Request): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { ...toResult(e) };
  if (e.warnings.length) out.warnings = e.warnings;
  if (flag(req.query.explain)) out.explanations = await s.explain(e);
  if (flag(req.query.characterise)) out.characterisation = await s.characterise(e.patients, limitOf(req));
  return out;
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

function sendError(res: Response, e: unknown, next: NextFunction): void {
  if (e instanceof CohortDefinitionError) return void res.status(400).json({ error: e.message, issues: e.issues });
  const status = (e as { status?: number }).status;
  if (status === 404 || status === 400) return void res.status(status).json({ error: (e as Error).message });
  next(e);
}
