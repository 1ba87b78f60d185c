// The compiled engine: checks one record (one patient graph) against shapes compiled by
// compile.ts. The record is indexed once by subject (subject -> predicate -> objects) and every
// constraint is then a Map look-up and a loop over a few terms; nothing is allocated per triple
// beyond that index. Semantics follow rdf-validate-shacl on a data graph holding only the record.
import type { Quad, Term } from 'n3';
import type { Check, CompiledConstraint, CompiledShape, CompiledShapes } from './compile.js';
import { numericValue, RDF } from './datatypes.js';
import type { Violation } from './types.js';

const TYPE = `${RDF}type`;
const SUBCLASS_OF = 'http://www.w3.org/2000/01/rdf-schema#subClassOf';
const EMPTY: Term[] = [];

type Objects = Map<string, Term[]>;

interface Subject {
  term: Term;
  out: Objects;
}

/** One record, indexed for the checks. */
interface RecordIndex {
  subjects: Map<string, Subject>;
  /** object -> predicate -> subjects; built only when some shape has an inverse path. */
  inverse?: Map<string, Objects>;
  /** class -> its direct superclasses, present only when the record has rdfs:subClassOf triples. */
  superclasses?: Map<string, string[]>;
}

const key = (t: Term): string => (t.termType === 'BlankNode' ? `_:${t.value}` : t.value);

/** Keys of literals as well, for the inverse index (literals can be objects but not subjects). */
const objectKey = (t: Term): string =>
  t.termType === 'Literal' ? `"${t.value}"@${t.language}^^${t.datatype.value}` : key(t);

/** n3 terms carry a canonical id; comparing it avoids n3's allocating value/datatype getters. */
const idOf = (t: Term): unknown => (t as { id?: unknown }).id;

function sameTerm(a: Term, b: Term): boolean {
  if (a === b) return true;
  if (a.termType !== b.termType) return false;
  const ai = idOf(a);
  const bi = idOf(b);
  if (typeof ai === 'string' && typeof bi === 'string') return ai === bi;
  if (a.value !== b.value) return false;
  if (a.termType !== 'Literal' || b.termType !== 'Literal') return true;
  return a.language === b.language && a.datatype.value === b.datatype.value;
}

function contains(list: Term[], t: Term): boolean {
  for (const x of list) if (sameTerm(x, t)) return true;
  return false;
}

/** A key equal for two terms exactly when sameTerm holds: `<` IRI, `_:` blank node, `"` literal. */
const termKey = (t: Term): string => (t.termType === 'NamedNode' ? `<${t.value}` : objectKey(t));

/**
 * Past this many values a list gets a set of its terms' keys: scanning it on every add made a record
 * with n features cost n² (141,000 features took 8 minutes); a short list is cheaper to scan.
 */
const SCAN_LIMIT = 16;
const seenKeys = new WeakMap<Term[], Set<string>>();

/** Adds o to the values of p, once: the reference's data graph is a set of triples. */
function add(out: Objects, p: string, o: Term): void {
  const list = out.get(p);
  if (!list) out.set(p, [o]);
  else if (list.length < SCAN_LIMIT) {
    if (!contains(list, o)) list.push(o);
  } else {
    let seen = seenKeys.get(list);
    if (!seen) seenKeys.set(list, (seen = new Set(list.map(termKey))));
    const k = termKey(o);
    if (!seen.has(k)) {
      seen.add(k);
      list.push(o);
    }
  }
}

/** rdf:type and rdfs:subClassOf decide targets and sh:class, so they are always indexed. */
const needed = (p: string, predicates: Set<string>): boolean => p === TYPE || p === SUBCLASS_OF || predicates.has(p);

function indexRecord(quads: Quad[], shapes: CompiledShapes): RecordIndex {
  const subjects = new Map<string, Subject>();
  const rec: RecordIndex = { subjects };
  const { predicates } = shapes;
  for (const q of quads) {
    // Triples no shape can see (labels, provenance...) are skipped: indexing is the hot loop.
    if (!needed(q.predicate.value, predicates)) continue;
    const k = key(q.subject);
    let s = subjects.get(k);
    if (!s) subjects.set(k, (s = { term: q.subject, out: new Map() }));
    add(s.out, q.predicate.value, q.object);
    if (q.predicate.value === SUBCLASS_OF) addSuperclass(rec, k, key(q.object));
  }
  if (shapes.usesInversePaths) rec.inverse = indexInverse(quads, predicates);
  return rec;
}

function addSuperclass(rec: RecordIndex, cls: string, sup: string): void {
  rec.superclasses ??= new Map();
  const list = rec.superclasses.get(cls);
  if (!list) rec.superclasses.set(cls, [sup]);
  else if (!list.includes(sup)) list.push(sup);
}

function indexInverse(quads: Quad[], predicates: Set<string>): Map<string, Objects> {
  const inverse = new Map<string, Objects>();
  for (const q of quads) {
    if (!predicates.has(q.predicate.value)) continue;
    const k = objectKey(q.object);
    let m = inverse.get(k);
    if (!m) inverse.set(k, (m = new Map()));
    add(m, q.predicate.value, q.subject);
  }
  return inverse;
}

/** The class and all its superclasses in the record (rdfs:subClassOf is transitive). */
function withSuperclasses(rec: RecordIndex, cls: string): string[] {
  const all = [cls];
  for (let i = 0; i < all.length; i++) {
    for (const s of rec.superclasses?.get(all[i]) ?? EMPTY_KEYS) if (!all.includes(s)) all.push(s);
  }
  return all;
}
const EMPTY_KEYS: string[] = [];

