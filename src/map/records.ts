import { createHash } from 'node:crypto';
import { DataFactory, type Quad, type Quad_Object } from 'n3';
import type { CalledVariant, HarmonizedRecord } from '../harmonize/record.js';
import { oboIri, patientGraph, patientIri, segment } from '../model/iri.js';
import { HX, HXG, HXR, PROV, RDF, XSD } from '../model/namespaces.js';
import type { RecordEntry } from '../sources/manifest.js';
import { ENTITY_GRAPH } from './phenopacket.js';

const { namedNode, literal, quad } = DataFactory;

/** The class of a record node, by modality. */
export const RECORD_CLASS: Record<RecordEntry['modality'], string> = {
  vcf: 'VariantCallSet', maf: 'VariantCallSet', mri: 'ImagingStudy', oct: 'OCTVolume',
  eeg: 'SignalRecording', ecg: 'SignalRecording', ppg: 'SignalRecording', expression: 'ExpressionProfile',
};

/** Acquisition parameters with a predicate of their own (the rest are name/value pairs). */
const DIRECT: Record<string, string> = {
  samplingRate: 'samplingRate', durationSeconds: 'durationSeconds', assembly: 'assembly', orientation: 'orientation',
};

/** A record's stable id: its patient, modality, file and sample, so re-ingesting it finds it again. */
export function recordId(entry: Pick<RecordEntry, 'patient' | 'modality' | 'relativePath' | 'sample'>): string {
  const h = createHash('sha1').update(`${entry.modality}\n${entry.relativePath}\n${entry.sample ?? ''}`).digest('hex').slice(0, 16);
  return `${segment(entry.patient)}/${entry.modality}-${h}`;
}
export const recordIri = (id: string): string => `${HXR}record/${id}`;
export const recordGraph = (id: string): string => `${HXG}record/${id}`;

export interface MappedRecord {
  id: string;
  graph: string;
  quads: Quad[];
  /** Gene symbols (entity graph), idempotent across records. */
  shared: Quad[];
}

export interface RecordFiles {
  /** sha256 of the source file's bytes. */
  checksum: string;
  /** The harmonized arrays as written beside the store: name to path (relative to the store) and sha256. */
  arrays: Record<string, { path: string; sha256: string; dtype: string }>;
  software: string;
  /** hx:sourceFile as stored: by default the entry's path relative to its manifest, dataset or phenopacket folder. */
  sourceFile?: string;
}

type Obj = Quad_Object;
const dbl = (v: number): Obj => literal(Number.isFinite(v) ? String(v) : v > 0 ? 'INF' : v < 0 ? '-INF' : 'NaN', namedNode(XSD + 'double'));
const int = (v: number): Obj => literal(String(v), namedNode(XSD + 'integer'));
const str = (v: string): Obj => literal(v);

/** Maps one harmonized record into its own graph: the record, its acquisition, features, arrays, provenance, variants. */
export function mapRecord(entry: RecordEntry, record: HarmonizedRecord, files: RecordFiles): MappedRecord {
  const id = recordId(entry);
  const R = recordIri(id);
  const graph = namedNode(recordGraph(id));
  const quads: Quad[] = [];
  const shared: Quad[] = [];
  const add = (s: string, p: string, o: Obj): void => void quads.push(quad(namedNode(s), namedNode(p), o, graph));
  const P = patientIri(entry.patient);
  add(P, HX + 'hasRecord', namedNode(R));
  add(R, RDF + 'type', namedNode(HX + RECORD_CLASS[entry.modality]));
  add(R, RDF + 'type', namedNode(HX + 'Record'));
  add(R, HX + 'recordId', str(id));
  add(R, HX + 'patient', namedNode(P));
  add(R, HX + 'modality', str(entry.modality));
  add(R, HX + 'format', str(record.format));
  if (entry.site) add(R, HX + 'site', str(entry.site));
  if (entry.label) add(R, HX + 'finding', namedNode(oboIri(entry.label)));
  if (entry.sample) add(R, HX + 'sample', str(entry.sample));
  mapAcquisition(add, R, record.acquisition, entry.sidecar);
  for (const [name, value] of Object.entries(record.features)) {
    const F = `${R}#feature/${segment(name)}`;
    add(R, HX + 'feature', namedNode(F));
    add(F, HX + 'name', str(name));
    add(F, HX + 'value', dbl(value));
  }
  mapProvenance(add, R, entry, record, files);
  for (const v of record.variants ?? []) mapVariant(add, shared, P, R, v);
  return { id, graph: graph.value, quads, shared };
}

function mapAcquisition(add: (s: string, p: string, o: Obj) => void, R: string, acquisition: HarmonizedRecord['acquisition'], sidecar?: Record<string, unknown>): void {
  const all: [string, unknown][] = [...Object.entries(acquisition), ...Object.entries(sidecar ?? {}).map(([k, v]) => [`bids.${k}`, v] as [string, unknown])];
  for (const [name, value] of all) {
    if (value === undefined || value === null || (typeof value === 'object' && !Array.isArray(value))) continue;
    const direct = DIRECT[name];
    if (direct && (typeof value === 'number' || typeof value === 'string')) add(R, HX + direct, typeof value === 'number' ? dbl(value) : str(value));
    if (name === 'voxelSize' && Array.isArray(value)) value.forEach((v, i) => add(R, HX + `voxelSize${'XYZ'[i] ?? i}`, dbl(Number(v))));
    if (name === 'dimensions' && Array.isArray(value)) value.forEach((v, i) => add(R, HX + `dimension${i + 1}`, int(Number(v))));
    if (name === 'channels' && typeof value === 'number') add(R, HX + 'channelCount', int(value));
    if (name === 'channelLabels' && Array.isArray(value)) for (const c of value) add(R, HX + 'channel', str(String(c)));
    const A = `${R}#acquisition/${segment(name)}`;
    add(R, HX + 'acquisitionParameter', namedNode(A));
    add(A, HX + 'name', str(name));
    if (typeof value === 'number') add(A, HX + 'value', dbl(value));
    else if (typeof value === 'boolean') add(A, HX + 'value', literal(String(value), namedNode(XSD + 'boolean')));
    else add(A, HX + 'value', str(Array.isArray(value) ? JSON.stringify(value) : String(value)));
  }
}

