import { oboCurie } from '../model/iri.js';
import { HX } from '../model/namespaces.js';
import type { GraphStore } from '../store/index.js';
import type { Leaf, Node } from './resolve.js';

/** Store statistics the compiler uses to put the most selective criteria of an `all` first. */
export interface Cardinalities {
  patients: number;
  observed: Map<string, number>;
  excluded: Map<string, number>;
  genes: Map<string, number>;
}

const cache = new WeakMap<GraphStore, { generation: string; stats: Cardinalities }>();

/**
 * Per-term and per-gene patient counts, one GROUP BY each, cached until the store changes.
 */
export async function cardinalities(store: GraphStore): Promise<Cardinalities> {
  const generation = await store.generation();
  const hit = cache.get(store);
  if (hit && hit.generation === generation) return hit.stats;
  const counts = async (sparql: string, key: (v: string) => string): Promise<Map<string, number>> =>
    new Map((await store.select(sparql, { lexical: true })).map((r) => [key(r.k!), Number(r.n)]));
  const [row] = await store.select(`SELECT (COUNT(?p) AS ?n) WHERE { ?p a <${HX}Patient> }`, { lexical: true });
  const stats: Cardinalities = {
    patients: Number(row?.n ?? 0),
    observed: await counts(`SELECT ?k (COUNT(?p) AS ?n) WHERE { ?p <${HX}hasPhenotype> ?k } GROUP BY ?k`, (v) => oboCurie(v) ?? v),
    excluded: await counts(`SELECT ?k (COUNT(?p) AS ?n) WHERE { ?p <${HX}excludedPhenotype> ?k } GROUP BY ?k`, (v) => oboCurie(v) ?? v),
    genes: await counts(`SELECT ?k (COUNT(?p) AS ?n) WHERE { ?p <${HX}hasGene> ?g . ?g <${HX}symbol> ?k } GROUP BY ?k`, (v) => v),
  };
  cache.set(store, { generation, stats });
  return stats;
}

/**
 * Rough number of patients a criterion matches (an upper bound for term sets: the sum of the terms'
 * counts). Only the order matters; negations are filters applied last, whatever their estimate.
 */
export function estimate(node: Node, c: Cardinalities): number {
  const all = Math.max(c.patients, 1);
  switch (node.kind) {
    case 'all':
      return Math.min(...node.children.map((n) => estimate(n, c)), all);
    case 'any':
    case 'atLeast':
      return Math.min(all, node.children.reduce((s, n) => s + estimate(n, c), 0));
    case 'none':
      return all;
    default:
      return estimateLeaf(node, c, all);
  }
}

function estimateLeaf(leaf: Leaf, c: Cardinalities, all: number): number {
  switch (leaf.kind) {
    case 'phenotype': {
      if (leaf.status === 'notRecorded') return all;
      const counts = leaf.status === 'observed' ? c.observed : c.excluded;
      return Math.min(all, leaf.terms.reduce((s, t) => s + (counts.get(t) ?? 0), 0));
    }
    case 'gene':
      return 'symbol' in leaf.gene ? c.genes.get(leaf.gene.symbol) ?? 0 : all / 1000;
    case 'disease':
    case 'publication':
    case 'variant':
      return all / 1000;
    case 'site':
    case 'modality':
      return all / 10;
    case 'sex':
      return all / 2;
    case 'age':
    case 'onset':
      return all / 3;
  }
}
