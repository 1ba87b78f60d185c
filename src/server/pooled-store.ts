import { Parser, type Quad } from 'n3';
import type { Ontology } from '../ontology/index.js';
import type { GraphStore, QuarantineEntry, ResultFormat, Row, SerializedResult, StoreBatch } from '../store/index.js';
import type { WorkerPool } from './executor.js';
import { batchData } from './jobs.js';

/**
 * The store as the main thread sees it behind the worker pool: it holds no quads. Each read is a job
 * in a query worker (under the time limit), each write a write job (one at a time, answered once every
 * worker has read it); counts and metadata come from what the newest worker reported when it loaded.
 * The routes send their heavy work to the workers as whole jobs; this serves the few small reads left
 * on this thread (the federation's local count, the graph store's read-before-write).
 */
export class PooledStore implements GraphStore {
  readonly kind = 'oxigraph';

  constructor(
    readonly location: string,
    private readonly pool: WorkerPool,
    private readonly saved: Ontology,
    private readonly timeoutMs: number,
    /** As the main thread read it at the start, with the write lock it holds until close. */
    private readonly header: { meta: Readonly<Record<string, string>>; generation: string; release(): void },
  ) {}

  select(sparql: string): Promise<Row[]> {
    return this.pool.job('store.select', { sparql }, this.timeoutMs);
  }

  async *selectStream(sparql: string): AsyncGenerator<Row> {
    for (const row of await this.select(sparql)) yield row;
  }

  ask(sparql: string): Promise<boolean> {
    return this.pool.job('store.ask', { sparql }, this.timeoutMs);
  }

  serialize(sparql: string, format: ResultFormat): Promise<SerializedResult> {
    return this.pool.job('store.serialize', { sparql, format }, this.timeoutMs);
  }

  async graphQuads(graph: string): Promise<Quad[]> {
    return new Parser({ format: 'N-Quads' }).parse(await this.pool.job('store.graphQuads', { graph }, this.timeoutMs));
  }

  update(sparql: string): Promise<void> {
    return this.pool.job('store.update', { sparql }, this.timeoutMs);
  }

  commit(batch: StoreBatch): Promise<void> {
    return this.pool.job('store.commit', batchData(batch), this.timeoutMs);
  }

  quarantine(): Promise<QuarantineEntry[]> {
    return this.pool.job('store.quarantine', undefined, this.timeoutMs);
  }

  /** The quarantine's size as the newest worker loaded it: /stats must not queue behind queries for it. */
  async rejected(): Promise<number> {
    return this.pool.stats()?.rejected ?? (await this.quarantine()).length;
  }

  async size(): Promise<number> {
    return this.pool.stats()?.size ?? (await this.pool.job('store.stats', undefined, this.timeoutMs)).size;
  }

  async generation(): Promise<string> {
    return this.pool.stats()?.generation ?? this.header.generation;
  }

  async meta(): Promise<Readonly<Record<string, string>>> {
    return this.pool.stats()?.meta ?? this.header.meta;
  }

  async ontology(): Promise<Ontology | undefined> {
    return this.saved;
  }

  async setOntology(): Promise<void> {
    throw new Error(`${this.location}: the ontology of a served store is changed with \`harmonia ingest --hpo\`, not through the server`);
  }

  private closed = false;

  async close(): Promise<void> {
    if (!this.closed) this.header.release();
    this.closed = true;
  }
}
