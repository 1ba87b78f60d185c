import { Worker } from 'node:worker_threads';
import type { ResultFormat, SerializedResult } from '../store/index.js';
import type { PreparedQuery } from '../query/index.js';

export interface ExecutorResult {
  prepared: PreparedQuery;
  result: SerializedResult;
}

export class QueryTimeout extends Error {
  constructor(readonly ms: number) {
    super(`query exceeded the ${ms} ms time limit and was stopped`);
  }
}

/**
 * Runs /sparql queries in a worker thread holding a read-only copy of the store. Oxigraph's
 * evaluation is synchronous WASM that cannot be interrupted, so a query past its time limit is
 * stopped by ending the worker; a fresh worker reloads the store from disk, queued queries wait.
 */
export class WorkerExecutor {
  private worker?: Worker;
  private ready?: Promise<void>;
  private chain: Promise<unknown> = Promise.resolve();
  private seq = 0;

  constructor(
    private readonly storeDir: string,
    private readonly maxRows: number,
  ) {}

  start(): Promise<void> {
    const url = new URL('./query-worker.js', import.meta.url);
    const worker = new Worker(url, { workerData: { storeDir: this.storeDir, maxRows: this.maxRows } });
    this.worker = worker;
    this.ready = new Promise((resolve, reject) => {
      const onMessage = (m: { type: string; error?: string }): void => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'failed') reject(new Error(m.error));
        worker.off('message', onMessage);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
    return this.ready;
  }

  /** After a write to the store on disk: the next query sees it. */
  async reload(): Promise<void> {
    await this.chain.catch(() => undefined);
    await this.worker?.terminate();
    await this.start();
  }

  run(sparql: string, format: ResultFormat, timeoutMs: number): Promise<ExecutorResult> {
    const job = this.chain.catch(() => undefined).then(() => this.runNow(sparql, format, timeoutMs));
    this.chain = job;
    return job;
  }

  private async runNow(sparql: string, format: ResultFormat, timeoutMs: number): Promise<ExecutorResult> {
    await this.ready;
    const worker = this.worker!;
    const id = ++this.seq;
    return new Promise<ExecutorResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        worker.off('message', onMessage);
        reject(new QueryTimeout(timeoutMs));
        // Queries queued behind this one wait for the fresh worker, not the one being ended.
        this.ready = worker.terminate().then(() => this.start());
        this.ready.catch(() => undefined);
      }, timeoutMs);
      const onMessage = (m: { id: number; ok: boolean; value?: ExecutorResult; error?: string; status?: number }): void => {
        if (m.id !== id) return;
        clearTimeout(timer);
        worker.off('message', onMessage);
        if (m.ok) resolve(m.value!);
        else reject(Object.assign(new Error(m.error), { status: m.status ?? 400 }));
      };
      worker.on('message', onMessage);
      worker.postMessage({ id, sparql, format });
    });
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
  }
}
