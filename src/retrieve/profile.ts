import { durationToYears, gestationalToYears } from '../harmonize/age.js';
import type { Ontology } from '../ontology/index.js';
import type { Phenopacket, TimeElement } from '../sources/phenopacket.js';
import { describeOrigin, readJsonDocuments } from '../sources/read.js';
import { onsetClasses, onsetTermForAge } from './onset.js';

/** A patient as retrieval sees it: normalised HPO ids plus the facts evaluation and MME need. */
export interface PatientProfile {
  id: string;
  /** Observed phenotypes (primary HPO ids, deduplicated). */
  observed: string[];
  /** Explicitly excluded phenotypes. */
  excluded: string[];
  /** Diagnoses as CURIEs (`OMIM:101600`). */
  diseases: string[];
  /** Gene symbols of the causal variants. */
  genes: string[];
  /** Publications the patient was described in (`PMID:123`). */
  publications: string[];
  /** Age of onset as an HPO onset term (`HP:0003577` congenital, ...): the disease's, else the earliest feature's. */
  onset?: string;
  /** Age in years at the last encounter. */
  age?: number;
}

/** Something that was wrong with an input but did not stop it from being used. */
export interface ProfileIssue {
  /** Where: a file (and entry/line) or `query`. */
  source: string;
  field: string;
  message: string;
}

export interface ProfileResult {
  profile: PatientProfile;
  issues: ProfileIssue[];
}

/**
 * Resolves HPO ids through the ontology (alt_id and replaced obsolete ids map to the primary);
 * unknown and obsolete-without-replacement ids are dropped and reported.
 */
export function normaliseTerms(ids: readonly string[], ontology: Ontology, source: string, field: string, issues: ProfileIssue[]): string[] {
  const out = new Set<string>();
  for (const raw of ids) {
    const r = ontology.resolve(raw);
    if (r.status === 'unknown' || r.status === 'obsolete') {
      issues.push({ source, field, message: `${r.status} HPO term '${raw}' ignored` });
      continue;
    }
    out.add(r.id);
  }
  return [...out];
}

const uniq = (xs: (string | undefined)[]): string[] => [...new Set(xs.filter((x): x is string => !!x && x.trim() !== '').map((x) => x.trim()))];

/** Builds a profile from a GA4GH Phenopacket v2 document. */
export function profileFromPhenopacket(pp: Phenopacket, ontology: Ontology, source = pp?.id ?? 'phenopacket'): ProfileResult {
  const issues: ProfileIssue[] = [];
  if (!pp || typeof pp !== 'object' || typeof pp.id !== 'string' || !pp.id) {
    throw new Error(`${source}: not a phenopacket (field id missing)`);
  }
  const features = Array.isArray(pp.phenotypicFeatures) ? pp.phenotypicFeatures : [];
  const ids = (excluded: boolean): string[] =>
    features.filter((f) => !!f?.type?.id && !!f.excluded === excluded).map((f) => f.type.id);
  const observed = normaliseTerms(ids(false), ontology, source, 'phenotypicFeatures.type.id', issues);
  // A term both observed and excluded (e.g. at different ages) counts as observed only.
  const excluded = normaliseTerms(ids(true), ontology, source, 'phenotypicFeatures.type.id', issues).filter((t) => !observed.includes(t));
  const diagnoses = (pp.interpretations ?? []).map((i) => i?.diagnosis);
  const diseases = uniq([...diagnoses.map((d) => d?.disease?.id), ...(pp.diseases ?? []).filter((d) => !d?.excluded).map((d) => d?.term?.id)]);
  const genes = uniq(
    diagnoses.flatMap((d) =>
      (d?.genomicInterpretations ?? []).map((g) => g?.variantInterpretation?.variationDescriptor?.geneContext?.symbol ?? g?.gene?.symbol),
    ),
  );
  const publications = uniq((pp.metaData?.externalReferences ?? []).map((r) => r?.id));
  const onset = earliestOnset((pp.diseases ?? []).filter((d) => !d?.excluded).map((d) => d?.onset), ontology)
    ?? earliestOnset(features.filter((f) => !f?.excluded).map((f) => f?.onset), ontology);
  const age = pp.subject?.timeAtLastEncounter ? years(pp.subject.timeAtLastEncounter) : undefined;
  return { profile: { id: pp.id, observed, excluded, diseases, genes, publications, ...(onset ? { onset } : {}), ...(age !== undefined ? { age } : {}) }, issues };
}

