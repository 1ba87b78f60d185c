import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HX, InputError, oboCurie } from '../model/index.js';
import type { Ontology } from '../ontology/index.js';
import {
  buildRetrievalContext, DEFAULT_METHOD, evaluateRetrieval, loadHpoa, parseMethod, profilesFromStore, rankOfFirstRelevant, reportingEach,
  type EvaluationResult, type QueryProgress, type Hpoa, type PatientProfile, type RetrievalContext,
} from '../retrieve/index.js';
import { openStore, type GraphStore } from '../store/index.js';
import type { Split } from './data.js';
import { resolveVersion, storedEmbeddings } from './embed.js';
import {
  applyPlatt, auroc, bestF1Threshold, brierScore, cosineDistances, expectedCalibrationError, f1At, fitPlatt, knnAccuracy, pca2,
  pearson, rocCurve, silhouette, spearman, type ReliabilityBin,
} from './eval-metrics.js';
import { diseaseRanking, singleModalityVectors, type DiseaseRankingEvaluation, type PhaseProgress, type SingleModalityVectors } from './eval-baselines.js';
import { chooseFusion, compareFusions, fuse, fusionName, type Fusion, type ScoredQuery } from './fusion.js';
import { chart, PALETTE, type Series } from './plots.js';
import { hash32, Rng } from './random.js';
import { loadPatientVectors, type PatientVectors } from './space.js';
import { modelDir } from './train.js';

// `harmonia eval embeddings`: what a trained and embedded model is worth, on the records and
// patients of its TEST split (splits.json beside the model; validation records only choose the F1
// threshold and fit the calibration, and validation patients the hybrid fusion).

const round = (x: number, d = 4): number | null => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);
const RECALL_AT = [1, 5, 10] as const;
/** Most points a silhouette / kNN / map uses (a seeded hash picks them): both are quadratic. */
export const SEPARATION_MAX_POINTS = 2000;
const KNN_K = 5;
const BOOTSTRAP = 1000;

export interface ClassificationTask {
  modality: string;
  term: string;
  label?: string;
  /** Test records scored: those with the finding (positives) and those without any finding. */
  records: number;
  positives: number;
  auroc: number | null;
  validation: { records: number; positives: number; auroc: number | null };
  /** F1 on test at the threshold that maximises F1 on validation records. */
  f1: { threshold: number; validationF1: number; f1: number; precision: number; recall: number } | { unavailable: string };
  /** Platt scaling fitted on validation, applied to test. */
  calibration: { method: 'platt'; a: number; b: number; ece: number; brier: number; bins: ReliabilityBin[] } | { unavailable: string };
}

export interface RetrievalMetrics {
  method: string;
  queries: number;
  'recall@1': number | null;
  'recall@5': number | null;
  'recall@10': number | null;
  mrr: number | null;
}

export interface RetrievalEvaluation {
  split: 'test';
  queries: number;
  skipped: Record<string, number>;
  embedding: RetrievalMetrics;
  classical: RetrievalMetrics & { evaluateRetrieval: EvaluationResult };
  hybrid: (RetrievalMetrics & { fusion: string; chosenOn: string }) | { unavailable: string };
  /** Paired bootstrap (queries resampled) of the MRR difference to the classical method: mean and 95 % interval. */
  mrrDifference: Record<string, { mean: number | null; low: number | null; high: number | null }>;
  /** The single-modality baselines: every patient re-embedded from one modality alone (`embedding:phenotype`, `embedding:genotype`). */
  singleModality: RetrievalMetrics[];
}

export interface Separation {
  of: 'records' | 'patients';
  modality?: string;
  split: 'test';
  points: number;
  /** The groups compared: record site / finding, patient diagnosis. */
  groups: { site: number | null; disease: number };
  silhouette: { site: number | null; disease: number | null };
  /** Leave-one-out kNN accuracy, its chance level (majority share) and lift = (accuracy - chance) / (1 - chance). */
  knn: { k: number; site: number | null; siteChance: number | null; siteLift: number | null; disease: number | null; diseaseChance: number | null; diseaseLift: number | null };
  /** The site's kNN lift below the disease's (the goal: sites separate less than diseases); null without two sites. */
  sitesSeparateLess: boolean | null;
  note?: string;
}

