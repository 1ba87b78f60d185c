import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isAlive, isRemoteLocation, SERVE_FILE } from '../store/index.js';
import { CliError } from './util.js';

// Read-only commands (query, cohort, similar, diagnose, stats) answered by a running `harmonia serve`
// instead of reopening the store (seconds to minutes): named with --endpoint URL, or found through the
// file serve leaves in the store directory.

/** What `harmonia serve` leaves in the store directory while it serves it. */
export interface ServeFile {
  url: string;
  pid: number;
  started: string;
  /** The server's --annotations and --gene-annotations (absolute): its similarity and ranking use them. */
  annotations?: string;
  geneAnnotations?: string;
}

/** Writes DIR/serve.json; the returned function removes it again (only while it is still ours). */
export function writeServeFile(dir: string, info: Omit<ServeFile, 'pid' | 'started'>): () => void {
  const file = join(dir, SERVE_FILE);
  const mine: ServeFile = { url: info.url, pid: process.pid, started: new Date().toISOString(), ...absolute(info) };
  writeFileSync(file, JSON.stringify(mine, null, 1) + '\n');
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    removed = true;
    if (readServeFile(dir)?.pid === process.pid) rmSync(file, { force: true });
  };
  process.once('exit', remove);
  return remove;
}

function absolute(info: Omit<ServeFile, 'pid' | 'started'>): Pick<ServeFile, 'annotations' | 'geneAnnotations'> {
  return {
    ...(info.annotations ? { annotations: resolve(info.annotations) } : {}),
    ...(info.geneAnnotations ? { geneAnnotations: resolve(info.geneAnnotations) } : {}),
  };
}

function readServeFile(dir: string): ServeFile | undefined {
  try {
    const f = JSON.parse(readFileSync(join(dir, SERVE_FILE), 'utf8')) as Partial<ServeFile>;
    return typeof f.url === 'string' && Number.isInteger(f.pid) ? (f as ServeFile) : undefined;
  } catch {
    return undefined;
  }
}

/** How long the check of a server's /health may take before the store is opened instead. */
const HEALTH_MS = 2000;

/** The server that holds this store directory: its serve.json names a live process whose /health answers ready. */
export async function liveServer(dir: string): Promise<ServeFile | undefined> {
  const f = readServeFile(dir);
  if (!f || !isAlive(f.pid)) return undefined;
  const health = await healthOf(f.url, HEALTH_MS).catch(() => undefined);
  return health && health.status !== 'unavailable' ? f : undefined;
}

interface Health {
  status: string;
  hpoVersion: string;
}

async function healthOf(base: string, ms: number): Promise<Health | undefined> {
  const r = await fetch(`${base}/health`, { signal: AbortSignal.timeout(ms) });
  if (!r.ok && r.status !== 503) return undefined;
  const body = (await r.json().catch(() => undefined)) as Partial<Health> | undefined;
  return typeof body?.status === 'string' && typeof body.hpoVersion === 'string' ? (body as Health) : undefined;
}

/** A server's refusal: its status and its own words (`error` of the JSON body). */
export class ServerError extends CliError {
  constructor(message: string, readonly status: number, readonly reason: string) {
    super(message);
  }
}

/** A running `harmonia serve`: its /sparql and the JSON routes of docs/server.md. */
export class HarmoniaServer {
  constructor(readonly base: string) {}

  get sparqlUrl(): string {
    return `${this.base}/sparql`;
  }

  async request(method: 'GET' | 'POST', path: string, body?: { form?: string; json?: unknown }, accept = 'application/json'): Promise<Response> {
    const url = `${this.base}${path}`;
    const headers: Record<string, string> = { accept };
    if (body?.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded; charset=utf-8';
    if (body?.json !== undefined) headers['content-type'] = 'application/json';
    const timeout = Number(process.env.HARMONIA_SPARQL_TIMEOUT_MS ?? 300_000);
    let r: Response;
    try {
      r = await fetch(url, { method, headers, body: body?.form ?? (body?.json !== undefined ? JSON.stringify(body.json) : undefined), signal: AbortSignal.timeout(timeout > 0 ? timeout : 300_000) });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      throw new CliError(`${url}: ${err.name === 'TimeoutError' ? `no answer within ${timeout} ms (HARMONIA_SPARQL_TIMEOUT_MS)` : `cannot reach the server (${err.cause?.code ?? err.message})`}`);
    }
    if (!r.ok) {
      const text = await r.text();
      let message = text.split('\n')[0]!.slice(0, 500);
      try {
        message = (JSON.parse(text) as { error?: string }).error ?? message;
      } catch {
        // not JSON: the first line as it is
      }
      throw new ServerError(`${url}: HTTP ${r.status}: ${message}`, r.status, message);
    }
    return r;
  }

  async json<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    return (await (await this.request(method, path, body === undefined ? undefined : { json: body })).json()) as T;
  }
}

