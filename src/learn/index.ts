// Learning: ontology-aligned encoders (phenotype sets, ECG/EEG signals, fusion) trained with
// TensorFlow.js on the best available backend; embeddings into usearch indexes and the graph;
// zero-shot classification by cosine similarity to HPO term embeddings.
export { chooseBackend, BACKENDS, type BackendChoice, type BackendName } from './backend.js';
export { lookup } from './lookup.js';
export { PRESETS, formatSeconds, loadConfig, mergeConfig, checkConfig, type LearnConfig, type SignalConfig, type GenotypeConfig, type LossWeights } from './config.js';
export { Model, l2normalize, type ModalityName, type PhenotypeBatch, type GenotypeBatch } from './model.js';
export { infoNce, alignmentLoss, ontologyLoss } from './losses.js';
export { buildVocabulary, vocabularyFromIds, initialTermVectors, ontologySimilarity, type TermVocabulary } from './vocabulary.js';
export { loadDataset, mapUmlsTerms, splitOf, usedTerms, type Dataset, type PatientData, type RecordData, type SignalModality, type Split } from './data.js';
export { embedRecords, embedPatients, embedTerms, phenotypeBatch, genotypeBatch } from './encode.js';
export { variantToken, geneToken, selectTokens, maskingUnits, maskTokens, geneVocabulary, type VariantToken, type VariantFacts, type GeneVocabulary } from './genotype.js';
export { batchLosses, totalLoss, LOSS_NAMES, type TrainBatch, type SignalBatch, type LossName } from './objective.js';
export { Sampler } from './sampler.js';
export { Rng, hash32 } from './random.js';
export { auroc, cosine } from './metrics.js';
export { train, loadTrainedModel, geneProfiles, modelVersion, modelDir, latestVersion, patientSplits, zeroShotMetrics, MODELS_DIR, type TrainOptions, type TrainProgress, type ModelCard, type TaskMetric } from './train.js';
export { embedStore, classifyRecords, storedEmbeddings, resolveVersion, type EmbedSummary, type ClassifyRow } from './embed.js';
export { encodeVector, decodeVector, embeddingGraph, FLOAT32_BASE64, type EmbeddedItem, type EmbeddingKind } from './vectors.js';
export { IMAGING_MODALITIES, type ImagingConfig, type ImagingModality } from './config.js';
export { patchify, type RecordEncoding } from './model.js';
export { maskedReconstructionLoss } from './losses.js';
export { resampleVolume, type RecordModality } from './data.js';
export { crossModalPairs, type RecordBatch } from './objective.js';
export { augmentVolume } from './sampler.js';
// Retrieval with embeddings (similar/diagnose --method embedding|hybrid) and stratification.
export { loadPatientVectors, cosines, rowOf, embedPhenotypeSet, harmonizedSequences, embedRecordAsPatient, requireEncoder, type PatientVectors } from './space.js';
export { fuse, best, compareFusions, chooseFusion, fusionName, FUSIONS, DEFAULT_FUSION, RankingTally, type Fusion, type FusionComparison, type MethodMetrics, type ScoredQuery } from './fusion.js';
export { diseaseVectors, embedDiseases, drawDiseaseSet, rankedDiseases, DISEASE_SAMPLES, type DiseaseVectors } from './diseases.js';
export { EmbeddingRetrieval, EMBEDDING_METHODS, isEmbeddingMethod, FUSION_QUERIES, type EmbeddingMethod, type EmbeddingQuerySpec, type EmbeddedQuery, type EmbeddingSimilarResult, type EmbeddingDiagnoseResult, type FusionChoice } from './similar.js';
export { stratify, kmeans, silhouette, silhouetteSample, AUTO_MIN_K, AUTO_MAX_K, SILHOUETTE_SAMPLE, type KMeans, type StratifyOptions, type StratifyResult, type StratumCluster } from './stratify.js';
// The semi-synthetic cohort (simulate-links) and the evaluation of embedded models (eval embeddings), with its PNG plots.
export { simulateLinks, planLinks, subjectsOf, avoidedTerms, SIMULATED_LINKS, type SimulateOptions, type SimulateSummary, type LinkPlan, type LinkCandidate, type LinkSubject, type LinkOptions, type Link } from './simulate.js';
export { evaluateEmbeddings, ontologyDistance, DEFINITIONS as EVALUATION_DEFINITIONS, SEPARATION_MAX_POINTS, type EvaluateOptions, type EmbeddingEvaluation, type ModelEvaluation, type ClassificationTask, type RetrievalEvaluation, type RetrievalMetrics, type Separation, type OntologyAgreement } from './evaluate.js';
export { singleModalityVectors, diseaseRanking, type DiseaseRankingEvaluation, type DiseaseRankingGroup, type SingleModalityVectors } from './eval-baselines.js';
export { rocCurve, f1At, bestF1Threshold, fitPlatt, applyPlatt, sigmoid, expectedCalibrationError, brierScore, cosineDistances, silhouette as labelSilhouette, knnAccuracy, pca2, pearson, spearman, type F1Result, type PlattMapping, type ReliabilityBin } from './eval-metrics.js';
export { encodePng, crc32, PNG_SIGNATURE } from './png.js';
export { Canvas, chart, niceTicks, PALETTE, type ChartSpec, type Series, type Rgb } from './plots.js';
// kNN inside SPARQL (SERVICE <https://w3id.org/harmonia/knn>) and hx:similarity for Comunica.
export { KnnService, similarityFunctions, exactSpace, saveEmbeddings, DEFAULT_K, MAX_K, EXACT_MAX, HNSW_EXPANSION, type Neighbour, type NearestOptions, type KnnOptions } from './knn.js';
