import type { Quad } from 'n3';
import { existsSync, statSync } from 'node:fs';
import { asPhenopacket, checkPhenopacketRecord, DEFAULT_CHECK_LIMITS } from '../harmonize/check.js';
import { mapPhenopacket, type MappedPatient } from '../map/index.js';
import { HX, ONTOLOGY_GRAPH, patientIri, VOCAB_GRAPH } from '../model/index.js';
import { ontologyQuads, vocabularyQuads, type Ontology } from '../ontology/index.js';
import { describeOrigin, phenopacketFileEntries, type Origin, type RecordEntry, type SourceRecord } from '../sources/index.js';
import { DEFAULT_READ_LIMITS, readJsonDocuments } from '../sources/read.js';
import type { GraphStore, QuarantineEntry } from '../store/index.js';
import { ShapeValidator } from '../validate/index.js';
import { ingestRoot, provenancePath, SOURCE_ROOTS_KEY, sourceRoots, withSourceRoot } from './source-paths.js';

export interface IngestOptions {
  /** Patients per atomic commit. */
  batchSize?: number;
  validator?: ShapeValidator;
  onProgress?: (p: IngestProgress) => void;
  /** Collects the phenopackets' `files` entries that name records Harmonia reads (VCF, NIfTI, ...). */
  recordFiles?: RecordEntry[];
  /** Bounds on one record (depth, string, record and zip entry sizes); defaults in DEFAULT_INGEST_LIMITS. */
  limits?: Partial<IngestLimits>;
  /** Store hx:sourceFile as absolute paths; by default it is relative to the ingest root (see source-paths.ts). */
  absolutePaths?: boolean;
}

export interface IngestProgress {
  read: number;
  accepted: number;
  rejected: number;
  unchanged: number;
}

export interface IngestSummary extends IngestProgress {
  /** Patients whose earlier version in the store was replaced. */
  replaced: number;
  /** Term notes (alt_id, obsolete, unknown) recorded on accepted patients. */
  termIssues: number;
  /** Lines of `rejections` that are notes, not rejections: duplicates, unknown fields, skipped folders. */
  notes?: number;
  /** Rejected records, and notes (stage `note`, `duplicate` or `files`) on accepted ones. */
  rejections: { id?: string; file: string; entry?: string; line?: number; stage: string; reason: string }[];
  triplesAdded: number;
  storeTriples: number;
  seconds: number;
}

/** Puts an ontology into the store (graph and saved copy) unless the same version is already there. */
export async function ensureOntology(store: GraphStore, ontology: Ontology): Promise<boolean> {
  const current = (await store.ontology())?.version === ontology.version && (await store.meta()).hpoVersion === ontology.version;
  if (current && (await store.ask(`ASK { GRAPH <${VOCAB_GRAPH}> { ?s ?p ?o } }`))) return false;
  // The vocabulary first: the ontology's version is what a re-run checks, so a kill between the two
  // commits is redone next time instead of leaving the store without its vocabulary for good (and a
  // store that lost it that way gets it back here).
  await store.commit({ replace: new Map([[VOCAB_GRAPH, vocabularyQuads()]]), add: [], rejected: [], accepted: [] });
  if (current) return false;
  await store.setOntology(ontology, ontologyQuads(ontology), ONTOLOGY_GRAPH);
  return true;
}

/** Every bound on one record, each refused with a clear reason (see docs/ingest.md). */
export interface IngestLimits {
  maxDepth: number;
  maxStringLength: number;
  maxRecordBytes: number;
  maxEntryBytes: number;
}

export const DEFAULT_INGEST_LIMITS: IngestLimits = {
  maxDepth: DEFAULT_READ_LIMITS.maxDepth,
  maxStringLength: DEFAULT_CHECK_LIMITS.maxStringLength,
  maxRecordBytes: DEFAULT_READ_LIMITS.maxRecordBytes,
  maxEntryBytes: DEFAULT_READ_LIMITS.maxEntryBytes,
};

