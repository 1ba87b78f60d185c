import type { Ontology } from '../ontology/index.js';
import type { InformationContent } from './ic.js';
import { parseMethod, type Method } from './method.js';
import type { PatientProfile } from './profile.js';

// The precomputed search structure. Everything per patient lives in flat typed arrays (CSR layout:
// `xStart[p]..xStart[p+1]` indexes into `x`), so scoring one query against every patient allocates
// nothing. Term-to-term similarity needs IC(MICA(q, t)); for a query term q that is one "row" over the
// vocabulary (the distinct terms patients use), computed once and cached across queries.

/** Contradiction weight: a contradiction of total IC c multiplies the score by exp(-c / NEGATIVE_SCALE). */
export const NEGATIVE_SCALE = 10;
/**
 * Largest relative boost from shared excluded features (`+excl`): a candidate excluded for exactly
 * the query's features scores double. A round value; 2 did slightly better on a 10% sample, 0.25-0.5 worse.
 */
export const ASSESSED_WEIGHT = 1;

/** A query compiled against an index: term indices, MICA rows, marks of its closures. */
export interface PreparedQuery {
  profile: PatientProfile;
  /** Ontology indices of observed terms. */
  terms: Int32Array;
  termIc: Float64Array;
  sumIc: number;
  /** terms.length x vocabulary IC(MICA) matrix, row-major. */
  mica: Float32Array;
  closure: Int32Array;
  closureNorm: number;
  excluded: Int32Array;
  excludedClosure: Int32Array;
  excludedClosureNorm: number;
}

export interface Hit {
  /** Index of the patient in the PatientIndex. */
  index: number;
  id: string;
  score: number;
}

export interface TermRef {
  id: string;
  label: string;
}

export interface MatchedPair {
  query: TermRef;
  match: TermRef;
  /** Most informative common ancestor of the pair. */
  mica: TermRef & { ic: number };
  similarity: number;
}

function csr(lists: ArrayLike<number>[]): { start: Int32Array; data: Int32Array } {
  const start = new Int32Array(lists.length + 1);
  for (let i = 0; i < lists.length; i++) start[i + 1] = start[i] + lists[i].length;
  const data = new Int32Array(start[lists.length]);
  for (let i = 0; i < lists.length; i++) data.set(lists[i], start[i]);
  return { start, data };
}

/** Union of the ancestor sets of the given terms, sorted. */
export function closureOf(ontology: Ontology, terms: ArrayLike<number>): Int32Array {
  const seen = new Set<number>();
  for (let i = 0; i < terms.length; i++) for (const a of ontology.ancestorIndices(terms[i])) seen.add(a);
  return Int32Array.from(seen).sort();
}

export class PatientIndex {
  readonly profiles: readonly PatientProfile[];
  readonly size: number;
  private readonly ic: Float64Array;
  /** vocabulary index -> ontology index, and back (-1 when not in the vocabulary). */
  private readonly vocab: Int32Array;
  private readonly vocabOf: Int32Array;
  private readonly vocabAncStart: Int32Array;
  private readonly vocabAnc: Int32Array;
  private readonly vocabIc: Float64Array;
  /** Observed terms per patient, as vocabulary indices. */
  private readonly termStart: Int32Array;
  private readonly terms: Int32Array;
  private readonly sumIc: Float64Array;
  /** Ancestor-closed observed terms per patient, as ontology indices. */
  private readonly closureStart: Int32Array;
  private readonly closure: Int32Array;
  /** Sum of IC^2 over the closure: the squared norm of the IC-weighted propagated vector. */
  private readonly closureNorm: Float64Array;
  private readonly excludedStart: Int32Array;
  private readonly excluded: Int32Array;
  /** Ancestor closure of the excluded terms and its squared IC norm: what a patient was assessed for. */
  private readonly exclClosureStart: Int32Array;
  private readonly exclClosure: Int32Array;
  private readonly exclClosureNorm: Float64Array;
  private readonly markExclClosure: Int32Array;
  private readonly rowCache = new Map<number, Float32Array>();
  private readonly maxCachedRows: number;
  private readonly mark: Int32Array;
  private readonly markExcluded: Int32Array;
  private stamp = 0;
  private readonly byId = new Map<string, number[]>();
  private readonly byPublication = new Map<string, number[]>();