export interface OntologyAgreement {
  pairs: number;
  /** Spearman correlation of HPO graph distance (edges through the nearest common ancestor) and embedding cosine distance; > 0 is agreement. */
  spearman: number | null;
  pearson: number | null;
}

export interface ModelEvaluation {
  version: string;
  losses: { enabled: string[]; weights: Record<string, number> } | null;
  splits: Record<Split, number>;
  classification: ClassificationTask[];
  retrieval: RetrievalEvaluation | { unavailable: string };
  separation: Separation[];
  ontology: OntologyAgreement;
  /** With --annotations: zero-shot disease ranking of test patients, diseases seen and never seen in training apart. */
  diseaseRanking?: DiseaseRankingEvaluation | { unavailable: string };
  plots: string[];
}

export interface EmbeddingEvaluation {
  store: string;
  definitions: Record<string, string>;
  models: ModelEvaluation[];
}

export const DEFINITIONS: Record<string, string> = {
  classification: 'zero-shot: score = cosine of the record embedding to the term embedding; per (modality, finding), records with the finding against records without any finding, on the test split',
  f1: 'threshold = the one maximising F1 on validation records (midpoint to the next lower validation score); F1, precision, recall of score >= threshold on test records',
  calibration: 'Platt scaling (logistic regression of the label on the score) fitted on validation records, applied to test; ECE with 10 equal-width bins; Brier score',
  retrieval: 'queries = test-split patients with an embedding, a diagnosis and a publication; candidates = every stored patient except the query and its publications; relevant = shares a diagnosis; Recall@K = share of queries whose first relevant candidate ranks <= K (ties count half, as harmonia eval retrieval); MRR = mean 1/rank',
  hybrid: 'fusion of the embedding and the classical scores (src/learn/fusion.ts), the fusion chosen by best MRR on validation-split patients, never test',
  separation: 'on test-split embeddings (cosine distance): silhouette of the grouping by site and by disease (record finding or "no finding"; patient diagnosis with >= 3 test patients), and leave-one-out 5-NN accuracy with the majority-class chance level and lift = (accuracy - chance) / (1 - chance); sitesSeparateLess compares the lifts',
  ontology: 'pairs of HPO terms observed in the store (random pairs and term-ancestor pairs): graph distance against 1 - cosine of their embeddings',
  singleModality: 'the retrieval evaluation with every patient re-embedded by the trained model from one modality alone (phenotypes; genotype when the model has a genomic encoder); queries and candidates without that modality have no vector (skipped as queries, never found as candidates)',
  diseaseRanking: 'with --annotations: each test patient (observed terms, a diagnosis among the ranked diseases), embedded from its phenotypes alone, ranked against the embedded phenotype.hpoa profiles (zero-shot), beside the classical default and their fusion chosen on validation patients; "unseen" = test patients none of whose diagnoses any training-split patient has',
};

interface RecordFact {
  iri: string;
  modality: string;
  patient: string;
  site?: string;
  finding?: string;
}

/** What every model version's evaluation reads from the store, loaded once. */
interface StoreView {
  ontology: Ontology;
  profiles: PatientProfile[];
  records: RecordFact[];
  classical: RetrievalContext;
  hpoa?: Hpoa;
}

async function loadView(store: GraphStore, annotations?: string): Promise<StoreView> {
  const ontology = await store.ontology();
  if (!ontology) throw new InputError('the store has no ontology; ingest with --hpo first');
  const profiles = await profilesFromStore(store);
  const rows = await store.select(`SELECT ?r ?mod ?pid ?site ?finding WHERE { ?r <${HX}recordId> ?rid ; <${HX}modality> ?mod ; <${HX}patient> ?p .
    OPTIONAL { ?p <${HX}id> ?pid } OPTIONAL { ?r <${HX}site> ?site } OPTIONAL { ?r <${HX}finding> ?finding } } ORDER BY ?rid`);
  const records = rows.map((r) => ({ iri: r.r!, modality: r.mod!, patient: r.pid ?? '', site: r.site, finding: r.finding ? oboCurie(r.finding) : undefined }));
  const hpoa = annotations ? loadHpoa(annotations, ontology) : undefined;
  return { ontology, profiles, records, classical: buildRetrievalContext(ontology, profiles, { annotations: hpoa }), hpoa };
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function readSplits(storeDir: string, version: string): Map<string, Split> {
  const file = join(modelDir(storeDir, version), 'splits.json');
  if (!existsSync(file)) throw new InputError(`${file}: missing (the model's splits; train the model with harmonia train)`);
  return new Map(Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, Split>));
}

