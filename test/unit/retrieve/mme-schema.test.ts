import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMmeContentType, mmeResponse, MmeSchema, negotiateMme } from '../../../src/retrieve/mme.js';
import { dataDir, tempDir } from '../../helpers/paths.js';

// Our MME v1.1 schema (schemas/mme-v1.1.schema.json, written from the API's field definitions)
// against the official reference-server schema: the same verdict on every example, except where
// the official schema is looser or checks a field under another name; those cases carry the
// reason our verdict is the specification's.

const data = dataDir();
const officialFile = data ? join(data, 'specs', 'mme-api.schema.json') : '';
const official = data && existsSync(officialFile) ? MmeSchema.load(officialFile) : undefined;
if (!official) console.warn('mme-schema.test: no specs/mme-api.schema.json in the data directory; checking our schema alone');
const ours = MmeSchema.default();

const contact = { name: 'Dr Jane Doe', institution: 'Example Hospital', href: 'mailto:jane.doe@example.org' };
const minimal = { id: 'P0000001', contact, features: [{ id: 'HP:0001250' }] };
const withPatient = (patch: Record<string, unknown>): Record<string, unknown> => ({ patient: { ...minimal, ...patch } });
const withGene = (patch: Record<string, unknown>): unknown => withPatient({ genomicFeatures: [{ gene: { id: 'ENSG00000133392' }, ...patch }] });
const withVariant = (patch: Record<string, unknown>): unknown =>
  withGene({ variant: { assembly: 'GRCh37.p13', referenceName: '16', start: 15812194, end: 15812195, referenceBases: 'C', alternateBases: 'T', ...patch } });

// The request example of the API text, every v1.0 and v1.1 field filled in.
const full = {
  disclaimer: 'Disclaimer text',
  terms: 'Terms text',
  patient: {
    id: 'P0000079',
    label: 'patient 1',
    contact: { ...contact, email: 'jane.doe@example.org', roles: ['clinician', 'researcher'] },
    species: 'NCBITaxon:9606',
    sex: 'FEMALE',
    ageOfOnset: 'HP:0003577',
    inheritanceMode: 'HP:0000006',
    disorders: [{ id: 'MIM:614666', label: 'Coffin-Siris syndrome' }, { id: 'Orphanet:1465' }],
    features: [
      { id: 'HP:0000252', label: 'Microcephaly', observed: 'yes', ageOfOnset: 'HP:0003623' },
      { id: 'HP:0001249', observed: 'no' },
    ],
    genomicFeatures: [{
      gene: { id: 'ENSG00000133392', _geneName: 'MYH11' },
      variant: { assembly: 'GRCh37.p13', referenceName: '16', start: 15812194, end: 15812195, referenceBases: 'C', alternateBases: 'T' },
      zygosity: 1,
      type: { id: 'SO:0001587', label: 'STOPGAIN' },
    }],
    test: true,
  },
};

type Kind = 'request' | 'response';
interface Case { name: string; kind?: Kind; body: unknown; valid: boolean }
interface Divergent extends Case { officialValid: boolean; why: string }

