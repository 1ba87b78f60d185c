import type { Command } from 'commander';
import { DEFAULT_CONFIG, defaultWorkers, MAX_NESTING, startServer, type RouteFactory, type RunningServer, type ServerConfig } from '../../server/index.js';
import { CliError } from '../util.js';
import { extraRoutes } from '../routes.js';
import { federationRoutes } from '../../server/federation.js';
import { collectOption, sitesFrom } from './federate.js';
import { isRemoteLocation } from '../../store/index.js';
import { writeServeFile } from '../served.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve a store over HTTP: SPARQL 1.1 Protocol at /sparql, /health, cohorts and retrieval APIs')
    .requiredOption('--store <dir|url>', 'store directory, or sparql+http(s)://host/path for a remote SPARQL store')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0 picks a free one)', '3000')
    .option('--timeout <ms>', 'per-query time limit for /sparql', '30000')
    .option('--max-rows <n>', 'most rows a SELECT returns', '10000')
    .option('--max-body <bytes>', 'largest request body', String(1 << 20))
    .option('--workers <n>', `query workers for /sparql, each holding a copy of the store in memory (default ${defaultWorkers()} here: from the cores, 2 to 4)`)
    .option('--cors-origins <origins>', "origins whose web pages may read: '*' or a comma-separated list (default: none)")
    .option('--cors <origins>', "the earlier name of --cors-origins, still accepted ('none': no origin)")
    .option('--cors-write-origins <origins>', 'origins whose web pages may also write (with the token): a comma-separated list (default: none)')
    .option('--log-level <level>', 'access log on stderr, one JSON line per request: info, debug (with query text) or quiet', 'info')
    .option('--max-upload <bytes>', 'largest RDF upload to /store', String(64 << 20))
    .option('--max-nesting <n>', 'deepest bracket nesting a query may have', String(MAX_NESTING))
    .option('--update-token <token>', 'enable SPARQL Update for requests bearing this token (or HARMONIA_UPDATE_TOKEN)')
    .option('--annotations <file>', 'phenotype.hpoa: enables POST /diagnose and annotation-based information content')
    .option('--gene-annotations <file>', 'genes_to_phenotype file: gene evidence for POST /diagnose')
    .option('--mme-schema <file>', 'validate POST /match with this JSON Schema instead of the built-in MME v1.1 one')
    .option('--mme-token <token>', 'accept POST /match only with this X-Auth-Token (repeatable; or HARMONIA_MME_TOKENS, comma-separated)', collect)
    .option('--contact-name <name>', 'contact returned with every Matchmaker Exchange match', DEFAULT_CONFIG.contact.name)
    .option('--contact-href <uri>', 'contact URI (mailto: or https:)', DEFAULT_CONFIG.contact.href)
    .option('--contact-institution <name>', 'contact institution')
    .option('--federate <[name=]url>', 'partner SPARQL endpoint for /federation/sparql and /federation/cohorts (repeatable; docs/federation.md)', collectOption, [])
    .option('--allow-rows <name>', 'with --federate: this partner may share row-level answers (repeatable)', collectOption, [])
    .option('--suppress-below <n>', 'with --federate: per-site counts below n are shown as "<n"', '5')
    .option('--site-timeout <ms>', 'with --federate: how long a partner may take to answer', '10000')
    .action(async (opts) => {
      const routes = extraRoutes();
      if (opts.federate.length) {
        routes.push(federationRoutes({ partners: sitesFrom(opts), suppressBelow: int(opts.suppressBelow, '--suppress-below'), timeoutMs: int(opts.siteTimeout, '--site-timeout') }));
      }
      const running = await serve(opts.store, {
        host: opts.host,
        port: int(opts.port, '--port'),
        timeoutMs: int(opts.timeout, '--timeout'),
        maxRows: int(opts.maxRows, '--max-rows'),
        maxBodyBytes: int(opts.maxBody, '--max-body'),
        corsOrigins: readOrigins(opts),
        corsWriteOrigins: origins(opts.corsWriteOrigins, '--cors-write-origins'),
        logLevel: logLevel(opts.logLevel),
        maxUploadBytes: int(opts.maxUpload, '--max-upload'),
        maxNesting: positive(opts.maxNesting, '--max-nesting'),
        ...(opts.workers !== undefined ? { workers: positive(opts.workers, '--workers') } : {}),
        updateToken: opts.updateToken ?? process.env.HARMONIA_UPDATE_TOKEN,
        annotations: opts.annotations,
        geneAnnotations: opts.geneAnnotations,
        mmeSchema: opts.mmeSchema,
        mmeTokens: mmeTokens(opts.mmeToken ?? [], process.env.HARMONIA_MME_TOKENS),
        contact: { name: opts.contactName, href: opts.contactHref, ...(opts.contactInstitution ? { institution: opts.contactInstitution } : {}) },
      }, routes);
      // Read-only commands given --store DIR find this server through the file and ask it (src/cli/served.ts).
      if (!isRemoteLocation(opts.store)) writeServeFile(opts.store, { url: running.url, annotations: opts.annotations, geneAnnotations: opts.geneAnnotations });
      const workers = running.context.executor.health?.().size;
      process.stdout.write(`Harmonia serving ${opts.store} at ${running.url}/sparql (HPO ${running.context.ontology.version}, ${await running.context.store.size()} triples${workers ? `, ${workers} query workers` : ''})\n`);
      process.stdout.write(`Web interface at ${running.url}/\n`);
    });
}

