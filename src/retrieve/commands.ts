import { InputError } from '../model/errors.js';
import type { Ontology } from '../ontology/index.js';
import { DEFAULT_DIAGNOSIS_METHOD, DIAGNOSIS_METHODS, DiseaseModel, type DiagnosisMethod, type GeneScore } from './diagnose.js';
import { DiagnosisEvaluation, EVALUATION_MODES, evaluateHeldOut, geneScores, type Calibration, type EquivalentIdSummary, type EvaluationMode, type RankTarget, type SplitName } from './heldout.js';
import { conditionedTemperature, posterior, type TermEvidence } from './likelihood.js';
import { evaluateRetrievalMetrics, type QueryProgress, type RankingMetrics } from './evaluate.js';
import type { Hpoa } from './hpoa.js';
import { icFromAnnotations, icFromProfiles, type InformationContent } from './ic.js';
import { DEFAULT_METHOD, parseMethod } from './method.js';
import { isMmeContentType, MME_CONTENT_TYPE, mmeResponse, profileFromMmeRequest, type MmeContact, type MmeSchema } from './mme.js';
import { PatientIndex, topK, type MatchedPair } from './patient-index.js';
import { profileFromHpoList, readProfiles, type PatientProfile, type ProfileIssue } from './profile.js';

// Command-level functions: what `harmonia similar | diagnose | eval retrieval` and the HTTP routes
// call with parsed options. They return plain JSON-ready objects in the shapes of issue #4.

export interface RetrievalContext {
  ontology: Ontology;
  index: PatientIndex;
}

export interface DiagnosisContext {
  ontology: Ontology;
  model: DiseaseModel;
}

/**
 * Indexes patients for retrieval. IC comes from disease annotations when given (the default corpus:
 * it does not depend on who is in the store), else from the patients themselves.
 */
export function buildRetrievalContext(ontology: Ontology, profiles: readonly PatientProfile[], options: { annotations?: Hpoa; ic?: InformationContent } = {}): RetrievalContext {
  const ic = options.ic ?? (options.annotations ? icFromAnnotations(ontology, options.annotations) : icFromProfiles(ontology, profiles));
  return { ontology, index: new PatientIndex(ontology, ic, profiles) };
}

export function buildDiagnosisContext(ontology: Ontology, annotations: Hpoa, diseaseGenes?: Map<string, string[]>): DiagnosisContext {
  return { ontology, model: new DiseaseModel(ontology, annotations, { diseaseGenes }) };
}

/** Where queries come from: phenopacket files (each document one query), HPO ids, or a stored patient. */
export type QuerySpec = { files: string[] } | { hpo: string | string[] } | { patient: string };

export type QueryItem = { profile: PatientProfile; issues: ProfileIssue[] } | { error: ProfileIssue };

/** Resolves a query spec to profiles; a bad document yields an error item, not an exception. */
export async function* resolveQueries(ctx: { ontology: Ontology; index?: PatientIndex }, spec: QuerySpec): AsyncGenerator<QueryItem> {
  if ('files' in spec) {
    yield* readProfiles(spec.files, ctx.ontology);
  } else if ('hpo' in spec) {
    const ids = Array.isArray(spec.hpo) ? spec.hpo : spec.hpo.split(',');
    yield profileFromHpoList(ids, ctx.ontology);
  } else {
    const i = ctx.index?.indexOfPatient(spec.patient) ?? -1;
    if (i < 0) yield { error: { source: 'query', field: 'patient', message: `unknown patient '${spec.patient}'` } };
    else yield { profile: ctx.index!.profiles[i], issues: [] };
  }
}

export interface SimilarOptions {
  top?: number;
  method?: string;
  /** Leave out patients sharing a publication with the query. */
  excludeSamePublication?: boolean;
  /** Add matched term pairs and their MICA to every result. */
  explain?: boolean;
}

export interface SimilarResult {
  query: string;
  method: string;
  results: { patient: string; score: number; explanation?: MatchedPair[] }[];
  warnings?: string[];
}

