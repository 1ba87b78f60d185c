import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureOntology, ingestPhenopackets } from '../../../src/ingest/index.js';
import { compareFusions, embedStore, EmbeddingRetrieval, FUSIONS, fusionName, mergeConfig, Rng, stratify, train, type FusionComparison, type ScoredQuery } from '../../../src/learn/index.js';
import { loadOntology } from '../../../src/ontology/index.js';
import { DEFAULT_DIAGNOSIS_METHOD, DEFAULT_METHOD, loadHpoa, type Hpoa } from '../../../src/retrieve/index.js';
import { OxigraphStore } from '../../../src/store/index.js';
import { dataDir, repoRoot, tempDir } from '../../helpers/paths.js';

// Retrieval with embeddings on real data: a sixth of the dev phenopacket cohorts (every sixth
// gene folder, about 1,300 patients), a tiny phenotype-only model trained in seconds, and
// publication-grouped evaluation on the model's held-out test publications (the fusion is chosen on
// its validation publications). The numbers are logged; the assertions are the properties that must hold
// even for a tiny model: better than chance, and fusion not worse than the classical default.

const data = dataDir();
const describeWithData = data ? describe : describe.skip;
if (!data) console.warn('retrieval-with-embeddings integration tests skipped: no data directory (../shared/data or HARMONIA_DATA)');

const harmonia = (...args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'bin', 'harmonia'), ...args], { encoding: 'utf8', timeout: 120_000 });
const quiet = () => undefined;

/** The same queries with the learned scores replaced by random ones: the chance level of a ranking. */
function* randomised(queries: Iterable<ScoredQuery>, rng: Rng): Generator<ScoredQuery> {
  for (const q of queries) yield { ...q, learned: Float64Array.from(q.learned, () => rng.next()) };
}

const line = (c: FusionComparison, chosen: string) =>
  [c.embedding, c.classical, ...c.hybrid.filter((h) => h.method === `hybrid:${chosen}`)].map((m) => `${m.method} MRR ${m.mrr} hit@1 ${m.hit1} hit@10 ${m.hit10}`).join('; ');

