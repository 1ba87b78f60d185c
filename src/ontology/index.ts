// The ontology layer: HPO from OBO Graphs JSON or OBO 1.4, UMLS mappings from xrefs and SSSOM,
// an indexed DAG with cached ancestor/descendant sets, term search, and the ontology as RDF.
export type { Term, Synonym, SynonymScope, OntologyData } from './term.js';
export { Ontology, type Resolution, type SearchHit } from './ontology.js';
export { loadOntology, readMaybeGzip } from './load.js';
export { parseOboGraphs, toCurie } from './obographs.js';
export { parseObo } from './obo.js';
export { parseSssomUmls } from './sssom.js';
export { ontologyQuads } from './rdf.js';
export { vocabularyQuads, vocabularyFile } from './vocabulary.js';