const agreed: Case[] = [
  { name: 'the full v1.1 example', body: full, valid: true },
  { name: 'a v1.0 request: id, contact and one feature', body: { patient: minimal }, valid: true },
  { name: 'genes only', body: { patient: { id: 'g', contact, genomicFeatures: [{ gene: { id: 'EP300' } }] } }, valid: true },
  { name: 'empty features next to genomicFeatures', body: withPatient({ features: [], genomicFeatures: [{ gene: { id: '2033' } }] }), valid: true },
  { name: 'non-standard underscore fields', body: { ...withPatient({ _source: 'x' }), _trace: 1 }, valid: true },
  { name: 'an https contact form', body: withPatient({ contact: { name: 'A', href: 'https://example.org/contact' } }), valid: true },
  { name: 'no patient', body: { features: [{ id: 'HP:0001250' }] }, valid: false },
  { name: 'not an object', body: [minimal], valid: false },
  { name: 'missing id', body: { patient: { contact, features: [{ id: 'HP:0001250' }] } }, valid: false },
  { name: 'numeric id', body: withPatient({ id: 42 }), valid: false },
  { name: 'id over 255 characters', body: withPatient({ id: 'x'.repeat(256) }), valid: false },
  { name: 'label over 255 characters', body: withPatient({ label: 'x'.repeat(256) }), valid: false },
  { name: 'missing contact', body: { patient: { id: 'q', features: [{ id: 'HP:0001250' }] } }, valid: false },
  { name: 'contact without href', body: withPatient({ contact: { name: 'A' } }), valid: false },
  { name: 'contact without name', body: withPatient({ contact: { href: 'mailto:a@example.org' } }), valid: false },
  { name: 'contact href not a URL', body: withPatient({ contact: { name: 'A', href: 'call me' } }), valid: false },
  { name: 'neither features nor genomicFeatures', body: { patient: { id: 'q', contact } }, valid: false },
  { name: 'both lists empty', body: withPatient({ features: [], genomicFeatures: [] }), valid: false },
  { name: 'features not a list', body: withPatient({ features: 'HP:0001250' }), valid: false },
  { name: 'feature without id', body: withPatient({ features: [{ observed: 'yes' }] }), valid: false },
  { name: 'feature id not HP:#######', body: withPatient({ features: [{ id: 'HPO:1' }] }), valid: false },
  { name: "observed 'maybe'", body: withPatient({ features: [{ id: 'HP:0001250', observed: 'maybe' }] }), valid: false },
  { name: 'observed as a boolean', body: withPatient({ features: [{ id: 'HP:0001250', observed: true }] }), valid: false },
  { name: 'feature ageOfOnset not an HPO id', body: withPatient({ features: [{ id: 'HP:0001250', ageOfOnset: 'neonatal' }] }), valid: false },
  { name: 'patient ageOfOnset not an HPO id', body: withPatient({ ageOfOnset: 'neonatal' }), valid: false },
  { name: 'inheritanceMode as an object', body: withPatient({ inheritanceMode: { id: 'HP:0000006' } }), valid: false },
  { name: 'species by name', body: withPatient({ species: 'human' }), valid: false },
  { name: 'disorder from OMIM: not MIM:', body: withPatient({ disorders: [{ id: 'OMIM:614666' }] }), valid: false },
  { name: 'disorder without id', body: withPatient({ disorders: [{ label: 'x' }] }), valid: false },
  { name: 'genomicFeature without gene', body: withPatient({ genomicFeatures: [{ zygosity: 1 }] }), valid: false },
  { name: 'gene without id', body: withGene({ gene: { symbol: 'EP300' } }), valid: false },
  { name: 'variant without assembly', body: withVariant({ assembly: undefined }), valid: false },
  { name: 'variant without start', body: withVariant({ start: undefined }), valid: false },
  { name: 'start as a string', body: withVariant({ start: '15812194' }), valid: false },
  { name: 'assembly hg19', body: withVariant({ assembly: 'hg19' }), valid: false },
  { name: 'referenceName chr16', body: withVariant({ referenceName: 'chr16' }), valid: false },
  { name: 'zygosity as a word', body: withGene({ zygosity: 'het' }), valid: false },
  { name: 'type without id', body: withGene({ type: { label: 'STOPGAIN' } }), valid: false },
  { name: "test 'yes'", body: withPatient({ test: 'yes' }), valid: false },
  { name: 'an empty result list', kind: 'response', body: { results: [] }, valid: true },
  { name: 'a result with disclaimer and terms', kind: 'response', body: { disclaimer: 'd', terms: 't', results: [{ score: { patient: 0.83 }, patient: full.patient }] }, valid: true },
  { name: 'a result without score', kind: 'response', body: { results: [{ patient: minimal }] }, valid: false },
  { name: 'a textual score', kind: 'response', body: { results: [{ score: { patient: 'high' }, patient: minimal }] }, valid: false },
  { name: 'a result patient without contact', kind: 'response', body: { results: [{ score: { patient: 0.5 }, patient: { id: 'p', features: [{ id: 'HP:0001250' }] } }] }, valid: false },
  { name: 'results not a list', kind: 'response', body: { results: { score: { patient: 1 } } }, valid: false },
];

const divergent: Divergent[] = [
  { name: "sex 'F'", body: withPatient({ sex: 'F' }), valid: false, officialValid: true, why: 'v1.0 and v1.1 call the field sex (FEMALE, MALE, ...); the official schema checks gender instead' },
  { name: "gender 'M'", body: withPatient({ gender: 'M' }), valid: true, officialValid: false, why: 'gender is the v0.1 field; in v1.x it is an unknown field, which the API lets pass' },
  { name: 'referenceBases XYZ', body: withVariant({ referenceBases: 'XYZ' }), valid: false, officialValid: true, why: 'the official schema spells the fields referenceBase/alternativeBase, so the API names go unchecked' },
  { name: 'referenceName M', body: withVariant({ referenceName: 'M' }), valid: false, officialValid: true, why: 'the API lists 1 to 22, X and Y' },
  { name: 'negative start', body: withVariant({ start: -1 }), valid: false, officialValid: true, why: 'start is a 0-based position' },
  { name: 'zygosity 3', body: withGene({ zygosity: 3 }), valid: false, officialValid: true, why: 'zygosity is 1 (heterozygous or hemizygous) or 2 (homozygous)' },
  { name: 'type SO:0001587x', body: withGene({ type: { id: 'SO:0001587x' } }), valid: false, officialValid: true, why: 'a Sequence Ontology id is SO:#######; the official pattern has no end anchor' },
  { name: 'disorder MIM:123', body: withPatient({ disorders: [{ id: 'MIM:123' }] }), valid: false, officialValid: true, why: 'OMIM ids are MIM:###### (six digits)' },
  { name: "contact role 'doctor'", body: withPatient({ contact: { ...contact, roles: ['doctor'] } }), valid: false, officialValid: true, why: 'v1.1 roles are clinician, researcher or patient; the official schema predates them' },
  { name: 'contact email without @', body: withPatient({ contact: { ...contact, email: 'nobody' } }), valid: false, officialValid: true, why: 'v1.1 email is an email address; the official schema predates it' },
  { name: 'contact name over 255 characters', body: withPatient({ contact: { ...contact, name: 'x'.repeat(256) } }), valid: false, officialValid: true, why: 'name is limited to 255 characters' },
  { name: 'empty patient id', body: withPatient({ id: '' }), valid: false, officialValid: true, why: 'the id identifies the record uniquely; an empty string identifies nothing' },
  { name: 'response without results', kind: 'response', body: {}, valid: false, officialValid: true, why: 'results is mandatory, though it may be empty' },
  { name: 'score 1.5', kind: 'response', body: { results: [{ score: { patient: 1.5 }, patient: minimal }] }, valid: false, officialValid: true, why: 'the score is in [0, 1]' },
];

