import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ontology, parseObo } from '../../../src/ontology/index.js';
import {
  buildDiagnosisContext,
  DiagnosisEvaluation,
  diagnose,
  DiseaseClasses,
  DiseaseModel,
  equivalentPairs,
  evaluateDiagnosis,
  evaluateHeldOut,
  geneScores,
  LikelihoodModel,
  nameKey,
  parseGenesToPhenotype,
  parseHpoa,
  posterior,
  profileFromPhenopacket,
} from '../../../src/retrieve/index.js';
import { icFromAnnotations } from '../../../src/retrieve/ic.js';
import { onsetClasses, onsetClassOfAge, ONSET_CLASSES } from '../../../src/retrieve/onset.js';
import type { Phenopacket } from '../../../src/sources/phenopacket.js';
import { FIXTURES, profile } from './helpers.js';

// The tiny ontology plus the HPO's onset branch (HP:0003674), as in the release.
const ONSET_OBO = `
[Term]
id: HP:0000005
name: Mode of inheritance
is_a: HP:0000001

[Term]
id: HP:0031797
name: Clinical course
is_a: HP:0000001

[Term]
id: HP:0003674
name: Onset
is_a: HP:0031797

[Term]
id: HP:0030674
name: Antenatal onset
is_a: HP:0003674

[Term]
id: HP:0011461
name: Fetal onset
is_a: HP:0030674

[Term]
id: HP:0003577
name: Congenital onset
is_a: HP:0003674

[Term]
id: HP:0003623
name: Neonatal onset
is_a: HP:0003674

[Term]
id: HP:0410280
name: Pediatric onset
is_a: HP:0003674

[Term]
id: HP:0003593
name: Infantile onset
is_a: HP:0410280

[Term]
id: HP:0011463
name: Childhood onset
is_a: HP:0410280

[Term]
id: HP:0003621
name: Juvenile onset
is_a: HP:0410280

[Term]
id: HP:0003581
name: Adult onset
is_a: HP:0003674

[Term]
id: HP:0011462
name: Young adult onset
is_a: HP:0003581

[Term]
id: HP:6000315
name: Postmenopausal onset
is_a: HP:0003674
`;
const ontology = new Ontology(parseObo(readFileSync(join(FIXTURES, 'tiny.obo'), 'utf8') + ONSET_OBO, 'tiny+onset.obo'));
const HEADER = 'database_id\tdisease_name\tqualifier\thpo_id\treference\tevidence\tonset\tfrequency\tsex\tmodifier\taspect\tbiocuration';
const row = (id: string, name: string, hpo: string, extra: { ref?: string; onset?: string; freq?: string; aspect?: string; not?: boolean } = {}): string =>
  [id, name, extra.not ? 'NOT' : '', hpo, extra.ref ?? id, 'TAS', extra.onset ?? '', extra.freq ?? '', '', '', extra.aspect ?? 'P', 'x'].join('\t');
const g2p = (links: [string, string][]): Map<string, string[]> =>
  parseGenesToPhenotype(['#Format: a<tab>b<tab>c<tab>d<tab>e<tab>f<tab>g<tab>h<tab>disease-ID for link', ...links.map(([gene, d], i) => `${i}\t${gene}\tHP:0001250\tx\t-\t\t-\tm\t${d}`)].join('\n'));

