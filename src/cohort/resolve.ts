import { curieIri } from '../model/iri.js';
import type { Ontology } from '../ontology/index.js';
import {
  childrenOf,
  childrenPointer,
  criterionKind,
  toYears,
  type AcmgClass,
  type CohortDefinition,
  type ConceptSet,
  type Criterion,
  type GeneRef,
  type Modality,
  type OnsetCriterion,
  type PhenotypeStatus,
  type Sex,
  type TermSelector,
} from './definition.js';
import { CohortDefinitionError, type DefinitionIssue } from './errors.js';

/** HP:0003674 Onset: the root of the onset classes an `onset` criterion may name. */
export const ONSET_ROOT = 'HP:0003674';

/** A concept set after resolution and expansion: the HPO terms it stands for. */
export interface ExpandedSet {
  id: string;
  terms: string[];
}

export type GeneMatch = { symbol: string } | { iri: string; id: string };

/** A criterion with every id resolved and checked: what the compiler and the explainer work from. */
export type Node =
  | { kind: 'all' | 'any' | 'none'; path: string; children: Node[] }
  | { kind: 'atLeast'; path: string; n: number; children: Node[] }
  | Leaf;

export type Leaf =
  | { kind: 'phenotype'; path: string; status: PhenotypeStatus; terms: string[]; source: string }
  | { kind: 'disease'; path: string; id: string; iri: string }
  | { kind: 'gene'; path: string; gene: GeneMatch }
  | { kind: 'variant'; path: string; variant: VariantMatch }
  | { kind: 'sex'; path: string; sex: Sex }
  | { kind: 'age'; path: string; minYears?: number; maxYears?: number }
  | { kind: 'onset'; path: string; terms?: string[]; source?: string; minYears?: number; maxYears?: number; classes?: string[] }
  | { kind: 'modality'; path: string; modality: Modality }
  | { kind: 'site'; path: string; site: string }
  | { kind: 'publication'; path: string; id: string; iri: string };

export interface VariantMatch {
  gene?: GeneMatch;
  chrom?: string;
  pos?: number;
  ref?: string;
  alt?: string;
  assembly?: string;
  hgvs?: string;
  acmgClasses?: AcmgClass[];
}

export interface ResolvedCohort {
  definition: CohortDefinition;
  hpoVersion: string;
  sets: Map<string, ExpandedSet>;
  root: Node;
  /** Ids that were usable but not current (alt_id, obsolete with replacement, CUIs mapping to several terms). */
  warnings: DefinitionIssue[];
}

/**
 * Semantic checks and expansion against the in-memory ontology: concept ids resolve (alt_ids and
 * replaced obsolete ids with a warning, CUIs through the ontology's UMLS xrefs), concept set
 * references exist, atLeast's n is reachable, ranges are ordered. All problems are reported at once.
 */
export function resolveDefinition(definition: CohortDefinition, ontology: Ontology): ResolvedCohort {
  const r = new Resolver(ontology);
  const sets = r.conceptSets(definition.conceptSets ?? []);
  const root = r.criterion(definition.criteria, '/criteria', sets);
  if (r.errors.length) throw new CohortDefinitionError(r.errors);
  return { definition, hpoVersion: ontology.version, sets, root, warnings: r.warnings };
}

class Resolver {
  readonly errors: DefinitionIssue[] = [];
  readonly warnings: DefinitionIssue[] = [];
  constructor(private readonly ontology: Ontology) {}

  conceptSets(list: ConceptSet[]): Map<string, ExpandedSet> {
    const sets = new Map<string, ExpandedSet>();
    list.forEach((cs, i) => {
      const path = `/conceptSets/${i}`;
      if (sets.has(cs.id)) this.errors.push({ path: `${path}/id`, message: `concept set id "${cs.id}" is used twice` });
      const included = new Set<string>();
      const excluded = new Set<string>();
      cs.items.forEach((item, j) => {
        const terms = this.expand(item.concept, item.includeDescendants !== false, `${path}/items/${j}/concept`);
        for (const t of terms) (item.isExcluded ? excluded : included).add(t);
      });
      for (const t of excluded) included.delete(t);
      if (included.size === 0 && cs.items.length > 0 && this.errors.length === 0) {
        this.warnings.push({ path, message: `concept set "${cs.id}" is empty after exclusions` });
      }
      sets.set(cs.id, { id: cs.id, terms: [...included].sort() });
    });
    return sets;
  }

