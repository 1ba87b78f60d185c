import type { PatientUnit, Props, RecordUnit, TermUnit, VariantUnit } from './read.js';

// Every Cypher statement the mirror sends, as plain data: the text is fixed (one per kind, so Neo4j
// caches each plan once and a test can parse them all), the rows travel as parameters.

export type StatementKind =
  | 'constraint' | 'index' | 'vector-index' | 'drop-vector-index'
  | 'read-mirror' | 'read-patients' | 'read-records'
  | 'phenotypes' | 'is-a' | 'prune-is-a' | 'prune-phenotypes'
  | 'patients' | 'has-phenotype' | 'prune-has-phenotype' | 'has-disease' | 'prune-has-disease'
  | 'has-gene' | 'prune-has-gene' | 'patient-variants' | 'prune-patient-variants' | 'in-gene' | 'prune-in-gene'
  | 'records' | 'has-finding' | 'prune-has-finding' | 'called-variants' | 'prune-called-variants'
  | 'delete-patients' | 'delete-records' | 'delete-orphans' | 'mirror';

export interface CypherStatement {
  kind: StatementKind;
  cypher: string;
  params: Record<string, unknown>;
}

/** The node keys: every MERGE goes through one of these uniqueness constraints. */
export const NODE_KEYS: { label: string; key: string }[] = [
  { label: 'Patient', key: 'id' },
  { label: 'Phenotype', key: 'id' },
  { label: 'Disease', key: 'id' },
  { label: 'Gene', key: 'symbol' },
  { label: 'Variant', key: 'iri' },
  { label: 'Record', key: 'id' },
  { label: 'HarmoniaMirror', key: 'id' },
];

/** Secondary indexes for the lookups cohort-style queries start from. */
export const NODE_INDEXES: { label: string; properties: string[] }[] = [
  { label: 'Patient', properties: ['sex'] },
  { label: 'Patient', properties: ['ageYears'] },
  { label: 'Gene', properties: ['id'] },
  { label: 'Variant', properties: ['chrom', 'pos'] },
  { label: 'Record', properties: ['modality'] },
  { label: 'Record', properties: ['site'] },
];

/** Labels whose nodes may carry an `embedding` (and get a vector index when some do). */
export const EMBEDDED_LABELS = ['Patient', 'Record', 'Phenotype'] as const;
export type EmbeddedLabel = (typeof EMBEDDED_LABELS)[number];

const snake = (s: string): string => s.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();

export function constraintStatements(): CypherStatement[] {
  return NODE_KEYS.map(({ label, key }) => ({
    kind: 'constraint',
    cypher: `CREATE CONSTRAINT harmonia_${snake(label)}_${key} IF NOT EXISTS FOR (n:${label}) REQUIRE n.${key} IS UNIQUE`,
    params: {},
  }));
}

export function indexStatements(): CypherStatement[] {
  return NODE_INDEXES.map(({ label, properties }) => ({
    kind: 'index',
    cypher: `CREATE INDEX harmonia_${snake(label)}_${properties.join('_')} IF NOT EXISTS FOR (n:${label}) ON (${properties.map((p) => `n.${p}`).join(', ')})`,
    params: {},
  }));
}

export const vectorIndexName = (label: EmbeddedLabel): string => `harmonia_${snake(label)}_embedding`;

/** A cosine vector index over `embedding`; the dimension is written as a literal (index options take no parameters). */
export function vectorIndexStatement(label: EmbeddedLabel, dimensions: number): CypherStatement {
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > 4096) throw new Error(`${label} embeddings have ${dimensions} dimensions: a Neo4j vector index takes 1 to 4096`);
  return {
    kind: 'vector-index',
    cypher: `CREATE VECTOR INDEX ${vectorIndexName(label)} IF NOT EXISTS FOR (n:${label}) ON (n.embedding) OPTIONS {indexConfig: {\`vector.dimensions\`: ${dimensions}, \`vector.similarity_function\`: 'cosine'}}`,
    params: {},
  };
}

export function dropVectorIndexStatement(label: EmbeddedLabel): CypherStatement {
  return { kind: 'drop-vector-index', cypher: `DROP INDEX ${vectorIndexName(label)} IF EXISTS`, params: {} };
}

