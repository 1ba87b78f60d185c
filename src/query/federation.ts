import sparqljs from 'sparqljs';
import { InputError } from '../model/errors.js';
import type { Ontology } from '../ontology/index.js';
import type { ResultFormat } from '../store/index.js';
import { PathRewriter } from './optimize.js';
import { ABORT_SIGNAL_KEY, COMUNICA_MEDIA_TYPES, comunica } from './federation-comunica.js';

// Federation across sites that each keep their own patients (and the same HPO): a SPARQL query over
// partner endpoints plus the local store with Comunica, and aggregate counts that every site
// evaluates itself, with small cells suppressed before anything leaves this module.

/** A partner (or the local store) as a SPARQL 1.1 endpoint. */
export interface Site {
  name: string;
  /** The SPARQL query endpoint, e.g. http://site-a:3000/sparql. */
  url: string;
  /** Whether this site lets row-level answers (patient ids, SELECT rows) leave it. Default false. */
  allowRows?: boolean;
}

export interface SiteFailure {
  site: string;
  url: string;
  reason: string;
}

export const DEFAULT_SUPPRESS_BELOW = 5;
export const DEFAULT_SITE_TIMEOUT_MS = 10_000;

/** What a federated query asks for: rows (or a graph, or a yes/no) or only COUNT aggregates. */
export type FederatedKind = 'rows' | 'counts' | 'ask' | 'graph';

export class FederationError extends Error {
  constructor(message: string, readonly failures: SiteFailure[] = []) {
    super(message);
  }
}

/** `name=URL` or a bare URL (named host:port); the URL must be http(s). */
export function parseSite(spec: string, allowRows = false): Site {
  const named = /^([A-Za-z0-9_.-]+)=(.+)$/.exec(spec);
  const raw = named ? named[2] : spec;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InputError(`${spec}: not a URL (give the partner's SPARQL endpoint, e.g. http://site-a:3000/sparql, optionally as name=URL)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InputError(`${spec}: a partner endpoint must be http(s)`);
  return { name: named ? named[1] : url.host, url: url.href, allowRows };
}

/** Site names must be unique: they are what warnings and per-site counts are reported by. */
export function checkSites(sites: Site[]): Site[] {
  const seen = new Set<string>();
  for (const s of sites) {
    if (seen.has(s.name)) throw new InputError(`two sites are named ${s.name}: name them with name=URL`);
    seen.add(s.name);
  }
  if (!sites.length) throw new InputError('no site to federate over: give at least one partner endpoint');
  return sites;
}

export function checkThreshold(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new InputError(`suppression threshold ${n}: expected a non-negative integer (default ${DEFAULT_SUPPRESS_BELOW})`);
  return n;
}

/** A count as it may be shared: the number, or "<N" when it is below the threshold (zero included). */
export function suppress(count: number, below: number): number | string {
  return count < below ? `<${below}` : count;
}

const parser = new sparqljs.Parser();
const generator = new sparqljs.Generator({});

interface Parsed {
  type: string;
  queryType?: string;
  group?: unknown[];
  limit?: number;
  variables?: { termType?: string; expression?: { type?: string; aggregation?: string }; variable?: { value: string } }[];
}

function parse(sparql: string): Parsed {
  try {
    return parser.parse(sparql) as unknown as Parsed;
  } catch (e) {
    throw new InputError(`SPARQL syntax error: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * Rows, or counts: a SELECT that projects only COUNT aggregates and has no GROUP BY answers one
 * number per variable, which each site can compute on its own and which can be suppressed. Grouped
 * counts are rows (a group key may be a patient id).
 */
export function classifyFederated(sparql: string): { kind: FederatedKind; countVariables: string[] } {
  const q = parse(sparql);
  if (q.type === 'update') throw new InputError('a SPARQL Update cannot be federated: send it to one store');
  const type = q.queryType?.toUpperCase();
  if (type === 'ASK') return { kind: 'ask', countVariables: [] };
  if (type === 'CONSTRUCT' || type === 'DESCRIBE') return { kind: 'graph', countVariables: [] };
  const vars = q.variables ?? [];
  const counts = !q.group && vars.length > 0 && vars.every((v) => v.expression?.type === 'aggregate' && v.expression.aggregation?.toLowerCase() === 'count');
  return counts ? { kind: 'counts', countVariables: vars.map((v) => v.variable!.value) } : { kind: 'rows', countVariables: [] };
}

/** The query with its LIMIT lowered to `max` (a federated answer is held in memory to be served). */
export function capRows(sparql: string, max: number): { sparql: string; cappedAt?: number } {
  const q = parse(sparql);
  if (q.queryType?.toUpperCase() !== 'SELECT' || (q.limit !== undefined && q.limit <= max)) return { sparql };
  q.limit = max;
  return { sparql: generator.stringify(q as never), cappedAt: max };
}

// --- talking to one site -------------------------------------------------------------------------

/** Why a request did not get an answer, in words for a warning. */
function unreachable(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  if (err.cause?.code === 'ECONNREFUSED') return 'connection refused';
  return err.cause?.message ?? err.message;
}

class SiteRequestError extends Error {
  constructor(message: string, readonly reachable: boolean) {
    super(message);
  }
}

/** POSTs to a site; a network failure or timeout is `reachable: false`, an HTTP error `true`. */
async function post(url: string, body: string, type: string, accept: string, timeoutMs: number): Promise<unknown> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': type, accept }, body, signal: AbortSignal.timeout(timeoutMs) });
    text = await res.text();
  } catch (e) {
    throw new SiteRequestError(unreachable(e, timeoutMs), false);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SiteRequestError(`HTTP ${res.status}: not JSON (${text.slice(0, 120).replace(/\s+/g, ' ')})`, true);
  }
  if (!res.ok) {
    const message = (json as { error?: unknown }).error;
    throw Object.assign(new SiteRequestError(`HTTP ${res.status}: ${typeof message === 'string' ? message : text.slice(0, 200)}`, true), { status: res.status });
  }
  return json;
}