/**
 * Where a read-only command gets its answers: a running harmonia server (`server`), a SPARQL endpoint
 * that is not one (`endpoint`: any SPARQL 1.1 server), or a store to open (`location`: a directory or
 * sparql+http(s):// URL).
 */
export type Target =
  | { kind: 'server'; server: HarmoniaServer }
  | { kind: 'endpoint'; url: string }
  | { kind: 'location'; location: string };

export interface TargetOptions {
  store?: string;
  endpoint?: string;
}

/**
 * `--store` or `--endpoint` of a read-only command. `unserved(served)` lists the options given that
 * the server's routes cannot answer (served: the store's serve.json, when asking its server): with
 * --endpoint they are an error, and with --store DIR the store is opened as without a server.
 * `why` ends the error: what the server's routes can do instead.
 */
export async function readTarget(command: string, opts: TargetOptions, unserved: (served?: ServeFile) => string[], why = ''): Promise<Target> {
  checkStoreOrEndpoint(opts);
  if (opts.endpoint !== undefined) {
    const url = endpointUrl(opts.endpoint);
    const server = await harmoniaServerAt(url);
    if (!server) return { kind: 'endpoint', url };
    const blocked = unserved();
    if (blocked.length) throw new CliError(`${command} --endpoint ${opts.endpoint}: ${blocked.join(', ')} ${blocked.length > 1 ? 'do' : 'does'} not combine with --endpoint (a harmonia server answers over its HTTP routes)${why ? `; ${why}` : ''}`);
    return { kind: 'server', server };
  }
  if (opts.store === undefined) throw new CliError(`${command}: give --store DIR (or sparql+http://host/path) or --endpoint URL`);
  if (isRemoteLocation(opts.store)) return { kind: 'location', location: opts.store };
  const served = await liveServer(opts.store);
  if (!served) return { kind: 'location', location: opts.store };
  const blocked = unserved(served);
  if (blocked.length) {
    process.stderr.write(`harmonia: ${opts.store} is served by process ${served.pid} at ${served.url}, whose routes cannot answer this (${blocked.join('; ')}): opening the store\n`);
    return { kind: 'location', location: opts.store };
  }
  process.stderr.write(`harmonia: ${opts.store} is served by process ${served.pid} at ${served.url} (${SERVE_FILE}): asking it instead of opening the store\n`);
  return { kind: 'server', server: new HarmoniaServer(served.url) };
}

/** --store and --endpoint together: refused before anything else is looked at. */
export function checkStoreOrEndpoint(opts: TargetOptions): void {
  if (opts.store !== undefined && opts.endpoint !== undefined) {
    throw new CliError(`give --store ${opts.store} or --endpoint ${opts.endpoint}, not both: --store opens a store (or asks the server that holds it), --endpoint asks a running SPARQL endpoint`);
  }
}

/** The store location of a target that is not a harmonia server: an endpoint is read as a remote Harmonia store. */
export function storeLocation(target: Exclude<Target, { kind: 'server' }>): string {
  return target.kind === 'endpoint' ? `sparql+${target.url}` : target.location;
}

/** `http(s)://host/path`, also written `sparql+http(s)://...` as --store takes it. */
export function endpointUrl(given: string): string {
  const url = given.replace(/^sparql\+/i, '');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`--endpoint ${given}: not a URL (give http://host:port/sparql)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new CliError(`--endpoint ${given}: expected an http:// or https:// URL`);
  return url;
}

/**
 * The harmonia server whose /sparql (or base URL) this is, told by its /health; undefined for any other
 * SPARQL endpoint. A URL that cannot be reached at all is an error here, named once.
 */
async function harmoniaServerAt(url: string): Promise<HarmoniaServer | undefined> {
  const base = url.replace(/\/+$/, '').replace(/\/sparql$/, '');
  try {
    return (await healthOf(base, 10_000)) ? new HarmoniaServer(base) : undefined;
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    if (err.name === 'TimeoutError') return undefined;
    if (err.cause?.code && /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|EAI_AGAIN/.test(err.cause.code)) throw new CliError(`--endpoint ${url}: cannot reach it (${err.cause.code})`);
    return undefined;
  }
}
