// The store layer: one GraphStore interface; the embedded, directory-persisted Oxigraph backend.
export type { GraphStore, StoreBatch, QuarantineEntry, ResultFormat, SerializedResult } from './types.js';
export { OxigraphStore, MEDIA_TYPES, type OpenOptions } from './oxigraph.js';
export { writeAtomic } from './files.js';