interface SparqlJson {
  head?: { vars?: string[] };
  boolean?: boolean;
  results?: { bindings: Record<string, { value: string }>[] };
}

function sparqlJson(site: Site, sparql: string, timeoutMs: number): Promise<SparqlJson> {
  return post(site.url, new URLSearchParams({ query: sparql }).toString(), 'application/x-www-form-urlencoded', COMUNICA_MEDIA_TYPES.json, timeoutMs) as Promise<SparqlJson>;
}

/** Undefined when the site answers a trivial ASK in time; otherwise why not. */
async function probe(site: Site, timeoutMs: number): Promise<string | undefined> {
  try {
    const answer = await sparqlJson(site, 'ASK {}', timeoutMs);
    return typeof answer.boolean === 'boolean' ? undefined : 'not a SPARQL endpoint (no boolean answer to ASK {})';
  } catch (e) {
    return (e as Error).message;
  }
}

async function split(sites: Site[], timeoutMs: number): Promise<{ live: Site[]; failures: SiteFailure[] }> {
  const reasons = await Promise.all(sites.map((s) => probe(s, timeoutMs)));
  const live = sites.filter((_, i) => reasons[i] === undefined);
  const failures = sites.flatMap((s, i) => (reasons[i] === undefined ? [] : [{ site: s.name, url: s.url, reason: reasons[i]! }]));
  return { live, failures };
}

/** The one-line warning for sites left out of an answer. */
export function failureWarning(failures: SiteFailure[], answered: string[]): string {
  const names = failures.map((f) => `${f.site} (${f.url}: ${f.reason})`).join('; ');
  return `site${failures.length > 1 ? 's' : ''} ${names} did not answer; partial answer from ${answered.join(', ') || 'no site'}`;
}

// --- one query over all sites with Comunica ------------------------------------------------------

export interface FederatedAnswer {
  mediaType: string;
  body: string;
  /** Names of the sites whose data the answer covers. */
  answered: string[];
  /** Sites that were down or failed during the query: the answer is partial when any. */
  failures: SiteFailure[];
  cappedAt?: number;
}

