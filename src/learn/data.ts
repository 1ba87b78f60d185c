import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeNpy } from '../harmonize/npy.js';
import { HX, oboCurie, UMLS } from '../model/index.js';
import type { Ontology } from '../ontology/index.js';
import type { GraphStore } from '../store/index.js';
import type { ImagingConfig, ImagingModality, LearnConfig } from './config.js';
import { geneToken, variantToken, type VariantFacts, type VariantToken } from './genotype.js';
import { Model } from './model.js';
import { hash32 } from './random.js';

// What training and embedding read from a store: patients' phenotype sets (with their publication,
// the unit of splitting), and signal and imaging records with their harmonized arrays and findings.

export type SignalModality = 'ecg' | 'eeg';
/** Every record modality an encoder exists for. */
export type RecordModality = SignalModality | ImagingModality;
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
  /** The patient's variants (phenopacket interpretations, called variants of its VCF/MAF records) and genes named without one; loaded for the genomic encoder only. */
  variants?: VariantToken[];
}

export interface RecordData {
  iri: string;
  id: string;
  patient: string;
  modality: RecordModality;
  site?: string;
  /** The record's finding as an HPO CURIE (hx:finding), when it has one. */
  finding?: string;
  /**
   * Harmonized sequences: ECG windows (2,500 samples at 250 Hz), EEG epoch-channels (512 at 128 Hz);
   * for imaging one volume, C-order [z, y, x] at the encoder's input shape (resampled when loaded).
   */
  sequences: Float32Array[];
}

export interface Dataset {
  patients: PatientData[];
  records: RecordData[];
  /** Records left out and why (an array of another length than the encoder takes). */
  skipped: { record: string; reason: string }[];
}

const ARRAY_NAME: Record<RecordModality, string> = { ecg: 'windows', eeg: 'epochs', mri: 'volume', oct: 'bscans' };

/**
 * Reads patients and the records of `modalities` (arrays from `storeDir`, where their hx:path is
 * relative to). Imaging records are resampled to their encoder's input shape from `imaging`.
 */
export async function loadDataset(store: GraphStore, storeDir: string, modalities: readonly RecordModality[], imaging: LearnConfig['imaging'] = {}, genotypes = false): Promise<Dataset> {
  const patients = new Map<string, PatientData>();
  const patient = (iri: string, id: string) => {
    let p = patients.get(id);
    if (!p) patients.set(id, (p = { id, iri, group: `patient:${id}`, observed: [], excluded: [], records: [] }));
    return p;
  };
  const terms = await store.select(`SELECT ?p ?id ?c ?ex WHERE { ?p a <${HX}Patient> ; <${HX}id> ?id .
    { ?p <${HX}hasPhenotype> ?c BIND("o" AS ?ex) } UNION { ?p <${HX}excludedPhenotype> ?c BIND("x" AS ?ex) } }`);
  for (const r of terms) {
    const curie = termCurie(r.c!);
    if (!curie) continue;
    const p = patient(r.p!, r.id!);
    (r.ex === 'x' ? p.excluded : p.observed).push(curie);
  }
  const pubs = await store.select(`SELECT ?id (MIN(?c) AS ?pub) WHERE { ?p a <${HX}Patient> ; <${HX}id> ?id ; <${HX}publication> ?x . ?x <${HX}curie> ?c } GROUP BY ?id`);
  for (const r of pubs) {
    const p = patients.get(r.id!);
    if (p && r.pub) p.group = r.pub;
  }
  if (genotypes) {
    for (const [id, tokens] of await loadGenotypes(store)) {
      const p = patients.get(id);
      if (p) p.variants = tokens;
    }
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
      const m = r.mod as RecordModality;
      if (r.name !== ARRAY_NAME[m] || seen.has(r.rid!)) continue;
      seen.add(r.rid!);
      const pid = r.pid ?? r.rid!.split('/')[0];
      const file = join(storeDir, r.path!);
      const sequences = m === 'mri' || m === 'oct' ? readVolume(file, m, imaging[m]) : readSequences(file, m);
      if (typeof sequences === 'string') {
        skipped.push({ record: r.rid!, reason: sequences });
        continue;
      }
      const finding = r.finding ? termCurie(r.finding) : undefined;
      patient(r.p!, pid).records.push(records.length);
      records.push({ iri: r.r!, id: r.rid!, patient: pid, modality: m, site: r.site, finding, sequences });
    }
  }
  return { patients: [...patients.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)), records, skipped };
}

