// The cohort definition format (schemas/cohort.schema.json is its JSON Schema; docs/cohorts.md its prose).

export type PhenotypeStatus = 'observed' | 'excluded' | 'notRecorded';
export type Sex = 'FEMALE' | 'MALE' | 'OTHER_SEX' | 'UNKNOWN_SEX';
export type Modality = 'vcf' | 'mri' | 'eeg' | 'ecg' | 'ppg' | 'oct';
export type AgeUnit = 'years' | 'months' | 'weeks' | 'days';
export type AcmgClass = 'PATHOGENIC' | 'LIKELY_PATHOGENIC' | 'UNCERTAIN_SIGNIFICANCE' | 'LIKELY_BENIGN' | 'BENIGN' | 'NOT_PROVIDED';

export interface ConceptSetItem {
  /** An HPO id, alt_id or obsolete id (resolved with a warning), or a UMLS CUI. */
  concept: string;
  includeDescendants?: boolean;
  isExcluded?: boolean;
}

export interface ConceptSet {
  id: string;
  name?: string;
  items: ConceptSetItem[];
}

/** A set of HPO terms: a named concept set, or one concept (with its descendants by default). */
export interface TermSelector {
  conceptSet?: string;
  concept?: string;
  includeDescendants?: boolean;
}

export interface PhenotypeCriterion extends TermSelector {
  status?: PhenotypeStatus;
}

export interface GeneRef {
  symbol?: string;
  id?: string;
}

export interface VariantCriterion {
  gene?: GeneRef;
  chrom?: string;
  pos?: number;
  ref?: string;
  alt?: string;
  assembly?: 'GRCh37' | 'GRCh38' | 'hg19' | 'hg38';
  hgvs?: string;
  acmgClass?: AcmgClass | AcmgClass[];
}

export interface AgeRange {
  min?: number;
  max?: number;
  unit?: AgeUnit;
}

export interface OnsetCriterion extends TermSelector, AgeRange {
  /** An HPO onset class (HP:0003674 or a descendant); descendants match too. */
  class?: string;
}

export type Criterion =
  | { all: Criterion[] }
  | { any: Criterion[] }
  | { none: Criterion[] }
  | { atLeast: { n: number; of: Criterion[] } }
  | { phenotype: PhenotypeCriterion }
  | { disease: string | { id: string } }
  | { gene: GeneRef }
  | { variant: VariantCriterion }
  | { sex: Sex }
  | { age: AgeRange }
  | { onset: OnsetCriterion }
  | { modality: Modality }
  | { site: string }
  | { publication: string | { id: string } };

export interface CohortDefinition {
  name: string;
  description?: string;
  conceptSets?: ConceptSet[];
  criteria: Criterion;
}

export const GROUP_KINDS = ['all', 'any', 'none', 'atLeast'] as const;
export type GroupKind = (typeof GROUP_KINDS)[number];
export const LEAF_KINDS = ['phenotype', 'disease', 'gene', 'variant', 'sex', 'age', 'onset', 'modality', 'site', 'publication'] as const;
export type LeafKind = (typeof LEAF_KINDS)[number];

/** The one key of a criterion object: its kind. */
export function criterionKind(c: Criterion): GroupKind | LeafKind {
  return Object.keys(c)[0] as GroupKind | LeafKind;
}

/** The children of a group criterion, or undefined for a leaf. */
export function childrenOf(c: Criterion): Criterion[] | undefined {
  if ('all' in c) return c.all;
  if ('any' in c) return c.any;
  if ('none' in c) return c.none;
  if ('atLeast' in c) return c.atLeast.of;
  return undefined;
}

/** The JSON-pointer of a group's children list: `/criteria/all`, `/criteria/atLeast/of`. */
export function childrenPointer(c: Criterion, path: string): string {
  return 'atLeast' in c ? `${path}/atLeast/of` : `${path}/${criterionKind(c)}`;
}

const FACTOR: Record<AgeUnit, number> = { years: 1, months: 1 / 12, weeks: 7 / 365.25, days: 1 / 365.25 };

/** Converts an age to years, the unit of hx:ageAtLastEncounterYears and hx:onsetYears. */
export function toYears(value: number, unit: AgeUnit = 'years'): number {
  return value * FACTOR[unit];
}
