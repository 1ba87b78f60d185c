// The sources layer: reading records from files, folders, archives and JSON Lines, with their origin.
export { readJsonDocuments, countDocuments, describeOrigin, type Origin, type SourceRecord } from './read.js';
export type * from './phenopacket.js';
