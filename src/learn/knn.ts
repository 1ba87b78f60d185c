import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type * as RDF from '@rdfjs/types';
import { DataFactory } from 'n3';
import usearch from 'usearch';
import { HX, HXR, segment, XSD } from '../model/index.js';
import { QueryError } from '../query/errors.js';
import { KNN_SERVICE, SIMILARITY_FUNCTION, type RdfTerm, type ServicePlan, type ServiceProvider, type ServiceRow, type ServiceTriple } from '../query/services.js';
import { writeAtomic, type GraphStore } from '../store/index.js';
import { decodeVector, embeddingGraph, embeddingQuads, EMBEDDINGS_GRAPH_PREFIX, latestVersion, MODELS_DIR, type EmbeddedItem } from './vectors.js';

// kNN over the embeddings `harmonia embed` wrote, for SERVICE <https://w3id.org/harmonia/knn> clauses
// and the hx:similarity extension function. Up to EXACT_MAX vectors the search is exact: usearch's
// SIMD brute force over the hx:vector literals of the embeddings graph (about 1 ms per query at
// 10,000 here, and the only way for a remote store); beyond, the usearch HNSW index in the model's
// folder (approximate). The targets' vectors always come from the graph. It imports nothing of TensorFlow.js (1.6 s to load)
// so that `harmonia query` and the server's query worker stay quick to start: the few helpers it
// shares with embed.ts (graph name, vector decoding) are repeated here for that reason.

export const DEFAULT_K = 10;
/** Most neighbours one clause may ask for per target. */
export const MAX_K = 1000;

/** Up to this many vectors, kNN is exact (brute force over the graph's vectors); beyond, the HNSW index file. */
export const EXACT_MAX = 50_000;
/** HNSW search breadth (usearch's expansion_search) for indexes beyond EXACT_MAX. */
export const HNSW_EXPANSION = 256;

const PARAMS = ['similarTo', 'k', 'score', 'rank', 'modality', 'model'] as const;
type Param = (typeof PARAMS)[number];

export interface Neighbour {
  /** The neighbour: a patient, or a record when searching a modality. */
  iri: string;
  /** Cosine similarity to the target (vectors are unit length). */
  score: number;
}

export interface NearestOptions {
  k?: number;
  /** Search records of this modality instead of patients. */
  modality?: string;
  /** Model version; default the service's, else latest.json, else the only one embedded. */
  version?: string;
}

export interface KnnOptions {
  store: GraphStore;
  /** The embedded store's directory (for latest.json and the usearch indexes); none for a remote store. */
  storeDir?: string;
  /** Model version to use unless a clause names one with hx:model. */
  version?: string;
  /** Largest space searched exactly (default EXACT_MAX); larger ones use the HNSW index file when there is one. */
  exactMax?: number;
}

interface Space {
  size: number;
  /** Whether answers are the true nearest (brute force), not approximate (HNSW). */
  exact: boolean;
  /** The k nearest of each query vector, best first. */
  search(queries: Float32Array[], k: number): Neighbour[][];
}

/** What one kNN clause asks for, read from its triples. */
interface KnnClause {
  subject: string;
  target: RdfTerm;
  k: number;
  score?: string;
  rank?: string;
  modality?: string;
  model?: string;
}

const { namedNode, literal } = DataFactory;

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

/**
 * Evaluates `SERVICE <https://w3id.org/harmonia/knn> { ?p hx:similarTo ?t ; hx:k 10 ; hx:score ?s }`:
 * for each target (a variable bound by the rest of the query, or an IRI), its k nearest patients, or
 * records of `hx:modality`, by cosine similarity; the target itself is left out. A target without an
 * embedding has no neighbours (no rows, no error); a store without embeddings is one error naming
 * `harmonia embed`.
 */
export class KnnService implements ServiceProvider {
  readonly iri = KNN_SERVICE;
  private generation?: string;
  private spaces = new Map<string, Promise<Space>>();
  private embedded?: Promise<string[]>;

  constructor(private readonly options: KnnOptions) {}

