import { createHash } from 'node:crypto';
import type { Ontology } from '../ontology/index.js';
import { DiseaseModel, OUTSIDE_GENES, type DiagnosisMethod } from './diagnose.js';
import { Accumulator, rankPosition, reportingEach, type QueryProgress, type RankingMetrics } from './evaluate.js';
import type { DiseaseAnnotation, DiseaseTerm, Hpoa } from './hpoa.js';
import { icFromAnnotations } from './ic.js';
import { conditionedTemperature, posterior, type LikelihoodParameters } from './likelihood.js';
import type { PatientProfile } from './profile.js';

// Leave-disease-out evaluation of disease and gene ranking (issue 13). For each query, nothing
// derived from the patients of its disease or from their publications is used:
//
// - annotations: the rows of phenotype.hpoa whose every reference is a publication of a patient with
//   the query's diagnosis (or of the query itself) are dropped from the diseases they belong to
//   (HPO curates many rows from the very papers phenopacket-store encodes), for that query only;
//   phenotype rows and course (onset) rows alike;
// - corpus statistics (IC, term base rates): from the annotations without the rows citing any
//   evaluation patient's publication, one corpus for all queries;
// - constants: the defaults of LIKELIHOOD_DEFAULTS (and the calibration temperature) were chosen on
//   the `tune` diseases of a fixed hash split; reports are on the `test` diseases only.
// A diagnosis left with no annotation at all is still evaluated (as a disease nobody has annotated).

export type EvaluationMode = 'leave-disease-out' | 'standard';
export const EVALUATION_MODES: readonly EvaluationMode[] = ['leave-disease-out', 'standard'];
export type SplitName = 'tune' | 'test' | 'all';
export type RankTarget = 'diseases' | 'genes';

/** The fixed split of diseases: SHA-256 of the disease id, first byte even = tune, odd = test. */
export function diseaseSplit(id: string): 'tune' | 'test' {
  return createHash('sha256').update(id).digest()[0] % 2 === 0 ? 'tune' : 'test';
}

/** Which split a query belongs to: that of its first diagnosis (patients here have one). */
export function querySplit(q: PatientProfile): 'tune' | 'test' | undefined {
  return q.diseases.length ? diseaseSplit(q.diseases[0]) : undefined;
}

/** Is this annotation row derived only from the given publications? */
function citesOnly(t: DiseaseTerm, publications: ReadonlySet<string>): boolean {
  return !!t.references?.length && t.references.every((r) => publications.has(r));
}

/** The annotations without the rows that cite only the given publications. */
export function withoutPublications(hpoa: Hpoa, publications: ReadonlySet<string>): Hpoa {
  const diseases = new Map([...hpoa.diseases].map(([id, d]) => [id, { ...d, terms: d.terms.filter((t) => !citesOnly(t, publications)) }]));
  return { ...hpoa, diseases, version: `${hpoa.version} without ${publications.size} publications` };
}

/** Calibration of post-test probabilities: predicted vs observed hit rate in probability bins. */
export interface ReliabilityBin {
  from: number;
  to: number;
  /** Ranked answers whose probability falls in the bin (the top 10 of each query). */
  count: number;
  meanPredicted: number;
  /** Share of them that are the diagnosis. */
  observed: number;
}

export interface Calibration {
  temperature: number;
  prior: string;
  bins: ReliabilityBin[];
  /** Expected calibration error: count-weighted mean |predicted - observed| over the bins. */
  ece: number;
  /** Mean ln P(diagnosis): higher is better; what the temperature is fitted by. */
  meanLogLikelihood: number;
}

export interface HeldOutMetrics extends RankingMetrics {
  mode: EvaluationMode;
  rank: RankTarget;
  split: SplitName;
  /** Queries by split before skipping (what was left out as the other split). */
  splitQueries: { tune: number; test: number };
  /** Evaluated queries whose diagnosis had annotation rows from its own papers dropped, and how many lost all. */
  heldOutAnnotations?: { queries: number; rowsDropped: number; diagnosesWithoutAnnotations: number };
  /** Equivalent ids ranked as one disease: annotated ids, classes, pairs by the evidence that joined them. */
  equivalentIds: EquivalentIdSummary;
  calibration?: Calibration;
}

export interface EquivalentIdSummary {
  diseases: number;
  classes: number;
  pairs: { name: number; 'gene-and-name': number };
}

/** How many ids the model's equivalence classes joined. */
export function equivalentIdSummary(model: DiseaseModel): EquivalentIdSummary {
  const pairs = { name: 0, 'gene-and-name': 0 };
  for (const p of model.classes.pairs) pairs[p.reason]++;
  return { diseases: model.size, classes: model.classes.size, pairs };
}

