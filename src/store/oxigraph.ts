import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataFactory, Writer, type Quad } from 'n3';
import oxigraph from 'oxigraph';
import { VOCAB_GRAPH } from '../model/index.js';
import { Ontology, type OntologyData } from '../ontology/index.js';
import { fileChunks, writeAtomic } from './files.js';
import { killPoint } from './kill-hook.js';
import { acquireLock } from './lock.js';
import type { GraphStore, QuarantineEntry, ResultFormat, Row, SerializedResult, StoreBatch } from './types.js';
import { mergeQuarantine } from './quarantine.js';
import { newOxigraph, restoreSnapshot, snapshotMinQuads, snapshotsEnabled, writeSnapshot, type OxigraphInstance } from './oxigraph-snapshot.js';

const MANIFEST = 'harmonia-store.json';
/** Where harmonized arrays of records are written, relative to the store directory. */
export const ARRAYS_DIR = 'arrays';
/** Left in a store directory by `harmonia serve` while it serves it (url, pid): read-only commands ask that server. */
export const SERVE_FILE = 'serve.json';
const FORMAT_VERSION = 1;
/** Caches the store can rebuild from its segments (the heap snapshot), relative to the store directory. */
export const CACHE_DIR = 'cache';
/** More segments than this and a commit compacts them into one, so reloads stay one sequential read. */
const MAX_SEGMENTS = 24;

interface Segment {
  kind: 'quads' | 'update';
  file: string;
  /** For quads: graphs this segment replaces wholesale (dropped first when loading). */
  replaces?: string;
}

interface Manifest {
  format: 'harmonia-store';
  version: number;
  next: number;
  segments: Segment[];
  quarantine?: string;
  ontology?: string;
  meta: Record<string, string>;
}

/** The media type of each result format, as Oxigraph names them (and HTTP announces them). */
export const MEDIA_TYPES: Record<ResultFormat, string> = {
  json: 'application/sparql-results+json',
  xml: 'application/sparql-results+xml',
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  turtle: 'text/turtle',
  ntriples: 'application/n-triples',
  nquads: 'application/n-quads',
  jsonld: 'application/ld+json',
};

export interface OpenOptions {
  /** Create the directory and an empty store when there is none. */
  create?: boolean;
  /** Take the write lock (ingest, updates). Readers (serve, query) do not need it. */
  write?: boolean;
  /** Most quads the embedded store takes (default EMBEDDED_MAX_QUADS, or HARMONIA_EMBEDDED_MAX_QUADS). */
  maxQuads?: number;
}

/**
 * Oxigraph's WASM heap stops at 4 GiB; measured, that is reached near 14.5 M quads (about 65,000
 * phenopackets, some 290 bytes a quad). A batch that would take the store past this is refused before
 * anything is written, instead of the WASM instance trapping halfway.
 */
export const EMBEDDED_MAX_QUADS = 13_000_000;

/**
 * The embedded store: Oxigraph (WASM, in memory) made durable by an append-only log of segments in a
 * directory. A commit writes its segment and then swaps the manifest atomically, so a crash leaves the
 * store as before or after that batch. Each patient lives in its own named graph; queries see the union.
 */
export class OxigraphStore implements GraphStore {
  readonly kind = 'oxigraph';
  // Each store has its own Oxigraph instance, so that its heap can be snapshotted and restored alone.
  private instance: OxigraphInstance = newOxigraph();
  private store: oxigraph.Store = new this.instance.ox.Store();
  private graphs = new Set<string>();
  /** Whether the heap differs from the snapshot on disk (a writer refreshes it when closing). */
  private snapshotStale = false;
  /** How this copy was loaded: 'snapshot' (with the segments after it) or 'segments'. */
  loadedFrom: 'snapshot' | 'segments' = 'segments';
  private manifest: Manifest;
  private quarantined: QuarantineEntry[] = [];
  private ontologyCache?: Ontology;
  private releaseLock?: () => void;
  private maxQuads = Number(process.env.HARMONIA_EMBEDDED_MAX_QUADS) || EMBEDDED_MAX_QUADS;

  private constructor(readonly dir: string, manifest: Manifest) {
    this.manifest = manifest;
  }

  get location(): string {
    return this.dir;
  }

