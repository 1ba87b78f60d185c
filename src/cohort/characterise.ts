import { iriCurie, oboCurie } from '../model/iri.js';
import { HX, RDFS } from '../model/namespaces.js';
import type { Ontology } from '../ontology/index.js';
import type { GraphStore } from '../store/index.js';
import { benjaminiHochberg, fisherExact, oddsRatio } from './stats.js';

/** What characterisation needs of every patient in the store, read once per store state. */
export interface PatientFacts {
  id: string;
  sex: string;
  age?: number;
  /** Observed HPO terms as recorded (not propagated). */
  terms: string[];
  genes: string[];
  diseases: string[];
}

export interface StoreFacts {
  patients: Map<string, PatientFacts>;
  diseaseLabels: Map<string, string>;
}

export interface TermStat {
  id: string;
  label?: string;
  count: number;
  fraction: number;
  /** Patients with the term in the comparison group (the rest of the store, or cohort B). */
  otherCount: number;
  otherFraction: number;
  oddsRatio: number;
  p: number;
  q: number;
}

export interface Tally {
  value: string;
  label?: string;
  count: number;
  fraction: number;
}

export interface Characterisation {
  count: number;
  sex: Record<string, number>;
  ageBands: Record<string, number>;
  /** Most frequent terms in the cohort (a patient counts for a term when an observed term is it or below it). */
  topTerms: TermStat[];
  /** Terms over-represented against the rest of the store, q < 0.05, by p. */
  enrichedTerms: TermStat[];
  genes: Tally[];
  diseases: Tally[];
  testedTerms: number;
}

export interface Comparison {
  a: { count: number; onlyA: number };
  b: { count: number; onlyB: number };
  both: number;
  sex: Record<string, [number, number]>;
  ageBands: Record<string, [number, number]>;
  /** Terms ranked by p of A versus B (q by Benjamini-Hochberg over every term present in either). */
  terms: TermStat[];
  genes: { value: string; a: number; b: number }[];
  diseases: { value: string; label?: string; a: number; b: number }[];
}

export const AGE_BANDS: [string, number, number][] = [
  ['<1', 0, 1], ['1-4', 1, 5], ['5-11', 5, 12], ['12-17', 12, 18], ['18-39', 18, 40], ['40-64', 40, 65], ['>=65', 65, Infinity],
];

const cache = new WeakMap<GraphStore, { generation: string; facts: StoreFacts }>();

/** Reads sex, age, observed terms, genes and diseases of every patient; cached until the store changes. */
export async function storeFacts(store: GraphStore): Promise<StoreFacts> {
  const hit = cache.get(store);
  const generation = await store.generation();
  if (hit && hit.generation === generation) return hit.facts;
  const patients = new Map<string, PatientFacts>();
  for await (const r of store.selectStream(`SELECT ?id ?sex ?age WHERE { ?p a <${HX}Patient> ; <${HX}id> ?id . OPTIONAL { ?p <${HX}sex> ?sex } OPTIONAL { ?p <${HX}ageAtLastEncounterYears> ?age } }`, { lexical: true })) {
    patients.set(r.id!, { id: r.id!, sex: r.sex ?? 'UNKNOWN_SEX', age: r.age === undefined ? undefined : Number(r.age), terms: [], genes: [], diseases: [] });
  }
  const each = async (sparql: string, push: (f: PatientFacts, v: string) => void): Promise<void> => {
    for await (const r of store.selectStream(sparql, { lexical: true })) {
      const f = patients.get(r.id!);
      if (f && r.v) push(f, r.v);
    }
  };
  await each(`SELECT ?id ?v WHERE { ?p <${HX}id> ?id ; <${HX}hasPhenotype> ?t . BIND(STR(?t) AS ?v) }`, (f, v) => f.terms.push(oboCurie(v) ?? v));
  await each(`SELECT DISTINCT ?id ?v WHERE { ?p <${HX}id> ?id ; <${HX}hasGene> ?g . ?g <${HX}symbol> ?v }`, (f, v) => f.genes.push(v));
  await each(`SELECT DISTINCT ?id ?v WHERE { ?p <${HX}id> ?id ; <${HX}hasDisease> ?d . BIND(STR(?d) AS ?v) }`, (f, v) => f.diseases.push(iriCurie(v) ?? v));
  const diseaseLabels = new Map<string, string>();
  for (const r of await store.select(`SELECT ?d (SAMPLE(?l) AS ?label) WHERE { ?p <${HX}hasDisease> ?d . ?d <${RDFS}label> ?l } GROUP BY ?d`)) {
    diseaseLabels.set(iriCurie(r.d!) ?? r.d!, r.label!);
  }
  const facts = { patients, diseaseLabels };
  cache.set(store, { generation, facts });
  return facts;
}

