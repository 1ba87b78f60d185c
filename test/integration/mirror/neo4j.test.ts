import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import neo4j, { type Driver } from 'neo4j-driver';
import { EXAMPLE_QUERIES } from '../../../src/cli/commands/demo.js';
import { connectNeo4j, mirrorStore, type Neo4jConnection } from '../../../src/mirror/index.js';
import { HX } from '../../../src/model/index.js';
import { repoRoot } from '../../helpers/paths.js';
import { addEmbeddings, mirrorFixture, patientIri } from '../../unit/mirror/helpers.js';

// Against a real Neo4j: only when NEO4J_URI (and NEO4J_USER / NEO4J_PASSWORD) are set. The database must
// be empty; what the test writes is deleted at the end.
const uri = process.env.NEO4J_URI;
const describeLive = uri ? describe : describe.skip;
if (!uri) console.warn('live Neo4j mirror tests skipped: set NEO4J_URI (and NEO4J_USER, NEO4J_PASSWORD) to an empty Neo4j 5 database to run them');

const cypherBlocks = [...readFileSync(join(repoRoot, 'docs', 'neo4j.md'), 'utf8').matchAll(/```cypher\n([\s\S]*?)```/g)].map((m) => m[1].trim());

describeLive('the Neo4j mirror against a live server', () => {
  let fx: Awaited<ReturnType<typeof mirrorFixture>>;
  let conn: Neo4jConnection;
  let driver: Driver;
  const database = process.env.NEO4J_DATABASE;
  const q = async (cypher: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>[]> => {
    const r = await driver.executeQuery(cypher, params, { database, routing: neo4j.routing.WRITE });
    return r.records.map((x) => x.toObject());
  };
  const num = (v: unknown): number => (neo4j.isInt(v) ? (v as { toNumber(): number }).toNumber() : Number(v));
  const dump = async (): Promise<string> => JSON.stringify(await q(`MATCH (n) WHERE NOT n:HarmoniaMirror
    OPTIONAL MATCH (n)-[r]->(m) WITH n, collect([type(r), properties(r), elementId(m) IS NOT NULL, properties(m)]) AS out
    RETURN labels(n) AS l, properties(n) AS p, out ORDER BY l, p.id, p.iri, p.symbol`), (_, v) => (typeof v === 'bigint' ? String(v) : v));

  beforeAll(async () => {
    const user = process.env.NEO4J_USER ?? 'neo4j';
    driver = neo4j.driver(uri!, process.env.NEO4J_PASSWORD !== undefined ? neo4j.auth.basic(user, process.env.NEO4J_PASSWORD) : undefined);
    const [{ n }] = await q('MATCH (n) RETURN count(n) AS n');
    if (num(n) !== 0) throw new Error(`${uri}: the database holds ${num(n)} nodes; the live mirror test needs an empty one`);
    fx = await mirrorFixture();
    conn = await connectNeo4j(uri!, { database });
  }, 120_000);
  afterAll(async () => {
    if (driver) {
      await q('MATCH (n) DETACH DELETE n').catch(() => undefined);
      for (const r of await q("SHOW INDEXES YIELD name WHERE name STARTS WITH 'harmonia_' RETURN name").catch(() => [])) {
        await q(`DROP CONSTRAINT ${r.name} IF EXISTS`).catch(() => undefined);
        await q(`DROP INDEX ${r.name} IF EXISTS`).catch(() => undefined);
      }
      await driver.close();
    }
    await conn?.close();
    await fx?.cleanup();
  });

  test('the graph has the counts SPARQL gives, and the documented Cypher answers as the demo SPARQL does', async () => {
    const summary = await mirrorStore(fx.store, conn, { batch: 2 });
    expect(summary.patients.sent).toBe(5);
    const sparqlCount = async (where: string) => Number((await fx.store.select(`SELECT (COUNT(*) AS ?n) WHERE { ${where} }`))[0].n);
    expect(num((await q('MATCH (p:Patient) RETURN count(p) AS n'))[0].n)).toBe(5);
    expect(num((await q('MATCH (:Patient)-[e:HAS_PHENOTYPE]->(:Phenotype) RETURN count(e) AS n'))[0].n))
      .toBe(await sparqlCount(`SELECT DISTINCT ?p ?c ?s WHERE { { ?p <${HX}hasPhenotype> ?c BIND(1 AS ?s) } UNION { ?p <${HX}excludedPhenotype> ?c BIND(2 AS ?s) } }`));
    expect(num((await q('MATCH (:Record)<-[:HAS_RECORD]-(:Patient) RETURN count(*) AS n'))[0].n)).toBe(2);
    const [pos] = await q("MATCH (v:Variant {variantId: 'P-A-var'}) RETURN v.pos AS pos");
    expect(neo4j.isInt(pos.pos)).toBe(true);
    // Demo query 1 in both languages.
    const sparql = Number((await fx.store.select(EXAMPLE_QUERIES[0].sparql))[0].patients);
    expect(num((await q(cypherBlocks.find((b) => b.includes("'HP:0001250'") && b.startsWith('MATCH (p:Patient)-[:HAS_PHENOTYPE {excluded: false}]'))!))[0].patients)).toBe(sparql);
    expect(sparql).toBeGreaterThan(0);
  }, 120_000);

  test('idempotent and incremental on the server: nothing sent when unchanged, the same graph after --full', async () => {
    const before = await dump();
    expect((await mirrorStore(fx.store, conn)).upToDate).toBe(true);
    await mirrorStore(fx.store, conn, { full: true });
    expect(await dump()).toBe(before);
  }, 120_000);

  test('embeddings get a cosine vector index that answers a nearest-neighbour query', async () => {
    await addEmbeddings(fx.store, [
      { subject: patientIri('P-A'), vector: [1, 0, 0] },
      { subject: patientIri('P-B'), vector: [0.9, 0.1, 0] },
      { subject: patientIri('P-C'), vector: [0, 0, 1] },
    ]);
    expect((await mirrorStore(fx.store, conn)).vectorIndexes).toEqual({ Patient: 3 });
    await q('CALL db.awaitIndexes(60)');
    const rows = await q(cypherBlocks.find((b) => b.includes('db.index.vector.queryNodes'))!, { patient: 'P-A' });
    expect(rows[0].patient).toBe('P-B');
  }, 120_000);
});