  static async open(dir: string, options: OpenOptions = {}): Promise<OxigraphStore> {
    const file = join(dir, MANIFEST);
    if (!existsSync(file)) {
      if (!options.create) {
        const hint = existsSync(dir) ? 'is not a Harmonia store' : 'does not exist';
        throw new Error(`${dir}: ${hint} (create one with \`harmonia ingest --store ${dir} ...\`)`);
      }
      mkdirSync(join(dir, 'segments'), { recursive: true });
    }
    const s = new OxigraphStore(dir, existsSync(file) ? readManifest(file) : emptyManifest());
    if (options.write) s.releaseLock = acquireLock(dir);
    if (options.maxQuads) s.maxQuads = options.maxQuads;
    if (!existsSync(file)) writeAtomic(file, [JSON.stringify(s.manifest, null, 1)]);
    s.load();
    if (options.write) s.removeOrphans();
    // Readers refresh a stale snapshot now (the next open is then fast); writers when they close.
    else if (s.snapshotStale) s.saveSnapshot();
    return s;
  }

  /**
   * The store's ontology and metadata without its quads, with the write lock when asked: for the
   * server's main thread, whose queries and writes run in worker threads that each hold the data.
   */
  static async header(dir: string, options: { write?: boolean } = {}): Promise<StoreHeader> {
    const file = join(dir, MANIFEST);
    if (!existsSync(file)) throw new Error(`${dir}: ${existsSync(dir) ? 'is not a Harmonia store' : 'does not exist'} (create one with \`harmonia ingest --store ${dir} ...\`)`);
    const s = new OxigraphStore(dir, readManifest(file));
    const release = options.write ? acquireLock(dir) : () => {};
    return { ontology: await s.ontology(), meta: s.manifest.meta, generation: await s.generation(), release };
  }

  /**
   * Lets this handle write while the write lock is held by another thread of this process (the
   * server's main thread holds it; its query workers apply the writes).
   */
  writeUnderProcessLock(): void {
    this.releaseLock ??= () => {};
  }

  private load(): void {
    if (!this.restore()) {
      this.applySegments(this.manifest.segments);
      this.snapshotStale = true;
    }
    if (this.manifest.quarantine) this.quarantined = JSON.parse(readFileSync(join(this.dir, this.manifest.quarantine), 'utf8'));
  }

  /**
   * Takes the heap snapshot when it reflects a prefix of this log with the same ontology, then applies
   * the segments committed after it; false (nothing changed) when there is none to take.
   */
  private restore(): boolean {
    if (!snapshotsEnabled() || !this.manifest.segments.length) return false;
    const mine = this.manifest.segments;
    const r = restoreSnapshot(join(this.dir, CACHE_DIR), (state) => extendsLog(state.segments, mine) && state.ontology === this.manifest.ontology);
    if ('reason' in r) return false;
    this.instance = r.instance;
    this.store = r.store;
    this.graphs = new Set(r.state.graphs);
    this.loadedFrom = 'snapshot';
    const after = mine.slice(r.state.segments.length);
    this.applySegments(after);
    this.snapshotStale = after.length > 0;
    return true;
  }

  /**
   * Writes the heap snapshot when the store is large enough for it to matter. A cache: failing to
   * write it (a read-only volume, a full disk) costs the next open its speed, nothing else.
   */
  saveSnapshot(): void {
    if (!snapshotsEnabled() || this.store.size < snapshotMinQuads()) return;
    try {
      const written = writeSnapshot(join(this.dir, CACHE_DIR), this.instance, this.store, {
        segments: this.manifest.segments.map((s) => s.file),
        ontology: this.manifest.ontology,
        graphs: [...this.graphs],
      });
      if (written) this.snapshotStale = false;
    } catch {
      // Left stale; the log on disk is the store.
    }
  }

  private applySegments(segments: readonly Segment[]): void {
    for (const seg of segments) {
      const path = join(this.dir, seg.file);
      if (seg.kind === 'update') {
        this.store.update(readFileSync(path, 'utf8'));
        continue;
      }
      const replaces: string[] = seg.replaces ? JSON.parse(readFileSync(join(this.dir, seg.replaces), 'utf8')) : [];
      for (const g of replaces) if (this.graphs.has(g)) this.dropGraph(g);
      this.store.load(fileChunks(path), { format: 'application/n-quads', no_transaction: true, lenient: true });
      for (const g of replaces) this.graphs.add(g);
      // A compacted segment holds whole graphs without listing them: learn their names, or a later
      // replacement of one of them would be added to its old triples instead of replacing them.
      if (!seg.replaces) for (const g of this.namedGraphs()) this.graphs.add(g.value);
    }
  }

