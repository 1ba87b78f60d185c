import type { OntologyData, Synonym, Term } from './term.js';

/** What an id given by a user or a data file resolves to. */
export type Resolution =
  | { status: 'primary'; id: string; input: string }
  | { status: 'alt_id'; id: string; input: string }
  | { status: 'replaced'; id: string; input: string; obsolete: string }
  | { status: 'obsolete'; input: string; consider: string[] }
  | { status: 'unknown'; input: string };

export interface SearchHit {
  id: string;
  label: string;
  score: number;
  /** The label or synonym that matched. */
  matched: string;
}

/**
 * An indexed ontology: terms by primary id, alt_ids and obsolete ids resolved to their primary,
 * and the is_a DAG as integer adjacency so ancestor and descendant sets are cheap to compute and cache.
 */
export class Ontology {
  readonly name: string;
  readonly version: string;
  private readonly terms = new Map<string, Term>();
  private readonly alt = new Map<string, string>();
  private readonly index = new Map<string, number>();
  private readonly ids: string[] = [];
  private readonly parentIdx: Int32Array[] = [];
  private readonly childIdx: Int32Array[] = [];
  private readonly ancestorCache: (Int32Array | undefined)[] = [];
  private readonly descendantCache: (Int32Array | undefined)[] = [];
  private readonly byCui = new Map<string, string[]>();
  private tokenIndex?: Map<string, number[]>;

  constructor(data: OntologyData) {
    this.name = data.name;
    this.version = data.version;
    for (const t of data.terms) {
      this.terms.set(t.id, t);
      if (!t.obsolete) {
        this.index.set(t.id, this.ids.length);
        this.ids.push(t.id);
      }
    }
    for (const t of data.terms) for (const a of t.altIds) if (!this.terms.has(a)) this.alt.set(a, t.id);
    const children: number[][] = this.ids.map(() => []);
    for (let i = 0; i < this.ids.length; i++) {
      const t = this.terms.get(this.ids[i])!;
      const ps = t.parents.map((p) => this.index.get(p)).filter((p): p is number => p !== undefined);
      this.parentIdx.push(Int32Array.from(ps));
      for (const p of ps) children[p].push(i);
      for (const cui of t.umls) {
        const list = this.byCui.get(cui) ?? [];
        list.push(t.id);
        this.byCui.set(cui, list);
      }
    }
    for (const c of children) this.childIdx.push(Int32Array.from(c));
  }

  get size(): number {
    return this.ids.length;
  }

  /** Every non-obsolete term id, in a fixed order (the integer index order). */
  termIds(): readonly string[] {
    return this.ids;
  }

  allTerms(): IterableIterator<Term> {
    return this.terms.values();
  }

  get(id: string): Term | undefined {
    return this.terms.get(id) ?? this.terms.get(this.alt.get(id) ?? '');
  }

  has(id: string): boolean {
    return this.index.has(id);
  }

  label(id: string): string | undefined {
    return this.get(id)?.label;
  }

  /** Integer index of a current term (for dense arrays in hot loops), or -1. */
  indexOf(id: string): number {
    return this.index.get(id) ?? -1;
  }

  idAt(i: number): string {
    return this.ids[i];
  }

  /** alt_id -> primary; obsolete -> its replaced_by; otherwise says why it cannot be used. */
  resolve(input: string): Resolution {
    const id = input.trim();
    if (this.index.has(id)) return { status: 'primary', id, input };
    const primary = this.alt.get(id);
    if (primary && this.index.has(primary)) return { status: 'alt_id', id: primary, input };
    const term = this.terms.get(id) ?? (primary ? this.terms.get(primary) : undefined);
    if (term?.obsolete) {
      const seen = new Set<string>();
      let next = term.replacedBy;
      while (next && !seen.has(next)) {
        seen.add(next);
        if (this.index.has(next)) return { status: 'replaced', id: next, input, obsolete: term.id };
        const alt = this.alt.get(next);
        if (alt && this.index.has(alt)) return { status: 'replaced', id: alt, input, obsolete: term.id };
        next = this.terms.get(next)?.replacedBy;
      }
      return { status: 'obsolete', input, consider: term.consider };
    }
    return { status: 'unknown', input };
  }

  parents(id: string): string[] {
    const i = this.index.get(id);
    return i === undefined ? [] : [...this.parentIdx[i]].map((p) => this.ids[p]);
  }

  children(id: string): string[] {
    const i = this.index.get(id);
    return i === undefined ? [] : [...this.childIdx[i]].map((c) => this.ids[c]);
  }

  /** Ancestor indices including the term itself, sorted ascending; cached. */
  ancestorIndices(i: number): Int32Array {
    return (this.ancestorCache[i] ??= this.closure(i, this.parentIdx));
  }

  descendantIndices(i: number): Int32Array {
    return (this.descendantCache[i] ??= this.closure(i, this.childIdx));
  }

  private closure(start: number, edges: Int32Array[]): Int32Array {
    const seen = new Set<number>([start]);
    const stack = [start];
    while (stack.length) {
      const n = stack.pop()!;
      for (const m of edges[n]) if (!seen.has(m)) { seen.add(m); stack.push(m); }
    }
    return Int32Array.from(seen).sort();
  }

  /** Ancestors (is_a, transitive) of a term, itself included unless `self` is false. */
  ancestors(id: string, self = true): string[] {
    const i = this.index.get(id);
    if (i === undefined) return [];
    return [...this.ancestorIndices(i)].filter((a) => self || a !== i).map((a) => this.ids[a]);
  }

