import { Parser, Writer } from 'n3';
import { CohortDefinitionError, CohortService, toResult, type Evaluation, type ExportFormat } from '../cohort/index.js';
import type { Ontology } from '../ontology/index.js';
import {
  buildDiagnosisContext, buildRetrievalContext, diagnose, diagnosisReportHtml, loadGenesToPhenotype, loadHpoa, matchMme, MmeSchema,
  profileFromHpoList, profileFromPhenopacket, profilesFromStore, similar, type DiagnosisContext, type RetrievalContext,
} from '../retrieve/index.js';
import type { Phenopacket } from '../sources/index.js';
import type { GraphStore, QuarantineEntry, ResultFormat, StoreBatch } from '../store/index.js';
import type { ServerConfig } from './context.js';
import { findPatients, labels, PcaCache, patientRecord } from './web-api.js';

// The work of the routes other than /sparql, as jobs: each runs where the store is, in a query worker
// (WorkerPool), or on the main thread for a remote store and in tests (InProcessExecutor). Arguments
// and results cross threads by structured clone: plain data only, quads as N-Quads text.

/** What a job sees: the store, its ontology, the server's settings, and caches that live as long as the store copy. */
export interface JobEnv {
  store: GraphStore;
  ontology: Ontology;
  config: ServerConfig;
  caches: JobCaches;
}

export class JobCaches {
  retrieval?: { generation: string; value: RetrievalContext };
  diagnosis?: DiagnosisContext;
  mmeSchema?: MmeSchema;
  readonly pca = new PcaCache();
}

/** A job's failure as it crosses threads: the HTTP status, and a cohort definition's issues. */
export class JobFailure extends Error {
  constructor(readonly status: number, message: string, readonly issues?: CohortDefinitionError['issues']) {
    super(message);
  }
}

export interface EvaluateOptions {
  countOnly?: boolean;
  explain?: boolean;
  characterise?: boolean;
  /** For characterisations: most terms listed (1..1000). */
  limit: number;
}

export interface ExportAnswer {
  contentType: string;
  filename: string;
  body: Uint8Array | string;
  rebuilt?: number;
}

const cohorts = (env: JobEnv): CohortService => new CohortService(env.store, env.ontology);

/** The evaluation answer: count, patients, sparql; warnings, explanations, characterisation on request. */
async function answer(s: CohortService, e: Evaluation, o: EvaluateOptions): Promise<Record<string, unknown>> {
  // Federated callers ask for the count alone: member ids then never leave this site.
  if (o.countOnly) return { count: e.count, sparql: e.sparql };
  const out: Record<string, unknown> = { ...toResult(e) };
  if (e.warnings.length) out.warnings = e.warnings;
  if (o.explain) out.explanations = await s.explain(e);
  if (o.characterise) out.characterisation = await s.characterise(e.patients, o.limit);
  return out;
}

/** The patient index, built on first use and again when the store has changed. */
async function retrieval(env: JobEnv): Promise<RetrievalContext> {
  const generation = await env.store.generation();
  if (env.caches.retrieval?.generation !== generation) {
    const annotations = env.config.annotations ? loadHpoa(env.config.annotations, env.ontology) : undefined;
    env.caches.retrieval = { generation, value: buildRetrievalContext(env.ontology, await profilesFromStore(env.store), { annotations }) };
  }
  return env.caches.retrieval.value;
}

/** Any failure of a retrieval computation is the request's fault (a 400), as the routes always answered. */
function asBadRequest<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw e instanceof JobFailure ? e : new JobFailure(400, (e as Error).message);
  }
}

const toNQuads = (quads: StoreBatch['add']): string => new Writer({ format: 'N-Quads' }).quadsToString(quads);
const fromNQuads = (text: string): StoreBatch['add'] => new Parser({ format: 'N-Quads' }).parse(text);

/** A StoreBatch as plain data (the quads as N-Quads text). */
export interface BatchData {
  replace: [string, string][];
  add: string;
  rejected: QuarantineEntry[];
  accepted: string[];
  acceptedFrom?: StoreBatch['acceptedFrom'];
  meta?: Record<string, string>;
}

export function batchData(b: StoreBatch): BatchData {
  return { replace: [...b.replace].map(([g, q]) => [g, toNQuads(q)]), add: toNQuads(b.add), rejected: b.rejected, accepted: b.accepted, acceptedFrom: b.acceptedFrom, meta: b.meta };
}