function requireTerms(profile: PatientProfile, issues: ProfileIssue[], needObserved = true): void {
  if (needObserved ? profile.observed.length === 0 : profile.observed.length + profile.excluded.length === 0) {
    const why = issues.length ? `: ${issues.map((i) => i.message).join('; ')}` : '';
    throw new InputError(`empty profile: no known observed HPO term${why}`, undefined, profile.id, 'phenotypes');
  }
}

/** Top-k similar patients for one query profile; the query itself is never a result. */
export function similar(ctx: RetrievalContext, query: PatientProfile, options: SimilarOptions = {}, issues: ProfileIssue[] = []): SimilarResult {
  const method = parseMethod(options.method ?? DEFAULT_METHOD);
  const top = checkTop(options.top ?? 10);
  requireTerms(query, issues);
  const prepared = ctx.index.prepare(query);
  const mask = ctx.index.excludedCandidates(query, { samePublication: options.excludeSamePublication });
  const hits = ctx.index.search(prepared, method, top, mask);
  const results = hits.map((h) => ({
    patient: h.id,
    score: round(h.score),
    ...(options.explain ? { explanation: ctx.index.explain(prepared, h.index) } : {}),
  }));
  return { query: query.id, method: method.name, results, ...(issues.length ? { warnings: issues.map(describeIssue) } : {}) };
}

/** One answer per query of the spec; a query that cannot be answered yields its error instead. */
async function* answerEach<R>(ctx: { ontology: Ontology; index?: PatientIndex }, spec: QuerySpec, answer: (profile: PatientProfile, issues: ProfileIssue[]) => R): AsyncGenerator<R | { query: string; error: string }> {
  for await (const item of resolveQueries(ctx, spec)) {
    if ('error' in item) {
      yield { query: item.error.source, error: describeIssue(item.error) };
      continue;
    }
    try {
      yield answer(item.profile, item.issues);
    } catch (e) {
      yield { query: item.profile.id, error: (e as Error).message };
    }
  }
}

/** `harmonia similar`: one result (or error) per query of the spec. */
export function similarAll(ctx: RetrievalContext, spec: QuerySpec, options: SimilarOptions = {}): AsyncGenerator<SimilarResult | { query: string; error: string }> {
  return answerEach(ctx, spec, (profile, issues) => similar(ctx, profile, options, issues));
}

export interface DiagnoseOptions {
  top?: number;
  method?: string;
  /** Use the patient's genes as evidence (needs genes_to_phenotype in the context). */
  genes?: boolean;
  /** Genes found elsewhere (a VCF's candidate genes), added to every query's genes as evidence. */
  evidenceGenes?: string[];
  /** `genes`: also rank the genes of genes_to_phenotype for the profile (field `genes`). */
  rank?: RankTarget;
}

/** One ranked disease. `probability`, `for`, `against` and `notInQuery` come with bayes-lr. */
export interface DiseaseResult {
  disease: string;
  label: string;
  /** Method score; for bayes-lr the log10 likelihood ratio. */
  score: number;
  /** Post-test probability under the stated prior (calibrated softmax of the likelihood ratios). */
  probability?: number;
  /** Query terms that argue for the disease, strongest first, with their log10 LR contribution. */
  for?: TermEvidence[];
  /** Query terms and (the strongest 10) disease features missing from the query that argue against it. */
  against?: TermEvidence[];
  /** All frequent features of the disease that the query does not mention: how many, and their summed contribution. */
  notInQuery?: { count: number; contribution: number };
  /** Other ids of the same disease (OMIM, ORPHA, DECIPHER entries), ranked once under this one. */
  equivalents?: string[];
}

export interface DiagnoseResult {
  query: string;
  method: string;
  /** How many genes from --vcf were used as evidence. */
  evidenceGenes?: number;
  /** With --vcf: the candidate genes ranked by the best disease each explains; with rank genes: all genes (or the given ones). */
  genes?: GeneScore[];
  results: DiseaseResult[];
  /** bayes-lr: the prior the probabilities are post-test to, and the calibration temperature. */
  prior?: string;
  temperature?: number;
  rank?: RankTarget;
  warnings?: string[];
}

