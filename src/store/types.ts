import type { Quad } from 'n3';

/** Where a rejected record came from and why it was rejected; kept so nothing is lost silently. */
export interface QuarantineEntry {
  /** Phenopacket id, when the record had one. */
  id?: string;
  file: string;
  entry?: string;
  line?: number;
  stage: 'read' | 'check' | 'validate' | 'map';
  reasons: { path?: string; message: string; focusNode?: string; severity?: string; value?: string }[];
  /** The record as read, so it can be fixed and re-ingested. */
  record?: unknown;
  at: string;
}

/** One atomic write: after a crash the store is as before or after the whole batch. */
export interface StoreBatch {
  /** Graphs whose whole content is replaced by these quads (an empty list drops the graph). */
  replace: Map<string, Quad[]>;
  /** Quads added to shared graphs (entity labels): idempotent, never replaced. */
  add: Quad[];
  rejected: QuarantineEntry[];
  /** Ids accepted in this batch: any earlier quarantine entry for them is cleared. */
  accepted: string[];
}

export type ResultFormat = 'json' | 'xml' | 'csv' | 'tsv' | 'turtle' | 'ntriples' | 'nquads' | 'jsonld';

/** A SPARQL query's answer, already serialised in the requested format. */
export interface SerializedResult {
  kind: 'bindings' | 'boolean' | 'graph';
  format: ResultFormat;
  body: string;
}

/**
 * The seam every store backend implements: the embedded Oxigraph store now, a remote SPARQL 1.1
 * endpoint and a Neo4j mirror later. Query rewriting and formats live above it, in src/query.
 */
export interface GraphStore {
  readonly kind: string;
  /** SELECT rows as plain values (IRIs and literal lexical forms); undefined for unbound. */
  select(sparql: string): Record<string, string | undefined>[];
  ask(sparql: string): boolean;
  /** Any query, answered in a W3C serialisation. */
  serialize(sparql: string, format: ResultFormat): SerializedResult;
  update(sparql: string): Promise<void>;
  commit(batch: StoreBatch): Promise<void>;
  quarantine(): QuarantineEntry[];
  size(): number;
  close(): void;
}
