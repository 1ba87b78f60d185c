import { loadOntology, type Ontology } from '../../../src/ontology/index.js';
import {
  BASELINE_METHOD,
  buildDiagnosisContext,
  buildRetrievalContext,
  DEFAULT_METHOD,
  diagnose,
  evaluateRetrieval,
  isMmeContentType,
  loadGenesToPhenotype,
  loadHpoa,
  loadProfiles,
  matchMme,
  MME_CONTENT_TYPE,
  MmeSchema,
  profileFromHpoList,
  similar,
  similarAll,
  type DiagnosisContext,
  type Hpoa,
  type PatientProfile,
  type RetrievalContext,
} from '../../../src/retrieve/index.js';
import { describeWithData, files } from './data.js';

// One load of the real data for every test here (about 10 s on the 2-core machine).
let ontology: Ontology;
let hpoa: Hpoa;
let profiles: PatientProfile[];
let retrieval: RetrievalContext;
let diagnosis: DiagnosisContext;
let schema: MmeSchema;

const PFEIFFER = ['HP:0001156', 'HP:0001363', 'HP:0011304', 'HP:0010055'];
const contact = { name: 'Harmonia test node', href: 'mailto:matchmaker@example.org', institution: 'Harmonia' };

describeWithData('semantic retrieval on real data', () => {
  beforeAll(async () => {
    ontology = loadOntology(files.hpo);
    hpoa = loadHpoa(files.hpoa, ontology);
    ({ profiles } = await loadProfiles([files.phenopackets], ontology));
    retrieval = buildRetrievalContext(ontology, profiles, { annotations: hpoa });
    diagnosis = buildDiagnosisContext(ontology, hpoa, loadGenesToPhenotype(files.genes));
    schema = MmeSchema.load(files.mmeSchema);
  });

  test('reads all 7,405 dev phenopackets and 12,6xx annotated diseases', () => {
    expect(profiles).toHaveLength(7405);
    expect(profiles.every((p) => p.diseases.length > 0 && p.publications.length > 0)).toBe(true);
    expect(hpoa.diseases.size).toBeGreaterThan(12500);
    expect(hpoa.diseases.get('OMIM:101600')!.label).toBe('Pfeiffer syndrome');
  });

  test('the current column format (phenotype_test.hpoa) parses, with its malformed rows reported', () => {
    const current = loadHpoa(files.hpoaCurrent, ontology);
    expect(current.version).toBe('2023-07-21');
    expect(current.diseases.size).toBeGreaterThan(5);
    // Upstream has rows where the aspect and biocuration cells are glued together.
    expect(current.issues.some((i) => i.field === 'row' && /10 columns/.test(i.message))).toBe(true);
  });

  test('Pfeiffer profile ranks OMIM:101600 near the top (likelihood ratio)', () => {
    const query = profileFromHpoList(PFEIFFER, ontology, 'pfeiffer').profile;
    const lr = diagnose(diagnosis, query, { method: 'lr', top: 10 });
    expect(lr.results.slice(0, 3).map((r) => r.disease)).toContain('OMIM:101600');
    expect(lr.results.find((r) => r.disease === 'OMIM:101600')!.label).toBe('Pfeiffer syndrome');
    // With FGFR2 as gene evidence it is first.
    const withGene = diagnose(diagnosis, { ...query, genes: ['FGFR2'] }, { method: 'lr', genes: true, top: 3 });
    expect(withGene.results[0].disease).toBe('OMIM:101600');
    const resnik = diagnose(diagnosis, query, { method: 'resnik-bma', top: 50 });
    expect(resnik.results.map((r) => r.disease)).toContain('OMIM:101600');
  });

  test('similar patients of a Pfeiffer profile share its hand anomalies, with explanations', () => {
    // The dev set has no FGFR2 patient; the nearest are broad-thumb syndromes (EP300, GLI3, ...).
    const query = profileFromHpoList(PFEIFFER, ontology, 'pfeiffer').profile;
    const r = similar(retrieval, query, { top: 10, explain: true });
    expect(r.method).toBe(DEFAULT_METHOD);
    expect(r.results).toHaveLength(10);
    const byId = new Map(profiles.map((p) => [p.id, p]));
    const top = r.results.map((x) => byId.get(x.patient)!);
    expect(top.filter((p) => p.observed.some((t) => ontology.isA(t, 'HP:0001155'))).length).toBeGreaterThanOrEqual(8);
    // Every result shares something specific with the query (not just 'Phenotypic abnormality').
    for (const x of r.results) expect(Math.max(...x.explanation!.map((e) => e.mica.ic))).toBeGreaterThan(1);
    const pair = r.results[0].explanation![0];
    expect(pair.mica.ic).toBeGreaterThan(0);
    expect(ontology.isA(pair.query.id, pair.mica.id) && ontology.isA(pair.match.id, pair.mica.id)).toBe(true);
  });

  test('a stored patient never returns itself, nor its paper with --exclude-same-publication', () => {
    const q = profiles.find((p) => profiles.filter((o) => o.publications[0] === p.publications[0]).length > 5)!;
    const plain = similar(retrieval, q, { top: 20, method: 'resnik-bma' });
    expect(plain.results.map((r) => r.patient)).not.toContain(q.id);
    const samePaper = new Set(profiles.filter((p) => p.publications.some((x) => q.publications.includes(x))).map((p) => p.id));
    expect(plain.results.some((r) => samePaper.has(r.patient))).toBe(true);
    const grouped = similar(retrieval, q, { top: 20, method: 'resnik-bma', excludeSamePublication: true });
    expect(grouped.results.some((r) => samePaper.has(r.patient))).toBe(false);
  });

  test('phenopacket file queries: each document is one query', async () => {
    const out = [];
    for await (const r of similarAll(retrieval, { files: [files.phenopackets] }, { top: 3 })) {
      out.push(r);
      if (out.length === 3) break;
    }
    expect(out.map((r) => r.query)).toEqual(profiles.slice(0, 3).map((p) => p.id));
    for (const r of out) expect('results' in r && r.results.every((x) => x.patient !== r.query)).toBe(true);
  });

  test('publication-grouped evaluation: the default beats Resnik BMA on a fixed sample', () => {
    // Every 10th patient: spread over all cohorts; the full table is in docs/retrieval.md.
    const sample = profiles.filter((_, i) => i % 10 === 0);
    const base = evaluateRetrieval(retrieval, sample, { method: BASELINE_METHOD });
    const best = evaluateRetrieval(retrieval, sample, { method: DEFAULT_METHOD });
    expect(base.queries + base.skipped).toBe(sample.length);
    expect(best.queries).toBe(base.queries);
    expect(best.queries).toBeGreaterThan(300);
    expect(best.mrr).toBeGreaterThan(base.mrr);
    const recordLevel = evaluateRetrieval(retrieval, sample, { method: DEFAULT_METHOD, samePublication: false });
    expect(recordLevel.mrr).toBeGreaterThan(best.mrr); // record-level splits inflate scores
  });

  test('bad input: unknown ids and empty profiles give clear errors', async () => {
    const out = [];
    for await (const r of similarAll(retrieval, { hpo: 'HP:9999999,not-an-id' })) out.push(r);
    expect(out).toEqual([{ query: 'query', error: expect.stringMatching(/empty profile.*unknown HPO term 'HP:9999999'.*unknown HPO term 'not-an-id'/) }]);
    expect(() => diagnose(diagnosis, profileFromHpoList([], ontology).profile)).toThrow(/empty profile/);
  });

  describe('Matchmaker Exchange', () => {
    const request = {
      patient: {
        id: 'remote-1',
        contact: { name: 'Remote clinician', href: 'mailto:someone@example.org' },
        features: [...PFEIFFER.map((id) => ({ id, observed: 'yes' })), { id: 'HP:0001250', observed: 'no' }],
        genomicFeatures: [{ gene: { id: 'EP300' } }],
      },
    };

    test('a valid request gets a response valid against the official schema', () => {
      const reply = matchMme(retrieval, schema, MME_CONTENT_TYPE, request, { contact, top: 5 });
      expect(reply.status).toBe(200);
      expect(reply.contentType).toBe(MME_CONTENT_TYPE);
      expect(schema.validateResponse(reply.body)).toEqual({ ok: true, value: reply.body });
      const body = reply.body as { results: { score: { patient: number }; patient: { id: string; contact: unknown; features: { observed: string }[]; genomicFeatures: { gene: { id: string } }[] } }[] };
      expect(body.results).toHaveLength(5);
      for (const r of body.results) {
        expect(r.patient.contact).toEqual(contact);
        expect(r.score.patient).toBeGreaterThan(0);
        expect(r.score.patient).toBeLessThanOrEqual(1);
        expect(r.patient.features.every((f) => f.observed === 'yes' || f.observed === 'no')).toBe(true);
      }
      // Sharing the gene and the phenotype puts EP300 (Rubinstein-Taybi, broad thumbs) patients first.
      for (const r of body.results) expect(r.patient.genomicFeatures.map((g) => g.gene.id)).toContain('EP300');
    });

    test('other content types get 415, invalid bodies 400 with the reason', () => {
      expect(isMmeContentType(`${MME_CONTENT_TYPE}; charset=utf-8`)).toBe(true);
      expect(matchMme(retrieval, schema, 'application/json', request, { contact }).status).toBe(415);
      const noContact = matchMme(retrieval, schema, MME_CONTENT_TYPE, { patient: { id: 'x', features: [{ id: 'HP:0001250' }] } }, { contact });
      expect(noContact).toMatchObject({ status: 400, body: { error: expect.stringMatching(/\/patient: must have required property 'contact'/) } });
      const badObserved = matchMme(retrieval, schema, MME_CONTENT_TYPE, { patient: { ...request.patient, features: [{ id: 'HP:0001250', observed: 'maybe' }] } }, { contact });
      expect(badObserved).toMatchObject({ status: 400, body: { error: expect.stringMatching(/observed.*yes, no/) } });
      const empty = matchMme(retrieval, schema, MME_CONTENT_TYPE, { patient: { id: 'x', contact: request.patient.contact, features: [], genomicFeatures: [] } }, { contact });
      expect(empty).toMatchObject({ status: 400, body: { error: expect.stringMatching(/at least one feature or genomicFeature/) } });
      const badId = matchMme(retrieval, schema, MME_CONTENT_TYPE, { patient: { ...request.patient, features: [{ id: 'HPO:1' }] } }, { contact });
      expect(badId).toMatchObject({ status: 400, body: { error: expect.stringMatching(/features\/0\/id: must match pattern/) } });
    });

    test('the response validator rejects a result without a contact', () => {
      expect(schema.validateResponse({ results: [{ score: { patient: 0.5 }, patient: { id: 'p', features: [{ id: 'HP:0001250' }] } }] }).ok).toBe(false);
    });
  });
});