  constructor(
    readonly ontology: Ontology,
    readonly informationContent: InformationContent,
    profiles: readonly PatientProfile[],
    options: { maxCachedRows?: number } = {},
  ) {
    this.profiles = profiles;
    this.size = profiles.length;
    this.ic = informationContent.values;
    this.mark = new Int32Array(ontology.size).fill(-1);
    this.markExcluded = new Int32Array(ontology.size).fill(-1);
    this.markExclClosure = new Int32Array(ontology.size).fill(-1);
    this.vocabOf = new Int32Array(ontology.size).fill(-1);
    const vocab: number[] = [];
    const termLists: number[][] = [];
    const closures: Int32Array[] = [];
    const excludedLists: number[][] = [];
    for (const p of profiles) {
      const idx = this.indices(p.observed);
      for (const i of idx) if (this.vocabOf[i] < 0) { this.vocabOf[i] = vocab.length; vocab.push(i); }
      termLists.push(idx.map((i) => this.vocabOf[i]));
      closures.push(closureOf(ontology, idx));
      excludedLists.push(this.indices(p.excluded));
    }
    this.vocab = Int32Array.from(vocab);
    this.vocabIc = Float64Array.from(vocab, (i) => this.ic[i]);
    ({ start: this.vocabAncStart, data: this.vocabAnc } = csr(vocab.map((i) => ontology.ancestorIndices(i))));
    ({ start: this.termStart, data: this.terms } = csr(termLists));
    ({ start: this.closureStart, data: this.closure } = csr(closures));
    ({ start: this.excludedStart, data: this.excluded } = csr(excludedLists));
    const exclClosures = excludedLists.map((l) => closureOf(ontology, l));
    ({ start: this.exclClosureStart, data: this.exclClosure } = csr(exclClosures));
    this.exclClosureNorm = Float64Array.from(exclClosures, (c) => c.reduce((s, a) => s + this.ic[a] * this.ic[a], 0));
    this.sumIc = Float64Array.from(termLists, (l) => l.reduce((s, v) => s + this.vocabIc[v], 0));
    this.closureNorm = Float64Array.from(closures, (c) => c.reduce((s, a) => s + this.ic[a] * this.ic[a], 0));
    this.maxCachedRows = options.maxCachedRows ?? Math.max(4096, Math.ceil(vocab.length * 1.2));
    profiles.forEach((p, i) => {
      push(this.byId, p.id, i);
      for (const pub of p.publications) push(this.byPublication, pub, i);
    });
  }

  /** Drops cached MICA rows (for cold-cache timings). */
  clearCache(): void {
    this.rowCache.clear();
  }

  get vocabularySize(): number {
    return this.vocab.length;
  }

  private indices(ids: readonly string[]): number[] {
    const out = new Set<number>();
    for (const id of ids) {
      const i = this.ontology.indexOf(id);
      if (i >= 0) out.add(i);
    }
    return [...out];
  }

  /** IC(MICA(q, v)) for every vocabulary term v; cached per query term. */
  micaRow(q: number): Float32Array {
    const cached = this.rowCache.get(q);
    if (cached) return cached;
    const st = ++this.stamp;
    for (const a of this.ontology.ancestorIndices(q)) this.mark[a] = st;
    const row = new Float32Array(this.vocab.length);
    const { vocabAncStart: start, vocabAnc: anc, mark, ic } = this;
    for (let v = 0; v < row.length; v++) {
      let best = 0;
      for (let k = start[v], end = start[v + 1]; k < end; k++) {
        const a = anc[k];
        if (mark[a] === st && ic[a] > best) best = ic[a];
      }
      row[v] = best;
    }
    // A plain size cap: once full, the cache is cleared (rows are cheap to recompute).
    if (this.rowCache.size >= this.maxCachedRows) this.rowCache.clear();
    this.rowCache.set(q, row);
    return row;
  }

