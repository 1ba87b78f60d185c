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
type Message = ({ id: number } & ({ query: QueryRequest } | { job: JobKind; args: never })) | { type: 'refresh'; refresh: number };

try {
  const store = await OxigraphStore.open(storeDir);
  const ontology = await store.ontology();
  const engine = await QueryEngine.create(store, ontology, { maxRows, services: [new KnnService({ store, storeDir })] });
  const env: JobEnv | undefined = ontology ? { store, ontology, config, caches: new JobCaches() } : undefined;
  const stats = async () => ({ size: await store.size(), generation: await store.generation(), meta: { ...(await store.meta()) }, rejected: (await store.quarantine()).length });
  // One message at a time, in the order sent: a refresh the pool posts after a write is applied before
  // any job dispatched after it, and never in the middle of a job that awaits.
  let chain: Promise<void> = Promise.resolve();
  parentPort!.on('message', (m: Message) => {
    chain = chain.then(() => handle(m));
  });
  const handle = async (m: Message): Promise<void> => {
    if ('type' in m) {
      try {
        const applied = store.catchUp();
        if (applied) await engine.refresh();
        parentPort!.postMessage({ type: 'refreshed', refresh: m.refresh, applied, stats: await stats() });
      } catch (e) {
        // This copy may be half-applied: it must not answer again. The pool replaces an ended worker.
        parentPort!.postMessage({ type: 'refreshed', refresh: m.refresh, applied: false, error: (e as Error).message });
        process.exit(1);
      }
      return;
    }
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
    // brings the other workers up to it (or, when the write rewrote the log, replaces them all).
    if (write) store.writeUnderProcessLock();
    const before = write ? store.segmentFiles() : [];
    const generation = async () => {
      if (!write) return {};
      const after = store.segmentFiles();
      return { generation: await store.generation(), rewritten: !before.every((f, i) => f === after[i]) };
    };
    try {
      if (!env) throw new QueryFailure(503, `${storeDir}: the store has no ontology yet; ingest with --hpo first`);
      const value = await runJob(env, m.job, m.args);
      parentPort!.postMessage({ id: m.id, ok: true, value, ...(await generation()) });
    } catch (e) {
      const trapped = isTrap(e);
      const f = failureData(e);
      parentPort!.postMessage({ id: m.id, ok: false, ...f, ...(trapped ? { status: 422, trapped } : {}), ...(await generation()) });
    }
  };
  parentPort!.postMessage({ type: 'ready', stats: await stats() });
} catch (e) {
  parentPort!.postMessage({ type: 'failed', error: (e as Error).message });
}
