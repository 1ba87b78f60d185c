import { iriCurie, oboCurie } from '../model/iri.js';
import type { Ontology } from '../ontology/index.js';
import type { GraphStore } from '../store/index.js';
import { compileLeaf, describeLeaf } from './compile.js';
import type { Leaf, Node, ResolvedCohort } from './resolve.js';
import { leaves } from './resolve.js';

/** A concrete value that made a criterion match: an HPO term with its label, a gene, an age. */
export interface Evidence {
  value: string;
  label?: string;
}

/** Why a patient is (or is not) in a cohort, criterion by criterion. */
export interface ExplainNode {
  path: string;
  criterion: string;
  matched: boolean;
  evidence?: Evidence[];
  children?: ExplainNode[];
}

export interface Explanation {
  patient: string;
  matched: boolean;
  criteria: ExplainNode;
}

/** Per leaf: which patients it matches, and for each the values that made it match. */
type LeafHits = Map<string, Map<string, Evidence[]>>;

/**
 * Explains memberships: each leaf criterion runs on its own (its SPARQL with the evidence variable
 * selected), then the criterion tree is evaluated per patient. This is a second, independent path to
 * the same membership as the compiled query, so a disagreement would show up as matched=false.
 */
export async function explainCohort(store: GraphStore, ontology: Ontology, cohort: ResolvedCohort, patients: string[]): Promise<Explanation[]> {
  const hits = await leafHits(store, ontology, cohort);
  return patients.map((patient) => {
    const criteria = explainNode(cohort.root, patient, hits);
    return { patient, matched: criteria.matched, criteria };
  });
}

async function leafHits(store: GraphStore, ontology: Ontology, cohort: ResolvedCohort): Promise<LeafHits> {
  const out: LeafHits = new Map();
  for (const leaf of leaves(cohort.root)) {
    const { sparql, evidence } = compileLeaf(leaf);
    const byPatient = new Map<string, Evidence[]>();
    const variable = evidence?.slice(1);
    for await (const row of store.selectStream(sparql, { lexical: true })) {
      const list = byPatient.get(row.id!) ?? [];
      if (variable && row[variable] !== undefined) list.push(toEvidence(row[variable]!, ontology));
      byPatient.set(row.id!, list);
    }
    out.set(leaf.path, byPatient);
  }
  return out;
}

function toEvidence(value: string, ontology: Ontology): Evidence {
  const obo = oboCurie(value);
  if (obo) return { value: obo, label: ontology.label(obo) };
  if (/^https?:/.test(value)) {
    const curie = iriCurie(value);
    return { value: curie ?? decodeURIComponent(value.slice(value.lastIndexOf('/') + 1)) };
  }
  return { value };
}

function explainNode(node: Node, patient: string, hits: LeafHits): ExplainNode {
  if (!('children' in node)) return explainLeaf(node, patient, hits);
  const children = node.children.map((c) => explainNode(c, patient, hits));
  const n = children.filter((c) => c.matched).length;
  const need = node.kind === 'atLeast' ? node.n : node.kind === 'all' ? children.length : 1;
  const matched = node.kind === 'none' ? n === 0 : n >= need;
  const label = node.kind === 'atLeast' ? `at least ${node.n} of ${children.length}` : `${node.kind} of ${children.length}`;
  return { path: node.path, criterion: label, matched, children };
}

function explainLeaf(leaf: Leaf, patient: string, hits: LeafHits): ExplainNode {
  const found = hits.get(leaf.path)!.get(patient);
  const negated = leaf.kind === 'phenotype' && leaf.status === 'notRecorded';
  const matched = negated ? found === undefined : found !== undefined;
  const node: ExplainNode = { path: leaf.path, criterion: describeLeaf(leaf), matched };
  if (found && found.length) node.evidence = dedupe(found);
  return node;
}

function dedupe(list: Evidence[]): Evidence[] {
  const seen = new Map<string, Evidence>();
  for (const e of list) if (!seen.has(e.value)) seen.set(e.value, e);
  return [...seen.values()].sort((a, b) => a.value.localeCompare(b.value));
}

/** Patients the criterion tree accepts when evaluated from the per-leaf answers (a cross-check). */
export async function membersByLeaves(store: GraphStore, ontology: Ontology, cohort: ResolvedCohort, universe: string[]): Promise<string[]> {
  return (await explainCohort(store, ontology, cohort, universe)).filter((e) => e.matched).map((e) => e.patient);
}
