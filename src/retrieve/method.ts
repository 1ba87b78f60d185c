// Similarity methods by name: a term measure with an aggregation (`lin-bma`), or a set measure on
// ancestor-closed profiles (`jaccard`, `cosine`). Excluded features can be used two ways: `+neg`
// damps candidates that contradict the query (observed in one, excluded in the other); `+excl` raises
// candidates excluded for the same features (examined for the same things).

export type TermMeasure = 'resnik' | 'lin' | 'jc';
export type SetMeasure = 'jaccard' | 'cosine';
export type Aggregation = 'bma' | 'bmwa' | 'funsimmax';

export interface Method {
  name: string;
  measure: TermMeasure | SetMeasure;
  /** Only for term measures. */
  aggregation?: Aggregation;
  /** Penalise observed-vs-excluded contradictions between query and candidate. */
  negative: boolean;
  /** Raise the score of candidates that share excluded features with the query. */
  assessed: boolean;
}

export const TERM_MEASURES: readonly TermMeasure[] = ['resnik', 'lin', 'jc'];
export const SET_MEASURES: readonly SetMeasure[] = ['jaccard', 'cosine'];
export const AGGREGATIONS: readonly Aggregation[] = ['bma', 'bmwa', 'funsimmax'];

/** Every method, plain, with negative evidence (+neg) and with shared excluded features (+excl), in table order. */
export function allMethodNames(withExcluded = true): string[] {
  const base = [...TERM_MEASURES.flatMap((m) => AGGREGATIONS.map((a) => `${m}-${a}`)), ...SET_MEASURES];
  return withExcluded ? [...base, ...base.map((b) => `${b}+neg`), ...base.map((b) => `${b}+excl`)] : base;
}

/**
 * The default for patient retrieval, chosen by publication-grouped evaluation on the dev
 * phenopackets (docs/retrieval.md): it has the best MRR there (0.690 vs 0.589 for Resnik BMA).
 */
export const DEFAULT_METHOD = 'lin-bma+excl';
/** The baseline every method is compared against. */
export const BASELINE_METHOD = 'resnik-bma';

export function parseMethod(name: string): Method {
  const [core, ...mods] = name.trim().toLowerCase().split('+');
  const bad = mods.filter((m) => m !== 'neg' && m !== 'excl');
  const negative = mods.includes('neg');
  const assessed = mods.includes('excl');
  const suffix = (negative ? '+neg' : '') + (assessed ? '+excl' : '');
  const unknown = (): Error => new Error(`unknown method '${name}': expected one of ${allMethodNames(false).join(', ')}, optionally with +neg and/or +excl`);
  if (bad.length) throw unknown();
  if ((SET_MEASURES as readonly string[]).includes(core)) return { name: core + suffix, measure: core as SetMeasure, negative, assessed };
  const [measure, aggregation = 'bma', ...rest] = core.split('-');
  if (rest.length || !(TERM_MEASURES as readonly string[]).includes(measure) || !(AGGREGATIONS as readonly string[]).includes(aggregation)) throw unknown();
  return { name: `${measure}-${aggregation}${suffix}`, measure: measure as TermMeasure, aggregation: aggregation as Aggregation, negative, assessed };
}
