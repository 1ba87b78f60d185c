import { newTerm, type OntologyData, type SynonymScope, type Term } from './term.js';

// Reader for OBO Graphs JSON (the `hp.json` of HPO releases).

const OBO_PURL = 'http://purl.obolibrary.org/obo/';
const OIO = 'http://www.geneontology.org/formats/oboInOwl#';
const REPLACED_BY = 'http://purl.obolibrary.org/obo/IAO_0100001';

interface GraphNode {
  id: string;
  lbl?: string;
  type?: string;
  meta?: {
    definition?: { val?: string };
    synonyms?: { pred?: string; val?: string; synonymType?: string }[];
    xrefs?: { val?: string }[];
    basicPropertyValues?: { pred?: string; val?: string }[];
    deprecated?: boolean;
  };
}
interface GraphEdge { sub: string; pred: string; obj: string }
interface Graph {
  id?: string;
  meta?: { version?: string; basicPropertyValues?: { pred?: string; val?: string }[] };
  nodes?: GraphNode[];
  edges?: GraphEdge[];
}

/** `http://purl.obolibrary.org/obo/HP_0000001` -> `HP:0000001`; CURIEs pass through. */
export function toCurie(idOrIri: string): string {
  if (idOrIri.startsWith(OBO_PURL)) {
    const local = idOrIri.slice(OBO_PURL.length);
    const i = local.indexOf('_');
    return i > 0 ? `${local.slice(0, i)}:${local.slice(i + 1)}` : local;
  }
  return idOrIri;
}

const SCOPES: Record<string, SynonymScope> = {
  hasExactSynonym: 'EXACT',
  hasRelatedSynonym: 'RELATED',
  hasBroadSynonym: 'BROAD',
  hasNarrowSynonym: 'NARROW',
};

function versionOf(graph: Graph): string {
  const info = graph.meta?.basicPropertyValues?.find((p) => p.pred === 'http://www.w3.org/2002/07/owl#versionInfo');
  if (info?.val) return info.val;
  const m = graph.meta?.version?.match(/releases\/([^/]+)\//);
  return m ? m[1] : graph.meta?.version ?? 'unknown';
}

/**
 * Only classes of the ontology's own prefix become terms (imported classes such as UBERON
 * or PATO are left out), so the name decides the prefix: `hp` -> `HP`.
 */
export function parseOboGraphs(json: unknown, source = 'OBO Graphs JSON'): OntologyData {
  const doc = json as { graphs?: Graph[] };
  const graph = doc?.graphs?.[0];
  if (!graph || !Array.isArray(graph.nodes)) throw new Error(`${source}: not an OBO Graphs document (no graphs[0].nodes)`);
  const name = (graph.id?.match(/obo\/([a-z]+)\.(json|owl|obo)$/)?.[1] ?? 'hp').toLowerCase();
  const prefix = name.toUpperCase() + ':';
  const terms = new Map<string, Term>();
  for (const node of graph.nodes) {
    if (node.type !== 'CLASS') continue;
    const id = toCurie(node.id);
    if (!id.startsWith(prefix)) continue;
    const term = newTerm(id);
    term.label = node.lbl ?? '';
    const meta = node.meta ?? {};
    term.definition = meta.definition?.val;
    term.obsolete = meta.deprecated === true;
    for (const s of meta.synonyms ?? []) {
      if (!s.val) continue;
      const scope = SCOPES[s.pred ?? ''] ?? 'RELATED';
      const type = s.synonymType?.split('#').pop();
      term.synonyms.push(type ? { text: s.val, scope, type } : { text: s.val, scope });
    }
    for (const x of meta.xrefs ?? []) if (x.val) term.xrefs.push(x.val);
    for (const p of meta.basicPropertyValues ?? []) {
      if (!p.val) continue;
      if (p.pred === OIO + 'hasAlternativeId') term.altIds.push(p.val);
      else if (p.pred === REPLACED_BY) term.replacedBy = toCurie(p.val);
      else if (p.pred === OIO + 'consider') term.consider.push(toCurie(p.val));
    }
    term.umls = umlsFromXrefs(term.xrefs);
    terms.set(id, term);
  }
  for (const e of graph.edges ?? []) {
    if (e.pred !== 'is_a') continue;
    const child = terms.get(toCurie(e.sub));
    const parent = toCurie(e.obj);
    if (child && terms.has(parent)) child.parents.push(parent);
  }
  return { name, version: versionOf(graph), terms: [...terms.values()] };
}

export function umlsFromXrefs(xrefs: string[]): string[] {
  const cuis = new Set<string>();
  for (const x of xrefs) {
    const m = x.match(/^UMLS(?:_CUI)?:(C\d{7})$/i);
    if (m) cuis.add(m[1].toUpperCase());
  }
  return [...cuis];
}