const VARIANT_FACTS: [keyof VariantFacts, string][] = [
  ['acmgClass', 'acmgClass'], ['clinvar', 'clinvarSignificance'], ['zygosity', 'zygosity'], ['allelicState', 'allelicState'],
  ['genotype', 'genotype'], ['consequence', 'consequence'], ['hgvsP', 'hgvsP'], ['hgvsC', 'hgvsC'],
];

/**
 * Every patient's genotype tokens, in a stable order: its variants (hx:hasVariant, from phenopackets
 * and from its VCF/MAF records) with a gene, then genes it is linked to (hx:hasGene) that none of
 * its variants names.
 */
export async function loadGenotypes(store: GraphStore): Promise<Map<string, VariantToken[]>> {
  const optional = VARIANT_FACTS.map(([k, p]) => `OPTIONAL { ?v <${HX}${p}> ?${k} }`).join(' ');
  const rows = await store.select(`SELECT ?id ?v ?gene ${VARIANT_FACTS.map(([k]) => `?${k}`).join(' ')} WHERE {
    ?p a <${HX}Patient> ; <${HX}id> ?id ; <${HX}hasVariant> ?v . ?v <${HX}gene> ?g . ?g <${HX}symbol> ?gene . ${optional} } ORDER BY ?id ?v`);
  const facts = new Map<string, Map<string, VariantFacts>>();
  for (const r of rows) {
    let own = facts.get(r.id!);
    if (!own) facts.set(r.id!, (own = new Map()));
    // A variant with several values of a fact (two HGVS strings) comes back in several rows: the first wins.
    const f = own.get(r.v!) ?? { gene: r.gene };
    for (const [k] of VARIANT_FACTS) if (r[k] !== undefined && f[k] === undefined) f[k] = r[k];
    own.set(r.v!, f);
  }
  const out = new Map<string, VariantToken[]>();
  for (const [id, own] of facts) out.set(id, [...own.values()].map(variantToken).filter((t): t is VariantToken => t !== undefined));
  const genes = await store.select(`SELECT DISTINCT ?id ?gene WHERE { ?p a <${HX}Patient> ; <${HX}id> ?id ; <${HX}hasGene> ?g . ?g <${HX}symbol> ?gene } ORDER BY ?id ?gene`);
  for (const r of genes) {
    const list = out.get(r.id!) ?? [];
    const t = geneToken(r.gene!);
    if (!list.some((v) => v.gene === t.gene)) list.push(t);
    out.set(r.id!, list);
  }
  return out;
}

/** One imaging record's volume at the encoder's input shape (trilinearly resampled when it differs), or why it cannot be used. */
function readVolume(file: string, m: ImagingModality, config: ImagingConfig | undefined): Float32Array[] | string {
  let array;
  try {
    array = decodeNpy(readFileSync(file), file);
  } catch (e) {
    return (e as Error).message;
  }
  if (array.shape.length !== 3 || array.shape.some((n) => n < 1)) return `${m} array of shape ${array.shape.join('x')}; the encoder takes a 3D volume`;
  const data = array.data instanceof Float32Array ? array.data : Float32Array.from(array.data as ArrayLike<number>);
  for (let i = 0; i < data.length; i++) if (data[i] - data[i] !== 0) return `${m} volume has a non-finite voxel at ${i}`;
  const shape = array.shape as [number, number, number];
  return [config ? resampleVolume(data, shape, config.shape) : data];
}

/**
 * Trilinear resampling of a C-order [z, y, x] volume onto `to`, corners aligned (voxel 0 and the
 * last voxel of each axis keep their places): the whole field of view is kept, each axis scaled on
 * its own. A volume already of that shape is returned as it is.
 */
