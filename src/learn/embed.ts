import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import usearch from 'usearch';
import { HX, oboIri } from '../model/index.js';
import { openStore, writeAtomic, type GraphStore } from '../store/index.js';
import { chooseBackend } from './backend.js';
import { loadDataset, mapUmlsTerms, type RecordModality } from './data.js';
import { embedPatients, embedRecords, embedTerms } from './encode.js';
import { loadTrainedModel, modelDir } from './train.js';
import { decodeVector, embeddingGraph, embeddingQuads, latestVersion, type EmbeddedItem, type EmbeddingKind } from './vectors.js';

export { decodeVector, embeddingGraph, encodeVector, FLOAT32_BASE64, type EmbeddedItem, type EmbeddingKind } from './vectors.js';

export interface EmbedSummary {
  version: string;
  dimension: number;
  patients: number;
  records: Record<string, number>;
  terms: number;
  indexes: string[];
  graph: string;
  seconds: number;
}

/** Resolves `--model` (or the last trained version) and checks it exists. */
export function resolveVersion(storeDir: string, version?: string): string {
  const v = version ?? latestVersion(storeDir);
  if (!v) throw new Error(`${resolve(storeDir)}: no trained model (run harmonia train first)`);
  if (!existsSync(join(modelDir(storeDir, v), 'model.json'))) throw new Error(`${modelDir(storeDir, v)}: no such model version`);
  return v;
}


/** One usearch index (cosine) per kind, keys 0..n-1, with the ids beside it in `<name>.keys.json`. */
function saveIndex(dir: string, name: string, items: EmbeddedItem[], dim: number): string {
  const index = new usearch.Index({ dimensions: dim, metric: 'cos' as never, quantization: 'f32' as never, connectivity: 16, expansion_add: 128, expansion_search: 64, multi: false });
  if (items.length) {
    const matrix = new Float32Array(items.length * dim);
    items.forEach((it, i) => matrix.set(it.vector, i * dim));
    index.add(BigUint64Array.from(items, (_, i) => BigInt(i)), matrix);
  }
  const file = join(dir, `${name}.usearch`);
  index.save(file);
  writeAtomic(join(dir, `${name}.keys.json`), [JSON.stringify(items.map((it) => it.id))]);
  return file;
}

/**
 * Embeds every patient, record (of the model's modalities) and vocabulary term with a trained model;
 * saves usearch indexes in the model's folder and commits the vectors as hx:Embedding nodes into the
 * model's own graph (replacing an earlier embedding by the same version).
 */
export async function embedStore(options: { storeDir: string; version?: string; backend?: string; log?: (l: string) => void }): Promise<EmbedSummary> {
  const log = options.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const started = Date.now();
  const version = resolveVersion(options.storeDir, options.version);
  await chooseBackend(options.backend, log);
  const store = await openStore(options.storeDir, { write: true });
  try {
    const ontology = await store.ontology();
    const model = loadTrainedModel(options.storeDir, version, ontology);
    const dataset = await loadDataset(store, resolve(options.storeDir), model.recordModalities, model.config.imaging, model.genes !== undefined);
    mapUmlsTerms(dataset, ontology);
    const D = model.config.dim;
    const recordVectors = embedRecords(model, dataset.records);
    const patientVectors = embedPatients(model, dataset, recordVectors);
    const termVectors = embedTerms(model);
    const patients: EmbeddedItem[] = dataset.patients.filter((p) => patientVectors.has(p.id)).map((p) => ({ kind: 'patient', id: p.id, subject: p.iri, vector: patientVectors.get(p.id)! }));
    const records: EmbeddedItem[] = dataset.records.map((r, i) => ({ kind: 'record', id: r.id, subject: r.iri, modality: r.modality, vector: recordVectors[i] })).filter((r) => r.vector) as EmbeddedItem[];
    const terms: EmbeddedItem[] = model.vocab.ids.map((id, t) => ({ kind: 'term', id, subject: oboIri(id), vector: termVectors.slice(t * D, (t + 1) * D) }));
    model.dispose();
    const dir = modelDir(options.storeDir, version);
    const indexes = [saveIndex(dir, 'patients', patients, D), saveIndex(dir, 'terms', terms, D)];
    const byModality: Record<string, number> = {};
    for (const m of new Set(records.map((r) => r.modality!))) {
      const rs = records.filter((r) => r.modality === m);
      byModality[m] = rs.length;
      indexes.push(saveIndex(dir, `records-${m}`, rs, D));
    }
    const graph = embeddingGraph(version);
    await store.commit({ replace: new Map([[graph, embeddingQuads([...patients, ...records, ...terms], version, D)]]), add: [], rejected: [], accepted: [] });
    return { version, dimension: D, patients: patients.length, records: byModality, terms: terms.length, indexes, graph, seconds: Math.round((Date.now() - started) / 100) / 10 };
  } finally {
    await store.close();
  }
}

