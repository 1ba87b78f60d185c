import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import {
  buildDiagnosisContext, buildRetrievalContext, diagnose, loadGenesToPhenotype, loadHpoa, matchMme, MME_CONTENT_TYPE, MmeSchema,
  profileFromHpoList, profileFromPhenopacket, profilesFromStore, similar, diagnosisReportHtml, type DiagnosisContext, type RetrievalContext,
} from '../retrieve/index.js';
import { negotiateMme } from '../retrieve/mme.js';
import type { Phenopacket } from '../sources/index.js';
import type { ServerContext } from './context.js';

/**
 * Retrieval over HTTP: POST /match (Matchmaker Exchange v1.1 and v1.0), GET /patients/{id}/similar,
 * POST /diagnose. The patient index is built on first use and rebuilt when the store has changed.
 * /match validates with our own MME schema unless config.mmeSchema names another (read here, so
 * that a bad file stops the server from starting), and asks for an X-Auth-Token when
 * config.mmeTokens lists any.
 */
export function retrievalRoutes(ctx: ServerContext): Router {
  const router = express.Router();
  let cached: { generation: string; value: RetrievalContext } | undefined;
  let diagnosis: DiagnosisContext | undefined;
  const schema = ctx.config.mmeSchema ? MmeSchema.load(ctx.config.mmeSchema) : MmeSchema.default();
  const tokens = (ctx.config.mmeTokens ?? []).map(digest);

  const retrieval = async (): Promise<RetrievalContext> => {
    const generation = await ctx.store.generation();
    if (cached?.generation !== generation) {
      const annotations = ctx.config.annotations ? loadHpoa(ctx.config.annotations, ctx.ontology) : undefined;
      cached = { generation, value: buildRetrievalContext(ctx.ontology, await profilesFromStore(ctx.store), { annotations }) };
    }
    return cached.value;
  };
  const diagnosisContext = (): DiagnosisContext | undefined => {
    if (!diagnosis && ctx.config.annotations) {
      const genes = ctx.config.geneAnnotations ? loadGenesToPhenotype(ctx.config.geneAnnotations) : undefined;
      diagnosis = buildDiagnosisContext(ctx.ontology, loadHpoa(ctx.config.annotations, ctx.ontology), genes);
    }
    return diagnosis;
  };

  // Errors carry the API's `message` as well as the `error` every other route answers with.
  const mmeError = (res: Response, status: number, error: string, extra: Record<string, unknown> = {}): void =>
    void res.status(status).json({ error, message: error, ...extra });

  router.post('/match', express.text({ type: () => true, limit: ctx.config.maxBodyBytes }), async (req, res) => {
    if (tokens.length && !tokenAccepted(req.get('x-auth-token'), tokens)) {
      return mmeError(res, 401, 'missing or unrecognised X-Auth-Token');
    }
    const media = negotiateMme(req.get('content-type'));
    if (!media.ok) {
      // A 406 names our newest version in its Content-Type (res.json keeps it), so that the client can resubmit in it.
      if (media.status === 406) res.type(MME_CONTENT_TYPE);
      return mmeError(res, media.status, media.error, media.supportedVersions ? { supportedVersions: media.supportedVersions } : {});
    }
    let top: number;
    let body: unknown;
    try {
      top = intParam(req.query.top, 10);
    } catch (e) {
      return mmeError(res, 400, (e as Error).message);
    }
    try {
      body = JSON.parse(String(req.body ?? ''));
    } catch (e) {
      return mmeError(res, 400, `request body is not JSON: ${(e as Error).message}`);
    }
    const reply = matchMme(await retrieval(), schema, req.get('content-type'), body, { contact: ctx.config.contact, top });
    if (reply.status !== 200) return mmeError(res, reply.status, reply.body.error);
    res.status(200).type(media.responseType).send(JSON.stringify(reply.body));
  });

  router.get('/patients/:id/similar', async (req, res) => {
    const r = await retrieval();
    const i = r.index.indexOfPatient(req.params.id);
    if (i < 0) return void res.status(404).json({ error: `unknown patient '${req.params.id}'` });
    guard(res, () => similar(r, r.index.profiles[i], {
      top: intParam(req.query.top, 10),
      method: typeof req.query.method === 'string' ? req.query.method : undefined,
      excludeSamePublication: req.query.excludeSamePublication === 'true',
      explain: req.query.explain === 'true',
    }));
  });

  router.post('/diagnose', express.json({ limit: ctx.config.maxBodyBytes }), (req: Request, res: Response) => {
    const d = diagnosisContext();
    if (!d) return void res.status(503).json({ error: 'disease ranking is not configured: start the server with --annotations phenotype.hpoa' });
    const body = (req.body ?? {}) as { hpo?: unknown; phenopacket?: Phenopacket; top?: number; method?: string; genes?: boolean | string[]; rank?: string };
    const html = req.query.format === 'html';
    guard(res, () => {
      const { profile, issues } = body.phenopacket
        ? profileFromPhenopacket(body.phenopacket, ctx.ontology, 'phenopacket')
        : profileFromHpoList(Array.isArray(body.hpo) ? body.hpo.map(String) : String(body.hpo ?? '').split(',').filter(Boolean), ctx.ontology);
      // `genes`: true uses the phenopacket's causal genes; a list of symbols gives the genes to condition on.
      const listed = Array.isArray(body.genes) ? body.genes.map(String) : undefined;
      if (body.rank !== undefined && body.rank !== 'diseases' && body.rank !== 'genes') throw new Error(`rank must be "diseases" or "genes", got ${JSON.stringify(body.rank)}`);
      const answer = diagnose(d, profile, { top: body.top, method: body.method, genes: body.genes === true || !!listed?.length, evidenceGenes: listed, rank: body.rank }, issues);
      return html ? { html: diagnosisReportHtml([answer], { annotations: d.model.hpoa.file.split('/').pop() + ` (${d.model.hpoa.version})` }) } : answer;
    }, html);
  });
  return router;
}

/** SHA-256 of a token: equal-length buffers for a constant-time comparison. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** Is the X-Auth-Token one of the configured tokens (compared in constant time)? */
function tokenAccepted(header: string | undefined, tokens: Buffer[]): boolean {
  if (!header) return false;
  const given = digest(header);
  return tokens.some((t) => timingSafeEqual(t, given));
}

function guard(res: Response, fn: () => unknown, html = false): void {
  try {
    const value = fn();
    if (html) res.type('text/html').send((value as { html: string }).html);
    else res.json(value);
  } catch (e) {
    res.status(400).json({ error: (e as Error).message });
  }
}

/** Most results one request may ask for: answers stay small enough to send and to read. */
export const MAX_TOP = 1000;

/** A `top` parameter: the fallback when absent; 1..MAX_TOP, else a 400 with the reason (thrown into guard). */
function intParam(v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !/^\d+$/.test(v) || Number(v) < 1 || Number(v) > MAX_TOP) {
    throw Object.assign(new Error(`top must be a whole number from 1 to ${MAX_TOP}, got ${JSON.stringify(v)}`), { status: 400 });
  }
  return Number(v);
}
