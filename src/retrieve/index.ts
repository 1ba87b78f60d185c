// Semantic patient retrieval (issue #4): information content, HPO similarity measures, a precomputed
// patient index, disease ranking, publication-grouped evaluation and the Matchmaker Exchange API.
export type { PatientProfile, ProfileIssue, ProfileResult } from './profile.js';
export { profileFromPhenopacket, profileFromHpoList, readProfiles, loadProfiles, normaliseTerms } from './profile.js';
export type { Hpoa, DiseaseAnnotation, DiseaseTerm, HpoaIssue } from './hpoa.js';
export { parseHpoa, loadHpoa, parseFrequency, FREQUENCY_TERMS, parseGenesToPhenotype, loadGenesToPhenotype } from './hpoa.js';
export type { InformationContent } from './ic.js';
export { icFromAnnotations, icFromProfiles } from './ic.js';
export type { Method, TermMeasure, SetMeasure, Aggregation } from './method.js';
export { parseMethod, allMethodNames, DEFAULT_METHOD, BASELINE_METHOD } from './method.js';
export type { PreparedQuery, Hit, MatchedPair, TermRef } from './patient-index.js';
export { PatientIndex, topK } from './patient-index.js';
export type { DiagnosisMethod, DiseaseScore, GeneScore } from './diagnose.js';
export { DiseaseModel, DIAGNOSIS_METHODS, DEFAULT_DIAGNOSIS_METHOD, conditionOnGenes } from './diagnose.js';
export type { QueryProgress, RankingMetrics, RankPosition } from './evaluate.js';
export { evaluateRetrievalMetrics, evaluateDiagnosisMetrics, reportingEach, rankOfFirstRelevant, rankPosition, expectedHit, expectedReciprocalRank } from './evaluate.js';
export type { LikelihoodParameters, TermEvidence, QueryStatistics } from './likelihood.js';
export { LikelihoodModel, LIKELIHOOD_DEFAULTS, posterior, conditionedTemperature } from './likelihood.js';
export type { EvaluationMode, SplitName, RankTarget, HeldOutMetrics, HeldOutOptions, Calibration, ReliabilityBin, EquivalentIdSummary } from './heldout.js';
export { DiagnosisEvaluation, evaluateHeldOut, diseaseSplit, querySplit, withoutPublications, geneScores, reliability, equivalentIdSummary, EVALUATION_MODES } from './heldout.js';
export type { EquivalentPair, EquivalenceReason } from './equivalence.js';
export { DiseaseClasses, equivalentPairs, nameKey, nameWords } from './equivalence.js';
export { diagnosisReportHtml, escapeHtml } from './report-html.js';
export type { MmeContact, MmeFeature, MmePatient, MmeRequest, MmeResponse, MmeValidation } from './mme.js';
export { MmeSchema, MME_CONTENT_TYPE, isMmeContentType, profileFromMmeRequest, mmePatient, mmeResponse } from './mme.js';
export type { RetrievalContext, DiagnosisContext, QuerySpec, QueryItem, SimilarOptions, SimilarResult, DiagnoseOptions, DiagnoseResult, DiseaseResult, DiagnosisEvaluationResult, EvaluationResult, MatchOptions, MatchReply } from './commands.js';
export {
  buildRetrievalContext,
  buildDiagnosisContext,
  resolveQueries,
  similar,
  similarAll,
  diagnose,
  diagnoseAll,
  evaluateRetrieval,
  evaluateDiagnosis,
  matchMme,
  describeIssue,
} from './commands.js';
export { profilesFromStore } from './store.js';