export interface FederatedQueryOptions {
  format: ResultFormat;
  /** Per request to a site, until its answer starts (default 10 s). */
  timeoutMs?: number;
  /** For the whole query (all its requests); none by default. */
  deadlineMs?: number;
  maxRows?: number;
  /**
   * This side's ontology: `rdfs:subClassOf*` paths are expanded with it before Comunica sees the
   * query (Comunica would otherwise walk them with one request per class and site).
   */
  ontology?: Ontology;
}

const rewriters = new WeakMap<Ontology, PathRewriter>();

function expandPaths(sparql: string, ontology: Ontology | undefined): string {
  if (!ontology) return sparql;
  let r = rewriters.get(ontology);
  if (!r) rewriters.set(ontology, (r = new PathRewriter(ontology)));
  return r.rewrite(sparql).sparql;
}

/**
 * Runs `sparql` with Comunica over every site as one merged graph (joins may span sites). Sites that
 * do not answer a probe are left out; a site that fails mid-query is probed again and, when it is
 * down, left out and the query rerun, so the answer is partial rather than an error.
 */
export async function federatedQuery(sparql: string, sites: Site[], options: FederatedQueryOptions): Promise<FederatedAnswer> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_SITE_TIMEOUT_MS;
  const capped = options.maxRows ? capRows(sparql, options.maxRows) : { sparql, cappedAt: undefined };
  const { cappedAt } = capped;
  const text = expandPaths(capped.sparql, options.ontology);
  const mediaType = COMUNICA_MEDIA_TYPES[options.format];
  const engine = await comunica();
  const deadline = options.deadlineMs ? AbortSignal.timeout(options.deadlineMs) : undefined;
  let { live, failures } = await split(sites, timeoutMs);
  // Each retry removes at least one site, so this ends after at most sites.length rounds.
  for (;;) {
    if (!live.length) throw new FederationError(`no site answered: ${failures.map((f) => `${f.site} (${f.reason})`).join('; ')}`, failures);
    // httpTimeout bounds each request until its headers arrive (Comunica's body timeout leaves a
    // timer running per request, which keeps a CLI process alive); the deadline bounds the whole
    // query, with an unref'd timer.
    const context = {
      sources: live.map((s) => ({ type: 'sparql' as const, value: s.url })),
      httpTimeout: timeoutMs,
      ...(deadline ? { [ABORT_SIGNAL_KEY]: deadline } : {}),
    };
    try {
      const result = await engine.query(text, context);
      const { data } = await engine.resultToString(result, mediaType, context);
      const body = await collect(data as AsyncIterable<Buffer | string>);
      return { mediaType, body, answered: live.map((s) => s.name), failures, ...(cappedAt ? { cappedAt } : {}) };
    } catch (e) {
      if (deadline?.aborted) throw new FederationError(`federated query took longer than ${options.deadlineMs} ms`, failures);
      const again = await split(live, timeoutMs);
      if (!again.failures.length) throw new FederationError(`federated query failed: ${(e as Error).message}`, failures);
      live = again.live;
      failures = [...failures, ...again.failures];
    }
  }
}

async function collect(stream: AsyncIterable<Buffer | string>): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
  return out;
}

// --- counts each site computes itself ------------------------------------------------------------

export interface SiteCount {
  site: string;
  url: string;
  status: 'ok' | 'unreachable' | 'failed';
  /** Per COUNT variable: the count, or "<N" when suppressed. Empty unless status is ok. */
  values: Record<string, number | string>;
  suppressed: boolean;
  error?: string;
  ms: number;
}

export interface FederatedCounts {
  suppressBelow: number;
  variables: string[];
  sites: SiteCount[];
  /** Per variable: the sum of the counts that were not suppressed. */
  total: Record<string, number>;
  /** Whether any site's count was suppressed (the total then leaves it out). */
  suppressed: boolean;
  /** Whether every site answered. */
  complete: boolean;
}

export interface CountOptions {
  suppressBelow?: number;
  timeoutMs?: number;
}

