import type { Ontology } from '../ontology/index.js';
import type { DiseaseTerm } from './hpoa.js';
import type { InformationContent } from './ic.js';
import { OnsetModel, type OnsetObservation, type OnsetParameters } from './onset.js';
import type { PatientProfile } from './profile.js';

// `bayes-lr`: a likelihood-ratio disease model built only from the annotations and the ontology, with
// nothing fitted to patients except the few constants of LIKELIHOOD_DEFAULTS (chosen on the tune half
// of the dev diseases, docs/retrieval.md). For a disease D and a query:
//
// - Observed term t. P_m(t | D) = max over D's terms u and common ancestors a of t and u of
//   f_D(u) * n(t) / n(a): an exact or more specific annotation gives its frequency f, a partial match
//   through the ancestor a is discounted by how much rarer t is than a (n = annotated diseases, after
//   propagation; for a = root this is the term's base rate). A `NOT` annotation of D on t or an
//   ancestor caps it. Noise: P(t | D) = (1 - noise) P_m + noise * n(t) / N. The background is the
//   marginal P(t) = mean over diseases of P(t | D) (the uniform prior), so the ratios average 1 and a
//   disease that explains t worse than the average disease is argued against.
// - Excluded term e. P(e | D) from D's annotations of e or a descendant only, with explicit
//   frequencies (unknown ones count as `excludedFrequency`); ratio (1 - P(e | D)) / (1 - P(e)),
//   floored at `minAbsence` (published "absent" features are often variable features).
// - Disease terms absent from the query. Each most specific term u of D that no query term matches
//   (neither u or a descendant observed, nor an ancestor of u observed or excluded) was either absent or
//   not reported: ratio (1 - reporting * f_D(u)) / (1 - reporting * F(u)), F(u) the mean frequency of u
//   over diseases. The cap on how much a long annotation list can be argued against is `reporting` < 1.
// - Onset (src/retrieve/onset.ts): the record's onset class against the disease's onset annotations,
//   when the model is given the diseases' course annotations and `onsetWeight` > 0.
//
// Scores are sums of log10 ratios. Probabilities: softmax of temperature * ln LR over the candidates
// (uniform prior), the temperature fitted on the tune diseases (naive Bayes is over-confident).

export interface LikelihoodParameters extends OnsetParameters {
  /** Frequency of annotations that give none (most OMIM rows). */
  defaultFrequency: number;
  /** Share of a patient's features that are unrelated to the disease. */
  noise: number;
  /** Chance that a feature the patient has is reported (scales the absent-feature penalty). */
  reporting: number;
  /** Floor of 1 - P(e | D) for an excluded feature. */
  minAbsence: number;
  /** Frequency assumed, for judging excluded features, when an annotation gives none. */
  excludedFrequency: number;
  /** P_m(t | D) as a fraction of the base rate when D has `NOT` t. */
  notFactor: number;
  /** Calibration: probabilities are softmax(temperature * ln LR). */
  temperature: number;
  /**
   * Calibration when conditioned on one given gene: only its few, similar diseases compete, whose
   * likelihood ratios differ by more than the evidence warrants. Fitted with the causal gene given.
   */
  geneTemperature: number;
}

/**
 * Chosen on the tune half of the dev diseases (hash split, src/retrieve/heldout.ts) under
 * leave-disease-out evaluation; never looked at on the test half. See docs/retrieval.md.
 */
export const LIKELIHOOD_DEFAULTS: Readonly<LikelihoodParameters> = {
  defaultFrequency: 1,
  noise: 0.1,
  reporting: 0.1,
  minAbsence: 0.5,
  excludedFrequency: 0,
  notFactor: 0.01,
  temperature: 0.35,
  geneTemperature: 0.075,
  onsetWeight: 1,
  onsetNeighbour: 0.2,
  onsetNoise: 0.3,
  onsetFromAge: true,
};

const { log10, max } = Math;

