import { basename, resolve } from 'node:path';
import { HarmonizeContext, harmonizeEntry, loadHarmonizationConfig } from '../harmonize/dispatch.js';
import { HX, InputError } from '../model/index.js';
import type { RecordEntry } from '../sources/index.js';
import type { GraphStore } from '../store/index.js';
import type { ImagingModality } from './config.js';
import { resampleVolume, type PatientData, type RecordData, type RecordModality, type SignalModality } from './data.js';
import { embedPatients, embedRecords } from './encode.js';
import { variantToken, type VariantToken } from './genotype.js';
import { decodeVector, embeddingGraph } from './embed.js';
import { Model } from './model.js';

// The embedding space as retrieval and stratification read it: the stored patient vectors of a model
// version as one matrix, and queries (phenotype sets, signal files) embedded the way `harmonia embed`
// embeds patients, so a query and the stored patients are comparable by cosine.

/** Stored patient embeddings of one model version: row i of `matrix` is patient `ids[i]`. */
export interface PatientVectors {
  version: string;
  dim: number;
  ids: string[];
  /** [ids.length * dim], unit rows. */
  matrix: Float32Array;
  row: Map<string, number>;
}

/** Reads every patient embedding of a version from the graph (run `harmonia embed` first). */
export async function loadPatientVectors(store: GraphStore, version: string): Promise<PatientVectors> {
  const rows = await store.select(`SELECT ?id ?v WHERE { GRAPH <${embeddingGraph(version)}> { ?e <${HX}embeddingOf> ?p ; <${HX}embeddingKind> "patient" ; <${HX}vector> ?v } ?p <${HX}id> ?id } ORDER BY ?id`);
  if (!rows.length) throw new Error(`model ${version}: no patient embeddings in the store (run harmonia embed first)`);
  const first = decodeVector(rows[0].v!);
  const dim = first.length;
  const matrix = new Float32Array(rows.length * dim);
  const ids: string[] = [];
  rows.forEach((r, i) => {
    matrix.set(i === 0 ? first : decodeVector(r.v!), i * dim);
    ids.push(r.id!);
  });
  return { version, dim, ids, matrix, row: new Map(ids.map((id, i) => [id, i])) };
}

/** The row of `matrix` ([n * dim]) as a view. */
export function rowOf(matrix: Float32Array, dim: number, i: number): Float32Array {
  return matrix.subarray(i * dim, (i + 1) * dim);
}

/** Dot products of `query` with every row: cosines, since rows and query are unit length. */
export function cosines(matrix: Float32Array, dim: number, query: Float32Array, out = new Float64Array(matrix.length / dim)): Float64Array {
  for (let i = 0, o = 0; i < out.length; i++, o += dim) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += matrix[o + d] * query[d];
    out[i] = s;
  }
  return out;
}

/**
 * A phenotype set embedded as `harmonia embed` embeds a patient who has only phenotypes (the
 * phenotype encoder, then the fusion of that one modality); undefined when no term is in the
 * model's vocabulary.
 */
export function embedPhenotypeSet(model: Model, set: { observed: string[]; excluded: string[] }): Float32Array | undefined {
  const p: PatientData = { id: 'query', iri: 'urn:harmonia:query', group: 'query', observed: set.observed, excluded: set.excluded, records: [] };
  return embedPatients(model, { patients: [p], records: [], skipped: [] }, []).get('query');
}

/** The harmonized array a record encoder takes, per modality (as ingest writes it). */
const ARRAY_NAME: Record<RecordModality, string> = { ecg: 'windows', eeg: 'epochs', mri: 'volume', oct: 'bscans' };

/** Record files a query can be: those an encoder reads (signals, volumes) and genomic files (the genomic encoder). */
export const QUERY_MODALITIES = ['ecg', 'eeg', 'mri', 'oct', 'vcf', 'maf'] as const;
export type QueryModality = (typeof QUERY_MODALITIES)[number];

/** Harmonizes one file as `harmonia ingest --manifest` does without --config. */
async function harmonizeFile(file: string, modality: string, referenceDir: string) {
  const path = resolve(file);
  const entry: RecordEntry = { patient: 'query', modality: modality as RecordEntry['modality'], path, relativePath: basename(path), source: 'manifest', origin: { file: path } };
  return harmonizeEntry(entry, new HarmonizeContext(loadHarmonizationConfig(undefined, referenceDir)));
}

/**
 * Any record file as a query vector, embedded as the patient who has only that record: ECG/EEG by
 * the signal encoder, MRI/OCT volumes (resampled to the encoder's grid) by the imaging encoder,
 * VCF/MAF by the genomic encoder over the variants ingest would store (with genes from the gene
 * reference files). One clear error when the model has no encoder for it.
 */
