import { readFileSync } from 'node:fs';
import { schemaFile } from '../sources/schemas.js';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Ontology } from '../ontology/index.js';
import { normaliseTerms, type PatientProfile, type ProfileIssue } from './profile.js';

// Matchmaker Exchange API v1.1, POST /match, as pure functions: validate a request against a
// JSON Schema (our own, schemas/mme-v1.1.schema.json, unless another is given), negotiate the
// media type, turn the request into a profile, turn ranked patients into a response.

/** The newest API version served; answers to requests of an unknown 1.x minor version use it. */
export const MME_CONTENT_TYPE = 'application/vnd.ga4gh.matchmaker.v1.1+json';
/** Versions whose media type a response can carry (v1.1 only added optional fields to v1.0). */
export const MME_VERSIONS = ['1.0', '1.1'] as const;

export interface MmeContact {
  name: string;
  href: string;
  institution?: string;
  email?: string;
  roles?: ('clinician' | 'researcher' | 'patient')[];
}

export interface MmeFeature {
  id: string;
  label?: string;
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
  sex?: 'FEMALE' | 'MALE' | 'OTHER' | 'MIXED_SAMPLE' | 'NOT_APPLICABLE';
  ageOfOnset?: string;
  inheritanceMode?: string;
  disorders?: { id: string; label?: string }[];
  features?: MmeFeature[];
  genomicFeatures?: MmeGenomicFeature[];
  test?: boolean;
}

export interface MmeRequest {
  disclaimer?: string;
  terms?: string;
  patient: MmePatient;
}

export interface MmeResponse {
  disclaimer?: string;
  terms?: string;
  results: { score: { patient: number }; patient: MmePatient }[];
}

export type MmeValidation<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Compiled validators for a schema's request and response definitions. The default is our own
 * draft-07 schema; the official reference-server schema declares draft-04, which Ajv 8 does not
 * load, but it uses no keyword whose meaning changed after draft-04 (no `id`, no boolean
 * exclusiveMinimum/Maximum), so any schema is compiled unchanged apart from the `$schema` line.
 * The `uri` format is checked with the WHATWG URL parser.
 */
export class MmeSchema {
  readonly request: ValidateFunction;
  readonly response: ValidateFunction;

  constructor(schema: Record<string, unknown>) {
    const { $schema: _draft, ...body } = schema;
    const ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addFormat('uri', { type: 'string', validate: (s: string) => URL.canParse(s) && /^[a-z][a-z0-9+.-]*:/i.test(s) });
    ajv.addFormat('email', { type: 'string', validate: (s: string) => /^[^\s@]+@[^\s@]+$/.test(s) });
    ajv.addSchema(body, 'mme');
    const request = ajv.getSchema('mme#/definitions/request');
    const response = ajv.getSchema('mme#/definitions/response');
    if (!request || !response) throw new Error('MME schema lacks definitions.request or definitions.response');
    this.request = request;
    this.response = response;
  }

  static load(file: string): MmeSchema {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`${file}: cannot read MME schema: ${(e as Error).message}`);
    }
    try {
      return new MmeSchema(json as Record<string, unknown>);
    } catch (e) {
      throw new Error(`${file}: not a usable MME schema: ${(e as Error).message}`);
    }
  }

  /** Our schema of MME API v1.1 (schemas/mme-v1.1.schema.json), compiled once. */
  static default(): MmeSchema {
    defaultSchema ??= MmeSchema.load(schemaFile('mme-v1.1.schema.json'));
    return defaultSchema;
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

let defaultSchema: MmeSchema | undefined;


// "At least one of features and genomicFeatures": the official schema says it with `not`, ours
// with an anyOf in definitions.featuresOrGenomicFeatures whose branch errors would only confuse.
const AT_LEAST_ONE = 'needs at least one feature or genomicFeature';

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  if (!errors?.length) return 'invalid';
  const messages = errors.flatMap((e) => {
    const alternatives = e.schemaPath.includes('/featuresOrGenomicFeatures/');
    if (alternatives && e.keyword !== 'anyOf') return [];
    if (alternatives || (e.keyword === 'not' && e.instancePath.endsWith('/patient'))) return [`${e.instancePath}: ${AT_LEAST_ONE}`];
    const allowed = e.keyword === 'enum' ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})` : '';
    return [`${e.instancePath || '/'}: ${e.message ?? e.keyword}${allowed}`];
  });
  return [...new Set(messages)].join('; ');
}

/** The version of an MME media type (`application/vnd.ga4gh.matchmaker.vX.Y+json`, parameters allowed). */
export function mmeVersion(header: string | undefined): { major: number; minor: number } | undefined {
  const m = /^application\/vnd\.ga4gh\.matchmaker\.v(\d+)\.(\d+)\+json$/.exec(header?.split(';')[0].trim().toLowerCase() ?? '');
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

/** The MME media type of a version. */
export function mmeMediaType(version: string): string {
  return `application/vnd.ga4gh.matchmaker.v${version}+json`;
}

/** Is a Content-Type header an MME media type this server answers (any 1.x; minor versions are compatible)? */
export function isMmeContentType(header: string | undefined): boolean {
  return mmeVersion(header)?.major === 1;
}

export type MmeNegotiation =
  | { ok: true; responseType: string }
  | { ok: false; status: 406 | 415; error: string; supportedVersions?: string[] };

/**
 * The API's versioning rule, applied to a request's Content-Type: a 1.x request is answered in
 * its own version when we know it (1.0, 1.1), else in ours (1.1); another major version is 406,
 * anything that is not an MME media type 415.
 */
export function negotiateMme(contentType: string | undefined): MmeNegotiation {
  const v = mmeVersion(contentType);
  if (!v) return { ok: false, status: 415, error: `content type must be ${mmeMediaType('1.1')} or ${mmeMediaType('1.0')}, got ${contentType ?? 'none'}` };
  if (v.major !== 1) return { ok: false, status: 406, error: `unsupported API version ${v.major}.${v.minor}`, supportedVersions: [...MME_VERSIONS] };
  const asked = `${v.major}.${v.minor}`;
  return { ok: true, responseType: (MME_VERSIONS as readonly string[]).includes(asked) ? mmeMediaType(asked) : MME_CONTENT_TYPE };
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
