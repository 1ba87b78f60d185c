// The harmonize stage for phenotype records: structural checks with JSON paths, HPO id normalisation
// (alt_id and obsolete ids to current terms), and ages to comparable units.
export { checkPhenopacket, asPhenopacket, type Problem } from './check.js';
export { normaliseFeatures, type TermIssue, type NormalisedFeature } from './normalise.js';
export { durationToYears, gestationalToYears } from './age.js';