  /** Compiles a profile for scoring. Throws when it has no usable observed term. */
  prepare(profile: PatientProfile): PreparedQuery {
    const terms = Int32Array.from(this.indices(profile.observed));
    if (terms.length === 0) throw new Error(`query ${profile.id}: empty profile (no known observed HPO term)`);
    const V = this.vocab.length;
    const mica = new Float32Array(terms.length * V);
    terms.forEach((t, i) => mica.set(this.micaRow(t), i * V));
    const termIc = Float64Array.from(terms, (t) => this.ic[t]);
    const closure = closureOf(this.ontology, terms);
    const excluded = Int32Array.from(this.indices(profile.excluded));
    const excludedClosure = closureOf(this.ontology, excluded);
    return {
      profile,
      terms,
      termIc,
      sumIc: termIc.reduce((s, x) => s + x, 0),
      mica,
      closure,
      closureNorm: closure.reduce((s, a) => s + this.ic[a] * this.ic[a], 0),
      excluded,
      excludedClosure,
      excludedClosureNorm: excludedClosure.reduce((s, a) => s + this.ic[a] * this.ic[a], 0),
    };
  }

  /** Scores every indexed patient against the query into `out` (length = size). */
  scoreAll(q: PreparedQuery, method: Method | string, out: Float64Array = new Float64Array(this.size)): Float64Array {
    const m = typeof method === 'string' ? parseMethod(method) : method;
    if (m.measure === 'jaccard' || m.measure === 'cosine' || m.negative || m.assessed) this.markQuery(q);
    if (m.measure === 'jaccard' || m.measure === 'cosine') this.scoreSets(q, m.measure === 'cosine', out);
    else this.scoreTerms(q, m.measure === 'resnik' ? 0 : m.measure === 'lin' ? 1 : 2, m.aggregation ?? 'bma', out);
    if (m.negative) this.applyNegative(q, out);
    if (m.assessed) this.applyAssessed(q, out);
    return out;
  }

  private markQuery(q: PreparedQuery): void {
    const st = ++this.stamp;
    for (const a of q.closure) this.mark[a] = st;
    for (const e of q.excluded) this.markExcluded[e] = st;
    for (const e of q.excludedClosure) this.markExclClosure[e] = st;
  }

  /**
   * Excluded features as shared context: patients examined for the same absent features (the
   * IC-weighted cosine of the excluded terms' ancestor closures) get the score raised by up to
   * ASSESSED_WEIGHT. Query marks are the current stamp.
   */
  private applyAssessed(q: PreparedQuery, out: Float64Array): void {
    if (q.excludedClosureNorm === 0) return;
    const st = this.stamp;
    const { exclClosureStart: start, exclClosure: closure, markExclClosure: mark, ic, exclClosureNorm: norm } = this;
    for (let p = 0; p < this.size; p++) {
      if (norm[p] === 0) continue;
      let dot = 0;
      for (let k = start[p], end = start[p + 1]; k < end; k++) if (mark[closure[k]] === st) dot += ic[closure[k]] * ic[closure[k]];
      out[p] *= 1 + (ASSESSED_WEIGHT * dot) / Math.sqrt(q.excludedClosureNorm * norm[p]);
    }
  }

  /** Jaccard or cosine on ancestor-closed sets; the query closure is marked with the current stamp. */
  private scoreSets(q: PreparedQuery, cosine: boolean, out: Float64Array): void {
    const { closureStart: start, closure, mark, ic, closureNorm } = this;
    const st = this.stamp;
    const qSize = q.closure.length;
    for (let p = 0; p < this.size; p++) {
      let inter = 0;
      let dot = 0;
      for (let k = start[p], end = start[p + 1]; k < end; k++) {
        const a = closure[k];
        if (mark[a] === st) {
          inter++;
          dot += ic[a] * ic[a];
        }
      }
      const pSize = start[p + 1] - start[p];
      if (cosine) out[p] = dot > 0 ? dot / Math.sqrt(q.closureNorm * closureNorm[p]) : 0;
      else out[p] = pSize > 0 ? inter / (qSize + pSize - inter) : 0;
    }
  }

