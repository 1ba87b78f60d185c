// The ingest pipeline: drives sources -> harmonize -> map -> validate -> store for each batch.
export { ingestPhenopackets, ensureOntology, retryQuarantine, DEFAULT_INGEST_LIMITS, type IngestOptions, type IngestProgress, type IngestSummary, type IngestLimits, type RetrySummary } from './ingest.js';
export { ingestMapping } from './mapping.js';
export { ingestRecords, sourceChecksum, type RecordIngestOptions, type RecordIngestProgress, type RecordIngestSummary } from './records.js';
export { SOURCE_ROOTS_KEY, resolveSourceFile, sourceRoots } from './source-paths.js';
export { correctSites, siteCorrectionGraph, type SiteCorrectionReport } from './site-correction.js';
