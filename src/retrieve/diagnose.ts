import type { Ontology } from '../ontology/index.js';
import { DiseaseClasses, equivalentPairs } from './equivalence.js';
import type { DiseaseTerm, Hpoa } from './hpoa.js';
import { icFromAnnotations, type InformationContent } from './ic.js';
import { LikelihoodModel, type LikelihoodParameters } from './likelihood.js';
import { PatientIndex, topK } from './patient-index.js';
import type { PatientProfile } from './profile.js';

// Disease ranking over every disease of phenotype.hpoa.
//
// `resnik-bma`: the patient against each disease's annotated terms, as a PatientIndex over diseases.
// `lr`: a likelihood ratio per query feature, summed as log10. For an observed term t,
//   P(t | D) = max over ancestors a of t that D has (after propagation) of f_D(a) * P(t | a),
// with f_D(a) the highest annotated frequency among D's terms under a and P(t | a) = n(t) / n(a) the
// chance, in the annotation corpus, that a disease with a also has the more specific t. When D is
// annotated with t itself this is f_D(t); when D only has a broader term the evidence is discounted by
// how much more specific t is; the root makes it fall back to the background. The background is
// P(t | not D) = n(t) / N. An excluded term e contributes (1 - P(e | D)) / (1 - n(e) / N), so an
// obligate feature the patient lacks weighs heavily against D. A NOT annotation of D on t or an
// ancestor of t caps P(t | D) at a small value. Optional gene evidence multiplies by GENE_LR when one of
// the patient's genes is linked to D.

// `bayes-lr` (src/retrieve/likelihood.ts): the default, a likelihood ratio with a marginal background,
// noise, penalties for disease features missing from the query, calibrated probabilities and
// per-term evidence; with genes it is conditioned on them (only their diseases compete).

export type DiagnosisMethod = 'resnik-bma' | 'lr' | 'bayes-lr';
export const DIAGNOSIS_METHODS: readonly DiagnosisMethod[] = ['resnik-bma', 'lr', 'bayes-lr'];
export const DEFAULT_DIAGNOSIS_METHOD: DiagnosisMethod = 'bayes-lr';
/** Subtracted from diseases outside the given genes under gene conditioning: they rank after every gene disease. */
export const OUTSIDE_GENES = 1e6;

/** Frequency assumed for annotations without one (most OMIM IEA rows); LIRICAL also assumes 1. */
export const DEFAULT_FREQUENCY = 1;
/** Likelihood ratio of a disease-gene link for one of the patient's genes. */
export const GENE_LR = 100;
/** P(t | D) / background when D explicitly lacks t (NOT annotation). */
const EXCLUDED_LR = 0.01;
/** Floor of 1 - P(e | D) for an excluded query feature: at most a halving per term, since published "absent" features of a patient often are variable features of the disease. */
const MIN_ABSENCE = 0.5;
/** P(t | D) never falls below this fraction of the background: unexplained features are noise, not vetoes. */
const NOISE_FLOOR = 0.1;

export interface DiseaseScore {
  disease: string;
  label: string;
  score: number;
  /** Other ids of the same disease (its OMIM, ORPHA or DECIPHER entries), ranked once under the best-scoring one. */
  equivalents?: string[];
}

/** A candidate gene with the best disease it explains. */
export interface GeneScore {
  gene: string;
  score: number;
  /** bayes-lr: post-test probability over the ranked genes (uniform prior over them). */
  probability?: number;
  disease: string;
  label: string;
}

export class DiseaseModel {
  readonly ids: string[];
  readonly labels: string[];
  readonly index: PatientIndex;
  readonly ic: InformationContent;
  private readonly ic_: Float64Array;
  /** Inverted, propagated annotations: term -> (disease, max frequency under the term). */
  private readonly postStart: Int32Array;
  private readonly postDisease: Int32Array;
  private readonly postFreq: Float32Array;
  /** The same with only explicit frequencies (unknown = 0): what excluded features are judged by. */
  private readonly postFreqExplicit: Float32Array;
  private readonly notStart: Int32Array;
  private readonly notDisease: Int32Array;
  private readonly genes: Map<string, number[]>;
  private readonly excludedEvidence: boolean;
  private readonly minAbsence: number;
  private readonly noiseFloor: number;
  private readonly explicitOnlyForExcluded: boolean;
  private readonly diseaseTerms: DiseaseTerm[][];
  /** Aspect C annotations (onset) per disease, for bayes-lr's onset evidence. */
  readonly diseaseCourse: DiseaseTerm[][];
  private readonly likelihoodParams: Partial<LikelihoodParameters>;
  private likelihood_?: LikelihoodModel;
  /** Gene symbol (upper case) -> disease indices. */
  readonly geneDiseases: ReadonlyMap<string, readonly number[]>;
  /** Equivalent ids (OMIM, ORPHA, DECIPHER entries of one disease) grouped: rankings list each class once. */
  readonly classes: DiseaseClasses;
  private readonly position: Map<string, number>;

