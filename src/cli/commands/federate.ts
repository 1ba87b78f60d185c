import { CohortDefinitionError, parseDefinitionText } from '../../cohort/index.js';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import {
  DEFAULT_SITE_TIMEOUT_MS,
  DEFAULT_SUPPRESS_BELOW,
  FederationError,
  checkSites,
  checkThreshold,
  classifyFederated,
  countFailures,
  countsResult,
  failureWarning,
  federatedCounts,
  federatedQuery,
  parseSite,
  type FederatedCohort,
  type Site,
  type SiteFailure,
} from '../../query/federation.js';
import { cohortAcrossSites, startLocalEndpoint, type LocalEndpoint } from '../../server/federation.js';
import type { ResultFormat } from '../../store/index.js';
import { openStore } from '../../store/index.js';
import { CliError } from '../util.js';

// `harmonia query --federate URL ...` and `harmonia cohort --federate URL ...`: the logic behind the
// flags, called from those commands' actions.

/** Commander collector for a repeatable option. */
export function collectOption(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export interface FederateOptions {
  federate: string[];
  /** Partner names (or URLs) whose row-level answers may be shown. */
  allowRows?: string[];
  store?: string;
  suppressBelow?: string;
  siteTimeout?: string;
}

const FORMATS: Record<string, ResultFormat> = { json: 'json', csv: 'csv', tsv: 'tsv', xml: 'xml', ttl: 'turtle', nt: 'ntriples', jsonld: 'jsonld' };

function number(v: string | undefined, flag: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`${flag} ${v}: expected a non-negative integer`);
  return n;
}

/** The partner sites from --federate ([name=]URL) with --allow-rows applied. */
export function sitesFrom(opts: FederateOptions): Site[] {
  const allow = new Set(opts.allowRows ?? []);
  const sites = (opts.federate ?? []).map((spec) => parseSite(spec));
  for (const s of sites) s.allowRows = allow.has(s.name) || allow.has(s.url);
  for (const name of allow) {
    if (!sites.some((s) => s.name === name || s.url === name)) throw new CliError(`--allow-rows ${name}: no --federate site of that name`);
  }
  if (sites.some((s) => s.name === 'local')) throw new CliError('a --federate site is named local, the name of --store: rename it with name=URL');
  return checkSites(sites);
}

function warnPartial(failures: SiteFailure[], answered: string[]): void {
  if (failures.length) process.stderr.write(`warning: ${failureWarning(failures, answered)}\n`);
}

/**
 * Runs `sparql` over the partner endpoints plus the local store (when --store is given). A query
 * of COUNT aggregates only is answered per site, with counts below --suppress-below shown as "<N";
 * any other query runs with Comunica over all sites as one graph. Sites that do not answer are
 * named on stderr and the answer covers the others.
 */
export async function federatedQueryCommand(sparql: string, opts: FederateOptions & { format?: string }): Promise<void> {
  const partners = sitesFrom(opts);
  const suppressBelow = checkThreshold(number(opts.suppressBelow, '--suppress-below', DEFAULT_SUPPRESS_BELOW));
  const timeoutMs = number(opts.siteTimeout, '--site-timeout', DEFAULT_SITE_TIMEOUT_MS);
  const { kind } = classifyFederated(sparql);
  const name = opts.format ?? (kind === 'graph' ? 'ttl' : 'json');
  const format = FORMATS[name];
  if (!format) throw new CliError(`--format ${name}: unknown format (json, csv, tsv, xml, ttl, nt, jsonld)`);
  if ((kind === 'graph') !== ['turtle', 'ntriples', 'jsonld'].includes(format)) {
    throw new CliError(`--format ${name} does not fit this query (${kind === 'graph' ? 'ttl, nt, jsonld' : 'json, csv, tsv, xml'})`);
  }
  const local: LocalEndpoint | undefined = opts.store ? await startLocalEndpoint(opts.store) : undefined;
  try {
    const sites = local ? [{ name: 'local', url: local.url, allowRows: true }, ...partners] : partners;
    if (kind === 'counts') {
      const counts = await federatedCounts(sparql, sites, { suppressBelow, timeoutMs });
      const failures = countFailures(counts.sites);
      if (failures.length === sites.length) throw new CliError(`no site answered: ${failures.map((f) => `${f.site} (${f.reason})`).join('; ')}`);
      warnPartial(failures, counts.sites.filter((s) => s.status === 'ok').map((s) => s.site));
      print(countsResult(counts, format).body);
      return;
    }
    const answer = await federatedQuery(sparql, sites, { format, timeoutMs, ...(local ? { ontology: local.ontology } : {}) });
    warnPartial(answer.failures, answer.answered);
    print(answer.body);
  } catch (e) {
    if (e instanceof FederationError) throw new CliError(e.message);
    throw e;
  } finally {
    await local?.close();
  }
}

function print(body: string): void {
  process.stdout.write(body.endsWith('\n') ? body : body + '\n');
}

/**
 * Evaluates a cohort definition file at every partner (and locally with --store) and prints per-site
 * counts with small-cell suppression; member ids only from sites given with --allow-rows.
 */
export async function federatedCohortCommand(file: string, opts: FederateOptions & { json?: boolean }): Promise<void> {
  const partners = sitesFrom(opts);
  const suppressBelow = checkThreshold(number(opts.suppressBelow, '--suppress-below', DEFAULT_SUPPRESS_BELOW));
  const timeoutMs = number(opts.siteTimeout, '--site-timeout', DEFAULT_SITE_TIMEOUT_MS);
  const doc = readDefinition(file);
  const store = opts.store ? await openStore(opts.store) : undefined;
  let result: FederatedCohort;
  try {
    const ontology = store ? await store.ontology() : undefined;
    if (store && !ontology) throw new CliError(`${opts.store}: the store has no ontology; ingest with --hpo first`);
    result = await cohortAcrossSites(doc, partners, { store, ontology, suppressBelow, timeoutMs });
  } catch (e) {
    if (e instanceof CohortDefinitionError) throw new CliError(`${file}: ${e.message}`);
    throw e;
  } finally {
    await store?.close();
  }
  const ok = result.sites.filter((s) => s.status === 'ok');
  if (!ok.length) throw new CliError(`no site answered: ${result.sites.map((s) => `${s.site} (${s.error})`).join('; ')}`);
  warnPartial(countFailures(result.sites), ok.map((s) => s.site));
  if (opts.json) return print(JSON.stringify(result));
  print(cohortText(result));
}

function readDefinition(file: string): unknown {
  const ext = extname(file).toLowerCase();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  try {
    return parseDefinitionText(text, ext === '.yaml' || ext === '.yml' ? 'yaml' : ext === '.json' ? 'json' : undefined, file);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

export function cohortText(r: FederatedCohort): string {
  const lines = [`${r.name ?? 'cohort'}: ${r.total} patient${r.total === 1 ? '' : 's'} across ${r.sites.filter((s) => s.status === 'ok').length} of ${r.sites.length} sites${r.suppressed ? ` (plus counts below ${r.suppressBelow}, not included)` : ''}`];
  for (const s of r.sites) {
    lines.push(s.status === 'ok' ? `  ${s.site}: ${s.count}${s.patients ? `  ${s.patients.join(' ')}` : ''}` : `  ${s.site}: ${s.status} (${s.error})`);
  }
  return lines.join('\n');
}
