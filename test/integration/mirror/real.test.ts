import { mirrorStore } from '../../../src/mirror/index.js';
import { HX } from '../../../src/model/index.js';
import { OxigraphStore } from '../../../src/store/index.js';
import { dataDir } from '../../helpers/paths.js';
import { realStoreDir } from '../../helpers/real-store.js';
import { FakeNeo4j } from '../../unit/mirror/fake-neo4j.js';

const data = dataDir();
const describeWithData = data ? describe : describe.skip;
if (!data) console.warn('Neo4j mirror integration tests on real data skipped: no data directory (../shared/data or HARMONIA_DATA)');

describeWithData('the Neo4j mirror of the 7,405 real dev phenopackets (into the recording stand-in)', () => {
  let store: OxigraphStore;
  beforeAll(async () => {
    store = await OxigraphStore.open(await realStoreDir(data!));
  }, 600_000);
  afterAll(async () => store?.close());

  test('rows per relationship type match SPARQL; the second run reads one node and sends nothing', async () => {
    const neo = new FakeNeo4j();
    const t0 = Date.now();
    const first = await mirrorStore(store, neo);
    const seconds = (Date.now() - t0) / 1000;
    const rows = neo.rowsByKind();
    const count = async (q: string): Promise<number> => Number((await store.select(`SELECT (COUNT(*) AS ?n) WHERE { ${q} }`))[0].n);
    expect(first.patients).toEqual({ inStore: 7405, sent: 7405, unchanged: 0, deleted: 0 });
    expect(rows.patients).toHaveLength(7405);
    expect(rows['has-phenotype']).toHaveLength(await count(`SELECT DISTINCT ?p ?c ?s WHERE { { ?p <${HX}hasPhenotype> ?c BIND(1 AS ?s) } UNION { ?p <${HX}excludedPhenotype> ?c BIND(2 AS ?s) } }`));
    expect(rows['has-disease']).toHaveLength(await count(`SELECT DISTINCT ?p ?d WHERE { ?p <${HX}hasDisease> ?d }`));
    expect(rows['has-gene']).toHaveLength(await count(`SELECT DISTINCT ?p ?g WHERE { ?p <${HX}hasGene> ?g }`));
    expect(rows['patient-variants']).toHaveLength(await count(`SELECT DISTINCT ?p ?v WHERE { ?p <${HX}hasVariant> ?v }`));
    expect(rows.phenotypes.length).toBeGreaterThan(15_000);
    // The example cohort's gene, as a Neo4j user would find it.
    const stxbp1 = neo.relsOf('HAS_GENE').filter((r) => r.to === 'Gene:STXBP1').length;
    expect(stxbp1).toBe(await count(`SELECT DISTINCT ?p WHERE { ?p <${HX}hasGene> ?g . ?g <${HX}symbol> "STXBP1" }`));
    expect(stxbp1).toBe(462);
    const t1 = Date.now();
    const second = await mirrorStore(store, neo);
    expect(second.upToDate).toBe(true);
    console.log(`mirror of 7,405 patients: ${seconds.toFixed(1)} s, ${first.statements} statements, ${first.rows} rows; unchanged run ${((Date.now() - t1) / 1000).toFixed(3)} s`);
  }, 600_000);
});
