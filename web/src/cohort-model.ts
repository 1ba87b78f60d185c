// The cohort builder edits a cohort definition in place (the format of docs/cohorts.md, typed by
// src/cohort/definition.ts): what the form shows, the JSON panel shows, and the server receives
// are one object. These helpers are DOM-free (unit-tested in node).

import {
  childrenOf, criterionKind, GROUP_KINDS, LEAF_KINDS,
  type CohortDefinition, type ConceptSet, type Criterion, type GroupKind, type LeafKind,
} from '../../src/cohort/definition.js';

export { childrenOf, criterionKind, GROUP_KINDS, LEAF_KINDS };
export type { CohortDefinition, ConceptSet, Criterion, GroupKind, LeafKind };
export type Kind = GroupKind | LeafKind;

export const KIND_LABELS: Record<Kind, string> = {
  all: 'All of', any: 'Any of', none: 'None of', atLeast: 'At least n of',
  phenotype: 'Phenotype', gene: 'Gene', variant: 'Variant', disease: 'Disease', sex: 'Sex', age: 'Age',
  onset: 'Onset', modality: 'Record modality', site: 'Site', publication: 'Publication',
};

export const SEXES = ['FEMALE', 'MALE', 'OTHER_SEX', 'UNKNOWN_SEX'] as const;
export const MODALITIES = ['vcf', 'mri', 'eeg', 'ecg', 'ppg', 'oct'] as const;
export const STATUSES = ['observed', 'excluded', 'notRecorded'] as const;
export const ACMG = ['PATHOGENIC', 'LIKELY_PATHOGENIC', 'UNCERTAIN_SIGNIFICANCE', 'LIKELY_BENIGN', 'BENIGN', 'NOT_PROVIDED'] as const;
export const AGE_UNITS = ['years', 'months', 'weeks', 'days'] as const;

export function emptyDefinition(name = 'my-cohort'): CohortDefinition {
  return { name, conceptSets: [], criteria: { all: [] } };
}

export function isGroup(kind: Kind): kind is GroupKind {
  return (GROUP_KINDS as readonly string[]).includes(kind);
}

/** A new criterion of a kind, filled with what a user most likely means (the first concept set). */
export function defaultCriterion(kind: Kind, def: CohortDefinition, keepChildren: Criterion[] = []): Criterion {
  const firstSet = def.conceptSets?.[0]?.id;
  switch (kind) {
    case 'all': return { all: keepChildren };
    case 'any': return { any: keepChildren };
    case 'none': return { none: keepChildren };
    case 'atLeast': return { atLeast: { n: Math.min(1, keepChildren.length) || 1, of: keepChildren } };
    case 'phenotype': return { phenotype: { ...(firstSet ? { conceptSet: firstSet } : {}), status: 'observed' } };
    case 'gene': return { gene: { symbol: '' } };
    case 'variant': return { variant: {} };
    case 'disease': return { disease: '' };
    case 'sex': return { sex: 'FEMALE' };
    case 'age': return { age: { min: 0, unit: 'years' } };
    case 'onset': return { onset: { ...(firstSet ? { conceptSet: firstSet } : {}), min: 0, max: 1 } };
    case 'modality': return { modality: 'mri' };
    case 'site': return { site: '' };
    case 'publication': return { publication: '' };
  }
}

/** Changes a criterion's kind in place; a group keeps its children when it becomes another group. */
export function changeKind(c: Criterion, kind: Kind, def: CohortDefinition): void {
  const children = childrenOf(c) ?? [];
  const next = defaultCriterion(kind, def, isGroup(kind) ? children : []);
  for (const k of Object.keys(c)) delete (c as Record<string, unknown>)[k];
  Object.assign(c, next);
}

/** A concept set id not used yet: `set-1`, `set-2`, ... */
export function freshSetId(def: CohortDefinition, base = 'set'): string {
  const used = new Set((def.conceptSets ?? []).map((s) => s.id));
  for (let i = 1; ; i++) if (!used.has(`${base}-${i}`)) return `${base}-${i}`;
}

/** Every criterion of the tree, depth first. */
export function* walk(c: Criterion): Generator<Criterion> {
  yield c;
  for (const child of childrenOf(c) ?? []) yield* walk(child);
}

/** Renames a concept set and every criterion that refers to it. */
export function renameConceptSet(def: CohortDefinition, from: string, to: string): void {
  const set = def.conceptSets?.find((s) => s.id === from);
  if (!set) return;
  set.id = to;
  for (const c of walk(def.criteria)) {
    const selector = 'phenotype' in c ? c.phenotype : 'onset' in c ? c.onset : undefined;
    if (selector?.conceptSet === from) selector.conceptSet = to;
  }
}

/** How many criteria use a concept set (a set in use is not removed silently). */
export function setUses(def: CohortDefinition, id: string): number {
  let n = 0;
  for (const c of walk(def.criteria)) {
    const selector = 'phenotype' in c ? c.phenotype : 'onset' in c ? c.onset : undefined;
    if (selector?.conceptSet === id) n++;
  }
  return n;
}

/** Sets or deletes an optional field: blank inputs leave the key out rather than sending "". */
export function setField<T extends object>(obj: T, key: keyof T & string, value: unknown): void {
  if (value === undefined || value === '' || (typeof value === 'number' && Number.isNaN(value))) delete (obj as Record<string, unknown>)[key];
  else (obj as Record<string, unknown>)[key] = value;
}

/** The definition as sent and shown: without an empty concept set list or description. */
export function cleanDefinition(def: CohortDefinition): CohortDefinition {
  return {
    name: def.name,
    ...(def.description ? { description: def.description } : {}),
    ...(def.conceptSets?.length ? { conceptSets: def.conceptSets } : {}),
    criteria: def.criteria,
  };
}

/**
 * A definition with every default written out (includeDescendants true, isExcluded false, status
 * observed), keys sorted: two definitions that mean the same compare equal as JSON.
 */
export function normalised(def: CohortDefinition): unknown {
  const sets = (def.conceptSets ?? []).map((s: ConceptSet) => ({
    id: s.id, ...(s.name ? { name: s.name } : {}),
    items: s.items.map((i) => ({ concept: i.concept, includeDescendants: i.includeDescendants ?? true, isExcluded: i.isExcluded ?? false })),
  }));
  const crit = (c: Criterion): unknown => {
    const kind = criterionKind(c);
    if (kind === 'atLeast' && 'atLeast' in c) return { atLeast: { n: c.atLeast.n, of: c.atLeast.of.map(crit) } };
    const children = childrenOf(c);
    if (children) return { [kind]: children.map(crit) };
    if ('phenotype' in c) return { phenotype: sortKeys({ status: 'observed', ...(c.phenotype.concept ? { includeDescendants: true } : {}), ...c.phenotype }) };
    return sortKeys(c);
  };
  return sortKeys({ name: def.name, ...(def.description ? { description: def.description } : {}), conceptSets: sets, criteria: crit(def.criteria) });
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}
