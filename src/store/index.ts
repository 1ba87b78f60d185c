// The store layer: one GraphStore interface; the embedded, directory-persisted Oxigraph backend and a
// remote SPARQL 1.1 backend as siblings behind it; openStore picks one from the location.
export type { GraphStore, StoreBatch, QuarantineEntry, ResultFormat, Row, SelectOptions, SerializedResult, StatisticsRefresh } from './types.js';
export { OxigraphStore, MEDIA_TYPES, ARRAYS_DIR, SERVE_FILE, type OpenOptions, type StoreHeader } from './oxigraph.js';
export { openStore, openEndpoint, isRemoteLocation } from './open.js';
export { writeAtomic } from './files.js';
export { isAlive } from './lock.js';
