import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import type oxigraphModule from 'oxigraph';
import { writeAtomic } from './files.js';

/**
 * Snapshots of an embedded store's WASM heap, so that reopening a large store costs a file read
 * instead of re-parsing and re-indexing every quad (about 10 s for 1.7 M quads; the heap of the same
 * store reads back in well under that). The idea is Wizer's: a WebAssembly instance at rest is its
 * linear memory plus a few globals and tables, so restoring those into a fresh instance of the same
 * module restores the instance. Each store therefore runs in its own instance of Oxigraph's glue
 * (evaluated privately, not the process-wide `import 'oxigraph'`), so that overwriting its heap can
 * touch nothing else. Terms cross instances safely: Oxigraph reads any RDF/JS term by its properties.
 */

export type Oxigraph = typeof oxigraphModule;

// The compiler is set up without the DOM library, which is where WebAssembly's types live.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmTable {
  readonly length: number;
  grow(delta: number): number;
  get(index: number): unknown;
  set(index: number, value: unknown): void;
}
interface WasmGlobal {
  value: unknown;
}
type WasmExports = Record<string, unknown>;
interface WasmInstance {
  readonly exports: WasmExports;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => WasmInstance;
  Memory: abstract new (...args: never[]) => WasmMemory;
  Global: abstract new (...args: never[]) => WasmGlobal;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export interface OxigraphInstance {
  readonly ox: Oxigraph;
  readonly wasm: WasmExports;
}

interface Glue {
  source: string;
  file: string;
  module: object;
  /** Identifies glue and binary: a snapshot is only valid for the build that wrote it. */
  hash: string;
}

const require_ = createRequire(import.meta.url);
let glue: Glue | undefined;

function loadGlue(): Glue {
  if (glue) return glue;
  const file = require_.resolve('oxigraph');
  const source = readFileSync(file, 'utf8');
  const bytes = readFileSync(join(dirname(file), 'node_bg.wasm'));
  const hash = createHash('sha256').update(source).update(bytes).digest('hex').slice(0, 32);
  glue = { source, file, module: new WA.Module(bytes), hash };
  return glue;
}

export function glueHash(): string {
  return loadGlue().hash;
}

/**
 * A private instance of Oxigraph: its glue evaluated in its own scope, with the compiled module shared
 * (instantiating is milliseconds; compiling 4 MB of WASM is not).
 */
export function newOxigraph(): OxigraphInstance {
  const g = loadGlue();
  let instance: WasmInstance | undefined;
  const wasmApi = Object.create(WA) as WasmApi;
  Object.assign(wasmApi, {
    Module: function Module() {
      return g.module;
    },
    Instance: function Instance(module: object, imports: object) {
      instance = new WA.Instance(module, imports);
      return instance;
    },
  });
  const mod = { exports: {} as Record<string, unknown> };
  const run = new Function('exports', 'require', 'module', '__filename', '__dirname', 'WebAssembly', g.source);
  run(mod.exports, require_, mod, g.file, dirname(g.file), wasmApi);
  if (!instance || !(instance.exports.memory instanceof WA.Memory)) {
    throw new Error(`${g.file}: Oxigraph's glue did not instantiate its module as expected (an incompatible oxigraph version?)`);
  }
  return { ox: mod.exports as unknown as Oxigraph, wasm: instance.exports };
}

/** What a store keeps beside its heap: the log it reflects and its own bookkeeping. */
export interface SnapshotState {
  /** The segment files loaded, in order: a snapshot serves a log that extends them. */
  segments: string[];
  ontology?: string;
  graphs: string[];
}

interface Header extends SnapshotState {
  format: 'harmonia-oxigraph-snapshot';
  version: 1;
  glue: string;
  heap: string;
  /** Heap size; the file holds only the runs of pages with a non-zero byte (fresh pages are zero). */
  bytes: number;
  runs: [start: number, pages: number][];
  crc: number;
  table: number;
  /** The JS values the heap refers to by table index (interned property names, null, booleans). */
  tableValues: TableValue[];
  globals: Record<string, number>;
  storePtr: number;
  quads: number;
}

/** 0 undefined, 1 null, else the primitive in a one-element array. */
type TableValue = 0 | 1 | [string | number | boolean];

const HEADER = 'oxigraph-snapshot.json';
const FORMAT = 'harmonia-oxigraph-snapshot';
const CHUNK = 64 << 20;
const PAGE = 65536;

/** Smallest store worth a snapshot (below it loading is already quick); HARMONIA_SNAPSHOT_MIN_QUADS overrides. */
export const SNAPSHOT_MIN_QUADS = 200_000;

export function snapshotsEnabled(): boolean {
  return !/^(0|off|false|no)$/i.test(process.env.HARMONIA_SNAPSHOT ?? '');
}

export function snapshotMinQuads(): number {
  const raw = process.env.HARMONIA_SNAPSHOT_MIN_QUADS?.trim();
  const v = Number(raw);
  return raw && Number.isFinite(v) && v >= 0 ? v : SNAPSHOT_MIN_QUADS;
}

function exportedGlobals(wasm: WasmExports): [string, WasmGlobal][] {
  return Object.entries(wasm).filter((e): e is [string, WasmGlobal] => e[1] instanceof WA.Global);
}

/**
 * Writes the heap of `instance` (at rest: no call into it is under way) holding `store`, with `state`,
 * into `dir`. The heap file is written under a fresh name and the header renamed over the old one last,
 * so a reader sees the old snapshot or the new one; a torn heap fails its checksum and is not used.
 */
export function writeSnapshot(dir: string, instance: OxigraphInstance, store: oxigraphModule.Store, state: SnapshotState): boolean {
  const table = instance.wasm.__wbindgen_externrefs as WasmTable;
  const tableValues = tableSnapshot(table);
  // A JS object held by the heap cannot be written to a file: no snapshot of this state.
  if (!tableValues) return false;
  mkdirSync(dir, { recursive: true });
  // Another process (a second query worker, say) is writing one now: its snapshot will do.
  if (readdirSync(dir).some((name) => name.endsWith('.heap.tmp') && isFreshTemp(join(dir, name)))) return false;
  const memory = instance.wasm.memory as WasmMemory;
  const heapBytes = new Uint8Array(memory.buffer);
  const heap = `oxigraph-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}.heap`;
  const tmp = join(dir, `${heap}.tmp`);
  const fd = openSync(tmp, 'w');
  let crc = 0;
  const runs = nonZeroRuns(heapBytes);
  try {
    for (const [start, pages] of runs) {
      for (let off = start * PAGE; off < (start + pages) * PAGE; off += CHUNK) {
        const part = heapBytes.subarray(off, Math.min(off + CHUNK, (start + pages) * PAGE));
        crc = crc32(part, crc);
        for (let done = 0; done < part.length; ) done += writeSync(fd, part, done, part.length - done);
      }
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, heap));
  const header: Header = {
    format: FORMAT,
    version: 1,
    glue: glueHash(),
    heap,
    bytes: heapBytes.length,
    runs,
    crc,
    table: table.length,
    tableValues,
    globals: Object.fromEntries(exportedGlobals(instance.wasm).map(([k, g]) => [k, Number(g.value)])),
    storePtr: (store as unknown as { __wbg_ptr: number }).__wbg_ptr,
    quads: store.size,
    ...state,
  };
  writeAtomic(join(dir, HEADER), [JSON.stringify(header)]);
  // Older heaps are no longer referenced; a reader that opened one keeps its open file.
  for (const name of readdirSync(dir)) {
    if (name !== heap && /^oxigraph-.*\.heap(\.tmp)?$/.test(name) && !isFreshTemp(join(dir, name))) rmSync(join(dir, name), { force: true });
  }
  return true;
}

function tableSnapshot(table: WasmTable): TableValue[] | undefined {
  const out: TableValue[] = [];
  for (let i = 0; i < table.length; i++) {
    const v = table.get(i);
    if (v === undefined) out.push(0);
    else if (v === null) out.push(1);
    else if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) out.push([v]);
    else return undefined;
  }
  return out;
}