// ---------------------------------------------------------------- classification

interface ScoredTask {
  task: ClassificationTask;
  roc: [number, number][];
}

function classify(modality: string, term: string, label: string | undefined, scored: { split: Split | undefined; finding?: string; score: number }[]): ScoredTask {
  const rows = (split: Split) => scored.filter((r) => r.split === split && (r.finding === term || r.finding === undefined));
  const test = rows('test');
  const val = rows('validation');
  const ts = test.map((r) => r.score);
  const tp = test.map((r) => r.finding === term);
  const vs = val.map((r) => r.score);
  const vp = val.map((r) => r.finding === term);
  const chosen = bestF1Threshold(vs, vp);
  const vNeg = vp.filter((p) => !p).length;
  let f1: ClassificationTask['f1'];
  if (!chosen) f1 = { unavailable: 'no validation record with the finding to choose a threshold on' };
  else if (!test.length) f1 = { unavailable: 'no test record' };
  else {
    const r = f1At(ts, tp, chosen.threshold);
    f1 = { threshold: round(chosen.threshold, 6)!, validationF1: round(chosen.f1)!, f1: round(r.f1)!, precision: round(r.precision)!, recall: round(r.recall)! };
  }
  const platt = fitPlatt(vs, vp);
  let calibration: ClassificationTask['calibration'];
  if (!platt) calibration = { unavailable: `validation records lack ${chosen ? 'records without a finding' : 'records with the finding'} (${vp.length - vNeg} with, ${vNeg} without)` };
  else if (!test.length) calibration = { unavailable: 'no test record' };
  else {
    const probs = ts.map((s) => applyPlatt(platt, s));
    const { ece, bins } = expectedCalibrationError(probs, tp);
    calibration = {
      method: 'platt', a: round(platt.a, 6)!, b: round(platt.b, 6)!, ece: round(ece)!, brier: round(brierScore(probs, tp))!,
      bins: bins.map((b) => ({ ...b, meanPredicted: round(b.meanPredicted)!, fractionPositive: round(b.fractionPositive)! })),
    };
  }
  return {
    task: {
      modality, term, label, records: test.length, positives: tp.filter(Boolean).length, auroc: round(auroc(ts, tp)),
      validation: { records: val.length, positives: vp.filter(Boolean).length, auroc: round(auroc(vs, vp)) },
      f1, calibration,
    },
    roc: rocCurve(ts, tp),
  };
}

/** One task per (modality, finding the model has a term vector for); `onProgress`: tasks done. */
function classification(view: StoreView, splits: Map<string, Split>, records: Map<string, { vector: Float32Array }>, terms: Map<string, Float32Array>, onProgress?: QueryProgress): ScoredTask[] {
  const embedded = view.records.filter((r) => records.has(r.iri));
  const tasks: { modality: string; term: string; mine: RecordFact[] }[] = [];
  for (const m of [...new Set(embedded.map((r) => r.modality))].sort()) {
    const mine = embedded.filter((r) => r.modality === m);
    for (const term of [...new Set(mine.map((r) => r.finding).filter((f): f is string => !!f && terms.has(f)))].sort()) tasks.push({ modality: m, term, mine });
  }
  const out: ScoredTask[] = [];
  for (const { modality, term, mine } of reportingEach(tasks, onProgress)) {
    const tv = terms.get(term)!;
    const scored = mine.map((r) => ({ split: splits.get(r.patient), finding: r.finding, score: dot(records.get(r.iri)!.vector, tv) }));
    out.push(classify(modality, term, view.ontology.label(term), scored));
  }
  return out;
}

// ---------------------------------------------------------------- retrieval

