import { CohortDefinitionError, CohortService } from '../../../src/cohort/index.js';
import { membersByLeaves } from '../../../src/cohort/explain.js';
import { loadOntology, type Ontology } from '../../../src/ontology/index.js';
import { readJsonDocuments } from '../../../src/sources/index.js';
import { OxigraphStore } from '../../../src/store/index.js';
import { describeWithData, devStoreDir, files } from './data.js';

/** What the tests need of each phenopacket, read from the JSON itself (never from the store). */
interface Truth {
  id: string;
  sex: string;
  age?: number;
  observed: Set<string>;
  excluded: Set<string>;
  genes: Set<string>;
  diseases: Set<string>;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function years(iso: string | undefined): number | undefined {
  const m = iso?.match(/^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$/);
  if (!m) return undefined;
  const [y, mo, w, d] = m.slice(1).map((x) => Number(x ?? 0));
  return y + mo / 12 + (w * 7 + d) / 365.25;
}

function truth(pp: Json, ontology: Ontology): Truth {
  const t: Truth = { id: pp.id, sex: pp.subject?.sex ?? 'UNKNOWN_SEX', age: years(pp.subject?.timeAtLastEncounter?.age?.iso8601duration), observed: new Set(), excluded: new Set(), genes: new Set(), diseases: new Set() };
  for (const f of pp.phenotypicFeatures ?? []) {
    const r = ontology.resolve(f.type.id);
    if (r.status === 'primary' || r.status === 'alt_id' || r.status === 'replaced') (f.excluded ? t.excluded : t.observed).add(r.id);
  }
  for (const d of pp.diseases ?? []) if (!d.excluded) t.diseases.add(d.term.id);
  for (const i of pp.interpretations ?? []) {
    if (i.diagnosis?.disease?.id) t.diseases.add(i.diagnosis.disease.id);
    for (const gi of i.diagnosis?.genomicInterpretations ?? []) {
      if (gi.gene?.symbol) t.genes.add(gi.gene.symbol);
      const g = gi.variantInterpretation?.variationDescriptor?.geneContext?.symbol;
      if (g) t.genes.add(g);
    }
  }
  return t;
}

let ontology: Ontology;
let patients: Truth[];
let store: OxigraphStore;
let service: CohortService;

const expand = (id: string): Set<string> => new Set(ontology.descendants(id));
const hasAny = (terms: Set<string>, set: Set<string>): boolean => [...terms].some((x) => set.has(x));
const ids = (pred: (t: Truth) => boolean): string[] => patients.filter(pred).map((t) => t.id).sort();
const run = async (criteria: unknown, conceptSets?: unknown[]): Promise<string[]> => (await service.evaluate({ name: 'it', ...(conceptSets ? { conceptSets } : {}), criteria })).patients;

describeWithData('cohorts on the real dev phenopackets', () => {
  beforeAll(async () => {
    const dir = await devStoreDir();
    store = await OxigraphStore.open(dir);
    ontology = loadOntology(files.hpo);
    service = new CohortService(store, (await store.ontology())!);
    patients = [];
    for await (const rec of readJsonDocuments([files.phenopackets])) patients.push(truth(rec.json as Json, ontology));
  }, 600_000);
  afterAll(async () => store?.close());

  test('all 7,405 patients are in the store', async () => {
    expect(patients).toHaveLength(7405);
    expect((await run({ none: [{ sex: 'OTHER_SEX' }, { sex: 'OTHER_SEX' }] })).length).toBe(7405 - ids((t) => t.sex === 'OTHER_SEX').length);
  });

  test('the issue example, with a gene present in the dev data (STXBP1)', async () => {
    const seizure = expand('HP:0001250');
    for (const f of expand('HP:0002373')) seizure.delete(f);
    const id = expand('HP:0001249');
    const expected = ids((t) => hasAny(t.observed, seizure) && t.genes.has('STXBP1') && t.sex === 'FEMALE' && !hasAny(t.observed, id));
    expect(expected.length).toBeGreaterThan(10);
    const got = (await run({ all: [
      { phenotype: { conceptSet: 'seizure', status: 'observed' } }, { gene: { symbol: 'STXBP1' } }, { sex: 'FEMALE' },
      { none: [{ phenotype: { concept: 'HP:0001249', status: 'observed' } }] },
    ] }, [{ id: 'seizure', items: [{ concept: 'HP:0001250', includeDescendants: true }, { concept: 'HP:0002373', includeDescendants: true, isExcluded: true }] }]));
    expect(got).toEqual(expected);
  });

  test('observed, excluded and not recorded partition the patients as the JSON says', async () => {
    const id = expand('HP:0001249');
    const observed = ids((t) => hasAny(t.observed, id));
    const excluded = ids((t) => hasAny(t.excluded, id));
    const notRecorded = ids((t) => !hasAny(t.observed, id) && !hasAny(t.excluded, id));
    expect(excluded.length).toBeGreaterThan(100);
    expect((await run({ phenotype: { concept: 'HP:0001249', status: 'observed' } }))).toEqual(observed);
    expect((await run({ phenotype: { concept: 'HP:0001249', status: 'excluded' } }))).toEqual(excluded);
    expect((await run({ phenotype: { concept: 'HP:0001249', status: 'notRecorded' } }))).toEqual(notRecorded);
    // Excluded is not the same as not recorded: an explicitly excluded patient is never "not recorded".
    expect(notRecorded.some((p) => excluded.includes(p))).toBe(false);
  });

  test('any, none and atLeast groups', async () => {
    const seizure = expand('HP:0001250');
    const gdd = expand('HP:0001263');
    const micro = expand('HP:0000252');
    expect((await run({ any: [{ gene: { symbol: 'NF1' } }, { disease: 'OMIM:612164' }] }))).toEqual(ids((t) => t.genes.has('NF1') || t.diseases.has('OMIM:612164')));
    expect((await run({ all: [{ gene: { symbol: 'STXBP1' } }, { none: [{ phenotype: { concept: 'HP:0001250' } }, { sex: 'MALE' }] }] })))
      .toEqual(ids((t) => t.genes.has('STXBP1') && !hasAny(t.observed, seizure) && t.sex !== 'MALE'));
    const atLeast = { atLeast: { n: 2, of: [{ phenotype: { concept: 'HP:0001250' } }, { phenotype: { concept: 'HP:0001263' } }, { phenotype: { concept: 'HP:0000252' } }, { sex: 'MALE' }] } };
    const expected = ids((t) => [hasAny(t.observed, seizure), hasAny(t.observed, gdd), hasAny(t.observed, micro), t.sex === 'MALE'].filter(Boolean).length >= 2);
    expect((await run(atLeast))).toEqual(expected);
    // The explainer evaluates the same tree from per-criterion answers: the two paths must agree.
    const cohort = service.prepare({ name: 'x', criteria: atLeast });
    expect((await membersByLeaves(store, service.ontology, cohort, patients.map((t) => t.id))).sort()).toEqual(expected);
  });

  test('age at last encounter and a broad subtree', async () => {
    const nervous = expand('HP:0000707');
    expect((await run({ all: [{ age: { min: 2, max: 10 } }, { phenotype: { concept: 'HP:0000707' } }] })))
      .toEqual(ids((t) => t.age !== undefined && t.age >= 2 && t.age <= 10 && hasAny(t.observed, nervous)));
  });

  test('UMLS CUIs, alt_ids and obsolete ids resolve through the ontology', async () => {
    const seizure = ids((t) => hasAny(t.observed, expand('HP:0001250')));
    expect((await run({ phenotype: { concept: 'UMLS:C0036572' } }))).toEqual(seizure);
    const alt = ontology.get('HP:0001250')!.altIds[0];
    const e = (await service.evaluate({ name: 'alt', criteria: { phenotype: { concept: alt } } }));
    expect(e.patients).toEqual(seizure);
    expect(e.warnings[0].message).toMatch(/alternative id of HP:0001250/);
    const obsolete = [...ontology.allTerms()].find((t) => t.obsolete && t.replacedBy && ontology.has(t.replacedBy) && ids((p) => p.observed.has(t.replacedBy!)).length > 0)!;
    const o = (await service.evaluate({ name: 'obs', criteria: { phenotype: { concept: obsolete.id, includeDescendants: false } } }));
    expect(o.patients).toEqual(ids((p) => p.observed.has(obsolete.replacedBy!)));
    expect(o.warnings[0].message).toMatch(/obsolete/);
  });

  test('bad definitions fail with the offending path', async () => {
    await expect(run({ phenotype: { concept: 'HP:9999999' } })).rejects.toThrow(CohortDefinitionError);
    await expect(run({ phenotype: { conceptSet: 'nope' } })).rejects.toThrow(/\/criteria\/phenotype\/conceptSet: unknown concept set "nope"/);
    await expect(run({ atLeast: { n: 0, of: [{ sex: 'MALE' }] } })).rejects.toThrow(/\/criteria\/atLeast\/n/);
  });

  test('characterise an STXBP1 cohort: seizures enriched against the rest of the store', async () => {
    const members = (await run({ gene: { symbol: 'STXBP1' } }));
    const ch = (await service.characterise(members, 50));
    expect(ch.count).toBe(members.length);
    expect(ch.genes[0].value).toBe('STXBP1');
    const seizure = ch.enrichedTerms.find((t) => t.id === 'HP:0001250');
    expect(seizure).toBeDefined();
    expect(seizure!.q).toBeLessThan(1e-10);
    expect(seizure!.count).toBe(ids((t) => t.genes.has('STXBP1') && hasAny(t.observed, expand('HP:0001250'))).length);
    expect(Object.values(ch.sex).reduce((a, b) => a + b, 0)).toBe(members.length);
  });
});
