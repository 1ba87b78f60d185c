// IRIs of the vocabularies the graph uses. `hx:` is ours; the rest are the standards we align with.
export const HX = 'https://w3id.org/harmonia/vocab#';
export const HXR = 'https://w3id.org/harmonia/resource/';
export const HXG = 'https://w3id.org/harmonia/graph/';
export const OBO = 'http://purl.obolibrary.org/obo/';
export const RDF = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#';
export const RDFS = 'http://www.w3.org/2000/01/rdf-schema#';
export const XSD = 'http://www.w3.org/2001/XMLSchema#';
export const OWL = 'http://www.w3.org/2002/07/owl#';
export const SKOS = 'http://www.w3.org/2004/02/skos/core#';
export const OBOINOWL = 'http://www.geneontology.org/formats/oboInOwl#';
export const IAO = 'http://purl.obolibrary.org/obo/IAO_';
export const PROV = 'http://www.w3.org/ns/prov#';
export const DCT = 'http://purl.org/dc/terms/';
export const SH = 'http://www.w3.org/ns/shacl#';
export const UMLS = 'https://uts.nlm.nih.gov/uts/umls/concept/';

/** Prefixes offered to users (SPARQL examples, Turtle output, the UI). */
export const PREFIXES: Record<string, string> = {
  hx: HX,
  hxr: HXR,
  obo: OBO,
  rdf: RDF,
  rdfs: RDFS,
  xsd: XSD,
  owl: OWL,
  skos: SKOS,
  oboInOwl: OBOINOWL,
  prov: PROV,
  dcterms: DCT,
};
