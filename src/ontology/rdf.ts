import { DataFactory, type Quad } from 'n3';
import { HX, IAO, OBOINOWL, OWL, RDF, RDFS, SKOS, UMLS, XSD } from '../model/namespaces.js';
import { ONTOLOGY_GRAPH, oboIri } from '../model/iri.js';
import type { Ontology } from './ontology.js';

const { namedNode, literal, quad } = DataFactory;

const SYN_PRED: Record<string, string> = {
  EXACT: OBOINOWL + 'hasExactSynonym',
  RELATED: OBOINOWL + 'hasRelatedSynonym',
  BROAD: OBOINOWL + 'hasBroadSynonym',
  NARROW: OBOINOWL + 'hasNarrowSynonym',
};

/**
 * The ontology as triples in its own named graph: classes, labels, definitions, synonyms,
 * is_a as rdfs:subClassOf, alt_ids, obsolete flags with replacements, and UMLS mappings
 * (as the oboInOwl xref string and as a UMLS concept IRI via skos:closeMatch plus hx:umlsCui).
 */
export function ontologyQuads(ontology: Ontology): Quad[] {
  const g = namedNode(ONTOLOGY_GRAPH);
  const out: Quad[] = [];
  const add = (s: string, p: string, o: ReturnType<typeof namedNode> | ReturnType<typeof literal>): void => {
    out.push(quad(namedNode(s), namedNode(p), o, g));
  };
  const onto = `https://w3id.org/harmonia/ontology/${ontology.name}`;
  add(onto, RDF + 'type', namedNode(OWL + 'Ontology'));
  add(onto, OWL + 'versionInfo', literal(ontology.version));
  for (const t of ontology.allTerms()) {
    const s = oboIri(t.id);
    add(s, RDF + 'type', namedNode(OWL + 'Class'));
    add(s, OBOINOWL + 'id', literal(t.id));
    if (t.label) add(s, RDFS + 'label', literal(t.label));
    if (t.definition) add(s, IAO + '0000115', literal(t.definition));
    for (const syn of t.synonyms) add(s, SYN_PRED[syn.scope], literal(syn.text));
    for (const a of t.altIds) add(s, OBOINOWL + 'hasAlternativeId', literal(a));
    for (const p of t.parents) add(s, RDFS + 'subClassOf', namedNode(oboIri(p)));
    if (t.obsolete) {
      add(s, OWL + 'deprecated', literal('true', namedNode(XSD + 'boolean')));
      if (t.replacedBy) add(s, IAO + '0100001', namedNode(oboIri(t.replacedBy)));
      for (const c of t.consider) add(s, OBOINOWL + 'consider', literal(c));
    }
    for (const cui of t.umls) {
      add(s, OBOINOWL + 'hasDbXref', literal(`UMLS:${cui}`));
      add(s, HX + 'umlsCui', literal(cui));
      add(s, SKOS + 'closeMatch', namedNode(UMLS + cui));
    }
  }
  return out;
}
