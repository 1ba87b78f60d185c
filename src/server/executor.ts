import { Worker } from 'node:worker_threads';
import { QueryFailure, type QueryAnswer, type QueryRequest } from './answer.js';
import type { ServerConfig } from './context.js';
import { failureOf, WRITE_JOBS, type JobArgs, type JobKind, type JobResult } from './jobs.js';

export type ExecutorResult = QueryAnswer;

export class QueryTimeout extends Error {
  constructor(readonly ms: number, readonly queued = false) {
    super(queued
      ? `every query worker stayed busy for ${ms} ms: the query was not started (try again, or start the server with more --workers)`
      : `query exceeded the ${ms} ms time limit and was stopped`);
  }
}

/** Why workers were replaced, counted for /health and /metrics. */
export interface Restarts {
  timeout: number;
  trap: number;
  crash: number;
  reload: number;
}

export interface ExecutorHealth {
  /** Workers wanted. */
  size: number;
  ready: number;
  busy: number;
  starting: number;
  queued: number;
  timeouts: number;
  restarts: Restarts;
  /** Writes applied to a worker's copy in place (no reload). */
  refreshes: number;
  lastTrap?: { at: string; error: string };
  lastStartError?: string;
}

type SlotState = 'starting' | 'idle' | 'busy' | 'retired';

/** What a worker is asked: a /sparql query, or a job of jobs.ts. */
type Work = { query: QueryRequest } | { job: JobKind; args: unknown };

interface Job {
  work: Work;
  timeoutMs: number;
  resolve(reply: WorkerReply): void;
  reject(e: Error): void;
  queueTimer?: NodeJS.Timeout;
}

/** The store as the newest ready worker loaded it: what /stats and /metrics show without asking a worker. */
export interface StoreStats {
  size: number;
  generation: string;
  meta: Record<string, string>;
  /** Records in the quarantine. */
  rejected?: number;
}

interface Slot {
  worker: Worker;
  state: SlotState;
  ready: Promise<void>;
  job?: Job;
  jobId?: number;
  timer?: NodeJS.Timeout;
  /** A reload has a fresh replacement ready: end this one when its query is done. */
  retireWhenIdle?: boolean;
  /** Refreshes posted to this worker and not yet answered, by number. */
  refreshes?: Map<number, (applied: boolean) => void>;
}

interface WorkerReply {
  type?: 'ready' | 'failed' | 'refreshed';
  id?: number;
  ok?: boolean;
  value?: unknown;
  error?: string;
  status?: number;
  trapped?: boolean;
  /** A cohort definition's issues (a 400). */
  issues?: { path: string; message: string }[];
  /** With 'ready'. */
  stats?: StoreStats;
  /** After a write job, done or failed: the generation of the store it wrote. */
  generation?: string;
  /** After a write job: whether it rewrote the segment log (a compaction), so that copies cannot catch up. */
  rewritten?: boolean;
  /** With 'refreshed': its number, and whether the copy caught up with the store on disk. */
  refresh?: number;
  applied?: boolean;
}

/**
 * A pool of query workers, each holding its own copy of the store (memory: one store per worker, one
 * more while a worker is being replaced; the main thread holds none). They answer /sparql queries and
 * the jobs of the other routes (jobs.ts); a write job is applied by one of them. Oxigraph's evaluation is synchronous WASM that
 * cannot be interrupted, so a query past its time limit is stopped by ending its worker; a trapped
 * WASM instance is ended the same way. Either way the replacement is started first, and the other
 * workers go on answering. After a write the workers are replaced one at a time, each old worker
 * ending only once its replacement is ready, so readers never wait for a reload.
 */
