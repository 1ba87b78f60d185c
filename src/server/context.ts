import type { Ontology } from '../ontology/index.js';
import type { QueryEngine } from '../query/index.js';
import type { GraphStore } from '../store/index.js';
import type { QueryRequest } from './answer.js';
import type { ExecutorHealth, ExecutorResult } from './executor.js';
import type { JobArgs, JobKind, JobResult } from './jobs.js';
import type { Metrics } from './observe.js';

export interface ServerConfig {
  host: string;
  port: number;
  /** Per-query time limit for /sparql, in milliseconds. */
  timeoutMs: number;
  /** Most rows a SELECT returns. */
  maxRows: number;
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
  /** Largest RDF upload to the Graph Store endpoint (/store), in bytes. */
  maxUploadBytes?: number;
  /** Deepest bracket nesting a query may have (a 400 beyond; Oxigraph traps near 700). */
  maxNesting?: number;
  /** Query workers for /sparql (each loads its own copy of the store). */
  workers?: number;
  /** Origins whose pages may read (GET, query POSTs): '*' for any, a list, or none (the default). */
  corsOrigins: '*' | string[];
  /** Origins whose pages may also write (PUT, DELETE, updates; the token is needed as well). None by default. */
  corsWriteOrigins?: string[];
  /** 'info': one JSON access-log line per request on stderr; 'debug': with the query text; 'quiet': none. */
  logLevel?: 'quiet' | 'info' | 'debug';
  /** Bearer token that enables SPARQL Update; updates are refused without it. */
  updateToken?: string;
  /** Contact returned with every Matchmaker Exchange result. */
  contact: { name: string; href: string; institution?: string };
  /** Base URL used in the service description and links. */
  publicUrl?: string;
  /** HPO disease annotations (phenotype.hpoa) for POST /diagnose and annotation-based IC. */
  annotations?: string;
  /** genes_to_phenotype file, for gene evidence in disease ranking. */
  geneAnnotations?: string;
  /** A JSON Schema file to validate POST /match with instead of ours (schemas/mme-v1.1.schema.json). */
  mmeSchema?: string;
  /** X-Auth-Token values accepted by POST /match; none means the endpoint is open. */
  mmeTokens?: string[];
}

export const DEFAULT_CONFIG: ServerConfig = {
  host: '127.0.0.1',
  port: 3000,
  timeoutMs: 30000,
  maxRows: 10000,
  maxBodyBytes: 1 << 20,
  corsOrigins: [],
  corsWriteOrigins: [],
  logLevel: 'quiet',
  maxUploadBytes: 64 << 20,
  contact: { name: 'Harmonia data steward', href: 'mailto:data-steward@example.org' },
  mmeTokens: [],
};

/** Runs a /sparql query and the other routes' jobs with the configured limits (in a worker, or in process for tests). */
export interface SparqlExecutor {
  run(request: QueryRequest, timeoutMs: number): Promise<ExecutorResult>;
  /** A job of jobs.ts where the store is; a write job's answer comes once every reader sees the write. */
  job<K extends JobKind>(kind: K, args: JobArgs<K>, timeoutMs: number): Promise<JobResult<K>>;
  reload(): Promise<void>;
  close(): Promise<void>;
  /** Worker state for /health and /metrics (absent for in-process execution). */
  health?(): ExecutorHealth;
}

/**
 * What every route handler gets: the store, its ontology, the executor, the config. Behind the worker
 * pool, `store` holds no data of its own: each call is a job in a query worker (PooledStore), and the
 * routes send their work there as whole jobs; the query engine then lives in the workers only.
 */
export interface ServerContext {
  store: GraphStore;
  ontology: Ontology;
  /** The query engine on this thread, where queries run here (a remote store, tests). */
  engine?: QueryEngine;
  executor: SparqlExecutor;
  config: ServerConfig;
  /** Request counters and latency histograms for /metrics (created by createApp when absent). */
  metrics?: Metrics;
  /** Call after writing to the store so that /sparql and the engine see the change. */
  afterWrite(): Promise<void>;
}
