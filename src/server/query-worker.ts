import { parentPort, workerData } from 'node:worker_threads';
import { KnnService } from '../learn/knn.js';
import { QueryEngine } from '../query/index.js';
import { OxigraphStore } from '../store/index.js';
import { answerQuery, isTrap, QueryFailure, type QueryRequest } from './answer.js';
import type { ServerConfig } from './context.js';
import { failureData, JobCaches, runJob, WRITE_JOBS, type JobEnv, type JobKind } from './jobs.js';

// The worker side of WorkerPool (executor.ts): loads the store read-only and answers one message at a
// time: a /sparql query, or a job of another route (cohorts, similarity, page data, a write).
const { storeDir, maxRows, config } = workerData as { storeDir: string; maxRows: number; config: ServerConfig };
type Message = { id: number } & ({ query: QueryRequest } | { job: JobKind; args: never });

try {
  const store = await OxigraphStore.open(storeDir);
  const ontology = await store.ontology();
  const engine = await QueryEngine.create(store, ontology, { maxRows, services: [new KnnService({ store, storeDir })] });
  const env: JobEnv | undefined = ontology ? { store, ontology, config, caches: new JobCaches() } : undefined;
  parentPort!.on('message', async (m: Message) => {
    if ('query' in m) {
      try {
        parentPort!.postMessage({ id: m.id, ok: true, value: await answerQuery(engine, store, m.query) });
      } catch (e) {
        // answerQuery gives every failure a status; `trapped` tells the pool to replace this worker.
        const f = e instanceof QueryFailure ? e : new QueryFailure(500, String((e as Error)?.message ?? e));
        parentPort!.postMessage({ id: m.id, ok: false, error: f.message, status: f.status, trapped: f.trapped });
      }
      return;
    }
    const write = WRITE_JOBS.has(m.job);
    // The main thread holds the store's write lock; this copy applies the write and the pool then
    // replaces every worker (this one too) by one that has read it.
    if (write) store.writeUnderProcessLock();
    const generation = async () => (write ? { generation: await store.generation() } : {});
    try {
      if (!env) throw new QueryFailure(503, `${storeDir}: the store has no ontology yet; ingest with --hpo first`);
      const value = await runJob(env, m.job, m.args);
      parentPort!.postMessage({ id: m.id, ok: true, value, ...(await generation()) });
    } catch (e) {
      const trapped = isTrap(e);
      const f = failureData(e);
      parentPort!.postMessage({ id: m.id, ok: false, ...f, ...(trapped ? { status: 422, trapped } : {}), ...(await generation()) });
    }
  });
  parentPort!.postMessage({ type: 'ready', stats: { size: await store.size(), generation: await store.generation(), meta: { ...(await store.meta()) } } });
} catch (e) {
  parentPort!.postMessage({ type: 'failed', error: (e as Error).message });
}