function batchOf(d: BatchData): StoreBatch {
  return { replace: new Map(d.replace.map(([g, t]) => [g, fromNQuads(t)])), add: fromNQuads(d.add), rejected: d.rejected, accepted: d.accepted, acceptedFrom: d.acceptedFrom, meta: d.meta };
}

export const JOBS = {
  // The store itself, for the callers on the main thread that only read a little (PooledStore).
  'store.select': (env: JobEnv, a: { sparql: string }) => env.store.select(a.sparql),
  'store.ask': (env: JobEnv, a: { sparql: string }) => env.store.ask(a.sparql),
  'store.serialize': (env: JobEnv, a: { sparql: string; format: ResultFormat }) => env.store.serialize(a.sparql, a.format),
  'store.graphQuads': async (env: JobEnv, a: { graph: string }) => toNQuads(await env.store.graphQuads(a.graph)),
  'store.quarantine': (env: JobEnv) => env.store.quarantine(),
  'store.stats': async (env: JobEnv) => ({ size: await env.store.size(), generation: await env.store.generation(), meta: { ...(await env.store.meta()) } }),
  'store.update': (env: JobEnv, a: { sparql: string }) => env.store.update(a.sparql),
  'store.commit': (env: JobEnv, a: BatchData) => env.store.commit(batchOf(a)),

  'cohort.evaluate': async (env: JobEnv, a: { doc: unknown } & EvaluateOptions) => {
    const s = cohorts(env);
    return answer(s, await s.evaluate(a.doc), a);
  },
  'cohort.members': async (env: JobEnv, a: { name: string } & EvaluateOptions) => {
    const s = cohorts(env);
    return answer(s, await s.members(a.name), a);
  },
  'cohort.export': async (env: JobEnv, a: { name: string; format: ExportFormat }): Promise<ExportAnswer> => {
    const s = cohorts(env);
    const e = await s.members(a.name);
    const out = await s.export(e.cohort.definition.name, e.patients, a.format);
    return { contentType: out.contentType, filename: out.filename, body: out.body, ...(out.rebuilt !== undefined ? { rebuilt: out.rebuilt } : {}) };
  },
  'cohort.explain': async (env: JobEnv, a: { name: string }) => {
    const s = cohorts(env);
    const e = await s.members(a.name);
    return { ...toResult(e), explanations: await s.explain(e) };
  },
  'cohort.characterise': async (env: JobEnv, a: { name: string; limit: number }) => {
    const s = cohorts(env);
    const e = await s.members(a.name);
    return { name: e.cohort.definition.name, characterisation: await s.characterise(e.patients, a.limit) };
  },
  'cohort.compare': async (env: JobEnv, a: { a: unknown; b: unknown; limit: number }) => {
    const s = cohorts(env);
    const ea = await (typeof a.a === 'string' ? s.members(a.a) : s.evaluate(a.a));
    const eb = await (typeof a.b === 'string' ? s.members(a.b) : s.evaluate(a.b));
    return { a: ea.cohort.definition.name, b: eb.cohort.definition.name, comparison: await s.compare(ea.patients, eb.patients, a.limit) };
  },
  'cohort.list': async (env: JobEnv) => (await cohorts(env).list()).map(({ definition, ...rest }) => ({ ...rest, description: definition.description })),
  'cohort.get': (env: JobEnv, a: { name: string }) => cohorts(env).get(a.name),
  'cohort.save': async (env: JobEnv, a: { doc: unknown; createdBy: string }) => {
    const s = cohorts(env);
    const name = (a.doc as { name?: unknown } | null)?.name;
    const existed = (await s.list()).some((c) => c.name === name);
    return { existed, saved: await s.save(a.doc, a.createdBy) };
  },
  'cohort.delete': (env: JobEnv, a: { name: string }) => cohorts(env).delete(a.name),

  'retrieval.similar': async (env: JobEnv, a: { id: string; top: number; method?: string; excludeSamePublication: boolean; explain: boolean }) => {
    const r = await retrieval(env);
    const i = r.index.indexOfPatient(a.id);
    if (i < 0) throw new JobFailure(404, `unknown patient '${a.id}'`);
    return asBadRequest(() => similar(r, r.index.profiles[i], { top: a.top, method: a.method, excludeSamePublication: a.excludeSamePublication, explain: a.explain }));
  },
  'retrieval.match': async (env: JobEnv, a: { contentType?: string; body: unknown; top: number }) => {
    const schema = (env.caches.mmeSchema ??= env.config.mmeSchema ? MmeSchema.load(env.config.mmeSchema) : MmeSchema.default());
    return matchMme(await retrieval(env), schema, a.contentType, a.body, { contact: env.config.contact, top: a.top });
  },
  'retrieval.diagnose': async (env: JobEnv, a: { body: { hpo?: unknown; phenopacket?: Phenopacket; top?: number; method?: string; genes?: boolean | string[]; rank?: string }; html: boolean }) => {
    if (!env.caches.diagnosis) {
      if (!env.config.annotations) throw new JobFailure(503, 'disease ranking is not configured: start the server with --annotations phenotype.hpoa');
      const genes = env.config.geneAnnotations ? loadGenesToPhenotype(env.config.geneAnnotations) : undefined;
      env.caches.diagnosis = buildDiagnosisContext(env.ontology, loadHpoa(env.config.annotations, env.ontology), genes);
    }
    const d = env.caches.diagnosis;
    const body = a.body;
    return asBadRequest(() => {
      const { profile, issues } = body.phenopacket
        ? profileFromPhenopacket(body.phenopacket, env.ontology, 'phenopacket')
        : profileFromHpoList(Array.isArray(body.hpo) ? body.hpo.map(String) : String(body.hpo ?? '').split(',').filter(Boolean), env.ontology);
      // `genes`: true uses the phenopacket's causal genes; a list of symbols gives the genes to condition on.
      const listed = Array.isArray(body.genes) ? body.genes.map(String) : undefined;
      if (body.rank !== undefined && body.rank !== 'diseases' && body.rank !== 'genes') throw new Error(`rank must be "diseases" or "genes", got ${JSON.stringify(body.rank)}`);
      const result = diagnose(d, profile, { top: body.top, method: body.method, genes: body.genes === true || !!listed?.length, evidenceGenes: listed, rank: body.rank }, issues);
      return a.html ? { html: diagnosisReportHtml([result], { annotations: d.model.hpoa.file.split('/').pop() + ` (${d.model.hpoa.version})` }) } : { json: result };
    });
  },

  'ui.labels': (env: JobEnv, a: { iris: string[] }) => labels(env, a.iris),
  'ui.patients': (env: JobEnv, a: { q: string; limit: number }) => findPatients(env, a.q, a.limit),
  'ui.patient': (env: JobEnv, a: { id: string }) => patientRecord(env, a.id),
  'ui.embeddings': (env: JobEnv, a: { version?: string }) => env.caches.pca.get(env, a.version),
} satisfies Record<string, (env: JobEnv, args: never) => Promise<unknown>>;

