// Small dense linear algebra for the harmonisation steps: design matrices of a few columns, Gram
// matrices of a few dozen samples. All matrices are row-major Float64Arrays with explicit sizes.

// Math and Number functions bound once: a global lookup in a hot loop is slow in some hosts (jest's vm context).
const { abs, max, sign, sqrt } = Math;
const { isFinite: isFiniteNumber } = Number;

/**
 * Solves A X = B for X by Gaussian elimination with partial pivoting (what LAPACK's dgesv, and so
 * R's `solve`, does). A is n x n, B is n x m; returns X (n x m). Throws when A is singular.
 */
export function solve(a: Float64Array, n: number, b: Float64Array, m: number): Float64Array {
  const lu = Float64Array.from(a);
  const x = Float64Array.from(b);
  for (let k = 0; k < n; k++) {
    let pivot = k;
    let best = abs(lu[k * n + k]);
    for (let i = k + 1; i < n; i++) {
      const v = abs(lu[i * n + k]);
      if (v > best) { best = v; pivot = i; }
    }
    if (best === 0 || !isFiniteNumber(best)) throw new Error('linalg.solve: the matrix is singular');
    if (pivot !== k) { swapRows(lu, n, k, pivot); swapRows(x, m, k, pivot); }
    const d = lu[k * n + k];
    for (let i = k + 1; i < n; i++) {
      const f = lu[i * n + k] / d;
      if (f === 0) continue;
      for (let j = k; j < n; j++) lu[i * n + j] -= f * lu[k * n + j];
      for (let j = 0; j < m; j++) x[i * m + j] -= f * x[k * m + j];
    }
  }
  for (let k = n - 1; k >= 0; k--) {
    const d = lu[k * n + k];
    for (let j = 0; j < m; j++) {
      let s = x[k * m + j];
      for (let i = k + 1; i < n; i++) s -= lu[k * n + i] * x[i * m + j];
      x[k * m + j] = s / d;
    }
  }
  return x;
}

function swapRows(a: Float64Array, width: number, r: number, s: number): void {
  for (let j = 0; j < width; j++) {
    const t = a[r * width + j];
    a[r * width + j] = a[s * width + j];
    a[s * width + j] = t;
  }
}

/** X' X for X of rows x cols (row-major): cols x cols. */
export function crossprod(x: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(cols * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let i = 0; i < cols; i++) {
      const xi = x[o + i];
      if (xi === 0) continue;
      for (let j = 0; j < cols; j++) out[i * cols + j] += xi * x[o + j];
    }
  }
  return out;
}

/** X transposed: rows x cols in, cols x rows out. */
export function transpose(x: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
  return out;
}

/**
 * The least-squares projector (X'X)^-1 X' (cols x rows) of a full-rank design X (rows x cols): the
 * coefficients of y regressed on X are this matrix times y.
 */
export function leastSquaresProjector(x: Float64Array, rows: number, cols: number): Float64Array {
  return solve(crossprod(x, rows, cols), cols, transpose(x, rows, cols), rows);
}

/**
 * Numerical rank of X (rows x cols) as R's `qr()` (LINPACK dqrdc2) decides it: a column counts when
 * what is left of it after projecting out the columns already accepted keeps more than `tol` of its
 * own norm. Gram-Schmidt with re-orthogonalisation is plenty for the few columns of a design.
 */
export function rank(x: Float64Array, rows: number, cols: number, tol = 1e-7): number {
  const basis: Float64Array[] = [];
  for (let c = 0; c < cols; c++) {
    const v = new Float64Array(rows);
    for (let r = 0; r < rows; r++) v[r] = x[r * cols + c];
    const norm0 = norm2(v);
    if (norm0 === 0) continue;
    for (let pass = 0; pass < 2; pass++) {
      for (const q of basis) {
        let d = 0;
        for (let r = 0; r < rows; r++) d += q[r] * v[r];
        for (let r = 0; r < rows; r++) v[r] -= d * q[r];
      }
    }
    const norm = norm2(v);
    if (norm > tol * norm0) {
      for (let r = 0; r < rows; r++) v[r] /= norm;
      basis.push(v);
    }
  }
  return basis.length;
}

function norm2(v: Float64Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return sqrt(s);
}

/**
 * Eigen-decomposition of a symmetric n x n matrix by cyclic Jacobi rotations (accurate, and fast
 * enough for the Gram matrix of a few hundred samples). Eigenvalues descending; `vectors` holds the
 * eigenvectors as columns (row-major n x n).
 */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q] ** 2;
    if (off < 1e-30 * max(1, frobenius2(m))) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (apq === 0) continue;
        const theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
        const t = sign(theta || 1) / (abs(theta) + sqrt(theta * theta + 1));
        const c = 1 / sqrt(t * t + 1);
        const s = t * c;
        rotate(m, v, n, p, q, c, s);
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => m[j * n + j] - m[i * n + i]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, k) => {
    values[k] = m[src * n + src];
    for (let r = 0; r < n; r++) vectors[r * n + k] = v[r * n + src];
  });
  return { values, vectors };
}

function frobenius2(m: Float64Array): number {
  let s = 0;
  for (const x of m) s += x * x;
  return s;
}

function rotate(m: Float64Array, v: Float64Array, n: number, p: number, q: number, c: number, s: number): void {
  for (let k = 0; k < n; k++) {
    const mkp = m[k * n + p];
    const mkq = m[k * n + q];
    m[k * n + p] = c * mkp - s * mkq;
    m[k * n + q] = s * mkp + c * mkq;
  }
  for (let k = 0; k < n; k++) {
    const mpk = m[p * n + k];
    const mqk = m[q * n + k];
    m[p * n + k] = c * mpk - s * mqk;
    m[q * n + k] = s * mpk + c * mqk;
  }
  for (let k = 0; k < n; k++) {
    const vkp = v[k * n + p];
    const vkq = v[k * n + q];
    v[k * n + p] = c * vkp - s * vkq;
    v[k * n + q] = s * vkp + c * vkq;
  }
}