describeWithData('similar, diagnose and stratify with a tiny model on real phenopackets', () => {
  const dir = tempDir('harmonia-learn-retrieval-');
  const storeDir = join(dir.path, 'store');
  let retrieval: EmbeddingRetrieval;
  let hpoa: Hpoa;

  beforeAll(async () => {
    const D = data!;
    const store = await OxigraphStore.open(storeDir, { create: true, write: true });
    const ontology = loadOntology(join(D, 'ontologies', 'hp.v2024-04-26.json.gz'));
    await ensureOntology(store, ontology);
    // The archive's folders are cohorts (one gene each); every sixth one is taken.
    const { readJsonDocuments } = await import('../../../src/sources/read.js');
    const { writeFileSync } = await import('node:fs');
    const lines: string[] = [];
    const cohorts = new Map<string, number>();
    for await (const doc of readJsonDocuments([join(D, 'phenopackets', 'phenopacket-store-dev.zip')])) {
      const cohort = doc.origin.entry?.split('/')[0] ?? '';
      if (!cohorts.has(cohort)) cohorts.set(cohort, cohorts.size);
      if (cohorts.get(cohort)! % 6 === 0) if (doc.json) lines.push(JSON.stringify(doc.json));
    }
    writeFileSync(join(dir.path, 'subset.jsonl'), lines.join('\n') + '\n');
    const s = await ingestPhenopackets(store, [join(dir.path, 'subset.jsonl')], { batchSize: 2000 });
    expect(s.accepted).toBeGreaterThan(800);
    console.log(`${s.accepted} patients ingested in ${s.seconds} s`);
    await store.close();
    const config = mergeConfig({
      name: 'tiny-pheno', dim: 32, phenotype: { batch: 32, maxTerms: 16, attention: 16 }, signals: { ecg: null, eeg: null },
      epochs: 2, stepsPerEpoch: 15, patience: 2, termPairs: 32, negatives: 16, learningRate: 0.003,
    });
    const started = Date.now();
    await train({ storeDir, config, seed: 2, software: 'harmonia test', log: quiet });
    const trained = Date.now();
    await embedStore({ storeDir, log: quiet });
    console.log(`trained in ${(trained - started) / 1000} s, embedded in ${(Date.now() - trained) / 1000} s`);
    hpoa = loadHpoa(join(D, 'annotations', 'phenotype.hpoa.gz'), ontology);
    retrieval = await EmbeddingRetrieval.open({ storeDir, fusionQueries: 60, log: (l) => console.log(l) });
  }, 180_000);
  afterAll(async () => {
    await retrieval?.dispose();
    dir.remove();
  });

  test('patient retrieval on held-out publications: embedding beats chance, hybrid is not worse than lin-bma+excl', () => {
    const fusion = fusionName(retrieval.fusionFor('similar'));
    const scored = [...retrieval.similarQueries(retrieval.splitPatients('test', 150))];
    const test = compareFusions(scored, DEFAULT_METHOD);
    const chance = compareFusions(randomised(scored, new Rng(1)), DEFAULT_METHOD).embedding;
    console.log(`test split, publication-grouped, ${test.embedding.queries} queries: ${line(test, fusion)}; random MRR ${chance.mrr}`);
    expect(test.embedding.queries).toBeGreaterThan(40);
    expect(test.embedding.mrr).toBeGreaterThan(2 * chance.mrr);
    const hybrid = test.hybrid[FUSIONS.findIndex((f) => fusionName(f) === fusion)];
    expect(hybrid.mrr).toBeGreaterThan(test.classical.mrr - 0.05);
  }, 120_000);

  test('zero-shot disease ranking: embedded phenotype.hpoa profiles rank the diagnosis far above chance', async () => {
    const queries = retrieval.splitPatients('test', 60);
    const fusion = fusionName(await retrieval.fusionFor('diagnose', hpoa));
    const scored: ScoredQuery[] = [];
    for await (const q of retrieval.diagnoseQueries(queries, hpoa)) scored.push(q);
    const test = compareFusions(scored, DEFAULT_DIAGNOSIS_METHOD);
    const chance = compareFusions(randomised(scored, new Rng(2)), DEFAULT_DIAGNOSIS_METHOD).embedding;
    console.log(`test split, ${test.embedding.queries} queries, ${(await retrieval.diseases(hpoa)).vectors.ids.length} diseases: ${line(test, fusion)}; random MRR ${chance.mrr}`);
    expect(test.embedding.queries).toBeGreaterThan(15);
    expect(test.embedding.mrr).toBeGreaterThan(10 * chance.mrr);
    expect(test.hybrid[FUSIONS.findIndex((f) => fusionName(f) === fusion)].mrr).toBeGreaterThan(test.classical.mrr - 0.05);
  }, 120_000);

  test('harmonia similar --method hybrid; stratify --k auto', async () => {
    const patient = retrieval.splitPatients('test', 1)[0].id;
    const s = harmonia('similar', '--store', storeDir, '--patient', patient, '--method', 'hybrid', '--top', '5', '--json');
    expect(s.status).toBe(0);
    const r = JSON.parse(s.stdout) as { query: string; method: string; model: string; results: { patient: string; score: number }[] };
    expect(r).toMatchObject({ query: patient, method: 'hybrid', model: retrieval.version });
    expect(r.results).toHaveLength(5);
    expect(r.results.map((x) => x.patient)).not.toContain(patient);
    const strat = await stratify({ storeDir, k: 'auto', members: 3 });
    expect(strat.candidates!.map((c) => c.k)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(strat.clusters.reduce((a, c) => a + c.size, 0)).toBe(strat.patients);
    console.log(`stratify --k auto: k ${strat.k}, silhouette ${strat.silhouette}; ${strat.clusters.map((c) => `${c.size}: ${c.characterisation.enrichedTerms.slice(0, 2).map((t) => t.label).join(', ')}`).join(' | ')}`);
    // Clusters of phenotype embeddings differ in phenotypes: every cluster of 20 or more has enriched terms.
    for (const c of strat.clusters.filter((x) => x.size >= 20)) expect(c.characterisation.enrichedTerms.length).toBeGreaterThan(0);
    expect(harmonia('similar', '--store', storeDir, '--hpo', 'HP:0001250', '--method', 'embedding', '--record', 'x.hea', '--modality', 'ecg').stderr).toMatch(/give exactly one of --query FILE, --hpo HP:x,HP:y, --patient ID, --record FILE --modality ecg\|eeg/);
    expect(readdirSync(join(storeDir, 'arrays', 'models', retrieval.version)).filter((f) => /^diseases-\w+\.(npy|keys\.json)$|^fusion\.json$/.test(f)).sort()).toHaveLength(3);
  }, 120_000);

  test('the genomic encoder: a gene list and a real exome (VCF) as cross-modal queries', async () => {
    const genes = JSON.parse(readFileSync(join(storeDir, 'arrays', 'models', retrieval.version, 'genes.json'), 'utf8')) as string[];
    expect(genes.slice(0, 2)).toEqual(['<unknown>', '<mask>']);
    expect(genes.length).toBeGreaterThan(20);
    // Carriers of each gene, from the store (the phenopackets' interpretations).
    const store = await OxigraphStore.open(storeDir);
    const carriers = new Map<string, Set<string>>();
    for (const r of await store.select('PREFIX hx: <https://w3id.org/harmonia/vocab#> SELECT DISTINCT ?id ?sym WHERE { ?p hx:id ?id ; hx:hasGene ?g . ?g hx:symbol ?sym }')) {
      carriers.set(r.sym!.toUpperCase(), (carriers.get(r.sym!.toUpperCase()) ?? new Set()).add(r.id!));
    }
    await store.close();
    // The ten genes of the vocabulary with the most carriers: a query naming one returns its carriers first.
    const frequent = genes.slice(2).filter((g) => (carriers.get(g)?.size ?? 0) >= 10).sort((a, b) => carriers.get(b)!.size - carriers.get(a)!.size).slice(0, 10);
    expect(frequent.length).toBeGreaterThan(3);
    let precision = 0;
    for (const gene of frequent) {
      for await (const r of retrieval.similarAll({ genes: [gene] }, { method: 'embedding', top: 5 })) {
        if ('error' in r) throw new Error(r.error);
        expect(r.query).toBe(`genes:${gene}`);
        precision += r.results.filter((x) => carriers.get(gene)!.has(x.patient!)).length / 5 / frequent.length;
      }
    }
    const cli = harmonia('similar', '--store', storeDir, '--genes', frequent[0], '--method', 'embedding', '--top', '5', '--json');
    expect(cli.status).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ query: `genes:${frequent[0]}`, method: 'embedding', model: retrieval.version });
    console.log(`--genes queries: precision@5 for carriers of the gene ${precision.toFixed(3)} over ${frequent.length} genes`);
    // Each of these genes' carriers are a few percent of the ~1,300 patients: 0.3 is ten times chance for a tiny model (measured 0.5-0.7).
    expect(precision).toBeGreaterThan(0.3);
    for await (const r of retrieval.similarAll({ genes: ['NOTAGENE1'] }, { method: 'embedding' })) expect(r).toMatchObject({ error: expect.stringMatching(/none of NOTAGENE1 is in the model's gene vocabulary/) });
    expect(harmonia('similar', '--store', storeDir, '--genes', 'FGFR2').stderr).toMatch(/--genes: a record or gene-list query needs --method embedding/);
    // The Exomiser example exome (FGFR2 Pfeiffer syndrome), harmonized as ingest would: genes from the gene reference file.
    const vcf = harmonia('similar', '--store', storeDir, '--record', join(data!, 'genomics', 'exomiser', 'Pfeiffer.vcf.gz'), '--modality', 'vcf', '--method', 'embedding', '--top', '3', '--json');
    expect(vcf.status).toBe(0);
    expect((JSON.parse(vcf.stdout) as { results: unknown[] }).results).toHaveLength(3);
  }, 180_000);
});
