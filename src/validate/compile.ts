// Compiles a SHACL shapes graph into plain objects that the compiled engine (compiled.ts) checks
// without any graph look-ups. Only the subset of SHACL Core listed in SUPPORTED is compiled;
// anything else throws Unsupported, and ShapeValidator then falls back to rdf-validate-shacl.
import type { Quad, Term } from 'n3';
import { isKnownDatatype, isNumericDatatype, lexicalCheck, numericValue, RDF } from './datatypes.js';

export const SH = 'http://www.w3.org/ns/shacl#';
const RDFS = 'http://www.w3.org/2000/01/rdf-schema#';
const OWL_IMPORTS = 'http://www.w3.org/2002/07/owl#imports';

/** The shapes graph uses something outside the compiled subset; `message` says what. */
export class Unsupported extends Error {}

// sh: predicates the compiler understands (validating or purely descriptive).
const SUPPORTED = new Set(
  [
    'targetClass', 'property', 'path', 'inversePath', 'minCount', 'maxCount', 'datatype', 'nodeKind', 'pattern', 'flags',
    'in', 'class', 'minInclusive', 'maxInclusive', 'minExclusive', 'maxExclusive', 'minLength', 'maxLength', 'hasValue',
    'message', 'severity', 'deactivated', 'name', 'description', 'order', 'group', 'defaultValue',
  ].map((l) => SH + l),
);

export const NODE_KIND = { IRI: 1, BlankNode: 2, Literal: 4 } as const;
const NODE_KINDS: Record<string, number> = {
  IRI: 1, BlankNode: 2, Literal: 4, BlankNodeOrIRI: 3, BlankNodeOrLiteral: 6, IRIOrLiteral: 5,
};

/** One constraint of one shape, with everything it needs precomputed. */
export type Check =
  | { kind: 'minCount' | 'maxCount' | 'minLength' | 'maxLength'; n: number }
  | { kind: 'datatype'; datatype: string; lexical: (v: string) => boolean }
  | { kind: 'nodeKind'; mask: number }
  | { kind: 'pattern'; re: RegExp }
  | { kind: 'in'; byValue: Map<string, Term[]> }
  | { kind: 'class'; cls: string }
  | { kind: 'hasValue'; term: Term }
  | { kind: 'minInclusive' | 'maxInclusive' | 'minExclusive' | 'maxExclusive'; bound: number };

export interface CompiledConstraint {
  check: Check;
  /** Local name of the constraint component, e.g. MinCountConstraintComponent. */
  component: string;
  message: string;
}

export interface CompiledShape {
  id: string;
  /** undefined for a node shape (the value node is the focus node). */
  path?: { predicate: string; inverse: boolean; label: string };
  severity: string;
  deactivated: boolean;
  constraints: CompiledConstraint[];
  properties: CompiledShape[];
}

export interface CompiledShapes {
  /** Target class IRI -> shapes targeting it. */
  byClass: Map<string, CompiledShape[]>;
  usesInversePaths: boolean;
  /** Every predicate some sh:path follows: the only triples, besides rdf:type, a record needs indexed. */
  predicates: Set<string>;
}

type Index = Map<string, Map<string, Term[]>>;

const key = (t: Term): string => (t.termType === 'BlankNode' ? `_:${t.value}` : t.value);

function indexShapes(quads: Quad[]): Index {
  const index: Index = new Map();
  for (const q of quads) {
    const p = q.predicate.value;
    if (p.startsWith(SH) && !SUPPORTED.has(p)) throw new Unsupported(`sh:${p.slice(SH.length)} is not in the compiled subset`);
    if (p === OWL_IMPORTS) throw new Unsupported('owl:imports is not in the compiled subset');
    // Implicit class targets (a shape that is an rdfs:Class) depend on rdfs:subClassOf in the shapes graph.
    if (p === `${RDFS}subClassOf`) throw new Unsupported('rdfs:subClassOf in the shapes graph is not in the compiled subset');
    if (p === `${RDF}type` && q.object.value === `${RDFS}Class`) throw new Unsupported('implicit class targets are not in the compiled subset');
    const s = key(q.subject);
    let out = index.get(s);
    if (!out) index.set(s, (out = new Map()));
    const objects = out.get(p);
    if (objects) objects.push(q.object);
    else out.set(p, [q.object]);
  }
  return index;
}