export class WorkerPool {
  private readonly slots = new Set<Slot>();
  private readonly queue: Job[] = [];
  private seq = 0;
  private closed = false;
  private timeouts = 0;
  private refreshed = 0;
  private lastTrap?: { at: string; error: string };
  private lastStartError?: string;
  readonly restarts: Restarts = { timeout: 0, trap: 0, crash: 0, reload: 0 };
  private rolling: Promise<void> = Promise.resolve();
  private queuedRoll?: Promise<void>;
  /** Writes one at a time, each with the reload that follows it. */
  private writing: Promise<unknown> = Promise.resolve();
  private latest?: StoreStats;

  constructor(
    private readonly storeDir: string,
    private readonly maxRows: number,
    readonly size: number,
    /** The server's settings, for the jobs (annotation files, the MME schema and contact). */
    private readonly config: ServerConfig,
    private readonly workerUrl: URL = new URL('./query-worker.js', import.meta.url),
  ) {}

  /** Starts every worker; fails (with the worker's error) if any cannot load the store. */
  async start(): Promise<void> {
    const started = Array.from({ length: this.size }, () => this.spawn());
    await Promise.all(started.map((s) => s.ready));
  }

  async run(request: QueryRequest, timeoutMs: number): Promise<QueryAnswer> {
    return (await this.submit({ query: request }, timeoutMs)).value as QueryAnswer;
  }

  /**
   * A job in a worker, that worker's own copy answering. A write job waits for the writes before it
   * and their reloads; its answer comes once every worker has been replaced by one that has read it.
   */
  job<K extends JobKind>(kind: K, args: JobArgs<K>, timeoutMs: number): Promise<JobResult<K>> {
    if (!WRITE_JOBS.has(kind)) return this.submit({ job: kind, args }, timeoutMs).then((r) => r.value as JobResult<K>);
    const done = this.writing.then(async () => {
      let reply: WorkerReply;
      try {
        reply = await this.submit({ job: kind, args }, timeoutMs);
      } catch (e) {
        // Refused by the worker: it says whether anything was written. Stopped or lost: it may have been.
        const { generation, rewritten } = e as { generation?: string; rewritten?: boolean };
        if (generation === undefined) await this.reload();
        else if (generation !== this.latest?.generation) await this.propagate(rewritten === true);
        throw e;
      }
      if (reply.generation !== this.latest?.generation) await this.propagate(reply.rewritten === true);
      return reply.value as JobResult<K>;
    });
    this.writing = done.catch(() => undefined);
    return done;
  }

  /** The store as the newest worker loaded it, or undefined before the first is ready. */
  stats(): StoreStats | undefined {
    return this.latest;
  }

  private submit(work: Work, timeoutMs: number): Promise<WorkerReply> {
    if (this.closed) return Promise.reject(new QueryFailure(503, 'the server is shutting down'));
    if (this.live().length === 0) return Promise.reject(new QueryFailure(503, `no query worker is running (${this.lastStartError ?? 'none could start'})`));
    return new Promise((resolve, reject) => {
      const job: Job = { work, timeoutMs, resolve, reject };
      if (timeoutMs > 0) {
        // Waiting for a worker counts too: a query is never queued for longer than it may run.
        job.queueTimer = setTimeout(() => {
          const i = this.queue.indexOf(job);
          if (i >= 0) this.queue.splice(i, 1);
          this.timeouts++;
          reject(new QueryTimeout(timeoutMs, true));
        }, timeoutMs);
      }
      this.queue.push(job);
      this.dispatch();
    });
  }

  /**
   * After a write one worker applied: every worker's copy catches up with the store on disk (the
   * writer's too, for its caches), in the order of its messages, so every job dispatched from now on
   * sees the write; a copy that cannot (the write rewrote the log) is replaced as on a reload.
   */
  private async propagate(rewritten: boolean): Promise<void> {
    if (rewritten) return this.reload();
    // After a reload in progress, so that no worker loaded before the write is left behind.
    await this.rolling;
    const lagging: Slot[] = [];
    await Promise.all(this.live().map(async (slot) => {
      if (!(await this.refresh(slot))) lagging.push(slot);
    }));
    if (lagging.length) await this.reload();
  }