const verdict = (schema: MmeSchema, c: Case): boolean =>
  (c.kind === 'response' ? schema.validateResponse(c.body) : schema.validateRequest(c.body)).ok;

describe('our MME v1.1 schema', () => {
  test.each(agreed.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(verdict(ours, c)).toBe(c.valid);
    if (official) expect(verdict(official, c)).toBe(c.valid);
  });

  test.each(divergent.map((c) => [c.name, c] as const))('%s: ours follows the API text', (_name, c) => {
    expect(verdict(ours, c)).toBe(c.valid);
    if (official) expect(verdict(official, c)).toBe(c.officialValid);
    expect(c.valid).not.toBe(c.officialValid);
  });

  test('a response built by mmeResponse is valid', () => {
    const profile = { id: 'PMID_1_Patient_1', observed: ['HP:0001250'], excluded: ['HP:0001249'], diseases: ['OMIM:607208', 'MONDO:0100135'], genes: ['SCN1A'], publications: [] };
    const body = mmeResponse([{ profile, score: 0.75 }], contact);
    expect(ours.validateResponse(body)).toEqual({ ok: true, value: body });
    expect(body.results[0].patient.disorders).toEqual([{ id: 'MIM:607208' }]);
  });

  test('errors name the field and what is wrong', () => {
    const reason = (body: unknown): string => {
      const v = ours.validateRequest(body);
      return v.ok ? 'valid' : v.reason;
    };
    expect(reason({ patient: { id: 'q', features: [{ id: 'HP:0001250' }] } })).toBe("/patient: must have required property 'contact'");
    expect(reason(withPatient({ features: [], genomicFeatures: [] }))).toBe('/patient: needs at least one feature or genomicFeature');
    expect(reason(withPatient({ features: [{ id: 'HP:0001250', observed: 'maybe' }] }))).toBe('/patient/features/0/observed: must be equal to one of the allowed values (yes, no)');
    expect(reason(withVariant({ start: -1 }))).toBe('/patient/genomicFeatures/0/variant/start: must be >= 0');
  });

  test('default() compiles once; load() names a file that is not a schema', () => {
    expect(MmeSchema.default()).toBe(ours);
    const dir = tempDir();
    try {
      const file = join(dir.path, 'bad.json');
      writeFileSync(file, '{"definitions": {}}');
      expect(() => MmeSchema.load(file)).toThrow(`${file}: not a usable MME schema: MME schema lacks definitions.request or definitions.response`);
      expect(() => MmeSchema.load(join(dir.path, 'none.json'))).toThrow(/none\.json: cannot read MME schema/);
    } finally {
      dir.remove();
    }
  });
});

describe('MME media types', () => {
  test('v1.1 and v1.0 are answered in their own version, a later 1.x in ours', () => {
    expect(negotiateMme('application/vnd.ga4gh.matchmaker.v1.1+json')).toEqual({ ok: true, responseType: 'application/vnd.ga4gh.matchmaker.v1.1+json' });
    expect(negotiateMme('Application/VND.ga4gh.matchmaker.v1.0+json; charset=UTF-8')).toEqual({ ok: true, responseType: 'application/vnd.ga4gh.matchmaker.v1.0+json' });
    expect(negotiateMme('application/vnd.ga4gh.matchmaker.v1.7+json')).toEqual({ ok: true, responseType: 'application/vnd.ga4gh.matchmaker.v1.1+json' });
    expect(isMmeContentType('application/vnd.ga4gh.matchmaker.v1.0+json')).toBe(true);
  });

  test('another major version is 406 with the supported versions; other types 415', () => {
    expect(negotiateMme('application/vnd.ga4gh.matchmaker.v2.0+json')).toEqual({ ok: false, status: 406, error: 'unsupported API version 2.0', supportedVersions: ['1.0', '1.1'] });
    expect(negotiateMme('application/json')).toMatchObject({ ok: false, status: 415, error: expect.stringMatching(/v1\.1\+json or .*v1\.0\+json, got application\/json/) });
    expect(negotiateMme(undefined)).toMatchObject({ ok: false, status: 415, error: expect.stringMatching(/got none$/) });
    expect(isMmeContentType('application/vnd.ga4gh.matchmaker+json')).toBe(false);
  });
});
