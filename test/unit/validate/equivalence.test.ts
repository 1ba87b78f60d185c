// Both engines on the same patient graphs must report the same (focus node, path, constraint,
// value, severity) set. Each hand-written case also names the constraint it must trigger, so a
// compiled engine that silently accepted everything would fail here, not just "agree".
import { HX, HP, PatientGraph, bnode, compiledEngine, iri, keys, referenceEngine, rng, str, typed, validPatient, XSD } from './helpers.js';
import { DataFactory } from 'n3';

const { literal, namedNode } = DataFactory;

const compiled = compiledEngine();
const reference = referenceEngine();

interface Case {
  name: string;
  build: (g: PatientGraph) => void;
  /** Constraint component local name and path local name expected among the violations. */
  expect?: [string, string];
}

const feature0 = (g: PatientGraph): string => `${g.P}/feature/0`;
const variant0 = (g: PatientGraph): string => `${g.P}/interpretation/0/genomic/0/variant`;

const CASES: Case[] = [
  { name: 'valid', build: () => {} },
  { name: 'missing id', build: (g) => g.without('id', g.P), expect: ['MinCountConstraintComponent', 'id'] },
  { name: 'two ids', build: (g) => g.hx(g.P, 'id', str('other')), expect: ['MaxCountConstraintComponent', 'id'] },
  { name: 'empty id', build: (g) => g.without('id', g.P).hx(g.P, 'id', str('')), expect: ['MinLengthConstraintComponent', 'id'] },
  { name: 'id not a string', build: (g) => g.without('id', g.P).hx(g.P, 'id', typed('7', 'integer')), expect: ['DatatypeConstraintComponent', 'id'] },
  { name: 'id is an IRI', build: (g) => g.without('id', g.P).hx(g.P, 'id', iri('http://x/7')), expect: ['DatatypeConstraintComponent', 'id'] },
  { name: 'bad sex', build: (g) => g.without('sex').hx(g.P, 'sex', str('female')), expect: ['InConstraintComponent', 'sex'] },
  { name: 'sex with a language tag', build: (g) => g.without('sex').hx(g.P, 'sex', literal('MALE', 'en')), expect: ['InConstraintComponent', 'sex'] },
  { name: 'sex as IRI', build: (g) => g.without('sex').hx(g.P, 'sex', iri('MALE')), expect: ['InConstraintComponent', 'sex'] },
  { name: 'two sexes', build: (g) => g.without('sex').hx(g.P, 'sex', str('MALE')).hx(g.P, 'sex', str('FEMALE')), expect: ['MaxCountConstraintComponent', 'sex'] },
  { name: 'age too high', build: (g) => g.without('ageAtLastEncounterYears').hx(g.P, 'ageAtLastEncounterYears', typed('151', 'decimal')), expect: ['MaxInclusiveConstraintComponent', 'ageAtLastEncounterYears'] },
  { name: 'age too low', build: (g) => g.without('ageAtLastEncounterYears').hx(g.P, 'ageAtLastEncounterYears', typed('-1.5', 'decimal')), expect: ['MinInclusiveConstraintComponent', 'ageAtLastEncounterYears'] },
  { name: 'age at the bound', build: (g) => g.without('ageAtLastEncounterYears').hx(g.P, 'ageAtLastEncounterYears', typed('150', 'decimal')) },
  { name: 'age as a string', build: (g) => g.without('ageAtLastEncounterYears').hx(g.P, 'ageAtLastEncounterYears', str('12')), expect: ['DatatypeConstraintComponent', 'ageAtLastEncounterYears'] },
  { name: 'age ill-formed decimal', build: (g) => g.without('ageAtLastEncounterYears').hx(g.P, 'ageAtLastEncounterYears', typed('1e-7', 'decimal')), expect: ['DatatypeConstraintComponent', 'ageAtLastEncounterYears'] },
  { name: 'age as integer', build: (g) => g.without('ageAtLastEncounterYears').hx(g.P, 'ageAtLastEncounterYears', typed('12', 'integer')), expect: ['DatatypeConstraintComponent', 'ageAtLastEncounterYears'] },
  { name: 'age as double', build: (g) => g.without('ageAtLastEncounterYears').hx(g.P, 'ageAtLastEncounterYears', typed('1.2E1', 'double')), expect: ['DatatypeConstraintComponent', 'ageAtLastEncounterYears'] },
  { name: 'bad duration', build: (g) => g.without('ageAtLastEncounter').hx(g.P, 'ageAtLastEncounter', typed('3 years', 'duration')), expect: ['DatatypeConstraintComponent', 'ageAtLastEncounter'] },
  { name: 'duration with dangling T', build: (g) => g.without('ageAtLastEncounter').hx(g.P, 'ageAtLastEncounter', typed('P1YT', 'duration')), expect: ['DatatypeConstraintComponent', 'ageAtLastEncounter'] },
  { name: 'fine duration', build: (g) => g.without('ageAtLastEncounter').hx(g.P, 'ageAtLastEncounter', typed('-P1Y2M3DT4H5M6.5S', 'duration')) },
  { name: 'non-HPO phenotype IRI', build: (g) => g.hx(g.P, 'hasPhenotype', iri('http://purl.obolibrary.org/obo/MONDO_0000001')), expect: ['PatternConstraintComponent', 'hasPhenotype'] },
  { name: 'short HPO id', build: (g) => g.hx(g.P, 'hasPhenotype', iri(`${HP}12345`)), expect: ['PatternConstraintComponent', 'hasPhenotype'] },
  { name: 'phenotype as literal', build: (g) => g.hx(g.P, 'hasPhenotype', str(`${HP}0001250`)), expect: ['NodeKindConstraintComponent', 'hasPhenotype'] },
  { name: 'phenotype as blank node', build: (g) => g.hx(g.P, 'hasPhenotype', bnode('b1')), expect: ['PatternConstraintComponent', 'hasPhenotype'] },
  { name: 'excluded phenotype not HPO', build: (g) => g.hx(g.P, 'excludedPhenotype', iri('http://example.org/HP_0000001')), expect: ['PatternConstraintComponent', 'excludedPhenotype'] },
  { name: 'feature of the wrong class', build: (g) => g.hx(g.P, 'phenotypicFeature', iri(`${g.P}/disease/0`)).type(`${g.P}/disease/0`, 'Disease').hx(`${g.P}/disease/0`, 'term', iri('http://x/d')).hx(`${g.P}/disease/0`, 'excluded', typed('true', 'boolean')), expect: ['ClassConstraintComponent', 'phenotypicFeature'] },
  { name: 'untyped feature', build: (g) => g.hx(g.P, 'phenotypicFeature', iri(`${g.P}/feature/99`)).hx(`${g.P}/feature/99`, 'excluded', typed('true', 'boolean')), expect: ['ClassConstraintComponent', 'phenotypicFeature'] },
  { name: 'feature as literal', build: (g) => g.hx(g.P, 'phenotypicFeature', str('HP:0001250')), expect: ['ClassConstraintComponent', 'phenotypicFeature'] },
  { name: 'excluded missing', build: (g) => g.without('excluded', feature0(g)), expect: ['MinCountConstraintComponent', 'excluded'] },
  { name: 'excluded twice', build: (g) => g.hx(feature0(g), 'excluded', typed('true', 'boolean')).hx(feature0(g), 'excluded', typed('false', 'boolean')), expect: ['MaxCountConstraintComponent', 'excluded'] },
  { name: 'excluded not boolean', build: (g) => g.without('excluded', feature0(g)).hx(feature0(g), 'excluded', typed('yes', 'boolean')), expect: ['DatatypeConstraintComponent', 'excluded'] },
  { name: 'excluded 1 (a boolean)', build: (g) => g.without('excluded', feature0(g)).hx(feature0(g), 'excluded', typed('1', 'boolean')) },
  { name: 'feature type literal', build: (g) => g.without('type', feature0(g)).hx(feature0(g), 'type', str('HP:1')), expect: ['NodeKindConstraintComponent', 'type'] },
  { name: 'two feature types', build: (g) => g.hx(feature0(g), 'type', iri(`${HP}0000002`)).hx(feature0(g), 'type', iri(`${HP}0000003`)), expect: ['MaxCountConstraintComponent', 'type'] },
  { name: 'modifier literal', build: (g) => g.hx(feature0(g), 'modifier', str('severe')), expect: ['NodeKindConstraintComponent', 'modifier'] },
  { name: 'severity blank node', build: (g) => g.hx(feature0(g), 'severity', bnode('sev')), expect: ['NodeKindConstraintComponent', 'severity'] },
  { name: 'onset as string', build: (g) => g.hx(feature0(g), 'onsetYears', str('2')), expect: ['DatatypeConstraintComponent', 'onsetYears'] },
  { name: 'disease without term', build: (g) => g.without('term'), expect: ['MinCountConstraintComponent', 'term'] },
  { name: 'hasDisease literal', build: (g) => g.hx(g.P, 'hasDisease', str('OMIM:1')), expect: ['NodeKindConstraintComponent', 'hasDisease'] },
  { name: 'publication literal', build: (g) => g.hx(g.P, 'publication', str('PMID:1')), expect: ['NodeKindConstraintComponent', 'publication'] },
  { name: 'pos 0', build: (g) => g.without('pos').hx(variant0(g), 'pos', typed('0', 'integer')), expect: ['MinInclusiveConstraintComponent', 'pos'] },
  { name: 'pos -5', build: (g) => g.without('pos').hx(variant0(g), 'pos', typed('-5', 'integer')), expect: ['MinInclusiveConstraintComponent', 'pos'] },
  { name: 'pos abc', build: (g) => g.without('pos').hx(variant0(g), 'pos', typed('abc', 'integer')), expect: ['DatatypeConstraintComponent', 'pos'] },
  { name: 'pos 1.5', build: (g) => g.without('pos').hx(variant0(g), 'pos', typed('1.5', 'integer')), expect: ['DatatypeConstraintComponent', 'pos'] },
  { name: 'pos as string', build: (g) => g.without('pos').hx(variant0(g), 'pos', str('12')), expect: ['MinInclusiveConstraintComponent', 'pos'] },
  { name: 'pos as decimal', build: (g) => g.without('pos').hx(variant0(g), 'pos', typed('12.0', 'decimal')), expect: ['DatatypeConstraintComponent', 'pos'] },
  { name: 'pos +7', build: (g) => g.without('pos').hx(variant0(g), 'pos', typed('+7', 'integer')) },
  { name: 'two positions', build: (g) => g.hx(variant0(g), 'pos', typed('99', 'integer')), expect: ['MaxCountConstraintComponent', 'pos'] },
  { name: 'bad ACMG class', build: (g) => g.without('acmgClass').hx(variant0(g), 'acmgClass', str('VERY_BAD')), expect: ['InConstraintComponent', 'acmgClass'] },
  { name: 'ACMG class typed', build: (g) => g.without('acmgClass').hx(variant0(g), 'acmgClass', literal('BENIGN', namedNode(`${XSD}token`))), expect: ['InConstraintComponent', 'acmgClass'] },
  { name: 'gene literal', build: (g) => g.without('gene').hx(variant0(g), 'gene', str('BRCA1')), expect: ['NodeKindConstraintComponent', 'gene'] },
  { name: 'chrom integer', build: (g) => g.without('chrom').hx(variant0(g), 'chrom', typed('1', 'integer')), expect: ['DatatypeConstraintComponent', 'chrom'] },
  { name: 'bad progress status', build: (g) => g.without('progressStatus').hx(`${g.P}/interpretation/0`, 'progressStatus', str('DONE')), expect: ['InConstraintComponent', 'progressStatus'] },
  { name: 'bad interpretation status', build: (g) => g.without('interpretationStatus').hx(`${g.P}/interpretation/0/genomic/0`, 'interpretationStatus', str('MAYBE')), expect: ['InConstraintComponent', 'interpretationStatus'] },
  { name: 'variant of wrong class', build: (g) => g.hx(g.P, 'hasVariant', iri(feature0(g))), expect: ['ClassConstraintComponent', 'hasVariant'] },
  { name: 'untyped genomic interpretation', build: (g) => g.add(`${g.P}/interpretation/0`, `${HX}genomicInterpretation`, iri(`${g.P}/gx`)), expect: ['ClassConstraintComponent', 'genomicInterpretation'] },
  { name: 'measurement value string', build: (g) => g.type(`${g.P}/m`, 'Measurement').hx(`${g.P}/m`, 'value', str('high')).hx(`${g.P}/m`, 'assay', str('x')), expect: ['DatatypeConstraintComponent', 'value'] },
  { name: 'file of a biosample untyped', build: (g) => g.type(`${g.P}/b`, 'Biosample').hx(`${g.P}/b`, 'file', iri(`${g.P}/f`)).hx(`${g.P}/f`, 'uri', str('x')), expect: ['ClassConstraintComponent', 'file'] },
  { name: 'file with two uris', build: (g) => g.type(`${g.P}/f`, 'File').hx(`${g.P}/f`, 'uri', str('a')).hx(`${g.P}/f`, 'uri', str('b')), expect: ['MaxCountConstraintComponent', 'uri'] },
  { name: 'data issue without kind', build: (g) => g.type(`${g.P}/issue/0`, 'DataIssue').hx(`${g.P}/issue/0`, 'jsonPath', str('$.x')), expect: ['MinCountConstraintComponent', 'issueKind'] },
  { name: 'data issue bad kind', build: (g) => g.type(`${g.P}/issue/0`, 'DataIssue').hx(`${g.P}/issue/0`, 'issueKind', str('bogus')).hx(`${g.P}/issue/0`, 'jsonPath', str('$')), expect: ['InConstraintComponent', 'issueKind'] },
  { name: 'blank-node focus', build: (g) => g.add('_:v1', `${HX}pos`, typed('0', 'integer')).add('_:v1', 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type', iri(`${HX}Variant`)), expect: ['MinInclusiveConstraintComponent', 'pos'] },
  { name: 'duplicate triple', build: (g) => g.hx(g.P, 'id', str(g.id)) },
  { name: 'patient typed twice', build: (g) => g.type(g.P, 'Patient').add(g.P, `${HX}x`, iri('http://x')) },
  { name: 'patient is also a variant', build: (g) => g.type(g.P, 'Variant').hx(g.P, 'pos', typed('0', 'integer')), expect: ['MinInclusiveConstraintComponent', 'pos'] },
];

async function compare(quads: PatientGraph['quads']): Promise<{ compiled: string[]; reference: string[] }> {
  const [c, r] = await Promise.all([compiled.validate(quads), reference.validate(quads)]);
  return { compiled: keys(c.violations), reference: keys(r.violations) };
}

describe('compiled SHACL engine agrees with rdf-validate-shacl', () => {
  it('is used for the project shapes', () => {
    expect(compiled.engine).toBe('compiled');
    expect(reference.engine).toBe('rdf-validate-shacl');
  });

  it.each(CASES)('$name', async ({ build, expect: expected }) => {
    const g = validPatient('p1', rng(7), true);
    build(g);
    const { compiled: c, reference: r } = await compare(g.quads);
    expect(c).toEqual(r);
    if (expected) {
      const [component, path] = expected;
      expect(c.some((k) => k.includes(`| ${HX}${path} | ${component} |`))).toBe(true);
    } else {
      expect(c).toEqual([]);
    }
  });

  it('agrees on 300 generated patients with random corruptions', async () => {
    const random = rng(42);
    let violating = 0;
    for (let i = 0; i < 300; i++) {
      const g = validPatient(`gen${i}`, random, true);
      const corruptions = Math.floor(random() * 3);
      for (let k = 0; k < corruptions; k++) CASES[1 + Math.floor(random() * (CASES.length - 1))].build(g);
      const { compiled: c, reference: r } = await compare(g.quads);
      expect({ i, keys: c }).toEqual({ i, keys: r });
      if (c.length) violating++;
    }
    // The generator must actually exercise failures, or the comparison proves little.
    expect(violating).toBeGreaterThan(100);
  });

  it('uses sh:message and reports the same messages when the shape gives one', async () => {
    const g = validPatient('m1');
    g.without('id');
    const [c, r] = await Promise.all([compiled.validate(g.quads), reference.validate(g.quads)]);
    // sourceShape is a blank node here, labelled differently by the two parses of the shapes file.
    expect(c.violations.map((v) => [v.message, v.severity])).toEqual(r.violations.map((v) => [v.message, v.severity]));
    expect(c.violations[0].message).toBe('a patient needs exactly one non-empty hx:id (the phenopacket id)');
  });

  it('validateMany returns the same violations per record index', async () => {
    const random = rng(3);
    const records = Array.from({ length: 40 }, (_, i) => {
      const g = validPatient(`batch${i}`, random);
      if (i % 3 === 0) CASES[1 + (i % (CASES.length - 1))].build(g);
      return g.quads;
    });
    const [c, r] = await Promise.all([compiled.validateMany(records), reference.validateMany(records)]);
    expect([...c.keys()].sort()).toEqual([...r.keys()].sort());
    expect(c.size).toBeGreaterThan(0);
    for (const [i, v] of c) expect(keys(v)).toEqual(keys(r.get(i)!));
  });
});