  /** Best-match aggregation of a term measure (0 Resnik, 1 Lin, 2 Jiang-Conrath). */
  private scoreTerms(q: PreparedQuery, measure: number, aggregation: string, out: Float64Array): void {
    const { termStart: start, terms, vocabIc, sumIc } = this;
    const nq = q.terms.length;
    const V = this.vocab.length;
    const bestQ = new Float64Array(nq);
    const { mica, termIc: qIc } = q;
    const agg = aggregation === 'bma' ? 0 : aggregation === 'bmwa' ? 1 : 2;
    for (let p = 0; p < this.size; p++) {
      const begin = start[p];
      const end = start[p + 1];
      if (begin === end) {
        out[p] = 0;
        continue;
      }
      bestQ.fill(0);
      let sumP = 0;
      let wSumP = 0;
      for (let k = begin; k < end; k++) {
        const v = terms[k];
        const icP = vocabIc[v];
        let bestP = 0;
        for (let i = 0; i < nq; i++) {
          const s = termSimilarity(measure, mica[i * V + v], qIc[i], icP);
          if (s > bestP) bestP = s;
          if (s > bestQ[i]) bestQ[i] = s;
        }
        sumP += bestP;
        wSumP += bestP * icP;
      }
      let sumQ = 0;
      let wSumQ = 0;
      for (let i = 0; i < nq; i++) {
        sumQ += bestQ[i];
        wSumQ += bestQ[i] * qIc[i];
      }
      const np = end - begin;
      if (agg === 0) out[p] = (sumQ / nq + sumP / np) / 2;
      else if (agg === 1) out[p] = (q.sumIc > 0 ? wSumQ / q.sumIc : 0) / 2 + (sumIc[p] > 0 ? wSumP / sumIc[p] : 0) / 2;
      else out[p] = Math.max(sumQ / nq, sumP / np);
    }
  }

  /**
   * Excluded features as negative evidence: a query-excluded term that the patient has (it is in the
   * patient's closure), or a patient-excluded term the query has, is a contradiction; the score is
   * damped by exp(-sum of contradicted IC / NEGATIVE_SCALE). Query marks are the current stamp.
   */
  private applyNegative(q: PreparedQuery, out: Float64Array): void {
    const st = this.stamp;
    const { closureStart, closure, excludedStart, excluded, mark, markExcluded, ic } = this;
    const queryHasExcluded = q.excluded.length > 0;
    for (let p = 0; p < this.size; p++) {
      let conflict = 0;
      if (queryHasExcluded) {
        for (let k = closureStart[p], end = closureStart[p + 1]; k < end; k++) if (markExcluded[closure[k]] === st) conflict += ic[closure[k]];
      }
      for (let k = excludedStart[p], end = excludedStart[p + 1]; k < end; k++) if (mark[excluded[k]] === st) conflict += ic[excluded[k]];
      if (conflict > 0) out[p] *= Math.exp(-conflict / NEGATIVE_SCALE);
    }
  }

  /** Patients that are never results for this query: itself, and optionally its publications' patients. */
  excludedCandidates(query: PatientProfile, options: { samePublication?: boolean } = {}): Uint8Array {
    const mask = new Uint8Array(this.size);
    for (const i of this.byId.get(query.id) ?? []) mask[i] = 1;
    if (options.samePublication) for (const pub of query.publications) for (const i of this.byPublication.get(pub) ?? []) mask[i] = 1;
    return mask;
  }