/** Runs of 64 KiB pages holding a non-zero byte (about a quarter of a loaded store's heap is zero). */
function nonZeroRuns(heap: Uint8Array): [number, number][] {
  const runs: [number, number][] = [];
  const zero = Buffer.alloc(PAGE);
  for (let page = 0; page < heap.byteLength / PAGE; page++) {
    // A native comparison: a loaded store's heap is hundreds of megabytes.
    if (Buffer.from(heap.buffer, heap.byteOffset + page * PAGE, PAGE).equals(zero)) continue;
    const last = runs[runs.length - 1];
    if (last && last[0] + last[1] === page) last[1]++;
    else runs.push([page, 1]);
  }
  return runs;
}

/** A temp heap another process may still be writing (younger than ten minutes) is left alone. */
function isFreshTemp(file: string): boolean {
  if (!file.endsWith('.tmp')) return false;
  try {
    return Date.now() - statSync(file).mtimeMs < 10 * 60_000;
  } catch {
    return false;
  }
}

export interface Restored {
  instance: OxigraphInstance;
  store: oxigraphModule.Store;
  state: SnapshotState;
}

/**
 * A fresh instance with the snapshot's heap, table size and globals, and a handle on the store it held;
 * the reason instead when the snapshot is missing, from another build, not `usable` for the caller's
 * store (judged from its header alone), torn or corrupt.
 */