/**
 * Sources -> check -> harmonise -> map -> validate -> store, in batches that are each committed
 * atomically. A record that fails any step goes to quarantine with its reason; the rest goes on.
 * An unchanged phenopacket (same content hash) is skipped, a changed one replaces its graph.
 */
export async function ingestPhenopackets(store: GraphStore, sources: string[], options: IngestOptions = {}): Promise<IngestSummary> {
  const limits = { ...DEFAULT_INGEST_LIMITS, ...options.limits };
  // Each source is the root its records' provenance paths are relative to.
  async function* rooted(onNote: (o: Origin, n: string) => void): AsyncGenerator<RootedRecord> {
    for (const source of sources) {
      const root = ingestRoot(source, existsSync(source) && statSync(source).isDirectory());
      for await (const rec of readJsonDocuments([source], { limits, onNote })) yield { ...rec, root };
    }
  }
  return ingestDocuments(store, rooted, options);
}

export interface RetrySummary extends IngestSummary {
  retry: {
    /** Quarantined phenopacket records looked for again. */
    entries: number;
    /** Of those, re-read from their source file (it is still there). */
    fromFiles: number;
    /** Of those, taken from the record JSON the quarantine kept (the source file is gone). */
    fromStored: number;
    /** Not retried: the file is gone and no record was kept (it never parsed), or the entry/line is no longer in the file. */
    missing: { file: string; entry?: string; line?: number; id?: string; why: string }[];
    /** Entries of other kinds (mapped rows, manifest records): re-run that ingest instead. */
    otherKinds: number;
  };
}

const PHENOPACKET_SOURCE = /\.(json|jsonl|ndjson|jsonl\.gz|ndjson\.gz|zip)$/i;

/**
 * Takes quarantined phenopackets back once they are fixed: each quarantined record is re-read from its
 * file, entry and line when the file is still there, or else from the record JSON the quarantine kept;
 * then it goes through the whole pipeline again. Fixed ones are stored and leave the quarantine; those
 * still wrong stay, with their new reasons.
 */
export async function retryQuarantine(store: GraphStore, options: IngestOptions = {}): Promise<RetrySummary> {
  const limits = { ...DEFAULT_INGEST_LIMITS, ...options.limits };
  const all = await store.quarantine();
  const entries = all.filter((e) => PHENOPACKET_SOURCE.test(e.file));
  const onDisk = entries.filter((e) => existsSync(e.file));
  const gone = entries.filter((e) => !existsSync(e.file));
  const retry: RetrySummary['retry'] = { entries: entries.length, fromFiles: 0, fromStored: 0, missing: [], otherKinds: all.length - entries.length };
  const matches = (e: QuarantineEntry, o: Origin): boolean =>
    e.file === o.file && (o.entry === undefined || e.entry === undefined || e.entry === o.entry) && (o.line === undefined || e.line === undefined || e.line === o.line);
  const found = new Set<QuarantineEntry>();
  async function* records(onNote: (o: Origin, n: string) => void): AsyncGenerator<SourceRecord> {
    const files = [...new Set(onDisk.map((e) => e.file))];
    for (const file of files) {
      const here = onDisk.filter((e) => e.file === file);
      // Only the quarantined entries and lines: the rest of an archive is not inflated again.
      for await (const rec of readJsonDocuments([file], { limits, onNote, want: (o) => here.some((e) => matches(e, o)) })) {
        const e = here.find((q) => matches(q, rec.origin));
        if (!e) continue;
        found.add(e);
        retry.fromFiles++;
        yield rec;
      }
    }
    for (const e of gone) {
      const origin: Origin = { file: e.file, ...(e.entry ? { entry: e.entry } : {}), ...(e.line ? { line: e.line } : {}) };
      if (e.record === undefined) continue;
      found.add(e);
      retry.fromStored++;
      yield { origin, json: structuredClone(e.record) };
    }
  }
  const summary = await ingestDocuments(store, records, options);
  for (const e of entries) {
    if (found.has(e)) continue;
    const why = existsSync(e.file) ? 'this entry or line is no longer in the file' : 'the file is gone and the record never parsed, so none was kept';
    retry.missing.push({ file: e.file, entry: e.entry, line: e.line, id: e.id, why });
  }
  return { ...summary, retry };
}

