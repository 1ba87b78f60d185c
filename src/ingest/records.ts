import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { Quad } from 'n3';
import { DataFactory } from 'n3';
import { harmonizeEntry, HarmonizeContext, modalityConfigText, type HarmonizationConfig } from '../harmonize/dispatch.js';
import { encodeNpy } from '../harmonize/npy.js';
import { checksum } from '../harmonize/provenance.js';
import { mapRecord, recordGraph, recordId, recordIri, stubPatientQuads } from '../map/records.js';
import { HX } from '../model/index.js';
import type { EntryProblem, RecordEntry } from '../sources/manifest.js';
import { writeAtomic, type GraphStore, type QuarantineEntry } from '../store/index.js';
import { ShapeValidator } from '../validate/index.js';

const { namedNode, literal, quad } = DataFactory;

export interface RecordIngestOptions {
  config: HarmonizationConfig;
  /** Folder where harmonized arrays are written (the store's `arrays/` for the embedded store). */
  arraysDir: string;
  /** Folder the graph's array paths are relative to (the store directory). */
  arraysBase: string;
  /** `harmonia <version>`, recorded on every provenance activity. */
  software: string;
  validator?: ShapeValidator;
  /** Records per atomic commit. */
  batchSize?: number;
  onProgress?: (p: RecordIngestProgress) => void;
  /** Store hx:sourceFile as the absolute path; by default it is relative to the manifest, dataset or phenopacket folder. */
  absolutePaths?: boolean;
}

export interface RecordIngestProgress {
  total: number;
  read: number;
  accepted: number;
  unchanged: number;
  rejected: number;
  bytes: number;
}

export interface RecordIngestSummary extends RecordIngestProgress {
  patientsCreated: number;
  records: Record<string, number>;
  rejections: { file: string; line?: number; patient?: string; stage: string; reason: string }[];
  seconds: number;
}

