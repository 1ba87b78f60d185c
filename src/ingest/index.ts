// The ingest pipeline: drives sources -> harmonize -> map -> validate -> store for each batch.
export { ingestPhenopackets, ensureOntology, type IngestOptions, type IngestProgress, type IngestSummary } from './ingest.js';
export { ingestMapping } from './mapping.js';