export class CompiledValidator {
  constructor(private readonly shapes: CompiledShapes) {}

  /** Violations of one record; graph names are ignored. */
  validate(quads: Quad[]): Violation[] {
    const rec = indexRecord(quads, this.shapes);
    const out: Violation[] = [];
    for (const s of rec.subjects.values()) {
      const types = s.out.get(TYPE);
      if (types) for (const shape of this.targets(types, rec)) this.validateShape(s.term, shape, rec, out);
    }
    return out;
  }

  /** Shapes whose sh:targetClass is one of the types, or (with rdfs:subClassOf) a superclass of one. */
  private targets(types: Term[], rec: RecordIndex): CompiledShape[] {
    const { byClass } = this.shapes;
    if (types.length === 1 && !rec.superclasses) {
      return types[0].termType === 'Literal' ? [] : (byClass.get(types[0].value) ?? []);
    }
    const shapes: CompiledShape[] = [];
    for (const t of types) {
      if (t.termType === 'Literal') continue;
      const classes = rec.superclasses ? withSuperclasses(rec, key(t)) : [key(t)];
      for (const c of classes) for (const shape of byClass.get(c) ?? []) if (!shapes.includes(shape)) shapes.push(shape);
    }
    return shapes;
  }

  private validateShape(focus: Term, shape: CompiledShape, rec: RecordIndex, out: Violation[]): void {
    if (shape.deactivated) return;
    const values = shape.path ? this.pathValues(focus, shape.path, rec) : [focus];
    for (const c of shape.constraints) this.check(c, shape, focus, values, rec, out);
    for (const p of shape.properties) for (const v of values) this.validateShape(v, p, rec, out);
  }

  private pathValues(focus: Term, path: NonNullable<CompiledShape['path']>, rec: RecordIndex): Term[] {
    if (path.inverse) return rec.inverse?.get(objectKey(focus))?.get(path.predicate) ?? EMPTY;
    if (focus.termType === 'Literal') return EMPTY;
    return rec.subjects.get(key(focus))?.out.get(path.predicate) ?? EMPTY;
  }

  private check(c: CompiledConstraint, shape: CompiledShape, focus: Term, values: Term[], rec: RecordIndex, out: Violation[]): void {
    const k = c.check;
    // Count and hasValue constraints judge the value set as a whole and report no sh:value.
    if (k.kind === 'minCount') {
      if (values.length < k.n) out.push(violation(c, shape, focus));
    } else if (k.kind === 'maxCount') {
      if (values.length > k.n) out.push(violation(c, shape, focus));
    } else if (k.kind === 'hasValue') {
      if (shape.path ? !contains(values, k.term) : !sameTerm(focus, k.term)) out.push(violation(c, shape, focus));
    } else {
      for (const v of values) if (!this.valueOk(k, v, rec)) out.push(violation(c, shape, focus, v));
    }
  }

  private valueOk(k: Check, v: Term, rec: RecordIndex): boolean {
    switch (k.kind) {
      case 'datatype':
        return v.termType === 'Literal' && v.datatype.value === k.datatype && k.lexical(v.value);
      case 'nodeKind':
        return (k.mask & (v.termType === 'NamedNode' ? 1 : v.termType === 'BlankNode' ? 2 : v.termType === 'Literal' ? 4 : 0)) !== 0;
      case 'pattern':
        // lastIndex is reset because a g or y flag would otherwise make test() stateful.
        k.re.lastIndex = 0;
        return v.termType !== 'BlankNode' && k.re.test(v.value);
      case 'in': {
        const candidates = k.byValue.get(v.value);
        return candidates !== undefined && contains(candidates, v);
      }
      case 'class':
        return this.isInstance(v, k.cls, rec);
      case 'minLength':
        return v.termType !== 'BlankNode' && v.value.length >= k.n;
      case 'maxLength':
        return v.termType !== 'BlankNode' && v.value.length <= k.n;
      default:
        return rangeOk(k, v);
    }
  }

  /** rdf:type of v in the record is the class or, through rdfs:subClassOf in the record, a subclass. */
  private isInstance(v: Term, cls: string, rec: RecordIndex): boolean {
    if (v.termType === 'Literal') return false;
    const types = rec.subjects.get(key(v))?.out.get(TYPE);
    if (!types) return false;
    for (const t of types) {
      if (t.termType === 'Literal') continue;
      if (t.value === cls && t.termType === 'NamedNode') return true;
      if (rec.superclasses && withSuperclasses(rec, key(t)).includes(cls)) return true;
    }
    return false;
  }
}

/** Numeric range constraints: a non-numeric or ill-formed value is incomparable and fails, as in the reference. */
function rangeOk(k: Check, v: Term): boolean {
  if (v.termType !== 'Literal') return false;
  const n = numericValue(v.value, v.datatype.value);
  switch (k.kind) {
    case 'minInclusive':
      return n >= k.bound;
    case 'maxInclusive':
      return n <= k.bound;
    case 'minExclusive':
      return n > k.bound;
    case 'maxExclusive':
      return n < k.bound;
    default:
      return false;
  }
}

function violation(c: CompiledConstraint, shape: CompiledShape, focus: Term, value?: Term): Violation {
  return {
    focusNode: focus.value,
    path: shape.path?.label,
    message: c.message,
    severity: shape.severity,
    value: value?.value,
    sourceShape: shape.id,
    constraint: c.component,
  };
}
