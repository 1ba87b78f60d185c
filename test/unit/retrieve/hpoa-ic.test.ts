import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { icFromAnnotations, icFromProfiles, loadHpoa, parseFrequency, parseGenesToPhenotype, parseHpoa } from '../../../src/retrieve/index.js';
import { FIXTURES, profile, tinyOntology } from './helpers.js';

const ontology = tinyOntology();

describe('phenotype.hpoa parsing', () => {
  test('the 2023 header style and the current column format give the same diseases', () => {
    const old = loadHpoa(join(FIXTURES, 'old.hpoa'), ontology);
    const current = loadHpoa(join(FIXTURES, 'new.hpoa'), ontology);
    expect(old.version).toBe('2023-01-27');
    expect(current.version).toBe('2023-07-21');
    expect([...current.diseases.values()]).toEqual([...old.diseases.values()]);
    expect([...old.diseases.keys()]).toEqual(['OMIM:100001', 'OMIM:100002', 'ORPHA:3']);
  });

  test('keeps phenotypic abnormalities only, reads frequencies and NOT, resolves alt ids', () => {
    const hpoa = loadHpoa(join(FIXTURES, 'old.hpoa'), ontology);
    const d1 = hpoa.diseases.get('OMIM:100001')!;
    expect(d1.label).toBe('Craniohand syndrome');
    // The inheritance row (aspect I) is not a phenotype.
    expect(d1.terms).toMatchObject([
      { id: 'HP:0001363', frequency: 1, excluded: false },
      { id: 'HP:0011304', frequency: 0.895, excluded: false },
      { id: 'HP:0001156', frequency: undefined, excluded: false },
    ]);
    expect(hpoa.diseases.get('OMIM:100002')!.terms[2]).toMatchObject({ id: 'HP:0001156', frequency: undefined, excluded: true });
    // HP:0009999 is an alt_id of Seizure.
    expect(hpoa.diseases.get('ORPHA:3')!.terms).toMatchObject([
      { id: 'HP:0001156', frequency: 0.5, excluded: false },
      { id: 'HP:0001250', frequency: 0.5, excluded: false },
    ]);
  });

  test('frequency cells: HPO frequency terms, n/m and x%', () => {
    expect(parseFrequency('HP:0040280')).toBe(1);
    expect(parseFrequency('HP:0040284')).toBeCloseTo(0.025);
    expect(parseFrequency('HP:0040285')).toBe(0);
    expect(parseFrequency('3/4')).toBe(0.75);
    expect(parseFrequency('12.5%')).toBe(0.125);
    expect(parseFrequency('')).toBeUndefined();
    expect(() => parseFrequency('5/4')).toThrow(/not a proportion/);
    expect(() => parseFrequency('often')).toThrow(/neither/);
  });

  test('malformed rows become issues naming line and field; the rest is kept', () => {
    const text = readFileSync(join(FIXTURES, 'new.hpoa'), 'utf8') +
      'OMIM:100009\tBad\t\tHP:0001250\tOMIM:100009\tTAS\t\tsometimes\t\t\tP\tx\n' +
      'OMIM:100009\tBad\t\tHP:1234567\tOMIM:100009\tTAS\t\t\t\t\tP\tx\n' +
      'OMIM:100009\tshort row\n';
    const hpoa = parseHpoa(text, 'bad.hpoa', ontology);
    expect(hpoa.diseases.size).toBe(3);
    expect(hpoa.issues).toEqual([
      { line: 13, field: 'frequency', message: expect.stringMatching(/sometimes/) },
      { line: 14, field: 'hpo_id', message: "unknown term 'HP:1234567'" },
      { line: 15, field: 'row', message: '2 columns, expected 12' },
    ]);
  });

  test('a file without a header is a clear error', () => {
    expect(() => parseHpoa('OMIM:1\tX\t\tHP:0001250\n', 'nohead.hpoa')).toThrow(/nohead.hpoa.*line 1.*header/);
    expect(() => parseHpoa('#just a comment\n', 'empty.hpoa')).toThrow(/empty.hpoa: no header line/);
    expect(() => loadHpoa(join(FIXTURES, 'missing.hpoa'))).toThrow(/missing.hpoa.*cannot read/);
  });

  test('genes_to_phenotype: disease -> gene symbols', () => {
    const genes = parseGenesToPhenotype(readFileSync(join(FIXTURES, 'genes.txt'), 'utf8'));
    expect(genes.get('OMIM:100001')).toEqual(['FGFR2']);
    expect(genes.get('OMIM:100002')).toEqual(['SCN2A']);
  });
});

describe('information content', () => {
  test('from annotations: -ln of the fraction of diseases annotated with the term or a descendant', () => {
    const ic = icFromAnnotations(ontology, loadHpoa(join(FIXTURES, 'old.hpoa'), ontology));
    const of = (id: string): number => ic.values[ontology.indexOf(id)];
    expect(ic.corpusSize).toBe(3);
    expect(of('HP:0000001')).toBeCloseTo(0);
    expect(of('HP:0000118')).toBeCloseTo(0);
    expect(of('HP:0001363')).toBeCloseTo(Math.log(3)); // OMIM:100001 only
    expect(of('HP:0001155')).toBeCloseTo(Math.log(3 / 2)); // OMIM:100001 and ORPHA:3
    expect(of('HP:0000707')).toBeCloseTo(Math.log(3 / 2)); // the NOT annotation does not count
    // Unused terms get the IC of a term seen once.
    expect(of('HP:0002360')).toBeCloseTo(Math.log(3));
  });

  test('from patients, counting each patient once per term', () => {
    const ic = icFromProfiles(ontology, [profile('a', ['HP:0001156', 'HP:0011304']), profile('b', ['HP:0001250']), profile('c', [])]);
    expect(ic.corpusSize).toBe(2);
    expect(ic.values[ontology.indexOf('HP:0001155')]).toBeCloseTo(Math.log(2));
    expect(() => icFromProfiles(ontology, [profile('empty', [])])).toThrow(/no item with a known term/);
  });
});
