import { rankOfFirstRelevant } from '../retrieve/index.js';

// Fusing a learned ranking with a classical one. Two families: reciprocal rank fusion (ranks only,
// robust to the scales of the two scores) and a convex combination of z-scored scores (keeps how far
// apart candidates are). Which one, and its weight, is chosen per model on the validation split of
// publications (similar.ts); the test split is never used for the choice.

const { sqrt } = Math;

export type Fusion = { kind: 'rrf'; k: number } | { kind: 'zscore'; weight: number };

/** The candidates the validation choice picks from; `weight` is the embedding's share. */
export const FUSIONS: readonly Fusion[] = [
  { kind: 'rrf', k: 60 },
  { kind: 'zscore', weight: 0.2 },
  { kind: 'zscore', weight: 0.35 },
  { kind: 'zscore', weight: 0.5 },
  { kind: 'zscore', weight: 0.65 },
  { kind: 'zscore', weight: 0.8 },
];

/** Used when there is nothing to choose on (no validation query with a relevant candidate). */
export const DEFAULT_FUSION: Fusion = FUSIONS[0];

export function fusionName(f: Fusion): string {
  return f.kind === 'rrf' ? `rrf${f.k}` : `zscore${f.weight}`;
}

/** 1-based ranks by descending score among unmasked candidates (ties by index); masked get Infinity. */
function ranks(scores: Float64Array, mask?: Uint8Array): Float64Array {
  const order: number[] = [];
  for (let i = 0; i < scores.length; i++) if (!(mask && mask[i])) order.push(i);
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  const out = new Float64Array(scores.length).fill(Infinity);
  order.forEach((i, r) => (out[i] = r + 1));
  return out;
}

/** (x - mean) / sd over unmasked finite values; non-finite ones (no embedding) get the lowest z. */
function zscores(scores: Float64Array, mask?: Uint8Array): Float64Array {
  let n = 0;
  let sum = 0;
  let sum2 = 0;
  for (let i = 0; i < scores.length; i++) {
    if ((mask && mask[i]) || !Number.isFinite(scores[i])) continue;
    n++;
    sum += scores[i];
    sum2 += scores[i] * scores[i];
  }
  const mean = n ? sum / n : 0;
  const sd = n ? sqrt(Math.max(0, sum2 / n - mean * mean)) : 0;
  const out = new Float64Array(scores.length);
  let low = Infinity;
  for (let i = 0; i < scores.length; i++) {
    out[i] = Number.isFinite(scores[i]) ? (sd > 0 ? (scores[i] - mean) / sd : 0) : NaN;
    if (!(mask && mask[i]) && out[i] < low) low = out[i];
  }
  // Strictly below every embedded candidate: a patient without an embedding never ties with one.
  const floor = Number.isFinite(low) ? low - 1 : 0;
  for (let i = 0; i < out.length; i++) if (Number.isNaN(out[i])) out[i] = floor;
  return out;
}

/** One fused score per candidate; masked candidates get -Infinity. */
export function fuse(learned: Float64Array, classical: Float64Array, fusion: Fusion, mask?: Uint8Array): Float64Array {
  const out = new Float64Array(learned.length);
  if (fusion.kind === 'rrf') {
    const a = ranks(learned, mask);
    const b = ranks(classical, mask);
    for (let i = 0; i < out.length; i++) out[i] = 1 / (fusion.k + a[i]) + 1 / (fusion.k + b[i]);
  } else {
    const a = zscores(learned, mask);
    const b = zscores(classical, mask);
    const w = fusion.weight;
    for (let i = 0; i < out.length; i++) out[i] = w * a[i] + (1 - w) * b[i];
  }
  if (mask) for (let i = 0; i < out.length; i++) if (mask[i]) out[i] = -Infinity;
  return out;
}

/** Indices of the k best finite scores, not masked, best first (ties by index). */
export function best(scores: Float64Array, k: number, mask?: Uint8Array): number[] {
  const idx: number[] = [];
  for (let i = 0; i < scores.length; i++) if (!(mask && mask[i]) && Number.isFinite(scores[i])) idx.push(i);
  return idx.sort((a, b) => scores[b] - scores[a] || a - b).slice(0, k);
}

/** Ranking quality of one method over a query set (publication-grouped when the caller masks so). */
export interface MethodMetrics {
  method: string;
  queries: number;
  hit1: number;
  /** The share of queries with a relevant candidate in the top 10 (Recall@10 of the first relevant). */
  hit10: number;
  mrr: number;
}

export class RankingTally {
  private n = 0;
  private h1 = 0;
  private h10 = 0;
  private rr = 0;

  constructor(readonly method: string) {}

  add(scores: Float64Array, relevant: Uint8Array, mask?: Uint8Array): void {
    const rank = rankOfFirstRelevant(scores, relevant, mask);
    if (!Number.isFinite(rank)) return;
    this.n++;
    if (rank <= 1) this.h1++;
    if (rank <= 10) this.h10++;
    this.rr += 1 / rank;
  }

  result(): MethodMetrics {
    const r = (x: number) => (this.n ? Math.round((x / this.n) * 1e4) / 1e4 : 0);
    return { method: this.method, queries: this.n, hit1: r(this.h1), hit10: r(this.h10), mrr: r(this.rr) };
  }
}

/** Per-query scores of the learned and the classical method, with what is relevant and what is left out. */
export interface ScoredQuery {
  learned: Float64Array;
  classical: Float64Array;
  relevant: Uint8Array;
  mask?: Uint8Array;
}

export interface FusionComparison {
  embedding: MethodMetrics;
  classical: MethodMetrics;
  /** One entry per candidate fusion, in FUSIONS order. */
  hybrid: MethodMetrics[];
}

/** Scores every query once and ranks it under the learned, the classical and every fused method. */
export function compareFusions(queries: Iterable<ScoredQuery>, classicalName: string, fusions: readonly Fusion[] = FUSIONS): FusionComparison {
  const emb = new RankingTally('embedding');
  const cls = new RankingTally(classicalName);
  const hyb = fusions.map((f) => new RankingTally(`hybrid:${fusionName(f)}`));
  for (const q of queries) {
    emb.add(q.learned, q.relevant, q.mask);
    cls.add(q.classical, q.relevant, q.mask);
    fusions.forEach((f, i) => hyb[i].add(fuse(q.learned, q.classical, f, q.mask), q.relevant, q.mask));
  }
  return { embedding: emb.result(), classical: cls.result(), hybrid: hyb.map((h) => h.result()) };
}

/** The fusion with the best MRR (the first on ties), or the default when nothing was measured. */
export function chooseFusion(comparison: FusionComparison, fusions: readonly Fusion[] = FUSIONS): Fusion {
  let pick = -1;
  comparison.hybrid.forEach((m, i) => {
    if (m.queries > 0 && (pick < 0 || m.mrr > comparison.hybrid[pick].mrr)) pick = i;
  });
  return pick < 0 ? DEFAULT_FUSION : fusions[pick];
}
