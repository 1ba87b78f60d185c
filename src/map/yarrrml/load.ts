import { readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { FAILSAFE_SCHEMA, load } from 'js-yaml';
import { documentProblem } from '../../model/document.js';
import { PREFIXES, RDF, XSD } from '../../model/namespaces.js';
import { FUNCTIONS, GREL, HXF, IDLAB_FN, SHORT_FUNCTIONS, localName } from './functions.js';
import { parseJsonPath, parseReference } from './jsonpath.js';
import type { Expr, FunctionCall, JoinMap, Mapping, Part, PredicateObjectMap, SourceDef, TermMap, TriplesMap } from './model.js';
import { MappingError } from './model.js';
import { constantText, isConstant, parseTemplate, references } from './template.js';

// Parses a YARRRML document into the normalised model and rejects what we cannot run, with the
// mapping file, the mapping and the field in every message. Unknown keys are errors rather than
// silently ignored, so an unsupported YARRRML feature never quietly drops data.

type Y = unknown;
type Obj = Record<string, Y>;

/** Prefixes every mapping may use without declaring them (a mapping's own `prefixes` win). */
export const DEFAULT_PREFIXES: Record<string, string> = {
  ...PREFIXES,
  rdf: RDF,
  xsd: XSD,
  grel: GREL,
  'idlab-fn': IDLAB_FN,
  hxf: HXF,
};

const TOP_KEYS = ['prefixes', 'base', 'sources', 'mappings', 'authors'];
const MAPPING_KEYS = ['sources', 'source', 's', 'subject', 'subjects', 'po', 'predicateobjects', 'graphs', 'graph', 'g', 'condition', 'conditions'];
const PO_KEYS = ['p', 'predicates', 'predicate', 'o', 'objects', 'object', 'graphs', 'graph', 'g', 'condition', 'conditions'];
const TERM_KEYS = ['value', 'function', 'parameters', 'type', 'datatype', 'language'];
const SOURCE_KEYS = ['access', 'referenceFormulation', 'iterator', 'delimiter'];
const SCHEME = /^([A-Za-z][\w.+-]*):/;
const ABSOLUTE_SCHEMES = new Set(['http', 'https', 'urn', 'mailto', 'tag', 'file', 'ftp']);

const isObj = (y: Y): y is Obj => typeof y === 'object' && y !== null && !Array.isArray(y);
const asList = (y: Y): Y[] => (y === undefined || y === '' ? [] : Array.isArray(y) ? y : [y]);
const pick = (o: Obj, ...keys: string[]): Y => keys.map((k) => o[k]).find((v) => v !== undefined);
/** A table's own entry: a name from the mapping must never reach Object.prototype (`toString`, `__proto__`). */
const own = <T>(table: Record<string, T>, name: string): T | undefined => (Object.hasOwn(table, name) ? table[name] : undefined);

/** Reads, parses and validates a mapping file; throws MappingError naming the file and the field. */
export function loadMapping(file: string): Mapping {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new MappingError(file, '', `cannot read mapping file: ${(e as Error).message}`);
  }
  let doc: Y;
  try {
    doc = load(text, { schema: FAILSAFE_SCHEMA, filename: file });
  } catch (e) {
    throw new MappingError(file, '', `not valid YAML: ${(e as Error).message}`);
  }
  // The loader recurses through the document: depth, aliases of aliases and cycles are refused first.
  const bounds = documentProblem(doc);
  if (bounds) throw new MappingError(file, bounds.path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i ? `.${k}` : k)).join(''), bounds.reason);
  return new Loader(file).document(doc);
}

class Loader {
  // Without a prototype: a prefix or source called `constructor` or `__proto__` is just a name.
  private prefixes: Record<string, string> = Object.assign(Object.create(null), DEFAULT_PREFIXES);
  private base?: string;
  private sources: Record<string, SourceDef> = Object.create(null);

  constructor(private readonly file: string) {}

  private fail(where: string, reason: string): MappingError {
    return new MappingError(this.file, where, reason);
  }

