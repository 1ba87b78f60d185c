import {
  buildDiagnosisContext,
  DiagnosisEvaluation,
  diagnose,
  diagnosisReportHtml,
  diseaseSplit,
  evaluateDiagnosis,
  evaluateHeldOut,
  expectedHit,
  expectedReciprocalRank,
  parseGenesToPhenotype,
  parseHpoa,
  posterior,
  rankPosition,
  reliability,
} from '../../../src/retrieve/index.js';
import { profile, tinyOntology } from './helpers.js';

const ontology = tinyOntology();
// Row 2 of OMIM:100001 was curated only from PMID:1 (the query's paper); the OMIM:100004 row cites PMID:1 and PMID:9.
const HPOA = [
  '#version: 2024-01-01',
  'database_id\tdisease_name\tqualifier\thpo_id\treference\tevidence\tonset\tfrequency\tsex\tmodifier\taspect\tbiocuration',
  'OMIM:100001\tCraniohand syndrome\t\tHP:0001363\tOMIM:100001\tTAS\t\t1/1\t\t\tP\tx',
  'OMIM:100001\tCraniohand syndrome\t\tHP:0011304\tPMID:1\tPCS\t\t2/3\t\t\tP\tx',
  'OMIM:100002\tNeuro <b>disorder</b>\t\tHP:0001250\tOMIM:100002\tTAS\t\t\t\t\tP\tx',
  'OMIM:100002\tNeuro <b>disorder</b>\t\tHP:0001249\tOMIM:100002\tTAS\t\tHP:0040280\t\t\tP\tx',
  'OMIM:100002\tNeuro <b>disorder</b>\tNOT\tHP:0001156\tOMIM:100002\tTAS\t\t\t\t\tP\tx',
  'ORPHA:3\tHand-seizure disease\t\tHP:0001156\tORPHA:3\tTAS\t\t50%\t\t\tP\tx',
  'ORPHA:3\tHand-seizure disease\t\tHP:0001250\tORPHA:3\tTAS\t\t1/2\t\t\tP\tx',
  'OMIM:100004\tThumb disease\t\tHP:0011304\tPMID:1;PMID:9\tPCS\t\t\t\t\tP\tx',
  'OMIM:100004\tThumb disease\t\tHP:0002360\tOMIM:100004\tTAS\t\t\t\t\tP\tx',
].join('\n');
const hpoa = parseHpoa(HPOA, 'inline.hpoa', ontology);
const genes = parseGenesToPhenotype('#Format: a<tab>b<tab>c<tab>d<tab>e<tab>f<tab>g<tab>h<tab>disease-ID for link\n1\tFGFR2\tHP:0001363\tx\t-\t\t-\tm\tOMIM:100001\n2\tSCN2A\tHP:0001250\tx\t-\t\t-\tm\tOMIM:100002\n2\tSCN2A\tHP:0001250\tx\t-\t\t-\tm\tORPHA:3\n');
const ctx = buildDiagnosisContext(ontology, hpoa, genes);
const model = ctx.model;

describe('ties in evaluation are broken at random, in expectation', () => {
  test('a two-way tie for first is half a hit@1 and reciprocal rank 0.75', () => {
    const p = rankPosition(Float64Array.from([3, 3, 1]), Uint8Array.from([1, 0, 0]))!;
    expect(p).toEqual({ higher: 0, tied: 1 });
    expect(expectedHit(p, 1)).toBe(0.5);
    expect(expectedReciprocalRank(p)).toBeCloseTo(0.75, 12);
  });

  test('one higher and two tied: positions 2..4 equally likely', () => {
    const p = rankPosition(Float64Array.from([5, 2, 2, 2]), Uint8Array.from([0, 0, 1, 0]))!;
    expect(p).toEqual({ higher: 1, tied: 2 });
    expect(expectedHit(p, 1)).toBe(0);
    expect(expectedHit(p, 3)).toBeCloseTo(2 / 3, 12);
    expect(expectedHit(p, 10)).toBe(1);
    expect(expectedReciprocalRank(p)).toBeCloseTo((1 / 2 + 1 / 3 + 1 / 4) / 3, 12);
    expect(rankPosition(Float64Array.from([1]), Uint8Array.from([0]))).toBeUndefined();
  });
});

