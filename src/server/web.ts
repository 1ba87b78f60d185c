import { existsSync } from 'node:fs';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { ServerContext } from './context.js';
import { webApiRoutes } from './web-api.js';

// The web interface: the bundle `npm run build:web` writes to web/dist, served at `/` by every
// Harmonia server, with its JSON helpers under /ui/. Everything is local: the page's policy
// lets it load scripts, styles and data from this origin only.

/** Scripts and data from this origin only; inline styles are allowed (the editor and charts set them). */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'; form-action 'self'";
/** Hashed bundle names change with their content: browsers may keep them for a year. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** web/dist of this checkout: the folder with package.json above this module (src/ or dist/src/). */
export function webDistDir(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) return join(from, 'web', 'dist');
    dir = up;
  }
  return join(dir, 'web', 'dist');
}

export function webRoutes(ctx: ServerContext, dist = webDistDir()): Router {
  const router = express.Router();
  router.use(webApiRoutes(ctx));
  router.use('/assets', gzipped(join(dist, 'assets')));
  router.use(express.static(dist, {
    index: 'index.html',
    // The page itself is revalidated on every load (ETag), so a rebuilt interface is picked up at once.
    setHeaders(res: Response, path: string) {
      res.set('Cache-Control', /[\\/]assets[\\/]/.test(path) ? IMMUTABLE : 'no-cache');
      if (path.endsWith('.html')) res.set({ 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'same-origin' });
    },
  }));
  router.get('/', (_req, res) => {
    res.status(503).json({ error: `the web interface is not built (no ${join(dist, 'index.html')}): run npm run build:web` });
  });
  return router;
}

/** The build's precompressed copy (<file>.gz) for clients that accept gzip: a third of the bytes. */
function gzipped(assets: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !req.acceptsEncodings('gzip')) return next();
    const file = resolve(assets, `.${req.path}`);
    if (!file.startsWith(assets + sep) || !existsSync(`${file}.gz`)) return next();
    res.set({ 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding', 'Cache-Control': IMMUTABLE });
    res.type(extname(file));
    res.sendFile(`${file}.gz`, (err) => {
      if (err && !res.headersSent) next();
    });
  };
}
