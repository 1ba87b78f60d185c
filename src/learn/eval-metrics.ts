import { auroc } from './metrics.js';

// Metrics of `harmonia eval embeddings`: ROC curves, F1 at a threshold chosen elsewhere, Platt
// calibration and expected calibration error, silhouette and leave-one-out kNN accuracy (site
// against disease separation), a deterministic 2D PCA, Spearman correlation.

const { exp, log, sqrt, abs, max, min, floor } = Math;

export { auroc };

/** ROC curve points (false positive rate, true positive rate) from the highest threshold down; tied scores move together. */
export function rocCurve(scores: readonly number[], positive: readonly boolean[]): [number, number][] {
  const order = scores.map((s, i) => i).sort((a, b) => scores[b] - scores[a]);
  const P = positive.filter(Boolean).length;
  const N = positive.length - P;
  const out: [number, number][] = [[0, 0]];
  if (!P || !N) return out;
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && scores[order[j]] === scores[order[i]]) {
      if (positive[order[j]]) tp++;
      else fp++;
      j++;
    }
    out.push([fp / N, tp / P]);
    i = j;
  }
  return out;
}

export interface F1Result {
  f1: number;
  precision: number;
  recall: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
}

/** F1 of "score >= threshold means positive". Precision is 0 (not NaN) when nothing is predicted positive. */
export function f1At(scores: readonly number[], positive: readonly boolean[], threshold: number): F1Result {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const predicted = scores[i] >= threshold;
    if (predicted && positive[i]) tp++;
    else if (predicted) fp++;
    else if (positive[i]) fn++;
  }
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  return { f1, precision, recall, truePositives: tp, falsePositives: fp, falseNegatives: fn };
}

/**
 * The threshold maximising F1 on these (validation) scores: each distinct score is tried as the
 * lowest positive; the threshold returned is the midpoint between it and the next lower score, so a
 * new score between the two is not decided by floating-point luck. Undefined without a positive.
 */
export function bestF1Threshold(scores: readonly number[], positive: readonly boolean[]): { threshold: number; f1: number } | undefined {
  if (!positive.some(Boolean)) return undefined;
  const distinct = [...new Set(scores)].sort((a, b) => b - a);
  let best = { threshold: NaN, f1: -1 };
  for (let i = 0; i < distinct.length; i++) {
    const f1 = f1At(scores, positive, distinct[i]).f1;
    if (f1 > best.f1) best = { threshold: i + 1 < distinct.length ? (distinct[i] + distinct[i + 1]) / 2 : distinct[i], f1 };
  }
  return best;
}

export interface PlattMapping {
  /** p = 1 / (1 + exp(-(a * score + b))). */
  a: number;
  b: number;
}

export const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)));

export function applyPlatt(m: PlattMapping, score: number): number {
  return sigmoid(m.a * score + m.b);
}

/**
 * Platt scaling: a logistic regression of the label on the score (a monotone mapping when a > 0),
 * fitted by Newton's method with Platt's smoothed targets ((P+1)/(P+2) and 1/(N+2)), which keeps the
 * fit finite when the scores separate the classes. Undefined without both classes.
 */
export function fitPlatt(scores: readonly number[], positive: readonly boolean[]): PlattMapping | undefined {
  const P = positive.filter(Boolean).length;
  const N = positive.length - P;
  if (!P || !N) return undefined;
  const hi = (P + 1) / (P + 2);
  const lo = 1 / (N + 2);
  const t = positive.map((p) => (p ? hi : lo));
  // Centre and scale the scores so Newton starts well conditioned; map back at the end.
  const mean = scores.reduce((s, x) => s + x, 0) / scores.length;
  const sd = sqrt(scores.reduce((s, x) => s + (x - mean) ** 2, 0) / scores.length) || 1;
  const z = scores.map((x) => (x - mean) / sd);
  let a = 0;
  let b = log((P + 1) / (N + 1));
  const loss = (a: number, b: number) => {
    let l = 0;
    for (let i = 0; i < z.length; i++) {
      const f = a * z[i] + b;
      // -[t log p + (1 - t) log(1 - p)] with p = sigmoid(f), written stably.
      l += (f >= 0 ? log(1 + exp(-f)) + (1 - t[i]) * f : log(1 + exp(f)) - t[i] * f);
    }
    return l;
  };
  let current = loss(a, b);
  for (let iter = 0; iter < 100; iter++) {
    let gA = 0, gB = 0, hAA = 1e-12, hAB = 0, hBB = 1e-12;
    for (let i = 0; i < z.length; i++) {
      const p = sigmoid(a * z[i] + b);
      const d = p - t[i];
      const w = p * (1 - p);
      gA += d * z[i];
      gB += d;
      hAA += w * z[i] * z[i];
      hAB += w * z[i];
      hBB += w;
    }
    const det = hAA * hBB - hAB * hAB;
    if (abs(gA) + abs(gB) < 1e-10 || det <= 0) break;
    const dA = (hBB * gA - hAB * gB) / det;
    const dB = (hAA * gB - hAB * gA) / det;
    let step = 1;
    let next = loss(a - dA, b - dB);
    while (next > current + 1e-12 && step > 1e-6) {
      step /= 2;
      next = loss(a - step * dA, b - step * dB);
    }
    if (next > current + 1e-12) break;
    a -= step * dA;
    b -= step * dB;
    const gain = current - next;
    current = next;
    if (gain < 1e-12) break;
  }
  return { a: a / sd, b: b - (a * mean) / sd };
}

