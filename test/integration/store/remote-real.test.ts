import { mkdirSync, readdirSync, watch, writeFileSync } from 'node:fs';
import type { Quad } from 'n3';
import { join } from 'node:path';
import { CohortService } from '../../../src/cohort/index.js';
import { ensureOntology, ingestPhenopackets } from '../../../src/ingest/index.js';
import { loadOntology } from '../../../src/ontology/index.js';
import { readJsonDocuments } from '../../../src/sources/index.js';
import { openStore, OxigraphStore, type GraphStore } from '../../../src/store/index.js';
import { storeStats } from '../../../src/cli/commands/stats.js';
import { dataDir, tempDir } from '../../helpers/paths.js';
import { realFiles } from '../../helpers/real-store.js';
import { startVirtuoso, VIRTUOSO_BINARY, type Virtuoso } from '../../helpers/virtuoso.js';

const data = dataDir();
const run = data && VIRTUOSO_BINARY ? describe : describe.skip;
if (!data || !VIRTUOSO_BINARY) console.warn(`real-data remote store test skipped: ${!data ? 'no data directory' : 'virtuoso-t is not installed (.ci/run installs it)'}`);

// The real HPO and a real batch of 800 phenopackets through SPARQL Update into Virtuoso, at the default
// batch size: large graphs and thousands of shared triples per commit, which small fixtures never reach.
run('the real HPO and real phenopackets in a remote Virtuoso store', () => {
  let v: Virtuoso;
  const dir = tempDir();
  let remote: GraphStore;
  let local: OxigraphStore;
  beforeAll(async () => {
    v = await startVirtuoso();
    const sample = join(dir.path, 'sample.jsonl');
    const lines: string[] = [];
    let i = 0;
    for await (const r of readJsonDocuments([realFiles(data!).phenopackets])) if (r.json && i++ % 9 === 0 && lines.length < 800) lines.push(JSON.stringify(r.json));
    writeFileSync(sample, lines.join('\n') + '\n');
    const ontology = loadOntology(realFiles(data!).hpo);
    remote = await openStore(v.location, { create: true, write: true });
    local = await OxigraphStore.open(join(dir.path, 'local'), { create: true, write: true });
    for (const s of [remote, local]) {
      await ensureOntology(s, ontology);
      expect(await ingestPhenopackets(s, [sample])).toMatchObject({ read: 800, rejected: 0 });
    }
  }, 600_000);
  afterAll(async () => {
    await remote?.close();
    await local?.close();
    await v?.stop();
    dir.remove();
  });

  test('the same counts and the same cohort members as the embedded store', async () => {
    const [a, b] = await Promise.all([storeStats(local), storeStats(remote)]);
    expect(b).toEqual(a);
    const ontology = (await local.ontology())!;
    for (const criteria of [{ phenotype: { concept: 'HP:0001250' } }, { all: [{ sex: 'FEMALE' }, { phenotype: { concept: 'HP:0001263', status: 'excluded' } }] }]) {
      const def = { name: 'x', criteria };
      const [l, r] = await Promise.all([new CohortService(local, ontology).evaluate(def), new CohortService(remote, ontology).evaluate(def)]);
      expect(l.count).toBeGreaterThan(0);
      expect(r.patients).toEqual(l.patients);
    }
  }, 120_000);

  test("the same 800 phenopackets loaded through a shared folder by Virtuoso's own loader (HARMONIA_SPARQL_BULK_DIR), three loads at a time: the same store", async () => {
    const other = await startVirtuoso();
    const folder = join(other.dir, 'bulk');
    mkdirSync(folder);
    const env = { HARMONIA_SPARQL_BULK_DIR: folder, HARMONIA_SPARQL_UPDATE_URL: other.endpoint.replace(/\/sparql$/, '/sparql-auth'), HARMONIA_SPARQL_USER: 'dba', HARMONIA_SPARQL_PASSWORD: 'dba', HARMONIA_SPARQL_PARALLEL: '3' };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    const loaded = new Set<string>();
    const watcher = watch(folder, (_, name) => void (name && /^harmonia-[0-9a-f-]+\.nq$/.test(name) && loaded.add(name)));
    try {
      const bulk = await openStore(other.location, { create: true, write: true });
      await ensureOntology(bulk, (await local.ontology())!);
      expect(await ingestPhenopackets(bulk, [join(dir.path, 'sample.jsonl')], { batchSize: 300 })).toMatchObject({ read: 800, accepted: 800, rejected: 0 });
      const [a, b] = await Promise.all([storeStats(local), storeStats(bulk)]);
      expect(b).toEqual(a);
      const ontology = (await local.ontology())!;
      const def = { name: 'x', criteria: { all: [{ phenotype: { concept: 'HP:0001250' } }, { sex: 'FEMALE' }] } };
      const [l, r] = await Promise.all([new CohortService(local, ontology).evaluate(def), new CohortService(bulk, ontology).evaluate(def)]);
      expect(l.count).toBeGreaterThan(0);
      expect(r.patients).toEqual(l.patients);
      // Every patient graph as SPARQL Update wrote it into the other Virtuoso, literals and datatypes
      // included (Virtuoso keeps dateTimes as values, so both differ from the embedded store's text alike).
      const graphs = (await local.select(`SELECT DISTINCT ?g WHERE { GRAPH ?g { ?p a <https://w3id.org/harmonia/vocab#Patient> } }`)).map((x) => x.g!);
      const canon = (qs: Quad[]) => qs.map((q) => `${q.subject.value} ${q.predicate.value} ${q.object.termType === 'Literal' ? `${q.object.value}^^${q.object.datatype.value}@${q.object.language}` : q.object.value}`).sort();
      for (const g of graphs.slice(0, 100)) expect(canon(await bulk.graphQuads(g))).toEqual(canon(await remote.graphQuads(g)));
      expect(readdirSync(folder)).toEqual([]);
      // Each batch of 300 (about 10 MB of N-Quads) went as three files, loaded side by side.
      expect(loaded.size).toBeGreaterThanOrEqual(8);
      await bulk.close();
    } finally {
      watcher.close();
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
      await other.stop();
    }
  }, 300_000);

  test("Virtuoso's planning statistics: refused to the anonymous user with the reason, recomputed for the dba through the authenticated endpoint", async () => {
    const anonymous = await remote.refreshStatistics!();
    expect(anonymous).toMatchObject({ engine: 'virtuoso', refreshed: false });
    expect(anonymous!.reason).toMatch(/Permission denied/);
    const saved = { ...process.env };
    Object.assign(process.env, { HARMONIA_SPARQL_UPDATE_URL: v.endpoint.replace(/\/sparql$/, '/sparql-auth'), HARMONIA_SPARQL_USER: 'dba', HARMONIA_SPARQL_PASSWORD: 'dba' });
    try {
      const dba = await openStore(v.location, { write: true });
      expect(await dba.refreshStatistics!()).toMatchObject({ engine: 'virtuoso', refreshed: true });
      await dba.close();
    } finally {
      for (const k of ['HARMONIA_SPARQL_UPDATE_URL', 'HARMONIA_SPARQL_USER', 'HARMONIA_SPARQL_PASSWORD']) if (saved[k] === undefined) delete process.env[k]; else process.env[k] = saved[k];
    }
    // The embedded store plans without such statistics: nothing to do.
    expect((local as GraphStore).refreshStatistics).toBeUndefined();
  }, 120_000);
});