/** Sends an aggregate COUNT query to every site on its own and suppresses small counts. */
export async function federatedCounts(sparql: string, sites: Site[], options: CountOptions = {}): Promise<FederatedCounts> {
  const { kind, countVariables } = classifyFederated(sparql);
  if (kind !== 'counts') throw new InputError('per-site counts need a SELECT of COUNT aggregates only, without GROUP BY');
  const below = checkThreshold(options.suppressBelow ?? DEFAULT_SUPPRESS_BELOW);
  const timeoutMs = options.timeoutMs ?? DEFAULT_SITE_TIMEOUT_MS;
  const results = await Promise.all(sites.map((s) => siteCount(s, sparql, countVariables, below, timeoutMs)));
  return { suppressBelow: below, variables: countVariables, sites: results, ...totals(results, countVariables) };
}

async function siteCount(site: Site, sparql: string, vars: string[], below: number, timeoutMs: number): Promise<SiteCount> {
  const started = performance.now();
  const base = { site: site.name, url: site.url };
  try {
    const answer = await sparqlJson(site, sparql, timeoutMs);
    const row = answer.results?.bindings[0] ?? {};
    const values: Record<string, number | string> = {};
    let suppressed = false;
    for (const v of vars) {
      // No row at all (a HAVING that filtered it out) means nothing was counted.
      const n = row[v] === undefined ? 0 : Number(row[v].value);
      if (!Number.isInteger(n) || n < 0) throw new SiteRequestError(`?${v} is not a count: ${row[v]?.value}`, true);
      values[v] = suppress(n, below);
      suppressed ||= n < below;
    }
    return { ...base, status: 'ok', values, suppressed, ms: performance.now() - started };
  } catch (e) {
    const reachable = e instanceof SiteRequestError && e.reachable;
    return { ...base, status: reachable ? 'failed' : 'unreachable', values: {}, suppressed: false, error: (e as Error).message, ms: performance.now() - started };
  }
}

function totals(results: { status: string; values: Record<string, number | string>; suppressed: boolean }[], vars: string[]) {
  const total: Record<string, number> = {};
  for (const v of vars) total[v] = results.reduce((sum, r) => sum + (typeof r.values[v] === 'number' ? (r.values[v] as number) : 0), 0);
  return { total, suppressed: results.some((r) => r.suppressed), complete: results.every((r) => r.status === 'ok') };
}

/** The failures of a count answer, as for a federated query. */
export function countFailures(sites: { site: string; url: string; status: string; error?: string }[]): SiteFailure[] {
  return sites.filter((s) => s.status !== 'ok').map((s) => ({ site: s.site, url: s.url, reason: s.error ?? s.status }));
}

/**
 * Per-site counts as a SPARQL SELECT answer, so that any SPARQL client reads them: one row per
 * site (?site, the count variables, ?suppressed, ?status) and a last row named "total".
 */
export function countsResult(c: FederatedCounts, format: ResultFormat): { mediaType: string; body: string } {
  const vars = ['site', ...c.variables, 'suppressed', 'status'];
  const rows: Record<string, Cell>[] = c.sites.map((s) => ({
    site: lit(s.site),
    ...Object.fromEntries(c.variables.filter((v) => v in s.values).map((v) => [v, cell(s.values[v])])),
    ...(s.status === 'ok' ? { suppressed: bool(s.suppressed) } : {}),
    status: lit(s.status === 'ok' ? 'ok' : `${s.status}: ${s.error ?? ''}`),
  }));
  rows.push({
    site: lit('total'),
    ...Object.fromEntries(c.variables.map((v) => [v, cell(c.total[v])])),
    suppressed: bool(c.suppressed),
    status: lit(c.complete ? 'complete' : 'partial'),
  });
  return renderTable(vars, rows, format);
}

interface Cell {
  value: string;
  datatype?: string;
}

const XSD = 'http://www.w3.org/2001/XMLSchema#';
const lit = (value: string): Cell => ({ value });
const bool = (b: boolean): Cell => ({ value: String(b), datatype: `${XSD}boolean` });
const cell = (v: number | string): Cell => (typeof v === 'number' ? { value: String(v), datatype: `${XSD}integer` } : lit(v));