class Tally {
  readonly reciprocal: number[] = [];
  private hits = RECALL_AT.map(() => 0);
  constructor(readonly method: string) {}
  add(rank: number): void {
    this.reciprocal.push(Number.isFinite(rank) ? 1 / rank : 0);
    RECALL_AT.forEach((k, i) => rank <= k && this.hits[i]++);
  }
  result(): RetrievalMetrics {
    const n = this.reciprocal.length;
    const share = (x: number) => (n ? round(x / n) : null);
    return { method: this.method, queries: n, 'recall@1': share(this.hits[0]), 'recall@5': share(this.hits[1]), 'recall@10': share(this.hits[2]), mrr: share(this.reciprocal.reduce((s, x) => s + x, 0)) };
  }
}

/** A query of the publication-grouped evaluation, with its scores under both methods. */
interface Query extends ScoredQuery {
  profile: PatientProfile;
}

/**
 * Queries of a split, skipping as `harmonia eval retrieval` does (no diagnosis, no publication, no
 * relevant candidate, empty profile) plus "no embedding"; `step` after each patient of the split.
 */
function* retrievalQueries(view: StoreView, vectors: PatientVectors, splits: Map<string, Split>, split: Split, skipped: Record<string, number>, step?: () => void): Generator<Query> {
  const index = view.classical.index;
  const method = parseMethod(DEFAULT_METHOD);
  const rowOf = Int32Array.from(view.profiles, (p) => vectors.row.get(p.id) ?? -1);
  const diseasesOf = view.profiles.map((p) => new Set(p.diseases));
  const skip = (why: string) => void (skipped[why] = (skipped[why] ?? 0) + 1);
  for (const q of reportingEach(view.profiles.filter((p) => splits.get(p.id) === split), step)) {
    const row = vectors.row.get(q.id);
    if (row === undefined) {
      skip('no embedding');
      continue;
    }
    if (!q.diseases.length) {
      skip('no diagnosis');
      continue;
    }
    if (!q.publications.length) {
      skip('no publication to group by');
      continue;
    }
    const mask = index.excludedCandidates(q, { samePublication: true });
    const relevant = Uint8Array.from(view.profiles, (_, i) => (!mask[i] && q.diseases.some((d) => diseasesOf[i].has(d)) ? 1 : 0));
    if (!relevant.includes(1)) {
      skip('no relevant candidate outside its publication');
      continue;
    }
    let prepared;
    try {
      prepared = index.prepare(q);
    } catch {
      skip('empty profile');
      continue;
    }
    const qv = vectors.matrix.subarray(row * vectors.dim, (row + 1) * vectors.dim);
    const learned = Float64Array.from(rowOf, (r) => (r < 0 ? -Infinity : dot(qv, vectors.matrix.subarray(r * vectors.dim, (r + 1) * vectors.dim))));
    yield { profile: q, learned, classical: index.scoreAll(prepared, method), relevant, mask };
  }
}

/** Paired bootstrap of mean(a - b) over queries: mean and the 2.5 / 97.5 percentiles. */
function bootstrap(a: number[], b: number[], seed: number): { mean: number | null; low: number | null; high: number | null } {
  const n = a.length;
  if (!n) return { mean: null, low: null, high: null };
  const d = a.map((x, i) => x - b[i]);
  const rng = new Rng(seed);
  const means: number[] = [];
  for (let r = 0; r < BOOTSTRAP; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += d[rng.int(n)];
    means.push(s / n);
  }
  means.sort((x, y) => x - y);
  return { mean: round(d.reduce((s, x) => s + x, 0) / n), low: round(means[Math.floor(0.025 * BOOTSTRAP)]), high: round(means[Math.ceil(0.975 * BOOTSTRAP) - 1]) };
}

/**
 * `onProgress`: patients visited as queries, over the validation pass, the test pass, the classical
 * figures of `eval retrieval` (counted as the whole test split) and each single-modality test pass.
 */
