import type { Hpoa } from './hpoa.js';

// One disease often appears in phenotype.hpoa under two or three ids: OMIM, ORPHA and DECIPHER
// curate the same condition separately. A ranking that lists both splits the probability mass, and a
// patient diagnosed with the OMIM id is "missed" when the ORPHA entry of the same disease ranks first.
// The shipped data has no OMIM-ORPHA cross-reference file, so equivalence is read from what it does
// hold, conservatively (a wrong merge hides a disease; a missed one only costs a duplicate):
//
// - same name: the disease names are the same words once case, accents, punctuation, word order,
//   "of"/"the"/"type" and roman numerals are normalised ("Brachydactyly, type A2" = "Brachydactyly
//   type A2", "Vertical talus, congenital" = "Congenital vertical talus"), and, when both have gene
//   links (genes_to_phenotype), they share a gene;
// - same gene, similar name: otherwise, both are linked to exactly the same genes, each is the only
//   disease of its namespace linked to exactly those genes, their names share at least half of their
//   content words (Dice >= 0.5) and have the same numbers ("Spinocerebellar ataxia type 8" =
//   "Spinocerebellar ataxia 8", not "... 10").
//
// A pair is kept only when it is the single candidate on both sides; a class holds at most one id
// per namespace (an OMIM id, its ORPHA entry, its DECIPHER entry).

export type EquivalenceReason = 'name' | 'gene-and-name';

export interface EquivalentPair {
  a: string;
  b: string;
  reason: EquivalenceReason;
}

const ROMAN: Record<string, string> = { i: '1', ii: '2', iii: '3', iv: '4', v: '5', vi: '6', vii: '7', viii: '8', ix: '9', x: '10' };
const KEY_STOP = new Set(['of', 'the', 'type', 'a', 'an']);
const CONTENT_STOP = new Set([...KEY_STOP, 'and', 'with', 'or', 'to', 'due', 'in', 'by', 'form', 'disease', 'syndrome', 'disorder']);

/** Lower-case words of a disease name: accents stripped, punctuation and hyphens as spaces, roman numerals as digits. */
export function nameWords(name: string): string[] {
  const plain = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  return plain.replace(/[^a-z0-9]+/g, ' ').trim().split(' ').filter(Boolean).map((w) => ROMAN[w] ?? w);
}

/** The order-free comparison key of a name ("Vertical talus, congenital" and "Congenital vertical talus" share it). */
export function nameKey(name: string): string {
  return nameWords(name).filter((w) => !KEY_STOP.has(w)).sort().join(' ');
}

function contentWords(name: string): Set<string> {
  return new Set(nameWords(name).filter((w) => !CONTENT_STOP.has(w)));
}

/** Numbers and single-letter-digit designators (`8`, `2e`, `a2`) of a name: subtypes must agree. */
function designators(name: string): string {
  return nameWords(name).filter((w) => /\d/.test(w)).sort().join(' ');
}

function dice(a: Set<string>, b: Set<string>): number {
  if (!a.size || !b.size) return 0;
  let shared = 0;
  for (const w of a) if (b.has(w)) shared++;
  return (2 * shared) / (a.size + b.size);
}

const namespace = (id: string): string => id.slice(0, id.indexOf(':'));

/**
 * The equivalent pairs among the diseases of the annotations, from their names and (when given)
 * their gene links. Deterministic: pairs come sorted.
 */
export function equivalentPairs(hpoa: Hpoa, diseaseGenes?: ReadonlyMap<string, readonly string[]>): EquivalentPair[] {
  const ids = [...hpoa.diseases.keys()].sort();
  const label = (id: string): string => hpoa.diseases.get(id)!.label;
  const genesOf = (id: string): readonly string[] => diseaseGenes?.get(id) ?? [];
  const geneKey = (id: string): string => [...new Set(genesOf(id).map((g) => g.toUpperCase()))].sort().join(',');
  const byName = new Map<string, string[]>();
  const byGenes = new Map<string, string[]>();
  for (const id of ids) {
    push(byName, `${namespace(id)}|${nameKey(label(id))}`, id);
    const g = geneKey(id);
    if (g) push(byGenes, `${namespace(id)}|${g}`, id);
  }
  const namespaces = [...new Set(ids.map(namespace))].sort();
  // Candidates of x in namespace ns: same name first; only when there is none, same genes and a similar name.
  const candidate = (x: string, ns: string): { id: string; reason: EquivalenceReason } | undefined => {
    const named = (byName.get(`${ns}|${nameKey(label(x))}`) ?? []).filter((y) => shareGeneOrUnlinked(genesOf(x), genesOf(y)));
    if (named.length) return named.length === 1 ? { id: named[0], reason: 'name' } : undefined;
    const g = geneKey(x);
    if (!g || (byGenes.get(`${namespace(x)}|${g}`) ?? []).length !== 1) return undefined;
    const same = byGenes.get(`${ns}|${g}`) ?? [];
    if (same.length !== 1) return undefined;
    const y = same[0];
    const similar = dice(contentWords(label(x)), contentWords(label(y))) >= 0.5 && designators(label(x)) === designators(label(y));
    return similar ? { id: y, reason: 'gene-and-name' } : undefined;
  };
  const pairs: EquivalentPair[] = [];
  for (const [i, nsA] of namespaces.entries()) {
    for (const nsB of namespaces.slice(i + 1)) {
      for (const x of ids) {
        if (namespace(x) !== nsA) continue;
        const c = candidate(x, nsB);
        // Kept only when x is also y's single candidate back.
        if (c && candidate(c.id, nsA)?.id === x) pairs.push({ a: x, b: c.id, reason: c.reason });
      }
    }
  }
  return pairs;
}