  /** One concept (HPO id or UMLS CUI) to its current HPO terms, with descendants when asked. */
  expand(concept: string, descendants: boolean, path: string): string[] {
    const roots = this.resolveConcept(concept, path);
    if (!descendants) return roots;
    const out = new Set<string>();
    for (const r of roots) for (const d of this.ontology.descendants(r)) out.add(d);
    return [...out];
  }

  resolveConcept(concept: string, path: string): string[] {
    const cui = /^(?:UMLS:)?(C\d{7})$/.exec(concept);
    if (cui) return this.resolveCui(cui[1], path);
    const r = this.ontology.resolve(concept);
    switch (r.status) {
      case 'primary':
        return [r.id];
      case 'alt_id':
        this.warnings.push({ path, message: `${concept} is an alternative id of ${r.id} (${this.ontology.label(r.id)}); used ${r.id}` });
        return [r.id];
      case 'replaced':
        this.warnings.push({ path, message: `${concept} is obsolete in HPO ${this.ontology.version}; used its replacement ${r.id} (${this.ontology.label(r.id)})` });
        return [r.id];
      case 'obsolete':
        this.errors.push({ path, message: `${concept} is obsolete in HPO ${this.ontology.version} with no replacement${r.consider.length ? ` (consider ${r.consider.join(', ')})` : ''}` });
        return [];
      case 'unknown':
        this.errors.push({ path, message: `${concept} is not a term of HPO ${this.ontology.version}` });
        return [];
    }
  }

  resolveCui(cui: string, path: string): string[] {
    const terms = this.ontology.byUmls(cui).filter((t) => this.ontology.has(t));
    if (terms.length === 0) {
      this.errors.push({ path, message: `UMLS ${cui} maps to no current term of HPO ${this.ontology.version}` });
    } else if (terms.length > 1) {
      this.warnings.push({ path, message: `UMLS ${cui} maps to ${terms.length} HPO terms (${terms.join(', ')}); all are used` });
    }
    return terms;
  }

  /** A concept set reference or an inline concept, as a sorted term list and a readable source. */
  selector(sel: TermSelector, path: string, sets: Map<string, ExpandedSet>): { terms: string[]; source: string } {
    if (sel.conceptSet !== undefined) {
      if (sel.concept !== undefined) this.errors.push({ path, message: 'give either conceptSet or concept, not both' });
      const set = sets.get(sel.conceptSet);
      if (!set) {
        const known = [...sets.keys()];
        this.errors.push({ path: `${path}/conceptSet`, message: `unknown concept set "${sel.conceptSet}"${known.length ? ` (defined: ${known.join(', ')})` : ' (the definition has no conceptSets)'}` });
        return { terms: [], source: sel.conceptSet };
      }
      return { terms: set.terms, source: `conceptSet ${set.id}` };
    }
    const terms = this.expand(sel.concept!, sel.includeDescendants !== false, `${path}/concept`);
    return { terms: [...new Set(terms)].sort(), source: sel.concept! };
  }

  criterion(c: Criterion, path: string, sets: Map<string, ExpandedSet>): Node {
    const children = childrenOf(c);
    if (children) {
      const base = childrenPointer(c, path);
      const nodes = children.map((child, i) => this.criterion(child, `${base}/${i}`, sets));
      if ('atLeast' in c) {
        if (c.atLeast.n > children.length) {
          this.errors.push({ path: `${path}/atLeast/n`, message: `n is ${c.atLeast.n} but there are only ${children.length} criteria in "of"` });
        }
        return { kind: 'atLeast', path, n: c.atLeast.n, children: nodes };
      }
      return { kind: criterionKind(c) as 'all' | 'any' | 'none', path, children: nodes };
    }
    return this.leaf(c, path, sets);
  }