function retrieval(view: StoreView, vectors: PatientVectors, splits: Map<string, Split>, seed: number, single: SingleModalityVectors, onProgress?: QueryProgress): RetrievalEvaluation | { unavailable: string } {
  const members = (split: Split) => view.profiles.filter((p) => splits.get(p.id) === split).length;
  const tests = members('test');
  const total = members('validation') + tests * (2 + Object.keys(single).length);
  let done = 0;
  const step = (n = 1) => onProgress?.((done += n), total);
  // The fusion is chosen on validation patients only (as `harmonia similar --method hybrid` does).
  const comparison = compareFusions(retrievalQueries(view, vectors, splits, 'validation', {}, () => step()), DEFAULT_METHOD);
  const measured = comparison.hybrid.some((h) => h.queries > 0);
  const fusion: Fusion = chooseFusion(comparison);
  const skipped: Record<string, number> = {};
  const emb = new Tally('embedding');
  const cls = new Tally(DEFAULT_METHOD);
  const hyb = new Tally(`hybrid:${fusionName(fusion)}`);
  const used: PatientProfile[] = [];
  for (const q of retrievalQueries(view, vectors, splits, 'test', skipped, () => step())) {
    used.push(q.profile);
    emb.add(rankOfFirstRelevant(q.learned, q.relevant, q.mask));
    cls.add(rankOfFirstRelevant(q.classical, q.relevant, q.mask));
    hyb.add(rankOfFirstRelevant(fuse(q.learned, q.classical, fusion, q.mask), q.relevant, q.mask));
  }
  if (!used.length) {
    // No single-modality pass either: the phase is over.
    if (done < total) onProgress?.(total, total);
    return { unavailable: `no test-split patient can be a query (${JSON.stringify(skipped)})` };
  }
  // The classical figures as `harmonia eval retrieval` computes them, on exactly these queries.
  const official = evaluateRetrieval(view.classical, used, { method: DEFAULT_METHOD, onProgress: () => step() });
  if (used.length < tests) step(tests - used.length);
  return {
    split: 'test',
    queries: used.length,
    skipped,
    embedding: emb.result(),
    classical: { ...cls.result(), evaluateRetrieval: official },
    hybrid: { ...hyb.result(), fusion: `${fusionName(fusion)}(embedding, ${DEFAULT_METHOD})`, chosenOn: measured ? `${comparison.classical.queries} validation-split patients, best MRR` : 'default (no validation-split query)' },
    mrrDifference: {
      'embedding - classical': bootstrap(emb.reciprocal, cls.reciprocal, seed),
      'hybrid - classical': bootstrap(hyb.reciprocal, cls.reciprocal, seed + 1),
    },
    singleModality: Object.entries(single).map(([m, v]) => {
      const t = new Tally(`embedding:${m}`);
      for (const q of retrievalQueries(view, v, splits, 'test', {}, () => step())) t.add(rankOfFirstRelevant(q.learned, q.relevant, q.mask));
      return t.result();
    }),
  };
}

// ---------------------------------------------------------------- separation

/** At most `max` items, picked by a seeded hash of their key (stable across runs and models). */
function capped<T>(items: T[], key: (t: T) => string, max = SEPARATION_MAX_POINTS): T[] {
  if (items.length <= max) return items;
  return [...items].sort((a, b) => hash32(key(a)) - hash32(key(b))).slice(0, max);
}

function separate(of: Separation['of'], modality: string | undefined, vectors: Float32Array[], disease: string[], site: string[] | undefined): Separation {
  const d = cosineDistances(vectors);
  const sites = site ? new Set(site).size : null;
  const s = { site: site && sites! > 1 ? round(silhouette(d, site)) : null, disease: round(silhouette(d, disease)) };
  const knS = site && sites! > 1 ? knnAccuracy(d, site, KNN_K) : undefined;
  const knD = knnAccuracy(d, disease, KNN_K);
  const lift = (k: { accuracy: number; chance: number }) => (k.chance < 1 ? (k.accuracy - k.chance) / (1 - k.chance) : NaN);
  const siteLift = knS ? lift(knS) : NaN;
  const diseaseLift = lift(knD);
  return {
    of, ...(modality ? { modality } : {}), split: 'test', points: vectors.length,
    groups: { site: sites, disease: new Set(disease).size },
    silhouette: s,
    knn: {
      k: KNN_K, site: knS ? round(knS.accuracy) : null, siteChance: knS ? round(knS.chance) : null, siteLift: round(siteLift),
      disease: round(knD.accuracy), diseaseChance: round(knD.chance), diseaseLift: round(diseaseLift),
    },
    sitesSeparateLess: Number.isFinite(siteLift) && Number.isFinite(diseaseLift) ? siteLift < diseaseLift : null,
    ...(site && sites! < 2 ? { note: 'one site only: site separation cannot be measured' } : {}),
  };
}