/** Ranks every annotated disease for one query profile. */
export function diagnose(ctx: DiagnosisContext, query: PatientProfile, options: DiagnoseOptions = {}, issues: ProfileIssue[] = []): DiagnoseResult {
  const method = (options.method ?? DEFAULT_DIAGNOSIS_METHOD) as DiagnosisMethod;
  if (!DIAGNOSIS_METHODS.includes(method)) throw new InputError(`unknown diagnosis method '${method}': expected ${DIAGNOSIS_METHODS.join(' or ')}`);
  requireTerms(query, issues, method === 'resnik-bma');
  const warnings = issues.map(describeIssue);
  const extra = options.evidenceGenes ?? [];
  const genes = options.genes || extra.length > 0;
  const profile = extra.length ? { ...query, genes: [...new Set([...query.genes, ...extra])] } : query;
  if ((genes || options.rank === 'genes') && !ctx.model.hasGenes) warnings.push('gene evidence or gene ranking asked for but no gene annotations loaded (genes_to_phenotype): ignored');
  if (method === 'bayes-lr') return diagnoseBayes(ctx, profile, { ...options, genes }, query.id, warnings);
  const results = ctx.model.rank(profile, method, checkTop(options.top ?? 10), { genes });
  const geneCandidates = options.rank === 'genes' ? [...ctx.model.geneDiseases.keys()] : extra;
  const rankedGenes = geneCandidates.length && ctx.model.hasGenes ? { genes: ctx.model.rankGenes(profile, method, checkTop(options.top ?? 10), geneCandidates) } : {};
  return { query: query.id, method: method + (genes && ctx.model.hasGenes ? '+genes' : ''), results, ...(options.rank ? { rank: options.rank } : {}), ...rankedGenes, ...(extra.length ? { evidenceGenes: extra.length } : {}), ...(warnings.length ? { warnings } : {}) };
}

/** The readable answer of bayes-lr: probabilities under a stated prior, evidence for and against, gene conditioning. */
function diagnoseBayes(ctx: DiagnosisContext, profile: PatientProfile, options: DiagnoseOptions & { genes: boolean }, id: string, warnings: string[]): DiagnoseResult {
  const model = ctx.model;
  const lm = model.likelihood;
  const top = checkTop(options.top ?? 10);
  const { scores, stats } = lm.scoreAll(profile);
  // Equivalent ids (the OMIM, ORPHA and DECIPHER entries of one disease) compete as one disease.
  const classes = model.classes;
  const perClass = classes.collapse(scores);
  const given = options.genes && model.hasGenes ? [...new Set(profile.genes.map((g) => g.toUpperCase()))] : [];
  const candidates = given.length ? model.geneClassCandidates(given) : undefined;
  const conditioned = candidates?.some((c) => c === 1) ?? false;
  if (given.length && !conditioned) warnings.push(`no disease of the given genes (${given.slice(0, 5).join(', ')}${given.length > 5 ? ', ...' : ''}) in the annotations: ranked over all diseases`);
  const n = candidates ? candidates.reduce((s, c) => s + c, 0) : 0;
  const geneNames = given.length > 5 ? `${given.length} given genes` : given.join(', ');
  const once = classes.size < model.size ? ` (${model.size} ids; equivalent OMIM, ORPHA and DECIPHER ids count once)` : '';
  const prior = conditioned ? `uniform over the ${n} diseases of ${geneNames} (others: 0)` : `uniform over ${classes.size} diseases${once}`;
  const temperature = conditionedTemperature(lm.params, conditioned ? given.length : 0);
  const post = posterior(perClass, temperature, conditioned ? candidates : undefined);
  const order = rankOrder(perClass, conditioned ? candidates : undefined, top);
  const results = order.map((c) => {
    const i = classes.bestMember(c, scores);
    const others = classes.members[c].filter((d) => d !== i).map((d) => model.ids[d]);
    return { ...diseaseResult(model, i, scores[i], post[c], lm.scoreDisease(i, stats).evidence), ...(others.length ? { equivalents: others } : {}) };
  });
  const rankedGenes = options.rank === 'genes' && !conditioned
    ? { genes: rankGenesBayes(model, scores, perClass, lm.params.temperature, top, given) }
    : conditioned && (options.rank === 'genes' || options.evidenceGenes?.length) ? { genes: givenGenesBayes(model, scores, perClass, post, top, given) } : {};
  return {
    query: id,
    method: 'bayes-lr' + (options.genes && model.hasGenes ? '+genes' : ''),
    prior: options.rank === 'genes' && !conditioned ? `${prior}; genes: the posterior of their diseases, a disease of several genes shared among them` : prior,
    temperature,
    ...(options.rank ? { rank: options.rank } : {}),
    results,
    ...rankedGenes,
    ...(options.evidenceGenes?.length ? { evidenceGenes: options.evidenceGenes.length } : {}),
    ...(warnings.length ? { warnings } : {}),
  };
}