  leaf(c: Criterion, path: string, sets: Map<string, ExpandedSet>): Leaf {
    const at = `${path}/${criterionKind(c)}`;
    if ('phenotype' in c) {
      const { terms, source } = this.selector(c.phenotype, at, sets);
      return { kind: 'phenotype', path, status: c.phenotype.status ?? 'observed', terms, source };
    }
    if ('disease' in c) {
      const id = typeof c.disease === 'string' ? c.disease : c.disease.id;
      return { kind: 'disease', path, id, iri: curieIri(id) };
    }
    if ('gene' in c) return { kind: 'gene', path, gene: geneMatch(c.gene) };
    if ('variant' in c) {
      const v = c.variant;
      const acmg = v.acmgClass === undefined ? undefined : Array.isArray(v.acmgClass) ? v.acmgClass : [v.acmgClass];
      return {
        kind: 'variant', path,
        variant: {
          gene: v.gene && geneMatch(v.gene),
          chrom: v.chrom?.replace(/^chr/i, '').toUpperCase(),
          pos: v.pos,
          ref: v.ref?.toUpperCase(),
          alt: v.alt?.toUpperCase(),
          assembly: v.assembly && (v.assembly === 'hg19' ? 'GRCh37' : v.assembly === 'hg38' ? 'GRCh38' : v.assembly),
          hgvs: v.hgvs,
          acmgClasses: acmg,
        },
      };
    }
    if ('sex' in c) return { kind: 'sex', path, sex: c.sex };
    if ('age' in c) return { kind: 'age', path, ...this.range(c.age, at) };
    if ('onset' in c) return this.onset(c.onset, path, at, sets);
    if ('modality' in c) return { kind: 'modality', path, modality: c.modality };
    if ('site' in c) return { kind: 'site', path, site: c.site };
    const pub = (c as { publication: string | { id: string } }).publication;
    const id = typeof pub === 'string' ? pub : pub.id;
    return { kind: 'publication', path, id, iri: curieIri(id) };
  }

  range(r: { min?: number; max?: number; unit?: 'years' | 'months' | 'weeks' | 'days' }, path: string): { minYears?: number; maxYears?: number } {
    if (r.min !== undefined && r.max !== undefined && r.min > r.max) this.errors.push({ path, message: `min (${r.min}) is greater than max (${r.max})` });
    return {
      minYears: r.min === undefined ? undefined : toYears(r.min, r.unit),
      maxYears: r.max === undefined ? undefined : toYears(r.max, r.unit),
    };
  }

  onset(o: OnsetCriterion, path: string, at: string, sets: Map<string, ExpandedSet>): Leaf {
    const selected = o.conceptSet !== undefined || o.concept !== undefined ? this.selector(o, at, sets) : undefined;
    if (o.class !== undefined && (o.min !== undefined || o.max !== undefined)) {
      this.errors.push({ path: at, message: 'give either an onset class or an age range (min/max), not both' });
    }
    let classes: string[] | undefined;
    if (o.class !== undefined) {
      const ids = this.resolveConcept(o.class, `${at}/class`);
      for (const id of ids) {
        if (!this.ontology.isA(id, ONSET_ROOT)) this.errors.push({ path: `${at}/class`, message: `${o.class} (${this.ontology.label(id)}) is not an onset class (a descendant of ${ONSET_ROOT} Onset)` });
      }
      classes = ids.flatMap((id) => this.ontology.descendants(id)).sort();
    }
    return { kind: 'onset', path, terms: selected?.terms, source: selected?.source, classes, ...this.range(o, at) };
  }
}

function geneMatch(g: GeneRef): GeneMatch {
  return g.id !== undefined ? { id: g.id, iri: curieIri(g.id) } : { symbol: g.symbol! };
}

/** Every leaf of a criterion tree, depth first, in definition order. */
export function leaves(node: Node): Leaf[] {
  if ('children' in node) return node.children.flatMap(leaves);
  return [node];
}