interface MapData {
  name: string;
  points: [number, number][];
  labels: Record<string, string[]>;
  explained: [number, number];
}

/** `onProgress`: groups done, each record modality and then the patients. */
function separation(view: StoreView, splits: Map<string, Split>, records: Map<string, { vector: Float32Array }>, vectors: PatientVectors, onProgress?: QueryProgress): { results: Separation[]; maps: MapData[] } {
  const results: Separation[] = [];
  const maps: MapData[] = [];
  const testRecords = view.records.filter((r) => splits.get(r.patient) === 'test' && records.has(r.iri));
  const modalities = [...new Set(testRecords.map((r) => r.modality))].sort();
  const total = modalities.length + 1;
  for (const m of reportingEach(modalities, (done) => onProgress?.(done, total))) {
    const rs = capped(testRecords.filter((r) => r.modality === m), (r) => r.iri);
    if (rs.length < 3) continue;
    const vs = rs.map((r) => records.get(r.iri)!.vector);
    const finding = rs.map((r) => (r.finding ? `${r.finding}${view.ontology.label(r.finding) ? ' ' + view.ontology.label(r.finding) : ''}` : 'no finding'));
    const site = rs.map((r) => r.site ?? 'unknown site');
    results.push(separate('records', m, vs, finding, site));
    const p = pca2(vs);
    maps.push({ name: `${m} records`, points: p.points, labels: { finding, site }, explained: p.explained });
  }
  // Patients: grouped by their first diagnosis, diagnoses with at least 3 test patients.
  const testPatients = view.profiles.filter((p) => splits.get(p.id) === 'test' && vectors.row.has(p.id) && p.diseases.length);
  const count = new Map<string, number>();
  for (const p of testPatients) count.set(p.diseases[0], (count.get(p.diseases[0]) ?? 0) + 1);
  const ps = capped(testPatients.filter((p) => count.get(p.diseases[0])! >= 3), (p) => p.id);
  if (new Set(ps.map((p) => p.diseases[0])).size >= 2) {
    const vs = ps.map((p) => vectors.matrix.subarray(vectors.row.get(p.id)! * vectors.dim, (vectors.row.get(p.id)! + 1) * vectors.dim));
    const disease = ps.map((p) => p.diseases[0]);
    results.push(separate('patients', undefined, vs, disease, undefined));
    const p = pca2(vs);
    maps.push({ name: 'patients', points: p.points, labels: { disease }, explained: p.explained });
  }
  onProgress?.(total, total);
  return { results, maps };
}

// ---------------------------------------------------------------- ontology distance

/** Edges from a to b through their nearest common ancestor (is_a only). */
export function ontologyDistance(ontology: Ontology, a: string, b: string): number {
  const up = (t: string) => {
    const dist = new Map<string, number>([[t, 0]]);
    let frontier = [t];
    for (let d = 1; frontier.length; d++) {
      const next: string[] = [];
      for (const x of frontier) for (const p of ontology.parents(x)) if (!dist.has(p)) {
        dist.set(p, d);
        next.push(p);
      }
      frontier = next;
    }
    return dist;
  };
  const da = up(a);
  const db = up(b);
  let best = Infinity;
  for (const [t, d] of da) {
    const e = db.get(t);
    if (e !== undefined && d + e < best) best = d + e;
  }
  return best;
}

/** `onProgress`: term pairs measured. */
function ontologyPairs(view: StoreView, terms: Map<string, Float32Array>, seed: number, onProgress?: QueryProgress): { result: OntologyAgreement; points: [number, number][] } {
  const used = [...new Set(view.profiles.flatMap((p) => p.observed))].filter((t) => terms.has(t)).sort();
  const rng = new Rng(hash32(`ontology-pairs\u0000${seed}`));
  const pairs: [string, string][] = [];
  if (used.length >= 2) {
    for (let i = 0; i < 300; i++) {
      const a = used[rng.int(used.length)];
      const b = used[rng.int(used.length)];
      if (a !== b) pairs.push([a, b]);
    }
    for (let i = 0; i < 300; i++) {
      const a = used[rng.int(used.length)];
      const ancestors = view.ontology.ancestors(a, false).filter((t) => terms.has(t));
      if (ancestors.length) pairs.push([a, ancestors[rng.int(ancestors.length)]]);
    }
  }
  const points: [number, number][] = [];
  for (const [a, b] of reportingEach(pairs, onProgress)) {
    const d = ontologyDistance(view.ontology, a, b);
    if (Number.isFinite(d)) points.push([d, 1 - dot(terms.get(a)!, terms.get(b)!)]);
  }
  return { result: { pairs: points.length, spearman: round(spearman(points.map((p) => p[0]), points.map((p) => p[1]))), pearson: round(pearson(points.map((p) => p[0]), points.map((p) => p[1]))) }, points };
}