  plan(triples: ServiceTriple[]): ServicePlan {
    const clause = readClause(triples);
    return {
      inputs: clause.target.termType === 'Variable' ? [clause.target.value] : [],
      outputs: [clause.subject, ...(clause.score ? [clause.score] : []), ...(clause.rank ? [clause.rank] : [])],
      evaluate: (bindings) => this.evaluate(clause, bindings),
    };
  }

  private async evaluate(clause: KnnClause, bindings: ServiceRow[]): Promise<ServiceRow[]> {
    const variable = clause.target.termType === 'Variable' ? clause.target.value : undefined;
    const targets = variable ? [...new Set(bindings.map((b) => b[variable]).filter((t) => t?.termType === 'NamedNode').map((t) => t.value))] : [clause.target.value];
    const found = await this.nearest(targets, { k: clause.k, modality: clause.modality, version: clause.model });
    const rows: ServiceRow[] = [];
    for (const target of targets) {
      (found.get(target) ?? []).forEach((n, i) => {
        const row: ServiceRow = { [clause.subject]: { termType: 'NamedNode', value: n.iri } };
        if (variable) row[variable] = { termType: 'NamedNode', value: target };
        if (clause.score) row[clause.score] = typed(String(n.score), 'double');
        if (clause.rank) row[clause.rank] = typed(String(i + 1), 'integer');
        rows.push(row);
      });
    }
    return rows;
  }

  /** The k nearest patients (or records of a modality) of each target that has an embedding. */
  async nearest(targets: string[], options: NearestOptions = {}): Promise<Map<string, Neighbour[]>> {
    const k = options.k ?? DEFAULT_K;
    if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new QueryError(`hx:k ${k}: expected an integer from 1 to ${MAX_K}`);
    const version = await this.version(options.version);
    const space = await this.space(version, options.modality);
    const vectors = await this.vectors(version, targets);
    const found = [...vectors.keys()];
    const answers = space.search([...vectors.values()], k + 1);
    return new Map(found.map((target, i) => [target, answers[i].filter((n) => n.iri !== target).slice(0, k)]));
  }

  /** The cosine of two resources' embeddings; undefined when either has none. */
  async similarity(a: string, b: string, version?: string): Promise<number | undefined> {
    const v = await this.vectors(await this.version(version), [a, b]);
    const x = v.get(a);
    const y = v.get(b);
    return x && y ? round6(dot(x, y)) : undefined;
  }

