// The Neo4j mirror: the graph read through the store seam (SPARQL SELECTs only) and written as a
// property graph with batched, idempotent, incremental Cypher (docs/neo4j.md).
export { mirrorStore, DEFAULT_BATCH, type CypherRunner, type MirrorOptions, type MirrorSummary, type UnitCounts } from './mirror.js';
export { connectNeo4j, checkNeo4jUri, type Neo4jConnection } from './neo4j.js';
export {
  DATA_STATEMENTS, EMBEDDED_LABELS, NODE_INDEXES, NODE_KEYS, READ_MIRROR, READ_PATIENTS, READ_RECORDS,
  constraintStatements, indexStatements, vectorIndexStatement, dropVectorIndexStatement, vectorIndexName,
  type CypherStatement, type StatementKind, type EmbeddedLabel,
} from './cypher.js';
export {
  MIRROR_MODEL, listPatients, listRecords, readOntology, readPatients, readRecords, hasEmbeddings, parseVector,
  type PatientUnit, type RecordUnit, type OntologyUnit, type TermUnit, type VariantUnit, type Props, type PropValue, type ReadOptions,
} from './read.js';
