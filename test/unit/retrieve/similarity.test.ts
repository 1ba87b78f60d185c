import { join } from 'node:path';
import {
  allMethodNames,
  buildRetrievalContext,
  icFromAnnotations,
  loadHpoa,
  parseMethod,
  PatientIndex,
  similar,
  similarAll,
  topK,
  type PatientProfile,
} from '../../../src/retrieve/index.js';
import { FIXTURES, profile, tinyOntology, tinyPatients } from './helpers.js';

const ontology = tinyOntology();
const hpoa = loadHpoa(join(FIXTURES, 'old.hpoa'), ontology);
const ic = icFromAnnotations(ontology, hpoa);
const patients = tinyPatients();
const index = new PatientIndex(ontology, ic, patients);

// An independent, set-based reference implementation written from the definitions.
const icOf = (id: string): number => ic.values[ontology.indexOf(id)];
const anc = (id: string): Set<string> => new Set(ontology.ancestors(id));
function micaIc(a: string, b: string): number {
  const B = anc(b);
  return Math.max(...[...anc(a)].filter((x) => B.has(x)).map(icOf));
}
function termSim(measure: string, a: string, b: string): number {
  const m = micaIc(a, b);
  if (measure === 'resnik') return m;
  if (measure === 'lin') return icOf(a) + icOf(b) > 0 ? (2 * m) / (icOf(a) + icOf(b)) : 0;
  return 1 / (1 + icOf(a) + icOf(b) - 2 * m);
}
function reference(method: string, q: PatientProfile, p: PatientProfile): number {
  const negative = method.includes('+neg');
  const assessed = method.includes('+excl');
  const [measure, aggregation] = method.split('+')[0].split('-');
  let score: number;
  const closure = (ts: string[]): Set<string> => new Set(ts.flatMap((t) => [...anc(t)]));
  if (measure === 'jaccard' || measure === 'cosine') {
    const A = closure(q.observed);
    const B = closure(p.observed);
    const inter = [...A].filter((x) => B.has(x));
    if (measure === 'jaccard') score = inter.length / (A.size + B.size - inter.length);
    else {
      const sq = (xs: Iterable<string>): number => [...xs].reduce((s, x) => s + icOf(x) ** 2, 0);
      score = sq(inter) / Math.sqrt(sq(A) * sq(B));
    }
  } else {
    const bestQ = q.observed.map((a) => Math.max(...p.observed.map((b) => termSim(measure, a, b))));
    const bestP = p.observed.map((b) => Math.max(...q.observed.map((a) => termSim(measure, a, b))));
    const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
    const wmean = (xs: number[], ts: string[]): number => xs.reduce((s, x, i) => s + x * icOf(ts[i]), 0) / ts.reduce((s, t) => s + icOf(t), 0);
    if (aggregation === 'bma') score = (mean(bestQ) + mean(bestP)) / 2;
    else if (aggregation === 'bmwa') score = (wmean(bestQ, q.observed) + wmean(bestP, p.observed)) / 2;
    else score = Math.max(mean(bestQ), mean(bestP));
  }
  if (negative) {
    const Q = closure(q.observed);
    const P = closure(p.observed);
    const conflict = q.excluded.filter((e) => P.has(e)).reduce((s, e) => s + icOf(e), 0) + p.excluded.filter((e) => Q.has(e)).reduce((s, e) => s + icOf(e), 0);
    score *= Math.exp(-conflict / 10);
  }
  if (assessed) {
    const A = closure(q.excluded);
    const B = closure(p.excluded);
    const sq = (xs: Iterable<string>): number => [...xs].reduce((s, x) => s + icOf(x) ** 2, 0);
    if (sq(A) > 0 && sq(B) > 0) score *= 1 + sq([...A].filter((x) => B.has(x))) / Math.sqrt(sq(A) * sq(B));
  }
  return score;
}