/** sha256 of a record's bytes: a file, a folder (every file, sorted), or a WFDB header with its signal and annotation files. */
export async function sourceChecksum(path: string): Promise<{ sha256: string; bytes: number }> {
  const files = statSync(path).isDirectory() ? listFiles(path) : companions(path);
  const h = createHash('sha256');
  let bytes = 0;
  for (const f of files) {
    h.update(`${relative(dirname(path), f)}\n`);
    for await (const chunk of createReadStream(f)) {
      h.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  }
  return { sha256: h.digest('hex'), bytes };
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}

/** A WFDB record is a header plus files of the same name (.dat, .mat, .atr, ...), whichever of them the manifest names. */
function companions(file: string): string[] {
  const stem = basename(file).replace(/\.[^.]+$/, '');
  if (!/\.hea$/i.test(file) && !existsSync(join(dirname(file), `${stem}.hea`))) return [file];
  return readdirSync(dirname(file)).filter((n) => n === `${stem}.hea` || n.startsWith(`${stem}.`)).sort().map((n) => join(dirname(file), n));
}

/**
 * Records of other modalities into the store: each is read, harmonized with the configured steps,
 * its arrays written as .npy files, mapped to its own named graph with PROV-O provenance, validated
 * and committed in batches. A record whose file and settings are unchanged is skipped; one that cannot
 * be read or harmonized goes to quarantine with its file, line and reason, and the rest goes on.
 * A patient the store does not know yet gets a node marked with where it was first seen.
 */
export async function ingestRecords(store: GraphStore, entries: RecordEntry[], problems: EntryProblem[], options: RecordIngestOptions): Promise<RecordIngestSummary> {
  const started = performance.now();
  const validator = options.validator ?? ShapeValidator.fromFile();
  const batchSize = options.batchSize ?? 25;
  const known = new Map<string, string>();
  for await (const r of store.selectStream(`SELECT ?id ?h WHERE { ?r a <${HX}Record> ; <${HX}recordId> ?id ; <${HX}contentHash> ?h }`, { lexical: true })) known.set(r.id!, r.h!);
  const patients = new Set<string>();
  for await (const r of store.selectStream(`SELECT ?id WHERE { ?p a <${HX}Patient> ; <${HX}id> ?id }`, { lexical: true })) patients.add(r.id!);
  const summary: RecordIngestSummary = { total: entries.length + problems.length, read: 0, accepted: 0, unchanged: 0, rejected: 0, bytes: 0, patientsCreated: 0, records: {}, rejections: [], seconds: 0 };
  const context = new HarmonizeContext(options.config);
  let pending: { entry: RecordEntry; graph: string; quads: Quad[]; shared: Quad[]; stub?: { graph: string; quads: Quad[] } }[] = [];
  let rejected: QuarantineEntry[] = [];
  const at = () => new Date().toISOString();

  const reject = (file: string, stage: QuarantineEntry['stage'], reason: string, line?: number, patient?: string, field?: string): void => {
    rejected.push({ id: undefined, file, line, stage, reasons: [{ path: field, message: reason }], record: patient ? { patient } : undefined, at: at() });
    summary.rejected++;
    summary.rejections.push({ file, line, patient, stage, reason: field ? `${field}: ${reason}` : reason });
  };
  for (const p of problems) {
    summary.read++;
    reject(p.file, 'read', p.reason, p.line, undefined, p.field);
  }

  const flush = async (): Promise<void> => {
    if (pending.length === 0 && rejected.length === 0) return;
    // A record the validator throws on is quarantined alone; the rest of the batch is judged as usual.
    const { violations, failed } = await validator.validateEach(pending.map((p) => p.quads));
    const replace = new Map<string, Quad[]>();
    const add: Quad[] = [];
    pending.forEach((p, i) => {
      const f = failed.get(i);
      if (f) return reject(p.entry.path, 'validate', f, p.entry.origin.line, p.entry.patient);
      const v = violations.get(i);
      if (v) return reject(p.entry.path, 'validate', v.map((x) => `${x.path ?? ''} ${x.message}`.trim()).join('; '), p.entry.origin.line, p.entry.patient);
      replace.set(p.graph, p.quads);
      for (const q of p.shared) add.push(q);
      if (p.stub && !patients.has(p.entry.patient)) {
        replace.set(p.stub.graph, p.stub.quads);
        patients.add(p.entry.patient);
        summary.patientsCreated++;
      }
      summary.accepted++;
      summary.records[p.entry.modality] = (summary.records[p.entry.modality] ?? 0) + 1;
    });
    await store.commit({ replace, add, rejected, accepted: [] });
    pending = [];
    rejected = [];
  };

  for (const entry of entries) {
    summary.read++;
    try {
      if (!existsSync(entry.path)) throw new Error('no such file or directory');
      const source = await sourceChecksum(entry.path);
      summary.bytes += source.bytes;
      const contentHash = checksum(source.sha256, modalityConfigText(options.config, entry.modality), entry.sample ?? '', entry.label ?? '', entry.site ?? '', JSON.stringify(entry.sidecar ?? {}), options.software);
      const mappedId = recordId(entry);
      if (known.get(mappedId) === contentHash) {
        summary.unchanged++;
        options.onProgress?.(summary);
        continue;
      }
      const record = await harmonizeEntry(entry, context);
      const arrays: Record<string, { path: string; sha256: string; dtype: string }> = {};
      for (const [name, array] of Object.entries(record.arrays)) {
        const bytes = encodeNpy(array);
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        // Named by content: a new version never overwrites the file the stored graph still points at.
        const file = join(options.arraysDir, mappedId, `${name.replace(/[^A-Za-z0-9._-]/g, '_')}-${sha256.slice(0, 12)}.npy`);
        mkdirSync(dirname(file), { recursive: true });
        if (!existsSync(file)) writeAtomic(file, [bytes]);
        arrays[name] = { path: relative(options.arraysBase, file), sha256, dtype: npyDtype(array.data) };
      }
      const mapped = mapRecord(entry, record, { checksum: source.sha256, arrays, software: options.software, ...(options.absolutePaths ? { sourceFile: resolve(entry.path) } : {}) });
      mapped.quads.push(quad(namedNode(recordIri(mapped.id)), namedNode(HX + 'contentHash'), literal(contentHash), namedNode(recordGraph(mapped.id))));
      known.set(mapped.id, contentHash);
      pending.push({ entry, graph: mapped.graph, quads: mapped.quads, shared: mapped.shared, stub: patients.has(entry.patient) ? undefined : stubPatientQuads(entry.patient, entry.source) });
    } catch (e) {
      reject(entry.path, 'read', (e as Error).message, entry.origin.line, entry.patient);
    }
    if (pending.length + rejected.length >= batchSize) await flush();
    options.onProgress?.(summary);
  }
  await flush();
  summary.seconds = Math.round((performance.now() - started) / 10) / 100;
  return summary;
}

function npyDtype(data: ArrayBufferView): string {
  const name = data.constructor.name;
  return ({ Float32Array: '<f4', Float64Array: '<f8', Int16Array: '<i2', Int32Array: '<i4', Uint8Array: '|u1', Uint16Array: '<u2' } as Record<string, string>)[name] ?? name;
}
