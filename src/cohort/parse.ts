import { readFileSync } from 'node:fs';
import { schemaFile } from '../sources/schemas.js';
import { extname } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { load as loadYaml, JSON_SCHEMA } from 'js-yaml';
import { documentProblem } from '../model/document.js';
import type { CohortDefinition } from './definition.js';
import { CohortDefinitionError, type DefinitionIssue } from './errors.js';


let validator: ValidateFunction | undefined;

/** The JSON Schema of the definition format, compiled once. */
export function cohortSchema(): object {
  return JSON.parse(readFileSync(schemaFile('cohort.schema.json'), 'utf8')) as object;
}

function compiled(): ValidateFunction {
  validator ??= new Ajv({ allErrors: true, strict: false, verbose: true }).compile(cohortSchema());
  return validator;
}

/**
 * Reads a definition from JSON or YAML text. YAML uses the JSON schema of YAML, so `no`, dates and
 * the like stay strings. `format` defaults to a guess from the first non-blank character.
 */
export function parseDefinitionText(text: string, format?: 'json' | 'yaml', source = 'definition'): unknown {
  // A byte order mark (editors on Windows write one) is not part of the document.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const asJson = format ? format === 'json' : /^\s*[{[]/.test(text);
  try {
    return asJson ? JSON.parse(text) : loadYaml(text, { schema: JSON_SCHEMA, filename: source });
  } catch (e) {
    throw new CohortDefinitionError([{ path: '', message: `${source} is not valid ${asJson ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}` }]);
  }
}

/** Reads a definition file: .yaml/.yml as YAML, anything else as JSON (or YAML when it does not look like JSON). */
export function readDefinitionFile(file: string): CohortDefinition {
  const ext = extname(file).toLowerCase();
  const format = ext === '.yaml' || ext === '.yml' ? 'yaml' : ext === '.json' ? 'json' : undefined;
  return validateDefinition(parseDefinitionText(readFileSync(file, 'utf8'), format, file));
}

/**
 * Checks a parsed document against the JSON Schema; the issues name the offending part. Depth, size
 * (YAML aliases expanded), cycles, non-finite numbers and lone surrogates are refused first: the
 * schema validator and the resolver recurse through the document.
 */
export function validateDefinition(doc: unknown): CohortDefinition {
  const bounds = documentProblem(doc);
  if (bounds) throw new CohortDefinitionError([{ path: bounds.path.map((k) => '/' + String(k).replace(/~/g, '~0').replace(/\//g, '~1')).join(''), message: bounds.reason }]);
  const validate = compiled();
  if (validate(doc)) return doc as CohortDefinition;
  throw new CohortDefinitionError(schemaIssues(validate.errors ?? []));
}

/**
 * Ajv reports every failed branch of a oneOf/anyOf; a user wants the deepest, most specific ones.
 * Errors at a path that is a prefix of another error's path are dropped, and duplicates merged.
 */
function schemaIssues(errors: ErrorObject[]): DefinitionIssue[] {
  const issues = errors.map((e) => ({ path: e.instancePath, message: describe(e) }));
  const deepest = issues.filter((i) => !issues.some((o) => o.path !== i.path && o.path.startsWith(i.path + '/')));
  const seen = new Set<string>();
  return deepest.filter((i) => {
    const key = i.path + '\u0000' + i.message;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return `unknown property "${String(p.additionalProperty)}"`;
    case 'required':
      return `missing required property "${String(p.missingProperty)}"`;
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'pattern':
      return `${JSON.stringify(truncate(e.data))} does not match ${String(p.pattern)}`;
    case 'maxProperties':
    case 'minProperties': {
      const keys = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      if (keys.includes('atLeast')) return `a criterion must have exactly one key (${keys.join(', ')})`;
      return keys.length ? `give ${e.keyword === 'maxProperties' ? 'only one' : 'one'} of: ${keys.join(', ')}` : e.message ?? e.keyword;
    }
    default:
      return e.message ?? e.keyword;
  }
}

function truncate(v: unknown): unknown {
  return typeof v === 'string' && v.length > 60 ? v.slice(0, 57) + '...' : v;
}
