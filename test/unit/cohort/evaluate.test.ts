import { CohortService, membersCsv, memberRecords, rebuildPhenopacket } from '../../../src/cohort/index.js';
import type { OxigraphStore } from '../../../src/store/index.js';
import { def, tinyStore } from './helpers.js';

// Fixture patients (test/fixtures/cohort/patients.jsonl):
//   P-A FEMALE 10y  focal seizure (infantile onset)   SCN1A chr2:166848646 G>A PATHOGENIC  OMIM:607208 PMID:1
//   P-B MALE   3y   febrile seizure, ID excluded      SCN1A LIKELY_PATHOGENIC c.1234C>T    OMIM:607208 PMID:1
//   P-C FEMALE 30y  seizure (onset 2y), ID            STXBP1                               OMIM:612164 PMID:2
//   P-D FEMALE 6m   seizure excluded, GDD                                                              PMID:3
//   P-E MALE   -    HP:0000999 (obsolete -> seizure), HP:0001251 (alt_id of seizure)                    PMID:3
let ctx: Awaited<ReturnType<typeof tinyStore>>;
let service: CohortService;

beforeAll(async () => {
  ctx = await tinyStore();
  service = new CohortService(ctx.store as OxigraphStore, ctx.ontology);
});
afterAll(async () => ctx?.cleanup());

const members = async (criteria: unknown, sets?: unknown[]): Promise<string[]> => (await service.evaluate(def(criteria, sets))).patients;
const seizureSets = [{ id: 'seizure', items: [{ concept: 'HP:0001250' }, { concept: 'HP:0002373', isExcluded: true }] }];