export interface HeldOutOptions {
  method: DiagnosisMethod;
  mode?: EvaluationMode;
  genes?: boolean;
  rank?: RankTarget;
  split?: SplitName;
  /** Temperatures to evaluate the likelihood of (bayes-lr); the report's calibration uses params.temperature. */
  temperatures?: number[];
  /** After each query (those outside the split and skipped ones too). */
  onProgress?: QueryProgress;
}

/** What one evaluation needs: the model (held-out corpus in leave-disease-out mode) and the row index. */
export class DiagnosisEvaluation {
  readonly model: DiseaseModel;
  private readonly publicationsByDisease = new Map<string, Set<string>>();
  private readonly diseasesByPublication = new Map<string, Set<string>>();
  private readonly position: Map<string, number>;

  constructor(
    readonly ontology: Ontology,
    readonly hpoa: Hpoa,
    queries: readonly PatientProfile[],
    readonly mode: EvaluationMode,
    options: { diseaseGenes?: Map<string, string[]>; likelihood?: Partial<LikelihoodParameters>; equivalents?: boolean } = {},
  ) {
    const all = new Set<string>();
    for (const q of queries) {
      for (const p of q.publications) all.add(p);
      for (const d of q.diseases) {
        const set = this.publicationsByDisease.get(d) ?? new Set<string>();
        for (const p of q.publications) set.add(p);
        this.publicationsByDisease.set(d, set);
      }
    }
    for (const d of hpoa.diseases.values()) {
      for (const t of [...d.terms, ...(d.course ?? [])]) for (const r of t.references ?? []) if (all.has(r)) {
        const set = this.diseasesByPublication.get(r) ?? new Set<string>();
        set.add(d.id);
        this.diseasesByPublication.set(r, set);
      }
    }
    const ic = mode === 'leave-disease-out' ? icFromAnnotations(ontology, withoutPublications(hpoa, all)) : undefined;
    this.model = new DiseaseModel(ontology, hpoa, { ic, diseaseGenes: options.diseaseGenes, likelihood: options.likelihood, equivalents: options.equivalents });
    this.position = new Map(this.model.ids.map((id, i) => [id, i]));
  }

  /** The publications nothing may come from for this query: its own and those of its diagnoses' patients. */
  private forbidden(q: PatientProfile): Set<string> {
    const out = new Set(q.publications);
    for (const d of q.diseases) for (const p of this.publicationsByDisease.get(d) ?? []) out.add(p);
    return out;
  }

  /** The annotation lists that change for this query (disease index -> remaining rows). */
  reducedAnnotations(q: PatientProfile): Map<number, DiseaseTerm[]> {
    return this.reduced(q, (d) => d.terms);
  }

  /** The course (onset) annotation lists that change for this query. */
  reducedCourse(q: PatientProfile): Map<number, DiseaseTerm[]> {
    return this.reduced(q, (d) => d.course ?? []);
  }

  private reduced(q: PatientProfile, rows: (d: DiseaseAnnotation) => DiseaseTerm[]): Map<number, DiseaseTerm[]> {
    const out = new Map<number, DiseaseTerm[]>();
    if (this.mode !== 'leave-disease-out') return out;
    const pubs = this.forbidden(q);
    const touched = new Set<string>();
    for (const p of pubs) for (const d of this.diseasesByPublication.get(p) ?? []) touched.add(d);
    for (const id of touched) {
      const i = this.position.get(id);
      if (i === undefined) continue;
      const all = rows(this.hpoa.diseases.get(id)!);
      const kept = all.filter((t) => !citesOnly(t, pubs));
      if (kept.length < all.length) out.set(i, kept);
    }
    return out;
  }

  /** Disease scores for one query, with this query's held-out annotations (and gene evidence when asked). */
  scores(q: PatientProfile, method: DiagnosisMethod, genes = false, reduced = this.reducedAnnotations(q), course = this.reducedCourse(q)): Float64Array {
    if (method === 'bayes-lr') {
      const { scores, stats } = this.model.likelihood.scoreAll(q);
      let shift = 0;
      const replaced: [number, number][] = [];
      for (const i of new Set([...reduced.keys(), ...(stats.onset ? course.keys() : [])])) {
        const r = this.model.likelihood.replaceDisease(i, reduced.get(i) ?? this.hpoa.diseases.get(this.model.ids[i])!.terms, stats, course.get(i));
        replaced.push([i, r.score]);
        shift += r.shift;
      }
      if (shift !== 0) for (let d = 0; d < scores.length; d++) scores[d] += shift;
      for (const [i, s] of replaced) scores[i] = s;
      if (genes) conditionScores(scores, this.model.geneCandidates(q.genes));
      return scores;
    }
    const scores = this.model.scoreAll(q, method);
    for (const [i, terms] of reduced) scores[i] = this.singleDiseaseScore(q, method, this.model.ids[i], terms, scores);
    if (genes) this.model.addGeneEvidence(q, scores, method);
    return scores;
  }