/** Compiles the shapes graph, or throws Unsupported naming the first feature outside the subset. */
export function compileShapes(quads: Quad[]): CompiledShapes {
  const index = indexShapes(quads);
  const compiler = new Compiler(index);
  const byClass = new Map<string, CompiledShape[]>();
  for (const [node, out] of index) {
    for (const cls of out.get(`${SH}targetClass`) ?? []) {
      if (cls.termType !== 'NamedNode') throw new Unsupported('sh:targetClass must be an IRI in the compiled subset');
      const list = byClass.get(cls.value) ?? [];
      list.push(compiler.shape(node, []));
      byClass.set(cls.value, list);
    }
  }
  return { byClass, usesInversePaths: compiler.usesInversePaths, predicates: compiler.predicates };
}

class Compiler {
  private readonly done = new Map<string, CompiledShape>();
  usesInversePaths = false;
  readonly predicates = new Set<string>();

  constructor(private readonly index: Index) {}

  private values(node: string, p: string): Term[] {
    return this.index.get(node)?.get(SH + p) ?? [];
  }

  private single(node: string, p: string): Term | undefined {
    const v = this.values(node, p);
    if (v.length > 1) throw new Unsupported(`several sh:${p} on ${node}`);
    return v[0];
  }

  shape(node: string, stack: string[]): CompiledShape {
    const cached = this.done.get(node);
    if (cached) return cached;
    // Recursive shapes need the reference's node-check limits; not worth compiling.
    if (stack.includes(node)) throw new Unsupported(`recursive sh:property through ${node}`);
    const severity = this.single(node, 'severity');
    const shape: CompiledShape = {
      id: node.startsWith('_:') ? node.slice(2) : node,
      path: this.path(node),
      severity: severity ? (severity.value.split('#').pop() ?? 'Violation') : 'Violation',
      deactivated: this.single(node, 'deactivated')?.value === 'true',
      constraints: [],
      properties: [],
    };
    shape.constraints = this.constraints(node, shape.path !== undefined);
    shape.properties = this.values(node, 'property').map((p) => this.shape(key(p), [...stack, node]));
    this.done.set(node, shape);
    return shape;
  }

  private path(node: string): CompiledShape['path'] {
    const path = this.single(node, 'path');
    if (!path) return undefined;
    if (path.termType === 'NamedNode') {
      this.predicates.add(path.value);
      return { predicate: path.value, inverse: false, label: path.value };
    }
    const out = path.termType === 'BlankNode' ? this.index.get(key(path)) : undefined;
    const inverse = out?.get(`${SH}inversePath`);
    if (out?.size === 1 && inverse?.length === 1 && inverse[0].termType === 'NamedNode') {
      this.usesInversePaths = true;
      this.predicates.add(inverse[0].value);
      // The reference reports the path node itself, a blank node, as the result path.
      return { predicate: inverse[0].value, inverse: true, label: path.value };
    }
    throw new Unsupported(`complex sh:path on ${node}`);
  }