  document(doc: Y): Mapping {
    if (!isObj(doc)) throw this.fail('', 'a mapping file is a YAML map with `prefixes`, `sources` and `mappings`');
    this.checkKeys(doc, TOP_KEYS, '');
    this.readPrefixes(doc.prefixes);
    if (doc.base !== undefined) this.base = this.constIri(this.str(doc.base, 'base'), 'base');
    if (doc.sources !== undefined) this.readSources(doc.sources);
    if (!isObj(doc.mappings) || Object.keys(doc.mappings).length === 0) throw this.fail('mappings', 'at least one mapping is required');
    const mappings = Object.entries(doc.mappings).map(([name, m]) => this.triplesMap(name, m));
    const mapping: Mapping = { file: this.file, base: this.base, prefixes: this.prefixes, sources: this.sources, mappings };
    checkJoins(mapping);
    checkJsonReferences(mapping);
    return mapping;
  }

  private checkKeys(o: Obj, allowed: string[], where: string): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) throw this.fail(where, `unsupported key '${k}' (supported: ${allowed.join(', ')})`);
    }
  }

  private str(y: Y, where: string): string {
    if (typeof y !== 'string') throw this.fail(where, 'expected a text value');
    return y;
  }

  private readPrefixes(y: Y): void {
    if (y === undefined) return;
    if (!isObj(y)) throw this.fail('prefixes', 'expected a map of prefix: IRI');
    for (const [p, iri] of Object.entries(y)) this.prefixes[p] = this.str(iri, `prefixes.${p}`);
  }

  // ---- sources ----

  private readSources(y: Y): void {
    if (!isObj(y)) throw this.fail('sources', 'expected a map of source name: definition');
    for (const [name, def] of Object.entries(y)) this.sources[name] = this.source(name, def, `sources.${name}`);
  }

  /** `{access, referenceFormulation, iterator, delimiter}`, `[access~csv]` or `[access~jsonpath, iterator]`. */
  private source(name: string, y: Y, where: string): SourceDef {
    let access: string;
    let formulation: string | undefined;
    let iterator: string | undefined;
    let delimiter: string | undefined;
    if (isObj(y)) {
      this.checkKeys(y, SOURCE_KEYS, where);
      access = this.str(y.access, `${where}.access`);
      formulation = y.referenceFormulation === undefined ? undefined : this.str(y.referenceFormulation, `${where}.referenceFormulation`);
      iterator = y.iterator === undefined ? undefined : this.str(y.iterator, `${where}.iterator`);
      delimiter = y.delimiter === undefined ? undefined : this.str(y.delimiter, `${where}.delimiter`);
    } else {
      const [spec, it, ...rest] = asList(y).map((v, i) => this.str(v, `${where}[${i}]`));
      if (!spec || rest.length) throw this.fail(where, 'expected [access~formulation] or [access~jsonpath, iterator]');
      const tilde = spec.lastIndexOf('~');
      access = tilde > 0 ? spec.slice(0, tilde) : spec;
      formulation = tilde > 0 ? spec.slice(tilde + 1) : undefined;
      iterator = it;
    }
    if (!access) throw this.fail(`${where}.access`, 'a source needs a file path');
    const f = this.formulation(formulation, access, where);
    if (delimiter === 'tab' || delimiter === '\\t') delimiter = '\t';
    if (delimiter !== undefined && delimiter.length !== 1) throw this.fail(`${where}.delimiter`, 'a delimiter is one character (or `tab`)');
    if (f.formulation === 'jsonpath') {
      try {
        parseJsonPath(iterator ?? '$');
      } catch (e) {
        throw this.fail(`${where}.iterator`, (e as Error).message);
      }
    }
    return {
      name,
      access: resolve(dirname(this.file), access),
      formulation: f.formulation,
      delimiter: delimiter ?? f.delimiter,
      iterator: iterator ?? '$',
    };
  }

  private formulation(rf: string | undefined, access: string, where: string): { formulation: 'csv' | 'jsonpath'; delimiter: string } {
    const name = (rf ?? extname(access).slice(1)).toLowerCase().replace(/^ql:/, '');
    if (name === 'csv') return { formulation: 'csv', delimiter: ',' };
    if (name === 'tsv') return { formulation: 'csv', delimiter: '\t' };
    if (['jsonpath', 'json', 'jsonl', 'ndjson'].includes(name)) return { formulation: 'jsonpath', delimiter: ',' };
    throw this.fail(`${where}.referenceFormulation`, `unsupported reference formulation '${rf ?? name}' (supported: csv, tsv, jsonpath)`);
  }

  // ---- mappings ----

  private triplesMap(name: string, y: Y): TriplesMap {
    const where = `mapping '${name}'`;
    if (!isObj(y)) throw this.fail(where, 'expected a map with sources, s and po');
    this.checkKeys(y, MAPPING_KEYS, where);
    const sources = this.mappingSources(name, pick(y, 'sources', 'source'), where);
    const s = asList(pick(y, 's', 'subject', 'subjects'));
    if (s.length !== 1) throw this.fail(`${where}, s`, 'exactly one subject (s) is required');
    const at = (field: string): string => `${where}, ${field}`;
    return {
      name,
      sources,
      subject: this.termMap(s[0], 'iri', at('s')),
      graphs: asList(pick(y, 'graphs', 'graph', 'g')).map((g, i) => this.termMap(g, 'iri', at(`graphs[${i}]`))),
      conditions: this.conditions(pick(y, 'condition', 'conditions'), at('condition')),
      po: asList(pick(y, 'po', 'predicateobjects')).map((po, i) => this.predicateObject(po, at(`po[${i}]`))),
    };
  }

  /** Named sources, or inline ones (registered under the mapping's name so they can be overridden too). */
  private mappingSources(mapping: string, y: Y, where: string): string[] {
    const list = asList(y);
    if (list.length === 0) throw this.fail(`${where}, sources`, 'a mapping needs at least one source');
    // `sources: [file.csv~csv]` and `sources: [file.json~jsonpath, $.x[*]]` are one inline source, not a list.
    const single = list.every((v) => typeof v === 'string') && typeof list[0] === 'string' && !this.sources[list[0]] && list[0].includes('~');
    const items = single ? [list] : list;
    return items.map((item, i) => {
      const at = `${where}, sources[${i}]`;
      if (typeof item === 'string' && this.sources[item]) return item;
      if (typeof item === 'string' && !item.includes('~')) {
        throw this.fail(at, `unknown source '${item}' (declared: ${Object.keys(this.sources).join(', ') || 'none'})`);
      }
      const inline = items.length === 1 ? mapping : `${mapping}.${i + 1}`;
      if (this.sources[inline]) throw this.fail(at, `inline source name '${inline}' clashes with a declared source`);
      this.sources[inline] = this.source(inline, item, at);
      return inline;
    });
  }

  private predicateObject(y: Y, where: string): PredicateObjectMap {
    if (Array.isArray(y)) return this.shortPredicateObject(y, where);
    if (!isObj(y)) throw this.fail(where, 'expected [predicate, object] or {p: ..., o: ...}');
    this.checkKeys(y, PO_KEYS, where);
    const predicates = asList(pick(y, 'p', 'predicates', 'predicate')).map((p, i) => this.predicate(p, `${where}.p[${i}]`));
    if (predicates.length === 0) throw this.fail(`${where}.p`, 'a predicate is required');
    const typeObjects = predicates.some((p) => isConstant(parts(p.expr)) && constantText(parts(p.expr)) === RDF + 'type');
    const po: PredicateObjectMap = {
      predicates,
      objects: [],
      joins: [],
      graphs: asList(pick(y, 'graphs', 'graph', 'g')).map((g, i) => this.termMap(g, 'iri', `${where}.graphs[${i}]`)),
      conditions: this.conditions(pick(y, 'condition', 'conditions'), `${where}.condition`),
      path: where,
    };
    asList(pick(y, 'o', 'objects', 'object')).forEach((o, i) => this.object(o, typeObjects, `${where}.o[${i}]`, po));
    if (po.objects.length + po.joins.length === 0) throw this.fail(`${where}.o`, 'an object is required');
    return po;
  }

  /** `[p, o]`, `[p, o, xsd:type]`, `[p, o, en~lang]`, with p and o each a value or a list. */
  private shortPredicateObject(y: Y[], where: string): PredicateObjectMap {
    if (y.length < 2 || y.length > 3) throw this.fail(where, 'expected [predicate, object] or [predicate, object, datatype|lang~lang]');
    const extra = y[2] === undefined ? undefined : this.str(y[2], `${where}[2]`);
    const objects = asList(y[1]).map((o, i) => {
      const value = this.str(o, `${where}.o[${i}]`);
      if (extra === undefined) return value;
      return extra.endsWith('~lang') ? { value, language: extra.slice(0, -5) } : { value, datatype: extra };
    });
    return this.predicateObject({ p: y[0], o: objects }, where);
  }

  private predicate(y: Y, where: string): TermMap {
    const p = this.str(y, where);
    return p === 'a' ? { expr: constant(RDF + 'type'), termType: 'iri', path: where } : this.termMap(p, 'iri', where);
  }

  private object(y: Y, typeObject: boolean, where: string, po: PredicateObjectMap): void {
    if (isObj(y) && y.mapping !== undefined) {
      po.joins.push(this.join(y, where));
      return;
    }
    po.objects.push(this.termMap(y, typeObject ? 'iri' : 'literal', where));
  }

  /** A subject, predicate, object or graph: a template string (`~iri` suffix allowed) or a long form. */
  private termMap(y: Y, defaultType: 'iri' | 'literal', where: string): TermMap {
    if (typeof y === 'string') {
      const iri = y.endsWith('~iri');
      const text = iri ? y.slice(0, -4) : y;
      return this.finishTerm({ expr: this.template(text, where), termType: iri ? 'iri' : defaultType, path: where });
    }
    if (!isObj(y)) throw this.fail(where, 'expected a template or a {value|function: ...} map');
    this.checkKeys(y, TERM_KEYS, where);
    const expr = y.function !== undefined ? this.functionCall(y, where) : this.valueExpr(y.value, `${where}.value`);
    const type = y.type === undefined ? undefined : this.str(y.type, `${where}.type`);
    if (type !== undefined && type !== 'iri' && type !== 'literal') throw this.fail(`${where}.type`, `type is iri or literal, not '${type}'`);
    const term: TermMap = { expr, termType: (type as 'iri' | 'literal' | undefined) ?? defaultType, path: where };
    if (y.datatype !== undefined) term.datatype = this.constIri(this.str(y.datatype, `${where}.datatype`), `${where}.datatype`);
    if (y.language !== undefined) term.language = this.str(y.language, `${where}.language`);
    if (y.datatype !== undefined || y.language !== undefined) term.termType = 'literal';
    return this.finishTerm(term);
  }

  private valueExpr(y: Y, where: string): Expr {
    if (isObj(y) && y.function !== undefined) return this.functionCall(y, where);
    return this.template(this.str(y, where), where);
  }

  /** Checks the datatype/language pair and expands a leading prefix of IRI templates. */
  private finishTerm(term: TermMap): TermMap {
    if (term.datatype !== undefined && term.language !== undefined) throw this.fail(term.path, 'a literal has a datatype or a language, not both');
    if (term.language !== undefined && !/^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/.test(term.language)) {
      throw this.fail(term.path, `'${term.language}' is not a language tag`);
    }
    if (term.termType === 'iri' && term.expr.kind === 'template') term.expr = { kind: 'template', parts: this.expandPrefix(term.expr.parts, term.path) };
    return term;
  }

  private template(text: string, where: string): Expr {
    try {
      return { kind: 'template', parts: parseTemplate(text) };
    } catch (e) {
      throw this.fail(where, (e as Error).message);
    }
  }

  /** `hx:Patient` -> full IRI; `hxr:patient/$(id)` -> the same with the prefix expanded in its leading text. */
  private expandPrefix(ps: Part[], where: string): Part[] {
    const first = ps[0];
    if (!('text' in first)) return ps; // the IRI comes whole from the data: checked per row
    const whole = ps.map((p) => ('text' in p ? p.text : `$(${p.ref})`)).join('');
    return [{ text: this.iriText(first.text, where, whole) }, ...ps.slice(1)];
  }

  private constIri(text: string, where: string): string {
    return this.iriText(text, where);
  }

  /** Expands `prefix:rest`; `shown` is the whole template, for messages. */
  private iriText(text: string, where: string, shown = text): string {
    const m = SCHEME.exec(text);
    if (m) {
      const prefix = m[1];
      const rest = text.slice(m[0].length);
      if (this.prefixes[prefix] !== undefined) return this.prefixes[prefix] + rest;
      if (rest.startsWith('//') || ABSOLUTE_SCHEMES.has(prefix.toLowerCase())) return text;
      throw this.fail(where, `undefined prefix '${prefix}' in '${shown}' (declare it under prefixes)`);
    }
    if (this.base === undefined) throw this.fail(where, `'${shown}' is a relative IRI and the mapping has no base`);
    return this.base + text;
  }

  // ---- functions and conditions ----

  private functionCall(y: Obj, where: string): FunctionCall {
    const name = this.str(y.function, `${where}.function`);
    const iri = own(SHORT_FUNCTIONS, name) ?? this.constIri(name, `${where}.function`);
    const def = own(FUNCTIONS, iri);
    if (!def) throw this.fail(`${where}.function`, `unknown function '${name}' (see docs/mappings.md for the supported ones)`);
    const args: Record<string, Expr> = {};
    asList(y.parameters).forEach((p, i) => {
      const at = `${where}.parameters[${i}]`;
      const { name: pname, value } = this.parameter(p, at);
      const local = (def.aliases && own(def.aliases, localName(pname))) ?? localName(pname);
      if (!def.params.includes(local)) throw this.fail(at, `function '${name}' has no parameter '${pname}' (parameters: ${def.params.join(', ')})`);
      const expr = this.valueExpr(value, at);
      if (def.constant?.includes(local) && !(expr.kind === 'template' && isConstant(expr.parts))) {
        throw this.fail(at, `parameter '${pname}' must be a constant, not taken from the data`);
      }
      if (def.sourceParams?.includes(local) && expr.kind === 'template' && !this.sources[constantText(expr.parts)]) {
        throw this.fail(at, `unknown source '${constantText(expr.parts)}' (declared: ${Object.keys(this.sources).join(', ') || 'none'})`);
      }
      args[local] = expr;
    });
    const missing = def.required.filter((r) => args[r] === undefined);
    if (missing.length) throw this.fail(where, `function '${name}' needs parameter(s) ${missing.join(', ')}`);
    return { kind: 'function', fn: iri, args };
  }

  /** `[name, value]`, `[name, value, s|o]` or `{parameter, value, from}`. */
  private parameter(y: Y, where: string): { name: string; value: Y; side?: string } {
    if (Array.isArray(y) && (y.length === 2 || y.length === 3)) {
      return { name: this.str(y[0], where), value: y[1], side: y[2] === undefined ? undefined : this.str(y[2], where) };
    }
    if (isObj(y) && y.parameter !== undefined && y.value !== undefined) {
      return { name: this.str(y.parameter, where), value: y.value, side: y.from === undefined ? undefined : this.str(y.from, where) };
    }
    throw this.fail(where, 'expected [parameter, value] or {parameter: ..., value: ...}');
  }

  private conditions(y: Y, where: string): FunctionCall[] {
    return asList(y).map((c, i) => {
      const at = asList(y).length > 1 ? `${where}[${i}]` : where;
      if (!isObj(c) || c.function === undefined) throw this.fail(at, 'a condition is {function: ..., parameters: [...]}');
      this.checkKeys(c, ['function', 'parameters'], at);
      return this.functionCall(c, at);
    });
  }

  /** `{mapping: x, condition: {function: equal, parameters: [[str1, $(a), s], [str2, $(b), o]]}}`. */
  private join(y: Obj, where: string): JoinMap {
    this.checkKeys(y, ['mapping', 'condition'], where);
    const mapping = this.str(y.mapping, `${where}.mapping`);
    const conditions = asList(y.condition).map((c, i) => {
      const at = `${where}.condition` + (asList(y.condition).length > 1 ? `[${i}]` : '');
      if (!isObj(c)) throw this.fail(at, 'a join condition is {function: equal, parameters: [...]}');
      const fn = this.str(c.function, `${at}.function`);
      if ((own(SHORT_FUNCTIONS, fn) ?? this.constIri(fn, at)) !== IDLAB_FN + 'equal') throw this.fail(at, `joins support only the equal function, not '${fn}'`);
      const params = asList(c.parameters).map((p, j) => this.parameter(p, `${at}.parameters[${j}]`));
      if (params.length !== 2) throw this.fail(at, 'a join condition compares exactly two values');
      const sides = params.map((p, j) => p.side ?? (j === 0 ? 's' : 'o'));
      if (sides.some((s) => s !== 's' && s !== 'o') || sides[0] === sides[1]) {
        throw this.fail(at, 'one parameter must come from this mapping (s) and the other from the joined mapping (o)');
      }
      const [child, parent] = sides[0] === 's' ? params : [params[1], params[0]];
      return { child: this.valueExpr(child.value, at), parent: this.valueExpr(parent.value, at) };
    });
    return { mapping, conditions, path: where };
  }
}

