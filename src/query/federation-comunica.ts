import type { QueryEngine } from '@comunica/query-sparql';
import { MEDIA_TYPES, type ResultFormat } from '../store/index.js';

// Comunica 5's HTTP actor asks for undici 8, which needs Node 22.19 (it binds functions Node 22
// added when it loads); package.json overrides it with undici 7, which has every API the actor
// uses (Agent.compose, interceptors.cache, cacheStores) and runs on Node 20.

let engine: Promise<QueryEngine> | undefined;

/** One Comunica engine per process (it is stateless between queries; building it costs ~0.5 s). */
export function comunica(): Promise<QueryEngine> {
  engine ??= (async () => {
    const { QueryEngine } = await import('@comunica/query-sparql');
    return new QueryEngine();
  })();
  return engine;
}

/** Comunica's context key for an AbortSignal on every HTTP request of a query (no shortcut name). */
export const ABORT_SIGNAL_KEY = '@comunica/bus-http:http-abort-controller';

/** Comunica registers its serialisers under the same W3C media types as the stores'. */
export const COMUNICA_MEDIA_TYPES: Record<ResultFormat, string> = MEDIA_TYPES;
