// The map stage: harmonised records to RDF in our vocabulary. Phenopackets are mapped in code for
// speed (see docs/mappings.md); users' own CSV/JSON exports go through declarative YARRRML mappings.
export { mapPhenopacket, normaliseAssembly, ENTITY_GRAPH, type MappedPatient } from './phenopacket.js';