/** One term's part in a disease's score. */
export interface TermEvidence {
  /** The query term (observed or excluded) or the disease term missing from the query. */
  term: string;
  label: string;
  kind: 'observed' | 'excluded' | 'not-in-query' | 'onset';
  /** log10 likelihood ratio: > 0 argues for the disease, < 0 against. */
  contribution: number;
  /** The disease annotation that explains it, and through which common ancestor. */
  match?: { term: string; label: string; via?: string; frequency: number };
}

/** Per-query statistics shared by all diseases: what the override and explanation paths need. */
export interface QueryStatistics {
  observed: Int32Array;
  excluded: Int32Array;
  /** Marginal P(t) per observed term, P(e) per excluded term. */
  background: Float64Array;
  backgroundExcluded: Float64Array;
  /** 1 for terms (ontology index) that a query term matches, for the absent-feature part. */
  matched: Uint8Array;
  /** The record's onset and its marginal probability P(S), when onset is evidence. */
  onset?: { observation: OnsetObservation; marginal: number };
}

interface Disease {
  terms: Int32Array;
  freq: Float32Array;
  /** Explicit frequency or NaN. */
  explicit: Float32Array;
  leaves: Int32Array;
  not: Int32Array;
}

export class LikelihoodModel {
  readonly params: LikelihoodParameters;
  private readonly diseases: Disease[];
  private readonly counts: Float64Array;
  private readonly N: number;
  /** Propagated postings: term -> (disease, best frequency under the term, best explicit-or-judged frequency). */
  private readonly postStart: Int32Array;
  private readonly postDisease: Int32Array;
  private readonly postFreq: Float32Array;
  private readonly postExcl: Float32Array;
  private readonly notStart: Int32Array;
  private readonly notDisease: Int32Array;
  /** Leaf postings for the absent-feature part: disease, term, log10 ratio if unmatched. */
  private readonly leafDisease: Int32Array;
  private readonly leafTerm: Int32Array;
  private readonly leafRatio: Float64Array;
  /** Mean over diseases of f_D(u) (propagated). */
  private readonly meanFreq: Float64Array;
  private readonly onset?: OnsetModel;

  /** `courseLists` (each disease's aspect C annotations, DiseaseAnnotation.course) enable onset evidence. */
  constructor(
    readonly ontology: Ontology,
    termLists: readonly (readonly DiseaseTerm[])[],
    corpus: InformationContent,
    params: Partial<LikelihoodParameters> = {},
    courseLists?: readonly (readonly DiseaseTerm[])[],
  ) {
    this.params = { ...LIKELIHOOD_DEFAULTS, ...params };
    if (courseLists && this.params.onsetWeight > 0) this.onset = new OnsetModel(ontology, courseLists, this.params);
    this.counts = corpus.counts;
    this.N = corpus.corpusSize;
    this.diseases = termLists.map((t) => this.compile(t));
    const size = ontology.size;
    const posts: number[][] = Array.from({ length: size }, () => []);
    const nots: number[][] = Array.from({ length: size }, () => []);
    const best = new Float64Array(size).fill(-1);
    const bestX = new Float64Array(size).fill(-1);
    this.meanFreq = new Float64Array(size);
    this.diseases.forEach((d, di) => {
      const touched: number[] = [];
      for (let k = 0; k < d.terms.length; k++) {
        const fx = this.judged(d.explicit[k]);
        for (const a of ontology.ancestorIndices(d.terms[k])) {
          if (best[a] < 0) touched.push(a);
          if (best[a] < d.freq[k]) best[a] = d.freq[k];
          if (bestX[a] < fx) bestX[a] = fx;
        }
      }
      for (const a of touched) {
        posts[a].push(di, best[a], bestX[a]);
        this.meanFreq[a] += best[a];
        best[a] = -1;
        bestX[a] = -1;
      }
      for (const n of d.not) nots[n].push(di);
    });
    for (let i = 0; i < size; i++) this.meanFreq[i] /= Math.max(1, this.diseases.length);
    this.postStart = new Int32Array(size + 1);
    for (let i = 0; i < size; i++) this.postStart[i + 1] = this.postStart[i] + posts[i].length / 3;
    const total = this.postStart[size];
    this.postDisease = new Int32Array(total);
    this.postFreq = new Float32Array(total);
    this.postExcl = new Float32Array(total);
    for (let i = 0; i < size; i++) {
      const p = posts[i];
      for (let j = 0, k = this.postStart[i]; j < p.length; j += 3, k++) {
        this.postDisease[k] = p[j];
        this.postFreq[k] = p[j + 1];
        this.postExcl[k] = p[j + 2];
      }
    }
    this.notStart = new Int32Array(size + 1);
    for (let i = 0; i < size; i++) this.notStart[i + 1] = this.notStart[i] + nots[i].length;
    this.notDisease = Int32Array.from(nots.flat());
    const leafD: number[] = [];
    const leafT: number[] = [];
    const leafR: number[] = [];
    this.diseases.forEach((d, di) => {
      for (let k = 0; k < d.leaves.length; k++) {
        leafD.push(di);
        leafT.push(d.terms[d.leaves[k]]);
        leafR.push(this.absentRatio(d.freq[d.leaves[k]], d.terms[d.leaves[k]]));
      }
    });
    this.leafDisease = Int32Array.from(leafD);
    this.leafTerm = Int32Array.from(leafT);
    this.leafRatio = Float64Array.from(leafR);
  }

