// Shared operations on 2D/3D images stored x fastest (NIfTI order: index = x + nx * (y + ny * z)):
// percentiles, Otsu thresholds, Gaussian smoothing along an axis, and linear interpolation grids.
// Typed arrays and flat loops throughout: volumes have millions of voxels.

/** numpy's default ('linear') percentile of already sorted values; p in [0, 100]. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (Math.min(100, Math.max(0, p)) / 100) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** The values where `mask` is set (all finite values when no mask), sorted ascending. */
export function sortedValues(data: Float32Array, mask?: Uint8Array): Float32Array {
  let n = 0;
  for (let i = 0; i < data.length; i++) if ((!mask || mask[i]) && data[i] - data[i] === 0) n++;
  const out = new Float32Array(n);
  let k = 0;
  for (let i = 0; i < data.length; i++) if ((!mask || mask[i]) && data[i] - data[i] === 0) out[k++] = data[i];
  return out.sort();
}

/** The values where `mask` is set (all finite values when no mask), unsorted, in a new array. */
export function maskedValues(data: Float32Array, mask?: Uint8Array): Float32Array {
  let n = 0;
  for (let i = 0; i < data.length; i++) if ((!mask || mask[i]) && data[i] - data[i] === 0) n++;
  const out = new Float32Array(n);
  let k = 0;
  for (let i = 0; i < data.length; i++) if ((!mask || mask[i]) && data[i] - data[i] === 0) out[k++] = data[i];
  return out;
}

/**
 * Percentiles (numpy's 'linear' definition, p in [0, 100]) of `values` by selection instead of a
 * full sort: O(n) per percentile. `values` is reordered in place.
 */
export function percentiles(values: Float32Array, ps: number[]): number[] {
  const n = values.length;
  if (n === 0) return ps.map(() => NaN);
  const order = ps.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p);
  const out = new Array<number>(ps.length);
  let from = 0;
  for (const { p, i } of order) {
    const pos = (Math.min(100, Math.max(0, p)) / 100) * (n - 1);
    const k = Math.floor(pos);
    select(values, from, n - 1, k);
    from = k;
    let next = values[k];
    if (k + 1 < n) {
      // After selection everything right of k is >= values[k]: the next order statistic is their minimum.
      next = Infinity;
      for (let j = k + 1; j < n; j++) if (values[j] < next) next = values[j];
    }
    out[i] = values[k] + (next - values[k]) * (pos - k);
  }
  return out;
}

/** Hoare's quickselect: puts the k-th smallest of a[lo..hi] at a[k], smaller ones before it, larger after. */
function select(a: Float32Array, lo: number, hi: number, k: number): void {
  while (hi > lo) {
    // median of three as the pivot guards against sorted input
    const mid = (lo + hi) >> 1;
    const x = a[lo], y = a[mid], z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/** Mean and (population) standard deviation of the values where `mask` is set. */
export function meanSd(data: Float32Array, mask?: Uint8Array): { mean: number; sd: number; n: number } {
  let n = 0;
  let sum = 0;
  for (let i = 0; i < data.length; i++) if (!mask || mask[i]) { sum += data[i]; n++; }
  const mean = n ? sum / n : NaN;
  let ss = 0;
  for (let i = 0; i < data.length; i++) if (!mask || mask[i]) { const d = data[i] - mean; ss += d * d; }
  return { mean, sd: n ? Math.sqrt(ss / n) : NaN, n };
}

/**
 * Otsu's threshold (1979): the cut of a `bins`-bin histogram between the finite minimum and maximum
 * that maximises the between-class variance. Returns the value at the upper edge of the last
 * background bin: voxels above it are foreground.
 */
export function otsuThreshold(data: Float32Array, bins = 256, mask?: Uint8Array): number {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if ((mask && !mask[i]) || v - v !== 0) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!(max > min)) return min;
  const hist = new Float64Array(bins);
  const scale = bins / (max - min);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if ((mask && !mask[i]) || v - v !== 0) continue;
    hist[Math.min(bins - 1, Math.floor((v - min) * scale))]++;
  }
  let total = 0;
  let sumAll = 0;
  for (let b = 0; b < bins; b++) { total += hist[b]; sumAll += b * hist[b]; }
  let w0 = 0;
  let sum0 = 0;
  let best = -1;
  let cut = 0;
  for (let b = 0; b < bins - 1; b++) {
    w0 += hist[b];
    sum0 += b * hist[b];
    const w1 = total - w0;
    if (w0 === 0 || w1 === 0) continue;
    const m0 = sum0 / w0;
    const m1 = (sumAll - sum0) / w1;
    const between = w0 * w1 * (m0 - m1) * (m0 - m1);
    if (between > best) { best = between; cut = b; }
  }
  return min + (cut + 1) / scale;
}

