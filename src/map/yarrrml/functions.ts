import { curieIri } from '../../model/iri.js';
import { RowError } from './model.js';

// The functions a mapping may call (FnO IRIs, as RML processors name them). Kept deliberately
// small: each one is something real clinical exports need, and each is documented in docs/mappings.md.

export const GREL = 'http://users.ugent.be/~bjdmeest/function/grel.ttl#';
export const IDLAB_FN = 'https://w3id.org/imec/idlab/function#';
export const HXF = 'https://w3id.org/harmonia/function#';

/** What a function may ask of the running engine. */
export interface FunctionContext {
  /** `from` value -> `to` value over the records of a declared source. */
  table(source: string, from: string, to: string): { file: string; rows: Map<string, string> };
}

type Args = Record<string, string | null>;

export interface FunctionDef {
  /** Parameter local names (the part after `#`, `/` or `:` of the parameter IRI). */
  params: string[];
  required: string[];
  /** Parameters whose value must be written in the mapping, not taken from the data. */
  constant?: string[];
  /** Parameters that name a declared source. */
  sourceParams?: string[];
  /** Other spellings of a parameter: YARRRML's `equal` shorthand uses `str1`/`str2`. */
  aliases?: Record<string, string>;
  /** True when the function must also see empty values (the null tests); otherwise empty in -> empty out. */
  seesEmpty?: boolean;
  apply(args: Args, ctx: FunctionContext): string | null;
}

const text = (f: (s: string) => string): FunctionDef => ({
  params: ['valueParameter'],
  required: ['valueParameter'],
  apply: (a) => f(a.valueParameter!),
});

const compare = (same: boolean): FunctionDef => ({
  params: ['valueParameter', 'valueParameter2'],
  required: ['valueParameter', 'valueParameter2'],
  aliases: { str1: 'valueParameter', str2: 'valueParameter2' },
  seesEmpty: true,
  // An empty cell compares as "", so `notEqual($(x), "")` skips empty values.
  apply: (a) => String(((a.valueParameter ?? '') === (a.valueParameter2 ?? '')) === same),
});

const nullTest = (isNull: boolean): FunctionDef => ({
  params: ['str'],
  required: ['str'],
  seesEmpty: true,
  apply: (a) => String((a.str === null || a.str === '') === isNull),
});

export const FUNCTIONS: Record<string, FunctionDef> = {
  [GREL + 'toUpperCase']: text((s) => s.toUpperCase()),
  [GREL + 'toLowerCase']: text((s) => s.toLowerCase()),
  [GREL + 'string_trim']: text((s) => s.trim()),
  [GREL + 'string_replace']: {
    params: ['valueParameter', 'p_string_find', 'p_string_replace'],
    required: ['valueParameter', 'p_string_find', 'p_string_replace'],
    apply: (a) => a.valueParameter!.split(a.p_string_find!).join(a.p_string_replace ?? ''),
  },
  [IDLAB_FN + 'equal']: compare(true),
  [IDLAB_FN + 'notEqual']: compare(false),
  [IDLAB_FN + 'isNull']: nullTest(true),
  [IDLAB_FN + 'isNotNull']: nullTest(false),
  [HXF + 'curieIri']: {
    params: ['curie'],
    required: ['curie'],
    apply: (a) => {
      const curie = a.curie!.trim();
      if (!/^[A-Za-z][\w.-]*:\S+$/.test(curie)) throw new RowError(`'${curie}' is not a CURIE like HP:0001250`);
      return curieIri(curie);
    },
  },
  [HXF + 'lookup']: {
    params: ['str', 'source', 'fromColumn', 'toColumn'],
    required: ['str', 'source', 'fromColumn', 'toColumn'],
    constant: ['source', 'fromColumn', 'toColumn'],
    sourceParams: ['source'],
    apply: (a, ctx) => {
      const { file, rows } = ctx.table(a.source!, a.fromColumn!, a.toColumn!);
      const found = rows.get(a.str!);
      if (found === undefined) throw new RowError(`'${a.str}' is not in column '${a.fromColumn}' of ${file}`);
      return found;
    },
  },
};

/** YARRRML's short function names. */
export const SHORT_FUNCTIONS: Record<string, string> = {
  equal: IDLAB_FN + 'equal',
  notEqual: IDLAB_FN + 'notEqual',
  isNull: IDLAB_FN + 'isNull',
  isNotNull: IDLAB_FN + 'isNotNull',
};

/** `grel:valueParameter`, `http://...#valueParameter` and `valueParameter` all name the same parameter. */
export function localName(name: string): string {
  const m = /[#/:]([^#/:]*)$/.exec(name);
  return m ? m[1] : name;
}

/**
 * Multi-valued JSON references multiply (three 100-value references in one template are a million
 * terms): one record may make at most this many values of one term, function results or triples.
 */
export const MAX_PER_RECORD = 10_000;

/** Cartesian product of argument values, so a multi-valued JSON reference yields one result per value. */
export function combinations(values: Record<string, (string | null)[]>): Args[] {
  const count = Object.values(values).reduce((n, vs) => n * Math.max(1, vs.length), 1);
  if (count > MAX_PER_RECORD) throw new RowError(`the multi-valued references of one function call make ${count} combinations for this record (at most ${MAX_PER_RECORD})`);
  let out: Args[] = [{}];
  for (const [name, vs] of Object.entries(values)) {
    const options = vs.length ? vs : [null];
    out = out.flatMap((args) => options.map((v) => ({ ...args, [name]: v })));
  }
  return out;
}