function renderTable(vars: string[], rows: Record<string, Cell>[], format: ResultFormat): { mediaType: string; body: string } {
  const mediaType = COMUNICA_MEDIA_TYPES[format];
  if (format === 'json') {
    const bindings = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, c]) => [k, { type: 'literal', value: c.value, ...(c.datatype ? { datatype: c.datatype } : {}) }])));
    return { mediaType, body: JSON.stringify({ head: { vars }, results: { bindings } }) };
  }
  if (format === 'csv' || format === 'tsv') {
    const sep = format === 'csv' ? ',' : '\t';
    const esc = (s: string): string => (format === 'csv' ? (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s) : s.replace(/[\t\r\n]/g, ' '));
    const header = format === 'csv' ? vars.join(sep) : vars.map((v) => `?${v}`).join(sep);
    const tsvCell = (c: Cell): string => (c.datatype ? c.value : JSON.stringify(c.value));
    const lines = rows.map((r) => vars.map((v) => (r[v] ? (format === 'csv' ? esc(r[v].value) : esc(tsvCell(r[v]))) : '')).join(sep));
    return { mediaType, body: [header, ...lines].join('\r\n') + '\r\n' };
  }
  if (format === 'xml') {
    const x = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
    const results = rows.map((r) => `<result>${Object.entries(r).map(([k, c]) => `<binding name="${x(k)}"><literal${c.datatype ? ` datatype="${c.datatype}"` : ''}>${x(c.value)}</literal></binding>`).join('')}</result>`);
    const head = vars.map((v) => `<variable name="${v}"/>`).join('');
    return { mediaType, body: `<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>${head}</head><results>${results.join('')}</results></sparql>\n` };
  }
  throw new InputError(`per-site counts are a table: give json, csv, tsv or xml, not ${format}`);
}

// --- cohorts each site evaluates itself ----------------------------------------------------------

export interface CohortSiteResult {
  site: string;
  url: string;
  /** How the site evaluated the cohort: its cohort API, a compiled SPARQL COUNT, or this store. */
  via: 'cohort-api' | 'sparql' | 'local';
  status: 'ok' | 'unreachable' | 'failed';
  count?: number | string;
  suppressed: boolean;
  /** Member ids, only from a site that allows row-level answers. */
  patients?: string[];
  error?: string;
  ms: number;
}

export interface FederatedCohort {
  name?: string;
  suppressBelow: number;
  sites: CohortSiteResult[];
  /** Sum of the counts that were not suppressed. */
  total: number;
  suppressed: boolean;
  complete: boolean;
}

export interface LocalCohortSite {
  name: string;
  allowRows?: boolean;
  evaluate(): Promise<{ count: number; patients: string[] }>;
}

export interface CohortOptions extends CountOptions {
  /**
   * The definition compiled to its `SELECT DISTINCT ?id` query (from this side's ontology), for
   * plain SPARQL endpoints that have no cohort API. Without it such sites fail with a reason.
   */
  compiled?: string;
  /** The local store, evaluated in process. */
  local?: LocalCohortSite;
}

/**
 * Evaluates a cohort definition at every site: a harmonia server through its POST /cohorts (it
 * resolves the definition against its own HPO), a plain SPARQL endpoint through the compiled query
 * wrapped in a COUNT. Counts below the threshold are reported as "<N"; member ids are kept only from
 * sites that allow row-level answers.
 */
export async function federatedCohort(definition: unknown, sites: Site[], options: CohortOptions = {}): Promise<FederatedCohort> {
  const below = checkThreshold(options.suppressBelow ?? DEFAULT_SUPPRESS_BELOW);
  const timeoutMs = options.timeoutMs ?? DEFAULT_SITE_TIMEOUT_MS;
  const jobs = sites.map((s) => cohortAtSite(s, definition, options.compiled, below, timeoutMs));
  if (options.local) jobs.unshift(localCohort(options.local, below));
  const results = await Promise.all(jobs);
  const name = (definition as { name?: unknown } | undefined)?.name;
  const counted = results.map((r) => ({ status: r.status, values: (r.count === undefined ? {} : { count: r.count }) as Record<string, number | string>, suppressed: r.suppressed }));
  const { total, suppressed, complete } = totals(counted, ['count']);
  return { ...(typeof name === 'string' ? { name } : {}), suppressBelow: below, sites: results, total: total.count, suppressed, complete };
}

