import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';

/** HTTP credentials of a remote store: a bearer token, or a user and password (Basic or Digest, as the server asks). */
export type Credentials = { token: string } | { user: string; password: string };

/** Connection failures worth one more try: the socket closed under a reused keep-alive connection. */
const RESENDABLE = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED']);
const SEND_ATTEMPTS = 3;

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

/**
 * undici, behind Node's fetch, stops waiting for a server's headers (and between body chunks) after
 * 300 s whatever the request's signal allows: a longer limit goes through node:http instead (longFetch).
 */
const FETCH_WAIT_LIMIT_MS = 300_000;

/** fetch's options, and a time limit of this request's own (the client's otherwise). */
export type StoreRequest = RequestInit & { headers: Record<string, string>; timeoutMs?: number };

/**
 * fetch with the store's credentials, a time limit, and one clear error per failure (the URL, what
 * was being done, the status and the server's first line), never a raw stack trace. Digest
 * authentication (Virtuoso's /sparql-auth asks for it) is answered after the server's challenge.
 */
export class HttpClient {
  private digest?: { realm: string; nonce: string; qop?: string; opaque?: string; algorithm?: string; count: number };

  constructor(
    private readonly credentials: Credentials | undefined,
    private readonly timeoutMs: number,
  ) {}

  async request(url: string, init: StoreRequest, what: string): Promise<Response> {
    let r = await this.send(url, init, what);
    if (r.status === 401 && this.credentials && 'user' in this.credentials) {
      let challenge = r.headers.get('www-authenticate') ?? '';
      if (!/^Digest /i.test(challenge) && !this.digest) {
        // Virtuoso answers Basic credentials with a bare 401 and no challenge: asked with none, it
        // sends its Digest challenge (and a server that needs none answers, once: nothing was done before).
        await r.body?.cancel();
        r = await this.send(url, init, what, false);
        challenge = r.status === 401 ? r.headers.get('www-authenticate') ?? '' : '';
      }
      if (/^Digest /i.test(challenge)) {
        await r.body?.cancel();
        this.digest = { ...parseChallenge(challenge), count: 0 };
        r = await this.send(url, init, what);
      }
    }
    if (!r.ok) {
      // Servers answer errors in HTML too (Virtuoso's deadlock page): keep the words, not the markup.
      const body = await r.text();
      const plain = /<html|<!doctype/i.test(body) ? body.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]+>/g, ' ') : body;
      const text = plain.split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 4).join(' ').replace(/\s+/g, ' ').slice(0, 500);
      const hint = r.status === 401 || r.status === 403 ? ' (set HARMONIA_SPARQL_USER and HARMONIA_SPARQL_PASSWORD, or HARMONIA_SPARQL_TOKEN, and check the user may write)' : '';
      throw new Error(`${url}: ${what} failed with HTTP ${r.status}${text ? `: ${text}` : ''}${hint}`);
    }
    if (/^S1TAT$/i.test(r.headers.get('x-sql-state') ?? '')) {
      // Virtuoso's "anytime" answer: the rows found before its time limit, sent as a success.
      await r.body?.cancel();
      throw new Error(`${url}: ${what} was stopped by the server's time limit and answered in part (X-SQL-State S1TAT${r.headers.get('x-sql-message') ? `: ${r.headers.get('x-sql-message')}` : ''}); raise MaxQueryExecutionTime in its [SPARQL] settings`);
    }
    return r;
  }

  private async send(url: string, request: StoreRequest, what: string, authorize = true): Promise<Response> {
    const { timeoutMs, ...init } = request;
    const limit = timeoutMs ?? this.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const headers = { ...init.headers, ...(authorize ? this.authorization(init.method ?? 'GET', url) : {}) };
      try {
        if (limit > FETCH_WAIT_LIMIT_MS) return await longFetch(url, { ...init, headers }, limit);
        return await fetch(url, { ...init, headers, signal: AbortSignal.timeout(limit) });
      } catch (e) {
        const err = e as Error & { code?: string; cause?: { code?: string; message?: string } };
        if (err.name === 'TimeoutError') throw new Error(`${url}: ${what} took longer than ${limit} ms${timeoutMs === undefined ? ' (HARMONIA_SPARQL_TIMEOUT_MS)' : ''}`);
        const code = err.cause?.code ?? err.code ?? '';
        // A kept-alive connection the server closed just as it was reused fails before the server saw the
        // request; every request we send is a query or an idempotent graph write, so sending it again is safe.
        if (attempt < SEND_ATTEMPTS && RESENDABLE.has(code) && typeof init.body !== 'object') {
          await new Promise((r) => setTimeout(r, 100 * attempt));
          continue;
        }
        throw new Error(`${url}: cannot reach the store (${code || err.cause?.message || err.message}${attempt > 1 ? `, ${attempt} attempts` : ''})`);
      }
    }
  }

  private authorization(method: string, url: string): Record<string, string> {
    const c = this.credentials;
    if (!c) return {};
    if ('token' in c) return { authorization: `Bearer ${c.token}` };
    if (!this.digest) return { authorization: `Basic ${Buffer.from(`${c.user}:${c.password}`).toString('base64')}` };
    const d = this.digest;
    const u = new URL(url);
    const uri = u.pathname + u.search;
    const nc = (++d.count).toString(16).padStart(8, '0');
    const cnonce = randomBytes(8).toString('hex');
    const ha1 = md5(`${c.user}:${d.realm}:${c.password}`);
    const ha2 = md5(`${method}:${uri}`);
    const qop = d.qop?.split(',').map((s) => s.trim()).includes('auth') ? 'auth' : undefined;
    const response = qop ? md5(`${ha1}:${d.nonce}:${nc}:${cnonce}:${qop}:${ha2}`) : md5(`${ha1}:${d.nonce}:${ha2}`);
    const fields = [`username="${c.user}"`, `realm="${d.realm}"`, `nonce="${d.nonce}"`, `uri="${uri}"`, `response="${response}"`];
    if (qop) fields.push(`qop=${qop}`, `nc=${nc}`, `cnonce="${cnonce}"`);
    if (d.opaque) fields.push(`opaque="${d.opaque}"`);
    if (d.algorithm) fields.push(`algorithm=${d.algorithm}`);
    return { authorization: `Digest ${fields.join(', ')}` };
  }
}