/** A normalised Gaussian kernel of standard deviation `sigma` (in samples), truncated at 3 sigma. */
export function gaussianKernel(sigma: number): Float64Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float64Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) s += k[i + r] = Math.exp((-i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= s;
  return k;
}

/**
 * Smooths along one axis of an image of shape `dims` (x fastest) with a Gaussian of `sigma`
 * samples; edges repeat the nearest sample. Returns a new array; sigma <= 0 returns a copy.
 */
export function smoothAxis(data: Float32Array, dims: number[], axis: number, sigma: number): Float32Array {
  const out = new Float32Array(data.length);
  if (!(sigma > 0)) {
    out.set(data);
    return out;
  }
  const k = gaussianKernel(sigma);
  const r = (k.length - 1) / 2;
  const n = dims[axis];
  const stride = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const outer = data.length / (n * stride);
  if (stride === 1) {
    // Along x: one contiguous line at a time, clamping only near its ends.
    for (let o = 0; o < outer; o++) {
      const base = o * n;
      for (let i = 0; i < n; i++) {
        let acc = 0;
        if (i >= r && i + r < n) for (let j = -r; j <= r; j++) acc += k[j + r] * data[base + i + j];
        else for (let j = -r; j <= r; j++) acc += k[j + r] * data[base + (i + j < 0 ? 0 : i + j >= n ? n - 1 : i + j)];
        out[base + i] = acc;
      }
    }
    return out;
  }
  // Along y or z: whole rows of `stride` contiguous values are weighted and added, so the inner loop
  // runs over contiguous memory.
  for (let o = 0; o < outer; o++) {
    const base = o * n * stride;
    for (let i = 0; i < n; i++) {
      const dst = base + i * stride;
      for (let j = -r; j <= r; j++) {
        const t = i + j < 0 ? 0 : i + j >= n ? n - 1 : i + j;
        const src = base + t * stride;
        const w = k[j + r];
        for (let s = 0; s < stride; s++) out[dst + s] += w * data[src + s];
      }
    }
  }
  return out;
}

/**
 * Sample positions of a linear interpolation grid along one axis: output sample c reads input
 * coordinate (c + offset) * scale; i0 is the lower neighbour, w the weight of the upper one, and
 * inside whether the coordinate falls within the input (else the output is the fill value).
 */
export function linearGrid(nIn: number, nOut: number, scale: number, offset: number): { i0: Int32Array; w: Float32Array; inside: Uint8Array } {
  const i0 = new Int32Array(nOut);
  const w = new Float32Array(nOut);
  const inside = new Uint8Array(nOut);
  for (let c = 0; c < nOut; c++) {
    const x = (c + offset) * scale;
    if (x < -1e-6 || x > nIn - 1 + 1e-6) continue;
    inside[c] = 1;
    const xc = Math.min(nIn - 1, Math.max(0, x));
    let lo = Math.floor(xc);
    if (lo >= nIn - 1) lo = Math.max(0, nIn - 2);
    i0[c] = lo;
    w[c] = nIn === 1 ? 0 : xc - lo;
  }
  return { i0, w, inside };
}

/**
 * Trilinear resampling of a 3D volume onto a grid whose voxel c reads input coordinate
 * (c + offset) * scale along each axis; voxels outside the input get `fill`.
 */
export function trilinear(data: Float32Array, dims: number[], outDims: number[], scale: number[], offset: number[], fill = 0): Float32Array {
  const [nx, ny, nz] = dims;
  const gx = linearGrid(nx, outDims[0], scale[0], offset[0]);
  const gy = linearGrid(ny, outDims[1], scale[1], offset[1]);
  const gz = linearGrid(nz, outDims[2], scale[2], offset[2]);
  const out = new Float32Array(outDims[0] * outDims[1] * outDims[2]);
  const sx = nx > 1 ? 1 : 0;
  const sy = ny > 1 ? nx : 0;
  const sz = nz > 1 ? nx * ny : 0;
  let o = 0;
  for (let z = 0; z < outDims[2]; z++) {
    const z0 = gz.i0[z] * nx * ny;
    const wz = gz.w[z];
    for (let y = 0; y < outDims[1]; y++) {
      const y0 = gy.i0[y] * nx;
      const wy = gy.w[y];
      const rowInside = gz.inside[z] && gy.inside[y];
      for (let x = 0; x < outDims[0]; x++, o++) {
        if (!rowInside || !gx.inside[x]) {
          out[o] = fill;
          continue;
        }
        const wx = gx.w[x];
        const b = z0 + y0 + gx.i0[x];
        const c00 = data[b] + (data[b + sx] - data[b]) * wx;
        const c10 = data[b + sy] + (data[b + sy + sx] - data[b + sy]) * wx;
        const c01 = data[b + sz] + (data[b + sz + sx] - data[b + sz]) * wx;
        const c11 = data[b + sz + sy] + (data[b + sz + sy + sx] - data[b + sz + sy]) * wx;
        const c0 = c00 + (c10 - c00) * wy;
        const c1 = c01 + (c11 - c01) * wy;
        out[o] = c0 + (c1 - c0) * wz;
      }
    }
  }
  return out;
}

/** Shannon entropy (bits) of a histogram of counts. */
export function entropyBits(hist: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < hist.length; i++) total += hist[i];
  let h = 0;
  for (let i = 0; i < hist.length; i++) if (hist[i] > 0) { const p = hist[i] / total; h -= p * Math.log2(p); }
  return h;
}

/** 4x4 row-major matrix product. */
export function matmul4(a: number[], b: number[]): number[] {
  const out = new Array<number>(16).fill(0);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) for (let k = 0; k < 4; k++) out[r * 4 + c] += a[r * 4 + k] * b[k * 4 + c];
  return out.map((v) => (Object.is(v, -0) ? 0 : v));
}