function shared(count: number, patients: string[], allowRows: boolean | undefined, below: number) {
  return { count: suppress(count, below), suppressed: count < below, ...(allowRows ? { patients } : {}) };
}

async function localCohort(local: LocalCohortSite, below: number): Promise<CohortSiteResult> {
  const started = performance.now();
  const base = { site: local.name, url: 'local', via: 'local' as const };
  try {
    const { count, patients } = await local.evaluate();
    return { ...base, status: 'ok', ...shared(count, patients, local.allowRows, below), ms: performance.now() - started };
  } catch (e) {
    return { ...base, status: 'failed', suppressed: false, error: (e as Error).message, ms: performance.now() - started };
  }
}

async function cohortAtSite(site: Site, definition: unknown, compiled: string | undefined, below: number, timeoutMs: number): Promise<CohortSiteResult> {
  const started = performance.now();
  const done = (r: Omit<CohortSiteResult, 'site' | 'url' | 'ms'>): CohortSiteResult => ({ site: site.name, url: site.url, ...r, ms: performance.now() - started });
  const api = cohortApi(site.url);
  try {
    if (api) {
      try {
        // countOnly asks the site to leave the member list out; a site that ignores it still has
        // its ids dropped here unless it allows rows.
        const answer = (await post(`${api}${site.allowRows ? '' : '?countOnly=true'}`, JSON.stringify(definition), 'application/json', 'application/json', timeoutMs)) as { count?: unknown; patients?: unknown };
        if (!Number.isInteger(answer.count)) throw new SiteRequestError('its cohort API answered without a count', true);
        const patients = Array.isArray(answer.patients) ? answer.patients.map(String) : [];
        return done({ via: 'cohort-api', status: 'ok', ...shared(answer.count as number, patients, site.allowRows, below) });
      } catch (e) {
        // A plain SPARQL endpoint has no /cohorts: fall back to the compiled query.
        if (!(e instanceof SiteRequestError && [404, 405].includes((e as { status?: number }).status ?? 0))) throw e;
      }
    }
    if (!compiled) throw new SiteRequestError('no cohort API here, and no ontology on this side to compile the definition for a plain SPARQL endpoint (give a local store)', true);
    if (site.allowRows) {
      const rows = await sparqlJson(site, compiled, timeoutMs);
      const patients = [...new Set((rows.results?.bindings ?? []).map((b) => b.id?.value).filter((x): x is string => !!x))].sort();
      return done({ via: 'sparql', status: 'ok', ...shared(patients.length, patients, true, below) });
    }
    const answer = await sparqlJson(site, countQuery(compiled), timeoutMs);
    const n = Number(answer.results?.bindings[0]?.count?.value ?? 0);
    if (!Number.isInteger(n)) throw new SiteRequestError('the COUNT answer is not a number', true);
    return done({ via: 'sparql', status: 'ok', ...shared(n, [], false, below) });
  } catch (e) {
    const reachable = e instanceof SiteRequestError && e.reachable;
    return done({ via: api ? 'cohort-api' : 'sparql', status: reachable ? 'failed' : 'unreachable', suppressed: false, error: (e as Error).message });
  }
}

/** http://host/x/sparql → http://host/x/cohorts (a harmonia server); undefined for other endpoints. */
function cohortApi(endpoint: string): string | undefined {
  const url = new URL(endpoint);
  if (!url.pathname.endsWith('/sparql')) return undefined;
  url.pathname = url.pathname.replace(/\/sparql$/, '/cohorts');
  url.search = '';
  return url.href;
}

/** A compiled cohort query (prologue, then `SELECT DISTINCT ?id WHERE {...}`) as a COUNT of its members. */
export function countQuery(compiled: string): string {
  const at = compiled.search(/^SELECT\b/m);
  if (at < 0) throw new InputError('compiled cohort query has no SELECT');
  return `${compiled.slice(0, at)}SELECT (COUNT(*) AS ?count) WHERE {\n${compiled.slice(at)}}\n`;
}
