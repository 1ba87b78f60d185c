import type { DiagnosisMethod, DiseaseModel } from './diagnose.js';
import { parseMethod } from './method.js';
import type { PatientIndex } from './patient-index.js';
import type { PatientProfile } from './profile.js';

// Honest evaluation. Patient retrieval: each query is ranked against the indexed patients minus
// itself and minus every patient from any of its publications (patients of one paper share
// phrasing, curators and often a family, so record-level splits inflate scores); a candidate is
// relevant when it shares a diagnosis with the query. Queries left without any relevant candidate
// are skipped and counted. Ties are broken uniformly at random, in expectation: with h candidates
// scoring higher than the best relevant one and t tied with it, its position is equally likely to be
// any of h+1 .. h+t+1, so hit@k = the share of those positions <= k and the reciprocal rank is their
// mean 1/position. A constant scorer is then neither rewarded by id order nor (as the older
// mid-rank rule, rank = 1 + h + t/2, did for hit@1) counted as never first when one other disease
// ties with the diagnosis: a two-way tie for first is hit@1 = 0.5, MRR = 0.75.

export interface RankingMetrics {
  method: string;
  /** Queries evaluated. */
  queries: number;
  /** Queries not evaluated, with why. */
  skipped: number;
  skippedReasons: Record<string, number>;
  hit1: number;
  hit10: number;
  mrr: number;
}

/** Rank of the best relevant item among the candidates (mask = 1 excludes), with half-counted ties. */
export function rankOfFirstRelevant(scores: Float64Array, relevant: Uint8Array, mask?: Uint8Array): number {
  let best = -Infinity;
  for (let i = 0; i < scores.length; i++) if (relevant[i] && !(mask && mask[i]) && scores[i] > best) best = scores[i];
  if (best === -Infinity) return Infinity;
  let higher = 0;
  let tied = 0;
  for (let i = 0; i < scores.length; i++) {
    if (relevant[i] || (mask && mask[i])) continue;
    if (scores[i] > best) higher++;
    else if (scores[i] === best) tied++;
  }
  return 1 + higher + tied / 2;
}

/** Where the best relevant candidate stands: candidates scoring higher, and tied with it. */
export interface RankPosition {
  higher: number;
  tied: number;
}

/** The position of the best relevant item among the candidates (mask = 1 excludes); undefined when none is relevant. */
export function rankPosition(scores: Float64Array, relevant: Uint8Array, mask?: Uint8Array): RankPosition | undefined {
  let best = -Infinity;
  let any = false;
  for (let i = 0; i < scores.length; i++) {
    if (!relevant[i] || (mask && mask[i])) continue;
    any = true;
    if (scores[i] > best) best = scores[i];
  }
  if (!any) return undefined;
  let higher = 0;
  let tied = 0;
  for (let i = 0; i < scores.length; i++) {
    if (relevant[i] || (mask && mask[i])) continue;
    if (scores[i] > best) higher++;
    else if (scores[i] === best) tied++;
  }
  return { higher, tied };
}

/** P(position <= k) when the tie is broken uniformly at random. */
export function expectedHit(p: RankPosition, k: number): number {
  return Math.min(1, Math.max(0, (k - p.higher) / (p.tied + 1)));
}

/** E[1 / position] when the tie is broken uniformly at random. */
export function expectedReciprocalRank(p: RankPosition): number {
  let s = 0;
  for (let j = 0; j <= p.tied; j++) s += 1 / (p.higher + 1 + j);
  return s / (p.tied + 1);
}

/** How far an evaluation is: `done` of `total` queries, skipped ones included. */
export type QueryProgress = (done: number, total: number) => void;

/**
 * The items in order, reporting `(i + 1, items.length)` once the loop body is done with item i: the
 * evaluation loops skip a query with `continue`, which reports too.
 */
export function* reportingEach<T>(items: readonly T[], onProgress?: QueryProgress): Generator<T> {
  for (let i = 0; i < items.length; i++) {
    yield items[i];
    onProgress?.(i + 1, items.length);
  }
}