  constructor(
    readonly ontology: Ontology,
    readonly hpoa: Hpoa,
    options: { ic?: InformationContent; diseaseGenes?: Map<string, string[]>; equivalents?: boolean; defaultFrequency?: number; excludedEvidence?: boolean; minAbsence?: number; noiseFloor?: number; explicitOnlyForExcluded?: boolean; likelihood?: Partial<LikelihoodParameters> } = {},
  ) {
    this.likelihoodParams = options.likelihood ?? {};
    this.excludedEvidence = options.excludedEvidence ?? true;
    this.minAbsence = options.minAbsence ?? MIN_ABSENCE;
    this.noiseFloor = options.noiseFloor ?? NOISE_FLOOR;
    this.explicitOnlyForExcluded = options.explicitOnlyForExcluded ?? true;
    this.ic = options.ic ?? icFromAnnotations(ontology, hpoa);
    this.ic_ = this.ic.values;
    const diseases = [...hpoa.diseases.values()].filter((d) => d.terms.some((t) => !t.excluded && ontology.indexOf(t.id) >= 0));
    this.ids = diseases.map((d) => d.id);
    this.diseaseTerms = diseases.map((d) => d.terms);
    this.diseaseCourse = diseases.map((d) => d.course ?? []);
    this.labels = diseases.map((d) => d.label);
    const profiles: PatientProfile[] = diseases.map((d) => ({
      id: d.id,
      observed: d.terms.filter((t) => !t.excluded).map((t) => t.id),
      excluded: d.terms.filter((t) => t.excluded).map((t) => t.id),
      diseases: [d.id],
      genes: [],
      publications: [],
    }));
    this.index = new PatientIndex(ontology, this.ic, profiles);
    const posts: { d: number; f: number; fx: number }[][] = Array.from({ length: ontology.size }, () => []);
    const nots: number[][] = Array.from({ length: ontology.size }, () => []);
    diseases.forEach((d, di) => {
      const best = new Map<number, number>();
      const explicit = new Map<number, number>();
      for (const t of d.terms) {
        const i = ontology.indexOf(t.id);
        if (i < 0) continue;
        if (t.excluded) {
          nots[i].push(di);
          continue;
        }
        const f = t.frequency ?? options.defaultFrequency ?? DEFAULT_FREQUENCY;
        const fx = t.frequency ?? 0;
        for (const a of ontology.ancestorIndices(i)) {
          if ((best.get(a) ?? -1) < f) best.set(a, f);
          if ((explicit.get(a) ?? -1) < fx) explicit.set(a, fx);
        }
      }
      for (const [a, f] of best) posts[a].push({ d: di, f, fx: explicit.get(a) ?? 0 });
    });
    this.postStart = new Int32Array(ontology.size + 1);
    posts.forEach((p, i) => (this.postStart[i + 1] = this.postStart[i] + p.length));
    this.postDisease = new Int32Array(this.postStart[ontology.size]);
    this.postFreq = new Float32Array(this.postStart[ontology.size]);
    this.postFreqExplicit = new Float32Array(this.postStart[ontology.size]);
    posts.forEach((p, i) => p.forEach(({ d, f, fx }, k) => {
      this.postDisease[this.postStart[i] + k] = d;
      this.postFreq[this.postStart[i] + k] = f;
      this.postFreqExplicit[this.postStart[i] + k] = fx;
    }));
    this.notStart = new Int32Array(ontology.size + 1);
    nots.forEach((n, i) => (this.notStart[i + 1] = this.notStart[i] + n.length));
    this.notDisease = Int32Array.from(nots.flat());
    this.genes = new Map();
    this.geneDiseases = this.genes;
    const position = new Map(this.ids.map((id, i) => [id, i]));
    this.position = position;
    this.classes = new DiseaseClasses(this.ids, options.equivalents === false ? [] : equivalentPairs(hpoa, options.diseaseGenes));
    for (const [disease, symbols] of options.diseaseGenes ?? []) {
      const di = position.get(disease);
      if (di === undefined) continue;
      for (const s of symbols) {
        const list = this.genes.get(s.toUpperCase()) ?? [];
        list.push(di);
        this.genes.set(s.toUpperCase(), list);
      }
    }
  }

  get size(): number {
    return this.ids.length;
  }

