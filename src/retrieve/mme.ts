import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Ontology } from '../ontology/index.js';
import { normaliseTerms, type PatientProfile, type ProfileIssue } from './profile.js';

// Matchmaker Exchange API v1.1, POST /match, as pure functions: validate a request against the
// official JSON Schema, turn it into a profile, turn ranked patients into a response.

export const MME_CONTENT_TYPE = 'application/vnd.ga4gh.matchmaker.v1.1+json';

export interface MmeContact {
  name: string;
  href: string;
  institution?: string;
}

export interface MmeFeature {
  id: string;
  observed?: 'yes' | 'no';
  ageOfOnset?: string;
}

export interface MmeGenomicFeature {
  gene: { id: string };
  [key: string]: unknown;
}

export interface MmePatient {
  id: string;
  label?: string;
  contact: MmeContact;
  species?: string;
  gender?: string;
  disorders?: { id: string }[];
  features?: MmeFeature[];
  genomicFeatures?: MmeGenomicFeature[];
  test?: boolean;
}

export interface MmeRequest {
  patient: MmePatient;
}

export interface MmeResponse {
  results: { score: { patient: number }; patient: MmePatient }[];
}

export type MmeValidation<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Compiled validators for the schema's request and response definitions. The official schema
 * declares draft-04, which Ajv 8 does not load; it uses no keyword whose meaning changed after
 * draft-04 (no `id`, no boolean exclusiveMinimum/Maximum), so it is compiled unchanged apart from
 * the `$schema` line. The `uri` format is checked with the WHATWG URL parser.
 */
export class MmeSchema {
  readonly request: ValidateFunction;
  readonly response: ValidateFunction;

  constructor(schema: Record<string, unknown>) {
    const { $schema: _draft, ...body } = schema;
    const ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addFormat('uri', { type: 'string', validate: (s: string) => URL.canParse(s) && /^[a-z][a-z0-9+.-]*:/i.test(s) });
    ajv.addSchema(body, 'mme');
    this.request = ajv.getSchema('mme#/definitions/request')!;
    this.response = ajv.getSchema('mme#/definitions/response')!;
    if (!this.request || !this.response) throw new Error('MME schema lacks definitions.request or definitions.response');
  }

  static load(file: string): MmeSchema {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`${file}: cannot read MME schema: ${(e as Error).message}`);
    }
    return new MmeSchema(json as Record<string, unknown>);
  }

  validateRequest(body: unknown): MmeValidation<MmeRequest> {
    if (this.request(body)) return { ok: true, value: body as MmeRequest };
    return { ok: false, reason: describeErrors(this.request.errors) };
  }

  validateResponse(body: unknown): MmeValidation<MmeResponse> {
    if (this.response(body)) return { ok: true, value: body as MmeResponse };
    return { ok: false, reason: describeErrors(this.response.errors) };
  }
}

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  if (!errors?.length) return 'invalid';
  // The schema's `not` clause is how it says "at least one of features and genomicFeatures".
  const messages = errors.map((e) =>
    e.keyword === 'not' && e.instancePath.endsWith('/patient')
      ? `${e.instancePath}: needs at least one feature or genomicFeature`
      : `${e.instancePath || '/'}: ${e.message ?? e.keyword}${e.keyword === 'enum' ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})` : ''}`,
  );
  return [...new Set(messages)].join('; ');
}

/** Is a Content-Type header the MME v1.1 media type (parameters like charset allowed)? */
export function isMmeContentType(header: string | undefined): boolean {
  return !!header && header.split(';')[0].trim().toLowerCase() === MME_CONTENT_TYPE;
}

/** A validated request's patient as a profile; features without `observed` count as observed. */
export function profileFromMmeRequest(request: MmeRequest, ontology: Ontology): { profile: PatientProfile; issues: ProfileIssue[] } {
  const p = request.patient;
  const issues: ProfileIssue[] = [];
  const features = p.features ?? [];
  const observed = normaliseTerms(features.filter((f) => f.observed !== 'no').map((f) => f.id), ontology, p.id, 'patient.features', issues);
  const excluded = normaliseTerms(features.filter((f) => f.observed === 'no').map((f) => f.id), ontology, p.id, 'patient.features', issues);
  const genes = [...new Set((p.genomicFeatures ?? []).map((g) => g.gene.id))];
  const diseases = (p.disorders ?? []).map((d) => d.id.replace(/^MIM:/, 'OMIM:').replace(/^Orphanet:/, 'ORPHA:'));
  return { profile: { id: p.id, observed, excluded, diseases, genes, publications: [] }, issues };
}

/** A profile as an MME patient (the contact comes from configuration). */
export function mmePatient(profile: PatientProfile, contact: MmeContact): MmePatient {
  const disorders = profile.diseases
    .map((d) => d.replace(/^OMIM:/, 'MIM:').replace(/^ORPHA:/, 'Orphanet:'))
    .filter((d) => /^(MIM:|Orphanet:)\d{1,6}$/.test(d))
    .map((id) => ({ id }));
  const patient: MmePatient = {
    id: profile.id.slice(0, 255),
    contact: { ...contact },
    species: 'NCBITaxon:9606',
    features: [
      ...profile.observed.map((id) => ({ id, observed: 'yes' as const })),
      ...profile.excluded.map((id) => ({ id, observed: 'no' as const })),
    ],
    genomicFeatures: profile.genes.map((id) => ({ gene: { id } })),
  };
  if (disorders.length) patient.disorders = disorders;
  return patient;
}

/** Ranked patients (scores normalised to 0..1) as an MME response body. */
export function mmeResponse(results: { profile: PatientProfile; score: number }[], contact: MmeContact): MmeResponse {
  return { results: results.map((r) => ({ score: { patient: r.score }, patient: mmePatient(r.profile, contact) })) };
}