/** The stored embeddings of one kind (and modality) of a model version, from the graph. */
export async function storedEmbeddings(store: GraphStore, version: string, kind: EmbeddingKind, modality?: string): Promise<Map<string, { subject: string; vector: Float32Array }>> {
  const rows = await store.select(`SELECT ?s ?v WHERE { GRAPH <${embeddingGraph(version)}> { ?e <${HX}embeddingOf> ?s ; <${HX}embeddingKind> ${JSON.stringify(kind)} ; <${HX}vector> ?v ${modality ? `; <${HX}modality> ${JSON.stringify(modality)}` : ''} } }`);
  return new Map(rows.map((r) => [r.s!, { subject: r.s!, vector: decodeVector(r.v!) }]));
}

export interface ClassifyRow {
  record: string;
  patient: string;
  score: number;
}

/**
 * Zero-shot scores: the cosine similarity of each record of `modality` to the term's embedding, both
 * as `harmonia embed` stored them for the model version. No per-term classifier is involved.
 */
export async function classifyRecords(options: { storeDir: string; modality: RecordModality | string; term: string; version?: string }): Promise<ClassifyRow[]> {
  const version = resolveVersion(options.storeDir, options.version);
  const store = await openStore(options.storeDir);
  try {
    const [term] = await termEmbedding(store, version, options.term);
    if (!term) throw new Error(`${options.term}: no embedding in model ${version} (run harmonia embed first; or the term is not in the model's vocabulary)`);
    const records = await storedEmbeddings(store, version, 'record', options.modality);
    if (!records.size) throw new Error(`--modality ${options.modality}: no record embeddings of that modality in model ${version} (run harmonia embed first; the model learns ${learnedModalities(options.storeDir, version)})`);
    const ids = await store.select(`SELECT ?r ?rid ?pid WHERE { ?r <${HX}recordId> ?rid ; <${HX}modality> ${JSON.stringify(options.modality)} ; <${HX}patient> ?p . OPTIONAL { ?p <${HX}id> ?pid } } ORDER BY ?rid`);
    const out: ClassifyRow[] = [];
    for (const r of ids) {
      const e = records.get(r.r!);
      if (!e) continue;
      out.push({ record: r.rid!, patient: r.pid ?? r.rid!.split('/')[0], score: Math.round(dot(e.vector, term) * 1e6) / 1e6 });
    }
    return out;
  } finally {
    await store.close();
  }
}

async function termEmbedding(store: GraphStore, version: string, curie: string): Promise<Float32Array[]> {
  const rows = await store.select(`SELECT ?v WHERE { GRAPH <${embeddingGraph(version)}> { ?e <${HX}embeddingOf> <${oboIri(curie)}> ; <${HX}embeddingKind> "term" ; <${HX}vector> ?v } }`);
  return rows.map((r) => decodeVector(r.v!));
}

/** Both vectors are unit length, so the dot product is their cosine. */
function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function learnedModalities(storeDir: string, version: string): string {
  const { config } = JSON.parse(readFileSync(join(modelDir(storeDir, version), 'model.json'), 'utf8')) as { config: { signals: Record<string, unknown>; imaging?: Record<string, unknown> } };
  return [...Object.keys(config.signals), ...Object.keys(config.imaging ?? {})].join(', ') || 'no record modality';
}
