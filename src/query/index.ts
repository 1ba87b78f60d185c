// The query layer: SPARQL preparation (ontology path expansion, row caps) and execution over a GraphStore.
export { QueryEngine, QueryError, BINDINGS_FORMATS, GRAPH_FORMATS, type QueryKind, type PreparedQuery, type EngineOptions } from './engine.js';
export { PathRewriter, type RewriteReport } from './optimize.js';
