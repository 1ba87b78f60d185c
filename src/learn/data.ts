import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeNpy } from '../harmonize/npy.js';
import { HX, oboCurie } from '../model/index.js';
import type { GraphStore } from '../store/index.js';
import { Model } from './model.js';
import { hash32 } from './random.js';

// What training and embedding read from a store: patients' phenotype sets (with their publication,
// the unit of splitting), and signal records with their harmonized arrays and findings.

export type SignalModality = 'ecg' | 'eeg';
export type Split = 'train' | 'validation' | 'test';

export interface PatientData {
  id: string;
  iri: string;
  /** Publication CURIE when the phenopacket has one, else the patient itself: the unit of splitting. */
  group: string;
  observed: string[];
  excluded: string[];
  /** Indices into Dataset.records. */
  records: number[];
}

export interface RecordData {
  iri: string;
  id: string;
  patient: string;
  modality: SignalModality;
  site?: string;
  /** The record's finding as an HPO CURIE (hx:finding), when it has one. */
  finding?: string;
  /** Harmonized sequences: ECG windows (2,500 samples at 250 Hz), EEG epoch-channels (512 at 128 Hz). */
  sequences: Float32Array[];
}

export interface Dataset {
  patients: PatientData[];
  records: RecordData[];
  /** Records left out and why (an array of another length than the encoder takes). */
  skipped: { record: string; reason: string }[];
}

const ARRAY_NAME: Record<SignalModality, string> = { ecg: 'windows', eeg: 'epochs' };

/** Reads patients and the records of `modalities` (arrays from `storeDir`, where their hx:path is relative to). */
export async function loadDataset(store: GraphStore, storeDir: string, modalities: readonly SignalModality[]): Promise<Dataset> {
  const patients = new Map<string, PatientData>();
  const patient = (iri: string, id: string) => {
    let p = patients.get(id);
    if (!p) patients.set(id, (p = { id, iri, group: `patient:${id}`, observed: [], excluded: [], records: [] }));
    return p;
  };
  const terms = await store.select(`SELECT ?p ?id ?c ?ex WHERE { ?p a <${HX}Patient> ; <${HX}id> ?id .
    { ?p <${HX}hasPhenotype> ?c BIND("o" AS ?ex) } UNION { ?p <${HX}excludedPhenotype> ?c BIND("x" AS ?ex) } }`);
  for (const r of terms) {
    const curie = oboCurie(r.c!);
    if (!curie) continue;
    const p = patient(r.p!, r.id!);
    (r.ex === 'x' ? p.excluded : p.observed).push(curie);
  }
  const pubs = await store.select(`SELECT ?id (MIN(?c) AS ?pub) WHERE { ?p a <${HX}Patient> ; <${HX}id> ?id ; <${HX}publication> ?x . ?x <${HX}curie> ?c } GROUP BY ?id`);
  for (const r of pubs) {
    const p = patients.get(r.id!);
    if (p && r.pub) p.group = r.pub;
  }
  const records: RecordData[] = [];
  const skipped: Dataset['skipped'] = [];
  if (modalities.length > 0) {
    const mods = modalities.map((m) => JSON.stringify(m)).join(', ');
    const rows = await store.select(`SELECT ?r ?rid ?mod ?p ?pid ?site ?finding ?path ?name WHERE {
      ?r <${HX}recordId> ?rid ; <${HX}modality> ?mod ; <${HX}patient> ?p ; <${HX}harmonizedArray> ?a .
      ?a <${HX}name> ?name ; <${HX}path> ?path .
      OPTIONAL { ?p <${HX}id> ?pid } OPTIONAL { ?r <${HX}site> ?site } OPTIONAL { ?r <${HX}finding> ?finding }
      FILTER(?mod IN (${mods})) } ORDER BY ?rid`);
    const seen = new Set<string>();
    for (const r of rows) {
      const m = r.mod as SignalModality;
      if (r.name !== ARRAY_NAME[m] || seen.has(r.rid!)) continue;
      seen.add(r.rid!);
      const pid = r.pid ?? r.rid!.split('/')[0];
      const sequences = readSequences(join(storeDir, r.path!), m);
      if (typeof sequences === 'string') {
        skipped.push({ record: r.rid!, reason: sequences });
        continue;
      }
      const finding = r.finding ? oboCurie(r.finding) : undefined;
      patient(r.p!, pid).records.push(records.length);
      records.push({ iri: r.r!, id: r.rid!, patient: pid, modality: m, site: r.site, finding, sequences });
    }
  }
  return { patients: [...patients.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)), records, skipped };
}

/** The sequences of one record's array, or why it cannot be used. */
function readSequences(file: string, m: SignalModality): Float32Array[] | string {
  let array;
  try {
    array = decodeNpy(readFileSync(file), file);
  } catch (e) {
    return (e as Error).message;
  }
  const L = Model.sequenceLength(m);
  const shape = array.shape;
  const length = shape[shape.length - 1];
  if (length !== L) return `${m} sequences of ${length} samples; the encoder takes ${L} (the default harmonisation)`;
  const data = array.data instanceof Float32Array ? array.data : Float32Array.from(array.data as ArrayLike<number>);
  const out: Float32Array[] = [];
  for (let o = 0; o + L <= data.length; o += L) out.push(data.subarray(o, o + L));
  return out.length ? out : `${m} array is empty`;
}

/**
 * Assigns each subject group to a split by a seeded hash: deterministic for a seed, and everything of
 * a group (a publication's patients, a patient's records) lands in the same split.
 */
export function splitOf(group: string, seed: number, fractions: { validation: number; test: number }): Split {
  const u = hash32(`${seed}\u0000${group}`) / 4294967296;
  if (u < fractions.test) return 'test';
  if (u < fractions.test + fractions.validation) return 'validation';
  return 'train';
}

/** Every term id the data uses (observed, excluded, findings): those the vocabulary must contain. */
export function usedTerms(d: Dataset): Set<string> {
  const s = new Set<string>();
  for (const p of d.patients) for (const t of [...p.observed, ...p.excluded]) s.add(t);
  for (const r of d.records) if (r.finding) s.add(r.finding);
  return s;
}
