import type { GraphStore } from '../store/index.js';
import {
  EMBEDDED_LABELS, constraintStatements, deleteOrphansStatement, deleteStatements, dropVectorIndexStatement, indexStatements,
  mirrorStatement, patientStatements, prunePhenotypesStatement, readMirror, readPatients as readPatientHashes,
  readRecords as readRecordHashes, recordStatements, termStatements, vectorIndexStatement,
  type CypherStatement, type EmbeddedLabel,
} from './cypher.js';
import { MIRROR_MODEL, hasEmbeddings, listPatients, listRecords, readOntology, readPatients, readRecords, type Embedding, type ReadOptions } from './read.js';

/**
 * Where the statements go. The Neo4j implementation runs them with neo4j-driver; tests use a fake
 * that records them. `write` runs its statements in one transaction.
 */
export interface CypherRunner {
  read(statement: CypherStatement): Promise<Record<string, unknown>[]>;
  write(statements: CypherStatement[]): Promise<void>;
}

export interface MirrorOptions {
  /** Patients (or records) read and written per transaction, and most rows in one UNWIND (default 500). */
  batch?: number;
  /** Re-send everything, ignoring the watermark (deleted patients and records are removed either way). */
  full?: boolean;
  /** The HarmoniaMirror node's id: one store mirrored per database (default "harmonia"). */
  mirrorId?: string;
  /** The embedding model to mirror when the store holds several. */
  embeddingModel?: string;
  onProgress?: (p: { stage: 'ontology' | 'patients' | 'records'; done: number; total: number }) => void;
}

export interface UnitCounts {
  inStore: number;
  sent: number;
  unchanged: number;
  deleted: number;
}

export interface MirrorSummary {
  /** True when the store's change token equals the one recorded at the last mirror: nothing was read or written. */
  upToDate: boolean;
  ontology: { terms: number; sent: boolean };
  patients: UnitCounts;
  records: UnitCounts;
  /** Vector indexes created (label: dimensions). */
  vectorIndexes: Record<string, number>;
  statements: number;
  rows: number;
  seconds: number;
}

export const DEFAULT_BATCH = 500;

interface MirrorState {
  generation?: string;
  model?: string;
  ontologyHash?: string;
  vectorDimensions: Partial<Record<EmbeddedLabel, number>>;
}

async function readState(runner: CypherRunner, id: string): Promise<MirrorState> {
  const [m] = await runner.read(readMirror(id));
  if (!m) return { vectorDimensions: {} };
  let dims: Partial<Record<EmbeddedLabel, number>> = {};
  try {
    dims = typeof m.vectorDimensions === 'string' ? (JSON.parse(m.vectorDimensions) as typeof dims) : {};
  } catch {
    dims = {}; // A hand-edited watermark: the indexes are checked again below.
  }
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return { generation: str(m.generation), model: str(m.model), ontologyHash: str(m.ontologyHash), vectorDimensions: dims };
}

async function readHashes(runner: CypherRunner, statement: CypherStatement): Promise<Map<string, string | undefined>> {
  const out = new Map<string, string | undefined>();
  for (const r of await runner.read(statement)) if (typeof r.id === 'string') out.set(r.id, typeof r.hash === 'string' ? r.hash : undefined);
  return out;
}

/** Dimensions of the embeddings seen, per label; two dimensions under one label are an error. */
class Dimensions {
  readonly seen: Partial<Record<EmbeddedLabel, number>> = {};
  note(label: EmbeddedLabel, e: Embedding | undefined, subject: string): void {
    if (!e) return;
    const d = this.seen[label];
    if (d !== undefined && d !== e.vector.length) throw new Error(`${subject}: an embedding of ${e.vector.length} dimensions among ${label} embeddings of ${d}: one vector index needs one dimension (choose a model with --embedding-model)`);
    this.seen[label] = e.vector.length;
  }
}

/**
 * Mirrors the store into a property graph (docs/neo4j.md): HPO terms and is_a, patients with their
 * phenotypes, diseases, genes and variants, records with their features and called variants,
 * embeddings with vector indexes. Incremental: a patient or record is sent only when its fingerprint
 * differs from the one on its Neo4j node, and one that left the store is deleted; when the store's
 * change token is the one recorded last time, nothing is sent at all.
 */
