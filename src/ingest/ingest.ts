import type { Quad } from 'n3';
import { asPhenopacket, checkPhenopacket } from '../harmonize/index.js';
import { mapPhenopacket, type MappedPatient } from '../map/index.js';
import { HX, ONTOLOGY_GRAPH, VOCAB_GRAPH } from '../model/index.js';
import { ontologyQuads, vocabularyQuads, type Ontology } from '../ontology/index.js';
import { describeOrigin, phenopacketFileEntries, readJsonDocuments, type Origin, type RecordEntry, type SourceRecord } from '../sources/index.js';
import type { GraphStore, QuarantineEntry } from '../store/index.js';
import { ShapeValidator } from '../validate/index.js';

export interface IngestOptions {
  /** Patients per atomic commit. */
  batchSize?: number;
  validator?: ShapeValidator;
  onProgress?: (p: IngestProgress) => void;
  /** Collects the phenopackets' `files` entries that name records Harmonia reads (VCF, NIfTI, ...). */
  recordFiles?: RecordEntry[];
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
  rejections: { id?: string; file: string; entry?: string; line?: number; stage: string; reason: string }[];
  triplesAdded: number;
  storeTriples: number;
  seconds: number;
}

/** Puts an ontology into the store (graph and saved copy) unless the same version is already there. */
export async function ensureOntology(store: GraphStore, ontology: Ontology): Promise<boolean> {
  if ((await store.ontology())?.version === ontology.version && (await store.meta()).hpoVersion === ontology.version) return false;
  await store.setOntology(ontology, ontologyQuads(ontology), ONTOLOGY_GRAPH);
  await store.commit({ replace: new Map([[VOCAB_GRAPH, vocabularyQuads()]]), add: [], rejected: [], accepted: [] });
  return true;
}

/**
 * Sources -> check -> harmonise -> map -> validate -> store, in batches that are each committed
 * atomically. A record that fails any step goes to quarantine with its reason; the rest goes on.
 * An unchanged phenopacket (same content hash) is skipped, a changed one replaces its graph.
 */
export async function ingestPhenopackets(store: GraphStore, sources: string[], options: IngestOptions = {}): Promise<IngestSummary> {
  const started = performance.now();
  const ontology = await store.ontology();
  if (!ontology) throw new Error('no HPO in the store yet: pass --hpo FILE (hp.json or hp.obo) on the first ingest');
  const validator = options.validator ?? ShapeValidator.fromFile();
  const batchSize = options.batchSize ?? 1000;
  const known = new Map<string, string>();
  for await (const r of store.selectStream(`SELECT ?id ?h WHERE { ?p a <${HX}Patient> ; <${HX}id> ?id ; <${HX}contentHash> ?h }`)) known.set(r.id!, r.h!);
  const summary: IngestSummary = { read: 0, accepted: 0, rejected: 0, unchanged: 0, replaced: 0, termIssues: 0, rejections: [], triplesAdded: 0, storeTriples: 0, seconds: 0 };
  let pending: { rec: SourceRecord; mapped: MappedPatient; files: RecordEntry[] }[] = [];
  let rejected: QuarantineEntry[] = [];
  const seenThisRun = new Map<string, Origin>();

  const reject = (rec: SourceRecord, stage: QuarantineEntry['stage'], reasons: QuarantineEntry['reasons'], id?: string): void => {
    const entry: QuarantineEntry = { ...rec.origin, stage, reasons, record: rec.json, at: new Date().toISOString() };
    if (id) entry.id = id;
    rejected.push(entry);
    summary.rejected++;
    summary.rejections.push({ id, ...rec.origin, stage, reason: reasons.map((r) => (r.path ? `${r.path}: ` : '') + r.message).join('; ') });
  };

  /** Validates the pending patients together, then commits the conforming ones and the rejections. */
  const flush = async (): Promise<void> => {
    if (pending.length === 0 && rejected.length === 0) return;
    const violations = await validator.validateMany(pending.map((p) => p.mapped.quads));
    const replace = new Map<string, Quad[]>();
    const shared: Quad[] = [];
    const accepted: string[] = [];
    pending.forEach(({ rec, mapped, files }, i) => {
      const v = violations.get(i);
      if (v) {
        known.delete(mapped.id);
        return reject(rec, 'validate', v.map((x) => ({ path: x.path, message: x.message, focusNode: x.focusNode, severity: x.severity, value: x.value })), mapped.id);
      }
      replace.set(mapped.graph, mapped.quads);
      for (const q of mapped.shared) shared.push(q);
      options.recordFiles?.push(...files);
      accepted.push(mapped.id);
      summary.accepted++;
      summary.triplesAdded += mapped.quads.length;
      summary.termIssues += mapped.issues.length;
      if (previous.has(mapped.id)) summary.replaced++;
    });
    await store.commit({ replace, add: shared, rejected, accepted: [...accepted, ...unchanged] });
    pending = [];
    rejected = [];
    unchanged = [];
  };
  const previous = new Set(known.keys());
  let unchanged: string[] = [];

  for await (const rec of readJsonDocuments(sources)) {
    summary.read++;
    if (rec.error) reject(rec, 'read', [{ path: rec.error.path, message: rec.error.reason }]);
    else {
      try {
        prepare(rec);
      } catch (e) {
        // Whatever a record does to the mapper (a wrong type the check let through, a lone surrogate
        // in an id, nesting too deep), it goes to quarantine alone and the ingest goes on.
        const rawId = (rec.json as { id?: unknown } | undefined)?.id;
        reject(rec, 'map', [{ path: '$', message: `cannot map this record: ${(e as Error).message}` }], typeof rawId === 'string' ? rawId : undefined);
      }
    }
    if (pending.length + rejected.length >= batchSize) await flush();
    options.onProgress?.(summary);
  }
  await flush();
  summary.storeTriples = await store.size();
  summary.seconds = Math.round((performance.now() - started) / 10) / 100;
  return summary;

  function prepare(rec: SourceRecord): void {
    const problems = checkPhenopacket(rec.json);
    const rawId = (rec.json as { id?: unknown })?.id;
    const id = typeof rawId === 'string' ? rawId : undefined;
    if (problems.length) return reject(rec, 'check', problems.map((p) => ({ path: p.path, message: p.reason })), id);
    const pp = asPhenopacket(rec.json);
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
    const mapped = mapPhenopacket(pp, ontology, rec.origin);
    const earlier = seenThisRun.get(pp.id);
    if (earlier) {
      // Two records with one id in one run: the later wins, as a re-ingest would; say so.
      summary.rejections.push({ id: pp.id, ...earlier, stage: 'duplicate', reason: `phenopacket id ${pp.id} appears again in ${describeOrigin(rec.origin)}; the later record replaces this one` });
      const i = pending.findIndex((p) => p.mapped.id === pp.id);
      if (i >= 0) pending.splice(i, 1);
    }
    seenThisRun.set(pp.id, rec.origin);
    if (known.get(pp.id) === mapped.contentHash) {
      // Stored already: its files are still its records (each is skipped again if unchanged).
      options.recordFiles?.push(...files);
      summary.unchanged++;
      unchanged.push(pp.id);
      return;
    }
    known.set(pp.id, mapped.contentHash);
    pending.push({ rec, mapped, files });
  }
}