export interface ReliabilityBin {
  from: number;
  to: number;
  count: number;
  meanPredicted: number;
  fractionPositive: number;
}

/**
 * Expected calibration error: predictions binned into `bins` equal-width bins over [0, 1]; the mean
 * over bins, weighted by their share of records, of |mean predicted probability - fraction positive|.
 */
export function expectedCalibrationError(probabilities: readonly number[], positive: readonly boolean[], bins = 10): { ece: number; bins: ReliabilityBin[] } {
  const sums = Array.from({ length: bins }, (_, b) => ({ from: b / bins, to: (b + 1) / bins, count: 0, p: 0, pos: 0 }));
  for (let i = 0; i < probabilities.length; i++) {
    const b = sums[min(bins - 1, max(0, floor(probabilities[i] * bins)))];
    b.count++;
    b.p += probabilities[i];
    if (positive[i]) b.pos++;
  }
  let ece = 0;
  const out: ReliabilityBin[] = [];
  for (const b of sums) {
    if (!b.count) continue;
    const meanPredicted = b.p / b.count;
    const fractionPositive = b.pos / b.count;
    ece += (b.count / probabilities.length) * abs(meanPredicted - fractionPositive);
    out.push({ from: b.from, to: b.to, count: b.count, meanPredicted, fractionPositive });
  }
  return { ece: probabilities.length ? ece : NaN, bins: out };
}

export function brierScore(probabilities: readonly number[], positive: readonly boolean[]): number {
  let s = 0;
  for (let i = 0; i < probabilities.length; i++) s += (probabilities[i] - (positive[i] ? 1 : 0)) ** 2;
  return probabilities.length ? s / probabilities.length : NaN;
}

/** Cosine distance matrix (1 - cos) of unit vectors, as a flat n x n array. */
export function cosineDistances(vectors: readonly Float32Array[]): Float64Array {
  const n = vectors.length;
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const a = vectors[i];
    for (let j = i + 1; j < n; j++) {
      const b = vectors[j];
      let dot = 0;
      for (let k = 0; k < a.length; k++) dot += a[k] * b[k];
      d[i * n + j] = d[j * n + i] = 1 - dot;
    }
  }
  return d;
}

/**
 * Mean silhouette of the labelling under the given distances: for each point, (b - a) / max(a, b)
 * with a its mean distance to its own group and b the smallest mean distance to another group; a
 * point alone in its group counts 0. NaN with fewer than two groups. Near 1: groups well apart;
 * near 0: groups mixed.
 */
export function silhouette(distances: Float64Array, labels: readonly string[]): number {
  const n = labels.length;
  const groups = [...new Set(labels)];
  if (groups.length < 2) return NaN;
  const gi = labels.map((l) => groups.indexOf(l));
  const sizes = new Array(groups.length).fill(0);
  for (const g of gi) sizes[g]++;
  let total = 0;
  const sums = new Float64Array(groups.length);
  for (let i = 0; i < n; i++) {
    sums.fill(0);
    for (let j = 0; j < n; j++) if (j !== i) sums[gi[j]] += distances[i * n + j];
    if (sizes[gi[i]] < 2) continue;
    const a = sums[gi[i]] / (sizes[gi[i]] - 1);
    let b = Infinity;
    for (let g = 0; g < groups.length; g++) if (g !== gi[i] && sizes[g]) b = min(b, sums[g] / sizes[g]);
    total += (b - a) / (max(a, b) || 1);
  }
  return total / n;
}