  /** Top k by score (ties by id for reproducibility), skipping masked candidates and zero scores. */
  search(q: PreparedQuery, method: Method | string, k: number, mask?: Uint8Array, scores: Float64Array = new Float64Array(this.size)): Hit[] {
    this.scoreAll(q, method, scores);
    return topK(scores, k, mask).map((i) => ({ index: i, id: this.profiles[i].id, score: scores[i] }));
  }

  /** For each query term: its best-matching patient term under Resnik and their MICA. */
  explain(q: PreparedQuery, patient: number): MatchedPair[] {
    const pairs: MatchedPair[] = [];
    const pTerms = Array.from(this.terms.subarray(this.termStart[patient], this.termStart[patient + 1]), (v) => this.vocab[v]);
    if (pTerms.length === 0) return pairs;
    for (const t of q.terms) {
      let best = { match: pTerms[0], mica: 0, ic: -1 };
      for (const u of pTerms) {
        const { index, ic } = this.mica(t, u);
        if (ic > best.ic) best = { match: u, mica: index, ic };
      }
      pairs.push({ query: this.ref(t), match: this.ref(best.match), mica: { ...this.ref(best.mica), ic: round(best.ic) }, similarity: round(best.ic) });
    }
    return pairs.sort((a, b) => b.similarity - a.similarity);
  }

  /** The most informative common ancestor of two terms (ontology indices). */
  mica(a: number, b: number): { index: number; ic: number } {
    const ancA = this.ontology.ancestorIndices(a);
    const ancB = this.ontology.ancestorIndices(b);
    let best = { index: -1, ic: -1 };
    // Both are sorted: a merge walk finds the intersection without a set.
    for (let i = 0, j = 0; i < ancA.length && j < ancB.length; ) {
      if (ancA[i] === ancB[j]) {
        const c = ancA[i];
        // Equal IC (e.g. a term and its only annotated child): the more specific term explains better.
        if (this.ic[c] > best.ic || (this.ic[c] === best.ic && this.depth(c) > this.depth(best.index))) best = { index: c, ic: this.ic[c] };
        i++;
        j++;
      } else if (ancA[i] < ancB[j]) i++;
      else j++;
    }
    return best;
  }

  private depth(i: number): number {
    return i < 0 ? -1 : this.ontology.ancestorIndices(i).length;
  }

  private ref(i: number): TermRef {
    const id = this.ontology.idAt(i);
    return { id, label: this.ontology.label(id) ?? id };
  }

  indexOfPatient(id: string): number {
    return this.byId.get(id)?.[0] ?? -1;
  }
}

function termSimilarity(measure: number, mica: number, icA: number, icB: number): number {
  if (measure === 0) return mica;
  if (measure === 1) {
    const d = icA + icB;
    return d > 0 ? (2 * mica) / d : 0;
  }
  return 1 / (1 + icA + icB - 2 * mica);
}

function push(map: Map<string, number[]>, key: string, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

const round = (x: number): number => Math.round(x * 1e4) / 1e4;

/** Indices of the k highest scores (> 0), not masked, best first; ties keep the lower index first. */
export function topK(scores: Float64Array, k: number, mask?: Uint8Array): number[] {
  const heap: number[] = [];
  const better = (a: number, b: number): boolean => scores[a] > scores[b] || (scores[a] === scores[b] && a < b);
  for (let i = 0; i < scores.length; i++) {
    if (scores[i] <= 0 || (mask && mask[i])) continue;
    if (heap.length < k) {
      heap.push(i);
      if (heap.length === k) heap.sort((a, b) => (better(a, b) ? -1 : 1));
    } else if (k > 0 && better(i, heap[k - 1])) {
      // Insertion into a sorted list of k: k is small (tens), a heap would not pay off.
      let j = k - 1;
      while (j > 0 && better(i, heap[j - 1])) {
        heap[j] = heap[j - 1];
        j--;
      }
      heap[j] = i;
    }
  }
  if (heap.length < k) heap.sort((a, b) => (better(a, b) ? -1 : 1));
  return heap;
}