export function restoreSnapshot(dir: string, usable: (state: SnapshotState) => boolean = () => true): Restored | { reason: string } {
  const file = join(dir, HEADER);
  if (!existsSync(file)) return { reason: 'no snapshot' };
  let h: Header;
  try {
    h = JSON.parse(readFileSync(file, 'utf8')) as Header;
  } catch (e) {
    return { reason: `unreadable snapshot header: ${(e as Error).message}` };
  }
  if (h.format !== FORMAT || h.version !== 1) return { reason: 'snapshot format unknown' };
  if (h.glue !== glueHash()) return { reason: 'snapshot written by another Oxigraph build' };
  // Decided from the header, before hundreds of megabytes of heap are read for nothing.
  if (!usable(h)) return { reason: 'snapshot does not describe this store (its log was rewritten, or the ontology replaced)' };
  let fd: number;
  try {
    fd = openSync(join(dir, h.heap), 'r');
  } catch (e) {
    return { reason: `snapshot heap: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  try {
    const stored = h.runs.reduce((n, [, pages]) => n + pages * PAGE, 0);
    if (fstatSync(fd).size !== stored) return { reason: 'snapshot heap has the wrong size' };
    const instance = newOxigraph();
    const memory = instance.wasm.memory as WasmMemory;
    const pages = h.bytes / 65536;
    if (!Number.isInteger(pages) || h.bytes < memory.buffer.byteLength) return { reason: 'snapshot heap size is not a heap' };
    memory.grow(pages - memory.buffer.byteLength / 65536);
    // Read straight into the new heap: no second copy of hundreds of megabytes.
    const heap = new Uint8Array(memory.buffer);
    let crc = 0;
    let position = 0;
    for (const [start, pages] of h.runs) {
      if (start < 0 || (start + pages) * PAGE > h.bytes) return { reason: 'snapshot heap run outside the heap' };
      for (let off = start * PAGE, end = (start + pages) * PAGE; off < end; ) {
        const n = readSync(fd, heap, off, Math.min(CHUNK, end - off), position);
        if (n <= 0) return { reason: 'snapshot heap ended early' };
        crc = crc32(heap.subarray(off, off + n), crc);
        off += n;
        position += n;
      }
    }
    if (crc !== h.crc) return { reason: 'snapshot heap checksum mismatch' };
    const table = instance.wasm.__wbindgen_externrefs as WasmTable;
    if (table.length < h.table) table.grow(h.table - table.length);
    if (!Array.isArray(h.tableValues) || h.tableValues.length !== h.table) return { reason: 'snapshot table missing' };
    h.tableValues.forEach((v, i) => table.set(i, v === 0 ? undefined : v === 1 ? null : v[0]));
    for (const [k, g] of exportedGlobals(instance.wasm)) {
      if (k in h.globals && Number(g.value) !== h.globals[k]) g.value = h.globals[k];
    }
    const store = Object.create(instance.ox.Store.prototype) as oxigraphModule.Store;
    (store as unknown as { __wbg_ptr: number }).__wbg_ptr = h.storePtr;
    if (store.size !== h.quads) return { reason: 'restored store does not hold the snapshot quads' };
    return { instance, store, state: { segments: h.segments, ontology: h.ontology, graphs: h.graphs } };
  } catch (e) {
    return { reason: `snapshot restore failed: ${(e as Error).message}` };
  } finally {
    closeSync(fd);
  }
}