// The watermark: one (:HarmoniaMirror) node per database, and each patient's and record's fingerprint on its node.
export const READ_MIRROR = `MATCH (m:HarmoniaMirror {id: $id})
RETURN m.store AS store, m.generation AS generation, m.model AS model, m.ontologyHash AS ontologyHash, m.vectorDimensions AS vectorDimensions`;
export const READ_PATIENTS = 'MATCH (p:Patient) RETURN p.id AS id, p.harmoniaHash AS hash';
export const READ_RECORDS = 'MATCH (r:Record) RETURN r.id AS id, r.harmoniaHash AS hash';

export const readMirror = (id: string): CypherStatement => ({ kind: 'read-mirror', cypher: READ_MIRROR, params: { id } });
export const readPatients = (): CypherStatement => ({ kind: 'read-patients', cypher: READ_PATIENTS, params: {} });
export const readRecords = (): CypherStatement => ({ kind: 'read-records', cypher: READ_RECORDS, params: {} });

const CYPHER = {
  phenotypes: `UNWIND $rows AS row
MERGE (t:Phenotype {id: row.id})
SET t = row.props`,
  'is-a': `UNWIND $rows AS row
MATCH (c:Phenotype {id: row.child})
MATCH (p:Phenotype {id: row.parent})
MERGE (c)-[:IS_A]->(p)`,
  'prune-is-a': `UNWIND $rows AS row
MATCH (c:Phenotype {id: row.id})-[e:IS_A]->(p:Phenotype)
WHERE NOT p.id IN row.keep
DELETE e`,
  'prune-phenotypes': `MATCH (t:Phenotype)
WHERE NOT t.id IN $keep AND NOT EXISTS { (t)<-[:HAS_PHENOTYPE|HAS_FINDING]-() }
DETACH DELETE t`,
  patients: `UNWIND $rows AS row
MERGE (p:Patient {id: row.id})
SET p = row.props`,
  'has-phenotype': `UNWIND $rows AS row
MATCH (p:Patient {id: row.patient})
MERGE (t:Phenotype {id: row.term})
MERGE (p)-[e:HAS_PHENOTYPE {excluded: row.excluded}]->(t)
SET e.onsetYears = row.onsetYears, e.onsetClasses = row.onsetClasses`,
  'prune-has-phenotype': `UNWIND $rows AS row
MATCH (p:Patient {id: row.id})-[e:HAS_PHENOTYPE]->(t:Phenotype)
WHERE NOT t.id + '|' + toString(e.excluded) IN row.keep
DELETE e`,
  'has-disease': `UNWIND $rows AS row
MATCH (p:Patient {id: row.patient})
MERGE (d:Disease {id: row.id})
SET d.iri = row.iri, d.label = row.label
MERGE (p)-[:HAS_DISEASE]->(d)`,
  'prune-has-disease': `UNWIND $rows AS row
MATCH (p:Patient {id: row.id})-[e:HAS_DISEASE]->(d:Disease)
WHERE NOT d.id IN row.keep
DELETE e`,
  'has-gene': `UNWIND $rows AS row
MATCH (p:Patient {id: row.patient})
MERGE (g:Gene {symbol: row.symbol})
SET g.id = coalesce(row.id, g.id)
MERGE (p)-[:HAS_GENE]->(g)`,
  'prune-has-gene': `UNWIND $rows AS row
MATCH (p:Patient {id: row.id})-[e:HAS_GENE]->(g:Gene)
WHERE NOT g.symbol IN row.keep
DELETE e`,
  'patient-variants': `UNWIND $rows AS row
MATCH (p:Patient {id: row.patient})
MERGE (v:Variant {iri: row.iri})
SET v = row.props
MERGE (p)-[:HAS_VARIANT]->(v)`,
  'prune-patient-variants': `UNWIND $rows AS row
MATCH (p:Patient {id: row.id})-[:HAS_VARIANT]->(v:Variant)
WHERE v.recordId IS NULL AND NOT v.iri IN row.keep
DETACH DELETE v`,
  'in-gene': `UNWIND $rows AS row
MATCH (v:Variant {iri: row.variant})
MERGE (g:Gene {symbol: row.symbol})
SET g.id = coalesce(row.id, g.id)
MERGE (v)-[:IN_GENE]->(g)`,
  'prune-in-gene': `UNWIND $rows AS row
MATCH (v:Variant {iri: row.iri})-[e:IN_GENE]->(g:Gene)
WHERE NOT g.symbol IN row.keep
DELETE e`,
  records: `UNWIND $rows AS row
MERGE (p:Patient {id: row.patient})
MERGE (r:Record {id: row.id})
SET r = row.props
MERGE (p)-[:HAS_RECORD]->(r)`,
  'has-finding': `UNWIND $rows AS row
MATCH (r:Record {id: row.record})
MERGE (t:Phenotype {id: row.term})
MERGE (r)-[:HAS_FINDING]->(t)`,
  'prune-has-finding': `UNWIND $rows AS row
MATCH (r:Record {id: row.id})-[e:HAS_FINDING]->(t:Phenotype)
WHERE NOT t.id IN row.keep
DELETE e`,
  'called-variants': `UNWIND $rows AS row
MATCH (p:Patient {id: row.patient})
MATCH (r:Record {id: row.record})
MERGE (v:Variant {iri: row.iri})
SET v = row.props
MERGE (p)-[:HAS_VARIANT]->(v)
MERGE (r)-[:CALLED_VARIANT]->(v)`,
  'prune-called-variants': `UNWIND $rows AS row
MATCH (r:Record {id: row.id})-[:CALLED_VARIANT]->(v:Variant)
WHERE NOT v.iri IN row.keep
DETACH DELETE v`,
  'delete-patients': `UNWIND $ids AS id
MATCH (p:Patient {id: id})
OPTIONAL MATCH (p)-[:HAS_VARIANT]->(v:Variant)
WHERE v.recordId IS NULL
WITH p, collect(v) AS variants
FOREACH (v IN variants | DETACH DELETE v)
DETACH DELETE p`,
  'delete-records': `UNWIND $ids AS id
MATCH (r:Record {id: id})
OPTIONAL MATCH (r)-[:CALLED_VARIANT]->(v:Variant)
WITH r, collect(v) AS variants
FOREACH (v IN variants | DETACH DELETE v)
DETACH DELETE r`,
  'delete-orphans': `MATCH (n)
WHERE (n:Disease OR n:Gene) AND NOT EXISTS { (n)--() }
DELETE n`,
  mirror: `MERGE (m:HarmoniaMirror {id: $id})
SET m += $props`,
} as const satisfies Partial<Record<StatementKind, string>>;

