// Cohorts: ontology-driven definitions (JSON/YAML, schemas/cohort.schema.json) compiled to SPARQL,
// evaluated on the store, explained, characterised, compared, saved as named graphs and exported.
export type {
  CohortDefinition, ConceptSet, ConceptSetItem, Criterion, PhenotypeCriterion, PhenotypeStatus, VariantCriterion,
  AgeRange, OnsetCriterion, GeneRef, Sex, Modality, AgeUnit, AcmgClass,
} from './definition.js';
export { CohortDefinitionError, CohortNotFoundError, type DefinitionIssue } from './errors.js';
export { parseDefinitionText, readDefinitionFile, validateDefinition, cohortSchema } from './parse.js';
export { resolveDefinition, type ResolvedCohort, type ExpandedSet, type Node as CriterionNode, type Leaf as LeafCriterion } from './resolve.js';
export { compileCohort, compileLeaf, describeLeaf, DEFAULT_COMPILE_OPTIONS, type CompileOptions } from './compile.js';
export { evaluateCohort, prepareCohort, toResult, type CohortResult, type Evaluation } from './evaluate.js';
export { explainCohort, membersByLeaves, type Explanation, type ExplainNode, type Evidence } from './explain.js';
export { characterise, compareCohorts, storeFacts, AGE_BANDS, type Characterisation, type Comparison, type TermStat, type Tally } from './characterise.js';
export { fisherExact, benjaminiHochberg, oddsRatio } from './stats.js';
export { saveCohort, listCohorts, findCohort, getCohort, deleteCohort, cohortGraph, cohortIri, type SavedCohort } from './repository.js';
export { memberRecords, membersCsv, membersZip, type ExportFormat, type MemberRecord, type ZipExport } from './export.js';
export { rebuildPhenopacket } from './rebuild.js';
export { writeZip } from './zip.js';
export { CohortService, type ExportBody } from './service.js';
