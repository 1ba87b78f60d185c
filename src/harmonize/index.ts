// The harmonize stage: phenotype records (structural checks with JSON paths, HPO id normalisation, ages)
// and every other modality, each step a pure function with a provenance record; ComBat in its own file;
// dispatch.ts reads and harmonizes one manifest record with the versioned config.
export { checkPhenopacket, checkPhenopacketRecord, asPhenopacket, DEFAULT_CHECK_LIMITS, type Problem, type CheckLimits, type CheckResult } from './check.js';
export { normaliseFeatures, type TermIssue, type NormalisedFeature } from './normalise.js';
export { durationToYears, gestationalToYears } from './age.js';
export { runStep, checksum, type StepProvenance, type NdArray } from './provenance.js';
export { encodeNpy, decodeNpy } from './npy.js';
export type { HarmonizedRecord, CalledVariant, AcquisitionValue } from './record.js';
export { harmonizeVcf, harmonizeMaf, candidateGenes, vcfCandidateGenes, DEFAULT_GENOMIC_CONFIG, type GenomicConfig } from './genomic.js';
export { harmonizeMri, DEFAULT_MRI_CONFIG, type MriConfig } from './mri.js';
export { harmonizeOct, DEFAULT_OCT_CONFIG, type OctConfig } from './oct.js';
export { harmonizeEeg, DEFAULT_EEG_CONFIG, type EegConfig } from './eeg.js';
export { harmonizeEcg, harmonizePpg, detectRPeaks, intervalFeatures, DEFAULT_ECG_CONFIG, DEFAULT_PPG_CONFIG } from './ecg.js';
export { harmonizeExpression, DEFAULT_EXPRESSION_CONFIG, type ExpressionConfig } from './expression.js';
export { combat, combatFit, combatApply, type CombatOptions, type CombatEstimates } from './combat.js';
export { harmonizeEntry, HarmonizeContext, loadHarmonizationConfig, defaultHarmonizationConfig, type HarmonizationConfig } from './dispatch.js';
