import type { Phenopacket } from '../sources/phenopacket.js';
import { ENUMS, SCHEMA, type FieldSpec, type MessageSpec } from './phenopacket-schema.js';

export interface Problem {
  /** JSON path of the offending value, e.g. `$.phenotypicFeatures[3].type.id`. */
  path: string;
  reason: string;
}

/** Bounds on one record, each with a clear reason when crossed; the defaults suit any real phenopacket. */
export interface CheckLimits {
  /** Deepest nesting of arrays and objects (the Phenopacket v2 schema itself needs fewer than 20 levels). */
  maxDepth: number;
  /** Longest string value or field name, in UTF-16 code units. */
  maxStringLength: number;
  /** Problems listed per record; the rest are counted in one last problem. */
  maxProblems: number;
}

export const DEFAULT_CHECK_LIMITS: CheckLimits = { maxDepth: 64, maxStringLength: 1 << 20, maxProblems: 100 };

export interface CheckResult {
  /** Reasons to reject the record. */
  problems: Problem[];
  /** Accepted but worth saying: fields the Phenopacket v2 schema does not have (they are ignored). */
  notes: Problem[];
}

type Json = unknown;
type Bad = (path: string, reason: string) => void;
const isObj = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Structural check of a phenopacket before it is mapped: the fields the graph needs must be present
 * and of the right JSON type. Returns every problem found (not only the first), each with its JSON path.
 */
export function checkPhenopacket(json: Json, limits: Partial<CheckLimits> = {}): Problem[] {
  return checkPhenopacketRecord(json, limits).problems;
}

/**
 * The whole check: the Phenopacket v2 schema in the protobuf JSON mapping (types, enums, oneofs, the
 * limits), then what the graph needs (ids, ontology classes, ISO 8601 ages, VCF positions).
 *
 * Like a protobuf JSON parser it accepts proto field names (`phenotypic_features`) beside JSON names,
 * `null` as "not set", enum numbers beside names and numbers as strings; it rewrites the record in place
 * to the canonical form (JSON names, enum names, 32-bit integers and doubles as numbers, nulls removed),
 * so the mapper reads one form. Unlike one, it does not reject unknown fields: they are notes, and ignored.
 */
export function checkPhenopacketRecord(json: Json, limits: Partial<CheckLimits> = {}): CheckResult {
  const lim = { ...DEFAULT_CHECK_LIMITS, ...limits };
  if (!isObj(json)) return { problems: [{ path: '$', reason: `a phenopacket must be a JSON object, got ${jsonType(json)}` }], notes: [] };
  const schema: Problem[] = [];
  const notes: Problem[] = [];
  const walk = new SchemaWalk(lim, schema, notes);
  walk.message(json, SCHEMA.get('Phenopacket')!, '$', 1);
  const graph: Problem[] = [];
  checkGraphNeeds(json, (path, reason) => void graph.push({ path, reason }));
  // The graph's own reasons are the more specific; a schema problem at or below one of their paths adds nothing.
  const covered = (p: string): boolean => graph.some((g) => p === g.path || p.startsWith(g.path + '.') || p.startsWith(g.path + '['));
  const problems = [...graph, ...schema.filter((p) => !covered(p.path))];
  if (problems.length + walk.dropped > lim.maxProblems) {
    const more = problems.length + walk.dropped - lim.maxProblems;
    problems.length = lim.maxProblems;
    problems.push({ path: '$', reason: `... and ${more} more problems` });
  }
  return { problems, notes: notes.slice(0, lim.maxProblems) };
}

/** Walks a record along the schema, normalising it in place and collecting problems with their paths. */
class SchemaWalk {
  /** Problems counted but not kept, past a few times the number listed. */
  dropped = 0;

  constructor(
    private readonly limits: CheckLimits,
    private readonly problems: Problem[],
    private readonly notes: Problem[],
  ) {}

  private bad(path: string, reason: string): void {
    // Past the cap only the count matters; stop building messages for a record that is all wrong.
    if (this.problems.length <= this.limits.maxProblems * 4) this.problems.push({ path, reason });
    else this.dropped++;
  }

