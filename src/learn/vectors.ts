import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataFactory, type Quad } from 'n3';
import { HX, HXG, HXR, RDF, segment, XSD } from '../model/index.js';
import { ARRAYS_DIR } from '../store/index.js';

// Where embeddings live and how they are written, shared by `harmonia embed` and the kNN service.
// No TensorFlow.js and no usearch here: the SPARQL side (knn.ts) must load without either model code.

const { namedNode, literal, quad } = DataFactory;

/**
 * Models live in the store directory under arrays/models/<version>/. Not DIR/models: opening the
 * embedded store for writing deletes every file it does not know outside arrays/ (its sweep of files
 * left by a failed commit), which would delete the models whenever `harmonia ingest` or `embed` runs.
 */
export const MODELS_DIR = `${ARRAYS_DIR}/models`;

/** The datatype of an embedding's vector literal: base64 of the vector's little-endian float32 values. */
export const FLOAT32_BASE64 = `${HX}float32Base64`;

/** Every model version's embeddings graph starts with this IRI. */
export const EMBEDDINGS_GRAPH_PREFIX = `${HXG}embeddings/`;

export type EmbeddingKind = 'patient' | 'record' | 'term';

export interface EmbeddedItem {
  kind: EmbeddingKind;
  /** Patient id, record id or HPO CURIE. */
  id: string;
  /** The resource the embedding belongs to. */
  subject: string;
  modality?: string;
  vector: Float32Array;
}

export function encodeVector(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

export function decodeVector(text: string): Float32Array {
  const b = Buffer.from(text, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

/** The named graph holding one model version's embeddings. */
export function embeddingGraph(version: string): string {
  return `${EMBEDDINGS_GRAPH_PREFIX}${segment(version)}`;
}

/** The version `harmonia train` last completed in this store (arrays/models/latest.json). */
export function latestVersion(storeDir: string): string | undefined {
  const f = join(resolve(storeDir), MODELS_DIR, 'latest.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as { version: string }).version : undefined;
}

/** The hx:Embedding nodes of `items` in the version's embeddings graph (docs/learning.md, "Embeddings"). */
export function embeddingQuads(items: EmbeddedItem[], version: string, dim: number): Quad[] {
  const g = namedNode(embeddingGraph(version));
  const out: Quad[] = [];
  for (const it of items) {
    const e = namedNode(`${HXR}embedding/${segment(version)}/${it.kind}/${segment(it.id)}`);
    const s = namedNode(it.subject);
    out.push(quad(s, namedNode(`${HX}embedding`), e, g));
    out.push(quad(e, namedNode(`${RDF}type`), namedNode(`${HX}Embedding`), g));
    out.push(quad(e, namedNode(`${HX}embeddingOf`), s, g));
    out.push(quad(e, namedNode(`${HX}embeddingKind`), literal(it.kind), g));
    out.push(quad(e, namedNode(`${HX}modelVersion`), literal(version), g));
    out.push(quad(e, namedNode(`${HX}dimension`), literal(String(dim), namedNode(`${XSD}integer`)), g));
    out.push(quad(e, namedNode(`${HX}vector`), literal(encodeVector(it.vector), namedNode(FLOAT32_BASE64)), g));
    if (it.modality) out.push(quad(e, namedNode(`${HX}modality`), literal(it.modality), g));
  }
  return out;
}