  /**
   * Brings this in-memory copy up to the store on disk when another handle of this process wrote it
   * (the server's query workers each hold a copy; one of them applies a write): the segments committed
   * since this copy was loaded are applied as loading would apply them, in milliseconds for a small
   * write instead of the seconds of a reload. Answers false, changing nothing, when that is not
   * possible: the log was rewritten (a compaction) or the ontology was replaced; reopen then.
   */
  catchUp(): boolean {
    const disk = readManifest(join(this.dir, MANIFEST));
    const mine = this.manifest.segments;
    if (!extendsLog(mine.map((seg) => seg.file), disk.segments) || disk.ontology !== this.manifest.ontology) return false;
    this.applySegments(disk.segments.slice(mine.length));
    if (disk.segments.length > mine.length) this.snapshotStale = true;
    this.manifest = disk;
    this.quarantined = disk.quarantine ? JSON.parse(readFileSync(join(this.dir, disk.quarantine), 'utf8')) : [];
    return true;
  }

  /** The files of the segment log, in order: a write that keeps them as a prefix did not rewrite the log. */
  segmentFiles(): string[] {
    return this.manifest.segments.map((s) => s.file);
  }

  /** Files left by a commit that died before its manifest swap: never referenced, safe to delete. */
  private removeOrphans(): void {
    const live = new Set<string>([MANIFEST, 'LOCK', SERVE_FILE]);
    for (const s of this.manifest.segments) {
      live.add(s.file);
      if (s.replaces) live.add(s.replaces);
    }
    if (this.manifest.quarantine) live.add(this.manifest.quarantine);
    if (this.manifest.ontology) live.add(this.manifest.ontology);
    const walk = (rel: string): void => {
      for (const name of readdirSync(join(this.dir, rel))) {
        const r = rel ? `${rel}/${name}` : name;
        // Harmonized arrays (.npy) live beside the segments and are referenced from the graph, not the manifest.
        if (r === ARRAYS_DIR || r === CACHE_DIR) continue;
        if (statSync(join(this.dir, r)).isDirectory()) walk(r);
        else if (!live.has(r)) rmSync(join(this.dir, r), { force: true });
      }
    };
    walk('');
  }

  private namedGraphs(): oxigraph.NamedNode[] {
    const rows = this.store.query('SELECT DISTINCT ?g WHERE { GRAPH ?g { } }') as Map<string, oxigraph.Term>[];
    return rows.map((row) => row.get('g') as oxigraph.NamedNode);
  }

  /** The atomic manifest swap that makes a commit, update or compaction durable. */
  private swapManifest(next: Manifest): void {
    writeAtomic(join(this.dir, MANIFEST), [JSON.stringify(next, null, 1)], () => killPoint('swap'));
  }

  private dropGraph(g: string): void {
    this.store.update(`DROP SILENT GRAPH <${g}>`);
    this.graphs.delete(g);
  }

  private nextFile(ext: string): string {
    return `segments/${String(this.manifest.next++).padStart(6, '0')}.${ext}`;
  }

  private requireWritable(): void {
    if (!this.releaseLock) throw new Error(`${this.dir}: store opened read-only`);
  }

  async commit(batch: StoreBatch): Promise<void> {
    await this.commitAs(batch, batch.replace.has(VOCAB_GRAPH) ? 'vocabulary' : 'batch');
  }