  message(obj: Record<string, Json>, spec: MessageSpec, path: string, depth: number): void {
    if (depth > this.limits.maxDepth) return this.bad(path, `nested deeper than ${this.limits.maxDepth} levels`);
    const setInOneof = new Map<string, string[]>();
    for (const key of Object.keys(obj)) {
      const field = spec.fields.get(key);
      if (key.length > this.limits.maxStringLength) {
        this.bad(path, `a field name of ${key.length} characters is longer than the limit of ${this.limits.maxStringLength}`);
        delete obj[key];
        continue;
      }
      if (!field) {
        this.notes.push({ path: child(path, key), reason: `unknown field (not in the Phenopacket v2 ${spec.name} message): ignored` });
        continue;
      }
      if (obj[key] === null) {
        delete obj[key]; // protobuf JSON: null means "not set"
        continue;
      }
      if (key !== field.json) {
        if (field.json in obj) {
          this.bad(child(path, field.json), `given twice, as ${field.json} and as ${key}`);
          continue;
        }
        obj[field.json] = obj[key];
        delete obj[key];
      }
      const p = child(path, field.json);
      if (field.oneof) setInOneof.set(field.oneof, [...(setInOneof.get(field.oneof) ?? []), field.json]);
      if (field.repeated) this.repeated(obj, field, p, depth);
      else obj[field.json] = this.value(obj[field.json], field.type, p, depth);
    }
    for (const [group, names] of setInOneof) {
      if (names.length > 1) this.bad(path, `${names.join(' and ')} are all set, but they are alternatives (oneof ${group}): keep one`);
    }
  }

  private repeated(obj: Record<string, Json>, field: FieldSpec, path: string, depth: number): void {
    const v = obj[field.json];
    if (!Array.isArray(v)) return this.bad(path, `must be an array of ${plural(field.type)}, got ${jsonType(v)}`);
    if (depth + 1 > this.limits.maxDepth) return this.bad(path, `nested deeper than ${this.limits.maxDepth} levels`);
    for (let i = 0; i < v.length; i++) {
      if (v[i] === null) this.bad(`${path}[${i}]`, `must be ${article(field.type)}, got null`);
      else v[i] = this.value(v[i], field.type, `${path}[${i}]`, depth + 1);
    }
  }

  /** Checks one value of a type; returns it in canonical form (the same value when nothing changes). */
  private value(v: Json, type: string, path: string, depth: number): Json {
    const message = SCHEMA.get(type);
    if (message) {
      if (!isObj(v)) this.bad(path, `must be an object (${type}), got ${jsonType(v)}`);
      else this.message(v, message, path, depth + 1);
      return v;
    }
    const names = ENUMS[type];
    if (names) return this.enumValue(v, names, path);
    switch (type) {
      case 'string':
        if (typeof v !== 'string') this.bad(path, `must be a string, got ${jsonType(v)}`);
        else this.text(v, path);
        return v;
      case 'bool':
        if (typeof v !== 'boolean') this.bad(path, `must be true or false, got ${jsonType(v)}`);
        return v;
      case 'int32':
        return this.integer(v, path, type, -(2n ** 31n), 2n ** 31n - 1n, true);
      case 'uint32':
        return this.integer(v, path, type, 0n, 2n ** 32n - 1n, true);
      case 'int64':
        return this.integer(v, path, type, -(2n ** 63n), 2n ** 63n - 1n, false);
      case 'uint64':
        return this.integer(v, path, type, 0n, 2n ** 64n - 1n, false);
      case 'double':
        return this.double(v, path);
      case 'timestamp':
        if (typeof v !== 'string' || !isTimestamp(v)) this.bad(path, `must be an RFC 3339 timestamp string such as "2021-05-14T10:35:00Z", got ${shown(v)}`);
        return v;
      case 'strmap':
        if (!isObj(v)) this.bad(path, `must be an object of string values, got ${jsonType(v)}`);
        else for (const [k, x] of Object.entries(v)) {
          if (typeof x !== 'string') this.bad(child(path, k), `must be a string, got ${jsonType(x)}`);
          else this.text(x, child(path, k));
        }
        return v;
      default:
        throw new Error(`phenopacket schema: no check for type ${type}`);
    }
  }

  private text(s: string, path: string): void {
    if (s.length > this.limits.maxStringLength) this.bad(path, `a string of ${s.length} characters is longer than the limit of ${this.limits.maxStringLength}`);
    else if (LONE_SURROGATE.test(s)) this.bad(path, 'contains an unpaired surrogate (not valid Unicode text)');
  }

