import { parentPort, workerData } from 'node:worker_threads';
import { QueryEngine, QueryError } from '../query/index.js';
import { OxigraphStore, type ResultFormat } from '../store/index.js';

// The worker side of WorkerExecutor: loads the store read-only and answers one query at a time.
const { storeDir, maxRows } = workerData as { storeDir: string; maxRows: number };
try {
  const store = await OxigraphStore.open(storeDir);
  const engine = await QueryEngine.create(store, await store.ontology(), { maxRows });
  parentPort!.on('message', async (m: { id: number; sparql: string; format: ResultFormat }) => {
    try {
      parentPort!.postMessage({ id: m.id, ok: true, value: await engine.run(m.sparql, m.format) });
    } catch (e) {
      parentPort!.postMessage({ id: m.id, ok: false, error: (e as Error).message, status: e instanceof QueryError ? e.status : 400 });
    }
  });
  parentPort!.postMessage({ type: 'ready' });
} catch (e) {
  parentPort!.postMessage({ type: 'failed', error: (e as Error).message });
}
