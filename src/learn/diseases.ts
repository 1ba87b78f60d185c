import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeNpy, encodeNpy } from '../harmonize/npy.js';
import type { Ontology } from '../ontology/index.js';
import type { Hpoa } from '../retrieve/index.js';
import { DEFAULT_DIAGNOSIS_METHOD } from '../retrieve/index.js';
import { writeAtomic } from '../store/index.js';
import type { PatientData } from './data.js';
import { embedPatients } from './encode.js';
import type { Model } from './model.js';
import { Rng } from './random.js';

// Zero-shot disease ranking: each disease of phenotype.hpoa becomes pseudo-patients, phenotype sets
// drawn from its annotations the way patients with the disease show them (each annotated feature
// present with its annotated frequency, unknown = 1 as the lr ranking assumes; NOT annotations as
// excluded features), embedded like a phenotype-only patient and averaged. A query is ranked against
// the diseases by cosine. The vectors are cached beside the model, keyed by the annotation file.

/** Pseudo-patients drawn per disease (identical draws, e.g. all frequencies unknown, are embedded once). */
export const DISEASE_SAMPLES = 8;
/** Seed of the draws: fixed, so the cache is a function of the model and the annotations alone. */
const SAMPLE_SEED = 20250;
/** Frequency of an annotation without one: the same assumption as the likelihood-ratio ranking. */
const UNKNOWN_FREQUENCY = 1;

export interface DiseaseVectors {
  ids: string[];
  labels: string[];
  dim: number;
  /** [ids.length * dim], unit rows. */
  matrix: Float32Array;
  /** The cache files' stem (`<model dir>/diseases-<hash>`). */
  file: string;
  cached: boolean;
}

/** A pseudo-patient draw: observed terms (each kept with its frequency, at least one), NOT terms as excluded. */
export function drawDiseaseSet(terms: readonly { id: string; frequency?: number; excluded: boolean }[], rng: Rng, maxTerms: number): { observed: string[]; excluded: string[] } {
  const present = terms.filter((t) => !t.excluded);
  let observed = present.filter((t) => rng.next() < (t.frequency ?? UNKNOWN_FREQUENCY)).map((t) => t.id);
  if (!observed.length && present.length) {
    // Nobody has no feature at all: keep one, chosen in proportion to the frequencies.
    const weights = present.map((t) => Math.max(t.frequency ?? UNKNOWN_FREQUENCY, 1e-3));
    let u = rng.next() * weights.reduce((s, w) => s + w, 0);
    const i = weights.findIndex((w) => (u -= w) < 0);
    observed = [present[i < 0 ? present.length - 1 : i].id];
  }
  // The encoder takes at most maxTerms terms (observed first): a random subset, as in training.
  if (observed.length > maxTerms) observed = rng.sample(observed, maxTerms);
  return { observed, excluded: terms.filter((t) => t.excluded).map((t) => t.id) };
}

/** The diseases ranked: those with at least one known, non-excluded term (as the DiseaseModel keeps them). */
export function rankedDiseases(hpoa: Hpoa, ontology: Ontology | undefined): { id: string; label: string; terms: { id: string; frequency?: number; excluded: boolean }[] }[] {
  const known = (id: string) => !ontology || ontology.indexOf(id) >= 0;
  return [...hpoa.diseases.values()]
    .map((d) => ({ id: d.id, label: d.label, terms: d.terms.filter((t) => known(t.id)) }))
    .filter((d) => d.terms.some((t) => !t.excluded));
}

function annotationsHash(hpoa: Hpoa): string {
  const h = createHash('sha256');
  h.update(existsSync(hpoa.file) ? readFileSync(hpoa.file) : hpoa.file);
  h.update(`\u0000${DISEASE_SAMPLES}\u0000${SAMPLE_SEED}\u0000${UNKNOWN_FREQUENCY}`);
  return h.digest('hex').slice(0, 16);
}

/** Embeds every ranked disease (mean of its pseudo-patients' vectors, normalised). */
export function embedDiseases(model: Model, diseases: ReturnType<typeof rankedDiseases>, onProgress?: (done: number, total: number) => void): Float32Array {
  const D = model.config.dim;
  const rng = new Rng(SAMPLE_SEED);
  const patients: PatientData[] = [];
  const owner: number[] = [];
  diseases.forEach((d, di) => {
    const seen = new Set<string>();
    for (let s = 0; s < DISEASE_SAMPLES; s++) {
      const set = drawDiseaseSet(d.terms, rng, model.config.phenotype.maxTerms);
      const key = `${[...set.observed].sort().join(',')}|${set.excluded.join(',')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      patients.push({ id: `${di}#${s}`, iri: `urn:harmonia:disease:${di}#${s}`, group: d.id, ...set, records: [] });
      owner.push(di);
    }
  });
  const vectors = embedPatients(model, { patients, records: [], skipped: [] }, [], onProgress);
  const matrix = new Float32Array(diseases.length * D);
  patients.forEach((p, k) => {
    const v = vectors.get(p.id);
    if (!v) return;
    const o = owner[k] * D;
    for (let d = 0; d < D; d++) matrix[o + d] += v[d];
  });
  for (let i = 0; i < diseases.length; i++) {
    let n = 0;
    for (let d = 0; d < D; d++) n += matrix[i * D + d] ** 2;
    const s = 1 / (Math.sqrt(n) || 1);
    for (let d = 0; d < D; d++) matrix[i * D + d] *= s;
  }
  return matrix;
}

/**
 * The disease vectors of a model for these annotations, from `<model dir>/diseases-<hash>.npy` and
 * `.keys.json` when present, else embedded and saved there (`onProgress`: pseudo-patients embedded).
 */
export function diseaseVectors(
  model: Model, dir: string, hpoa: Hpoa, ontology: Ontology | undefined, log: (l: string) => void = () => undefined, onProgress?: (done: number, total: number) => void,
): DiseaseVectors {
  const diseases = rankedDiseases(hpoa, ontology);
  const file = join(dir, `diseases-${annotationsHash(hpoa)}`);
  const ids = diseases.map((d) => d.id);
  const labels = diseases.map((d) => d.label);
  const D = model.config.dim;
  if (existsSync(`${file}.npy`) && existsSync(`${file}.keys.json`)) {
    const keys = JSON.parse(readFileSync(`${file}.keys.json`, 'utf8')) as string[];
    const array = decodeNpy(readFileSync(`${file}.npy`), `${file}.npy`);
    if (keys.length === ids.length && keys.every((k, i) => k === ids[i]) && array.shape[1] === D) {
      return { ids, labels, dim: D, matrix: array.data as Float32Array, file, cached: true };
    }
  }
  const started = Date.now();
  const matrix = embedDiseases(model, diseases, onProgress);
  writeAtomic(`${file}.npy`, [encodeNpy({ data: matrix, shape: [ids.length, D] })]);
  writeAtomic(`${file}.keys.json`, [JSON.stringify(ids)]);
  log(`learn: embedded ${ids.length} disease profiles of ${hpoa.file} (${DISEASE_SAMPLES} draws each) in ${((Date.now() - started) / 1000).toFixed(1)} s; cached in ${file}.npy`);
  return { ids, labels, dim: D, matrix, file, cached: false };
}

/** The classical ranking hybrid disease ranking fuses with. */
export const CLASSICAL_DIAGNOSIS_METHOD = DEFAULT_DIAGNOSIS_METHOD;
