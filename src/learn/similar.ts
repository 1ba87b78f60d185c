import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../model/index.js';
import type { Ontology } from '../ontology/index.js';
import {
  buildDiagnosisContext, buildRetrievalContext, DEFAULT_METHOD, describeIssue, profilesFromStore, resolveQueries,
  type DiagnoseResult, type DiagnosisContext, type Hpoa, type PatientProfile, type ProfileIssue, type QuerySpec, type RetrievalContext, type SimilarResult,
} from '../retrieve/index.js';
import { openStore, writeAtomic } from '../store/index.js';
import { chooseBackend } from './backend.js';
import type { SignalModality, Split } from './data.js';
import { CLASSICAL_DIAGNOSIS_METHOD, diseaseVectors, type DiseaseVectors } from './diseases.js';
import { resolveVersion } from './embed.js';
import { best, chooseFusion, compareFusions, fuse, fusionName, FUSIONS, type Fusion, type FusionComparison, type ScoredQuery } from './fusion.js';
import type { Model } from './model.js';
import { hash32 } from './random.js';
import { geneToken } from './genotype.js';
import { cosines, embedGenotype, embedPhenotypeSet, embedRecordFile, loadPatientVectors, rowOf, type PatientVectors } from './space.js';
import { loadTrainedModel, modelDir } from './train.js';

// `harmonia similar|diagnose --method embedding|hybrid`: patients (or diseases) ranked by the cosine
// of their embedding to the query's, alone or fused with the classical default (lin-bma+excl for
// patients, lr for diseases). The fusion is chosen per model on validation-split patients
// (publication-grouped, as `harmonia eval retrieval` measures) and cached in <model dir>/fusion.json.

export const EMBEDDING_METHODS = ['embedding', 'hybrid'] as const;
export type EmbeddingMethod = (typeof EMBEDDING_METHODS)[number];

export function isEmbeddingMethod(m: unknown): m is EmbeddingMethod {
  return typeof m === 'string' && (EMBEDDING_METHODS as readonly string[]).includes(m);
}

/** At most this many validation patients are scored to choose a fusion (a seeded hash picks them). */
export const FUSION_QUERIES = 300;

/** What a query can be: the classical specs, a record file embedded by its encoder, or a gene list (the genomic encoder). */
export type EmbeddingQuerySpec = QuerySpec | { record: string; modality: string } | { genes: string[] };

/** A query in the embedding space; `profile` when the classical method can score it too. */
export interface EmbeddedQuery {
  id: string;
  vector: Float32Array;
  profile?: PatientProfile;
  issues: ProfileIssue[];
}

export interface EmbeddingSimilarOptions {
  method: EmbeddingMethod;
  top?: number;
  excludeSamePublication?: boolean;
  explain?: boolean;
}

export type EmbeddingSimilarResult = SimilarResult & { model: string; fusion?: string };
export type EmbeddingDiagnoseResult = DiagnoseResult & { model: string; fusion?: string };

export interface FusionChoice {
  fusion: string;
  /** What it was chosen on: validation-split patients (never test), or the default when there were none. */
  chosenOn: string;
  comparison?: FusionComparison;
}

export interface OpenOptions {
  storeDir: string;
  version?: string;
  backend?: string;
  /** phenotype.hpoa: IC of the classical similarity from disease annotations (as `similar --annotations`). */
  annotations?: Hpoa;
  /** Validation patients scored to choose a fusion (default FUSION_QUERIES). */
  fusionQueries?: number;
  /** The data directory reference files of the harmonisation resolve against (record queries). */
  referenceDir?: string;
  log?: (line: string) => void;
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

function checkTop(top: number): number {
  if (!Number.isInteger(top) || top < 1) throw new InputError(`--top must be a positive integer, got ${top}`);
  return top;
}

export class EmbeddingRetrieval {
  private model?: Promise<Model>;
  private classical?: RetrievalContext;
  private diagnosis?: { hpoa: Hpoa; ctx: DiagnosisContext; vectors: DiseaseVectors };
  private readonly byId = new Map<string, number>();
  private readonly byPublication = new Map<string, number[]>();
  /** Per profile: its row in the patient vectors, or -1 (not embedded). */
  private readonly rows: Int32Array;
  private readonly log: (line: string) => void;