const constant = (text: string): Expr => ({ kind: 'template', parts: [{ text }] });
/** A function-made term never counts as a constant (rdf:type detection). */
const parts = (e: Expr): Part[] => (e.kind === 'template' ? e.parts : [{ ref: '' }]);

/** Every reference an expression reads from the record. */
export function exprRefs(e: Expr): string[] {
  return e.kind === 'template' ? references(e.parts) : Object.values(e.args).flatMap(exprRefs);
}

/** The references a mapping reads from its own records, each with the field it was written in. */
export function mappingRefs(tm: TriplesMap): { ref: string; path: string }[] {
  const out: { ref: string; path: string }[] = [];
  const add = (e: Expr, path: string): void => exprRefs(e).forEach((ref) => out.push({ ref, path }));
  const at = (f: string): string => `mapping '${tm.name}', ${f}`;
  if (tm.subject) add(tm.subject.expr, tm.subject.path);
  tm.graphs.forEach((g) => add(g.expr, g.path));
  tm.conditions.forEach((c) => add(c, at('condition')));
  for (const po of tm.po) {
    [...po.predicates, ...po.objects, ...po.graphs].forEach((t) => add(t.expr, t.path));
    po.conditions.forEach((c) => add(c, `${po.path}.condition`));
    po.joins.forEach((j) => j.conditions.forEach((c) => add(c.child, j.path)));
  }
  return out;
}