// ---------------------------------------------------------------- plots

function coloured(points: [number, number][], labels: string[]): Series[] {
  const count = new Map<string, number>();
  for (const l of labels) count.set(l, (count.get(l) ?? 0) + 1);
  const top = [...count.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, PALETTE.length - 1).map(([l]) => l);
  const name = (l: string) => (top.includes(l) ? l : 'other');
  const groups = [...top, ...(count.size > top.length ? ['other'] : [])];
  return groups.map((g, i) => ({ name: `${g} (${labels.filter((l) => name(l) === g).length})`, kind: 'points', color: PALETTE[i], points: points.filter((_, k) => name(labels[k]) === g) }));
}

/** Draws and writes the plots; `onProgress`: plots written (each is drawn when its turn comes). */
function writePlots(dir: string, version: string, tasks: ScoredTask[], maps: MapData[], ontologyPoints: [number, number][], agreement: OntologyAgreement, onProgress?: QueryProgress): string[] {
  mkdirSync(dir, { recursive: true });
  const planned: { name: string; draw: () => Buffer }[] = [];
  const plan = (name: string, draw: () => Buffer) => void planned.push({ name, draw });
  const diagonal: Series = { name: 'chance / ideal', kind: 'line', points: [[0, 0], [1, 1]], color: [150, 150, 150], dashed: true, size: 1 };
  if (tasks.length) {
    plan('roc', () => chart({
      title: `ROC, test records (${version})`, xLabel: 'false positive rate', yLabel: 'true positive rate', x: [0, 1], y: [0, 1],
      series: [...tasks.map((t) => ({ name: `${t.task.modality} ${t.task.term} AUC ${t.task.auroc ?? 'n/a'}`, kind: 'line' as const, points: t.roc })), diagonal],
    }));
    const calibrated = tasks.filter((t) => 'bins' in t.task.calibration);
    if (calibrated.length)
      plan('reliability', () => chart({
        title: `Reliability, test records (${version})`, xLabel: 'predicted probability (Platt, fitted on validation)', yLabel: 'fraction with the finding', x: [0, 1], y: [0, 1],
        series: [...calibrated.map((t) => {
          const c = t.task.calibration as { ece: number; bins: ReliabilityBin[] };
          return { name: `${t.task.modality} ${t.task.term} ECE ${c.ece}`, kind: 'line' as const, points: c.bins.map((b) => [b.meanPredicted, b.fractionPositive] as [number, number]) };
        }), diagonal],
      }));
  }
  for (const m of maps)
    for (const [by, labels] of Object.entries(m.labels))
      plan(`map-${m.name.replace(/\W+/g, '-')}-by-${by}`, () => chart({
        title: `PCA of ${m.name} (test) by ${by}`, xLabel: `PC1 (${Math.round(m.explained[0] * 100)}% of variance)`, yLabel: `PC2 (${Math.round(m.explained[1] * 100)}%)`,
        series: coloured(m.points, labels),
      }));
  if (ontologyPoints.length)
    plan('ontology-distance', () => chart({
      title: `HPO distance vs embedding distance (${version})`, xLabel: 'HPO graph distance (is_a edges via the nearest common ancestor)', yLabel: '1 - cosine',
      notes: [`Spearman ${agreement.spearman ?? 'n/a'} over ${agreement.pairs} term pairs`],
      series: [{ name: 'term pair', kind: 'points', points: ontologyPoints.map(([d, e], i) => [d + ((hash32(String(i)) % 1000) / 1000 - 0.5) * 0.4, e] as [number, number]), size: 2 }],
    }));
  const files: string[] = [];
  for (const { name, draw } of reportingEach(planned, onProgress)) {
    const file = join(dir, `${version}.${name}.png`);
    writeFileSync(file, draw());
    files.push(file);
  }
  return files;
}

