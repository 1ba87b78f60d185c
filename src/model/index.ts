// The model layer: vocabulary namespaces and IRI minting, shared by every stage above it.
export * from './namespaces.js';
export * from './iri.js';
export * from './errors.js';
export * from './document.js';