  /** resnik-bma and lr of one disease with replaced annotations, on the same corpus statistics. */
  private singleDiseaseScore(q: PatientProfile, method: DiagnosisMethod, id: string, terms: DiseaseTerm[], all: Float64Array): number {
    const usable = terms.filter((t) => !t.excluded && this.ontology.indexOf(t.id) >= 0);
    // Nothing left: a disease nobody has annotated ranks after every annotated one.
    if (usable.length === 0) return Math.min(...all) - 1;
    const single: Hpoa = { ...this.hpoa, diseases: new Map([[id, { id, label: id, terms }]]) };
    return new DiseaseModel(this.ontology, single, { ic: this.model.ic }).scoreAll(q, method)[0];
  }
}

function conditionScores(scores: Float64Array, candidates: Uint8Array): void {
  if (!candidates.some((c) => c === 1)) return;
  for (let d = 0; d < scores.length; d++) if (!candidates[d]) scores[d] -= OUTSIDE_GENES;
}

/**
 * Gene scores from per-class disease scores (DiseaseModel.classes). bayes-lr: log10 of the gene's
 * posterior, P(g) = sum over its disease classes c of P(c) / (genes linked to c), with P(c) the
 * calibrated posterior under a uniform prior over disease classes: the gene is causal when one of its
 * diseases is the diagnosis (a disease of several genes shares its mass among them). The other
 * methods: the best disease per gene.
 */
export function geneScores(model: DiseaseModel, classScores: Float64Array, method: DiagnosisMethod, temperature: number): { genes: string[]; scores: Float64Array } {
  const { genes, classes, genesPerClass } = model.geneClasses;
  const scores = new Float64Array(genes.length);
  if (method !== 'bayes-lr') {
    classes.forEach((cs, i) => {
      let best = -Infinity;
      for (const c of cs) if (classScores[c] > best) best = classScores[c];
      scores[i] = best;
    });
    return { genes, scores };
  }
  let top = -Infinity;
  for (const s of classScores) if (s > top) top = s;
  let z = 0;
  for (const s of classScores) z += 10 ** (temperature * (s - top));
  classes.forEach((cs, i) => {
    let mass = 0;
    for (const c of cs) mass += 10 ** (temperature * (classScores[c] - top)) / genesPerClass[c];
    scores[i] = Math.log10(mass / z);
  });
  return { genes, scores };
}