export function resampleVolume(data: Float32Array, from: readonly number[], to: readonly number[]): Float32Array {
  if (from.every((n, i) => n === to[i])) return data;
  const axis = (nIn: number, nOut: number) => {
    const lo = new Int32Array(nOut);
    const w = new Float32Array(nOut);
    for (let i = 0; i < nOut; i++) {
      const x = nOut > 1 ? (i * (nIn - 1)) / (nOut - 1) : (nIn - 1) / 2;
      lo[i] = Math.min(Math.floor(x), Math.max(0, nIn - 2));
      w[i] = nIn > 1 ? x - lo[i] : 0;
    }
    return { lo, w, step: nIn > 1 ? 1 : 0 };
  };
  const [Z, Y, X] = from;
  const az = axis(Z, to[0]);
  const ay = axis(Y, to[1]);
  const ax = axis(X, to[2]);
  const out = new Float32Array(to[0] * to[1] * to[2]);
  const at = (z: number, y: number, x: number) => data[(z * Y + y) * X + x];
  let o = 0;
  for (let k = 0; k < to[0]; k++) {
    const z0 = az.lo[k], z1 = z0 + az.step, wz = az.w[k];
    for (let j = 0; j < to[1]; j++) {
      const y0 = ay.lo[j], y1 = y0 + ay.step, wy = ay.w[j];
      for (let i = 0; i < to[2]; i++) {
        const x0 = ax.lo[i], x1 = x0 + ax.step, wx = ax.w[i];
        const c00 = at(z0, y0, x0) * (1 - wx) + at(z0, y0, x1) * wx;
        const c01 = at(z0, y1, x0) * (1 - wx) + at(z0, y1, x1) * wx;
        const c10 = at(z1, y0, x0) * (1 - wx) + at(z1, y0, x1) * wx;
        const c11 = at(z1, y1, x0) * (1 - wx) + at(z1, y1, x1) * wx;
        out[o++] = (c00 * (1 - wy) + c01 * wy) * (1 - wz) + (c10 * (1 - wy) + c11 * wy) * wz;
      }
    }
  }
  return out;
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

/** An HPO (OBO) class IRI as its CURIE, a UMLS concept IRI as `UMLS:C…`. */
function termCurie(iri: string): string | undefined {
  return oboCurie(iri) ?? (iri.startsWith(UMLS) ? `UMLS:${iri.slice(UMLS.length)}` : undefined);
}

/**
 * UMLS synonyms mapped to the same terms: every UMLS CUI the data uses (a phenotype or a record
 * finding coded in UMLS) is replaced by the HPO terms the ontology maps it to (its xrefs and SSSOM
 * mappings), so it reads the same embedding row as the HPO term; a CUI with no mapping is left out
 * and reported. Changes the dataset in place.
 */
export function mapUmlsTerms(d: Dataset, ontology: Ontology | undefined): { mapped: number; unmapped: string[] } {
  const unmapped = new Set<string>();
  let mapped = 0;
  const map = (id: string): string[] => {
    const cui = /^UMLS:(C\d{7})$/.exec(id);
    if (!cui) return [id];
    const terms = ontology ? ontology.byUmls(cui[1]).filter((t) => ontology.has(t)) : [];
    if (!terms.length) unmapped.add(id);
    else mapped++;
    return terms;
  };
  const mapAll = (ids: string[]) => [...new Set(ids.flatMap(map))];
  for (const p of d.patients) {
    p.observed = mapAll(p.observed);
    p.excluded = mapAll(p.excluded);
  }
  for (const r of d.records) if (r.finding) r.finding = map(r.finding)[0];
  return { mapped, unmapped: [...unmapped].sort() };
}

/** Every term id the data uses (observed, excluded, findings): those the vocabulary must contain. */
export function usedTerms(d: Dataset): Set<string> {
  const s = new Set<string>();
  for (const p of d.patients) for (const t of [...p.observed, ...p.excluded]) s.add(t);
  for (const r of d.records) if (r.finding) s.add(r.finding);
  return s;
}
