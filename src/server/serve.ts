import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { QueryEngine } from '../query/index.js';
// knn.ts directly: the learn index loads TensorFlow.js (1.6 s), which serving does not need.
import { KnnService } from '../learn/knn.js';
import { isRemoteLocation, openStore, OxigraphStore, type GraphStore } from '../store/index.js';
import { answerQuery, QueryFailure, type QueryRequest } from './answer.js';
import { createApp, type RouteFactory } from './app.js';
import { DEFAULT_CONFIG, type ServerConfig, type ServerContext, type SparqlExecutor } from './context.js';
import { QueryTimeout, WorkerPool } from './executor.js';
import { JobCaches, runJob, type JobArgs, type JobKind, type JobResult } from './jobs.js';
import { PooledStore } from './pooled-store.js';

/**
 * Runs queries and jobs from this thread: for a remote store (the query runs on the server; its answer
 * is awaited no longer than the time limit) and where no compiled worker exists (tests from sources).
 */
export class InProcessExecutor implements SparqlExecutor {
  private readonly caches = new JobCaches();
  constructor(private readonly ctx: () => ServerContext) {}
  async run(request: QueryRequest, timeoutMs?: number) {
    const { engine, store } = this.ctx();
    if (!engine) throw new QueryFailure(503, 'no query engine on this thread');
    return withLimit(answerQuery(engine, store, request), timeoutMs);
  }
  job<K extends JobKind>(kind: K, args: JobArgs<K>, timeoutMs?: number): Promise<JobResult<K>> {
    const { store, ontology, config } = this.ctx();
    return withLimit(runJob({ store, ontology, config, caches: this.caches }, kind, args), timeoutMs);
  }
  async reload(): Promise<void> {}
  async close(): Promise<void> {}
}

/** The answer, or a QueryTimeout once `timeoutMs` have passed (the work itself cannot be stopped here). */
async function withLimit<T>(work: Promise<T>, timeoutMs?: number): Promise<T> {
  if (!timeoutMs) return work;
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new QueryTimeout(timeoutMs)), timeoutMs)));
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Query workers by default: two at least, so that a cheap query never waits behind a runaway one;
 * one per core beyond the first up to four, since each worker holds its own copy of the store.
 */
export function defaultWorkers(cores = availableParallelism()): number {
  return Math.min(4, Math.max(2, cores - 1));
}

export interface RunningServer {
  url: string;
  server: Server;
  context: ServerContext;
  close(): Promise<void>;
}

/**
 * Opens the store (a directory or a remote SPARQL store URL), builds the context and listens. `routes`
 * adds cohort and retrieval route groups. The embedded store is held by the query workers alone: they
 * answer /sparql and every other route's jobs (so a time limit can stop any of them, and this thread
 * stays free), while this thread keeps the write lock and the ontology only. A remote store answers
 * over the network from this thread.
 */
export async function startServer(location: string, options: Partial<ServerConfig> = {}, routes: RouteFactory[] = []): Promise<RunningServer> {
  const config: ServerConfig = { ...DEFAULT_CONFIG, ...options };
  const workerFile = fileURLToPath(new URL('./query-worker.js', import.meta.url));
  const workers = config.workers ?? defaultWorkers();
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`workers ${workers}: give a whole number of at least 1`);
  const pooled = existsSync(workerFile) && !isRemoteLocation(location);
  let context!: ServerContext;
  let store: GraphStore;
  let executor: SparqlExecutor;
  if (pooled) {
    // The write lock and the ontology: no quads on this thread.
    const header = await OxigraphStore.header(location, { write: true });
    if (!header.ontology) {
      header.release();
      throw new Error(`${location}: the store has no ontology yet; ingest with --hpo first`);
    }
    const pool = new WorkerPool(location, config.maxRows, workers, config);
    try {
      await pool.start();
    } catch (e) {
      await pool.close();
      header.release();
      throw new Error(`a query worker could not load ${location}: ${(e as Error).message}`);
    }
    store = new PooledStore(location, pool, header.ontology, config.timeoutMs, header);
    executor = pool;
    // A write job reloads the workers itself before it answers.
    context = { store, ontology: header.ontology, executor, config, async afterWrite() {} };
  } else {
    store = await openStore(location, { write: true });
    const ontology = await store.ontology();
    if (!ontology) {
      await store.close();
      throw new Error(`${location}: the store has no ontology yet; ingest with --hpo first`);
    }
    executor = new InProcessExecutor(() => context);
    // kNN clauses where queries run on this thread (a remote store, or no worker file).
    const knn = new KnnService({ store, storeDir: isRemoteLocation(location) ? undefined : location });
    const engine = await QueryEngine.create(store, ontology, { maxRows: config.maxRows, services: [knn] });
    context = {
      store, ontology, engine, executor, config,
      async afterWrite() {
        await engine.refresh();
      },
    };
  }
  const app = createApp(context, routes);
  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      // Express 5 calls this back with the error too (a port in use): never take that for listening.
      const s = app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve(s)));
      s.once('error', reject);
    });
  } catch (e) {
    await executor.close();
    await store.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`port ${config.port} on ${config.host} is already in use (choose another with --port)`);
    if (code === 'EACCES') throw new Error(`port ${config.port} on ${config.host}: permission denied (ports below 1024 need privileges)`);
    throw e;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${port}`,
    server,
    context,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      await executor.close();
      await store.close();
    },
  };
}
