import { createRequire } from 'node:module';
import type { QueryEngine } from '@comunica/query-sparql';
import { MEDIA_TYPES, type ResultFormat } from '../store/index.js';

// Comunica 5 pulls in undici 8, which at load time binds two functions Node 22 added
// (zlib.createZstdDecompress, worker_threads.markAsUncloneable). On Node 20 that load throws before
// any query runs. Comunica uses undici only for its optional HTTP cache (off here: every request
// goes through Node's own fetch, which never asks for zstd), so stand-ins that are never called in
// that path let it load. Only missing functions are added; a Node that has them is left alone.
const require = createRequire(import.meta.url);

function shimNode20(): void {
  const zlib = require('node:zlib') as Record<string, unknown>;
  if (typeof zlib.createZstdDecompress !== 'function') {
    zlib.createZstdDecompress = () => {
      throw new Error('zstd decompression needs Node 22.15 or newer');
    };
  }
  const threads = require('node:worker_threads') as Record<string, unknown>;
  if (typeof threads.markAsUncloneable !== 'function') threads.markAsUncloneable = () => undefined;
}

let engine: Promise<QueryEngine> | undefined;

/** One Comunica engine per process (it is stateless between queries; building it costs ~0.5 s). */
export function comunica(): Promise<QueryEngine> {
  engine ??= (async () => {
    shimNode20();
    const { QueryEngine } = await import('@comunica/query-sparql');
    return new QueryEngine();
  })();
  return engine;
}

/** Comunica's context key for an AbortSignal on every HTTP request of a query (no shortcut name). */
export const ABORT_SIGNAL_KEY = '@comunica/bus-http:http-abort-controller';

/** Comunica registers its serialisers under the same W3C media types as the stores'. */
export const COMUNICA_MEDIA_TYPES: Record<ResultFormat, string> = MEDIA_TYPES;
