import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { QueryEngine } from '../query/index.js';
import { OxigraphStore, type ResultFormat } from '../store/index.js';
import { createApp, type RouteFactory } from './app.js';
import { DEFAULT_CONFIG, type ServerConfig, type ServerContext, type SparqlExecutor } from './context.js';
import { WorkerExecutor } from './executor.js';

/** Runs queries on the main thread: used where no compiled worker exists (tests from TypeScript sources). */
export class InProcessExecutor implements SparqlExecutor {
  constructor(private readonly ctx: () => ServerContext) {}
  async run(sparql: string, format: ResultFormat) {
    return this.ctx().engine.run(sparql, format);
  }
  async reload(): Promise<void> {}
  async close(): Promise<void> {}
}

export interface RunningServer {
  url: string;
  server: Server;
  context: ServerContext;
  close(): Promise<void>;
}

/** Opens the store, builds the context and listens. `routes` adds cohort and retrieval route groups. */
export async function startServer(storeDir: string, options: Partial<ServerConfig> = {}, routes: RouteFactory[] = []): Promise<RunningServer> {
  const config: ServerConfig = { ...DEFAULT_CONFIG, ...options };
  const workerFile = fileURLToPath(new URL('./query-worker.js', import.meta.url));
  const worker = existsSync(workerFile) ? new WorkerExecutor(storeDir, config.maxRows) : undefined;
  // The worker loads its copy of the store while this thread loads the main one: two cores, half the wait.
  const workerReady = worker?.start();
  workerReady?.catch(() => undefined);
  const store = await OxigraphStore.open(storeDir, { write: true });
  const ontology = store.ontology();
  if (!ontology) {
    store.close();
    await worker?.close();
    throw new Error(`${storeDir}: the store has no ontology yet; ingest with --hpo first`);
  }
  let context!: ServerContext;
  const executor: SparqlExecutor = worker ?? new InProcessExecutor(() => context);
  const engine = new QueryEngine(store, ontology, { maxRows: config.maxRows });
  context = {
    store, ontology, engine, executor, config,
    async afterWrite() {
      engine.refresh();
      await executor.reload();
    },
  };
  await workerReady;
  const app = createApp(context, routes);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
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
      store.close();
    },
  };
}