  get hasGenes(): boolean {
    return this.genes.size > 0;
  }

  /** The `bayes-lr` model over the same diseases, in the same order (built on first use). */
  get likelihood(): LikelihoodModel {
    return (this.likelihood_ ??= new LikelihoodModel(this.ontology, this.diseaseTerms, this.ic, this.likelihoodParams, this.diseaseCourse));
  }

  /** 1 for the diseases linked to any of the genes. */
  geneCandidates(genes: readonly string[]): Uint8Array {
    const hit = new Uint8Array(this.ids.length);
    for (const g of genes) for (const d of this.genes.get(g.toUpperCase()) ?? []) hit[d] = 1;
    return hit;
  }

  /** Scores every disease for a profile; higher is more likely. */
  scoreAll(profile: PatientProfile, method: DiagnosisMethod, options: { genes?: boolean } = {}): Float64Array {
    let scores: Float64Array;
    if (method === 'resnik-bma') {
      scores = this.index.scoreAll(this.index.prepare(profile), 'resnik-bma');
    } else if (method === 'lr') {
      scores = this.logLikelihoodRatios(profile);
    } else if (method === 'bayes-lr') {
      scores = this.likelihood.scoreAll(profile).scores;
      if (options.genes) conditionOnGenes(scores, this.geneCandidates(profile.genes));
      return scores;
    } else {
      throw new Error(`unknown diagnosis method '${method as string}': expected ${DIAGNOSIS_METHODS.join(' or ')}`);
    }
    if (options.genes) this.addGeneEvidence(profile, scores, method);
    return scores;
  }

  /**
   * The candidate genes ranked by the best-scoring disease each is linked to (phenotype fit plus the
   * gene evidence itself): with a VCF's candidate genes, the gene behind the likeliest disease first.
   */
  rankGenes(profile: PatientProfile, method: DiagnosisMethod, k: number, candidates: readonly string[]): GeneScore[] {
    // Best disease per gene: duplicates of one disease do not change a maximum, so no collapsing needed.
    const scores = this.scoreAll(profile, method, { genes: true });
    const out: GeneScore[] = [];
    for (const symbol of new Set(candidates.map((c) => c.toUpperCase()))) {
      let best = -1;
      for (const d of this.genes.get(symbol) ?? []) if (best < 0 || scores[d] > scores[best]) best = d;
      if (best >= 0) out.push({ gene: symbol, score: Math.round(scores[best] * 1e4) / 1e4, disease: this.ids[best], label: this.labels[best] });
    }
    return out.sort((a, b) => b.score - a.score || a.gene.localeCompare(b.gene)).slice(0, k);
  }

  /** The top k diseases, equivalent ids collapsed: each class once, under its best-scoring id. */
  rank(profile: PatientProfile, method: DiagnosisMethod, k: number, options: { genes?: boolean } = {}): DiseaseScore[] {
    const scores = this.scoreAll(profile, method, options);
    const perClass = this.classes.collapse(scores);
    // topK keeps only positive scores; log-LRs can be negative, so shift them for selection.
    let min = Infinity;
    for (const s of perClass) if (s < min) min = s;
    const shifted = min <= 0 ? perClass.map((s) => s - min + 1) : perClass;
    return topK(shifted, k).map((c) => this.classResult(c, scores));
  }

  /** A class as a ranked disease: the best-scoring member, the others as equivalents. */
  classResult(c: number, scores: Float64Array): DiseaseScore {
    const i = this.classes.bestMember(c, scores);
    const others = this.classes.members[c].filter((d) => d !== i).map((d) => this.ids[d]);
    return { disease: this.ids[i], label: this.labels[i], score: Math.round(scores[i] * 1e4) / 1e4, ...(others.length ? { equivalents: others } : {}) };
  }

  private logLikelihoodRatios(profile: PatientProfile): Float64Array {
    const n = this.ids.length;
    const total = new Float64Array(n);
    const pGivenD = new Float64Array(n);
    const observed = this.termIndices(profile.observed);
    const excluded = this.termIndices(profile.excluded);
    if (observed.length === 0 && excluded.length === 0) throw new Error(`query ${profile.id}: empty profile (no known HPO term)`);
    const N = this.ic.corpusSize;
    for (const t of observed) {
      const background = Math.max(this.ic.counts[t], 1) / N;
      this.probabilityGivenDisease(t, pGivenD);
      // Diseases with no annotation near t still explain it as noise at a tenth of the background.
      for (let d = 0; d < n; d++) if (pGivenD[d] < background * this.noiseFloor) pGivenD[d] = background * this.noiseFloor;
      this.applyNotAnnotations(t, pGivenD, background);
      for (let d = 0; d < n; d++) total[d] += Math.log10(pGivenD[d] / background);
    }
    for (const e of this.excludedEvidence ? excluded : []) {
      const background = Math.max(this.ic.counts[e], 1) / N;
      if (background >= 0.999) continue; // excluding the root says nothing
      this.probabilityGivenDisease(e, pGivenD, this.explicitOnlyForExcluded ? this.postFreqExplicit : this.postFreq);
      for (let d = 0; d < n; d++) total[d] += Math.log10(Math.max(1 - pGivenD[d], this.minAbsence) / (1 - background));
    }
    return total;
  }