  get size(): number {
    return this.diseases.length;
  }

  /** Frequency used to judge an excluded feature: the explicit one, else the parameter. */
  private judged(explicit: number): number {
    return Number.isNaN(explicit) ? this.params.excludedFrequency : explicit;
  }

  private absentRatio(f: number, u: number): number {
    const r = this.params.reporting;
    return log10((1 - r * f) / (1 - r * this.meanFreq[u]));
  }

  /** A disease's annotation list as typed arrays, with its most specific terms marked. */
  private compile(list: readonly DiseaseTerm[]): Disease {
    const freq = new Map<number, number>();
    const explicit = new Map<number, number>();
    const not = new Set<number>();
    for (const t of list) {
      const i = this.ontology.indexOf(t.id);
      if (i < 0) continue;
      if (t.excluded) {
        not.add(i);
        continue;
      }
      const f = t.frequency ?? this.params.defaultFrequency;
      freq.set(i, max(freq.get(i) ?? 0, f));
      if (t.frequency !== undefined) explicit.set(i, max(explicit.get(i) ?? 0, t.frequency));
    }
    const terms = Int32Array.from(freq.keys());
    // A term is a leaf when no other term of the disease lies below it.
    const inner = new Set<number>();
    for (const u of terms) for (const a of this.ontology.ancestorIndices(u)) if (a !== u) inner.add(a);
    const leaves: number[] = [];
    terms.forEach((u, k) => !inner.has(u) && leaves.push(k));
    return {
      terms,
      freq: Float32Array.from(terms, (u) => freq.get(u)!),
      explicit: Float32Array.from(terms, (u) => explicit.get(u) ?? NaN),
      leaves: Int32Array.from(leaves),
      not: Int32Array.from(not),
    };
  }

  /** Ontology indices of a profile's known terms (alt ids resolved); observed wins over excluded. */
  termIndices(profile: PatientProfile): { observed: Int32Array; excluded: Int32Array } {
    const resolve = (ids: readonly string[]): Set<number> => {
      const out = new Set<number>();
      for (const id of ids) {
        const r = this.ontology.resolve(id);
        if (r.status === 'unknown' || r.status === 'obsolete') continue;
        const i = this.ontology.indexOf(r.id);
        if (i >= 0) out.add(i);
      }
      return out;
    };
    const observed = resolve(profile.observed);
    const excluded = [...resolve(profile.excluded)].filter((e) => !observed.has(e));
    return { observed: Int32Array.from(observed), excluded: Int32Array.from(excluded) };
  }

  private baseRate(t: number): number {
    return max(this.counts[t], 1) / this.N;
  }