export async function mirrorStore(store: GraphStore, runner: CypherRunner, options: MirrorOptions = {}): Promise<MirrorSummary> {
  const started = Date.now();
  const size = options.batch ?? DEFAULT_BATCH;
  if (!Number.isInteger(size) || size < 1) throw new Error(`batch ${size}: expected a positive integer`);
  const id = options.mirrorId ?? 'harmonia';
  const summary: MirrorSummary = {
    upToDate: false, ontology: { terms: 0, sent: false },
    patients: { inStore: 0, sent: 0, unchanged: 0, deleted: 0 }, records: { inStore: 0, sent: 0, unchanged: 0, deleted: 0 },
    vectorIndexes: {}, statements: 0, rows: 0, seconds: 0,
  };
  const write = async (statements: CypherStatement[]): Promise<void> => {
    if (statements.length === 0) return;
    await runner.write(statements);
    summary.statements += statements.length;
    for (const s of statements) summary.rows += Array.isArray(s.params.rows) ? s.params.rows.length : Array.isArray(s.params.ids) ? s.params.ids.length : 1;
  };
  const finish = (): MirrorSummary => ({ ...summary, seconds: (Date.now() - started) / 1000 });

  const generation = await store.generation();
  const state = await readState(runner, id);
  const full = options.full === true || state.model !== MIRROR_MODEL;
  if (!full && state.generation === generation) {
    summary.upToDate = true;
    return finish();
  }

  // Schema statements run one per transaction: Neo4j does not mix schema and data changes in one.
  for (const s of [...constraintStatements(), ...indexStatements()]) await write([s]);

  const read: ReadOptions = { embeddings: await hasEmbeddings(store), embeddingModel: options.embeddingModel };
  const dims = new Dimensions();

  const ontology = await readOntology(store, read);
  summary.ontology.terms = ontology.terms.length;
  for (const t of ontology.terms) dims.note('Phenotype', t.embedding, t.id);
  if (full || state.ontologyHash !== ontology.hash) {
    // Every term before any is_a edge (an edge is drawn only between existing nodes), one statement a transaction.
    const statements = [...termStatements(ontology.terms, size), prunePhenotypesStatement(ontology.terms.map((t) => t.id))];
    for (const [i, s] of statements.entries()) {
      await write([s]);
      options.onProgress?.({ stage: 'ontology', done: i + 1, total: statements.length });
    }
    summary.ontology.sent = true;
  }

  /** Patients and records alike: read a batch, send those whose fingerprint changed (all with --full), count. */
  const mirrorUnits = async <L, U extends { id: string; hash: string; embedding?: Embedding }>(
    stage: 'patients' | 'records', label: 'Patient' | 'Record', list: L[], hashes: Map<string, string | undefined>,
    readBatch: (batch: L[]) => Promise<U[]>, statements: (units: U[], size: number) => CypherStatement[],
  ): Promise<void> => {
    const counts = summary[stage];
    counts.inStore = list.length;
    for (let i = 0; i < list.length; i += size) {
      const units = await readBatch(list.slice(i, i + size));
      for (const u of units) dims.note(label, u.embedding, u.id);
      const changed = units.filter((u) => full || hashes.get(u.id) !== u.hash);
      counts.sent += changed.length;
      counts.unchanged += units.length - changed.length;
      await write(statements(changed, size));
      options.onProgress?.({ stage, done: Math.min(i + size, list.length), total: list.length });
    }
  };

  const patientHashes = await readHashes(runner, readPatientHashes());
  const patients = await listPatients(store);
  await mirrorUnits('patients', 'Patient', patients, patientHashes, (batch) => readPatients(store, batch, read), patientStatements);
  const recordHashes = await readHashes(runner, readRecordHashes());
  const records = await listRecords(store);
  await mirrorUnits('records', 'Record', records, recordHashes, (batch) => readRecords(store, batch, read), recordStatements);

  // What left the store leaves the mirror: records first (their called variants), then patients.
  const inStore = { patients: new Set(patients.map((p) => p.id)), records: new Set(records.map((r) => r.id)) };
  const goneRecords = [...recordHashes.keys()].filter((r) => !inStore.records.has(r)).sort();
  const gonePatients = [...patientHashes.keys()].filter((p) => !inStore.patients.has(p)).sort();
  for (const s of deleteStatements('delete-records', goneRecords, size)) await write([s]);
  for (const s of deleteStatements('delete-patients', gonePatients, size)) await write([s]);
  summary.records.deleted = goneRecords.length;
  summary.patients.deleted = gonePatients.length;
  if (summary.patients.sent + summary.records.sent + goneRecords.length + gonePatients.length > 0) await write([deleteOrphansStatement()]);

  await writeVectorIndexes(write, state, dims, summary, read.embeddings || full);
  await write([mirrorStatement(id, {
    store: store.location, generation, model: MIRROR_MODEL, ontologyHash: ontology.hash,
    vectorDimensions: JSON.stringify(dims.seen), patients: patients.length, records: records.length, mirroredAt: new Date().toISOString(),
  })]);
  return finish();
}

/**
 * A vector index per label with embeddings, created when first seen; one whose dimension changed is
 * dropped and created again; one whose label has no embeddings any more is dropped.
 */
async function writeVectorIndexes(write: (s: CypherStatement[]) => Promise<void>, state: MirrorState, dims: Dimensions, summary: MirrorSummary, check: boolean): Promise<void> {
  if (!check && Object.keys(state.vectorDimensions).length === 0) return;
  for (const label of EMBEDDED_LABELS) {
    const now = dims.seen[label];
    const before = state.vectorDimensions[label];
    if (before !== undefined && before !== now) await write([dropVectorIndexStatement(label)]);
    if (now !== undefined) {
      await write([vectorIndexStatement(label, now)]);
      summary.vectorIndexes[label] = now;
    }
  }
}