/** Top k indices by score; with candidates, those first (each group by score, ties by index). */
function rankOrder(scores: Float64Array, candidates: Uint8Array | undefined, k: number): number[] {
  const idx = Array.from(scores.keys());
  const group = (i: number): number => (candidates && !candidates[i] ? 1 : 0);
  idx.sort((a, b) => group(a) - group(b) || scores[b] - scores[a] || a - b);
  return idx.slice(0, k);
}

function diseaseResult(model: DiseaseModel, i: number, score: number, probability: number, evidence: TermEvidence[]): DiseaseResult {
  const byStrength = (a: TermEvidence, b: TermEvidence): number => Math.abs(b.contribution) - Math.abs(a.contribution);
  const missing = evidence.filter((e) => e.kind === 'not-in-query');
  const queryTerms = evidence.filter((e) => e.kind !== 'not-in-query');
  return {
    disease: model.ids[i],
    label: model.labels[i],
    score: round4(score),
    probability: probability >= 1e-4 ? round4(probability) : Number(probability.toPrecision(2)),
    for: queryTerms.filter((e) => e.contribution > 0).sort(byStrength),
    against: [...queryTerms.filter((e) => e.contribution < 0), ...missing.filter((e) => e.contribution < 0).sort(byStrength).slice(0, 10)].sort(byStrength),
    notInQuery: { count: missing.length, contribution: round4(missing.reduce((s, e) => s + e.contribution, 0)) },
  };
}

/**
 * Genes ranked by their posterior (the summed posterior of their diseases, geneScores), with the
 * probability renormalised over the ranked genes (the cause is a gene of genes_to_phenotype).
 */
function rankGenesBayes(model: DiseaseModel, scores: Float64Array, perClass: Float64Array, temperature: number, k: number, only?: string[]): GeneScore[] {
  const g = geneScores(model, perClass, 'bayes-lr', temperature);
  const keep = only?.length ? new Set(only) : undefined;
  const idx = g.genes.map((_, i) => i).filter((i) => !keep || keep.has(g.genes[i]));
  let top = -Infinity;
  for (const i of idx) top = Math.max(top, g.scores[i]);
  let sum = 0;
  for (const i of idx) sum += 10 ** (g.scores[i] - top);
  idx.sort((a, b) => g.scores[b] - g.scores[a] || g.genes[a].localeCompare(g.genes[b]));
  return idx.slice(0, k).map((i) => {
    const ds = model.geneDiseases.get(g.genes[i])!;
    let best = ds[0];
    for (const d of ds) if (scores[d] > scores[best]) best = d;
    return { gene: g.genes[i], score: round4(g.scores[i]), probability: round4(10 ** (g.scores[i] - top) / sum), disease: model.ids[best], label: model.labels[best] };
  });
}

/**
 * The given genes (--genes, a VCF's candidates) in the order of the diseases: each by its likeliest
 * disease, with the share of the posterior (uniform over the given genes' diseases) its diseases hold,
 * so the gene list agrees with the disease list above it.
 */