  private enumValue(v: Json, names: readonly string[], path: string): Json {
    if (typeof v === 'string' && names.includes(v)) return v;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < names.length) return names[v];
    this.bad(path, `must be one of ${names.join(', ')}, got ${shown(v)}`);
    return v;
  }

  /** Protobuf JSON integers: a number or a decimal string; 32-bit ones become numbers, 64-bit ones stay as given. */
  private integer(v: Json, path: string, type: string, min: bigint, max: bigint, toNumber: boolean): Json {
    let n: bigint | undefined;
    if (typeof v === 'number' && Number.isInteger(v)) n = BigInt(v);
    else if (typeof v === 'string' && /^-?\d{1,30}$/.test(v)) n = BigInt(v);
    if (n === undefined) {
      this.bad(path, `must be an integer (${type}), got ${shown(v)}`);
      return v;
    }
    if (n < min || n > max) {
      this.bad(path, `must be an integer between ${min} and ${max} (${type}), got ${shown(v)}`);
      return v;
    }
    return toNumber ? Number(n) : v;
  }

  private double(v: Json, path: string): Json {
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v) && v.length < 400) return Number(v);
    if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return v;
    this.bad(path, `must be a number, got ${shown(v)}`);
    return v;
  }
}

/** Matches a UTF-16 surrogate that is not half of a pair (with the u flag, pairs are one code point). */
const LONE_SURROGATE = /\p{Cs}/u;

function isTimestamp(s: string): boolean {
  return /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s.replace(/(\.\d{3})\d+/, '$1')));
}

/** `$.a.b`, or `$.a["odd key"]` for a key that is not a plain name (shortened when long). */
function child(path: string, key: string): string {
  if (/^[A-Za-z_$][\w$]{0,80}$/.test(key)) return `${path}.${key}`;
  const k = key.length > 80 ? key.slice(0, 80) + '…' : key;
  return `${path}[${JSON.stringify(k)}]`;
}

function jsonType(v: Json): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function shown(v: Json): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 60) + '…' : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return jsonType(v);
}

const SCALAR_NAMES: Record<string, string> = { string: 'strings', bool: 'booleans', int32: 'integers', uint32: 'integers', int64: 'integers', uint64: 'integers', double: 'numbers', timestamp: 'timestamps' };
const plural = (type: string): string => SCALAR_NAMES[type] ?? (type in ENUMS ? `${type} names` : `${type} objects`);
const article = (type: string): string => (SCALAR_NAMES[type] ? `a ${type}` : type in ENUMS ? `a ${type} name` : `an object (${type})`);

/** What the graph needs beyond the schema: ids, ontology classes with ids, parseable ages and positions. */
function checkGraphNeeds(json: Record<string, Json>, bad: Bad): void {
  if (typeof json.id !== 'string' || !json.id.trim()) bad('$.id', 'missing or empty phenopacket id (a non-empty string is required)');
  const subject = json.subject;
  if (subject === undefined) bad('$.subject', 'missing subject (the individual the phenopacket describes)');
  else if (!isObj(subject)) bad('$.subject', 'subject must be an object');
  else {
    if (subject.id !== undefined && typeof subject.id !== 'string') bad('$.subject.id', 'must be a string');
    checkTime(subject.timeAtLastEncounter, '$.subject.timeAtLastEncounter', bad);
  }
  checkArray(json.phenotypicFeatures, '$.phenotypicFeatures', bad, (f, p) => checkFeature(f, p, bad));
  checkArray(json.diseases, '$.diseases', bad, (d, p) => {
    if (!isObj(d)) return bad(p, 'must be an object');
    checkClass(d.term, `${p}.term`, bad, true);
    if (d.excluded !== undefined && typeof d.excluded !== 'boolean') bad(`${p}.excluded`, 'must be true or false');
    checkTime(d.onset, `${p}.onset`, bad);
  });
  checkArray(json.interpretations, '$.interpretations', bad, (i, p) => {
    if (!isObj(i)) return bad(p, 'must be an object');
    const dx = i.diagnosis;
    if (dx === undefined) return;
    if (!isObj(dx)) return bad(`${p}.diagnosis`, 'must be an object');
    if (dx.disease !== undefined) checkClass(dx.disease, `${p}.diagnosis.disease`, bad, true);
    checkArray(dx.genomicInterpretations, `${p}.diagnosis.genomicInterpretations`, bad, (g, gp) => checkGenomic(g, gp, bad));
  });
  checkArray(json.biosamples, '$.biosamples', bad, (b, p) => {
    if (!isObj(b)) return bad(p, 'must be an object');
    checkArray(b.phenotypicFeatures, `${p}.phenotypicFeatures`, bad, (f, fp) => checkFeature(f, fp, bad));
  });
  checkArray(json.measurements, '$.measurements', bad, (m, p) => void (isObj(m) || bad(p, 'must be an object')));
  checkArray(json.files, '$.files', bad, (f, p) => void (isObj(f) || bad(p, 'must be an object')));
  if (json.metaData !== undefined) {
    if (!isObj(json.metaData)) bad('$.metaData', 'must be an object');
    else checkArray(json.metaData.externalReferences, '$.metaData.externalReferences', bad, (r, p) => void (isObj(r) || bad(p, 'must be an object')));
  }
}

