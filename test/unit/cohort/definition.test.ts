import { CohortDefinitionError, compileCohort, parseDefinitionText, prepareCohort, validateDefinition } from '../../../src/cohort/index.js';
import { def, tinyOntology } from './helpers.js';

const ontology = tinyOntology();

function issues(doc: unknown): { path: string; message: string }[] {
  try {
    prepareCohort(doc, ontology);
  } catch (e) {
    if (e instanceof CohortDefinitionError) return e.issues;
    throw e;
  }
  throw new Error('expected a CohortDefinitionError');
}

describe('cohort definitions: parsing and validation', () => {
  test('JSON and YAML give the same definition', () => {
    const yaml = `
name: seizure-women
conceptSets:
  - id: seizure
    items:
      - concept: HP:0001250
      - {concept: HP:0002373, isExcluded: true}
criteria:
  all:
    - phenotype: {conceptSet: seizure, status: observed}
    - sex: FEMALE
`;
    const fromYaml = validateDefinition(parseDefinitionText(yaml));
    const fromJson = validateDefinition(parseDefinitionText(JSON.stringify(fromYaml)));
    expect(fromJson).toEqual(fromYaml);
    expect(fromYaml.conceptSets![0].items[1]).toEqual({ concept: 'HP:0002373', isExcluded: true });
  });

  test('malformed text and schema violations point at the offending part', () => {
    expect(() => parseDefinitionText('{"name": ', 'json')).toThrow(/not valid JSON/);
    expect(issues(def({ sex: 'WOMAN' }))).toEqual([{ path: '/criteria/sex', message: expect.stringMatching(/one of "FEMALE"/) }]);
    expect(issues(def({ all: [{ gene: { symbol: 'SCN1A' } }, { gene: { name: 'x' } }] }))[0].path).toBe('/criteria/all/1/gene');
    expect(issues(def({ phenotype: { concept: 'HP:1' } }))[0]).toEqual({ path: '/criteria/phenotype/concept', message: expect.stringMatching(/does not match/) });
    expect(issues(def({ sex: 'MALE', gene: { symbol: 'X' } }))[0].message).toMatch(/exactly one key/);
    expect(issues({ criteria: { sex: 'MALE' } })[0]).toEqual({ path: '', message: 'missing required property "name"' });
    expect(issues(def({ any: [] }))[0].path).toBe('/criteria/any');
  });

  test('semantic errors: unknown concept set, unknown and obsolete ids, unreachable atLeast, ranges', () => {
    const found = issues(def({
      all: [
        { phenotype: { conceptSet: 'missing' } },
        { phenotype: { concept: 'HP:9999999' } },
        { phenotype: { concept: 'HP:0000998' } },
        { phenotype: { concept: 'C9999999' } },
        { atLeast: { n: 3, of: [{ sex: 'MALE' }, { sex: 'FEMALE' }] } },
        { age: { min: 10, max: 2 } },
        { onset: { class: 'HP:0001250' } },
      ],
    }, [{ id: 'seizure', items: [{ concept: 'HP:0001250' }] }]));
    expect(found).toEqual([
      { path: '/criteria/all/0/phenotype/conceptSet', message: 'unknown concept set "missing" (defined: seizure)' },
      { path: '/criteria/all/1/phenotype/concept', message: 'HP:9999999 is not a term of HPO 2024-04-26' },
      { path: '/criteria/all/2/phenotype/concept', message: expect.stringMatching(/^HP:0000998 is obsolete .* no replacement/) },
      { path: '/criteria/all/3/phenotype/concept', message: expect.stringMatching(/UMLS C9999999 maps to no current term/) },
      { path: '/criteria/all/4/atLeast/n', message: 'n is 3 but there are only 2 criteria in "of"' },
      { path: '/criteria/all/5/age', message: 'min (10) is greater than max (2)' },
      { path: '/criteria/all/6/onset/class', message: expect.stringMatching(/not an onset class/) },
    ]);
    expect(issues(def({ sex: 'MALE' }, [{ id: 'a', items: [{ concept: 'HP:0001250' }] }, { id: 'a', items: [{ concept: 'HP:0001249' }] }]))[0].path).toBe('/conceptSets/1/id');
  });

  test('alt_ids, obsolete ids with a replacement and CUIs resolve, with warnings', () => {
    const c = prepareCohort(def({ sex: 'MALE' }, [{
      id: 'x', items: [
        { concept: 'HP:0001251', includeDescendants: false },
        { concept: 'HP:0000999', includeDescendants: false },
        { concept: 'UMLS:C3714756' },
      ],
    }]), ontology);
    expect(c.sets.get('x')!.terms).toEqual(['HP:0001249', 'HP:0001250', 'HP:0001263']);
    expect(c.warnings.map((w) => w.path)).toEqual(['/conceptSets/0/items/0/concept', '/conceptSets/0/items/1/concept', '/conceptSets/0/items/2/concept']);
    expect(c.warnings[1].message).toMatch(/obsolete.*replacement HP:0001250/);
    expect(c.warnings[2].message).toMatch(/maps to 2 HPO terms/);
  });

  test('concept sets: descendants by default, isExcluded removes a subtree', () => {
    const c = prepareCohort(def({ sex: 'MALE' }, [
      { id: 'seizure', items: [{ concept: 'HP:0001250' }, { concept: 'HP:0002373', isExcluded: true }] },
      { id: 'only', items: [{ concept: 'HP:0001250', includeDescendants: false }] },
    ]), ontology);
    expect(c.sets.get('seizure')!.terms).toEqual(['HP:0001250', 'HP:0007359']);
    expect(c.sets.get('only')!.terms).toEqual(['HP:0001250']);
  });

  test('strings from a definition reach SPARQL only escaped or as checked ids', () => {
    const evil = 'x" } ; DROP ALL ; SELECT * WHERE { "';
    const sparql = compileCohort(prepareCohort(def({ all: [{ site: evil }, { gene: { symbol: 'SCN1A' } }] }), ontology));
    expect(sparql).toContain('{ ?p hx:site "x\\" } ; DROP ALL ; SELECT * WHERE { \\"" }');
    expect(() => prepareCohort(def({ gene: { symbol: 'A"B' } }), ontology)).toThrow(CohortDefinitionError);
    expect(() => prepareCohort(def({ disease: 'OMIM:1> <x' }), ontology)).toThrow(CohortDefinitionError);
  });

  test('compiled SPARQL is readable: criteria paths as comments, VALUES blocks, MINUS for none', () => {
    const sparql = compileCohort(prepareCohort(def({ all: [{ phenotype: { concept: 'HP:0001250' } }, { none: [{ sex: 'MALE' }] }] }), ontology));
    expect(sparql).toMatch(/# \/criteria\/all\/0: phenotype observed in HP:0001250 \(3 HPO terms\)/);
    expect(sparql).toMatch(/VALUES \?t\d+ \{ obo:HP_0001250 obo:HP_0002373 obo:HP_0007359 \}/);
    expect(sparql).toMatch(/MINUS \{/);
    expect(sparql).toMatch(/SELECT DISTINCT \?id WHERE/);
  });
});
