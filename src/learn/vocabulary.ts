import type { Ontology } from '../ontology/index.js';
import type { Rng } from './random.js';

const { log, sqrt } = Math;

/**
 * The HPO terms the model embeds: every non-obsolete term of the store's ontology, plus any id the data
 * uses that the ontology lacks (a record finding outside a small ontology), which then has no ancestors
 * but itself. Ancestors are vocabulary indices, the term itself included, sorted.
 */
export interface TermVocabulary {
  ids: string[];
  index: Map<string, number>;
  ancestors: Int32Array[];
  /** Intrinsic information content, -ln(descendants / terms), from the is_a DAG alone. */
  ic: Float32Array;
}

export function buildVocabulary(ontology: Ontology | undefined, extra: Iterable<string> = []): TermVocabulary {
  const ids: string[] = [];
  const index = new Set<string>();
  const add = (id: string) => {
    if (!index.has(id)) {
      index.add(id);
      ids.push(id);
    }
  };
  if (ontology) for (const t of ontology.allTerms()) if (!t.obsolete) add(t.id);
  for (const id of extra) add(id);
  return vocabularyFromIds(ids, ontology);
}

/** The vocabulary of a saved model: its term ids in their saved order, ancestors from the ontology. */
export function vocabularyFromIds(ids: string[], ontology: Ontology | undefined): TermVocabulary {
  const index = new Map(ids.map((id, i) => [id, i] as [string, number]));
  const ancestors = ids.map((id, v) => {
    const i = ontology?.indexOf(id) ?? -1;
    if (i < 0) return Int32Array.of(v);
    const a: number[] = [];
    for (const oi of ontology!.ancestorIndices(i)) {
      const vi = index.get(ontology!.idAt(oi));
      if (vi !== undefined) a.push(vi);
    }
    if (!a.includes(v)) a.push(v);
    return Int32Array.from(a).sort();
  });
  const descendants = new Float64Array(ids.length);
  for (const a of ancestors) for (const x of a) descendants[x]++;
  const ic = new Float32Array(ids.length);
  for (let i = 0; i < ids.length; i++) ic[i] = log(ids.length / descendants[i]);
  return { ids, index, ancestors, ic };
}

/** The weight an ancestor gets: its IC, with a floor so the root still counts a little. */
const weight = (vocab: TermVocabulary, a: number) => vocab.ic[a] + 0.1;

/**
 * Initial term vectors: each term the IC-weighted mean of random base vectors of its ancestors (itself
 * included), scaled to unit length, so terms sharing specific ancestors start close together.
 */
export function initialTermVectors(vocab: TermVocabulary, dim: number, rng: Rng): Float32Array {
  const n = vocab.ids.length;
  const base = rng.normals(n * dim);
  const out = new Float32Array(n * dim);
  for (let t = 0; t < n; t++) {
    const row = t * dim;
    for (const a of vocab.ancestors[t]) {
      const w = weight(vocab, a);
      for (let k = 0; k < dim; k++) out[row + k] += w * base[a * dim + k];
    }
    let norm = 0;
    for (let k = 0; k < dim; k++) norm += out[row + k] * out[row + k];
    const s = 1 / (sqrt(norm) || 1);
    for (let k = 0; k < dim; k++) out[row + k] *= s;
  }
  return out;
}

/**
 * How close two terms are in the ontology, in [0, 1]: the IC-weighted overlap of their ancestor sets
 * (weighted Jaccard). 1 for the same term, small for terms meeting only near the root: a graph
 * distance that also accounts for how specific the shared ancestors are.
 */
export function ontologySimilarity(vocab: TermVocabulary, i: number, j: number): number {
  const a = vocab.ancestors[i];
  const b = vocab.ancestors[j];
  let shared = 0;
  let union = 0;
  let x = 0;
  let y = 0;
  while (x < a.length || y < b.length) {
    if (y >= b.length || (x < a.length && a[x] < b[y])) union += weight(vocab, a[x++]);
    else if (x >= a.length || b[y] < a[x]) union += weight(vocab, b[y++]);
    else {
      const w = weight(vocab, a[x]);
      shared += w;
      union += w;
      x++;
      y++;
    }
  }
  return union > 0 ? shared / union : 0;
}