  /** Asks one worker to catch up; true once it has (or it has been ended: its replacement loads the new store). */
  private async refresh(slot: Slot): Promise<boolean> {
    try {
      await slot.ready;
    } catch {
      return true;
    }
    if (slot.state === 'retired') return true;
    const n = ++this.seq;
    const answered = new Promise<boolean>((resolve) => (slot.refreshes ??= new Map()).set(n, resolve));
    slot.worker.postMessage({ type: 'refresh', refresh: n });
    return answered;
  }

  /** After a write to the store on disk: every worker is replaced by one that has read it. */
  reload(): Promise<void> {
    if (!this.queuedRoll) {
      const roll = this.rolling.then(() => {
        this.queuedRoll = undefined;
        return this.rollAll();
      });
      this.queuedRoll = roll;
      this.rolling = roll.catch(() => undefined);
    }
    return this.queuedRoll;
  }

  health(): ExecutorHealth {
    const live = this.live();
    const count = (s: SlotState) => live.filter((x) => x.state === s).length;
    return {
      size: this.size, ready: count('idle') + count('busy'), busy: count('busy'), starting: count('starting'),
      queued: this.queue.length, timeouts: this.timeouts, restarts: { ...this.restarts }, refreshes: this.refreshed,
      ...(this.lastTrap ? { lastTrap: this.lastTrap } : {}),
      ...(this.lastStartError ? { lastStartError: this.lastStartError } : {}),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) {
      clearTimeout(job.queueTimer);
      job.reject(new QueryFailure(503, 'the server is shutting down'));
    }
    await Promise.all(this.live().map((s) => this.retire(s)));
  }

  private live(): Slot[] {
    return [...this.slots].filter((s) => s.state !== 'retired');
  }

  private spawn(): Slot {
    const worker = new Worker(this.workerUrl, { workerData: { storeDir: this.storeDir, maxRows: this.maxRows, config: this.config } });
    let ready!: () => void;
    let failed!: (e: Error) => void;
    const slot: Slot = { worker, state: 'starting', ready: new Promise<void>((res, rej) => ((ready = res), (failed = rej))) };
    slot.ready.catch(() => undefined);
    this.slots.add(slot);
    worker.on('message', (m: WorkerReply) => {
      if (m.type === 'ready') {
        if (m.stats && Number(m.stats.generation) >= Number(this.latest?.generation ?? 0)) this.latest = m.stats;
        slot.state = 'idle';
        ready();
        this.dispatch();
      } else if (m.type === 'failed') {
        this.lastStartError = m.error;
        process.stderr.write(`harmonia: a query worker could not load the store: ${m.error}\n`);
        failed(new Error(m.error));
        void this.retire(slot);
        this.afterLoss();
      } else if (m.type === 'refreshed') {
        if (m.stats && Number(m.stats.generation) >= Number(this.latest?.generation ?? 0)) this.latest = m.stats;
        if (m.applied) this.refreshed++;
        slot.refreshes?.get(m.refresh!)?.(m.applied === true);
        slot.refreshes?.delete(m.refresh!);
      } else if (m.id !== undefined && m.id === slot.jobId) {
        this.finish(slot, m);
      }
    });
    worker.on('error', (e) => {
      // An uncaught error ends the worker: its query fails, and a new worker takes its place.
      if (slot.state === 'starting') this.lastStartError = e.message;
      failed(e);
      this.lost(slot, e.message);
    });
    worker.on('exit', () => this.lost(slot, 'the query worker exited'));
    return slot;
  }

  /** A worker that died on its own (not retired by us). */
  private lost(slot: Slot, reason: string): void {
    if (slot.state === 'retired') return;
    const wasStarting = slot.state === 'starting';
    const job = this.release(slot);
    const needed = this.short(slot);
    slot.state = 'retired';
    this.slots.delete(slot);
    this.settleRefreshes(slot);
    job?.reject(new QueryFailure(500, `the query worker failed while answering (${reason}); it has been replaced`));
    if (wasStarting) return this.afterLoss();
    this.restarts.crash++;
    if (needed) this.spawn();
    this.dispatch();
  }