function parseChallenge(header: string): { realm: string; nonce: string; qop?: string; opaque?: string; algorithm?: string } {
  const out: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]+))/g)) out[m[1].toLowerCase()] = m[2] ?? m[3];
  return { realm: out.realm ?? '', nonce: out.nonce ?? '', qop: out.qop, opaque: out.opaque, algorithm: out.algorithm };
}

/**
 * One HTTP exchange by node:http(s), answered as a fetch Response whose body streams, for time limits
 * that undici's own (FETCH_WAIT_LIMIT_MS) would cut short. The limit covers the whole exchange, body
 * included, as AbortSignal.timeout does for fetch; running out fails with a TimeoutError.
 */
export function longFetch(url: string, init: RequestInit & { headers: Record<string, string> }, limitMs: number): Promise<Response> {
  const body = init.body;
  if (body != null && typeof body !== 'string' && !(body instanceof Uint8Array)) return Promise.reject(new TypeError('longFetch sends string or byte bodies only'));
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      // 'close' also comes when the body is cancelled unread (a 401 before a Digest retry).
      res.once('close', () => clearTimeout(timer));
      const headers = new Headers();
      for (const [k, v] of Object.entries(res.headers)) for (const x of v === undefined ? [] : [v].flat()) headers.append(k, x);
      const status = res.statusCode ?? 502;
      // A Response of these statuses may have no body.
      const empty = [101, 204, 205, 304].includes(status);
      if (empty) res.resume();
      resolve(new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, statusText: res.statusMessage, headers }));
    });
    const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no complete answer within ${limitMs} ms`), { name: 'TimeoutError' })), limitMs);
    // The socket keeps the process alive while the exchange lasts; the timer alone must not.
    timer.unref();
    req.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(body ?? undefined);
  });
}
