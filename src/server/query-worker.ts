import { parentPort, workerData } from 'node:worker_threads';
import { KnnService } from '../learn/knn.js';
import { QueryEngine } from '../query/index.js';
import { OxigraphStore } from '../store/index.js';
import { answerQuery, QueryFailure, type QueryRequest } from './answer.js';

// The worker side of WorkerPool (executor.ts): loads the store read-only and answers one query at a time.
const { storeDir, maxRows } = workerData as { storeDir: string; maxRows: number };
try {
  const store = await OxigraphStore.open(storeDir);
  const engine = await QueryEngine.create(store, await store.ontology(), { maxRows, services: [new KnnService({ store, storeDir })] });
  parentPort!.on('message', async (m: { id: number; request: QueryRequest }) => {
    try {
      parentPort!.postMessage({ id: m.id, ok: true, value: await answerQuery(engine, store, m.request) });
    } catch (e) {
      // answerQuery gives every failure a status; `trapped` tells the pool to replace this worker.
      const f = e instanceof QueryFailure ? e : new QueryFailure(500, String((e as Error)?.message ?? e));
      parentPort!.postMessage({ id: m.id, ok: false, error: f.message, status: f.status, trapped: f.trapped });
    }
  });
  parentPort!.postMessage({ type: 'ready' });
} catch (e) {
  parentPort!.postMessage({ type: 'failed', error: (e as Error).message });
}