function checkArray(v: Json, path: string, bad: Bad, each: (item: Json, path: string) => void): void {
  if (v === undefined) return;
  if (!Array.isArray(v)) return bad(path, `must be an array, got ${typeName(v)}`);
  v.forEach((item, i) => each(item, `${path}[${i}]`));
}

function checkClass(v: Json, path: string, bad: Bad, required: boolean): void {
  if (v === undefined) return required ? bad(path, 'missing ontology class {id, label}') : undefined;
  if (!isObj(v)) return bad(path, `must be an ontology class object {id, label}, got ${typeName(v)}`);
  if (typeof v.id !== 'string' || !v.id.trim()) bad(`${path}.id`, 'missing or non-string ontology class id');
  if (v.label !== undefined && typeof v.label !== 'string') bad(`${path}.label`, 'must be a string');
}

function checkFeature(f: Json, path: string, bad: Bad): void {
  if (!isObj(f)) return bad(path, 'must be an object');
  checkClass(f.type, `${path}.type`, bad, true);
  if (f.excluded !== undefined && typeof f.excluded !== 'boolean') bad(`${path}.excluded`, `must be true or false, got ${typeName(f.excluded)}`);
  if (f.severity !== undefined) checkClass(f.severity, `${path}.severity`, bad, false);
  checkArray(f.modifiers, `${path}.modifiers`, bad, (m, p) => checkClass(m, p, bad, true));
  checkTime(f.onset, `${path}.onset`, bad);
}

function checkTime(t: Json, path: string, bad: Bad): void {
  if (t === undefined) return;
  if (!isObj(t)) return bad(path, 'must be a time element object');
  if (t.age !== undefined) {
    const iso = isObj(t.age) ? t.age.iso8601duration : undefined;
    if (typeof iso !== 'string' || !/^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$/.test(iso))
      bad(`${path}.age.iso8601duration`, `not an ISO 8601 duration such as "P6Y3M": ${typeof iso === 'string' ? JSON.stringify(iso.slice(0, 60)) : typeName(iso)}`);
  }
  if (t.ontologyClass !== undefined) checkClass(t.ontologyClass, `${path}.ontologyClass`, bad, true);
}

function checkGenomic(g: Json, path: string, bad: Bad): void {
  if (!isObj(g)) return bad(path, 'must be an object');
  const vi = g.variantInterpretation;
  if (vi === undefined) return;
  if (!isObj(vi)) return bad(`${path}.variantInterpretation`, 'must be an object');
  const vd = vi.variationDescriptor;
  if (vd === undefined) return;
  if (!isObj(vd)) return bad(`${path}.variantInterpretation.variationDescriptor`, 'must be an object');
  const vp = `${path}.variantInterpretation.variationDescriptor`;
  checkArray(vd.expressions, `${vp}.expressions`, bad, (e, p) => {
    if (!isObj(e) || typeof e.syntax !== 'string' || typeof e.value !== 'string') bad(p, 'an expression needs string syntax and value');
  });
  const vcf = vd.vcfRecord;
  if (vcf !== undefined) {
    if (!isObj(vcf)) return bad(`${vp}.vcfRecord`, 'must be an object');
    const pos = vcf.pos;
    if (pos !== undefined && !((typeof pos === 'number' || typeof pos === 'string') && Number.isInteger(Number(pos)) && Number(pos) > 0))
      bad(`${vp}.vcfRecord.pos`, `must be a positive integer, got ${typeof pos === 'string' ? JSON.stringify(pos.slice(0, 60)) : typeName(pos)}`);
  }
}

function typeName(v: Json): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

/** Narrows after a clean check; the check above guarantees the fields the mapper reads. */
export function asPhenopacket(json: Json): Phenopacket {
  return json as Phenopacket;
}
