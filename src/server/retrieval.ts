import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { MME_CONTENT_TYPE, MmeSchema } from '../retrieve/index.js';
import { negotiateMme } from '../retrieve/mme.js';
import type { Phenopacket } from '../sources/index.js';
import type { ServerContext } from './context.js';
import { QueryTimeout } from './executor.js';
import { sendJobFailure } from './jobs-http.js';

/**
 * Retrieval over HTTP: POST /match (Matchmaker Exchange v1.1 and v1.0), GET /patients/{id}/similar,
 * POST /diagnose. Tokens, media types and parameters are checked here; the matching and ranking are
 * jobs where the store is (a query worker), whose patient index is built on first use and rebuilt
 * when the store has changed. /match validates with our own MME schema unless config.mmeSchema names
 * another (read here too, so that a bad file stops the server from starting), and asks for an
 * X-Auth-Token when config.mmeTokens lists any.
 */
export function retrievalRoutes(ctx: ServerContext): Router {
  const router = express.Router();
  if (ctx.config.mmeSchema) MmeSchema.load(ctx.config.mmeSchema);
  const tokens = (ctx.config.mmeTokens ?? []).map(digest);
  const job = ctx.executor.job.bind(ctx.executor);
  const ms = ctx.config.timeoutMs;

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
    let reply;
    try {
      reply = await job('retrieval.match', { contentType: req.get('content-type'), body, top }, ms);
    } catch (e) {
      const status = e instanceof QueryTimeout ? 503 : (e as { status?: number }).status ?? 500;
      return mmeError(res, status, status === 500 ? 'internal error' : (e as Error).message);
    }
    if (reply.status !== 200) return mmeError(res, reply.status, reply.body.error);
    res.status(200).type(media.responseType).send(JSON.stringify(reply.body));
  });

  router.get('/patients/:id/similar', (req: Request, res: Response, next: NextFunction) => {
    let top: number;
    try {
      top = intParam(req.query.top, 10);
    } catch (e) {
      return void res.status(400).json({ error: (e as Error).message });
    }
    const args = {
      id: String(req.params.id), top, method: typeof req.query.method === 'string' ? req.query.method : undefined,
      excludeSamePublication: req.query.excludeSamePublication === 'true', explain: req.query.explain === 'true',
    };
    job('retrieval.similar', args, ms).then((r) => void res.json(r), (e: unknown) => sendJobFailure(res, e, next));
  });

  router.post('/diagnose', express.json({ limit: ctx.config.maxBodyBytes }), (req: Request, res: Response, next: NextFunction) => {
    if (!ctx.config.annotations) return void res.status(503).json({ error: 'disease ranking is not configured: start the server with --annotations phenotype.hpoa' });
    const body = (req.body ?? {}) as { hpo?: unknown; phenopacket?: Phenopacket; top?: number; method?: string; genes?: boolean | string[]; rank?: string };
    const html = req.query.format === 'html';
    job('retrieval.diagnose', { body, html }, ms).then((out) => {
      if ('html' in out) res.type('text/html').send(out.html);
      else res.json(out.json);
    }, (e: unknown) => sendJobFailure(res, e, next));
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
