import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildDiagnosisContext,
  buildRetrievalContext,
  diagnose,
  DiseaseModel,
  evaluateDiagnosis,
  evaluateDiagnosisMetrics,
  evaluateRetrieval,
  loadHpoa,
  parseGenesToPhenotype,
  profileFromPhenopacket,
  rankOfFirstRelevant,
} from '../../../src/retrieve/index.js';
import type { Phenopacket } from '../../../src/sources/phenopacket.js';
import { FIXTURES, profile, tinyOntology, tinyPatients } from './helpers.js';

const ontology = tinyOntology();
const hpoa = loadHpoa(join(FIXTURES, 'new.hpoa'), ontology);
const genes = parseGenesToPhenotype(readFileSync(join(FIXTURES, 'genes.txt'), 'utf8'));
const ctx = buildDiagnosisContext(ontology, hpoa, genes);

describe('disease ranking', () => {
  test.each(['lr', 'resnik-bma'])('%s ranks the matching disease first', (method) => {
    const cranio = diagnose(ctx, profile('q', ['HP:0001363', 'HP:0011304']), { method });
    expect(cranio.results[0]).toEqual({ disease: 'OMIM:100001', label: 'Craniohand syndrome', score: expect.any(Number) });
    const neuro = diagnose(ctx, profile('q', ['HP:0001249', 'HP:0001250']), { method });
    expect(neuro.results[0].disease).toBe('OMIM:100002');
  });

  test('likelihood ratio: the value for one exactly annotated term is log10(frequency / background)', () => {
    const model = new DiseaseModel(ontology, hpoa);
    const scores = model.scoreAll(profile('q', ['HP:0011304']), 'lr');
    // Broad thumb: annotated to OMIM:100001 at 0.895; background 1 of 3 diseases.
    expect(scores[model.indexOfDisease('OMIM:100001')]).toBeCloseTo(Math.log10(0.895 / (1 / 3)), 5);
    // ORPHA:3 has Brachydactyly (0.5) under the hand: P = 0.5 * n(broad thumb) / n(hand) = 0.5 * 1/2.
    expect(scores[model.indexOfDisease('ORPHA:3')]).toBeCloseTo(Math.log10(0.25 / (1 / 3)), 5);
  });

  test('excluded features and NOT annotations count against a disease', () => {
    const model = new DiseaseModel(ontology, hpoa);
    const d3 = model.indexOfDisease('ORPHA:3');
    const d2 = model.indexOfDisease('OMIM:100002');
    const base = model.scoreAll(profile('q', ['HP:0001250']), 'lr');
    // ORPHA:3 has Brachydactyly in 1/2 of patients; excluding it gives LR (1 - 1/2) / (1 - 2/3).
    const excl = model.scoreAll(profile('q', ['HP:0001250'], { excluded: ['HP:0001156'] }), 'lr');
    expect(excl[d3]).toBeCloseTo(base[d3] + Math.log10(0.5 / (1 - 2 / 3)), 5);
    // OMIM:100002 has NOT Brachydactyly: observing it is strong evidence against.
    const withBrachy = model.scoreAll(profile('q', ['HP:0001250', 'HP:0001156']), 'lr');
    expect(withBrachy[d2] - base[d2]).toBeLessThan(-1);
  });

  test('gene evidence lifts diseases linked to the patient genes', () => {
    const q = profile('q', ['HP:0001250'], { genes: ['SCN2A'] });
    const without = diagnose(ctx, q, { method: 'lr' });
    const withGenes = diagnose(ctx, q, { method: 'lr', genes: true });
    expect(withGenes.method).toBe('lr+genes');
    expect(withGenes.results[0].disease).toBe('OMIM:100002');
    const s = (r: typeof without, id: string): number => r.results.find((x) => x.disease === id)!.score;
    expect(s(withGenes, 'OMIM:100002') - s(without, 'OMIM:100002')).toBeCloseTo(2, 3);
  });

  test('bad input is reported, not thrown as a crash', () => {
    expect(() => diagnose(ctx, profile('empty', []))).toThrow(/record empty, field phenotypes: empty profile/);
    expect(() => diagnose(ctx, profile('q', ['HP:0001250']), { method: 'phenomizer' })).toThrow(/unknown diagnosis method 'phenomizer'/);
    const noGenes = buildDiagnosisContext(ontology, hpoa);
    expect(diagnose(noGenes, profile('q', ['HP:0001250']), { genes: true }).warnings).toEqual([expect.stringMatching(/no gene annotations loaded/)]);
  });
});