export type JobKind = keyof typeof JOBS;
export type JobArgs<K extends JobKind> = Parameters<(typeof JOBS)[K]>[1];
export type JobResult<K extends JobKind> = Awaited<ReturnType<(typeof JOBS)[K]>>;

/** Jobs that write: one at a time, and every worker is replaced by one that has read the result. */
export const WRITE_JOBS: ReadonlySet<JobKind> = new Set<JobKind>(['store.update', 'store.commit', 'cohort.save', 'cohort.delete']);

export function runJob<K extends JobKind>(env: JobEnv, kind: K, args: JobArgs<K>): Promise<JobResult<K>> {
  const job = JOBS[kind] as (env: JobEnv, args: JobArgs<K>) => Promise<JobResult<K>>;
  if (!job) return Promise.reject(new JobFailure(500, `unknown job ${String(kind)}`));
  return job(env, args);
}

/** A failure as plain data, for the reply from a worker. */
export function failureData(e: unknown): { error: string; status: number; issues?: CohortDefinitionError['issues'] } {
  const err = e as { message?: string; status?: number; issues?: CohortDefinitionError['issues'] };
  const status = typeof err?.status === 'number' ? err.status : 500;
  return { error: String(err?.message ?? e), status, ...(e instanceof CohortDefinitionError ? { issues: e.issues } : {}) };
}

/** The failure again on the main thread: a cohort definition's issues come back as the CohortDefinitionError the routes answer. */
export function failureOf(d: { error?: string; status?: number; issues?: CohortDefinitionError['issues'] }): Error {
  if (d.issues) return new CohortDefinitionError(d.issues);
  return new JobFailure(d.status ?? 500, d.error ?? 'the job failed');
}