  private async commitAs(batch: StoreBatch, kind: 'ontology' | 'vocabulary' | 'batch'): Promise<void> {
    this.requireWritable();
    this.checkRoom(batch);
    const next = structuredClone(this.manifest);
    const m = this.manifest;
    this.manifest = next;
    try {
      const quads: Quad[] = [...batch.add];
      for (const list of batch.replace.values()) for (const q of list) quads.push(q);
      const text = new Writer({ format: 'N-Quads' }).quadsToString(quads);
      const file = this.nextFile('nq');
      const replaces = this.nextFile('graphs.json');
      writeAtomic(join(this.dir, file), [text]);
      writeAtomic(join(this.dir, replaces), [JSON.stringify([...batch.replace.keys()])]);
      next.segments.push({ kind: 'quads', file, replaces });
      const quarantine = mergeQuarantine(this.quarantined, batch);
      if (quarantine !== this.quarantined) {
        next.quarantine = this.nextFile('quarantine.json');
        writeAtomic(join(this.dir, next.quarantine), [JSON.stringify(quarantine)]);
      }
      if (batch.meta) Object.assign(next.meta, batch.meta);
      next.meta.updated = new Date().toISOString();
      killPoint('segment');
      this.swapManifest(next);
      killPoint(kind);
      // Durable from here on; now apply the same change in memory.
      for (const g of batch.replace.keys()) if (this.graphs.has(g)) this.dropGraph(g);
      this.store.load(text, { format: 'application/n-quads', no_transaction: true, lenient: true });
      for (const g of batch.replace.keys()) this.graphs.add(g);
      this.quarantined = quarantine;
      this.snapshotStale = true;
    } catch (e) {
      this.manifest = m;
      throw e;
    }
    if (this.manifest.segments.length > MAX_SEGMENTS) this.compact();
  }

  private checkRoom(batch: StoreBatch): void {
    let incoming = batch.add.length;
    for (const list of batch.replace.values()) incoming += list.length;
    // Replaced graphs free their quads, but an upper bound is what keeps the heap safe.
    if (this.store.size + incoming <= this.maxQuads) return;
    throw new Error(`${this.dir}: this batch would take the embedded store to ${this.store.size + incoming} quads, past its limit of ${this.maxQuads} (Oxigraph's 4 GiB WASM heap); nothing was written, the store is as after its last batch. Use a remote store for data of this size: --store sparql+http://host/sparql (docs/stores.md)`);
  }

  /** Rewrites the whole dataset as one segment and drops the log; same atomic manifest swap. */
  compact(): void {
    this.requireWritable();
    const next = structuredClone(this.manifest);
    const file = this.nextFile('nq');
    next.next = this.manifest.next;
    const store = this.store;
    // Graph by graph through Oxigraph's own serialiser (the graph index makes each dump cheap), so no
    // single string has to hold the whole dataset: N-Triples lines get their graph name appended.
    const graphs = this.namedGraphs();
    function* chunks(): Generator<string> {
      yield store.dump({ format: 'application/n-triples', from_graph_name: oxigraph.defaultGraph() });
      for (const g of graphs) {
        const triples = store.dump({ format: 'application/n-triples', from_graph_name: g });
        // One triple per line, each ending in " ." (newlines inside literals are escaped in N-Triples).
        yield triples.replace(/ \.\n/g, ` <${g.value}> .\n`);
      }
    }
    writeAtomic(join(this.dir, file), chunks());
    next.segments = [{ kind: 'quads', file }];
    this.swapManifest(next);
    killPoint('compact');
    this.manifest = next;
    this.snapshotStale = true;
    this.removeOrphans();
  }

  /** SPARQL Update, persisted as a replayed log entry so that it survives restarts. */
  async update(sparql: string): Promise<void> {
    this.requireWritable();
    this.store.update(sparql);
    this.snapshotStale = true;
    const next = structuredClone(this.manifest);
    const m = this.manifest;
    this.manifest = next;
    try {
      const file = this.nextFile('rq');
      writeAtomic(join(this.dir, file), [sparql]);
      next.segments.push({ kind: 'update', file });
      this.swapManifest(next);
      killPoint('update');
    } catch (e) {
      this.manifest = m;
      throw e;
    }
  }

  private solutions(sparql: string): Map<string, oxigraph.Term>[] {
    const rows = this.store.query(sparql, { use_default_graph_as_union: true });
    if (!Array.isArray(rows)) throw new Error('not a SELECT query');
    return rows as Map<string, oxigraph.Term>[];
  }

  async select(sparql: string): Promise<Row[]> {
    return this.solutions(sparql).map(plainRow);
  }

  /** Oxigraph (WASM) answers a query whole; rows are converted one at a time as they are consumed. */
  async *selectStream(sparql: string): AsyncGenerator<Row> {
    for (const row of this.solutions(sparql)) yield plainRow(row);
  }