  /** log10 LR of every disease into a new array, and the query statistics the other paths reuse. */
  scoreAll(profile: PatientProfile): { scores: Float64Array; stats: QueryStatistics } {
    const { observed, excluded } = this.termIndices(profile);
    if (observed.length + excluded.length === 0) throw new Error(`query ${profile.id}: empty profile (no known HPO term)`);
    const n = this.size;
    const total = new Float64Array(n);
    const p = new Float64Array(n);
    const background = new Float64Array(observed.length);
    const backgroundExcluded = new Float64Array(excluded.length);
    const { noise, notFactor, minAbsence } = this.params;
    observed.forEach((t, qi) => {
      const base = this.baseRate(t);
      this.modelProbability(t, p);
      let sum = 0;
      for (let d = 0; d < n; d++) {
        p[d] = (1 - noise) * p[d] + noise * base;
      }
      for (const a of this.ontology.ancestorIndices(t)) {
        for (let k = this.notStart[a], end = this.notStart[a + 1]; k < end; k++) p[this.notDisease[k]] = notFactor * base;
      }
      for (let d = 0; d < n; d++) sum += p[d];
      const bg = sum / n;
      background[qi] = bg;
      for (let d = 0; d < n; d++) total[d] += log10(p[d] / bg);
    });
    excluded.forEach((e, qi) => {
      const base = this.baseRate(e);
      p.fill(0);
      for (let k = this.postStart[e], end = this.postStart[e + 1]; k < end; k++) p[this.postDisease[k]] = this.postExcl[k];
      let sum = 0;
      for (let d = 0; d < n; d++) {
        p[d] = (1 - noise) * p[d] + noise * base;
        sum += p[d];
      }
      const bg = sum / n;
      backgroundExcluded[qi] = bg;
      if (bg >= 0.999) return;
      for (let d = 0; d < n; d++) total[d] += log10(max(1 - p[d], minAbsence) / (1 - bg));
    });
    const matched = this.matchedTerms(observed, excluded);
    const { leafDisease, leafTerm, leafRatio } = this;
    for (let k = 0; k < leafTerm.length; k++) if (!matched[leafTerm[k]]) total[leafDisease[k]] += leafRatio[k];
    const observation = this.onset?.observe(profile.onset, profile.age);
    let onset: QueryStatistics['onset'];
    if (observation) {
      const { p: po, marginal } = this.onset!.probabilities(observation);
      const w = this.params.onsetWeight;
      for (let d = 0; d < n; d++) total[d] += w * log10(po[d] / marginal);
      onset = { observation, marginal };
    }
    return { scores: total, stats: { observed, excluded, background, backgroundExcluded, matched, ...(onset ? { onset } : {}) } };
  }

  /** P_m(t | D) for every disease (before noise), from the propagated postings of t's ancestors. */
  private modelProbability(t: number, out: Float64Array): void {
    out.fill(0);
    const { postStart, postDisease, postFreq, counts } = this;
    const ct = max(counts[t], 1);
    for (const a of this.ontology.ancestorIndices(t)) {
      const specificity = ct / max(counts[a], 1);
      for (let k = postStart[a], end = postStart[a + 1]; k < end; k++) {
        const v = postFreq[k] * specificity;
        if (v > out[postDisease[k]]) out[postDisease[k]] = v;
      }
    }
  }

  /** Terms matched by the query: ancestors of observed terms, and descendants of observed or excluded terms. */
  private matchedTerms(observed: Int32Array, excluded: Int32Array): Uint8Array {
    const m = new Uint8Array(this.ontology.size);
    for (const t of observed) for (const a of this.ontology.ancestorIndices(t)) m[a] = 1;
    for (const t of [...observed, ...excluded]) for (const d of this.ontology.descendantIndices(t)) m[d] = 1;
    return m;
  }