describe('evaluation', () => {
  test('rank of the first relevant counts ties half and ignores masked candidates', () => {
    const scores = Float64Array.from([0.9, 0.5, 0.5, 0.5, 0.1]);
    const relevant = Uint8Array.from([0, 0, 1, 0, 0]);
    expect(rankOfFirstRelevant(scores, relevant)).toBe(1 + 1 + 2 / 2);
    expect(rankOfFirstRelevant(scores, relevant, Uint8Array.from([1, 0, 0, 0, 0]))).toBe(2);
    expect(rankOfFirstRelevant(scores, new Uint8Array(5))).toBe(Infinity);
  });

  test('retrieval is grouped by publication and skips queries with no relevant candidate left', () => {
    const patients = tinyPatients();
    const rctx = buildRetrievalContext(ontology, patients, { annotations: hpoa });
    const grouped = evaluateRetrieval(rctx, patients, { method: 'resnik-bma' });
    // P1 and P2 (PMID:1) still have P3; P3 has P1/P2; P4 and P5 have each other; P6 (ORPHA:3) has nobody.
    expect(grouped).toMatchObject({ method: 'resnik-bma', queries: 5, skipped: 1, skippedReasons: { 'no relevant candidate outside its publication': 1 } });
    // Record-level evaluation lets P1 find P2 from its own paper: never worse, here better.
    const recordLevel = evaluateRetrieval(rctx, patients, { method: 'resnik-bma', samePublication: false });
    expect(recordLevel.queries).toBe(5);
    expect(grouped.hit1).toBeGreaterThan(0);
    expect(grouped.hit1).toBeLessThanOrEqual(1);
    expect(recordLevel.mrr).toBeGreaterThanOrEqual(grouped.mrr);
  });

  test('disease-ranking evaluation counts diagnoses missing from the annotations as skipped', () => {
    const qs = [profile('a', ['HP:0001363'], { diseases: ['OMIM:100001'] }), profile('b', ['HP:0001250'], { diseases: ['OMIM:999999'] }), profile('c', ['HP:0001250'])];
    const r = evaluateDiagnosis(ctx, qs, { method: 'lr', mode: 'standard' });
    expect(r).toMatchObject({ method: 'lr', mode: 'standard', split: 'all', queries: 1, skipped: 2, skippedReasons: { 'diagnosis not in annotations': 1, 'no diagnosis': 1 }, hit1: 1, hit10: 1, mrr: 1 });
  });

  test('progress after every query, skipped ones and those outside the split too, up to the total; the figures unchanged', () => {
    const patients = [...tinyPatients(), profile('no-diagnosis', ['HP:0001250'])];
    const every = patients.map((_, i) => [i + 1, patients.length]);
    const watched = <R>(run: (onProgress: (done: number, total: number) => void) => R): { result: R; calls: number[][] } => {
      const calls: number[][] = [];
      return { result: run((done, total) => void calls.push([done, total])), calls };
    };
    const rctx = buildRetrievalContext(ontology, patients, { annotations: hpoa });
    const retrieval = watched((onProgress) => evaluateRetrieval(rctx, patients, { method: 'resnik-bma', onProgress }));
    expect(retrieval.calls).toEqual(every);
    expect(retrieval.result).toEqual(evaluateRetrieval(rctx, patients, { method: 'resnik-bma' }));
    expect(retrieval.result.skipped).toBe(2);
    for (const mode of ['standard', 'leave-disease-out'] as const) {
      const diagnosis = watched((onProgress) => evaluateDiagnosis(ctx, patients, { method: 'bayes-lr', mode, split: mode === 'standard' ? 'all' : 'test', onProgress }));
      expect(diagnosis.calls).toEqual(every);
      expect(diagnosis.result).toEqual(evaluateDiagnosis(ctx, patients, { method: 'bayes-lr', mode, split: mode === 'standard' ? 'all' : 'test' }));
    }
    const metrics = watched((onProgress) => evaluateDiagnosisMetrics(ctx.model, patients, { method: 'lr', onProgress }));
    expect(metrics.calls).toEqual(every);
    expect(metrics.result).toEqual(evaluateDiagnosisMetrics(ctx.model, patients, { method: 'lr' }));
    expect(metrics.result.queries).toBe(6);
  });
});

describe('profiles from phenopackets', () => {
  const pp = {
    id: 'PMID_1_P1',
    phenotypicFeatures: [
      { type: { id: 'HP:0009999', label: 'old seizure id' } },
      { type: { id: 'HP:0001156' }, excluded: true },
      { type: { id: 'HP:0001250' } },
      { type: { id: 'HP:7654321' } },
      { type: { id: 'HP:0008888' } },
    ],
    interpretations: [
      { diagnosis: { disease: { id: 'OMIM:100002' }, genomicInterpretations: [{ variantInterpretation: { variationDescriptor: { geneContext: { symbol: 'SCN2A' } } } }] } },
    ],
    metaData: { externalReferences: [{ id: 'PMID:1' }] },
  } as unknown as Phenopacket;

  test('normalises ids, keeps excluded features apart, reports unknown ones', () => {
    const { profile: p, issues } = profileFromPhenopacket(pp, ontology, 'pp.json');
    expect(p).toEqual({
      id: 'PMID_1_P1',
      observed: ['HP:0001250', 'HP:0001249'],
      excluded: ['HP:0001156'],
      diseases: ['OMIM:100002'],
      genes: ['SCN2A'],
      publications: ['PMID:1'],
    });
    expect(issues).toEqual([{ source: 'pp.json', field: 'phenotypicFeatures.type.id', message: "unknown HPO term 'HP:7654321' ignored" }]);
  });

  test('a document without an id is rejected with its source', () => {
    expect(() => profileFromPhenopacket({} as Phenopacket, ontology, 'x.json')).toThrow('x.json: not a phenopacket (field id missing)');
  });
});