function givenGenesBayes(model: DiseaseModel, scores: Float64Array, perClass: Float64Array, post: Float64Array, k: number, given: string[]): GeneScore[] {
  const out: GeneScore[] = [];
  const { genes, classes } = model.geneClasses;
  const position = new Map(genes.map((g, i) => [g, i]));
  for (const gene of given) {
    const cs = classes[position.get(gene) ?? -1];
    if (!cs?.length) continue;
    let top = cs[0];
    let mass = 0;
    for (const c of cs) {
      if (perClass[c] > perClass[top]) top = c;
      mass += post[c];
    }
    const best = model.classes.bestMember(top, scores);
    out.push({ gene, score: round4(scores[best]), probability: round4(Math.min(1, mass)), disease: model.ids[best], label: model.labels[best] });
  }
  return out.sort((a, b) => b.score - a.score || a.gene.localeCompare(b.gene)).slice(0, k);
}

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

export function diagnoseAll(ctx: DiagnosisContext & { index?: PatientIndex }, spec: QuerySpec, options: DiagnoseOptions = {}): AsyncGenerator<DiagnoseResult | { query: string; error: string }> {
  return answerEach(ctx, spec, (profile, issues) => diagnose(ctx, profile, options, issues));
}

/** What `harmonia eval` prints: the summary of RankingMetrics. */
export type EvaluationResult = Pick<RankingMetrics, 'method' | 'queries' | 'skipped' | 'skippedReasons' | 'hit1' | 'hit10' | 'mrr'>;

/** `harmonia eval retrieval`: publication-grouped hit@1, hit@10, MRR of one method. */
export function evaluateRetrieval(ctx: RetrievalContext, queries: readonly PatientProfile[], options: { method?: string; samePublication?: boolean; onProgress?: QueryProgress } = {}): EvaluationResult {
  return pick(evaluateRetrievalMetrics(ctx.index, queries, { method: options.method ?? DEFAULT_METHOD, samePublication: options.samePublication ?? true, onProgress: options.onProgress }));
}

/** What `harmonia eval diagnosis` prints: the summary plus how it was evaluated. */
export type DiagnosisEvaluationResult = EvaluationResult & {
  mode: EvaluationMode;
  rank: RankTarget;
  split: SplitName;
  splitQueries: { tune: number; test: number };
  heldOutAnnotations?: { queries: number; rowsDropped: number; diagnosesWithoutAnnotations: number };
  equivalentIds: EquivalentIdSummary;
  calibration?: Calibration;
};

/**
 * Disease (or gene) ranking evaluation of one method. Default mode leave-disease-out: the query's
 * diagnosis loses the annotation rows from its patients' papers, corpus statistics exclude every
 * query's papers, and only the test half of the disease split is reported (docs/retrieval.md).
 */
export function evaluateDiagnosis(
  ctx: DiagnosisContext,
  queries: readonly PatientProfile[],
  options: { method?: string; genes?: boolean; mode?: EvaluationMode; rank?: RankTarget; split?: SplitName; onProgress?: QueryProgress } = {},
): DiagnosisEvaluationResult {
  const method = (options.method ?? DEFAULT_DIAGNOSIS_METHOD) as DiagnosisMethod;
  if (!DIAGNOSIS_METHODS.includes(method)) throw new InputError(`unknown diagnosis method '${method}': expected ${DIAGNOSIS_METHODS.join(', ')}`);
  const mode = options.mode ?? 'leave-disease-out';
  if (!EVALUATION_MODES.includes(mode)) throw new InputError(`unknown evaluation mode '${mode}': expected ${EVALUATION_MODES.join(' or ')}`);
  if (options.split && !['tune', 'test', 'all'].includes(options.split)) throw new InputError(`unknown split '${options.split}': expected tune, test or all`);
  if (options.rank && !['diseases', 'genes'].includes(options.rank)) throw new InputError(`unknown ranking '${options.rank}': expected diseases or genes`);
  if ((options.rank === 'genes' || options.genes) && !ctx.model.hasGenes) throw new InputError('gene evidence or gene ranking needs gene annotations (genes_to_phenotype)');
  const ev = new DiagnosisEvaluation(ctx.ontology, ctx.model.hpoa, queries, mode, { diseaseGenes: diseaseGenesOf(ctx.model) });
  const m = evaluateHeldOut(ev, queries, { method, genes: options.genes, rank: options.rank, split: options.split, onProgress: options.onProgress });
  return { ...pick(m), mode: m.mode, rank: m.rank, split: m.split, splitQueries: m.splitQueries, ...(m.heldOutAnnotations ? { heldOutAnnotations: m.heldOutAnnotations } : {}), equivalentIds: m.equivalentIds, ...(m.calibration ? { calibration: m.calibration } : {}) };
}

