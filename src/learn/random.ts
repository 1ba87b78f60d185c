// A small seeded generator (mulberry32) so initial weights, batches and augmentations are the same
// for the same --seed on every backend; tfjs's own random ops are not used.

const { imul, log, sqrt, cos, PI, floor } = Math;

export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  /** The state, saved with a checkpoint so a resumed run draws the same numbers. */
  get seedState(): number {
    return this.state;
  }
  set seedState(s: number) {
    this.state = s >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return floor(this.next() * n);
  }
  normal(): number {
    const u = 1 - this.next();
    return sqrt(-2 * log(u)) * cos(2 * PI * this.next());
  }
  normals(n: number, scale = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal() * scale;
    return out;
  }
  /** k distinct items (or all of them, shuffled, when there are fewer). */
  sample<T>(items: readonly T[], k: number): T[] {
    const a = items.slice();
    const n = Math.min(k, a.length);
    for (let i = 0; i < n; i++) {
      const j = i + this.int(a.length - i);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a.slice(0, n);
  }
}

/**
 * A stable 32-bit hash of a string, for seeding and for splits: FNV-1a, then MurmurHash3's finaliser.
 * Without the finaliser the high bits barely change between ids that differ only at the end
 * ("Z001", "Z002", ...), which put a whole set of similarly named subjects into one split.
 */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = imul(h ^ text.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