  /** Embeddings of these resources (patients, records or HPO classes), from the model's graph. */
  async vectors(version: string, iris: string[]): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    const graph = embeddingGraph(version);
    // Only IRIs that can be written between <> (any other has no embedding: nothing to look up).
    const safe = iris.filter((s) => !/[\s<>"{}|^`\\]/.test(s));
    for (let i = 0; i < safe.length; i += 200) {
      const values = safe.slice(i, i + 200).map((s) => `<${s}>`).join(' ');
      const rows = await this.options.store.select(`SELECT ?s ?v WHERE { VALUES ?s { ${values} } GRAPH <${graph}> { ?e <${HX}embeddingOf> ?s ; <${HX}vector> ?v } }`);
      for (const r of rows) out.set(r.s!, decodeVector(r.v!));
    }
    return out;
  }

  /** Caches are valid for one generation of the store's content. */
  private async fresh(): Promise<void> {
    const generation = await this.options.store.generation();
    if (generation === this.generation) return;
    this.generation = generation;
    this.spaces.clear();
    this.embedded = undefined;
  }

  /** The model version to search: asked for, configured, latest.json, or the only one embedded. */
  async version(asked?: string): Promise<string> {
    await this.fresh();
    this.embedded ??= embeddedVersions(this.options.store);
    const embedded = await this.embedded;
    const where = this.options.storeDir ? ` --store ${this.options.storeDir}` : '';
    const chosen = asked ?? this.options.version ?? (this.options.storeDir ? latestVersion(this.options.storeDir) : undefined);
    if (chosen) {
      if (!embedded.includes(chosen)) throw new QueryError(`model ${chosen} has no embeddings in this store: run harmonia embed${where} --model ${chosen}`, 409);
      return chosen;
    }
    if (embedded.length === 1) return embedded[0];
    if (!embedded.length) throw new QueryError(`no embeddings in this store for kNN: run harmonia train, then harmonia embed${where}`, 409);
    throw new QueryError(`several models are embedded in this store (${embedded.join(', ')}): choose one with hx:model "<version>" in the kNN clause`, 409);
  }

  private space(version: string, modality?: string): Promise<Space> {
    const key = `${version}\n${modality ?? ''}`;
    let space = this.spaces.get(key);
    if (!space) {
      space = this.loadSpace(version, modality);
      this.spaces.set(key, space);
      space.catch(() => this.spaces.delete(key));
    }
    return space;
  }

  private async loadSpace(version: string, modality?: string): Promise<Space> {
    const name = modality ? `records-${modality}` : 'patients';
    const kind = modality ? 'record' : 'patient';
    const graph = embeddingGraph(version);
    const dir = this.options.storeDir ? join(resolve(this.options.storeDir), MODELS_DIR, version) : undefined;
    const indexFile = dir && join(dir, `${name}.usearch`);
    const keysFile = dir && join(dir, `${name}.keys.json`);
    const filter = `<${HX}embeddingKind> "${kind}" ${modality ? `; <${HX}modality> ${JSON.stringify(modality)}` : ''}`;
    let space: Space;
    const ids = keysFile && existsSync(keysFile) ? (JSON.parse(readFileSync(keysFile, 'utf8')) as string[]) : undefined;
    if (indexFile && ids && ids.length > (this.options.exactMax ?? EXACT_MAX) && existsSync(indexFile)) {
      // Keys 0..n-1 name ids; the graph says which resource each id's embedding belongs to.
      const rows = await this.options.store.select(`SELECT ?e ?s WHERE { GRAPH <${graph}> { ?e <${HX}embeddingOf> ?s ; ${filter} } }`);
      const prefix = `${HXR}embedding/${segment(version)}/${kind}/`;
      const byId = new Map(rows.map((r) => [decodeURIComponent(r.e!.slice(prefix.length)), r.s!]));
      space = hnswSpace(indexFile, ids.map((id) => byId.get(id)));
    } else {
      const rows = await this.options.store.select(`SELECT ?s ?v WHERE { GRAPH <${graph}> { ?e <${HX}embeddingOf> ?s ; ${filter} ; <${HX}vector> ?v } }`);
      space = exactSpace(rows.map((r) => r.s!), rows.map((r) => decodeVector(r.v!)));
    }
    if (!space.size) {
      if (!modality) throw new QueryError(`model ${version} has no patient embeddings: run harmonia embed${this.options.storeDir ? ` --store ${this.options.storeDir}` : ''} --model ${version}`, 409);
      const have = await this.options.store.select(`SELECT DISTINCT ?m WHERE { GRAPH <${graph}> { ?e <${HX}modality> ?m } } ORDER BY ?m`);
      throw new QueryError(`hx:modality ${JSON.stringify(modality)}: model ${version} has no record embeddings of that modality (it has ${have.map((r) => r.m).join(', ') || 'none'}; train with that modality, then run harmonia embed)`, 409);
    }
    return space;
  }
}

/** Reads the clause's triples: one subject variable, hx:similarTo required, the others optional, each once. */
function readClause(triples: ServiceTriple[]): KnnClause {
  const fail = (why: string): never => {
    throw new QueryError(`SERVICE <${KNN_SERVICE}>: ${why}`);
  };
  const subject = triples[0]?.subject;
  if (!subject) fail('empty clause; write { ?p hx:similarTo ?t ; hx:k 10 ; hx:score ?s }');
  if (subject.termType !== 'Variable') fail('the subject must be a variable (the neighbours), e.g. ?p hx:similarTo ?t');
  const seen = new Map<Param, RdfTerm>();
  for (const t of triples) {
    if (t.subject.termType !== 'Variable' || t.subject.value !== subject.value) fail(`every triple must have the same subject ?${subject.value}`);
    const name = t.predicate.value.startsWith(HX) ? (t.predicate.value.slice(HX.length) as Param) : undefined;
    if (!name || !PARAMS.includes(name)) fail(`${name ? `hx:${name}` : `<${t.predicate.value}>`} is not a kNN parameter (use hx:${PARAMS.join(', hx:')})`);
    if (seen.has(name!)) fail(`hx:${name} is given twice`);
    seen.set(name!, t.object);
  }
  const target = seen.get('similarTo');
  if (!target) fail('hx:similarTo is missing (the target: a variable bound by the query, or an IRI)');
  if (target!.termType !== 'Variable' && target!.termType !== 'NamedNode') fail('hx:similarTo takes a variable or an IRI (a patient, a record or an HPO class)');
  if (target!.termType === 'Variable' && target!.value === subject.value) fail(`hx:similarTo ?${subject.value}: the target needs another variable than the neighbours`);
  const variable = (p: Param): string | undefined => {
    const o = seen.get(p);
    if (o && o.termType !== 'Variable') fail(`hx:${p} takes a variable`);
    if (o && (o.value === subject.value || o.value === target!.value)) fail(`hx:${p} ?${o.value}: needs its own variable`);
    return o?.value;
  };
  const text = (p: Param, pattern: RegExp): string | undefined => {
    const o = seen.get(p);
    if (o && (o.termType !== 'Literal' || !pattern.test(o.value))) fail(`hx:${p} takes a string such as ${p === 'modality' ? '"ecg"' : '"<model version>"'}`);
    return o?.value;
  };
  const kTerm = seen.get('k');
  let k = DEFAULT_K;
  if (kTerm) {
    if (kTerm.termType !== 'Literal' || !/^\+?\d+$/.test(kTerm.value)) fail('hx:k takes a whole number, e.g. hx:k 10');
    k = Number(kTerm.value);
    if (k < 1 || k > MAX_K) fail(`hx:k ${k}: expected 1 to ${MAX_K}`);
  }
  const score = variable('score');
  const rank = variable('rank');
  if (score && score === rank) fail('hx:score and hx:rank need different variables');
  return { subject: subject.value, target: target!, k, score, rank, modality: text('modality', /^[A-Za-z0-9_-]+$/), model: text('model', /^[^\s/\\]+$/) };
}

function typed(value: string, type: 'double' | 'integer'): RdfTerm {
  return { termType: 'Literal', value, language: '', datatype: { termType: 'NamedNode', value: `${XSD}${type}` } };
}


/** Model versions that have an embeddings graph in the store. */
async function embeddedVersions(store: GraphStore): Promise<string[]> {
  const rows = await store.select(`SELECT DISTINCT ?g WHERE { GRAPH ?g { ?e a <${HX}Embedding> } FILTER(STRSTARTS(STR(?g), "${EMBEDDINGS_GRAPH_PREFIX}")) }`);
  return rows.map((r) => decodeURIComponent(r.g!.slice(EMBEDDINGS_GRAPH_PREFIX.length))).sort();
}

/** A usearch HNSW index (cosine distance = 1 - similarity) whose key i is iris[i]. */
function hnswSpace(file: string, iris: (string | undefined)[]): Space {
  // The file's header sets dimensions and metric (load() replaces the constructor's); the search
  // breadth is ours: 64, the value the index was built with, finds about 0.6 of the true top 10 of
  // random 128-d vectors at 10,000, 256 about 0.93 (bench/knn.ts).
  const index = new usearch.Index({ dimensions: 1, metric: 'cos' as never, quantization: 'f32' as never, connectivity: 16, expansion_add: 128, expansion_search: HNSW_EXPANSION, multi: false });
  index.load(file);
  return {
    size: Number(index.size()),
    exact: false,
    search(queries, k) {
      return queries.map((q) => matches(index.search(q, k, 1), 0, iris));
    },
  };
}

/** Exact search (usearch's SIMD brute force) over vectors held in memory. */
export function exactSpace(iris: string[], vectors: Float32Array[]): Space {
  const dim = vectors[0]?.length ?? 0;
  const matrix = new Float32Array(iris.length * dim);
  vectors.forEach((v, i) => matrix.set(v, i * dim));
  return {
    size: iris.length,
    exact: true,
    search(queries, k) {
      if (!queries.length || !iris.length) return queries.map(() => []);
      const count = Math.min(k, iris.length);
      const q = new Float32Array(queries.length * dim);
      queries.forEach((v, i) => q.set(v, i * dim));
      const found = usearch.exactSearch(matrix, q, dim, count, 'cos' as never, 1) as { keys: BigUint64Array; distances: Float32Array };
      return queries.map((_, i) => matches(found, i * count, iris, count));
    },
  };
}

/** Neighbours from a usearch answer (keys and distances), from `offset`, `count` of them at most. */
function matches(m: { keys: BigUint64Array; distances: Float32Array }, offset: number, iris: (string | undefined)[], count = m.keys.length): Neighbour[] {
  const out: Neighbour[] = [];
  for (let i = offset; i < offset + count && i < m.keys.length; i++) {
    const iri = iris[Number(m.keys[i])];
    if (iri) out.push({ iri, score: round6(1 - m.distances[i]) });
  }
  return out;
}

/**
 * `hx:similarity(?a, ?b)` for Comunica's `extensionFunctions` context option: the cosine of the two
 * resources' embeddings as an xsd:double. A resource without an embedding gives NaN (every comparison
 * with it is false, so a FILTER drops the row): Comunica turns any error an extension function throws
 * into a failure of the whole query, not into SPARQL's per-row expression error.
 */
export function similarityFunctions(knn: KnnService, version?: string): Record<string, (args: RDF.Term[]) => Promise<RDF.Term>> {
  return {
    [SIMILARITY_FUNCTION]: async (args) => {
      if (args.length !== 2 || args.some((a) => a.termType !== 'NamedNode')) throw new Error('hx:similarity takes two IRIs');
      const score = await knn.similarity(args[0].value, args[1].value, version);
      return literal(score === undefined ? 'NaN' : String(score), namedNode(`${XSD}double`));
    },
  };
}

/**
 * Stores vectors computed elsewhere (another model, tests, benchmarks) as model `version`'s
 * embeddings, in the layout `harmonia embed` writes: the embeddings graph (hx:Embedding nodes,
 * hx:float32Base64 vectors) and the usearch indexes with their keys beside them.
 * `latest` also names the version in latest.json.
 */
export async function saveEmbeddings(store: GraphStore, storeDir: string, version: string, items: EmbeddedItem[], options: { latest?: boolean } = {}): Promise<void> {
  const dim = items[0]?.vector.length ?? 0;
  const dir = join(resolve(storeDir), MODELS_DIR, version);
  mkdirSync(dir, { recursive: true });
  const groups = new Map<string, EmbeddedItem[]>();
  for (const it of items) {
    const name = it.kind === 'patient' ? 'patients' : it.kind === 'term' ? 'terms' : `records-${it.modality}`;
    groups.set(name, [...(groups.get(name) ?? []), it]);
  }
  for (const [name, group] of groups) {
    const index = new usearch.Index({ dimensions: dim, metric: 'cos' as never, quantization: 'f32' as never, connectivity: 16, expansion_add: 128, expansion_search: 64, multi: false });
    const matrix = new Float32Array(group.length * dim);
    group.forEach((it, i) => matrix.set(it.vector, i * dim));
    index.add(BigUint64Array.from(group, (_, i) => BigInt(i)), matrix);
    index.save(join(dir, `${name}.usearch`));
    writeAtomic(join(dir, `${name}.keys.json`), [JSON.stringify(group.map((it) => it.id))]);
  }
  await store.commit({ replace: new Map([[embeddingGraph(version), embeddingQuads(items, version, dim)]]), add: [], rejected: [], accepted: [] });
  if (options.latest) writeAtomic(join(resolve(storeDir), MODELS_DIR, 'latest.json'), [JSON.stringify({ version })]);
}