describe('similarity measures', () => {
  test.each(allMethodNames())('%s matches the set-based reference on every fixture pair', (method) => {
    for (const q of patients) {
      const scores = index.scoreAll(index.prepare(q), method);
      patients.forEach((p, i) => expect(scores[i]).toBeCloseTo(reference(method, q, p), 5));
    }
  });

  test('Resnik of two hand terms is the IC of their MICA, Abnormality of the hand', () => {
    const q = index.prepare(profile('q', ['HP:0011304']));
    const scores = index.scoreAll(q, 'resnik-bma');
    // P6 has Brachydactyly and Seizure: (max(IC(hand), 0) + (IC(hand) + 0) / 2) / 2.
    const hand = icOf('HP:0001155');
    expect(scores[5]).toBeCloseTo((hand + hand / 2) / 2, 5);
    expect(index.mica(ontology.indexOf('HP:0011304'), ontology.indexOf('HP:0001156'))).toEqual({ index: ontology.indexOf('HP:0001155'), ic: hand });
  });

  test('shared excluded features raise exactly the candidates that share them', () => {
    const q = index.prepare(profile('q', ['HP:0001363'], { excluded: ['HP:0001250'] }));
    const plain = index.scoreAll(q, 'resnik-bma');
    const excl = index.scoreAll(q, 'resnik-bma+excl');
    // P2 also excludes Seizure: its score doubles; P4 excludes the hand (only the root in common).
    expect(excl[1]).toBeCloseTo(2 * plain[1], 5);
    for (const i of [0, 2, 4, 5]) expect(excl[i]).toBe(plain[i]);
  });

  test('negative evidence lowers a contradicted candidate and nothing else', () => {
    const q = index.prepare(profile('q', ['HP:0001250', 'HP:0001363'], { excluded: ['HP:0001156'] }));
    const plain = index.scoreAll(q, 'resnik-bma');
    const neg = index.scoreAll(q, 'resnik-bma+neg');
    // P2, P3 and P6 have Brachydactyly, which q excludes; P2 also excludes q's Seizure.
    for (const i of [1, 2, 5]) {
      expect(plain[i]).toBeGreaterThan(0);
      expect(neg[i]).toBeLessThan(plain[i]);
    }
    for (const i of [0, 3, 4]) expect(neg[i]).toBe(plain[i]);
  });

  test('methods parse by name and unknown names fail clearly', () => {
    expect(parseMethod('Lin-BMWA+neg')).toEqual({ name: 'lin-bmwa+neg', measure: 'lin', aggregation: 'bmwa', negative: true, assessed: false });
    expect(parseMethod('cosine+excl+neg')).toEqual({ name: 'cosine+neg+excl', measure: 'cosine', negative: true, assessed: true });
    expect(() => parseMethod('cosine+foo')).toThrow(/unknown method 'cosine\+foo'/);
    expect(parseMethod('resnik').name).toBe('resnik-bma');
    expect(() => parseMethod('simgic')).toThrow(/unknown method 'simgic'.*resnik-bma/);
  });

  test('topK keeps the best k positive, unmasked scores, ties by index', () => {
    const scores = Float64Array.from([0.5, 0, 0.9, 0.5, 0.7, 0.1]);
    expect(topK(scores, 3)).toEqual([2, 4, 0]);
    expect(topK(scores, 10)).toEqual([2, 4, 0, 3, 5]);
    expect(topK(scores, 2, Uint8Array.from([0, 0, 1, 0, 0, 0]))).toEqual([4, 0]);
  });
});

describe('similar()', () => {
  const ctx = buildRetrievalContext(ontology, patients, { annotations: hpoa });

  test('a stored patient never finds itself; same-publication patients can be excluded', () => {
    const r = similar(ctx, patients[0], { top: 5, method: 'resnik-bma' });
    expect(r.query).toBe('P1');
    expect(r.results.map((x) => x.patient)).not.toContain('P1');
    expect(r.results[0].patient).toBe('P3');
    expect(r.results.map((x) => x.patient)).toContain('P2');
    const grouped = similar(ctx, patients[0], { top: 5, method: 'resnik-bma', excludeSamePublication: true });
    expect(grouped.results.map((x) => x.patient)).not.toContain('P2');
    for (let i = 1; i < r.results.length; i++) expect(r.results[i].score).toBeLessThanOrEqual(r.results[i - 1].score);
  });

  test('explanations give matched pairs with their most informative common ancestor', () => {
    const r = similar(ctx, profile('q', ['HP:0011304', 'HP:0001249']), { top: 1, method: 'resnik-bma', explain: true });
    // P4 (Seizure, Intellectual disability) beats P3 (which has Broad thumb): see the reference above.
    expect(r.results[0].patient).toBe('P4');
    expect(r.results[0].score).toBeCloseTo(reference('resnik-bma', profile('q', ['HP:0011304', 'HP:0001249']), patients[3]), 5);
    const pairs = r.results[0].explanation!;
    expect(pairs[0]).toEqual({
      query: { id: 'HP:0001249', label: 'Intellectual disability' },
      match: { id: 'HP:0001249', label: 'Intellectual disability' },
      mica: { id: 'HP:0001249', label: 'Intellectual disability', ic: expect.closeTo(Math.log(3), 4) },
      similarity: expect.closeTo(Math.log(3), 4),
    });
    expect(pairs[1].query.id).toBe('HP:0011304');
    expect(pairs[1].mica.ic).toBe(0);
  });

  test('HPO list queries resolve alt ids and replaced obsolete ids, and report unknown ones', async () => {
    const out = [];
    for await (const r of similarAll(ctx, { hpo: 'HP:0009999, HP:0008888,HP:1234567' }, { method: 'resnik-bma', top: 2 })) out.push(r);
    expect(out).toHaveLength(1);
    const r = out[0] as { results: { patient: string }[]; warnings: string[] };
    expect(r.results[0].patient).toBe('P4'); // Seizure + Intellectual disability
    expect(r.warnings).toEqual(["query: hpo: unknown HPO term 'HP:1234567' ignored"]);
  });

  test('bad queries give clear errors, not crashes', async () => {
    const errors = [];
    for await (const r of similarAll(ctx, { hpo: 'HP:1234567,HP:0007777' })) errors.push(r);
    expect(errors).toEqual([{ query: 'query', error: expect.stringMatching(/empty profile.*unknown HPO term 'HP:1234567'.*obsolete HPO term 'HP:0007777'/) }]);
    const missing = [];
    for await (const r of similarAll(ctx, { patient: 'nobody' })) missing.push(r);
    expect(missing).toEqual([{ query: 'query', error: "query: patient: unknown patient 'nobody'" }]);
    expect(() => similar(ctx, profile('e', []))).toThrow(/record e, field phenotypes: empty profile/);
    expect(() => similar(ctx, patients[0], { top: 0 })).toThrow(/--top must be a positive integer/);
    expect(() => similar(ctx, patients[0], { method: 'nope' })).toThrow(/unknown method/);
  });
});