  async ask(sparql: string): Promise<boolean> {
    const r = this.store.query(sparql, { use_default_graph_as_union: true });
    if (typeof r !== 'boolean') throw new Error('not an ASK query');
    return r;
  }

  async serialize(sparql: string, format: ResultFormat): Promise<SerializedResult> {
    const body = this.store.query(sparql, { use_default_graph_as_union: true, results_format: MEDIA_TYPES[format] });
    const kind = /^\s*\{\s*"head"\s*:\s*\{\s*\}\s*,\s*"boolean"/.test(String(body).slice(0, 60)) ? 'boolean' : 'bindings';
    return { kind, format, body: body as string };
  }

  async graphQuads(graph: string): Promise<Quad[]> {
    return this.store.match(null, null, null, oxigraph.namedNode(graph)).map((q) => DataFactory.fromQuad(q as never) as Quad);
  }

  /** Raw query access for the query layer (formats it serialises itself, such as JSON-LD). */
  raw(): oxigraph.Store {
    return this.store;
  }

  async quarantine(): Promise<QuarantineEntry[]> {
    return this.quarantined;
  }

  async size(): Promise<number> {
    return this.store.size;
  }

  /** Every commit and update takes the next segment number, so it changes with every write. */
  async generation(): Promise<string> {
    return String(this.manifest.next);
  }

  graphNames(): ReadonlySet<string> {
    return this.graphs;
  }

  async meta(): Promise<Readonly<Record<string, string>>> {
    return this.manifest.meta;
  }

  /** The ontology the store was built with, saved beside the segments (rebuilt once, then cached). */
  async ontology(): Promise<Ontology | undefined> {
    if (!this.ontologyCache && this.manifest.ontology) {
      const data = JSON.parse(readFileSync(join(this.dir, this.manifest.ontology), 'utf8')) as OntologyData;
      this.ontologyCache = new Ontology(data);
    }
    return this.ontologyCache;
  }

  /** Replaces the ontology graph and its saved copy in one commit. */
  async setOntology(ontology: Ontology, quads: Quad[], graph: string): Promise<void> {
    this.requireWritable();
    // The saved copy and the version go into the manifest of the commit that writes the graph, so all
    // three are there or none; a refused commit leaves the manifest as it was.
    const before = this.manifest;
    this.manifest = structuredClone(before);
    try {
      const file = this.nextFile('ontology.json');
      writeAtomic(join(this.dir, file), [JSON.stringify(ontology.toData())]);
      this.manifest.ontology = file;
      this.manifest.meta.hpoVersion = ontology.version;
      await this.commitAs({ replace: new Map([[graph, quads]]), add: [], rejected: [], accepted: [] }, 'ontology');
    } catch (e) {
      this.manifest = before;
      throw e;
    }
    this.ontologyCache = ontology;
  }

  async close(): Promise<void> {
    if (this.releaseLock && this.snapshotStale) this.saveSnapshot();
    this.releaseLock?.();
    this.releaseLock = undefined;
  }
}

export interface StoreHeader {
  ontology?: Ontology;
  meta: Readonly<Record<string, string>>;
  generation: string;
  /** Releases the write lock (a no-op without one). */
  release(): void;
}

function plainRow(row: Map<string, oxigraph.Term>): Row {
  const out: Row = {};
  for (const [k, v] of row) out[k] = v.value;
  return out;
}

/** Whether `log` starts with the segment files `prefix`: then the copy that loaded them can catch up on the rest. */
function extendsLog(prefix: readonly string[], log: readonly Segment[]): boolean {
  return prefix.length <= log.length && prefix.every((file, i) => file === log[i].file);
}

function emptyManifest(): Manifest {
  return { format: 'harmonia-store', version: FORMAT_VERSION, next: 1, segments: [], meta: { created: new Date().toISOString() } };
}

function readManifest(file: string): Manifest {
  const m = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  if (m.format !== 'harmonia-store') throw new Error(`${file}: not a Harmonia store manifest`);
  if (m.version > FORMAT_VERSION) throw new Error(`${file}: store format ${m.version} is newer than this Harmonia (${FORMAT_VERSION}); upgrade Harmonia`);
  return m;
}