  private constraints(node: string, isProperty: boolean): CompiledConstraint[] {
    const messages = this.values(node, 'message');
    const out: CompiledConstraint[] = [];
    const add = (component: string, check: Check, params: Record<string, string>, fallback: string): void => {
      const text = messages.length ? messages.map((m) => substitute(m.value, params)).join('; ') : fallback;
      out.push({ check, component: `${component}ConstraintComponent`, message: text });
    };
    for (const p of ['minCount', 'maxCount'] as const) {
      if (!isProperty && this.values(node, p).length) throw new Unsupported(`sh:${p} on node shape ${node}`);
      for (const t of this.values(node, p)) {
        const n = count(t, p);
        add(cap(p), { kind: p, n }, { [p]: t.value }, p === 'minCount' ? `expected at least ${n} value(s)` : `expected at most ${n} value(s)`);
      }
    }
    for (const t of this.values(node, 'datatype')) add('Datatype', datatypeCheck(t), { datatype: `<${t.value}>` }, `value is not a well-formed <${t.value}> literal`);
    for (const t of this.values(node, 'nodeKind')) {
      const mask = NODE_KINDS[t.value.startsWith(SH) ? t.value.slice(SH.length) : ''];
      if (mask === undefined) throw new Unsupported(`unknown sh:nodeKind ${t.value}`);
      add('NodeKind', { kind: 'nodeKind', mask }, { nodeKind: `<${t.value}>` }, `value is not of node kind sh:${t.value.slice(SH.length)}`);
    }
    for (const t of this.values(node, 'pattern')) {
      const flags = this.single(node, 'flags')?.value;
      let re: RegExp;
      try {
        re = new RegExp(t.value, flags);
      } catch (e) {
        throw new Unsupported(`invalid sh:pattern on ${node}: ${(e as Error).message}`);
      }
      add('Pattern', { kind: 'pattern', re }, { pattern: t.value, flags: flags ?? '' }, `value does not match /${t.value}/${flags ?? ''}`);
    }
    for (const t of this.values(node, 'in')) {
      const members = this.list(t);
      add('In', { kind: 'in', byValue: byValue(members) }, { in: listLabel(members) }, `value is not one of ${members.map((m) => m.value).join(', ')}`);
    }
    for (const t of this.values(node, 'class')) {
      if (t.termType !== 'NamedNode') throw new Unsupported(`sh:class on ${node} must be an IRI`);
      add('Class', { kind: 'class', cls: t.value }, { class: `<${t.value}>` }, `value is not an instance of <${t.value}>`);
    }
    for (const p of ['minInclusive', 'maxInclusive', 'minExclusive', 'maxExclusive'] as const) {
      for (const t of this.values(node, p)) add(cap(p), { kind: p, bound: bound(t, p) }, { [p]: t.value }, `value is not ${RANGE_WORDS[p]} ${t.value}`);
    }
    for (const p of ['minLength', 'maxLength'] as const) {
      for (const t of this.values(node, p)) {
        const n = count(t, p);
        add(cap(p), { kind: p, n }, { [p]: t.value }, `value has ${p === 'minLength' ? 'fewer' : 'more'} than ${n} characters`);
      }
    }
    for (const t of this.values(node, 'hasValue')) add('HasValue', { kind: 'hasValue', term: t }, { hasValue: label(t) }, `missing the value ${label(t)}`);
    return out;
  }

  /** Members of an RDF list in the shapes graph. */
  private list(head: Term): Term[] {
    const items: Term[] = [];
    const seen = new Set<string>();
    for (let node = head; node.value !== `${RDF}nil`; ) {
      const k = key(node);
      const out = this.index.get(k);
      const first = out?.get(`${RDF}first`);
      const rest = out?.get(`${RDF}rest`);
      if (seen.has(k) || first?.length !== 1 || rest?.length !== 1) throw new Unsupported(`malformed RDF list at ${node.value}`);
      seen.add(k);
      items.push(first[0]);
      node = rest[0];
    }
    return items;
  }
}

const RANGE_WORDS = { minInclusive: '>=', maxInclusive: '<=', minExclusive: '>', maxExclusive: '<' } as const;

const cap = (s: string): string => s[0].toUpperCase() + s.slice(1);

const label = (t: Term): string => (t.termType === 'NamedNode' ? `<${t.value}>` : t.value);

const listLabel = (members: Term[]): string =>
  members.length > 3 ? `${members.slice(0, 3).map((m) => m.value).join(', ')} ... (and ${members.length - 3} more)` : members.map((m) => m.value).join(', ');

/** Fills {$param} / {?param} in a sh:message, as SHACL messages may reference the constraint's parameters. */
function substitute(message: string, params: Record<string, string>): string {
  let out = message;
  for (const [name, value] of Object.entries(params)) out = out.replaceAll(`{$${name}}`, value).replaceAll(`{?${name}}`, value);
  return out;
}

function count(t: Term, p: string): number {
  const n = Number(t.value);
  if (t.termType !== 'Literal' || !Number.isInteger(n) || n < 0) throw new Unsupported(`sh:${p} must be a non-negative integer, not ${t.value}`);
  return n;
}

function bound(t: Term, p: string): number {
  if (t.termType !== 'Literal' || !isNumericDatatype(t.datatype.value)) throw new Unsupported(`sh:${p} ${t.value} is not numeric`);
  const n = numericValue(t.value, t.datatype.value);
  if (Number.isNaN(n)) throw new Unsupported(`sh:${p} ${t.value} is not a number`);
  return n;
}

function datatypeCheck(t: Term): Check {
  if (t.termType !== 'NamedNode' || !isKnownDatatype(t.value)) throw new Unsupported(`sh:datatype ${t.value} is not in the compiled subset`);
  return { kind: 'datatype', datatype: t.value, lexical: lexicalCheck(t.value) };
}

/** sh:in members grouped by lexical value, so a check compares terms without building keys. */
function byValue(members: Term[]): Map<string, Term[]> {
  const map = new Map<string, Term[]>();
  for (const m of members) map.set(m.value, [...(map.get(m.value) ?? []), m]);
  return map;
}
