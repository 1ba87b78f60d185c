import type { Ontology } from '../ontology/index.js';
import { buildDiagnosisContext, reportingEach, type Hpoa, type PatientProfile } from '../retrieve/index.js';
import type { GraphStore } from '../store/index.js';
import { chooseBackend } from './backend.js';
import { loadDataset, mapUmlsTerms, type PatientData, type Split } from './data.js';
import { CLASSICAL_DIAGNOSIS_METHOD, diseaseVectors, type DiseaseVectors } from './diseases.js';
import { embedPatients } from './encode.js';
import { chooseFusion, compareFusions, fusionName, type MethodMetrics, type ScoredQuery } from './fusion.js';
import type { ModalityName } from './model.js';
import { cosines, type PatientVectors } from './space.js';
import { loadTrainedModel, modelDir } from './train.js';

// What `harmonia eval embeddings` puts beside a model's fused patient embeddings: the same patients
// embedded from one modality at a time (the single-modality baselines), and zero-shot disease ranking
// of test patients, split into diseases the training split saw and diseases it never saw.

/** How far a phase of an evaluation is: `done` of `total` units (patients, queries, tasks). */
export type PhaseProgress = (phase: string, done: number, total: number) => void;

/** Patient vectors from one modality alone, per modality the model's patients have (phenotype, genotype). */
export type SingleModalityVectors = Partial<Record<ModalityName, PatientVectors>>;

function toVectors(version: string, dim: number, vectors: Map<string, Float32Array>): PatientVectors {
  const ids = [...vectors.keys()].sort();
  const matrix = new Float32Array(ids.length * dim);
  ids.forEach((id, i) => matrix.set(vectors.get(id)!, i * dim));
  return { version, dim, ids, matrix, row: new Map(ids.map((id, i) => [id, i])) };
}

/**
 * Re-embeds every patient from its phenotypes only and, when the model has a genomic encoder, from
 * its genotype only, with the trained model (records are left out: their encoders are evaluated
 * on their own by the classification tasks); with `hpoa`, the model's disease vectors too (cached
 * beside the model), from the same loaded model.
 */
export async function singleModalityVectors(
  store: GraphStore,
  storeDir: string,
  version: string,
  ontology: Ontology,
  hpoa?: Hpoa,
  onProgress?: PhaseProgress,
): Promise<{ vectors: SingleModalityVectors; phenotypeOnly: Map<string, Float32Array>; diseases?: DiseaseVectors }> {
  await chooseBackend(undefined, () => undefined);
  const model = loadTrainedModel(storeDir, version, ontology);
  try {
    const dataset = await loadDataset(store, storeDir, [], {}, model.genes !== undefined);
    mapUmlsTerms(dataset, ontology);
    const only = (phase: string, f: (p: PatientData) => PatientData) =>
      embedPatients(model, { patients: dataset.patients.map(f), records: [], skipped: [] }, [], (done, total) => onProgress?.(phase, done, total));
    const phenotype = only('embedding patients (phenotypes only)', (p) => ({ ...p, variants: undefined, records: [] }));
    const vectors: SingleModalityVectors = { phenotype: toVectors(version, model.config.dim, phenotype) };
    if (model.genes) vectors.genotype = toVectors(version, model.config.dim, only('embedding patients (genotype only)', (p) => ({ ...p, observed: [], excluded: [], records: [] })));
    const diseases = hpoa ? diseaseVectors(model, modelDir(storeDir, version), hpoa, ontology, undefined, (done, total) => onProgress?.('embedding disease profiles', done, total)) : undefined;
    return { vectors, phenotypeOnly: phenotype, diseases };
  } finally {
    model.dispose();
  }
}