/** PROV-O: the source file, one activity per step (chained by prov:used), the arrays they generated. */
function mapProvenance(add: (s: string, p: string, o: Obj) => void, R: string, entry: RecordEntry, record: HarmonizedRecord, files: RecordFiles): void {
  const source = `${R}#source`;
  add(source, RDF + 'type', namedNode(PROV + 'Entity'));
  add(source, HX + 'sourceFile', str(files.sourceFile ?? entry.relativePath));
  add(source, HX + 'sha256', str(files.checksum));
  add(R, PROV + 'wasDerivedFrom', namedNode(source));
  let previous = source;
  record.provenance.forEach((p, i) => {
    const A = `${R}#step/${i + 1}`;
    const out = `${A}/output`;
    add(A, RDF + 'type', namedNode(PROV + 'Activity'));
    add(A, HX + 'step', str(p.step));
    add(A, HX + 'stepVersion', str(p.version));
    add(A, HX + 'stepIndex', int(i + 1));
    add(A, HX + 'software', str(files.software));
    add(A, HX + 'parameters', literal(JSON.stringify(p.parameters), namedNode(RDF + 'JSON')));
    if (p.input) add(A, HX + 'inputChecksum', str(p.input));
    if (p.output) add(A, HX + 'outputChecksum', str(p.output));
    add(A, PROV + 'used', namedNode(previous));
    add(R, HX + 'harmonizationStep', namedNode(A));
    add(out, RDF + 'type', namedNode(PROV + 'Entity'));
    add(out, PROV + 'wasGeneratedBy', namedNode(A));
    previous = out;
  });
  for (const [name, a] of Object.entries(files.arrays)) {
    const N = `${R}#array/${segment(name)}`;
    const arr = record.arrays[name];
    add(R, HX + 'harmonizedArray', namedNode(N));
    add(N, RDF + 'type', namedNode(PROV + 'Entity'));
    add(N, HX + 'name', str(name));
    add(N, HX + 'path', str(a.path));
    add(N, HX + 'sha256', str(a.sha256));
    add(N, HX + 'dtype', str(a.dtype));
    if (arr) add(N, HX + 'shape', str(arr.shape.join(' ')));
    add(N, PROV + 'wasDerivedFrom', namedNode(previous));
  }
}

function mapVariant(add: (s: string, p: string, o: Obj) => void, shared: Quad[], P: string, R: string, v: CalledVariant): void {
  const V = `${R}#variant/${segment(`${v.chrom}-${v.pos}-${v.ref}-${v.alt}`)}`;
  add(P, HX + 'hasVariant', namedNode(V));
  add(R, HX + 'calledVariant', namedNode(V));
  add(V, RDF + 'type', namedNode(HX + 'Variant'));
  add(V, HX + 'chrom', str(v.chrom));
  add(V, HX + 'pos', int(v.pos));
  add(V, HX + 'ref', str(v.ref));
  add(V, HX + 'alt', str(v.alt));
  if (v.assembly) add(V, HX + 'assembly', str(v.assembly));
  if (v.genotype) add(V, HX + 'genotype', str(v.genotype));
  if (v.zygosity) add(V, HX + 'zygosity', str(v.zygosity));
  if (v.clinvar) add(V, HX + 'clinvarSignificance', str(v.clinvar));
  if (v.acmgClass) add(V, HX + 'acmgClass', str(v.acmgClass));
  if (v.consequence) add(V, HX + 'consequence', str(v.consequence));
  if (v.rare !== undefined) add(V, HX + 'rare', literal(String(v.rare), namedNode(XSD + 'boolean')));
  if (v.gene) {
    const G = `${HXR}gene/${segment(v.gene)}`;
    add(V, HX + 'gene', namedNode(G));
    shared.push(quad(namedNode(G), namedNode(HX + 'symbol'), str(v.gene), namedNode(ENTITY_GRAPH)));
    shared.push(quad(namedNode(G), namedNode(RDF + 'type'), namedNode(HX + 'Gene'), namedNode(ENTITY_GRAPH)));
  }
}

/** A patient known only from its records: a node marked with where it came from, in the patient's own graph. */
export function stubPatientQuads(patient: string, source: string): { graph: string; quads: Quad[] } {
  const graph = namedNode(patientGraph(patient));
  const P = namedNode(patientIri(patient));
  return {
    graph: graph.value,
    quads: [
      quad(P, namedNode(RDF + 'type'), namedNode(HX + 'Patient'), graph),
      quad(P, namedNode(HX + 'id'), literal(patient), graph),
      quad(P, namedNode(HX + 'createdFrom'), literal(source), graph),
    ],
  };
}
