import { resolve } from 'node:path';
import { DataFactory, type Quad, type Quad_Graph, type Quad_Object, type NamedNode } from 'n3';
import { segment } from '../../model/iri.js';
import { canonicalLiteral, shortDatatype } from './datatypes.js';
import { FUNCTIONS, MAX_PER_RECORD, combinations, type FunctionContext } from './functions.js';
import { exprRefs, mappingRefs } from './load.js';
import type { Expr, FunctionCall, JoinMap, Mapping, Problem, TermMap, TriplesMap } from './model.js';
import { MappingError, RowError } from './model.js';
import { readSource, type LoadedSource, type SourceRecord } from './sources.js';

const { namedNode, literal, quad, defaultGraph } = DataFactory;

export interface RunOptions {
  /** Source name -> file to read instead of the mapping's `access` (e.g. another site's export). */
  sources?: Record<string, string>;
}

export interface RunResult {
  quads: Quad[];
  problems: Problem[];
}

/**
 * Runs every mapping over its sources. Mistakes in the mapping (unknown override, unreadable source,
 * missing column) throw before any triple is made; a bad row becomes a Problem and the run goes on.
 */
export async function runMapping(mapping: Mapping, options: RunOptions = {}): Promise<RunResult> {
  return new Engine(mapping, options.sources ?? {}).run();
}