/** disease id -> gene symbols, back from a model's gene index. */
function diseaseGenesOf(model: DiseaseModel): Map<string, string[]> | undefined {
  if (!model.hasGenes) return undefined;
  const out = new Map<string, string[]>();
  for (const [gene, ds] of model.geneDiseases) for (const d of ds) out.set(model.ids[d], [...(out.get(model.ids[d]) ?? []), gene]);
  return out;
}

function pick(m: RankingMetrics): EvaluationResult {
  return { method: m.method, queries: m.queries, skipped: m.skipped, skippedReasons: m.skippedReasons, hit1: m.hit1, hit10: m.hit10, mrr: m.mrr };
}

export interface MatchOptions {
  contact: MmeContact;
  top?: number;
  method?: string;
}

export type MatchReply = { status: 200; contentType: string; body: unknown } | { status: 400 | 415; contentType: string; body: { error: string } };

/**
 * POST /match: content type check (415), schema validation (400 with the reason), then ranking.
 * The patient score is phenotype similarity divided by the query's similarity to itself (0..1);
 * when the query has genes it is averaged with 1 for a shared gene, 0 otherwise.
 */
export function matchMme(ctx: RetrievalContext, schema: MmeSchema, contentType: string | undefined, body: unknown, options: MatchOptions): MatchReply {
  const json = 'application/json';
  if (!isMmeContentType(contentType)) return { status: 415, contentType: json, body: { error: `content type must be ${MME_CONTENT_TYPE}, got ${contentType ?? 'none'}` } };
  const valid = schema.validateRequest(body);
  if (!valid.ok) return { status: 400, contentType: json, body: { error: `invalid MME request: ${valid.reason}` } };
  const { profile } = profileFromMmeRequest(valid.value, ctx.ontology);
  const method = parseMethod(options.method ?? DEFAULT_METHOD);
  const n = ctx.index.size;
  const scores = new Float64Array(n);
  if (profile.observed.length) {
    ctx.index.scoreAll(ctx.index.prepare(profile), method, scores);
    const self = new PatientIndex(ctx.ontology, ctx.index.informationContent, [profile]);
    const selfScore = self.scoreAll(self.prepare(profile), method)[0];
    for (let i = 0; i < n; i++) scores[i] = selfScore > 0 ? Math.min(1, scores[i] / selfScore) : 0;
  }
  if (profile.genes.length) {
    const genes = new Set(profile.genes.map((g) => g.toUpperCase()));
    ctx.index.profiles.forEach((p, i) => {
      const shared = p.genes.some((g) => genes.has(g.toUpperCase())) ? 1 : 0;
      scores[i] = profile.observed.length ? (scores[i] + shared) / 2 : shared;
    });
  }
  const mask = ctx.index.excludedCandidates(profile);
  const hits = topK(scores, checkTop(options.top ?? 10), mask);
  const response = mmeResponse(hits.map((i) => ({ profile: ctx.index.profiles[i], score: round(scores[i]) })), options.contact);
  return { status: 200, contentType: MME_CONTENT_TYPE, body: response };
}

function checkTop(top: number): number {
  if (!Number.isInteger(top) || top < 1) throw new InputError(`--top must be a positive integer, got ${top}`);
  return top;
}

export function describeIssue(i: ProfileIssue): string {
  return `${i.source}: ${i.field}: ${i.message}`;
}

const round = (x: number): number => Math.round(x * 1e6) / 1e6;