export type RowKind = keyof typeof CYPHER;

/** The fixed text of every data statement, by kind (for tests and for documentation). */
export const DATA_STATEMENTS: Readonly<Record<RowKind, string>> = CYPHER;

const rowsStatement = (kind: RowKind, rows: unknown[]): CypherStatement => ({ kind, cypher: CYPHER[kind], params: { rows } });

/** Splits rows into statements of at most `size` rows each. */
export function chunked(kind: RowKind, rows: unknown[], size: number): CypherStatement[] {
  const out: CypherStatement[] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rowsStatement(kind, rows.slice(i, i + size)));
  return out;
}

/** Optional values are sent as null so every row of a statement has the same keys. */
const orNull = <T>(v: T | undefined): T | null => (v === undefined ? null : v);

/** Statements for the HPO terms: every node, then the is_a edges, then is_a edges that disappeared. */
export function termStatements(terms: TermUnit[], size: number): CypherStatement[] {
  const nodes = terms.map((t) => ({
    id: t.id,
    props: {
      id: t.id, obsolete: t.obsolete,
      ...(t.label !== undefined ? { label: t.label } : {}),
      ...(t.umlsCuis.length ? { umlsCuis: t.umlsCuis } : {}),
      ...(t.embedding ? { embedding: t.embedding.vector, ...(t.embedding.model ? { embeddingModel: t.embedding.model } : {}) } : {}),
    },
  }));
  const edges = terms.flatMap((t) => t.parents.map((parent) => ({ child: t.id, parent })));
  return [...chunked('phenotypes', nodes, size), ...chunked('is-a', edges, size), ...chunked('prune-is-a', terms.map((t) => ({ id: t.id, keep: t.parents })), size)];
}

export function prunePhenotypesStatement(keep: string[]): CypherStatement {
  return { kind: 'prune-phenotypes', cypher: CYPHER['prune-phenotypes'], params: { keep } };
}