describe('bayes-lr', () => {
  const q = profile('q', ['HP:0001363', 'HP:0011304'], { excluded: ['HP:0001250'] });

  test('the inverted scoring and the per-disease scoring agree, and the evidence sums to the score', () => {
    const { scores, stats } = model.likelihood.scoreAll(q);
    for (let d = 0; d < model.size; d++) {
      const direct = model.likelihood.scoreDisease(d, stats);
      expect(direct.score).toBeCloseTo(scores[d], 10);
      expect(direct.evidence.reduce((s, e) => s + e.contribution, 0)).toBeCloseTo(scores[d], 3);
    }
    expect(model.ids[scores.indexOf(Math.max(...scores))]).toBe('OMIM:100001');
  });

  test('an exact annotation: log10 of (1 - noise) f + noise * base rate over the marginal', () => {
    const lm = model.likelihood;
    const { noise } = lm.params;
    const { scores, stats } = lm.scoreAll(profile('q', ['HP:0001249']));
    // Intellectual disability: annotated (obligate) only to OMIM:100002; base rate 1 of 4 diseases.
    const base = 1 / 4;
    const p = (1 - noise) * 1 + noise * base;
    const d = model.indexOfDisease('OMIM:100002');
    const missing = lm.scoreDisease(d, stats).evidence.filter((e) => e.kind === 'not-in-query').reduce((s, e) => s + e.contribution, 0);
    expect(scores[d] - missing).toBeCloseTo(Math.log10(p / stats.background[0]), 3);
    // The marginal is the mean of P(t | D): the ratios average 1.
    const ps = [0, 1, 2, 3].map((i) => Math.pow(10, lm.scoreDisease(i, stats).evidence.find((e) => e.kind === 'observed')!.contribution));
    expect(ps.reduce((s, x) => s + x, 0) / 4).toBeCloseTo(1, 3);
  });

  test('excluded features argue against diseases that have them; NOT annotations against observed ones', () => {
    const lm = model.likelihood;
    const seizureless = lm.scoreAll(profile('q', ['HP:0001249'], { excluded: ['HP:0001250'] }));
    const plain = lm.scoreAll(profile('q', ['HP:0001249']));
    const orpha = model.indexOfDisease('ORPHA:3');
    expect(seizureless.scores[orpha]).toBeLessThan(plain.scores[orpha]);
    const brachy = lm.scoreAll(profile('q', ['HP:0001156']));
    const neuro = model.indexOfDisease('OMIM:100002');
    expect(lm.scoreDisease(neuro, brachy.stats).evidence[0]).toMatchObject({ term: 'HP:0001156', kind: 'observed', match: { term: 'HP:0001156', frequency: 0 } });
    expect(brachy.scores[neuro]).toBeLessThan(-1);
  });

  test('replacing a disease by its own annotations changes nothing', () => {
    const { scores, stats } = model.likelihood.scoreAll(q);
    const d = model.indexOfDisease('OMIM:100001');
    const r = model.likelihood.replaceDisease(d, hpoa.diseases.get('OMIM:100001')!.terms, stats);
    expect(r.score).toBeCloseTo(scores[d], 10);
    expect(r.shift).toBeCloseTo(0, 12);
  });

  test('answers carry a probability under a stated prior and the terms for and against', () => {
    const a = diagnose(ctx, q, { top: 4 });
    expect(a.method).toBe('bayes-lr');
    expect(a.prior).toBe('uniform over 4 diseases');
    expect(a.results[0]).toMatchObject({ disease: 'OMIM:100001', probability: expect.any(Number) });
    expect(a.results.reduce((s, r) => s + r.probability!, 0)).toBeCloseTo(1, 3);
    expect(a.results[0].for!.map((e) => e.term)).toEqual(expect.arrayContaining(['HP:0001363', 'HP:0011304']));
    expect(a.results[0].for!.every((e) => e.contribution > 0)).toBe(true);
    const neuro = a.results.find((r) => r.disease === 'OMIM:100002')!;
    expect(neuro.against!.length).toBeGreaterThan(0);
    expect(neuro.against!.every((e) => e.contribution < 0)).toBe(true);
  });

  test('genes condition the ranking: only the gene\'s diseases compete, and the prior says so', () => {
    // Seizure alone fits ORPHA:3 and OMIM:100002; with FGFR2 given, Craniohand syndrome is first.
    const a = diagnose(ctx, profile('q', ['HP:0001250'], { genes: ['FGFR2'] }), { genes: true, top: 4 });
    expect(a.method).toBe('bayes-lr+genes');
    expect(a.results[0]).toMatchObject({ disease: 'OMIM:100001', probability: 1 });
    expect(a.results.slice(1).every((r) => r.probability === 0)).toBe(true);
    expect(a.prior).toBe('uniform over the 1 diseases of FGFR2 (others: 0)');
    const two = diagnose(ctx, profile('q', ['HP:0001250'], { genes: ['SCN2A'] }), { genes: true, top: 4 });
    expect(two.results.slice(0, 2).map((r) => r.disease).sort()).toEqual(['OMIM:100002', 'ORPHA:3']);
    expect(two.results[0].probability! + two.results[1].probability!).toBeCloseTo(1, 3);
  });

  test('gene ranking from phenotypes alone', () => {
    const a = diagnose(ctx, profile('q', ['HP:0001363', 'HP:0011304']), { rank: 'genes', top: 5 });
    expect(a.rank).toBe('genes');
    expect(a.genes!.map((g) => g.gene)).toEqual(['FGFR2', 'SCN2A']);
    expect(a.genes![0]).toMatchObject({ disease: 'OMIM:100001' });
    expect(a.genes!.reduce((s, g) => s + g.probability!, 0)).toBeCloseTo(1, 3);
  });

  test('posterior: a softmax of temperature * ln LR over the candidates', () => {
    const p = posterior(Float64Array.from([1, 0, 0]), 1, Uint8Array.from([1, 1, 0]));
    expect(p[0]).toBeCloseTo(10 / 11, 12);
    expect(p[2]).toBe(0);
  });
});