export async function embedRecordFile(model: Model, file: string, modality: string, referenceDir = process.cwd()): Promise<Float32Array> {
  if (!(QUERY_MODALITIES as readonly string[]).includes(modality)) throw new InputError(`--modality ${modality}: expected one of ${QUERY_MODALITIES.join(', ')}`);
  if (modality === 'ecg' || modality === 'eeg') {
    requireEncoder(model, modality);
    return embedRecordAsPatient(model, modality, await harmonizedSequences(file, modality, referenceDir));
  }
  if (modality === 'mri' || modality === 'oct') {
    const m = modality as ImagingModality;
    if (!model.imagingModalities.includes(m)) throw new InputError(`--modality ${m}: the model has no ${m} encoder (it learns ${model.recordModalities.join(', ') || 'no record modality'})`);
    const record = await harmonizeFile(file, m, referenceDir);
    const array = record.arrays[ARRAY_NAME[m]];
    if (!array || array.shape.length !== 3) throw new InputError(`harmonisation gave no 3D '${ARRAY_NAME[m]}' array`, file);
    const data = array.data instanceof Float32Array ? array.data : Float32Array.from(array.data as ArrayLike<number>);
    const volume = resampleVolume(data, array.shape, model.config.imaging[m]!.shape);
    const r: RecordData = { iri: 'urn:harmonia:query-record', id: 'query/record', patient: 'query', modality: m, sequences: [volume] };
    const p: PatientData = { id: 'query', iri: 'urn:harmonia:query', group: 'query', observed: [], excluded: [], records: [0] };
    return embedPatients(model, { patients: [p], records: [r], skipped: [] }, embedRecords(model, [r])).get('query')!;
  }
  const record = await harmonizeFile(file, modality, referenceDir);
  const tokens = (record.variants ?? []).map((v) => variantToken({ gene: v.gene, acmgClass: v.acmgClass, clinvar: v.clinvar, zygosity: v.zygosity, genotype: v.genotype, consequence: v.consequence }));
  const kept = tokens.filter((t): t is VariantToken => t !== undefined);
  if (!kept.length) throw new InputError(`no called variant in a gene (of ${record.variants?.length ?? 0} kept by the harmonisation): nothing for the genomic encoder`, file);
  return embedGenotype(model, kept);
}

/** A genotype (variant tokens, or genes as `geneToken`s) embedded as the patient who has only it. */
export function embedGenotype(model: Model, tokens: VariantToken[]): Float32Array {
  if (!model.genes) throw new InputError('the model has no genomic encoder (trained without genotypes: its config has no genotype section, or the store had no variants)');
  const p: PatientData = { id: 'query', iri: 'urn:harmonia:query', group: 'query', observed: [], excluded: [], records: [], variants: tokens };
  return embedPatients(model, { patients: [p], records: [], skipped: [] }, []).get('query')!;
}

/**
 * Reads and harmonizes one ECG or EEG file with the default harmonisation (what `harmonia ingest`
 * does with a manifest row without --config) and returns the sequences the encoder takes.
 */
export async function harmonizedSequences(file: string, modality: SignalModality, referenceDir = process.cwd()): Promise<Float32Array[]> {
  const record = await harmonizeFile(file, modality, referenceDir);
  const array = record.arrays[ARRAY_NAME[modality]];
  if (!array) throw new InputError(`harmonisation gave no '${ARRAY_NAME[modality]}' array`, file);
  const L = Model.sequenceLength(modality);
  const length = array.shape[array.shape.length - 1];
  if (length !== L) throw new InputError(`${modality} sequences of ${length} samples; the encoder takes ${L}`, file);
  const data = array.data instanceof Float32Array ? array.data : Float32Array.from(array.data as ArrayLike<number>);
  const out: Float32Array[] = [];
  for (let o = 0; o + L <= data.length; o += L) out.push(data.subarray(o, o + L));
  if (!out.length) throw new InputError(`the harmonized ${modality} array is empty`, file);
  return out;
}

/** Fails with the reason when the model has no encoder for the modality. */
export function requireEncoder(model: Model, modality: SignalModality): void {
  if (!model.signalModalities.includes(modality)) {
    throw new InputError(`--modality ${modality}: the model has no ${modality} encoder (it learns ${model.signalModalities.join(', ') || 'no signal modality'})`);
  }
}

/**
 * A signal record embedded as the patient who has only that record: the signal encoder (mean over
 * its sequences), then the fusion of that one modality, so it compares with stored patient vectors.
 */
export function embedRecordAsPatient(model: Model, modality: SignalModality, sequences: Float32Array[]): Float32Array {
  requireEncoder(model, modality);
  const record: RecordData = { iri: 'urn:harmonia:query-record', id: 'query/record', patient: 'query', modality, sequences };
  const vectors = embedRecords(model, [record]);
  const p: PatientData = { id: 'query', iri: 'urn:harmonia:query', group: 'query', observed: [], excluded: [], records: [0] };
  return embedPatients(model, { patients: [p], records: [record], skipped: [] }, vectors).get('query')!;
}
