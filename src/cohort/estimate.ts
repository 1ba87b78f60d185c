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

const cache = new WeakMap<GraphStore, { size: number; stats: Cardinalities }>();

/** What a store offers that is cheap to ask: counting quads (size()) scans the whole store. */
type Graphs = { graphNames?(): ReadonlySet<string> };

/**
 * Per-term and per-gene patient counts, one GROUP BY each, cached until the number of graphs
 * changes. Stale counts after an in-place re-ingest only change the order of joins, never an answer.
 */
export function cardinalities(store: GraphStore & Graphs): Cardinalities {
  const size = store.graphNames ? store.graphNames().size : store.size();
  const hit = cache.get(store);
  if (hit && hit.size === size) return hit.stats;
  const counts = (sparql: string, key: (v: string) => string): Map<string, number> =>
    new Map(store.select(sparql).map((r) => [key(r.k!), Number(r.n)]));
  const [row] = store.select(`SELECT (COUNT(?p) AS ?n) WHERE { ?p a <${HX}Patient> }`);
  const stats: Cardinalities = {
    patients: Number(row?.n ?? 0),
    observed: counts(`SELECT ?k (COUNT(?p) AS ?n) WHERE { ?p <${HX}hasPhenotype> ?k } GROUP BY ?k`, (v) => oboCurie(v) ?? v),
    excluded: counts(`SELECT ?k (COUNT(?p) AS ?n) WHERE { ?p <${HX}excludedPhenotype> ?k } GROUP BY ?k`, (v) => oboCurie(v) ?? v),
    genes: counts(`SELECT ?k (COUNT(?p) AS ?n) WHERE { ?p <${HX}hasGene> ?g . ?g <${HX}symbol> ?k } GROUP BY ?k`, (v) => v),
  };
  cache.set(store, { size, stats });
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
