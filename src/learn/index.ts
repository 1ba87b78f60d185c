// Learning: ontology-aligned encoders (phenotype sets, ECG/EEG signals, fusion) trained with
// TensorFlow.js on the best available backend; embeddings into usearch indexes and the graph;
// zero-shot classification by cosine similarity to HPO term embeddings.
export { chooseBackend, BACKENDS, type BackendChoice, type BackendName } from './backend.js';
export { lookup } from './lookup.js';
export { PRESETS, formatSeconds, loadConfig, mergeConfig, checkConfig, type LearnConfig, type SignalConfig, type LossWeights } from './config.js';
export { Model, l2normalize, type ModalityName, type PhenotypeBatch } from './model.js';
export { infoNce, alignmentLoss, ontologyLoss } from './losses.js';
export { buildVocabulary, vocabularyFromIds, initialTermVectors, ontologySimilarity, type TermVocabulary } from './vocabulary.js';
export { loadDataset, splitOf, usedTerms, type Dataset, type PatientData, type RecordData, type SignalModality, type Split } from './data.js';
export { embedRecords, embedPatients, embedTerms, phenotypeBatch } from './encode.js';
export { batchLosses, totalLoss, LOSS_NAMES, type TrainBatch, type SignalBatch, type LossName } from './objective.js';
export { Sampler } from './sampler.js';
export { Rng, hash32 } from './random.js';
export { auroc, cosine } from './metrics.js';
export { train, loadTrainedModel, modelVersion, modelDir, latestVersion, patientSplits, zeroShotMetrics, MODELS_DIR, type TrainOptions, type TrainProgress, type ModelCard, type TaskMetric } from './train.js';
export { embedStore, classifyRecords, storedEmbeddings, encodeVector, decodeVector, embeddingGraph, resolveVersion, FLOAT32_BASE64, type EmbedSummary, type ClassifyRow, type EmbeddedItem, type EmbeddingKind } from './embed.js';
export { IMAGING_MODALITIES, type ImagingConfig, type ImagingModality } from './config.js';
export { patchify, type RecordEncoding } from './model.js';
export { maskedReconstructionLoss } from './losses.js';
export { resampleVolume, type RecordModality } from './data.js';
export { crossModalPairs, type RecordBatch } from './objective.js';
export { augmentVolume } from './sampler.js';
// kNN inside SPARQL (SERVICE <https://w3id.org/harmonia/knn>) and hx:similarity for Comunica.
export { KnnService, similarityFunctions, exactSpace, saveEmbeddings, embeddingsGraph as knnEmbeddingsGraph, DEFAULT_K, MAX_K, EXACT_MAX, HNSW_EXPANSION, type Neighbour, type NearestOptions, type KnnOptions } from './knn.js';
