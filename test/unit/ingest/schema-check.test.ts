import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkPhenopacketRecord } from '../../../src/harmonize/check.js';
import { ENUMS, SCHEMA, jsonName } from '../../../src/harmonize/phenopacket-schema.js';
import { fixtures } from '../../helpers/paths.js';

const P1 = join(fixtures, 'phenopackets', 'patient-1.json');
const good = (): Record<string, any> => JSON.parse(readFileSync(P1, 'utf8'));
const problems = (json: unknown): string[] => checkPhenopacketRecord(json).problems.map((p) => `${p.path}: ${p.reason}`);

describe('the Phenopacket v2 schema check (protobuf JSON mapping)', () => {
  test('the fixtures and a record with every kind of field pass, unchanged', () => {
    const pp = good();
    const before = JSON.stringify(pp);
    expect(checkPhenopacketRecord(pp)).toEqual({ problems: [], notes: [] });
    expect(JSON.stringify(pp)).toBe(before);
  });

  test('the description names the JSON names protoc derives, and every enum starts at its zero value', () => {
    expect(jsonName('phenotypic_features')).toBe('phenotypicFeatures');
    expect(jsonName('iso8601duration')).toBe('iso8601duration');
    expect(jsonName('_id')).toBe('Id');
    expect(SCHEMA.get('Individual')!.fields.get('timeAtLastEncounter')!.type).toBe('TimeElement');
    expect(SCHEMA.get('VcfRecord')!.fields.get('pos')!.type).toBe('uint64');
    expect(SCHEMA.get('TimeElement')!.oneofs.get('element')!.map((f) => f.json)).toEqual(['gestationalAge', 'age', 'ageRange', 'ontologyClass', 'timestamp', 'interval']);
    expect(ENUMS.Sex).toEqual(['UNKNOWN_SEX', 'FEMALE', 'MALE', 'OTHER_SEX']);
    expect(ENUMS.AcmgPathogenicityClassification[0]).toBe('NOT_PROVIDED');
  });

  test('every wrong JSON type is one problem with its path', () => {
    const pp = good();
    pp.subject.alternateIds = 5;
    pp.subject.sex = 'F';
    pp.metaData.createdBy = { name: 'x' };
    pp.metaData.resources = { id: 'hp' };
    pp.phenotypicFeatures[0].type.label = ['Seizure'];
    pp.phenotypicFeatures[0].description = 7;
    pp.interpretations[0].progressStatus = 'DONE';
    pp.interpretations[0].diagnosis.genomicInterpretations[0].variantInterpretation.variationDescriptor.vcfRecord.genomeAssembly = 38;
    pp.diseases = [{ term: { id: 'OMIM:1' }, excluded: 'no', diseaseStage: [{ id: 'NCIT:1' }, 'NCIT:2'] }];
    pp.subject.vitalStatus = { status: 'ALIVE', survivalTimeInDays: -1 };
    pp.metaData.created = 'yesterday';
    expect(problems(pp).sort()).toEqual([
      '$.diseases[0].diseaseStage[1]: must be an object (OntologyClass), got string',
      '$.diseases[0].excluded: must be true or false',
      '$.interpretations[0].diagnosis.genomicInterpretations[0].variantInterpretation.variationDescriptor.vcfRecord.genomeAssembly: must be a string, got number',
      '$.interpretations[0].progressStatus: must be one of UNKNOWN_PROGRESS, IN_PROGRESS, COMPLETED, SOLVED, UNSOLVED, got "DONE"',
      '$.metaData.created: must be an RFC 3339 timestamp string such as "2021-05-14T10:35:00Z", got "yesterday"',
      '$.metaData.createdBy: must be a string, got object',
      '$.metaData.resources: must be an array of Resource objects, got object',
      '$.phenotypicFeatures[0].description: must be a string, got number',
      '$.phenotypicFeatures[0].type.label: must be a string',
      '$.subject.alternateIds: must be an array of strings, got number',
      '$.subject.sex: must be one of UNKNOWN_SEX, FEMALE, MALE, OTHER_SEX, got "F"',
      '$.subject.vitalStatus.survivalTimeInDays: must be an integer between 0 and 4294967295 (uint32), got -1',
    ]);
  });

  test('an object where a string belongs is rejected everywhere, not stringified', () => {
    for (const [where, set] of [
      ['$.id', (p: any) => (p.id = { a: 1 })],
      ['$.subject.id', (p: any) => (p.subject.id = { a: 1 })],
      ['$.phenotypicFeatures[0].type.id', (p: any) => (p.phenotypicFeatures[0].type.id = { id: 'HP:0001250' })],
      ['$.metaData.resources[0].version', (p: any) => (p.metaData.resources = [{ id: 'hp', version: { v: 1 } }])],
      ['$.files[0].fileAttributes.genomeAssembly', (p: any) => (p.files = [{ uri: 'file:///x.vcf', fileAttributes: { genomeAssembly: { a: 1 } } }])],
    ] as const) {
      const pp = good();
      set(pp);
      expect(checkPhenopacketRecord(pp).problems.map((p) => p.path)).toContain(where);
    }
  });

  test('a oneof with two members set, and a field given under both names, are problems', () => {
    const pp = good();
    pp.subject.timeAtLastEncounter = { age: { iso8601duration: 'P3Y' }, ontologyClass: { id: 'HP:0003577' } };
    pp.phenotypic_features = [];
    expect(problems(pp)).toEqual([
      '$.subject.timeAtLastEncounter: age and ontologyClass are all set, but they are alternatives (oneof element): keep one',
      '$.phenotypicFeatures: given twice, as phenotypicFeatures and as phenotypic_features',
    ]);
  });

  test('like a protobuf JSON parser: proto names, enum numbers, numbers as strings and nulls are accepted and normalised', () => {
    const pp = good();
    pp.phenotypic_features = pp.phenotypicFeatures;
    delete pp.phenotypicFeatures;
    pp.subject.sex = 1;
    pp.subject.karyotypic_sex = 'XX';
    pp.subject.dateOfBirth = null;
    pp.phenotypic_features[0].onset = { gestationalAge: { weeks: '30', days: 2 } };
    const { problems: p, notes } = checkPhenopacketRecord(pp);
    expect(p).toEqual([]);
    expect(notes).toEqual([]);
    expect(pp.phenotypicFeatures[0].onset.gestationalAge).toEqual({ weeks: 30, days: 2 });
    expect(pp.subject).toMatchObject({ sex: 'FEMALE', karyotypicSex: 'XX' });
    expect('dateOfBirth' in pp.subject).toBe(false);
    expect('phenotypic_features' in pp).toBe(false);
  });

  test('unknown fields are notes, not problems; they are ignored', () => {
    const pp = good();
    pp.comment = 'from site B';
    pp.subject.favouriteColour = 'blue';
    expect(checkPhenopacketRecord(pp)).toEqual({
      problems: [],
      notes: [
        { path: '$.subject.favouriteColour', reason: 'unknown field (not in the Phenopacket v2 Individual message): ignored' },
        { path: '$.comment', reason: 'unknown field (not in the Phenopacket v2 Phenopacket message): ignored' },
      ],
    });
  });

  test('limits: depth, string length, unpaired surrogates, and a cap on the problems listed', () => {
    const pp = good();
    pp.subject.id = 'x'.repeat(2000);
    pp.phenotypicFeatures[0].type.label = 'Seiz\udc00ure';
    expect(checkPhenopacketRecord(pp, { maxStringLength: 1000 }).problems.map((p) => p.reason)).toEqual([
      'a string of 2000 characters is longer than the limit of 1000',
      'contains an unpaired surrogate (not valid Unicode text)',
    ]);
    // A paired surrogate (an emoji) is text.
    pp.subject.id = 'P\ud83d\ude00';
    pp.phenotypicFeatures[0].type.label = 'Seizure';
    expect(problems(pp)).toEqual([]);
    // VRS variation sets nest without end in the schema itself: the depth limit bounds them.
    let set: any = { variationSet: { members: [] } };
    for (let i = 0; i < 10; i++) set = { variationSet: { members: [set] } };
    const vd = pp.interpretations[0].diagnosis.genomicInterpretations[0].variantInterpretation.variationDescriptor;
    vd.variation = set;
    expect(problems(pp)).toEqual([]);
    const deep = checkPhenopacketRecord(pp, { maxDepth: 20 }).problems;
    expect(deep).toHaveLength(1);
    expect(deep[0].reason).toBe('nested deeper than 20 levels');
    expect(deep[0].path).toMatch(/^\$\.interpretations\[0\]\.diagnosis\.genomicInterpretations\[0\]\.variantInterpretation\.variationDescriptor\.variation\.variationSet(\.members\[0\]\.variationSet)*/);
    const many = good();
    many.phenotypicFeatures = Array.from({ length: 500 }, () => ({ type: { id: 'HP:0001250' }, description: 1 }));
    const capped = checkPhenopacketRecord(many).problems;
    expect(capped).toHaveLength(101);
    expect(capped[100]).toEqual({ path: '$', reason: '... and 400 more problems' });
  });

  test('a document that is not an object is one problem at $', () => {
    expect(problems([1, 2])).toEqual(['$: a phenopacket must be a JSON object, got array']);
    expect(problems('x')).toEqual(['$: a phenopacket must be a JSON object, got string']);
  });
});