  /**
   * One disease scored directly from an annotation list (the same value scoreAll gives when the list
   * is the disease's own), term by term. Used for explanations and for leave-publication-out
   * evaluation, where a disease's annotations from the query's papers are dropped. `course`: the
   * disease's course annotations for the onset evidence (a disease index: its own; default: those of
   * `terms` when it is an index, none otherwise).
   */
  scoreDisease(terms: readonly DiseaseTerm[] | number, stats: QueryStatistics, course?: readonly DiseaseTerm[] | number): { score: number; evidence: TermEvidence[]; probabilities: Float64Array } {
    const d = typeof terms === 'number' ? this.diseases[terms] : this.compile(terms);
    const { noise, notFactor, minAbsence } = this.params;
    const evidence: TermEvidence[] = [];
    // Observed terms, excluded terms, then the onset: what replaceDisease corrects the marginals by.
    const probabilities = new Float64Array(stats.observed.length + stats.excluded.length + (stats.onset ? 1 : 0));
    let score = 0;
    stats.observed.forEach((t, qi) => {
      const base = this.baseRate(t);
      const m = this.bestMatch(t, d);
      let pr = (1 - noise) * m.p + noise * base;
      const denied = d.not.some((n) => this.isAncestor(n, t));
      if (denied) pr = notFactor * base;
      probabilities[qi] = pr;
      const c = log10(pr / stats.background[qi]);
      score += c;
      evidence.push({
        ...this.ref(t, 'observed', c),
        ...(denied ? { match: { ...this.term(d.not.find((n) => this.isAncestor(n, t))!), frequency: 0 } } : m.u >= 0 ? { match: { ...this.term(d.terms[m.u]), ...(m.a !== t ? { via: this.ontology.idAt(m.a) } : {}), frequency: d.freq[m.u] } } : {}),
      });
    });
    stats.excluded.forEach((e, qi) => {
      const base = this.baseRate(e);
      let pe = 0;
      let at = -1;
      for (let k = 0; k < d.terms.length; k++) {
        const fx = this.judged(d.explicit[k]);
        if (this.isAncestor(e, d.terms[k]) && fx > pe) {
          pe = fx;
          at = k;
        }
      }
      pe = (1 - noise) * pe + noise * base;
      probabilities[stats.observed.length + qi] = pe;
      const bg = stats.backgroundExcluded[qi];
      const c = bg >= 0.999 ? 0 : log10(max(1 - pe, minAbsence) / (1 - bg));
      score += c;
      evidence.push({ ...this.ref(e, 'excluded', c), ...(at >= 0 ? { match: { ...this.term(d.terms[at]), frequency: this.judged(d.explicit[at]) } } : {}) });
    });
    for (const k of d.leaves) {
      const u = d.terms[k];
      if (stats.matched[u]) continue;
      const c = this.absentRatio(d.freq[k], u);
      score += c;
      evidence.push({ ...this.ref(u, 'not-in-query', c), match: { ...this.term(u), frequency: d.freq[k] } });
    }
    if (stats.onset && this.onset) {
      const source = course ?? (typeof terms === 'number' ? terms : []);
      const p = this.onset.probability(stats.onset.observation, source);
      probabilities[probabilities.length - 1] = p;
      const c = this.params.onsetWeight * log10(p / stats.onset.marginal);
      score += c;
      const annotated = this.onset.annotation(source);
      const obs = stats.onset.observation;
      evidence.push({
        term: obs.term,
        label: (obs.kind === 'age' ? 'onset no later than: ' : '') + (this.ontology.label(obs.term) ?? obs.term),
        kind: 'onset',
        contribution: Math.round(c * 1e4) / 1e4,
        ...(annotated ? { match: { ...this.term(this.ontology.indexOf(annotated)), frequency: Math.round(p * 1e4) / 1e4 } } : {}),
      });
    }
    return { score, evidence, probabilities };
  }

