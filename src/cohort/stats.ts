// Fisher's exact test on 2x2 tables and Benjamini-Hochberg adjustment, for cohort enrichment.

let logFact = new Float64Array([0]);

/** ln(n!) from a table grown on demand (cohort tables never exceed the store's patient count). */
function lnFactorial(n: number): number {
  if (n >= logFact.length) {
    const next = new Float64Array(Math.max(n + 1, logFact.length * 2));
    next.set(logFact);
    for (let i = logFact.length; i < next.length; i++) next[i] = next[i - 1] + Math.log(i);
    logFact = next;
  }
  return logFact[n];
}

/** ln P(X = x) for the hypergeometric law of the top-left cell given the margins. */
function lnHypergeometric(x: number, row1: number, row2: number, col1: number, n: number): number {
  return lnFactorial(row1) - lnFactorial(x) - lnFactorial(row1 - x)
    + lnFactorial(row2) - lnFactorial(col1 - x) - lnFactorial(row2 - col1 + x)
    - (lnFactorial(n) - lnFactorial(col1) - lnFactorial(n - col1));
}

/**
 * Two-sided Fisher's exact test of the table [[a, b], [c, d]]: the sum of the probabilities of
 * every table with the same margins that is no more likely than the observed one (the usual
 * definition, as in R's fisher.test), with a relative tolerance for floating-point ties.
 */
export function fisherExact(a: number, b: number, c: number, d: number): number {
  const row1 = a + b;
  const row2 = c + d;
  const col1 = a + c;
  const n = row1 + row2;
  const lo = Math.max(0, col1 - row2);
  const hi = Math.min(row1, col1);
  const observed = lnHypergeometric(a, row1, row2, col1, n);
  const limit = observed + 1e-7;
  let p = 0;
  for (let x = lo; x <= hi; x++) {
    const lp = lnHypergeometric(x, row1, row2, col1, n);
    if (lp <= limit) p += Math.exp(lp);
  }
  return Math.min(1, p);
}

/** Sample odds ratio with the Haldane-Anscombe correction when a cell is zero. */
export function oddsRatio(a: number, b: number, c: number, d: number): number {
  if (a === 0 || b === 0 || c === 0 || d === 0) return ((a + 0.5) * (d + 0.5)) / ((b + 0.5) * (c + 0.5));
  return (a * d) / (b * c);
}

/** Benjamini-Hochberg adjusted p-values (q), in the order of the input. */
export function benjaminiHochberg(p: number[]): number[] {
  const m = p.length;
  const order = p.map((_, i) => i).sort((x, y) => p[y] - p[x]);
  const q = new Array<number>(m);
  let min = 1;
  order.forEach((i, k) => {
    const rank = m - k;
    min = Math.min(min, (p[i] * m) / rank);
    q[i] = min;
  });
  return q;
}