  private constructor(
    readonly options: OpenOptions,
    readonly version: string,
    readonly ontology: Ontology,
    readonly profiles: PatientProfile[],
    readonly vectors: PatientVectors,
    readonly generation: string,
  ) {
    this.log = options.log ?? ((l) => process.stderr.write(l + '\n'));
    profiles.forEach((p, i) => {
      this.byId.set(p.id, i);
      for (const pub of p.publications) this.byPublication.set(pub, [...(this.byPublication.get(pub) ?? []), i]);
    });
    this.rows = Int32Array.from(profiles, (p) => vectors.row.get(p.id) ?? -1);
  }

  /** Reads the store's ontology, patients and the model's stored patient embeddings (the store is closed after). */
  static async open(options: OpenOptions): Promise<EmbeddingRetrieval> {
    const version = resolveVersion(options.storeDir, options.version);
    const store = await openStore(options.storeDir);
    try {
      const ontology = await store.ontology();
      if (!ontology) throw new Error(`${options.storeDir}: the store has no ontology; ingest with --hpo first`);
      return new EmbeddingRetrieval(options, version, ontology, await profilesFromStore(store), await loadPatientVectors(store, version), await store.generation());
    } finally {
      await store.close();
    }
  }

  get dir(): string {
    return modelDir(this.options.storeDir, this.version);
  }

  /** The trained model, loaded (and the tfjs backend chosen) on first use: stored-patient queries need neither. */
  loadModel(): Promise<Model> {
    this.model ??= (async () => {
      await chooseBackend(this.options.backend, this.log);
      return loadTrainedModel(this.options.storeDir, this.version, this.ontology);
    })();
    return this.model;
  }

  async dispose(): Promise<void> {
    if (this.model) (await this.model).dispose();
  }

  private classicalContext(): RetrievalContext {
    this.classical ??= buildRetrievalContext(this.ontology, this.profiles, { annotations: this.options.annotations });
    return this.classical;
  }

  /** Resolves a spec to embedded queries; a query that cannot be embedded yields its error. */
  async *queries(spec: EmbeddingQuerySpec): AsyncGenerator<EmbeddedQuery | { query: string; error: string }> {
    if ('record' in spec) {
      try {
        yield { id: spec.record, vector: await embedRecordFile(await this.loadModel(), spec.record, spec.modality, this.options.referenceDir), issues: [] };
      } catch (e) {
        yield { query: spec.record, error: (e as Error).message };
      }
      return;
    }
    if ('genes' in spec) {
      const id = `genes:${spec.genes.join(',')}`;
      try {
        const model = await this.loadModel();
        const tokens = spec.genes.map(geneToken);
        const unknown = model.genes ? tokens.filter((t) => !model.genes!.index.has(t.gene)).map((t) => t.gene) : [];
        if (model.genes && unknown.length === tokens.length) throw new InputError(`--genes: none of ${unknown.join(', ')} is in the model's gene vocabulary (genes of its training patients)`);
        const issues: ProfileIssue[] = unknown.length ? [{ source: 'query', field: 'genes', message: `not in the model's gene vocabulary, read as an unknown gene: ${unknown.join(', ')}` }] : [];
        yield { id, vector: embedGenotype(model, tokens), issues };
      } catch (e) {
        yield { query: id, error: (e as Error).message };
      }
      return;
    }
    if ('patient' in spec) {
      const i = this.byId.get(spec.patient);
      const row = i === undefined ? -1 : this.rows[i];
      if (i === undefined) yield { query: spec.patient, error: `query: patient: unknown patient '${spec.patient}'` };
      else if (row < 0) yield { query: spec.patient, error: `patient '${spec.patient}' has no embedding in model ${this.version} (run harmonia embed)` };
      else yield { id: spec.patient, vector: rowOf(this.vectors.matrix, this.vectors.dim, row), profile: this.profiles[i], issues: [] };
      return;
    }
    for await (const item of resolveQueries({ ontology: this.ontology }, spec)) {
      if ('error' in item) {
        yield { query: item.error.source, error: describeIssue(item.error) };
        continue;
      }
      const vector = embedPhenotypeSet(await this.loadModel(), item.profile);
      if (!vector) {
        const why = item.issues.length ? `: ${item.issues.map((i) => i.message).join('; ')}` : '';
        yield { query: item.profile.id, error: `empty profile: no HPO term of the query is in the model's vocabulary${why}` };
      } else yield { id: item.profile.id, vector, profile: item.profile, issues: item.issues };
    }
  }