function variantRows(owner: { patient: string; record?: string }, variants: VariantUnit[]): { nodes: unknown[]; genes: unknown[]; genePrune: unknown[] } {
  return {
    nodes: variants.map((v) => ({ ...owner, iri: v.iri, props: v.props })),
    genes: variants.flatMap((v) => v.genes.map((g) => ({ variant: v.iri, symbol: g.symbol, id: orNull(g.id) }))),
    genePrune: variants.map((v) => ({ iri: v.iri, keep: v.genes.map((g) => g.symbol) })),
  };
}

/** Patient properties plus the watermark. */
const patientProps = (p: PatientUnit): Props => ({ ...p.props, harmoniaHash: p.hash });

/**
 * Statements for a batch of changed patients: MERGE what the store holds, then delete what the
 * Neo4j graph holds beyond it (so an unchanged patient re-sent changes nothing).
 */
export function patientStatements(patients: PatientUnit[], size: number): CypherStatement[] {
  const variants = patients.map((p) => variantRows({ patient: p.id }, p.variants));
  return [
    ...chunked('patients', patients.map((p) => ({ id: p.id, props: patientProps(p) })), size),
    ...chunked('has-phenotype', patients.flatMap((p) => p.phenotypes.map((e) => ({ patient: p.id, term: e.term, excluded: e.excluded, onsetYears: orNull(e.onsetYears), onsetClasses: orNull(e.onsetClasses) }))), size),
    ...chunked('prune-has-phenotype', patients.map((p) => ({ id: p.id, keep: p.phenotypes.map((e) => `${e.term}|${e.excluded}`) })), size),
    ...chunked('has-disease', patients.flatMap((p) => p.diseases.map((d) => ({ patient: p.id, id: d.id, iri: d.iri, label: orNull(d.label) }))), size),
    ...chunked('prune-has-disease', patients.map((p) => ({ id: p.id, keep: p.diseases.map((d) => d.id) })), size),
    ...chunked('has-gene', patients.flatMap((p) => p.genes.map((g) => ({ patient: p.id, symbol: g.symbol, id: orNull(g.id) }))), size),
    ...chunked('prune-has-gene', patients.map((p) => ({ id: p.id, keep: p.genes.map((g) => g.symbol) })), size),
    ...chunked('patient-variants', variants.flatMap((v) => v.nodes), size),
    ...chunked('prune-patient-variants', patients.map((p) => ({ id: p.id, keep: p.variants.map((v) => v.iri) })), size),
    ...chunked('in-gene', variants.flatMap((v) => v.genes), size),
    ...chunked('prune-in-gene', variants.flatMap((v) => v.genePrune), size),
  ];
}

/** Statements for a batch of changed records, as for patients. */
export function recordStatements(records: RecordUnit[], size: number): CypherStatement[] {
  const variants = records.map((r) => variantRows({ patient: r.patient, record: r.id }, r.variants));
  return [
    ...chunked('records', records.map((r) => ({ id: r.id, patient: r.patient, props: { ...r.props, harmoniaHash: r.hash } })), size),
    ...chunked('has-finding', records.flatMap((r) => r.findings.map((term) => ({ record: r.id, term }))), size),
    ...chunked('prune-has-finding', records.map((r) => ({ id: r.id, keep: r.findings })), size),
    ...chunked('called-variants', variants.flatMap((v) => v.nodes), size),
    ...chunked('prune-called-variants', records.map((r) => ({ id: r.id, keep: r.variants.map((v) => v.iri) })), size),
    ...chunked('in-gene', variants.flatMap((v) => v.genes), size),
    ...chunked('prune-in-gene', variants.flatMap((v) => v.genePrune), size),
  ];
}

export function deleteStatements(kind: 'delete-patients' | 'delete-records', ids: string[], size: number): CypherStatement[] {
  const out: CypherStatement[] = [];
  for (let i = 0; i < ids.length; i += size) out.push({ kind, cypher: CYPHER[kind], params: { ids: ids.slice(i, i + size) } });
  return out;
}

export const deleteOrphansStatement = (): CypherStatement => ({ kind: 'delete-orphans', cypher: CYPHER['delete-orphans'], params: {} });

export function mirrorStatement(id: string, props: Record<string, string | number>): CypherStatement {
  return { kind: 'mirror', cypher: CYPHER.mirror, params: { id, props } };
}