function shareGeneOrUnlinked(a: readonly string[], b: readonly string[]): boolean {
  if (!a.length || !b.length) return true;
  const set = new Set(a.map((g) => g.toUpperCase()));
  return b.some((g) => set.has(g.toUpperCase()));
}

function push(map: Map<string, string[]>, key: string, id: string): void {
  const list = map.get(key);
  if (list) list.push(id);
  else map.set(key, [id]);
}

/**
 * Diseases grouped into classes of equivalent ids. Scores per disease collapse to scores per class
 * (the best member's), so a ranking lists each disease once and evaluation counts any id of the
 * diagnosis's class as the diagnosis.
 */
export class DiseaseClasses {
  /** disease index -> class index */
  readonly ofDisease: Int32Array;
  /** class index -> disease indices, the preferred id (OMIM, then ORPHA, then DECIPHER, ...) first. */
  readonly members: readonly (readonly number[])[];
  readonly pairs: readonly EquivalentPair[];

  constructor(ids: readonly string[], pairs: readonly EquivalentPair[] = []) {
    const position = new Map(ids.map((id, i) => [id, i]));
    const parent = Int32Array.from(ids, (_, i) => i);
    const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
    const kept: EquivalentPair[] = [];
    for (const p of pairs) {
      const a = position.get(p.a);
      const b = position.get(p.b);
      if (a === undefined || b === undefined) continue;
      parent[find(a)] = find(b);
      kept.push(p);
    }
    const groups = new Map<number, number[]>();
    ids.forEach((_, i) => {
      const root = find(i);
      groups.set(root, [...(groups.get(root) ?? []), i]);
    });
    const members: number[][] = [];
    for (const g of groups.values()) {
      // A class with two ids of one namespace came from chained pairs: too uncertain, split it.
      const nss = g.map((i) => namespace(ids[i]));
      if (new Set(nss).size < g.length) for (const i of g) members.push([i]);
      else members.push(g.sort((x, y) => preference(ids[x]) - preference(ids[y]) || x - y));
    }
    members.sort((x, y) => x[0] - y[0]);
    this.members = members;
    this.ofDisease = new Int32Array(ids.length);
    members.forEach((m, c) => m.forEach((i) => (this.ofDisease[i] = c)));
    this.pairs = kept.filter((p) => this.ofDisease[position.get(p.a)!] === this.ofDisease[position.get(p.b)!]);
  }

  get size(): number {
    return this.members.length;
  }

  /** Per-class scores: the best member's score. */
  collapse(scores: Float64Array): Float64Array {
    const out = new Float64Array(this.size).fill(-Infinity);
    for (let d = 0; d < scores.length; d++) {
      const c = this.ofDisease[d];
      if (scores[d] > out[c]) out[c] = scores[d];
    }
    return out;
  }

  /** The member holding a class's score. */
  bestMember(c: number, scores: Float64Array): number {
    let best = this.members[c][0];
    for (const d of this.members[c]) if (scores[d] > scores[best]) best = d;
    return best;
  }

  /** 1 for the classes with any flagged member. */
  anyMember(flags: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.size);
    for (let d = 0; d < flags.length; d++) if (flags[d]) out[this.ofDisease[d]] = 1;
    return out;
  }
}

const PREFERENCE = ['OMIM', 'ORPHA', 'DECIPHER'];

function preference(id: string): number {
  const i = PREFERENCE.indexOf(namespace(id));
  return i < 0 ? PREFERENCE.length : i;
}