/** Per term index: how many of `ids` have the term (true-path: an observed descendant counts). */
function termCounts(ids: Iterable<string>, facts: StoreFacts, ontology: Ontology): Int32Array {
  const counts = new Int32Array(ontology.size);
  const stamp = new Int32Array(ontology.size).fill(-1);
  let k = 0;
  for (const id of ids) {
    const f = facts.patients.get(id);
    if (!f) continue;
    for (const t of f.terms) {
      const i = ontology.indexOf(t);
      if (i < 0) continue;
      for (const a of ontology.ancestorIndices(i)) {
        if (stamp[a] === k) continue;
        stamp[a] = k;
        counts[a]++;
      }
    }
    k++;
  }
  return counts;
}

/** The root and its direct children (Phenotypic abnormality, Mode of inheritance...) say nothing about a cohort. */
function informative(ontology: Ontology): (i: number) => boolean {
  const root = ontology.indexOf('HP:0000001');
  const top = new Set<number>([root]);
  for (const c of ontology.children('HP:0000001')) top.add(ontology.indexOf(c));
  return (i) => !top.has(i);
}

function termStats(inA: Int32Array, nA: number, inB: Int32Array, nB: number, ontology: Ontology): TermStat[] {
  const keep = informative(ontology);
  const stats: TermStat[] = [];
  for (let i = 0; i < inA.length; i++) {
    if ((inA[i] === 0 && inB[i] === 0) || !keep(i)) continue;
    const [a, b, c, d] = [inA[i], nA - inA[i], inB[i], nB - inB[i]];
    const id = ontology.idAt(i);
    stats.push({
      id, label: ontology.label(id), count: a, fraction: ratio(a, nA), otherCount: c, otherFraction: ratio(c, nB),
      oddsRatio: round(oddsRatio(a, b, c, d)), p: fisherExact(a, b, c, d), q: 1,
    });
  }
  const q = benjaminiHochberg(stats.map((s) => s.p));
  stats.forEach((s, i) => (s.q = q[i]));
  return stats;
}

function ratio(x: number, n: number): number {
  return n === 0 ? 0 : round(x / n);
}

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 10000) / 10000 : x;
}

function sexes(ids: string[], facts: StoreFacts): Record<string, number> {
  const out: Record<string, number> = { FEMALE: 0, MALE: 0, OTHER_SEX: 0, UNKNOWN_SEX: 0 };
  for (const id of ids) {
    const s = facts.patients.get(id)?.sex ?? 'UNKNOWN_SEX';
    out[s] = (out[s] ?? 0) + 1;
  }
  return out;
}

/** Age at last encounter in bands; `unknown` when the phenopacket gives none. */
function ageBands(ids: string[], facts: StoreFacts): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries([...AGE_BANDS.map(([name]) => [name, 0]), ['unknown', 0]]);
  for (const id of ids) {
    const age = facts.patients.get(id)?.age;
    const band = age === undefined ? undefined : AGE_BANDS.find(([, lo, hi]) => age >= lo && age < hi);
    out[band ? band[0] : 'unknown']++;
  }
  return out;
}

