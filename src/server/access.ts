import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { ServerContext } from './context.js';

/**
 * Who may do what. Reads are open (to other origins' pages only where --cors-origins lists them).
 * Writes need the bearer token; a server without one takes no writes; and a write from another
 * origin's page is refused unless --cors-write-origins lists that origin, token or not.
 */

const READ_METHODS = 'GET, HEAD, POST, OPTIONS';
const WRITE_METHODS = 'GET, HEAD, POST, PUT, DELETE, OPTIONS';
const READ_HEADERS = 'Content-Type, Accept, X-Auth-Token, X-Harmonia-User';

/** The CORS middleware: answers preflights itself, refusing those for writes from origins not configured. */
export function cors(ctx: ServerContext) {
  const readers = ctx.config.corsOrigins;
  const writers = ctx.config.corsWriteOrigins ?? [];
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.headers.origin;
    const cross = origin !== undefined && !sameOrigin(req, origin);
    const canRead = cross && (readers === '*' || readers.includes(origin!) || writers.includes(origin!));
    const canWrite = cross && writers.includes(origin!);
    if (canRead) {
      res.set('Access-Control-Allow-Origin', readers === '*' && !canWrite ? '*' : origin!);
      res.set('Vary', 'Origin');
      res.set('Access-Control-Allow-Headers', canWrite ? `${READ_HEADERS}, Authorization` : READ_HEADERS);
      res.set('Access-Control-Allow-Methods', canWrite ? WRITE_METHODS : READ_METHODS);
      res.set('Access-Control-Expose-Headers', 'X-Harmonia-Row-Limit, X-Harmonia-Expanded-Paths, X-Harmonia-Rebuilt');
    }
    if (req.method !== 'OPTIONS') return next();
    if (!cross) return void res.status(204).end();
    const method = String(req.headers['access-control-request-method'] ?? '').toUpperCase();
    const headers = String(req.headers['access-control-request-headers'] ?? '').toLowerCase();
    const writes = method === 'PUT' || method === 'DELETE' || headers.split(',').some((h) => h.trim() === 'authorization');
    if (!canRead) return void res.status(403).json({ error: `origin ${origin} is not allowed here (the server's --cors-origins does not list it)` });
    if (writes && !canWrite) return void res.status(403).json({ error: `origin ${origin} may read but not write here (the server's --cors-write-origins does not list it)` });
    res.set('Access-Control-Max-Age', '600');
    res.status(204).end();
  };
}

function sameOrigin(req: Request, origin: string): boolean {
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/**
 * Guards a write: 403 when writes are off or the request comes from another origin's page not allowed
 * to write, 401 without the right bearer token. Answers and returns false when the write may not go on.
 */
export function writeAllowed(ctx: ServerContext, req: Request, res: Response, what: string): boolean {
  const origin = req.headers.origin;
  if (origin !== undefined && !sameOrigin(req, origin) && !(ctx.config.corsWriteOrigins ?? []).includes(origin)) {
    res.status(403).json({ error: `${what} from a page of another origin (${origin}) is refused (list it with --cors-write-origins to allow it)` });
    return false;
  }
  const token = ctx.config.updateToken;
  if (!token) {
    res.status(403).json({ error: `${what} is disabled on this server (start it with --update-token or HARMONIA_UPDATE_TOKEN to enable writes)` });
    return false;
  }
  if (bearerMatches(req.headers.authorization, token)) return true;
  res.set('WWW-Authenticate', 'Bearer realm="harmonia"');
  res.status(401).json({ error: `${what} needs Authorization: Bearer <token>` });
  return false;
}

/** Constant-time comparison of digests, so that the token cannot be guessed from response times. */
function bearerMatches(header: string | undefined, token: string): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(header.slice(7)), digest(token));
}