const ABSOLUTE = /^[A-Za-z][\w.+-]*:/;
const BAD_IRI_CHAR = /[\s<>"{}|^`\\]/;

type JoinIndex = Map<string, NamedNode[]>;

class Engine implements FunctionContext {
  private readonly loaded = new Map<string, LoadedSource>();
  private readonly tables = new Map<string, { file: string; rows: Map<string, string> }>();
  private readonly joinIndexes = new Map<JoinMap, JoinIndex>();
  private readonly byName: Map<string, TriplesMap>;
  private readonly quads = new Map<string, Quad>();
  private readonly problems = new Map<string, Problem>();
  /** While a row's fields are mapped (its subject exists): a failing field is dropped, not the row. */
  private mappingFields = false;

  constructor(
    private readonly m: Mapping,
    private readonly overrides: Record<string, string>,
  ) {
    this.byName = new Map(m.mappings.map((tm) => [tm.name, tm]));
    for (const name of Object.keys(overrides)) {
      if (!Object.hasOwn(m.sources, name)) {
        throw new MappingError(m.file, `source override '${name}'`, `no such source (sources: ${Object.keys(m.sources).join(', ')})`);
      }
    }
  }

  run(): RunResult {
    for (const tm of this.m.mappings) this.checkColumns(tm);
    for (const tm of this.m.mappings) {
      for (const name of tm.sources) {
        const src = this.source(name);
        src.problems.forEach((p) => this.problem(p));
        for (const rec of src.records) this.mapRecord(tm, rec, src.file);
      }
    }
    return { quads: [...this.quads.values()], problems: [...this.problems.values()] };
  }

  // ---- sources, columns, lookup tables ----

  private source(name: string): LoadedSource {
    let src = this.loaded.get(name);
    if (!src) {
      const def = this.m.sources[name];
      const path = Object.hasOwn(this.overrides, name) ? resolve(this.overrides[name]) : def.access;
      try {
        src = readSource(def, path);
      } catch (e) {
        throw new MappingError(this.m.file, `sources.${name}`, (e as Error).message);
      }
      this.loaded.set(name, src);
    }
    return src;
  }

  /** A misspelt column would silently yield no triples; it is a mapping error instead. */
  private checkColumns(tm: TriplesMap): void {
    const need = (sourceNames: string[], refs: { ref: string; path: string }[]): void => {
      for (const name of sourceNames) {
        const src = this.source(name);
        const missing = src.columns && refs.find((r) => !src.columns!.includes(r.ref));
        if (missing) {
          throw new MappingError(this.m.file, missing.path, `column '${missing.ref}' is not in ${src.file} (columns: ${src.columns!.join(', ')})`);
        }
      }
    };
    need(tm.sources, mappingRefs(tm));
    for (const j of tm.po.flatMap((po) => po.joins)) {
      need(this.byName.get(j.mapping)!.sources, j.conditions.flatMap((c) => exprRefs(c.parent).map((ref) => ({ ref, path: `${j.path}.condition` }))));
    }
    for (const call of lookups(tm)) {
      const src = constantArg(call.fn, 'source');
      const cols = ['fromColumn', 'toColumn'].map((p) => ({ ref: constantArg(call.fn, p), path: call.path }));
      need([src], cols);
    }
  }

  table(source: string, from: string, to: string): { file: string; rows: Map<string, string> } {
    const key = JSON.stringify([source, from, to]);
    let t = this.tables.get(key);
    if (!t) {
      const src = this.source(source);
      const rows = new Map<string, string>();
      for (const r of src.records) {
        const [k] = r.get(from);
        const [v] = r.get(to);
        if (k !== undefined && v !== undefined && !rows.has(k)) rows.set(k, v);
      }
      this.tables.set(key, (t = { file: src.file, rows }));
    }
    return t;
  }

  // ---- records ----

  private mapRecord(tm: TriplesMap, rec: SourceRecord, file: string): void {
    if (!this.holds(tm.conditions, rec, file)) return;
    const subjects = this.terms(tm.subject!, rec, file) as NamedNode[];
    if (subjects.length === 0) return;
    const mappingGraphs = this.graphs(tm.graphs, rec, file);
    if (!mappingGraphs) return;
    this.mappingFields = true;
    try {
      this.mapFields(tm, rec, file, subjects, mappingGraphs);
    } finally {
      this.mappingFields = false;
    }
  }

  private mapFields(tm: TriplesMap, rec: SourceRecord, file: string, subjects: NamedNode[], mappingGraphs: Quad_Graph[]): void {
    for (const po of tm.po) {
      if (!this.holds(po.conditions, rec, file)) continue;
      const poGraphs = this.graphs(po.graphs, rec, file);
      if (!poGraphs) continue;
      const graphs = [...mappingGraphs, ...poGraphs];
      const predicates = po.predicates.flatMap((p) => this.terms(p, rec, file)) as NamedNode[];
      const objects: Quad_Object[] = [
        ...po.objects.flatMap((o) => this.terms(o, rec, file)),
        ...po.joins.flatMap((j) => this.joined(j, rec, file)),
      ];
      const count = subjects.length * predicates.length * objects.length * Math.max(1, graphs.length);
      if (count > MAX_PER_RECORD) {
        this.problem({ file, row: rec.row, reason: `${po.path} would make ${count} triples for this record (multi-valued references multiply; at most ${MAX_PER_RECORD})`, dropped: true });
        continue;
      }
      for (const s of subjects) {
        for (const p of predicates) {
          for (const o of objects) {
            for (const g of graphs.length ? graphs : [defaultGraph()]) this.add(quad(s, p, o, g));
          }
        }
      }
    }
  }

  /** `[]` when there are no graph maps (default graph); undefined when graph maps yield nothing (skip). */
  private graphs(maps: TermMap[], rec: SourceRecord, file: string): Quad_Graph[] | undefined {
    if (maps.length === 0) return [];
    const gs = maps.flatMap((g) => this.terms(g, rec, file)) as NamedNode[];
    return gs.length ? gs : undefined;
  }

  private holds(conditions: FunctionCall[], rec: SourceRecord, file: string): boolean {
    return conditions.every((c) => this.guard(rec, file, c, () => this.values(c, rec).includes('true')) ?? false);
  }

  /** Runs `f`; a RowError becomes a Problem for this row (naming the columns the expression reads). */
  private guard<T>(rec: SourceRecord, file: string, expr: Expr, f: () => T): T | undefined {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof RowError)) throw e;
      const column = e.column ?? ([...new Set(exprRefs(expr))].join(', ') || undefined);
      this.problem({ file, row: rec.row, ...(column ? { column } : {}), reason: e.message, ...(this.mappingFields ? { dropped: true } : {}) });
      return undefined;
    }
  }

  private problem(p: Problem): void {
    const key = JSON.stringify([p.file, p.row, p.column, p.reason]);
    if (!this.problems.has(key)) this.problems.set(key, p);
  }

  private add(q: Quad): void {
    const key = `${q.subject.id} ${q.predicate.id} ${q.object.id} ${q.graph.id}`;
    if (!this.quads.has(key)) this.quads.set(key, q);
  }

  // ---- terms ----

  private terms(t: TermMap, rec: SourceRecord, file: string): Quad_Object[] {
    return this.guard(rec, file, t.expr, () => this.values(t.expr, rec, t.termType === 'iri').filter((v) => v !== '').map((v) => this.term(t, v))) ?? [];
  }

  private term(t: TermMap, value: string): Quad_Object {
    if (t.termType === 'iri') return namedNode(this.iri(value));
    if (t.language) return literal(value, t.language);
    if (!t.datatype) return literal(value);
    const canonical = canonicalLiteral(value, t.datatype);
    if (canonical === undefined) throw new RowError(`'${value}' is not a valid ${shortDatatype(t.datatype)}`);
    return literal(canonical, namedNode(t.datatype));
  }

  private iri(value: string): string {
    const iri = ABSOLUTE.test(value) ? value : this.m.base !== undefined ? this.m.base + value : undefined;
    if (iri === undefined) throw new RowError(`'${value}' is not an absolute IRI and the mapping has no base`);
    if (BAD_IRI_CHAR.test(iri)) throw new RowError(`'${iri}' is not a valid IRI (spaces or <>"{}|^\`\\ are not allowed)`);
    return iri;
  }

  /**
   * The values of an expression for one record. In IRI templates the referenced values are
   * percent-encoded (one IRI path segment each), except when the whole IRI comes from one reference.
   */
  private values(e: Expr, rec: SourceRecord, iri = false): string[] {
    if (e.kind === 'function') return this.call(e, rec);
    const encode = iri && e.parts.length > 1;
    let out = [''];
    for (const part of e.parts) {
      if ('text' in part) {
        out = out.map((s) => s + part.text);
        continue;
      }
      const vs = rec.get(part.ref);
      if (vs.length === 0) return []; // an empty cell: no term, as in RML
      if (out.length * vs.length > MAX_PER_RECORD) throw new RowError(`the multi-valued references of this template make more than ${MAX_PER_RECORD} values for this record`, part.ref);
      out = out.flatMap((s) => vs.map((v) => s + (encode ? segment(v) : v)));
    }
    return out;
  }

  private call(c: FunctionCall, rec: SourceRecord): string[] {
    const def = FUNCTIONS[c.fn];
    const args: Record<string, string[]> = {};
    for (const [name, expr] of Object.entries(c.args)) args[name] = this.values(expr, rec);
    const out: string[] = [];
    for (const a of combinations(args)) {
      // A missing value (empty cell) makes no result; a constant "" (e.g. a replacement) is a value.
      if (!def.seesEmpty && Object.values(a).some((v) => v === null)) continue;
      const r = def.apply(a, this);
      if (r !== null) out.push(r);
    }
    return out;
  }

  // ---- joins ----

  /** Subjects of the joined mapping whose join values equal this record's. */
  private joined(j: JoinMap, rec: SourceRecord, file: string): NamedNode[] {
    const parent = this.byName.get(j.mapping)!;
    if (j.conditions.length === 0) return this.terms(parent.subject!, rec, file) as NamedNode[];
    const keys = this.guard(rec, file, j.conditions[0].child, () => this.keys(j.conditions.map((c) => c.child), rec)) ?? [];
    if (keys.length === 0) return [];
    const index = this.joinIndex(j, parent);
    const found = keys.flatMap((k) => index.get(k) ?? []);
    if (found.length === 0) {
      const column = [...new Set(j.conditions.flatMap((c) => exprRefs(c.child)))].join(', ') || undefined;
      const src = parent.sources.map((s) => this.source(s).file).join(', ');
      this.problem({ file, row: rec.row, ...(column ? { column } : {}), reason: `no record of mapping '${j.mapping}' (${src}) matches '${keys.map(displayKey).join("', '")}'` });
    }
    return found;
  }

  private keys(exprs: Expr[], rec: SourceRecord): string[] {
    const values: Record<string, string[]> = {};
    exprs.forEach((e, i) => (values[i] = this.values(e, rec).filter((v) => v !== '')));
    if (Object.values(values).some((v) => v.length === 0)) return [];
    return combinations(values).map((c) => JSON.stringify(exprs.map((_, i) => c[i])));
  }

  private joinIndex(j: JoinMap, parent: TriplesMap): JoinIndex {
    let index = this.joinIndexes.get(j);
    if (index) return index;
    index = new Map();
    for (const name of parent.sources) {
      const src = this.source(name);
      for (const rec of src.records) {
        if (!this.holds(parent.conditions, rec, src.file)) continue;
        const subjects = this.terms(parent.subject!, rec, src.file) as NamedNode[];
        // A parent record whose join value cannot be read (an object, too many values) is a problem of that record.
        const keys = this.guard(rec, src.file, j.conditions[0].parent, () => this.keys(j.conditions.map((c) => c.parent), rec)) ?? [];
        for (const key of keys) {
          const list = index.get(key) ?? [];
          index.set(key, [...list, ...subjects.filter((s) => !list.some((l) => l.equals(s)))]);
        }
      }
    }
    this.joinIndexes.set(j, index);
    return index;
  }
}

const displayKey = (key: string): string => (JSON.parse(key) as string[]).join("', '");

/** Lookup calls anywhere in a mapping, with the field they were written in. */
function lookups(tm: TriplesMap): { fn: FunctionCall; path: string }[] {
  const out: { fn: FunctionCall; path: string }[] = [];
  const walk = (e: Expr, path: string): void => {
    if (e.kind !== 'function') return;
    if (FUNCTIONS[e.fn].sourceParams) out.push({ fn: e, path });
    Object.values(e.args).forEach((a) => walk(a, path));
  };
  const terms = [tm.subject!, ...tm.graphs, ...tm.po.flatMap((po) => [...po.predicates, ...po.objects, ...po.graphs])];
  terms.forEach((t) => walk(t.expr, t.path));
  tm.conditions.forEach((c) => walk(c, `mapping '${tm.name}', condition`));
  tm.po.forEach((po) => po.conditions.forEach((c) => walk(c, `${po.path}.condition`)));
  return out;
}

function constantArg(call: FunctionCall, name: string): string {
  const e = call.args[name];
  return e.kind === 'template' ? e.parts.map((p) => ('text' in p ? p.text : '')).join('') : '';
}