describe('equivalent ids of one disease', () => {
  const hpoa = parseHpoa([
    '#version: 2024-01-01', HEADER,
    row('OMIM:300001', 'Brachydactyly, type A2', 'HP:0001156'),
    row('ORPHA:93388', 'Brachydactyly type A2', 'HP:0001156'),
    row('OMIM:300002', 'Sorsby fundus dystrophy', 'HP:0001250'),
    row('ORPHA:35', 'Sorsby pseudoinflammatory fundus dystrophy', 'HP:0001250'),
    row('OMIM:300003', 'Spinocerebellar ataxia 10', 'HP:0001250'),
    row('ORPHA:98761', 'Spinocerebellar ataxia type 1', 'HP:0001250'),
    row('OMIM:300004', 'Tietz syndrome', 'HP:0001250'),
    row('ORPHA:42665', 'Tietz syndrome', 'HP:0001250'),
    row('OMIM:300010', 'Galactosemia', 'HP:0001250'),
    row('OMIM:300011', 'GALACTOSEMIA', 'HP:0001250'),
    row('ORPHA:352', 'Galactosemia', 'HP:0001250'),
    row('DECIPHER:1', 'Wolf-Hirschhorn syndrome', 'HP:0001249'),
    row('ORPHA:280', 'Wolf-Hirschhorn syndrome', 'HP:0001249'),
    row('OMIM:194190', 'Wolf-Hirschhorn syndrome', 'HP:0001249'),
  ].join('\n'), 'eq.hpoa', ontology);
  const genes = g2p([['TIMP3', 'OMIM:300002'], ['TIMP3', 'ORPHA:35'], ['ATXN10', 'OMIM:300003'], ['ATXN10', 'ORPHA:98761'], ['MITF', 'OMIM:300004'], ['SNAI2', 'ORPHA:42665']]);

  test('names compare without case, accents, punctuation, word order, "type" and roman numerals', () => {
    expect(nameKey('Brachydactyly, type A2')).toBe(nameKey('Brachydactyly type A2'));
    expect(nameKey('Vertical talus, congenital')).toBe(nameKey('Congenital vertical talus'));
    expect(nameKey('Aymé-Gripp syndrome')).toBe(nameKey('AYME-GRIPP SYNDROME'));
    expect(nameKey('Glycogen storage disease type II')).toBe(nameKey('Glycogen storage disease 2'));
    expect(nameKey('Spinocerebellar ataxia 10')).not.toBe(nameKey('Spinocerebellar ataxia 1'));
  });

  test('pairs by same name, or same single gene and similar name; never across different subtypes, conflicting genes or ambiguous names', () => {
    const pairs = equivalentPairs(hpoa, genes);
    const key = (a: string, b: string): string => [a, b].sort().join(' = ');
    expect(pairs.map((p) => `${key(p.a, p.b)} (${p.reason})`).sort()).toEqual([
      `${key('DECIPHER:1', 'OMIM:194190')} (name)`,
      `${key('DECIPHER:1', 'ORPHA:280')} (name)`,
      `${key('OMIM:194190', 'ORPHA:280')} (name)`,
      `${key('OMIM:300001', 'ORPHA:93388')} (name)`,
      `${key('OMIM:300002', 'ORPHA:35')} (gene-and-name)`,
    ]);
    // Without gene links the Sorsby names alone are not enough.
    expect(equivalentPairs(hpoa).some((p) => p.b === 'ORPHA:35')).toBe(false);
  });

  test('classes list the OMIM id first; scores collapse to the best member', () => {
    const model = new DiseaseModel(ontology, hpoa, { diseaseGenes: genes });
    const c = model.classOfDisease('ORPHA:280');
    expect(model.classOfDisease('DECIPHER:1')).toBe(c);
    expect(model.classes.members[c].map((i) => model.ids[i])).toEqual(['OMIM:194190', 'ORPHA:280', 'DECIPHER:1']);
    expect(model.classes.size).toBe(model.size - 4);
    const scores = Float64Array.from(model.ids, (_, i) => i);
    const collapsed = model.classes.collapse(scores);
    expect(collapsed[c]).toBe(Math.max(...model.classes.members[c]));
    expect(new DiseaseModel(ontology, hpoa, { diseaseGenes: genes, equivalents: false }).classes.size).toBe(model.size);
  });

  test('a class with two ids of one namespace (chained pairs) is split back', () => {
    const classes = new DiseaseClasses(['OMIM:1', 'ORPHA:1', 'OMIM:2'], [{ a: 'OMIM:1', b: 'ORPHA:1', reason: 'name' }, { a: 'OMIM:2', b: 'ORPHA:1', reason: 'name' }]);
    expect(classes.size).toBe(3);
    expect(classes.pairs).toEqual([]);
  });

  test('a ranking lists each disease once, with its other ids', () => {
    const ctx = buildDiagnosisContext(ontology, hpoa, genes);
    const a = diagnose(ctx, profile('q', ['HP:0001249']), { top: 3 });
    expect(a.results[0].equivalents?.length).toBe(2);
    expect([a.results[0].disease, ...a.results[0].equivalents!].sort()).toEqual(['DECIPHER:1', 'OMIM:194190', 'ORPHA:280']);
    expect(a.results.map((r) => r.disease)).toHaveLength(new Set(a.results.map((r) => r.disease)).size);
    expect(a.prior).toMatch(/^uniform over 10 diseases \(14 ids; equivalent OMIM, ORPHA and DECIPHER ids count once\)$/);
    const lr = diagnose(ctx, profile('q', ['HP:0001249']), { top: 3, method: 'lr' });
    expect(lr.results[0].equivalents?.length).toBe(2);
  });

  test('evaluation counts an equivalent id as the diagnosis', () => {
    // Brachydactyly: the OMIM entry and its ORPHA twin have the same annotation, so they tie without collapsing.
    const q = profile('q', ['HP:0001156'], { diseases: ['OMIM:300001'], publications: ['PMID:77'] });
    const merged = evaluateHeldOut(new DiagnosisEvaluation(ontology, hpoa, [q], 'leave-disease-out', { diseaseGenes: genes }), [q], { method: 'bayes-lr', split: 'all' });
    const split = evaluateHeldOut(new DiagnosisEvaluation(ontology, hpoa, [q], 'leave-disease-out', { diseaseGenes: genes, equivalents: false }), [q], { method: 'bayes-lr', split: 'all' });
    expect(merged.hit1).toBe(1);
    expect(split.hit1).toBe(0.5);
    expect(merged.equivalentIds).toEqual({ diseases: 14, classes: 10, pairs: { name: 4, 'gene-and-name': 1 } });
    const ctx = buildDiagnosisContext(ontology, hpoa, genes);
    expect(evaluateDiagnosis(ctx, [{ ...q, diseases: ['ORPHA:93388'] }], { split: 'all', method: 'resnik-bma' }).hit1).toBe(1);
  });
});