export class Accumulator {
  private n = 0;
  private h1 = 0;
  private h10 = 0;
  private rr = 0;
  readonly skipped: Record<string, number> = {};

  /** A query whose relevant item has an exact rank (no ties). */
  add(rank: number): void {
    this.addPosition({ higher: rank - 1, tied: 0 });
  }

  /** A query by its position, ties broken at random in expectation. */
  addPosition(p: RankPosition): void {
    this.n++;
    this.h1 += expectedHit(p, 1);
    this.h10 += expectedHit(p, 10);
    this.rr += expectedReciprocalRank(p);
  }

  skip(reason: string): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
  }

  result(method: string): RankingMetrics {
    const r = (x: number): number => (this.n ? Math.round((x / this.n) * 1e4) / 1e4 : 0);
    const skipped = Object.values(this.skipped).reduce((s, x) => s + x, 0);
    return { method, queries: this.n, skipped, skippedReasons: this.skipped, hit1: r(this.h1), hit10: r(this.h10), mrr: r(this.rr) };
  }
}

/** Publication-grouped retrieval evaluation of one method (`samePublication: false` gives the inflated record-level number). */
export function evaluateRetrievalMetrics(
  index: PatientIndex,
  queries: readonly PatientProfile[],
  options: { method: string; samePublication?: boolean; onProgress?: QueryProgress },
): RankingMetrics {
  const method = parseMethod(options.method);
  const grouped = options.samePublication ?? true;
  const acc = new Accumulator();
  const diseasesOf = index.profiles.map((p) => new Set(p.diseases));
  const scores = new Float64Array(index.size);
  const relevant = new Uint8Array(index.size);
  for (const q of reportingEach(queries, options.onProgress)) {
    if (q.diseases.length === 0) {
      acc.skip('no diagnosis');
      continue;
    }
    if (grouped && q.publications.length === 0) {
      acc.skip('no publication to group by');
      continue;
    }
    const mask = index.excludedCandidates(q, { samePublication: grouped });
    let anyRelevant = false;
    for (let i = 0; i < index.size; i++) {
      relevant[i] = !mask[i] && q.diseases.some((d) => diseasesOf[i].has(d)) ? 1 : 0;
      if (relevant[i]) anyRelevant = true;
    }
    if (!anyRelevant) {
      acc.skip('no relevant candidate outside its publication');
      continue;
    }
    let prepared;
    try {
      prepared = index.prepare(q);
    } catch {
      acc.skip('empty profile');
      continue;
    }
    index.scoreAll(prepared, method, scores);
    acc.addPosition(rankPosition(scores, relevant, mask)!);
  }
  return acc.result(method.name);
}

/** Disease ranking: the rank of the patient's diagnosis among all annotated diseases. */
export function evaluateDiagnosisMetrics(
  model: DiseaseModel,
  queries: readonly PatientProfile[],
  options: { method: DiagnosisMethod; genes?: boolean; onProgress?: QueryProgress },
): RankingMetrics {
  const acc = new Accumulator();
  // Equivalent ids of the diagnosis (its ORPHA or DECIPHER entry) count as the diagnosis; each disease ranks once.
  const relevant = new Uint8Array(model.classes.size);
  for (const q of reportingEach(queries, options.onProgress)) {
    const targets = q.diseases.map((d) => model.classOfDisease(d)).filter((c) => c >= 0);
    if (targets.length === 0) {
      acc.skip(q.diseases.length ? 'diagnosis not in annotations' : 'no diagnosis');
      continue;
    }
    if (q.observed.length === 0) {
      acc.skip('empty profile');
      continue;
    }
    relevant.fill(0);
    for (const t of targets) relevant[t] = 1;
    const scores = model.classes.collapse(model.scoreAll(q, options.method, { genes: options.genes }));
    acc.addPosition(rankPosition(scores, relevant)!);
  }
  return acc.result(options.method + (options.genes ? '+genes' : ''));
}
