import type { Quad } from 'n3';
import type { Ontology } from '../ontology/index.js';

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
  /**
   * Places (file, entry, line) read and stored cleanly in this batch: earlier quarantine entries from
   * the same place are cleared too, which reaches records that had no usable id when they were rejected.
   */
  acceptedFrom?: { file: string; entry?: string; line?: number }[];
  /** Metadata keys this batch sets (merged into the store's metadata in the same commit). */
  meta?: Record<string, string>;
}

export type ResultFormat = 'json' | 'xml' | 'csv' | 'tsv' | 'turtle' | 'ntriples' | 'nquads' | 'jsonld';

/** A SPARQL query's answer, already serialised in the requested format. */
export interface SerializedResult {
  kind: 'bindings' | 'boolean' | 'graph';
  format: ResultFormat;
  body: string;
}

/** One SELECT row: variable name to plain value (an IRI, a literal's lexical form); undefined when unbound. */
export type Row = Record<string, string | undefined>;

/**
 * The seam every store backend implements: the embedded Oxigraph store, a remote SPARQL 1.1 endpoint,
 * and mirrors. Every call is asynchronous so that a backend may answer over the network; query
 * rewriting and result formats live above it, in src/query.
 */
/** What a statistics refresh did: done, or why not (a server refuses it to users without the right). */
export interface StatisticsRefresh {
  engine: string;
  refreshed: boolean;
  /** Whether the server wrote them into its database at once (Virtuoso: a checkpoint; see refreshStatistics). */
  checkpointed?: boolean;
  seconds: number;
  reason?: string;
}

/** What a caller promises about a SELECT's answer, so a backend may read it a cheaper way. */
export interface SelectOptions {
  /**
   * Every selected variable holds IRIs, strings or numbers (never booleans, blank nodes or the empty
   * string), read by their lexical form only. A remote backend then reads the server's CSV answer:
   * Virtuoso writes it 4-6 times faster than its JSON for answers of 80,000-260,000 rows (docs/stores.md).
   */
  lexical?: boolean;
  /**
   * Every triple pattern names its subject (a constant or a VALUES variable) and its predicate: a
   * backend whose planner could choose otherwise looks them up by subject. Virtuoso plans from index
   * statistics that a large load leaves stale, and then answered the ingest's lookup of 500 patients'
   * content hashes by reading every stored hash: 1.6-2.9 s at 250,000 patients, growing with the store,
   * against 10 ms with its subject index named.
   */
  bySubject?: boolean;
}

export interface GraphStore {
  readonly kind: string;
  /**
   * Recomputes the server's query-planning statistics after a large write, where the server needs it
   * (Virtuoso); undefined where there is nothing to do.
   */
  refreshStatistics?(): Promise<StatisticsRefresh | undefined>;
  /** Where the store lives: a directory or an endpoint URL (for messages and for finding a running server). */
  readonly location: string;
  /** SELECT rows (the union of all graphs is the default graph). */
  select(sparql: string, options?: SelectOptions): Promise<Row[]>;
  /** SELECT rows one by one, for answers too large to hold twice (as the backend's answer and as rows). */
  selectStream(sparql: string, options?: SelectOptions): AsyncIterable<Row>;
  ask(sparql: string): Promise<boolean>;
  /** Any query, answered in a W3C serialisation. */
  serialize(sparql: string, format: ResultFormat): Promise<SerializedResult>;
  /** Every quad of one named graph (validation and export of one record). */
  graphQuads(graph: string): Promise<Quad[]>;
  update(sparql: string): Promise<void>;
  commit(batch: StoreBatch): Promise<void>;
  quarantine(): Promise<QuarantineEntry[]>;
  /** Number of quads. May scan the store: not for hot paths (use generation() to detect change). */
  size(): Promise<number>;
  /** A token that changes whenever the store's content changes; cheap, for cache keys. */
  generation(): Promise<string>;
  /** Store metadata (hpoVersion, created, updated). */
  meta(): Promise<Readonly<Record<string, string>>>;
  /** The ontology the store was built with, if any (cached by the backend). */
  ontology(): Promise<Ontology | undefined>;
  /** Replaces the ontology graph and the saved ontology in one commit. */
  setOntology(ontology: Ontology, quads: Quad[], graph: string): Promise<void>;
  close(): Promise<void>;
}