export interface DiseaseRankingEvaluation {
  split: 'test';
  diseases: number;
  /** The query's vector: its phenotypes alone (the disease profiles are phenotype-only pseudo-patients). */
  query: string;
  /** Test patients whose diagnosis is among the ranked diseases. */
  all: DiseaseRankingGroup;
  /** Those whose every diagnosis has no training-split patient: diseases the model never saw. */
  unseen: DiseaseRankingGroup;
  /** Those with a diagnosis some training-split patient has. */
  seen: DiseaseRankingGroup;
  fusion: { fusion: string; chosenOn: string };
}

export interface DiseaseRankingGroup {
  queries: number;
  embedding: MethodMetrics;
  classical: MethodMetrics;
  hybrid: MethodMetrics;
}

/**
 * Zero-shot disease ranking: each test patient's phenotype-only embedding against the embedded
 * phenotype.hpoa profiles, beside the classical default and their fusion (chosen on validation
 * patients), reported apart for diseases the training split never saw. `onProgress`: validation and
 * test patients scored (each test patient once, for all three groups).
 */
export function diseaseRanking(
  hpoa: Hpoa,
  ontology: Ontology,
  profiles: readonly PatientProfile[],
  splits: Map<string, Split>,
  phenotypeOnly: Map<string, Float32Array>,
  diseases: { ids: string[]; matrix: Float32Array; dim: number },
  onProgress?: (done: number, total: number) => void,
): DiseaseRankingEvaluation {
  const ctx = buildDiagnosisContext(ontology, hpoa);
  const position = new Map(diseases.ids.map((id, i) => [id, i]));
  const trained = new Set<string>();
  for (const p of profiles) if (splits.get(p.id) === 'train') for (const d of p.diseases) trained.add(d);
  const ofSplit = (split: Split) => profiles.filter((p) => splits.get(p.id) === split);
  const validationPatients = ofSplit('validation');
  const testPatients = ofSplit('test');
  let done = 0;
  const step = () => onProgress?.(++done, validationPatients.length + testPatients.length);
  const scored = (patients: readonly PatientProfile[]): { patient: PatientProfile; query: ScoredQuery }[] => {
    const out: { patient: PatientProfile; query: ScoredQuery }[] = [];
    for (const p of reportingEach(patients, step)) {
      if (!p.observed.length) continue;
      const v = phenotypeOnly.get(p.id);
      const targets = p.diseases.map((d) => position.get(d)).filter((t): t is number => t !== undefined);
      if (!v || !targets.length) continue;
      const relevant = new Uint8Array(diseases.ids.length);
      for (const t of targets) relevant[t] = 1;
      out.push({ patient: p, query: { learned: cosines(diseases.matrix, diseases.dim, v), classical: ctx.model.scoreAll(p, CLASSICAL_DIAGNOSIS_METHOD), relevant } });
    }
    return out;
  };
  const validation = compareFusions(scored(validationPatients).map((s) => s.query), CLASSICAL_DIAGNOSIS_METHOD);
  const fusion = chooseFusion(validation);
  const chosen = `hybrid:${fusionName(fusion)}`;
  const group = (queries: { query: ScoredQuery }[]): DiseaseRankingGroup => {
    const c = compareFusions(queries.map((s) => s.query), CLASSICAL_DIAGNOSIS_METHOD);
    return { queries: c.embedding.queries, embedding: c.embedding, classical: c.classical, hybrid: c.hybrid.find((h) => h.method === chosen)! };
  };
  const unseen = (p: PatientProfile) => p.diseases.every((d) => !trained.has(d));
  // Scored once; the seen and unseen groups are parts of the same test queries, in the same order.
  const test = scored(testPatients);
  return {
    split: 'test',
    diseases: diseases.ids.length,
    query: 'phenotype-only embedding of the test patient',
    all: group(test),
    unseen: group(test.filter((s) => unseen(s.patient))),
    seen: group(test.filter((s) => !unseen(s.patient))),
    fusion: { fusion: `${fusionName(fusion)}(embedding, ${CLASSICAL_DIAGNOSIS_METHOD})`, chosenOn: validation.embedding.queries ? `${validation.embedding.queries} validation-split patients, best MRR` : 'default (no validation-split query)' },
  };
}