// ---------------------------------------------------------------- the command

function modelInfo(storeDir: string, version: string): { losses: ModelEvaluation['losses']; seed: number } {
  const dir = modelDir(storeDir, version);
  const card = join(dir, 'model-card.json');
  const { seed } = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { seed: number };
  const losses = existsSync(card) ? ((JSON.parse(readFileSync(card, 'utf8')) as { losses?: ModelEvaluation['losses'] }).losses ?? null) : null;
  return { losses, seed };
}

export interface EvaluateOptions {
  storeDir: string;
  /** Model versions, side by side (default: the last trained). */
  versions?: string[];
  /** Folder for the PNG plots. */
  plotsDir?: string;
  /** phenotype.hpoa: information content of the classical similarity from disease annotations. */
  annotations?: string;
  log?: (line: string) => void;
  /**
   * How far the evaluation of `version` is: `done` of `total` units of a phase (patients embedded,
   * tasks, queries, groups, term pairs, plots). Phases come one after another, each counting up to its
   * total; one with nothing to do reports nothing.
   */
  onProgress?: (phase: string, done: number, total: number, version: string) => void;
}

async function evaluateModel(store: GraphStore, view: StoreView, storeDir: string, version: string, plotsDir: string | undefined, onProgress?: PhaseProgress): Promise<ModelEvaluation> {
  const of = (phase: string): QueryProgress | undefined => onProgress && ((done, total) => onProgress(phase, done, total));
  const splits = readSplits(storeDir, version);
  const { losses, seed } = modelInfo(storeDir, version);
  const records = await storedEmbeddings(store, version, 'record');
  const terms = new Map([...(await storedEmbeddings(store, version, 'term')).entries()].map(([iri, e]) => [oboCurie(iri) ?? iri, e.vector]));
  if (!terms.size) throw new InputError(`model ${version}: no embeddings in the store (run harmonia embed --model ${version} first)`);
  const vectors = await loadPatientVectors(store, version);
  const single = await singleModalityVectors(store, storeDir, version, view.ontology, view.hpoa, onProgress);
  const tasks = classification(view, splits, records, terms, of('classification'));
  const counts: Record<Split, number> = { train: 0, validation: 0, test: 0 };
  for (const s of splits.values()) counts[s]++;
  const sep = separation(view, splits, records, vectors, of('separation'));
  const onto = ontologyPairs(view, terms, seed, of('ontology'));
  const ret = retrieval(view, vectors, splits, seed, single.vectors, of('retrieval'));
  const ranking = view.hpoa && single.diseases ? diseaseRanking(view.hpoa, view.ontology, view.profiles, splits, single.phenotypeOnly, single.diseases, of('disease ranking')) : undefined;
  const plots = plotsDir ? writePlots(plotsDir, version, tasks, sep.maps, onto.points, onto.result, of('plots')) : [];
  return {
    version,
    losses,
    splits: counts,
    classification: tasks.map((t) => t.task),
    retrieval: ret,
    separation: sep.results,
    ontology: onto.result,
    ...(ranking ? { diseaseRanking: ranking } : {}),
    plots,
  };
}

/** Evaluates one or several embedded model versions of a store, side by side. */
export async function evaluateEmbeddings(options: EvaluateOptions): Promise<EmbeddingEvaluation> {
  const log = options.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const versions = (options.versions?.length ? options.versions : [undefined]).map((v) => resolveVersion(options.storeDir, v));
  if (new Set(versions).size !== versions.length) throw new InputError(`--models: a version is named twice (${versions.join(', ')})`);
  const store = await openStore(options.storeDir);
  try {
    const view = await loadView(store, options.annotations);
    const models: ModelEvaluation[] = [];
    for (const v of versions) {
      const started = Date.now();
      const report = options.onProgress;
      models.push(await evaluateModel(store, view, options.storeDir, v, options.plotsDir, report && ((phase, done, total) => report(phase, done, total, v))));
      log(`learn: evaluated ${v} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    return { store: resolve(options.storeDir), definitions: DEFINITIONS, models };
  } finally {
    await store.close();
  }
}
