import { InputError } from '../model/errors.js';
import type { Ontology } from '../ontology/index.js';
import { DEFAULT_DIAGNOSIS_METHOD, DIAGNOSIS_METHODS, DiseaseModel, type DiagnosisMethod, type GeneScore } from './diagnose.js';
import { evaluateDiagnosisMetrics, evaluateRetrievalMetrics, type RankingMetrics } from './evaluate.js';
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
}

export interface DiagnoseResult {
  query: string;
  method: string;
  /** How many genes from --vcf were used as evidence. */
  evidenceGenes?: number;
  /** With --vcf: the candidate genes ranked by the best disease each explains. */
  genes?: GeneScore[];
  results: { disease: string; label: string; score: number }[];
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
  if (genes && !ctx.model.hasGenes) warnings.push('gene evidence given but no gene annotations loaded (genes_to_phenotype): ignored');
  const results = ctx.model.rank(profile, method, checkTop(options.top ?? 10), { genes });
  const rankedGenes = extra.length && ctx.model.hasGenes ? { genes: ctx.model.rankGenes(profile, method, checkTop(options.top ?? 10), extra) } : {};
  return { query: query.id, method: method + (genes && ctx.model.hasGenes ? '+genes' : ''), results, ...rankedGenes, ...(extra.length ? { evidenceGenes: extra.length } : {}), ...(warnings.length ? { warnings } : {}) };
}

export function diagnoseAll(ctx: DiagnosisContext & { index?: PatientIndex }, spec: QuerySpec, options: DiagnoseOptions = {}): AsyncGenerator<DiagnoseResult | { query: string; error: string }> {
  return answerEach(ctx, spec, (profile, issues) => diagnose(ctx, profile, options, issues));
}

/** What `harmonia eval` prints: the summary of RankingMetrics. */
export type EvaluationResult = Pick<RankingMetrics, 'method' | 'queries' | 'skipped' | 'skippedReasons' | 'hit1' | 'hit10' | 'mrr'>;

/** `harmonia eval retrieval`: publication-grouped hit@1, hit@10, MRR of one method. */
export function evaluateRetrieval(ctx: RetrievalContext, queries: readonly PatientProfile[], options: { method?: string; samePublication?: boolean } = {}): EvaluationResult {
  return pick(evaluateRetrievalMetrics(ctx.index, queries, { method: options.method ?? DEFAULT_METHOD, samePublication: options.samePublication ?? true }));
}

/** Disease-ranking evaluation of one method. */
export function evaluateDiagnosis(ctx: DiagnosisContext, queries: readonly PatientProfile[], options: { method?: string; genes?: boolean } = {}): EvaluationResult {
  const method = (options.method ?? DEFAULT_DIAGNOSIS_METHOD) as DiagnosisMethod;
  if (!DIAGNOSIS_METHODS.includes(method)) throw new InputError(`unknown diagnosis method '${method}'`);
  return pick(evaluateDiagnosisMetrics(ctx.model, queries, { method, genes: options.genes }));
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
