import type { Ontology } from '../ontology/index.js';
import type { DiseaseTerm } from './hpoa.js';

// Age of onset as evidence (bayes-lr). The HPO's onset terms (under HP:0003674 Onset) are read as
// seven ordered classes. A disease's onset annotations (phenotype.hpoa aspect C rows and the onset
// column of its phenotype rows) give a distribution over the classes: each annotation spreads evenly
// over the classes it covers ("Pediatric onset" = infantile, childhood, juvenile), the annotations are
// averaged, a share `neighbour` moves to the adjacent classes (congenital, neonatal and infantile
// onsets are reported loosely), and a share `noise` follows the average annotated disease. A disease
// without onset annotations follows the average annotated disease. The patient's onset is a set of
// classes S: those of the disease onset or the earliest feature onset; with only an age at the last
// encounter, the classes up to that age (an affected child cannot have an adult-onset disease). The
// evidence is (P(S | D) / P(S))^weight, P(S) the mean over diseases (the marginal, as for terms).

export const ONSET_ROOT = 'HP:0003674';

/** The onset classes in order, each with the HPO term that names it. */
export const ONSET_CLASSES: readonly { name: string; term: string }[] = [
  { name: 'antenatal', term: 'HP:0030674' },
  { name: 'congenital', term: 'HP:0003577' },
  { name: 'neonatal', term: 'HP:0003623' },
  { name: 'infantile', term: 'HP:0003593' },
  { name: 'childhood', term: 'HP:0011463' },
  { name: 'juvenile', term: 'HP:0003621' },
  { name: 'adult', term: 'HP:0003581' },
];
const ADULT = ONSET_CLASSES.length - 1;
/** Onsets of adult life that the HPO does not file under Adult onset (puerperal, perimenopausal, postmenopausal). */
const ALSO_ADULT = ['HP:4000040', 'HP:6000314', 'HP:6000315'];

/** The onset classes an HPO term covers: its own (or an ancestor's), or all below a broad one; [] if not an onset term. */
export function onsetClasses(ontology: Ontology, term: string): number[] {
  const r = ontology.resolve(term);
  if (r.status === 'unknown' || r.status === 'obsolete') return [];
  const id = r.id;
  if (!ontology.isA(id, ONSET_ROOT)) return [];
  if (ALSO_ADULT.some((a) => ontology.isA(id, a))) return [ADULT];
  const within = ONSET_CLASSES.findIndex((c) => ontology.isA(id, c.term));
  if (within >= 0) return [within];
  return ONSET_CLASSES.flatMap((c, i) => (ontology.isA(c.term, id) ? [i] : []));
}

/** The onset class of an age in years (negative: before birth), by the HPO definitions of the onset terms. */
export function onsetClassOfAge(years: number): number {
  if (years < 0) return 0;
  if (years === 0) return 1;
  if (years < 28 / 365.25) return 2;
  if (years < 1) return 3;
  if (years < 5) return 4;
  if (years < 16) return 5;
  return ADULT;
}

/** The HPO onset term of an age in years. */
export function onsetTermForAge(years: number): string {
  return ONSET_CLASSES[onsetClassOfAge(years)].term;
}

export interface OnsetParameters {
  /** Exponent of the onset likelihood ratio; 0 leaves onset out. */
  onsetWeight: number;
  /** Share of a disease's onset distribution moved to the adjacent classes. */
  onsetNeighbour: number;
  /** Share of a disease's onset distribution that follows the average annotated disease. */
  onsetNoise: number;
  /** Use the age at the last encounter as an upper bound when no onset is given. */
  onsetFromAge: boolean;
}

/** What a patient's record says about onset: the classes it may be in and the term or age it came from. */
export interface OnsetObservation {
  classes: Uint8Array;
  /** The HPO onset term the record gives, or the class of its age at the last encounter (`by`). */
  term: string;
  kind: 'onset' | 'age';
}

const K = ONSET_CLASSES.length;

export class OnsetModel {
  /** P(class | disease), disease-major, K per disease. */
  private readonly table: Float64Array;
  private readonly average: Float64Array;
  private readonly annotated: Uint8Array;
  /** The most specific onset term each disease is annotated with (for explanations), or ''. */
  private readonly mainTerm: string[];