  /** The best partial match of t among a disease's terms: probability, term (index in d.terms), ancestor. */
  private bestMatch(t: number, d: Disease): { p: number; u: number; a: number } {
    const anc = new Set(this.ontology.ancestorIndices(t));
    const ct = max(this.counts[t], 1);
    let best = { p: 0, u: -1, a: -1 };
    for (let k = 0; k < d.terms.length; k++) {
      for (const a of this.ontology.ancestorIndices(d.terms[k])) {
        if (!anc.has(a)) continue;
        const v = d.freq[k] * (ct / max(this.counts[a], 1));
        if (v > best.p || (v === best.p && best.u >= 0 && this.counts[a] < this.counts[best.a])) best = { p: v, u: k, a };
      }
    }
    return best;
  }

  private isAncestor(a: number, t: number): boolean {
    return this.ontology.isAIndex(t, a);
  }


  private term(i: number): { term: string; label: string } {
    const id = this.ontology.idAt(i);
    return { term: id, label: this.ontology.label(id) ?? id };
  }

  private ref(i: number, kind: TermEvidence['kind'], contribution: number): TermEvidence {
    return { ...this.term(i), kind, contribution: Math.round(contribution * 1e4) / 1e4 };
  }

  /**
   * Score of a disease whose annotations were replaced (leave-publication-out), with the background
   * of every query term corrected for the change: returns the new score and the shift every other
   * disease's score takes (the marginal P(t) moved by (P_new - P_old) / N).
   */
  replaceDisease(index: number, terms: readonly DiseaseTerm[], stats: QueryStatistics, course?: readonly DiseaseTerm[]): { score: number; shift: number } {
    const old = this.scoreDisease(index, stats);
    const n = this.size;
    const bg = Float64Array.from(stats.background);
    const bgx = Float64Array.from(stats.backgroundExcluded);
    const probe = this.scoreDisease(terms, stats, course ?? index);
    let shift = 0;
    for (let qi = 0; qi < bg.length; qi++) {
      bg[qi] = stats.background[qi] + (probe.probabilities[qi] - old.probabilities[qi]) / n;
      shift += log10(stats.background[qi] / bg[qi]);
    }
    for (let qi = 0; qi < bgx.length; qi++) {
      const j = bg.length + qi;
      bgx[qi] = stats.backgroundExcluded[qi] + (probe.probabilities[j] - old.probabilities[j]) / n;
      const before = stats.backgroundExcluded[qi];
      if (before < 0.999 && bgx[qi] < 0.999) shift += log10((1 - before) / (1 - bgx[qi]));
    }
    let onset = stats.onset;
    if (onset) {
      const j = bg.length + bgx.length;
      const marginal = onset.marginal + (probe.probabilities[j] - old.probabilities[j]) / n;
      shift += this.params.onsetWeight * log10(onset.marginal / marginal);
      onset = { ...onset, marginal };
    }
    const replaced = this.scoreDisease(terms, { ...stats, background: bg, backgroundExcluded: bgx, ...(onset ? { onset } : {}) }, course ?? index);
    return { score: replaced.score, shift };
  }
}

/**
 * The temperature of a ranking conditioned on `genes` given genes: the gene temperature for one gene
 * (what it was fitted for); with none, or several (a VCF's candidate genes, whose diseases are as
 * varied as all diseases), the general one.
 */
export function conditionedTemperature(params: Pick<LikelihoodParameters, 'temperature' | 'geneTemperature'>, genes: number): number {
  return genes === 1 ? params.geneTemperature : params.temperature;
}

/** Softmax of temperature * ln(10) * log10 LR over the given scores (uniform prior over them). */
export function posterior(scores: Float64Array, temperature: number, candidates?: Uint8Array): Float64Array {
  const out = new Float64Array(scores.length);
  let top = -Infinity;
  for (let i = 0; i < scores.length; i++) if ((!candidates || candidates[i]) && scores[i] > top) top = scores[i];
  if (top === -Infinity) return out;
  const k = temperature * Math.LN10;
  let sum = 0;
  for (let i = 0; i < scores.length; i++) {
    if (candidates && !candidates[i]) continue;
    out[i] = Math.exp(k * (scores[i] - top));
    sum += out[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