/** A record and the folder its provenance path is relative to (default: its file's folder, as for a retried record). */
type RootedRecord = SourceRecord & { root?: string };
type DocumentSource = (onNote: (origin: Origin, note: string) => void) => AsyncIterable<RootedRecord>;

async function ingestDocuments(store: GraphStore, documents: DocumentSource, options: IngestOptions): Promise<IngestSummary> {
  const started = performance.now();
  const ontology = await store.ontology();
  if (!ontology) throw new Error('no HPO in the store yet: pass --hpo FILE (hp.json or hp.obo) on the first ingest');
  const validator = options.validator ?? ShapeValidator.fromFile();
  const batchSize = options.batchSize ?? 1000;
  const limits = { ...DEFAULT_INGEST_LIMITS, ...options.limits };
  // Content hashes by patient graph: of what the store held, asked for each batch's patients only (a
  // read of all hashes at the start grew with the store: 4 s at 70,000 patients on Virtuoso, where
  // 1,000 patients asked by IRI take 0.1 s), and of what this run committed.
  const known = new Map<string, string>();
  /** Graphs whose stored hash has been asked for; those that had one were stored before this run. */
  const asked = new Set<string>();
  const previous = new Set<string>();
  let meta: Readonly<Record<string, string>> = await store.meta();
  /** Set when this run adds an ingest root: committed with the next batch, before any reader needs it. */
  let rootsChanged = false;
  const provenanceOrigin = (rec: RootedRecord): Origin => {
    const root = rec.root ?? ingestRoot(rec.origin.file, false);
    if (!options.absolutePaths && sourceRoots(meta)[0] !== root) {
      meta = { ...meta, [SOURCE_ROOTS_KEY]: withSourceRoot(meta, root) };
      rootsChanged = true;
    }
    return { ...rec.origin, file: provenancePath(rec.origin.file, root, options.absolutePaths) };
  };
  const summary: IngestSummary = { read: 0, accepted: 0, rejected: 0, unchanged: 0, replaced: 0, termIssues: 0, notes: 0, rejections: [], triplesAdded: 0, storeTriples: 0, seconds: 0 };
  let pending: Pending[] = [];
  let rejected: QuarantineEntry[] = [];
  let unchanged: string[] = [];
  /** Where this batch's stored and unchanged records were read: older quarantine entries from there are stale. */
  let acceptedFrom: Origin[] = [];
  /** Where the record of each id that this run stored came from. */
  const storedThisRun = new Map<string, Origin>();
  /** The commit still running, if any (see flush). */
  let committing: Promise<void> | undefined;

  const note = (origin: Origin, stage: string, reason: string, id?: string): void => {
    summary.notes = (summary.notes ?? 0) + 1;
    summary.rejections.push({ ...(id ? { id } : {}), ...origin, stage, reason });
  };
  /** Records rejected before validation whose id has another record in this run: noted once the batch is decided. */
  let rejectedTwins: { origin: Origin; id: string }[] = [];
  const reject = (rec: SourceRecord, stage: QuarantineEntry['stage'], reasons: QuarantineEntry['reasons'], id?: string, kept?: Origin): void => {
    const entry: QuarantineEntry = { ...rec.origin, stage, reasons, record: rec.json, at: new Date().toISOString() };
    if (id) entry.id = id;
    rejected.push(entry);
    summary.rejected++;
    summary.rejections.push({ id, ...rec.origin, stage, reason: reasons.map((r) => (r.path ? `${r.path}: ` : '') + r.message).join('; ') });
    // A wrong record never displaces a good one with the same id: say which one stays.
    if (id && kept) note(rec.origin, 'duplicate', `phenopacket id ${id} appears again here, but this record is rejected: the one from ${describeOrigin(kept)} is kept`, id);
  };

  /** The stored content hashes of these patients' graphs, for those not asked for yet, a few hundred at a time. */
  const askStoredHashes = async (patients: Pending[]): Promise<void> => {
    const ids = new Map<string, string>();
    for (const p of patients) if (!asked.has(p.mapped.graph)) ids.set(p.mapped.graph, p.mapped.id);
    const graphs = [...ids.keys()];
    for (let i = 0; i < graphs.length; i += 500) {
      const chunk = graphs.slice(i, i + 500);
      for (const g of chunk) asked.add(g);
      const values = chunk.map((g) => `<${patientIri(ids.get(g)!)}>`).join(' ');
      for await (const r of store.selectStream(`SELECT ?g ?h WHERE { VALUES ?p { ${values} } GRAPH ?g { ?p <${HX}contentHash> ?h } }`, { lexical: true, bySubject: true })) {
        known.set(r.g!, r.h!);
        previous.add(r.g!);
      }
    }
  };

  /**
   * Drops from the pending patients those whose content is stored already (or about to be, by an
   * earlier record of this batch), in reading order; they count as unchanged.
   */
  const setAsideUnchanged = (): void => {
    const kept: Pending[] = [];
    const batchHash = new Map<string, string>();
    for (const p of pending) {
      const { id, graph, contentHash } = p.mapped;
      if ((batchHash.get(id) ?? known.get(graph)) !== contentHash) {
        batchHash.set(id, contentHash);
        kept.push(p);
        continue;
      }
      // The same content again. Its files are still its records.
      const earlier = kept.findLast((k) => k.mapped.id === id)?.rec.origin ?? storedThisRun.get(id);
      if (earlier) note(p.rec.origin, 'duplicate', `phenopacket id ${id} appears again with the same content as in ${describeOrigin(earlier)}; one copy is kept`, id);
      options.recordFiles?.push(...p.files);
      summary.unchanged++;
      if (!batchHash.has(id)) unchanged.push(id);
      acceptedFrom.push(p.rec.origin);
    }
    pending = kept;
  };

  /**
   * Validates the pending patients together, then commits the conforming ones and the rejections.
   * Before the last, a batch of unchanged patients only is carried over to the next commit.
   */
  const flush = async (last: boolean): Promise<void> => {
    await askStoredHashes(pending);
    setAsideUnchanged();
    if (!last && pending.length === 0 && rejected.length === 0) return;
    if (pending.length === 0 && rejected.length === 0 && unchanged.length === 0 && acceptedFrom.length === 0 && rejectedTwins.length === 0) return;
    // A record the validator throws on is quarantined alone; the rest of the batch is judged as usual.
    const { violations, failed } = await validator.validateEach(pending.map((p) => p.mapped.quads));
    // Two valid records with one id: the later wins, as a re-ingest would. An invalid one never wins.
    const winner = new Map<string, number>();
    pending.forEach((p, i) => void (violations.get(i) || failed.has(i) || winner.set(p.mapped.id, i)));
    const replace = new Map<string, Quad[]>();
    const shared: Quad[] = [];
    const accepted: string[] = [];
    pending.forEach(({ rec, mapped, files }, i) => {
      const id = mapped.id;
      const v = violations.get(i);
      const f = failed.get(i);
      const w = winner.get(id);
      if (v || f) {
        const kept = w !== undefined ? pending[w].rec.origin : storedThisRun.get(id);
        const reasons = f ? [{ path: '$', message: f }] : v!.map((x) => ({ path: x.path, message: x.message, focusNode: x.focusNode, severity: x.severity, value: x.value }));
        return reject(rec, 'validate', reasons, id, kept);
      }
      if (w !== i) return note(rec.origin, 'duplicate', `phenopacket id ${id} appears again in ${describeOrigin(pending[w!].rec.origin)}; the later record replaces this one`, id);
      const earlier = storedThisRun.get(id);
      if (earlier) note(earlier, 'duplicate', `phenopacket id ${id} appears again in ${describeOrigin(rec.origin)}; the later record replaces this one`, id);
      storedThisRun.set(id, rec.origin);
      known.set(mapped.graph, mapped.contentHash);
      replace.set(mapped.graph, mapped.quads);
      for (const q of mapped.shared) shared.push(q);
      options.recordFiles?.push(...files);
      accepted.push(id);
      acceptedFrom.push(rec.origin);
      summary.accepted++;
      summary.triplesAdded += mapped.quads.length;
      summary.termIssues += mapped.issues.length;
      if (previous.has(mapped.graph)) summary.replaced++;
    });
    for (const t of rejectedTwins) {
      const kept = storedThisRun.get(t.id);
      if (kept) note(t.origin, 'duplicate', `phenopacket id ${t.id} appears again here, but this record is rejected: the one from ${describeOrigin(kept)} is kept`, t.id);
    }
    rejectedTwins = [];
    const batch = { replace, add: shared, rejected, accepted: [...accepted, ...unchanged], acceptedFrom, ...(rootsChanged ? { meta: { [SOURCE_ROOTS_KEY]: meta[SOURCE_ROOTS_KEY] } } : {}) };
    // Commits stay in order, one at a time; while one runs, the next batch is read, mapped and
    // validated, so a remote server loads one batch while this process prepares the next.
    if (committing) await committing;
    committing = store.commit(batch);
    committing.catch(() => undefined); // awaited (and thrown) before the next commit or at the end
    rootsChanged = false;
    pending = [];
    rejected = [];
    unchanged = [];
    acceptedFrom = [];
  };

  try {
    await readAll();
  } finally {
    // A failure while reading still lets the batch already handed to the store finish its commit.
    await committing?.catch(() => undefined);
  }
  await committing;
  summary.storeTriples = await store.size();
  summary.seconds = Math.round((performance.now() - started) / 10) / 100;
  return summary;

  async function readAll(): Promise<void> {
    for await (const rec of documents((origin, text) => note(origin, 'note', text))) {
      summary.read++;
      if (rec.error) reject(rec, 'read', [{ path: rec.error.path, message: rec.error.reason }]);
      else {
        try {
          prepare(rec);
        } catch (e) {
          // Whatever a record does to the mapper that the check did not foresee, it goes to quarantine
          // alone and the ingest goes on.
          const rawId = (rec.json as { id?: unknown } | undefined)?.id;
          const id = typeof rawId === 'string' ? rawId : undefined;
          reject(rec, 'map', [{ path: '$', message: `cannot map this record: ${(e as Error).message}` }], id);
          if (id) rejectedTwins.push({ origin: rec.origin, id });
        }
      }
      if (pending.length + rejected.length >= batchSize) await flush(false);
      options.onProgress?.(summary);
    }
    await flush(true);
  }

  function prepare(rec: RootedRecord): void {
    const { problems, notes } = checkPhenopacketRecord(rec.json, limits);
    const rawId = (rec.json as { id?: unknown })?.id;
    // An id that is not valid text (a lone surrogate) cannot name a patient or a quarantine entry.
    const id = typeof rawId === 'string' && !problems.some((p) => p.path === '$.id') ? rawId : undefined;
    if (problems.length) {
      reject(rec, 'check', problems.map((p) => ({ path: p.path, message: p.reason })), id);
      if (id) rejectedTwins.push({ origin: rec.origin, id });
      return;
    }
    const pp = asPhenopacket(rec.json);
    if (notes.length) note(rec.origin, 'note', notes.map((n) => `${n.path}: ${n.reason}`).join('; '), pp.id);
    let files: RecordEntry[] = [];
    if (options.recordFiles) {
      try {
        const found = phenopacketFileEntries(pp, rec.origin);
        files = found.entries;
        for (const p of found.problems) summary.rejections.push({ id: pp.id, ...rec.origin, stage: 'files', reason: `${p.field}: ${p.reason}` });
      } catch (e) {
        // A file entry Harmonia cannot resolve (an odd URI) is noted; the phenopacket itself is fine.
        summary.rejections.push({ id: pp.id, ...rec.origin, stage: 'files', reason: `files: ${(e as Error).message}` });
      }
    }
    const mapped = mapPhenopacket(pp, ontology, provenanceOrigin(rec));
    // Whether it is unchanged is decided with its batch, once the stored hashes are known (flush).
    pending.push({ rec, mapped, files });
  }
}

interface Pending {
  rec: SourceRecord;
  mapped: MappedPatient;
  files: RecordEntry[];
}