  constructor(
    readonly ontology: Ontology,
    courseLists: readonly (readonly DiseaseTerm[])[],
    readonly params: OnsetParameters,
  ) {
    const n = courseLists.length;
    const raw = courseLists.map((list) => this.rawDistribution(list));
    this.annotated = Uint8Array.from(raw, (r) => (r ? 1 : 0));
    this.mainTerm = courseLists.map((list) => this.firstOnsetTerm(list));
    this.average = new Float64Array(K);
    let count = 0;
    for (const r of raw) {
      if (!r) continue;
      count++;
      for (let b = 0; b < K; b++) this.average[b] += r[b];
    }
    for (let b = 0; b < K; b++) this.average[b] = count ? this.average[b] / count : 1 / K;
    this.table = new Float64Array(n * K);
    raw.forEach((r, d) => this.table.set(this.distribution(r), d * K));
  }

  get size(): number {
    return this.annotated.length;
  }

  /** The record's onset classes, or undefined when it says nothing usable (or onset is switched off). */
  observe(onset: string | undefined, age: number | undefined): OnsetObservation | undefined {
    if (this.params.onsetWeight <= 0) return undefined;
    const classes = new Uint8Array(K);
    if (onset) {
      const cs = onsetClasses(this.ontology, onset);
      if (cs.length && cs.length < K) {
        for (const c of cs) classes[c] = 1;
        return { classes, term: onset, kind: 'onset' };
      }
    }
    if (age === undefined || !this.params.onsetFromAge || !Number.isFinite(age)) return undefined;
    const last = onsetClassOfAge(age);
    if (last === ADULT) return undefined; // an adult may have had any onset: no evidence
    for (let c = 0; c <= last; c++) classes[c] = 1;
    return { classes, term: ONSET_CLASSES[last].term, kind: 'age' };
  }

  /** P(S | D) for every disease, and the marginal P(S). */
  probabilities(obs: OnsetObservation): { p: Float64Array; marginal: number } {
    const n = this.size;
    const p = new Float64Array(n);
    let sum = 0;
    for (let d = 0; d < n; d++) {
      let s = 0;
      for (let b = 0; b < K; b++) if (obs.classes[b]) s += this.table[d * K + b];
      p[d] = s;
      sum += s;
    }
    return { p, marginal: n ? sum / n : 1 };
  }

  /** P(S | D) of one disease, from its own annotations (index) or replaced ones (list). */
  probability(obs: OnsetObservation, disease: number | readonly DiseaseTerm[]): number {
    const dist = typeof disease === 'number' ? this.table.subarray(disease * K, disease * K + K) : this.distribution(this.rawDistribution(disease));
    let s = 0;
    for (let b = 0; b < K; b++) if (obs.classes[b]) s += dist[b];
    return s;
  }

  /** The disease's onset annotation to show beside the evidence. */
  annotation(disease: number | readonly DiseaseTerm[]): string | undefined {
    const t = typeof disease === 'number' ? this.mainTerm[disease] : this.firstOnsetTerm(disease);
    return t || undefined;
  }

  /** Average over a disease's onset annotations of an even spread over the classes each covers; undefined if none. */
  private rawDistribution(list: readonly DiseaseTerm[]): Float64Array | undefined {
    const seen = new Set<string>();
    const out = new Float64Array(K);
    for (const t of list) {
      if (t.excluded || seen.has(t.id)) continue;
      seen.add(t.id);
      const cs = onsetClasses(this.ontology, t.id);
      if (!cs.length) continue;
      for (const c of cs) out[c] += 1 / cs.length;
    }
    let total = 0;
    for (const x of out) total += x;
    if (total === 0) return undefined;
    for (let b = 0; b < K; b++) out[b] /= total;
    return out;
  }

  /** Smoothed to the adjacent classes, mixed with the average annotated disease; the average itself when unannotated. */
  private distribution(raw: Float64Array | undefined): Float64Array {
    if (!raw) return Float64Array.from(this.average);
    const { onsetNeighbour: s, onsetNoise: noise } = this.params;
    const out = new Float64Array(K);
    for (let b = 0; b < K; b++) {
      const sides = (b > 0 ? 1 : 0) + (b < K - 1 ? 1 : 0);
      out[b] += raw[b] * (1 - s);
      if (b > 0) out[b - 1] += (raw[b] * s) / sides;
      if (b < K - 1) out[b + 1] += (raw[b] * s) / sides;
    }
    for (let b = 0; b < K; b++) out[b] = (1 - noise) * out[b] + noise * this.average[b];
    return out;
  }

  private firstOnsetTerm(list: readonly DiseaseTerm[]): string {
    const onsets = list.filter((t) => !t.excluded && onsetClasses(this.ontology, t.id).length > 0).map((t) => t.id);
    // The most specific: one no other annotated onset term lies below.
    return onsets.find((t) => !onsets.some((u) => u !== t && this.ontology.isA(u, t))) ?? '';
  }
}