  descendants(id: string, self = true): string[] {
    const i = this.index.get(id);
    if (i === undefined) return [];
    return [...this.descendantIndices(i)].filter((d) => self || d !== i).map((d) => this.ids[d]);
  }

  /** Is `id` the same as or a descendant of `ancestor`? */
  isA(id: string, ancestor: string): boolean {
    const i = this.index.get(id);
    const a = this.index.get(ancestor);
    if (i === undefined || a === undefined) return false;
    return this.isAIndex(i, a);
  }

  /** isA by term indices: term `i` is `a` or a descendant of it (a binary search of its sorted ancestors). */
  isAIndex(i: number, a: number): boolean {
    const anc = this.ancestorIndices(i);
    let lo = 0;
    let hi = anc.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (anc[mid] === a) return true;
      if (anc[mid] < a) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  umls(id: string): string[] {
    return this.get(id)?.umls ?? [];
  }

  /** HPO terms mapped to a UMLS CUI (`C0036572` or `UMLS:C0036572`). */
  byUmls(cui: string): string[] {
    return this.byCui.get(cui.replace(/^UMLS:/i, '').toUpperCase()) ?? [];
  }

  /** Adds CUIs from an SSSOM mapping set; returns how many new HPO-CUI pairs were added. */
  addUmlsMappings(mappings: Map<string, string[]>): number {
    let added = 0;
    for (const [hp, cuis] of mappings) {
      const term = this.get(hp);
      if (!term) continue;
      for (const cui of cuis) {
        if (term.umls.includes(cui)) continue;
        term.umls.push(cui);
        const list = this.byCui.get(cui) ?? [];
        list.push(term.id);
        this.byCui.set(cui, list);
        added++;
      }
    }
    return added;
  }

  /**
   * Ranked term search over labels and synonyms: exact match, then prefix of the whole name,
   * then every query token a prefix of some word; labels rank above synonyms, shorter names above longer.
   */
  search(query: string, limit = 10): SearchHit[] {
    const q = normalise(query);
    if (!q) return [];
    const direct = this.resolve(query.trim().toUpperCase().replace(/^HP_/, 'HP:'));
    const cuiHits = /^(UMLS:)?C\d{7}$/i.test(query.trim()) ? this.byUmls(query.trim()) : [];
    const tokens = q.split(' ');
    const candidates = this.candidates(tokens);
    const hits: SearchHit[] = [];
    for (const i of candidates) {
      const term = this.terms.get(this.ids[i])!;
      let best: SearchHit | undefined;
      const names: [string, boolean][] = [[term.label, true], ...term.synonyms.map((s: Synonym) => [s.text, false] as [string, boolean])];
      for (const [name, isLabel] of names) {
        const score = scoreName(normalise(name), q, tokens, isLabel);
        if (score > 0 && (!best || score > best.score)) best = { id: term.id, label: term.label, score, matched: name };
      }
      if (best) hits.push(best);
    }
    const boost = (id: string, matched: string): void => {
      const existing = hits.find((h) => h.id === id);
      if (existing) existing.score = 1000;
      else hits.push({ id, label: this.label(id) ?? id, score: 1000, matched });
    };
    if (direct.status !== 'unknown' && direct.status !== 'obsolete') boost(direct.id, query.trim());
    for (const id of cuiHits) boost(id, query.trim());
    hits.sort((a, b) => b.score - a.score || a.label.length - b.label.length || a.id.localeCompare(b.id));
    return hits.slice(0, limit);
  }

  private candidates(tokens: string[]): Set<number> {
    const index = (this.tokenIndex ??= this.buildTokenIndex());
    // Terms that have a word starting with the rarest-looking (longest) query token.
    const key = [...tokens].sort((a, b) => b.length - a.length)[0];
    const out = new Set<number>();
    for (const [word, list] of index) if (word.startsWith(key)) for (const i of list) out.add(i);
    return out;
  }

  private buildTokenIndex(): Map<string, number[]> {
    const index = new Map<string, number[]>();
    for (let i = 0; i < this.ids.length; i++) {
      const term = this.terms.get(this.ids[i])!;
      const words = new Set<string>();
      for (const name of [term.label, ...term.synonyms.map((s) => s.text)]) for (const w of normalise(name).split(' ')) if (w) words.add(w);
      for (const w of words) {
        const list = index.get(w) ?? [];
        list.push(i);
        index.set(w, list);
      }
    }
    return index;
  }

  /** Plain data for persistence next to a store (rebuilt with `new Ontology(data)`). */
  toData(): OntologyData {
    return { name: this.name, version: this.version, terms: [...this.terms.values()] };
  }
}

function normalise(s: string): string {
  return s.toLowerCase().normalize('NFKD').replace(/[\u0300-\u036f]/g, '').replace(/[^a-z0-9]+/g, ' ').trim();
}

function scoreName(name: string, q: string, tokens: string[], isLabel: boolean): number {
  const bonus = isLabel ? 5 : 0;
  if (name === q) return 100 + bonus;
  if (name.startsWith(q)) return 80 + bonus - Math.min(name.length - q.length, 40) / 4;
  const words = name.split(' ');
  if (tokens.every((t) => words.some((w) => w.startsWith(t)))) {
    const exactWords = tokens.filter((t) => words.includes(t)).length;
    return 50 + bonus + (exactWords * 10) / tokens.length - Math.min(words.length - tokens.length, 20) / 2;
  }
  return 0;
}
