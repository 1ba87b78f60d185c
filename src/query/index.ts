// The query layer: SPARQL preparation (ontology path expansion, row caps) and execution over a GraphStore.
export { QueryEngine, QueryError, type QueryKind, type PreparedQuery, type EngineOptions } from './engine.js';
export { PathRewriter, type RewriteReport } from './optimize.js';
export { recordFeatures, recordCounts, type RecordFeatures } from './records.js';
export { KNN_SERVICE, SIMILARITY_FUNCTION, MAX_SERVICE_BINDINGS, type ServiceProvider, type ServicePlan, type ServiceRow, type RdfTerm } from './services.js';
