// The normalised form of a YARRRML document. `load.ts` turns the many YAML shorthands into these
// shapes once, so the engine in `run.ts` only ever sees one way of saying each thing.

/** A piece of a template: fixed text, or a reference to a column / JSONPath of the current record. */
export type Part = { text: string } | { ref: string };

/** A value computed per record: a template (a constant is a template without references) or a function call. */
export type Expr = { kind: 'template'; parts: Part[] } | FunctionCall;

export interface FunctionCall {
  kind: 'function';
  /** Full IRI of the function, as registered in functions.ts. */
  fn: string;
  /** Argument values by the parameter's local name (`valueParameter`, `str`...). */
  args: Record<string, Expr>;
}

export type TermType = 'iri' | 'literal';

/** How one subject, predicate, object or graph term is made from a record. */
export interface TermMap {
  expr: Expr;
  termType: TermType;
  datatype?: string;
  language?: string;
  /** Where it was written, e.g. `po[2].o`, for messages. */
  path: string;
}

/** `equal(child, parent)`: a record of the parent mapping joins when its `parent` value equals the child's `child` value. */
export interface JoinCondition {
  child: Expr;
  parent: Expr;
}

/** An object that is the subject of another mapping's records (RML's referencing object map). */
export interface JoinMap {
  mapping: string;
  conditions: JoinCondition[];
  path: string;
}

export interface PredicateObjectMap {
  predicates: TermMap[];
  objects: TermMap[];
  joins: JoinMap[];
  graphs: TermMap[];
  /** All must hold for the record, else this po yields nothing. */
  conditions: FunctionCall[];
  path: string;
}

export type Formulation = 'csv' | 'jsonpath';

export interface SourceDef {
  name: string;
  /** Absolute path (resolved against the mapping file's folder). */
  access: string;
  formulation: Formulation;
  /** CSV only: field separator (`,` by default, tab for `tsv`). */
  delimiter: string;
  /** JSONPath only: which nodes are the records (`$` by default). */
  iterator: string;
}

export interface TriplesMap {
  name: string;
  /** Names of entries of `Mapping.sources`. */
  sources: string[];
  subject?: TermMap;
  graphs: TermMap[];
  conditions: FunctionCall[];
  po: PredicateObjectMap[];
}

export interface Mapping {
  /** The mapping file, as given to loadMapping; every message names it. */
  file: string;
  base?: string;
  prefixes: Record<string, string>;
  sources: Record<string, SourceDef>;
  mappings: TriplesMap[];
}

/** A mistake in the mapping itself: names the mapping file, the mapping and the field. */
export class MappingError extends Error {
  constructor(
    readonly file: string,
    readonly where: string,
    readonly reason: string,
  ) {
    super(`${file}: ${where ? where + ': ' : ''}${reason}`);
    this.name = 'MappingError';
  }
}

/** A problem with one record of a source; the record is skipped (or the one term), the run goes on. */
export interface Problem {
  file: string;
  row: number;
  column?: string;
  reason: string;
  /** The row was still mapped (its subject was made): only this field is missing from the graph. */
  dropped?: boolean;
}

/** Thrown while evaluating one record; the engine turns it into a Problem. */
export class RowError extends Error {
  constructor(
    reason: string,
    readonly column?: string,
  ) {
    super(reason);
    this.name = 'RowError';
  }
}