  /** When a start failed: try again later while the pool is short, so that one bad moment is not final. */
  private afterLoss(): void {
    if (this.live().length === 0) {
      for (const job of this.queue.splice(0)) {
        clearTimeout(job.queueTimer);
        job.reject(new QueryFailure(503, `no query worker is running (${this.lastStartError ?? 'none could start'})`));
      }
    }
    if (this.closed) return;
    setTimeout(() => {
      if (!this.closed && this.live().length < this.size) this.spawn();
    }, 1000).unref();
  }

  private dispatch(): void {
    while (this.queue.length) {
      const slot = this.live().find((s) => s.state === 'idle');
      if (!slot) return;
      const job = this.queue.shift()!;
      clearTimeout(job.queueTimer);
      slot.state = 'busy';
      slot.job = job;
      slot.jobId = ++this.seq;
      if (job.timeoutMs > 0) slot.timer = setTimeout(() => this.timedOut(slot), job.timeoutMs);
      slot.worker.postMessage({ id: slot.jobId, ...job.work });
    }
  }

  private timedOut(slot: Slot): void {
    const job = this.release(slot);
    if (!job) return;
    this.timeouts++;
    this.restarts.timeout++;
    job.reject(new QueryTimeout(job.timeoutMs));
    this.replace(slot);
  }

  private finish(slot: Slot, m: WorkerReply): void {
    const job = this.release(slot);
    if (!job) return;
    if (m.ok) job.resolve(m);
    else if ('query' in job.work) job.reject(new QueryFailure(m.status ?? 400, m.error ?? 'query failed', m.trapped));
    else job.reject(Object.assign(failureOf(m), m.generation !== undefined ? { generation: m.generation } : {}));
    if (m.trapped) {
      this.restarts.trap++;
      this.lastTrap = { at: new Date().toISOString(), error: (m.error ?? '').slice(0, 300) };
      return this.replace(slot);
    }
    if (slot.retireWhenIdle) void this.retire(slot);
    else slot.state = 'idle';
    this.dispatch();
  }

  /** Detaches the slot's current job (and its timer). */
  private release(slot: Slot): Job | undefined {
    clearTimeout(slot.timer);
    const job = slot.job;
    slot.job = undefined;
    slot.jobId = undefined;
    return job;
  }

  /** The replacement starts loading first; then the old worker is ended (it cannot be used any more). */
  private replace(slot: Slot): void {
    if (this.short(slot)) this.spawn();
    void this.retire(slot);
    this.dispatch();
  }

  /** Whether, without `leaving`, fewer workers than wanted would remain (one a reload retires does not count). */
  private short(leaving: Slot): boolean {
    if (this.closed) return false;
    return this.live().filter((s) => s !== leaving && !s.retireWhenIdle).length < this.size;
  }

  private async retire(slot: Slot): Promise<void> {
    if (slot.state === 'retired') return;
    slot.state = 'retired';
    this.slots.delete(slot);
    this.settleRefreshes(slot);
    await slot.worker.terminate();
  }

  /** An ended worker answers no refresh: its replacement loads the store as it is on disk. */
  private settleRefreshes(slot: Slot): void {
    for (const resolve of slot.refreshes?.values() ?? []) resolve(true);
    slot.refreshes?.clear();
  }

  /** One worker at a time: its replacement is ready before it is ended, so memory holds one extra copy at most. */
  private async rollAll(): Promise<void> {
    for (const old of this.live()) {
      if (this.closed) return;
      if (old.state === 'retired') continue;
      const fresh = this.spawn();
      try {
        await fresh.ready;
      } catch (e) {
        throw new Error(`the store was written, but a query worker could not reload it: ${(e as Error).message}`);
      }
      this.restarts.reload++;
      if (old.state === 'busy') old.retireWhenIdle = true;
      else await this.retire(old);
    }
  }
}