  /** Patients that are never results: the query itself, and with `samePublication` its publications' patients. */
  private mask(profile: PatientProfile | undefined, samePublication: boolean): Uint8Array {
    const mask = new Uint8Array(this.profiles.length);
    if (!profile) return mask;
    const self = this.byId.get(profile.id);
    if (self !== undefined) mask[self] = 1;
    if (samePublication) for (const pub of profile.publications) for (const i of this.byPublication.get(pub) ?? []) mask[i] = 1;
    return mask;
  }

  /** Cosine of the query to every patient (profiles order); -Infinity for a patient without an embedding. */
  learnedScores(vector: Float32Array): Float64Array {
    const cos = cosines(this.vectors.matrix, this.vectors.dim, vector);
    return Float64Array.from(this.rows, (r) => (r < 0 ? -Infinity : cos[r]));
  }

  /** Top patients for one embedded query. */
  similar(q: EmbeddedQuery, options: EmbeddingSimilarOptions): EmbeddingSimilarResult {
    const top = checkTop(options.top ?? 10);
    const warnings = q.issues.map(describeIssue);
    const mask = this.mask(q.profile, options.excludeSamePublication === true);
    const learned = this.learnedScores(q.vector);
    if (options.method === 'embedding') {
      if (options.explain) warnings.push('--explain: matched term pairs come from the classical similarity; use --method hybrid');
      const results = best(learned, top, mask).map((i) => ({ patient: this.profiles[i].id, score: round(learned[i]) }));
      return { query: q.id, method: 'embedding', model: this.version, results, ...(warnings.length ? { warnings } : {}) };
    }
    if (!q.profile || q.profile.observed.length === 0) {
      throw new InputError('--method hybrid needs an observed HPO term in the query (its classical half scores phenotypes); use --method embedding for record queries');
    }
    const ctx = this.classicalContext();
    const prepared = ctx.index.prepare(q.profile);
    const classical = ctx.index.scoreAll(prepared, DEFAULT_METHOD);
    const fusion = this.fusionFor('similar');
    const scores = fuse(learned, classical, fusion, mask);
    const results = best(scores, top, mask).map((i) => ({
      patient: this.profiles[i].id,
      score: round(scores[i]),
      ...(options.explain ? { explanation: ctx.index.explain(prepared, i) } : {}),
    }));
    return { query: q.id, method: 'hybrid', model: this.version, fusion: `${fusionName(fusion)}(embedding, ${DEFAULT_METHOD})`, results, ...(warnings.length ? { warnings } : {}) };
  }

  async *similarAll(spec: EmbeddingQuerySpec, options: EmbeddingSimilarOptions): AsyncGenerator<EmbeddingSimilarResult | { query: string; error: string }> {
    for await (const q of this.queries(spec)) {
      if ('error' in q) yield q;
      else {
        try {
          yield this.similar(q, options);
        } catch (e) {
          yield { query: q.id, error: (e as Error).message };
        }
      }
    }
  }

  /** The disease side: classical model and disease vectors for these annotations, built once. */
  async diseases(hpoa: Hpoa): Promise<{ ctx: DiagnosisContext; vectors: DiseaseVectors }> {
    if (this.diagnosis?.hpoa !== hpoa) {
      const ctx = buildDiagnosisContext(this.ontology, hpoa);
      const vectors = diseaseVectors(await this.loadModel(), this.dir, hpoa, this.ontology, this.log);
      if (vectors.ids.length !== ctx.model.ids.length || vectors.ids.some((id, i) => id !== ctx.model.ids[i])) throw new Error('disease vectors and the disease model list different diseases');
      this.diagnosis = { hpoa, ctx, vectors };
    }
    return this.diagnosis;
  }