export async function serve(store: string, config: Partial<ServerConfig>, routes: RouteFactory[] = extraRoutes()): Promise<RunningServer> {
  const running = await startServer(store, config, routes);
  const stop = (): void => {
    void running.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return running;
}

export function int(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`${flag} ${v}: expected a non-negative integer`);
  return n;
}

function positive(v: string, flag: string): number {
  const n = int(v, flag);
  if (n < 1) throw new CliError(`${flag} ${v}: expected at least 1`);
  return n;
}

/** A comma-separated origin list; each must be scheme://host[:port], as browsers send it. */
/** --cors-origins, or its earlier name --cors (whose 'none' meant no origin); never both. */
function readOrigins(opts: { cors?: string; corsOrigins?: string }): '*' | string[] {
  if (opts.cors !== undefined && opts.corsOrigins !== undefined) throw new CliError('give --cors-origins or its earlier name --cors, not both');
  const [flag, v] = opts.cors !== undefined ? ['--cors', opts.cors === 'none' ? '' : opts.cors] : ['--cors-origins', opts.corsOrigins];
  return v === '*' ? '*' : origins(v, flag);
}

function origins(v: string | undefined, flag: string): string[] {
  const list = (v ?? '').split(',').map((o) => o.trim()).filter(Boolean);
  const bad = list.find((o) => !/^https?:\/\/[^/\s]+$/.test(o));
  if (bad) throw new CliError(`${flag} ${bad}: an origin is scheme://host[:port], without a path (e.g. https://app.example.org)`);
  return list;
}

function logLevel(v: string): 'quiet' | 'info' | 'debug' {
  if (v === 'quiet' || v === 'info' || v === 'debug') return v;
  throw new CliError(`--log-level ${v}: expected info, debug or quiet`);
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** --mme-token values, else HARMONIA_MME_TOKENS split on commas; blanks dropped, each under 255 characters. */
export function mmeTokens(flags: string[], env: string | undefined): string[] {
  const tokens = (flags.length ? flags : (env ?? '').split(',')).map((t) => t.trim()).filter(Boolean);
  const long = tokens.find((t) => t.length >= 255);
  if (long) throw new CliError(`--mme-token ${long.slice(0, 16)}...: an MME token must be under 255 characters`);
  return tokens;
}