describe('gene ranking: a gene holds the posterior of its diseases', () => {
  const hpoa = parseHpoa([
    '#version: 2024-01-01', HEADER,
    row('OMIM:400001', 'Seizure disorder A', 'HP:0001250'),
    row('OMIM:400002', 'Seizure disorder B', 'HP:0001250'),
    row('ORPHA:400002', 'Seizure disorder B', 'HP:0001250'),
    row('OMIM:400003', 'Hand disease', 'HP:0001156'),
    row('OMIM:400004', 'Two-gene hand disease', 'HP:0001156'),
  ].join('\n'), 'genes.hpoa', ontology);
  const genes = g2p([['SCN1A', 'OMIM:400001'], ['SCN1A', 'OMIM:400002'], ['SCN1A', 'ORPHA:400002'], ['GLI3', 'OMIM:400003'], ['GLI3', 'OMIM:400004'], ['HOXD13', 'OMIM:400004']]);
  const model = new DiseaseModel(ontology, hpoa, { diseaseGenes: genes });

  test('P(g) = sum over its disease classes of P(c) / (genes of c); equivalent ids count once', () => {
    const classScores = Float64Array.from([0.5, 0.2, -0.1, 0.3]);
    const tau = 0.35;
    const { genes: names, scores } = geneScores(model, classScores, 'bayes-lr', tau);
    const p = posterior(classScores, tau);
    const c = (id: string): number => model.classOfDisease(id);
    expect(model.classes.size).toBe(4);
    expect(names).toEqual(['GLI3', 'HOXD13', 'SCN1A']);
    expect(10 ** scores[2]).toBeCloseTo(p[c('OMIM:400001')] + p[c('OMIM:400002')], 10);
    expect(10 ** scores[0]).toBeCloseTo(p[c('OMIM:400003')] + p[c('OMIM:400004')] / 2, 10);
    expect(10 ** scores[1]).toBeCloseTo(p[c('OMIM:400004')] / 2, 10);
    // Every disease here has a gene, so the gene posteriors sum to 1.
    expect(scores.reduce((s, x) => s + 10 ** x, 0)).toBeCloseTo(1, 10);
  });

  test('the other methods rank a gene by its best disease', () => {
    const { scores } = geneScores(model, Float64Array.from([0.5, 0.2, -0.1, 0.3]), 'lr', 1);
    expect(Array.from(scores)).toEqual([0.3, 0.3, 0.5]);
  });

  test('diagnose --rank genes: a seizure ranks the gene of two seizure diseases first, probabilities over the genes sum to 1', () => {
    const ctx = buildDiagnosisContext(ontology, hpoa, genes);
    const a = diagnose(ctx, profile('q', ['HP:0001250']), { rank: 'genes', top: 5 });
    expect(a.genes!.map((g) => g.gene)).toEqual(['SCN1A', 'GLI3', 'HOXD13']);
    expect(a.genes!.reduce((s, g) => s + g.probability!, 0)).toBeCloseTo(1, 3);
    expect(a.prior).toMatch(/genes: the posterior of their diseases/);
  });

  test('conditioned on a gene, the posterior uses the gene temperature', () => {
    const ctx = buildDiagnosisContext(ontology, hpoa, genes);
    const a = diagnose(ctx, profile('q', ['HP:0001250'], { genes: ['SCN1A'] }), { genes: true, top: 2 });
    const lm = ctx.model.likelihood;
    expect(a.temperature).toBe(lm.params.geneTemperature);
    expect(lm.params.geneTemperature).toBeLessThan(lm.params.temperature);
    const { scores } = lm.scoreAll(profile('q', ['HP:0001250']));
    const perClass = ctx.model.classes.collapse(scores);
    const expected = posterior(perClass, lm.params.geneTemperature, ctx.model.geneClassCandidates(['SCN1A']));
    expect(a.results[0].probability).toBeCloseTo(Math.max(...expected), 4);
    expect(a.prior).toBe('uniform over the 2 diseases of SCN1A (others: 0)');
    // Several given genes (a VCF's candidates) are as varied as all diseases: the general temperature.
    const several = diagnose(ctx, profile('q', ['HP:0001250'], { genes: ['SCN1A', 'GLI3'] }), { genes: true, top: 2 });
    expect(several.temperature).toBe(lm.params.temperature);
  });
});