function tally(ids: string[], facts: StoreFacts, field: 'genes' | 'diseases'): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) for (const v of new Set(facts.patients.get(id)?.[field] ?? [])) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

function top(counts: Map<string, number>, n: number, limit: number, labels?: Map<string, string>): Tally[] {
  return [...counts]
    .sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]))
    .slice(0, limit)
    .map(([value, count]) => ({ value, label: labels?.get(value), count, fraction: ratio(count, n) }));
}

/**
 * Describes a cohort: sex, age bands, the most frequent HPO terms and the terms enriched against the
 * rest of the store (two-sided Fisher's exact test per term, Benjamini-Hochberg over all terms seen),
 * the most frequent genes and diseases.
 */
export async function characterise(store: GraphStore, ontology: Ontology, members: string[], limit = 25): Promise<Characterisation> {
  const facts = await storeFacts(store);
  const inCohort = new Set(members.filter((id) => facts.patients.has(id)));
  const ids = [...inCohort];
  const rest = [...facts.patients.keys()].filter((id) => !inCohort.has(id));
  const stats = termStats(termCounts(ids, facts, ontology), ids.length, termCounts(rest, facts, ontology), rest.length, ontology)
    .filter((s) => s.count > 0);
  return {
    count: ids.length,
    sex: sexes(ids, facts),
    ageBands: ageBands(ids, facts),
    topTerms: [...stats].sort((x, y) => y.count - x.count || x.p - y.p || x.id.localeCompare(y.id)).slice(0, limit),
    enrichedTerms: stats.filter((s) => s.q < 0.05 && s.fraction > s.otherFraction).sort((x, y) => x.p - y.p || y.count - x.count).slice(0, limit),
    genes: top(tally(ids, facts, 'genes'), ids.length, limit),
    diseases: top(tally(ids, facts, 'diseases'), ids.length, limit, facts.diseaseLabels),
    testedTerms: stats.length,
  };
}

/** Two cohorts side by side: overlap, sex, age bands, terms (A versus B, Fisher + BH), genes, diseases. */
export async function compareCohorts(store: GraphStore, ontology: Ontology, a: string[], b: string[], limit = 25): Promise<Comparison> {
  const facts = await storeFacts(store);
  const A = a.filter((id) => facts.patients.has(id));
  const B = b.filter((id) => facts.patients.has(id));
  const setA = new Set(A);
  const setB = new Set(B);
  const both = A.filter((id) => setB.has(id)).length;
  const side = <T extends Record<string, number>>(x: T, y: T): Record<string, [number, number]> =>
    Object.fromEntries(Object.keys({ ...x, ...y }).map((k) => [k, [x[k] ?? 0, y[k] ?? 0]]));
  const terms = termStats(termCounts(A, facts, ontology), A.length, termCounts(B, facts, ontology), B.length, ontology)
    .sort((x, y) => x.p - y.p || y.count - x.count || x.id.localeCompare(y.id))
    .slice(0, limit);
  const pair = (field: 'genes' | 'diseases') => {
    const ca = tally(A, facts, field);
    const cb = tally(B, facts, field);
    return [...new Set([...ca.keys(), ...cb.keys()])]
      .map((value) => ({ value, a: ca.get(value) ?? 0, b: cb.get(value) ?? 0 }))
      .sort((x, y) => y.a + y.b - (x.a + x.b) || x.value.localeCompare(y.value))
      .slice(0, limit);
  };
  return {
    a: { count: A.length, onlyA: A.length - both },
    b: { count: B.length, onlyB: [...setB].filter((id) => !setA.has(id)).length },
    both,
    sex: side(sexes(A, facts), sexes(B, facts)),
    ageBands: side(ageBands(A, facts), ageBands(B, facts)),
    terms,
    genes: pair('genes'),
    diseases: pair('diseases').map((d) => ({ ...d, label: facts.diseaseLabels.get(d.value) })),
  };
}