describe('cohort evaluation on the fixture patients', () => {
  test('phenotype status: observed, excluded, notRecorded', async () => {
    expect((await members({ phenotype: { concept: 'HP:0001250' } }))).toEqual(['P-A', 'P-B', 'P-C', 'P-E']);
    expect((await members({ phenotype: { conceptSet: 'seizure' } }, seizureSets))).toEqual(['P-A', 'P-C', 'P-E']);
    expect((await members({ phenotype: { concept: 'HP:0001250', includeDescendants: false } }))).toEqual(['P-C', 'P-E']);
    expect((await members({ phenotype: { concept: 'HP:0001250', status: 'excluded' } }))).toEqual(['P-D']);
    expect((await members({ phenotype: { concept: 'HP:0001249', status: 'excluded' } }))).toEqual(['P-B']);
    // Not recorded: neither observed nor excluded. P-B has ID excluded, so it is *not* "not recorded".
    expect((await members({ phenotype: { concept: 'HP:0001249', status: 'notRecorded' } }))).toEqual(['P-A', 'P-D', 'P-E']);
    expect((await members({ phenotype: { concept: 'HP:0001250', status: 'notRecorded' } }))).toEqual([]);
  });

  test('groups: all, any, none, atLeast, nested', async () => {
    expect((await members({ all: [{ phenotype: { conceptSet: 'seizure' } }, { sex: 'FEMALE' }] }, seizureSets))).toEqual(['P-A', 'P-C']);
    expect((await members({ any: [{ gene: { symbol: 'STXBP1' } }, { sex: 'MALE' }] }))).toEqual(['P-B', 'P-C', 'P-E']);
    expect((await members({ none: [{ phenotype: { concept: 'HP:0001249' } }] }))).toEqual(['P-A', 'P-B', 'P-D', 'P-E']);
    expect((await members({ atLeast: { n: 2, of: [{ phenotype: { concept: 'HP:0001250' } }, { sex: 'FEMALE' }, { gene: { symbol: 'SCN1A' } }] } }))).toEqual(['P-A', 'P-B', 'P-C']);
    expect((await members({ atLeast: { n: 3, of: [{ phenotype: { concept: 'HP:0001250' } }, { sex: 'FEMALE' }, { gene: { symbol: 'SCN1A' } }] } }))).toEqual(['P-A']);
    // A negation inside any and atLeast branches must still range over all patients.
    expect((await members({ any: [{ none: [{ sex: 'FEMALE' }] }, { phenotype: { concept: 'HP:0001250', status: 'excluded' } }] }))).toEqual(['P-B', 'P-D', 'P-E']);
    expect((await members({ atLeast: { n: 2, of: [{ phenotype: { concept: 'HP:0001249', status: 'notRecorded' } }, { sex: 'MALE' }] } }))).toEqual(['P-E']);
    expect((await members({ all: [{ sex: 'FEMALE' }, { none: [{ any: [{ gene: { symbol: 'SCN1A' } }, { phenotype: { concept: 'HP:0001263' } }] }] }] }))).toEqual(['P-C']);
  });

  test('the issue example: seizure but not febrile, SCN1A, female, without intellectual disability', async () => {
    const example = {
      name: 'seizure-not-febrile-scn1a', conceptSets: seizureSets,
      criteria: { all: [
        { phenotype: { conceptSet: 'seizure', status: 'observed' } }, { gene: { symbol: 'SCN1A' } }, { sex: 'FEMALE' },
        { none: [{ phenotype: { concept: 'HP:0001249', status: 'observed' } }] },
      ] },
    };
    const e = (await service.evaluate(example));
    expect({ count: e.count, patients: e.patients }).toEqual({ count: 1, patients: ['P-A'] });
  });

  test('genes, variants, diseases, publications, sex, age, onset, modality, site', async () => {
    expect((await members({ gene: { id: 'HGNC:10585' } }))).toEqual(['P-A', 'P-B']);
    expect((await members({ variant: { chrom: 'chr2', pos: 166848646, ref: 'G', alt: 'A', assembly: 'hg38' } }))).toEqual(['P-A']);
    expect((await members({ variant: { acmgClass: ['LIKELY_PATHOGENIC', 'BENIGN'] } }))).toEqual(['P-B']);
    expect((await members({ variant: { hgvs: 'NM_001165963.4:c.1234C>T' } }))).toEqual(['P-B']);
    expect((await members({ variant: { gene: { symbol: 'SCN1A' }, acmgClass: 'PATHOGENIC' } }))).toEqual(['P-A']);
    expect((await members({ disease: { id: 'OMIM:612164' } }))).toEqual(['P-C']);
    expect((await members({ publication: 'PMID:3' }))).toEqual(['P-D', 'P-E']);
    expect((await members({ age: { min: 1, max: 18 } }))).toEqual(['P-A', 'P-B']);
    expect((await members({ age: { max: 12, unit: 'months' } }))).toEqual(['P-D']);
    expect((await members({ onset: { class: 'HP:0410280' } }))).toEqual(['P-A']);
    expect((await members({ onset: { concept: 'HP:0001250', min: 1, max: 5 } }))).toEqual(['P-C']);
    expect((await members({ modality: 'mri' }))).toEqual([]);
    expect((await members({ site: 'x" } ; DROP ALL ; #' }))).toEqual([]);
  });

  test('obsolete ids and UMLS CUIs in definitions', async () => {
    const e = (await service.evaluate(def({ phenotype: { concept: 'HP:0000999' } })));
    expect(e.patients).toEqual(['P-A', 'P-B', 'P-C', 'P-E']);
    expect(e.warnings[0]).toEqual({ path: '/criteria/phenotype/concept', message: expect.stringMatching(/obsolete.*HP:0001250/) });
    expect((await members({ phenotype: { concept: 'UMLS:C0036572' } }))).toEqual(['P-A', 'P-B', 'P-C', 'P-E']);
    expect((await members({ phenotype: { concept: 'C0009952' } }))).toEqual(['P-B']);
    // One CUI, two HPO terms (ID and GDD): both are used.
    expect((await members({ phenotype: { concept: 'C3714756' } }))).toEqual(['P-C', 'P-D']);
  });

  test('explain names the criteria that matched and the concrete terms', async () => {
    const e = (await service.evaluate(def({ atLeast: { n: 2, of: [{ phenotype: { concept: 'HP:0001250' } }, { sex: 'FEMALE' }, { phenotype: { concept: 'HP:0001249', status: 'notRecorded' } }] } })));
    expect(e.patients).toEqual(['P-A', 'P-C', 'P-D', 'P-E']);
    const [a, c] = (await service.explain(e));
    expect(a.matched).toBe(true);
    expect(a.criteria.children!.map((n) => n.matched)).toEqual([true, true, true]);
    expect(a.criteria.children![0].evidence).toEqual([{ value: 'HP:0007359', label: 'Focal-onset seizure' }]);
    expect(c.criteria.children!.map((n) => n.matched)).toEqual([true, true, false]);
    // The notRecorded criterion fails for P-C, and the evidence says which recorded term made it fail.
    expect(c.criteria.children![2].evidence).toEqual([{ value: 'HP:0001249', label: 'Intellectual disability' }]);
    expect((await service.explain(e)).every((x) => x.matched)).toBe(true);
  });

  test('characterise and compare', async () => {
    const ch = (await service.characterise(['P-A', 'P-B']));
    expect(ch.count).toBe(2);
    expect(ch.sex).toEqual({ FEMALE: 1, MALE: 1, OTHER_SEX: 0, UNKNOWN_SEX: 0 });
    expect(ch.ageBands['5-11']).toBe(1);
    expect(ch.ageBands['1-4']).toBe(1);
    const seizure = ch.topTerms.find((t) => t.id === 'HP:0001250')!;
    expect(seizure).toMatchObject({ count: 2, fraction: 1, otherCount: 2, otherFraction: 0.6667 });
    expect(ch.genes).toEqual([{ value: 'SCN1A', count: 2, fraction: 1 }]);
    expect(ch.diseases[0]).toMatchObject({ value: 'OMIM:607208', count: 2 });
    expect(ch.topTerms.some((t) => t.id === 'HP:0000118' || t.id === 'HP:0000001')).toBe(false);
    const cmp = (await service.compare(['P-A', 'P-B', 'P-C'], ['P-C', 'P-D']));
    expect(cmp.both).toBe(1);
    expect(cmp.a).toEqual({ count: 3, onlyA: 2 });
    expect(cmp.b).toEqual({ count: 2, onlyB: 1 });
    expect(cmp.sex.FEMALE).toEqual([2, 2]);
  });

  test('save, list, get, delete named cohorts', async () => {
    const saved = await service.save({ name: 'scn1a', description: 'SCN1A carriers', criteria: { gene: { symbol: 'SCN1A' } } }, 'tester');
    expect(saved.graph).toBe('https://w3id.org/harmonia/graph/cohort/scn1a');
    expect((await service.list()).map((c) => [c.name, c.hpoVersion, c.createdBy])).toEqual([['scn1a', '2024-04-26', 'tester']]);
    expect((await service.get('scn1a')).definition).toEqual({ name: 'scn1a', description: 'SCN1A carriers', criteria: { gene: { symbol: 'SCN1A' } } });
    expect((await service.members('scn1a')).patients).toEqual(['P-A', 'P-B']);
    await expect(service.save({ name: 'bad', criteria: { phenotype: { conceptSet: 'nope' } } }, 'tester')).rejects.toThrow(/unknown concept set/);
    expect(await service.delete('scn1a')).toBe(true);
    expect((await service.list())).toEqual([]);
    await expect(service.get('scn1a')).rejects.toThrow(/no saved cohort named scn1a/);
  });

  test('export: CSV, JSON records, phenopacket zip from the source file', async () => {
    const csv = membersCsv((await memberRecords(ctx.store, ['P-A', 'P-C'])));
    expect(csv.split('\r\n')[0]).toBe('id,sex,age_years,diseases,genes,observed_hpo_terms');
    expect(csv.split('\r\n')[1]).toBe('P-A,FEMALE,10,OMIM:607208,SCN1A,HP:0007359');
    const zip = await service.export('t', ['P-A', 'P-E'], 'zip');
    expect(zip.original).toBe(2);
    expect(zip.rebuilt).toBe(0);
    expect((zip.body as Buffer).readUInt32LE(0)).toBe(0x04034b50);
  });

  test('a phenopacket rebuilt from the graph keeps the fields the graph holds', async () => {
    const pp = (await rebuildPhenopacket(ctx.store, ctx.ontology, 'P-A')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(pp.id).toBe('P-A');
    expect(pp.subject).toEqual({ id: 'P-A-s', sex: 'FEMALE', timeAtLastEncounter: { age: { iso8601duration: 'P10Y' } } });
    expect(pp.phenotypicFeatures).toEqual([{ type: { id: 'HP:0007359', label: 'Focal-onset seizure' }, onset: { ontologyClass: { id: 'HP:0003593', label: 'Infantile onset' } } }]);
    expect(pp.diseases).toEqual([{ term: { id: 'OMIM:607208' } }]);
    const vd = pp.interpretations[0].diagnosis.genomicInterpretations[0].variantInterpretation;
    expect(vd.acmgPathogenicityClassification).toBe('PATHOGENIC');
    expect(vd.variationDescriptor.geneContext).toEqual({ valueId: 'HGNC:10585', symbol: 'SCN1A' });
    expect(vd.variationDescriptor.vcfRecord).toEqual({ genomeAssembly: 'GRCh38', chrom: '2', pos: 166848646, ref: 'G', alt: 'A' });
    expect(vd.variationDescriptor.expressions).toEqual([{ syntax: 'hgvs.c', value: 'NM_001165963.4:c.4000G>A' }]);
    expect(pp.metaData.externalReferences).toEqual([{ id: 'PMID:1' }]);
  });
});