  async diagnose(q: EmbeddedQuery, hpoa: Hpoa, options: { method: EmbeddingMethod; top?: number }): Promise<EmbeddingDiagnoseResult> {
    const top = checkTop(options.top ?? 10);
    const { ctx, vectors } = await this.diseases(hpoa);
    const learned = cosines(vectors.matrix, vectors.dim, q.vector);
    const warnings = q.issues.map(describeIssue);
    const rows = (scores: Float64Array) => best(scores, top).map((i) => ({ disease: vectors.ids[i], label: vectors.labels[i], score: round(scores[i]) }));
    if (options.method === 'embedding') return { query: q.id, method: 'embedding', model: this.version, results: rows(learned), ...(warnings.length ? { warnings } : {}) };
    if (!q.profile || q.profile.observed.length === 0) throw new InputError('--method hybrid needs an observed HPO term in the query (its classical half scores phenotypes)');
    const fusion = await this.fusionFor('diagnose', hpoa);
    const scores = fuse(learned, ctx.model.scoreAll(q.profile, CLASSICAL_DIAGNOSIS_METHOD), fusion);
    return { query: q.id, method: 'hybrid', model: this.version, fusion: `${fusionName(fusion)}(embedding, ${CLASSICAL_DIAGNOSIS_METHOD})`, results: rows(scores), ...(warnings.length ? { warnings } : {}) };
  }

  async *diagnoseAll(spec: QuerySpec, hpoa: Hpoa, options: { method: EmbeddingMethod; top?: number }): AsyncGenerator<EmbeddingDiagnoseResult | { query: string; error: string }> {
    for await (const q of this.queries(spec)) {
      if ('error' in q) yield q;
      else {
        try {
          yield await this.diagnose(q, hpoa, options);
        } catch (e) {
          yield { query: q.id, error: (e as Error).message };
        }
      }
    }
  }

  /**
   * Patients of a split of the model (splits.json: publication groups) usable as evaluation queries:
   * embedded, with a diagnosis, a publication and an observed term; at most `max`, by a stable hash.
   */
  splitPatients(split: Split, max = FUSION_QUERIES): PatientProfile[] {
    const file = join(this.dir, 'splits.json');
    if (!existsSync(file)) return [];
    const splits = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Split>;
    return this.profiles
      .filter((p, i) => splits[p.id] === split && this.rows[i] >= 0 && p.diseases.length > 0 && p.publications.length > 0 && p.observed.length > 0)
      .sort((a, b) => hash32(a.id) - hash32(b.id) || (a.id < b.id ? -1 : 1))
      .slice(0, max);
  }

  /**
   * Publication-grouped patient retrieval queries: each stored patient against every other one
   * outside its publications; relevant = shares a diagnosis. Queries without a relevant candidate are left out.
   */
  *similarQueries(queries: readonly PatientProfile[]): Generator<ScoredQuery> {
    const ctx = this.classicalContext();
    const diseasesOf = this.profiles.map((p) => new Set(p.diseases));
    for (const q of queries) {
      const i = this.byId.get(q.id);
      if (i === undefined || this.rows[i] < 0) continue;
      const mask = this.mask(q, true);
      const relevant = Uint8Array.from(this.profiles, (_, j) => (!mask[j] && q.diseases.some((d) => diseasesOf[j].has(d)) ? 1 : 0));
      if (!relevant.includes(1)) continue;
      const classical = ctx.index.scoreAll(ctx.index.prepare(q), DEFAULT_METHOD);
      yield { learned: this.learnedScores(rowOf(this.vectors.matrix, this.vectors.dim, this.rows[i])), classical, relevant, mask };
    }
  }