/**
 * Leave-one-out k-nearest-neighbour accuracy of predicting each point's label from its k nearest
 * others (majority vote; a tie goes to the label of the nearest among the tied), with the chance
 * level: the share of the most common label.
 */
export function knnAccuracy(distances: Float64Array, labels: readonly string[], k: number): { accuracy: number; chance: number } {
  const n = labels.length;
  if (n < 2) return { accuracy: NaN, chance: NaN };
  const counts = new Map<string, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const chance = max(...counts.values()) / n;
  let correct = 0;
  const idx = Array.from({ length: n }, (_, j) => j);
  for (let i = 0; i < n; i++) {
    const near = idx.filter((j) => j !== i).sort((x, y) => distances[i * n + x] - distances[i * n + y] || x - y).slice(0, k);
    const votes = new Map<string, number>();
    for (const j of near) votes.set(labels[j], (votes.get(labels[j]) ?? 0) + 1);
    const top = max(...votes.values());
    const winner = near.find((j) => votes.get(labels[j]) === top)!;
    if (labels[winner] === labels[i]) correct++;
  }
  return { accuracy: correct / n, chance };
}

/**
 * The first two principal components of the vectors (centred), by power iteration from a fixed
 * start with deflation: deterministic. Returns each vector's coordinates and the variance share of
 * each component.
 */
export function pca2(vectors: readonly Float32Array[]): { points: [number, number][]; explained: [number, number] } {
  const n = vectors.length;
  const D = n ? vectors[0].length : 0;
  const mean = new Float64Array(D);
  for (const v of vectors) for (let k = 0; k < D; k++) mean[k] += v[k] / n;
  const X = vectors.map((v) => Float64Array.from(v, (x, k) => x - mean[k]));
  let totalVar = 0;
  for (const x of X) for (let k = 0; k < D; k++) totalVar += x[k] * x[k];
  const components: Float64Array[] = [];
  const variances: number[] = [];
  for (let c = 0; c < 2; c++) {
    let w = Float64Array.from({ length: D }, (_, k) => 1 + ((k * 7919 + c * 104729) % 97) / 97);
    let lambda = 0;
    for (let iter = 0; iter < 200; iter++) {
      const next = new Float64Array(D);
      for (const x of X) {
        let proj = 0;
        for (let k = 0; k < D; k++) proj += x[k] * w[k];
        for (let k = 0; k < D; k++) next[k] += proj * x[k];
      }
      for (const prev of components) {
        let dot = 0;
        for (let k = 0; k < D; k++) dot += next[k] * prev[k];
        for (let k = 0; k < D; k++) next[k] -= dot * prev[k];
      }
      const norm = sqrt(next.reduce((s, x) => s + x * x, 0));
      if (!norm) break;
      const done = abs(norm - lambda) <= 1e-9 * norm;
      lambda = norm;
      w = next.map((x) => x / norm);
      if (done) break;
    }
    // A fixed sign: the largest-magnitude loading is positive, so reruns draw the same map.
    let big = 0;
    for (let k = 0; k < D; k++) if (abs(w[k]) > abs(w[big])) big = k;
    if (w[big] < 0) w = w.map((x) => -x);
    components.push(w);
    variances.push(lambda);
  }
  const points = X.map((x) => components.map((w) => x.reduce((s, v, k) => s + v * w[k], 0)) as [number, number]);
  return { points, explained: variances.map((v) => (totalVar ? v / totalVar : 0)) as [number, number] };
}

function ranks(x: readonly number[]): number[] {
  const order = x.map((_, i) => i).sort((a, b) => x[a] - x[b]);
  const r = new Array<number>(x.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && x[order[j + 1]] === x[order[i]]) j++;
    for (let k = i; k <= j; k++) r[order[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

export function pearson(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  if (n < 2) return NaN;
  const mx = x.reduce((s, v) => s + v, 0) / n;
  const my = y.reduce((s, v) => s + v, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxx && syy ? sxy / sqrt(sxx * syy) : NaN;
}

/** Spearman's rank correlation (Pearson on mid-ranks). */
export function spearman(x: readonly number[], y: readonly number[]): number {
  return pearson(ranks(x), ranks(y));
}
