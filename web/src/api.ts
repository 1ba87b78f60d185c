// Calls to the Harmonia server (same origin). Errors carry the server's message and, for cohort
// definitions, its located issues.

export interface Issue {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly issues: Issue[] = []) {
    super(message);
  }
}

export interface UiConfig {
  hpoVersion: string;
  terms: number;
  writes: boolean;
  diagnose: boolean;
  prefixes: Record<string, string>;
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, { ...init, headers: { accept: 'application/json', ...(init.headers ?? {}) } });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const b = (body ?? {}) as { error?: string; issues?: Issue[] };
    throw new ApiError(res.status, b.error ?? (text || res.statusText), b.issues ?? []);
  }
  return body as T;
}

export function postJson<T>(path: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
  return api<T>(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

const TOKEN_KEY = 'harmonia.token';

/** The update token typed in this browser session, if any. */
export function savedToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function rememberToken(token: string | undefined): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/**
 * A write: sent with the session's token; on 401 the user is asked for the token (the server
 * prints it at start) and the write is tried again with it. `ask` resolves undefined on cancel.
 */
export async function withToken<T>(write: (headers: Record<string, string>) => Promise<T>, ask: (retry: boolean) => Promise<string | undefined>): Promise<T> {
  let token = savedToken();
  for (let attempt = 0; ; attempt++) {
    try {
      return await write(token ? { authorization: `Bearer ${token}` } : {});
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) throw e;
      if (attempt === 2) throw new ApiError(401, 'not saved: the token was refused three times');
      token = await ask(attempt > 0 || token !== undefined);
      if (!token) throw new ApiError(401, 'not saved: the server needs its update token for writes');
      rememberToken(token);
    }
  }
}