/** A time element in years (the start of a range; gestational ages are negative); undefined for terms and timestamps. */
function years(t: TimeElement): number | undefined {
  if (t.age?.iso8601duration) return durationToYears(t.age.iso8601duration);
  if (t.ageRange?.start?.age?.iso8601duration) return durationToYears(t.ageRange.start.age.iso8601duration);
  if (typeof t.gestationalAge?.weeks === 'number') return Math.min(-1e-4, gestationalToYears(t.gestationalAge.weeks, t.gestationalAge.days));
  return undefined;
}

/** The earliest onset among time elements, as an HPO onset term; undefined when none says anything. */
function earliestOnset(times: readonly (TimeElement | undefined)[], ontology: Ontology): string | undefined {
  let best: { term: string; rank: number } | undefined;
  for (const t of times) {
    if (!t || typeof t !== 'object') continue;
    const y = years(t);
    const term = t.ontologyClass?.id ? ontology.resolve(t.ontologyClass.id) : undefined;
    const id = term && term.status !== 'unknown' && term.status !== 'obsolete' ? term.id : y !== undefined ? onsetTermForAge(y) : undefined;
    const classes = id ? onsetClasses(ontology, id) : [];
    if (!id || !classes.length) continue;
    const rank = Math.min(...classes);
    if (!best || rank < best.rank) best = { term: id, rank };
  }
  return best?.term;
}

/** A query given as a list of HPO ids (`--hpo HP:x,HP:y`); `-` prefixed ids are excluded features. */
export function profileFromHpoList(ids: readonly string[], ontology: Ontology, id = 'query'): ProfileResult {
  const issues: ProfileIssue[] = [];
  const clean = ids.map((s) => s.trim()).filter(Boolean);
  const observed = normaliseTerms(clean.filter((s) => !s.startsWith('-')), ontology, id, 'hpo', issues);
  const excluded = normaliseTerms(clean.filter((s) => s.startsWith('-')).map((s) => s.slice(1)), ontology, id, 'hpo', issues);
  return { profile: { id, observed, excluded, diseases: [], genes: [], publications: [] }, issues };
}

/**
 * Reads phenopackets (file, directory, zip, jsonl) into profiles, one per document; unreadable
 * documents become issues naming the file/entry/line rather than stopping the read.
 */
export async function* readProfiles(paths: string[], ontology: Ontology): AsyncGenerator<ProfileResult | { error: ProfileIssue }> {
  for await (const rec of readJsonDocuments(paths)) {
    const source = describeOrigin(rec.origin);
    if (rec.error) {
      yield { error: { source, field: rec.error.path, message: rec.error.reason } };
      continue;
    }
    try {
      yield profileFromPhenopacket(rec.json as Phenopacket, ontology, source);
    } catch (e) {
      yield { error: { source, field: 'id', message: (e as Error).message } };
    }
  }
}

/** Reads all profiles into memory, collecting issues. */
export async function loadProfiles(paths: string[], ontology: Ontology): Promise<{ profiles: PatientProfile[]; issues: ProfileIssue[] }> {
  const profiles: PatientProfile[] = [];
  const issues: ProfileIssue[] = [];
  for await (const r of readProfiles(paths, ontology)) {
    if ('error' in r) issues.push(r.error);
    else {
      profiles.push(r.profile);
      issues.push(...r.issues);
    }
  }
  return { profiles, issues };
}