  /** P(t | D) for every disease into `out`, from the propagated postings of t's ancestors. */
  private probabilityGivenDisease(t: number, out: Float64Array, postFreq: Float32Array = this.postFreq): void {
    out.fill(0);
    const ic = this.ic_;
    const { postStart, postDisease } = this;
    for (const a of this.ontology.ancestorIndices(t)) {
      // n(t) / n(a) = exp(IC(a) - IC(t)).
      const specificity = Math.exp(ic[a] - ic[t]);
      for (let k = postStart[a], end = postStart[a + 1]; k < end; k++) {
        const p = postFreq[k] * specificity;
        if (p > out[postDisease[k]]) out[postDisease[k]] = p;
      }
    }
  }

  private applyNotAnnotations(t: number, out: Float64Array, background: number): void {
    for (const a of this.ontology.ancestorIndices(t)) {
      for (let k = this.notStart[a], end = this.notStart[a + 1]; k < end; k++) out[this.notDisease[k]] = EXCLUDED_LR * background;
    }
  }

  /** The older methods' gene evidence: a fixed bonus for diseases of the patient's genes. */
  addGeneEvidence(profile: PatientProfile, scores: Float64Array, method: DiagnosisMethod): void {
    const hit = new Uint8Array(this.ids.length);
    for (const g of profile.genes) for (const d of this.genes.get(g.toUpperCase()) ?? []) hit[d] = 1;
    // For log-LRs gene evidence adds log10(GENE_LR); for similarity scores it is a tie-breaking boost
    // on the same scale (the maximum similarity is the IC of the rarest term, about 10).
    const bonus = method === 'lr' ? Math.log10(GENE_LR) : Math.log10(GENE_LR) * 5;
    for (let d = 0; d < hit.length; d++) if (hit[d]) scores[d] += bonus;
  }

  private termIndices(ids: readonly string[]): number[] {
    const out = new Set<number>();
    for (const id of ids) {
      const r = this.ontology.resolve(id);
      if (r.status !== 'unknown' && r.status !== 'obsolete') out.add(this.ontology.indexOf(r.id));
    }
    return [...out].filter((i) => i >= 0);
  }

  indexOfDisease(id: string): number {
    return this.position.get(id) ?? -1;
  }

  /** The class of a disease id, or -1 when it is not annotated. */
  classOfDisease(id: string): number {
    const i = this.indexOfDisease(id);
    return i < 0 ? -1 : this.classes.ofDisease[i];
  }

  private geneClasses_?: { genes: string[]; classes: number[][]; genesPerClass: Int32Array };

  /**
   * Genes by their disease classes (each class once, however many of its ids the gene is linked to),
   * and how many distinct genes each class is linked to; genes sorted.
   */
  get geneClasses(): { genes: string[]; classes: number[][]; genesPerClass: Int32Array } {
    if (this.geneClasses_) return this.geneClasses_;
    const genes = [...this.genes.keys()].sort();
    const classes = genes.map((g) => [...new Set(this.genes.get(g)!.map((d) => this.classes.ofDisease[d]))].sort((x, y) => x - y));
    const genesPerClass = new Int32Array(this.classes.size);
    for (const cs of classes) for (const c of cs) genesPerClass[c]++;
    return (this.geneClasses_ = { genes, classes, genesPerClass });
  }

  /** 1 for the classes with a disease linked to any of the genes. */
  geneClassCandidates(genes: readonly string[]): Uint8Array {
    return this.classes.anyMember(this.geneCandidates(genes));
  }
}

/**
 * Gene conditioning as a ranking: when the patient's genes have diseases, those compete only among
 * themselves and rank before every other disease (which keeps its order after them).
 */
export function conditionOnGenes(scores: Float64Array, candidates: Uint8Array): void {
  if (!candidates.some((c) => c === 1)) return;
  for (let d = 0; d < scores.length; d++) if (!candidates[d]) scores[d] -= OUTSIDE_GENES;
}