describe('onset', () => {
  test('onset terms map to ordered classes; broad terms cover several; other terms none', () => {
    const names = (t: string): string[] => onsetClasses(ontology, t).map((i) => ONSET_CLASSES[i].name);
    expect(names('HP:0003577')).toEqual(['congenital']);
    expect(names('HP:0011461')).toEqual(['antenatal']);
    expect(names('HP:0410280')).toEqual(['infantile', 'childhood', 'juvenile']);
    expect(names('HP:0011462')).toEqual(['adult']);
    expect(names('HP:6000315')).toEqual(['adult']);
    expect(names('HP:0003674')).toHaveLength(ONSET_CLASSES.length);
    expect(names('HP:0001250')).toEqual([]);
    expect(names('HP:9999999')).toEqual([]);
  });

  test('ages map to the classes of the HPO definitions', () => {
    const at = (y: number): string => ONSET_CLASSES[onsetClassOfAge(y)].name;
    expect([-0.1, 0, 10 / 365.25, 0.5, 1, 4.9, 5, 15.9, 16, 70].map(at)).toEqual(['antenatal', 'congenital', 'neonatal', 'infantile', 'childhood', 'childhood', 'juvenile', 'juvenile', 'adult', 'adult']);
  });

  test('a phenopacket gives the disease onset, else the earliest feature onset, and the age at the last encounter', () => {
    const base = { id: 'p', subject: { id: 's', timeAtLastEncounter: { age: { iso8601duration: 'P3Y6M' } } }, phenotypicFeatures: [
      { type: { id: 'HP:0001250' }, onset: { age: { iso8601duration: 'P2Y' } } },
      { type: { id: 'HP:0001249' }, onset: { ontologyClass: { id: 'HP:0003593' } } },
      { type: { id: 'HP:0001156' }, excluded: true, onset: { gestationalAge: { weeks: 30 } } },
    ] } as Phenopacket;
    const byFeatures = profileFromPhenopacket(base, ontology).profile;
    expect(byFeatures).toMatchObject({ onset: 'HP:0003593', age: 3.5 });
    const byDisease = profileFromPhenopacket({ ...base, diseases: [{ term: { id: 'OMIM:1' }, onset: { gestationalAge: { weeks: 20 } } }] }, ontology).profile;
    expect(byDisease.onset).toBe('HP:0030674');
    const none = profileFromPhenopacket({ id: 'p', phenotypicFeatures: [{ type: { id: 'HP:0001250' } }] } as Phenopacket, ontology).profile;
    expect(none.onset).toBeUndefined();
    expect(none.age).toBeUndefined();
  });

  const hpoa = parseHpoa([
    '#version: 2024-01-01', HEADER,
    row('OMIM:500001', 'Early seizures', 'HP:0001250'),
    row('OMIM:500001', 'Early seizures', 'HP:0003577', { aspect: 'C', ref: 'PMID:5' }),
    row('OMIM:500002', 'Late seizures', 'HP:0001250'),
    row('OMIM:500002', 'Late seizures', 'HP:0003581', { aspect: 'C' }),
    row('OMIM:500003', 'Infantile disability', 'HP:0001249', { onset: 'HP:0003593' }),
    row('OMIM:500004', 'Seizures of any age', 'HP:0001250'),
    row('OMIM:500005', 'Course only', 'HP:0003577', { aspect: 'C' }),
  ].join('\n'), 'onset.hpoa', ontology);

  test('phenotype.hpoa: aspect C rows and the onset column become course annotations, with references', () => {
    expect(hpoa.diseases.get('OMIM:500001')!.course).toEqual([{ id: 'HP:0003577', excluded: false, references: ['PMID:5'] }]);
    expect(hpoa.diseases.get('OMIM:500003')!.course!.map((t) => t.id)).toEqual(['HP:0003593']);
    expect(hpoa.diseases.get('OMIM:500001')!.terms.map((t) => t.id)).toEqual(['HP:0001250']);
    // A disease with course rows only is not a rankable disease.
    expect(hpoa.diseases.has('OMIM:500005')).toBe(false);
  });

  test('a congenital onset favours the congenital disease, a 3-year-old argues against the adult one; the evidence sums to the score', () => {
    const model = new DiseaseModel(ontology, hpoa);
    const lm = model.likelihood;
    const early = model.indexOfDisease('OMIM:500001');
    const late = model.indexOfDisease('OMIM:500002');
    const any = model.indexOfDisease('OMIM:500004');
    const plain = lm.scoreAll(profile('q', ['HP:0001250']));
    expect(plain.scores[early]).toBeCloseTo(plain.scores[late], 10);
    const congenital = lm.scoreAll(profile('q', ['HP:0001250'], { onset: 'HP:0003577' }));
    expect(congenital.scores[early]).toBeGreaterThan(congenital.scores[any]);
    expect(congenital.scores[any]).toBeGreaterThan(congenital.scores[late]);
    const child = lm.scoreAll(profile('q', ['HP:0001250'], { age: 3 }));
    expect(child.scores[late]).toBeLessThan(child.scores[early]);
    // An adult may have had any onset: no evidence.
    expect(lm.scoreAll(profile('q', ['HP:0001250'], { age: 40 })).scores).toEqual(plain.scores);
    for (const d of [early, late, any]) {
      const direct = lm.scoreDisease(d, congenital.stats);
      expect(direct.score).toBeCloseTo(congenital.scores[d], 10);
      expect(direct.evidence.reduce((s, e) => s + e.contribution, 0)).toBeCloseTo(congenital.scores[d], 3);
    }
    expect(lm.scoreDisease(early, congenital.stats).evidence.find((e) => e.kind === 'onset')).toMatchObject({ term: 'HP:0003577', match: { term: 'HP:0003577' } });
    expect(lm.scoreDisease(late, child.stats).evidence.find((e) => e.kind === 'onset')!.label).toMatch(/^onset no later than: Childhood onset/);
    // Weight 0 leaves onset out.
    const off = new LikelihoodModel(ontology, model.ids.map((id) => hpoa.diseases.get(id)!.terms), icFromAnnotations(ontology, hpoa), { onsetWeight: 0 }, model.diseaseCourse);
    expect(off.scoreAll(profile('q', ['HP:0001250'], { onset: 'HP:0003577' })).scores).toEqual(plain.scores);
  });

  test('replacing a disease by its own annotations changes nothing; leave-disease-out drops onset rows of the query\'s papers', () => {
    const model = new DiseaseModel(ontology, hpoa);
    const q = profile('q', ['HP:0001250'], { onset: 'HP:0003577', diseases: ['OMIM:500001'], publications: ['PMID:5'] });
    const { scores, stats } = model.likelihood.scoreAll(q);
    const early = model.indexOfDisease('OMIM:500001');
    const same = model.likelihood.replaceDisease(early, hpoa.diseases.get('OMIM:500001')!.terms, stats, hpoa.diseases.get('OMIM:500001')!.course);
    expect(same.score).toBeCloseTo(scores[early], 10);
    expect(same.shift).toBeCloseTo(0, 12);
    const ev = new DiagnosisEvaluation(ontology, hpoa, [q], 'leave-disease-out');
    const course = ev.reducedCourse(q);
    expect([...course].map(([i, rows]) => [ev.model.ids[i], rows])).toEqual([['OMIM:500001', []]]);
    expect(ev.reducedAnnotations(q).size).toBe(0);
    // Without its congenital row the early disease no longer gains from the onset.
    const held = ev.scores(q, 'bayes-lr');
    const standard = new DiagnosisEvaluation(ontology, hpoa, [q], 'standard').scores(q, 'bayes-lr');
    const i = ev.model.indexOfDisease('OMIM:500001');
    const any = ev.model.indexOfDisease('OMIM:500004');
    expect(standard[i] - standard[any]).toBeGreaterThan(0.1);
    expect(held[i] - held[any]).toBeCloseTo(0, 6);
  });
});
