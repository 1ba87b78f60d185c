import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { QueryEngine } from '../query/index.js';
// knn.ts directly: the learn index loads TensorFlow.js (1.6 s), which serving does not need.
import { KnnService } from '../learn/knn.js';
import { isRemoteLocation, openStore } from '../store/index.js';
import { answerQuery, type QueryRequest } from './answer.js';
import { createApp, type RouteFactory } from './app.js';
import { DEFAULT_CONFIG, type ServerConfig, type ServerContext, type SparqlExecutor } from './context.js';
import { QueryTimeout, WorkerPool } from './executor.js';

/**
 * Runs queries from this thread: for a remote store (the query runs on the server; its answer is
 * awaited no longer than the time limit) and where no compiled worker exists (tests from sources).
 */
export class InProcessExecutor implements SparqlExecutor {
  constructor(private readonly ctx: () => ServerContext) {}
  async run(request: QueryRequest, timeoutMs?: number) {
    const answer = answerQuery(this.ctx().engine, this.ctx().store, request);
    if (!timeoutMs) return answer;
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new QueryTimeout(timeoutMs)), timeoutMs)));
    try {
      return await Promise.race([answer, limit]);
    } finally {
      clearTimeout(timer);
    }
  }
  async reload(): Promise<void> {}
  async close(): Promise<void> {}
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
 * adds cohort and retrieval route groups. The embedded store answers /sparql from a worker thread
 * (so a time limit can stop a query); a remote store answers over the network from this thread.
 */
export async function startServer(location: string, options: Partial<ServerConfig> = {}, routes: RouteFactory[] = []): Promise<RunningServer> {
  const config: ServerConfig = { ...DEFAULT_CONFIG, ...options };
  const workerFile = fileURLToPath(new URL('./query-worker.js', import.meta.url));
  const workers = config.workers ?? defaultWorkers();
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`workers ${workers}: give a whole number of at least 1`);
  const worker = existsSync(workerFile) && !isRemoteLocation(location) ? new WorkerPool(location, config.maxRows, workers) : undefined;
  // The workers load their copies of the store while this thread loads the main one.
  const workerReady = worker?.start();
  workerReady?.catch(() => undefined);
  const store = await openStore(location, { write: true });
  const ontology = await store.ontology();
  if (!ontology) {
    await store.close();
    await worker?.close();
    throw new Error(`${location}: the store has no ontology yet; ingest with --hpo first`);
  }
  let context!: ServerContext;
  const executor: SparqlExecutor = worker ?? new InProcessExecutor(() => context);
  // kNN clauses also where queries run on this thread (a remote store, or no worker file).
  const knn = new KnnService({ store, storeDir: isRemoteLocation(location) ? undefined : location });
  const engine = await QueryEngine.create(store, ontology, { maxRows: config.maxRows, services: [knn] });
  context = {
    store, ontology, engine, executor, config,
    async afterWrite() {
      await engine.refresh();
      await executor.reload();
    },
  };
  try {
    await workerReady;
  } catch (e) {
    await worker?.close();
    await store.close();
    throw new Error(`a query worker could not load ${location}: ${(e as Error).message}`);
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