/** Joined mappings must exist, and a join without conditions must read the same source. */
function checkJoins(m: Mapping): void {
  const byName = new Map(m.mappings.map((tm) => [tm.name, tm]));
  for (const tm of m.mappings) {
    for (const j of tm.po.flatMap((po) => po.joins)) {
      const parent = byName.get(j.mapping);
      if (!parent) throw new MappingError(m.file, `${j.path}.mapping`, `unknown mapping '${j.mapping}' (mappings: ${[...byName.keys()].join(', ')})`);
      if (j.conditions.length === 0 && parent.sources.join() !== tm.sources.join()) {
        throw new MappingError(m.file, j.path, `a join without a condition needs mapping '${j.mapping}' to read the same sources`);
      }
    }
  }
}

/** JSON references are JSONPath: reject unsupported syntax now rather than on every record. */
function checkJsonReferences(m: Mapping): void {
  const check = (tm: TriplesMap, refs: { ref: string; path: string }[]): void => {
    if (!tm.sources.some((s) => m.sources[s].formulation === 'jsonpath')) return;
    for (const { ref, path } of refs) {
      try {
        parseReference(ref);
      } catch (e) {
        throw new MappingError(m.file, path, (e as Error).message);
      }
    }
  };
  const byName = new Map(m.mappings.map((tm) => [tm.name, tm]));
  for (const tm of m.mappings) {
    check(tm, mappingRefs(tm));
    for (const j of tm.po.flatMap((po) => po.joins)) {
      check(byName.get(j.mapping)!, j.conditions.flatMap((c) => exprRefs(c.parent).map((ref) => ({ ref, path: j.path }))));
    }
  }
}