/** hit@1, hit@10, MRR (ties broken at random in expectation) of disease or gene ranking, with calibration for bayes-lr. */
export function evaluateHeldOut(ev: DiagnosisEvaluation, queries: readonly PatientProfile[], options: HeldOutOptions): HeldOutMetrics {
  const rank = options.rank ?? 'diseases';
  const split = options.split ?? (ev.mode === 'leave-disease-out' ? 'test' : 'all');
  const model = ev.model;
  const { temperature, geneTemperature } = model.likelihood.params;
  const acc = new Accumulator();
  const splitQueries = { tune: 0, test: 0 };
  const held = { queries: 0, rowsDropped: 0, diagnosesWithoutAnnotations: 0 };
  const pairs: { p: number; hit: boolean }[] = [];
  let logLik = 0;
  let calibrated = 0;
  const classes = model.classes;
  const geneIndex = rank === 'genes' ? new Map(model.geneClasses.genes.map((g, i) => [g, i])) : undefined;
  for (const q of reportingEach(queries, options.onProgress)) {
    const s = querySplit(q);
    if (s) splitQueries[s]++;
    if (split !== 'all' && s !== split) continue;
    // The diagnosis and its equivalent ids (ORPHA, DECIPHER entries of the same disease) are one class.
    const targetDiseases = q.diseases.map((d) => model.indexOfDisease(d)).filter((i) => i >= 0);
    const targets = [...new Set(targetDiseases.map((d) => classes.ofDisease[d]))];
    if (q.diseases.length === 0) {
      acc.skip('no diagnosis');
      continue;
    }
    if (q.observed.length === 0) {
      acc.skip('empty profile');
      continue;
    }
    const geneTargets = geneIndex ? q.genes.map((g) => geneIndex.get(g.toUpperCase())).filter((i): i is number => i !== undefined) : [];
    if (rank === 'diseases' && targets.length === 0) {
      acc.skip('diagnosis not in annotations');
      continue;
    }
    if (rank === 'genes' && geneTargets.length === 0) {
      acc.skip(q.genes.length ? 'causal gene not in gene annotations' : 'no causal gene');
      continue;
    }
    const reduced = ev.reducedAnnotations(q);
    if (targetDiseases.some((t) => reduced.has(t))) {
      held.queries++;
      for (const t of targetDiseases) {
        const r = reduced.get(t);
        if (!r) continue;
        held.rowsDropped += ev.hpoa.diseases.get(model.ids[t])!.terms.length - r.length;
        if (!r.some((x) => !x.excluded && ev.ontology.indexOf(x.id) >= 0)) held.diagnosesWithoutAnnotations++;
      }
    }
    const classScores = classes.collapse(ev.scores(q, options.method, options.genes && rank === 'diseases', reduced));
    let scores = classScores;
    let relevantIdx = targets;
    if (rank === 'genes') {
      scores = geneScores(model, classScores, options.method, temperature).scores;
      relevantIdx = geneTargets;
    }
    const relevant = new Uint8Array(scores.length);
    for (const t of relevantIdx) relevant[t] = 1;
    acc.addPosition(rankPosition(scores, relevant)!);
    if (options.method === 'bayes-lr') {
      const candidates = options.genes && rank === 'diseases' ? model.geneClassCandidates(q.genes) : undefined;
      const useCandidates = candidates?.some((c) => c === 1) ? candidates : undefined;
      const tau = conditionedTemperature(model.likelihood.params, useCandidates ? new Set(q.genes.map((g) => g.toUpperCase())).size : 0);
      const post = rank === 'genes' ? posterior(scores.map((x) => x / temperature), temperature) : posterior(scores, tau, useCandidates);
      let pTrue = 0;
      for (const t of relevantIdx) pTrue += post[t];
      logLik += Math.log(Math.max(pTrue, 1e-300));
      calibrated++;
      for (const i of topIndices(post, 10)) pairs.push({ p: post[i], hit: relevant[i] === 1 });
    }
  }
  const base = acc.result(options.method + (options.genes && rank === 'diseases' ? '+genes' : ''));
  const prior = rank === 'genes'
    ? `uniform over ${classes.size} diseases (equivalent ids once), a disease's mass shared among its genes, over the genes ranked`
    : options.genes ? `uniform over the diseases of the given genes (equivalent ids once); temperature ${geneTemperature} for one gene, ${temperature} otherwise` : `uniform over ${classes.size} diseases (equivalent ids once)`;
  return {
    ...base,
    mode: ev.mode,
    rank,
    split,
    splitQueries,
    ...(ev.mode === 'leave-disease-out' && rank === 'diseases' ? { heldOutAnnotations: held } : {}),
    equivalentIds: equivalentIdSummary(model),
    ...(options.method === 'bayes-lr' && calibrated ? { calibration: reliability(pairs, options.genes && rank === 'diseases' ? geneTemperature : temperature, prior, logLik / calibrated) } : {}),
  };
}

function topIndices(p: Float64Array, k: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < p.length; i++) {
    if (p[i] <= 0) continue;
    if (idx.length < k) {
      idx.push(i);
      idx.sort((a, b) => p[b] - p[a]);
    } else if (p[i] > p[idx[k - 1]]) {
      idx[k - 1] = i;
      idx.sort((a, b) => p[b] - p[a]);
    }
  }
  return idx;
}

/** Ten equal-width bins of predicted probability. */
export function reliability(pairs: readonly { p: number; hit: boolean }[], temperature: number, prior: string, meanLogLikelihood: number): Calibration {
  const bins: ReliabilityBin[] = Array.from({ length: 10 }, (_, i) => ({ from: i / 10, to: (i + 1) / 10, count: 0, meanPredicted: 0, observed: 0 }));
  for (const { p, hit } of pairs) {
    const b = bins[Math.min(9, Math.floor(p * 10))];
    b.count++;
    b.meanPredicted += p;
    b.observed += hit ? 1 : 0;
  }
  let ece = 0;
  const total = pairs.length || 1;
  for (const b of bins) {
    if (b.count) {
      b.meanPredicted /= b.count;
      b.observed /= b.count;
    }
    ece += (b.count / total) * Math.abs(b.meanPredicted - b.observed);
    b.meanPredicted = round(b.meanPredicted);
    b.observed = round(b.observed);
  }
  return { temperature, prior, bins, ece: round(ece), meanLogLikelihood: round(meanLogLikelihood) };
}

const round = (x: number): number => Math.round(x * 1e4) / 1e4;