describe('leave-disease-out evaluation', () => {
  const query = profile('q', ['HP:0001363', 'HP:0011304'], { diseases: ['OMIM:100001'], publications: ['PMID:1'] });

  test('drops exactly the rows derived only from the query\'s papers', () => {
    const ev = new DiagnosisEvaluation(ontology, hpoa, [query], 'leave-disease-out');
    const reduced = ev.reducedAnnotations(query);
    expect([...reduced.keys()].map((i) => ev.model.ids[i])).toEqual(['OMIM:100001']);
    expect(reduced.get(ev.model.indexOfDisease('OMIM:100001'))!.map((t) => t.id)).toEqual(['HP:0001363']);
    // The corpus statistics leave the PMID:1-only row out too: broad thumb is annotated to 1 disease (OMIM:100004), not 2.
    expect(ev.model.ic.counts[ontology.indexOf('HP:0011304')]).toBe(1);
    expect(new DiagnosisEvaluation(ontology, hpoa, [query], 'standard').reducedAnnotations(query).size).toBe(0);
  });

  test('the diagnosis loses what its own paper told: it ranks worse than in the standard mode', () => {
    for (const method of ['bayes-lr', 'lr', 'resnik-bma'] as const) {
      const standard = evaluateHeldOut(new DiagnosisEvaluation(ontology, hpoa, [query], 'standard'), [query], { method });
      const held = evaluateHeldOut(new DiagnosisEvaluation(ontology, hpoa, [query], 'leave-disease-out'), [query], { method, split: 'all' });
      expect(standard).toMatchObject({ mode: 'standard', split: 'all', queries: 1, hit1: 1 });
      expect(held).toMatchObject({ mode: 'leave-disease-out', queries: 1, heldOutAnnotations: { queries: 1, rowsDropped: 1, diagnosesWithoutAnnotations: 0 } });
      expect(held.mrr).toBeLessThanOrEqual(standard.mrr);
    }
    // Broad thumb no longer counts as an exact match of the diagnosis: its score drops, Thumb disease's (PMID:1;PMID:9 row kept) does not.
    const standard = new DiagnosisEvaluation(ontology, hpoa, [query], 'standard');
    const held = new DiagnosisEvaluation(ontology, hpoa, [query], 'leave-disease-out');
    const target = standard.model.indexOfDisease('OMIM:100001');
    const thumb = standard.model.indexOfDisease('OMIM:100004');
    const s = standard.scores(query, 'bayes-lr');
    const h = held.scores(query, 'bayes-lr');
    expect(h[target] - h[thumb]).toBeLessThan(s[target] - s[thumb]);
  });

  test('reports only the test half of the disease split by default, and names the split', () => {
    const ids = Array.from({ length: 400 }, (_, i) => `OMIM:${600000 + i}`);
    const tune = ids.filter((id) => diseaseSplit(id) === 'tune').length;
    expect(tune).toBeGreaterThan(160);
    expect(tune).toBeLessThan(240);
    expect(diseaseSplit('OMIM:101600')).toBe(diseaseSplit('OMIM:101600'));
    const r = evaluateDiagnosis(ctx, [query], {});
    expect(r.mode).toBe('leave-disease-out');
    expect(r.split).toBe('test');
    expect(r.splitQueries.tune + r.splitQueries.test).toBe(1);
    expect(r.queries).toBe(diseaseSplit('OMIM:100001') === 'test' ? 1 : 0);
    expect(() => evaluateDiagnosis(ctx, [query], { mode: 'leaky' as never })).toThrow(/unknown evaluation mode 'leaky'/);
  });

  test('gene ranking and conditioning are evaluated too; calibration comes with bayes-lr', () => {
    const q = { ...query, genes: ['FGFR2'] };
    // A gene holds the summed posterior of its diseases: at the default temperature SCN2A's two weak
    // seizure diseases outweigh FGFR2's one (the query lost its broad-thumb row); sharper, FGFR2 wins.
    const sharp = new DiagnosisEvaluation(ontology, hpoa, [q], 'leave-disease-out', { diseaseGenes: genes, likelihood: { temperature: 1 } });
    expect(evaluateHeldOut(sharp, [q], { method: 'bayes-lr', rank: 'genes', split: 'all' })).toMatchObject({ rank: 'genes', queries: 1, hit1: 1 });
    const genesRank = evaluateDiagnosis(ctx, [q], { rank: 'genes', split: 'all' });
    expect(genesRank).toMatchObject({ rank: 'genes', queries: 1, hit1: 0 });
    const conditioned = evaluateDiagnosis(ctx, [q], { genes: true, split: 'all' });
    expect(conditioned).toMatchObject({ method: 'bayes-lr+genes', hit1: 1 });
    expect(conditioned.calibration!.prior).toMatch(/given genes/);
    expect(conditioned.calibration!.bins).toHaveLength(10);
  });

  test('reliability bins: predicted vs observed, and the expected calibration error', () => {
    const c = reliability([{ p: 0.95, hit: true }, { p: 0.85, hit: false }, { p: 0.05, hit: false }, { p: 0.05, hit: false }], 1, 'uniform', -1);
    expect(c.bins[9]).toMatchObject({ count: 1, meanPredicted: 0.95, observed: 1 });
    expect(c.bins[8]).toMatchObject({ count: 1, observed: 0 });
    expect(c.bins[0]).toMatchObject({ count: 2, meanPredicted: 0.05, observed: 0 });
    expect(c.ece).toBeCloseTo((0.05 + 0.85 + 2 * 0.05) / 4, 4);
  });
});

describe('HTML report', () => {
  test('self-contained, escaped, with probabilities and evidence', () => {
    const a = diagnose(ctx, profile('<script>alert(1)</script>', ['HP:0001250', 'HP:0001249']), { top: 3 });
    const html = diagnosisReportHtml([a, { query: 'bad & <query>', error: 'empty <profile>' }], { annotations: 'inline.hpoa (2024-01-01)', generated: 'now' });
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('Neuro &lt;b&gt;disorder&lt;/b&gt;');
    expect(html).toContain('bad &amp; &lt;query&gt;');
    expect(html).not.toMatch(/\b(src|href)=|https?:\/\/|@import|url\(/);
    expect(html).toContain('uniform over 4 diseases');
    expect(html).toMatch(/Seizure <span class="note">HP:0001250<\/span> <b>\+\d/);
  });
});