  /** Disease ranking queries: each stored patient's diagnosis among the annotated diseases. */
  async *diagnoseQueries(queries: readonly PatientProfile[], hpoa: Hpoa): AsyncGenerator<ScoredQuery> {
    const { ctx, vectors } = await this.diseases(hpoa);
    const position = new Map(vectors.ids.map((id, i) => [id, i]));
    for (const q of queries) {
      const i = this.byId.get(q.id);
      const targets = q.diseases.map((d) => position.get(d)).filter((t): t is number => t !== undefined);
      if (i === undefined || this.rows[i] < 0 || !targets.length) continue;
      const relevant = new Uint8Array(vectors.ids.length);
      for (const t of targets) relevant[t] = 1;
      const learned = cosines(vectors.matrix, vectors.dim, rowOf(this.vectors.matrix, this.vectors.dim, this.rows[i]));
      yield { learned, classical: ctx.model.scoreAll(q, CLASSICAL_DIAGNOSIS_METHOD), relevant };
    }
  }

  /** Embedding, classical and every candidate fusion on one split's patients. */
  async evaluate(task: 'similar' | 'diagnose', split: Split, options: { hpoa?: Hpoa; max?: number } = {}): Promise<FusionComparison> {
    const queries = this.splitPatients(split, options.max);
    if (task === 'similar') return compareFusions(this.similarQueries(queries), DEFAULT_METHOD);
    if (!options.hpoa) throw new Error('disease ranking evaluation needs the annotations');
    const scored: ScoredQuery[] = [];
    // Disease score arrays are small (one per disease); collecting them keeps compareFusions synchronous.
    for await (const s of this.diagnoseQueries(queries, options.hpoa)) scored.push(s);
    return compareFusions(scored, CLASSICAL_DIAGNOSIS_METHOD);
  }

  /** The fusion for a task: from <model dir>/fusion.json, else chosen on the validation split and saved there. */
  fusionFor(task: 'similar'): Fusion;
  fusionFor(task: 'diagnose', hpoa: Hpoa): Promise<Fusion>;
  fusionFor(task: 'similar' | 'diagnose', hpoa?: Hpoa): Fusion | Promise<Fusion> {
    const ic = this.options.annotations ? `ic=${hash32(this.options.annotations.file + this.options.annotations.version).toString(16)}` : 'ic=patients';
    const key = task === 'similar' ? `similar ${DEFAULT_METHOD} ${ic} store=${this.generation}` : `diagnose ${CLASSICAL_DIAGNOSIS_METHOD} annotations=${hash32(hpoa!.file + hpoa!.version).toString(16)} store=${this.generation}`;
    const file = join(this.dir, 'fusion.json');
    const cache = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, FusionChoice>) : {};
    const byName = (name: string) => FUSIONS.find((f) => fusionName(f) === name);
    const hit = cache[key] && byName(cache[key].fusion);
    if (hit) return task === 'similar' ? hit : Promise.resolve(hit);
    const save = (comparison: FusionComparison): Fusion => {
      const fusion = chooseFusion(comparison);
      const measured = comparison.hybrid.some((h) => h.queries > 0);
      cache[key] = { fusion: fusionName(fusion), chosenOn: measured ? `${comparison.embedding.queries} validation-split patients, best MRR` : 'default (no validation-split patient with a relevant candidate)', comparison };
      writeAtomic(file, [JSON.stringify(cache, null, 2)]);
      const line = comparison.hybrid.map((h) => `${h.method.replace('hybrid:', '')} ${h.mrr}`).join(', ');
      this.log(`learn: ${task} fusion ${fusionName(fusion)} chosen on ${cache[key].chosenOn} (MRR: embedding ${comparison.embedding.mrr}, ${comparison.classical.method} ${comparison.classical.mrr}, ${line}); saved in ${file}`);
      return fusion;
    };
    const max = this.options.fusionQueries ?? FUSION_QUERIES;
    if (task === 'similar') return save(compareFusions(this.similarQueries(this.splitPatients('validation', max)), DEFAULT_METHOD));
    return this.evaluate('diagnose', 'validation', { hpoa, max }).then(save);
  }
}
