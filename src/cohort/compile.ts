import { HX, OBO, XSD } from '../model/namespaces.js';
import type { GeneMatch, Leaf, Node, ResolvedCohort } from './resolve.js';
import { estimate, type Cardinalities } from './estimate.js';
import { hpoTerm, iriRef, numberLiteral, stringLiteral, valuesBlock } from './sparql.js';

/**
 * Alternatives measured in bench/cohort.ts (docs/cohorts.md, "Performance"): the defaults are the
 * fastest on Oxigraph over the dev store.
 */
export interface CompileOptions {
  /** How a term set is matched: a VALUES block joined with the edge, or FILTER(?t IN (...)). */
  termMatch?: 'values' | 'filterIn';
  /** How `none` and `notRecorded` exclude patients: FILTER NOT EXISTS or MINUS. */
  negation?: 'notExists' | 'minus';
  /** Term-set criteria as `{ SELECT DISTINCT ?p ... }` subqueries (no evidence variable outside). */
  subqueries?: boolean;
  /** Store statistics: when given, the criteria of an `all` are written most selective first. */
  cardinalities?: Cardinalities;
}

export const DEFAULT_COMPILE_OPTIONS: Required<Omit<CompileOptions, 'cardinalities'>> = { termMatch: 'values', negation: 'minus', subqueries: true };

/** A leaf as a graph pattern binding ?p; `negated` leaves select the patients the pattern does not match. */
export interface LeafPattern {
  pattern: string;
  /** The variable that carries the concrete term/value that made the leaf match (for explain). */
  evidence?: string;
  negated: boolean;
}

const PREFIXES = `PREFIX hx: <${HX}>\nPREFIX obo: <${OBO}>\nPREFIX xsd: <${XSD}>\n`;

interface Block {
  patterns: string[];
  filters: string[];
}

/** Compiles a resolved cohort to one readable SELECT of the member ids. */
export function compileCohort(cohort: ResolvedCohort, options: CompileOptions = {}): string {
  const c = new Compiler({ ...DEFAULT_COMPILE_OPTIONS, ...options });
  const block = c.node(cohort.root, '  ');
  const name = cohort.definition.name.replace(/[\r\n]/g, ' ');
  // Selective criteria first and the id last: Oxigraph joins in the written order, and starting
  // from every patient (or every hx:id) costs a scan of the whole store.
  const anchor = binds(block) ? [] : ['?p a hx:Patient .'];
  const body = render({ patterns: [...anchor, ...block.patterns, '?p hx:id ?id .'], filters: block.filters }, '  ');
  return `${PREFIXES}# cohort ${name} (HPO ${cohort.hpoVersion})\nSELECT DISTINCT ?id WHERE {\n${body}}\n`;
}

/** One leaf on its own (explain): the patients it matches, with the evidence that made it match. */
export function compileLeaf(leaf: Leaf, options: CompileOptions = {}): { sparql: string; evidence?: string; negated: boolean } {
  const c = new Compiler({ ...DEFAULT_COMPILE_OPTIONS, ...options, subqueries: false });
  const lp = c.leaf(leaf, '  ');
  // For a negated leaf the pattern is its positive core: the evidence is what made it fail.
  const evidence = lp.evidence;
  const select = evidence ? `?id ${evidence}` : '?id';
  return { sparql: `${PREFIXES}SELECT DISTINCT ${select} WHERE {\n  ?p hx:id ?id .\n  ${lp.pattern}\n}\n`, evidence, negated: lp.negated };
}

/** Whether a block has a pattern that binds ?p (not only comments and filters). */
function binds(block: Block): boolean {
  return block.patterns.some((p) => !p.startsWith('#'));
}

function render(block: Block, indent: string): string {
  return [...block.patterns, ...block.filters].map((l) => `${indent}${l}\n`).join('');
}

class Compiler {
  private n = 0;
  constructor(private readonly options: Required<Omit<CompileOptions, 'cardinalities'>> & CompileOptions) {}

  /** Oxigraph joins in the written order, so the most selective criteria go first. */
  private ordered(children: Node[]): Node[] {
    const stats = this.options.cardinalities;
    if (!stats) return children;
    return children.map((n) => ({ n, e: estimate(n, stats) })).sort((a, b) => a.e - b.e).map((x) => x.n);
  }

  private fresh(prefix: string): string {
    return `?${prefix}${++this.n}`;
  }

  node(node: Node, indent: string): Block {
    switch (node.kind) {
      case 'all': {
        const blocks = this.ordered(node.children).map((c) => this.node(c, indent));
        return { patterns: [`# ${node.path}: all of`, ...blocks.flatMap((b) => b.patterns)], filters: blocks.flatMap((b) => b.filters) };
      }
      case 'any':
        return { patterns: [`# ${node.path}: any of`, this.union(node.children, indent)], filters: [] };
      case 'none':
        return { patterns: [`# ${node.path}: none of`], filters: node.children.map((c) => this.negate(this.node(c, indent + '  '), indent)) };
      case 'atLeast':
        return { patterns: [`# ${node.path}: at least ${node.n} of`, this.atLeast(node.n, node.children, indent)], filters: [] };
      default: {
        const lp = this.leaf(node, indent);
        const comment = `# ${node.path}: ${describeLeaf(node)}`;
        if (!lp.negated) return { patterns: [comment, lp.pattern], filters: [] };
        return { patterns: [comment], filters: [this.negate({ patterns: [lp.pattern], filters: [] }, indent)] };
      }
    }
  }

  /** A block that stands alone (a UNION branch): it must bind ?p even when it only filters. */
  private standalone(block: Block, indent: string): string {
    const patterns = binds(block) ? block.patterns : ['?p a hx:Patient .', ...block.patterns];
    return `{\n${render({ patterns, filters: block.filters }, indent + '  ')}${indent}}`;
  }

  private negate(block: Block, indent: string): string {
    if (this.options.negation === 'minus') return `MINUS ${this.standalone(block, indent)}`;
    return `FILTER NOT EXISTS {\n${render(block, indent + '  ')}${indent}}`;
  }

  private union(children: Node[], indent: string): string {
    if (!this.options.subqueries) return children.map((c) => this.standalone(this.node(c, indent + '  '), indent)).join(' UNION ');
    // Measured: a UNION joined with later patterns is re-scanned per solution; as a DISTINCT ?p
    // subquery it is answered once (NF1 or STXBP1, aged 2-18: 66 -> 18 ms).
    const inner = indent + '  ';
    const branches = children.map((c) => this.standalone(this.node(c, inner + '  '), inner)).join(' UNION ');
    return `{ SELECT DISTINCT ?p WHERE {\n${inner}${branches}\n${indent}} }`;
  }

  private atLeast(n: number, children: Node[], indent: string): string {
    const k = this.fresh('k');
    const inner = indent + '    ';
    const branches = children.map((c, i) => {
      const b = this.node(c, inner + '  ');
      const anchored = binds(b) ? b.patterns : ['?p a hx:Patient .', ...b.patterns];
      return this.standalone({ patterns: [...anchored, `BIND(${i} AS ${k})`], filters: b.filters }, inner);
    });
    return `{\n${indent}  SELECT ?p WHERE {\n${inner}${branches.join(' UNION ')}\n${indent}  } GROUP BY ?p HAVING (COUNT(DISTINCT ${k}) >= ${n})\n${indent}}`;
  }

  private terms(variable: string, ids: string[], indent: string): string {
    const items = ids.map(hpoTerm);
    if (this.options.termMatch === 'filterIn') return `FILTER(${variable} IN (${items.join(', ')}))`;
    return valuesBlock(variable, items, indent);
  }

  /** A term-set match on `?p <edge> ?t`, in the configured form. */
  private termEdge(edge: string, ids: string[], indent: string): { pattern: string; evidence: string } {
    const t = this.fresh('t');
    if (this.options.termMatch === 'filterIn') return { pattern: `?p ${edge} ${t} . ${this.terms(t, ids, indent)}`, evidence: t };
    return { pattern: `${this.terms(t, ids, indent)}\n${indent}?p ${edge} ${t} .`, evidence: t };
  }

  leaf(leaf: Leaf, indent: string): LeafPattern {
    switch (leaf.kind) {
      case 'phenotype':
        return this.phenotype(leaf, indent);
      case 'disease':
        return { pattern: `?p hx:hasDisease ${iriRef(leaf.iri)} .`, negated: false };
      case 'gene': {
        const g = this.fresh('g');
        return { pattern: `?p hx:hasGene ${g} .${geneFilter(g, leaf.gene)}`, evidence: g, negated: false };
      }
      case 'variant':
        return this.variant(leaf, indent);
      case 'sex':
        return { pattern: `?p hx:sex ${stringLiteral(leaf.sex)} .`, negated: false };
      case 'age': {
        const a = this.fresh('age');
        return { pattern: `?p hx:ageAtLastEncounterYears ${a} .${rangeFilter(a, leaf.minYears, leaf.maxYears)}`, evidence: a, negated: false };
      }
      case 'onset':
        return this.onset(leaf, indent);
      case 'modality': {
        const m = stringLiteral(leaf.modality);
        // A record of that modality (ingested VCF, image, signal...), or a phenopacket file entry naming it.
        return { pattern: `{ SELECT DISTINCT ?p WHERE { { ?p hx:hasRecord/hx:modality ${m} } UNION { ?p hx:modality ${m} } UNION { ?p hx:file/hx:modality ${m} } } }`, negated: false };
      }
      case 'site':
        return { pattern: `{ SELECT DISTINCT ?p WHERE { { ?p hx:hasRecord/hx:site ${stringLiteral(leaf.site)} } UNION { ?p hx:site ${stringLiteral(leaf.site)} } } }`, negated: false };
      case 'publication':
        return { pattern: `?p hx:publication ${iriRef(leaf.iri)} .`, negated: false };
    }
  }

  private phenotype(leaf: Extract<Leaf, { kind: 'phenotype' }>, indent: string): LeafPattern {
    if (leaf.status === 'notRecorded') {
      const t = this.fresh('t');
      const pattern = `${this.terms(t, leaf.terms, indent)}\n${indent}{ ?p hx:hasPhenotype ${t} } UNION { ?p hx:excludedPhenotype ${t} }`;
      return { pattern, evidence: t, negated: true };
    }
    const { pattern, evidence } = this.termEdge(leaf.status === 'observed' ? 'hx:hasPhenotype' : 'hx:excludedPhenotype', leaf.terms, indent);
    if (!this.options.subqueries) return { pattern, evidence, negated: false };
    // Measured: a DISTINCT ?p subquery is answered once and hash-joined; written inline, Oxigraph
    // probes every (patient, term) pair of the set for each patient bound so far.
    return { pattern: `{ SELECT DISTINCT ?p WHERE {\n${indent}  ${pattern.replace(/\n/g, '\n  ')}\n${indent}} }`, evidence, negated: false };
  }

  private variant(leaf: Extract<Leaf, { kind: 'variant' }>, indent: string): LeafPattern {
    const v = this.fresh('v');
    const m = leaf.variant;
    const lines = [`?p hx:hasVariant ${v} .`];
    if (m.gene) {
      const g = this.fresh('g');
      lines.push(`${v} hx:gene ${g} .${geneFilter(g, m.gene)}`);
    }
    if (m.chrom !== undefined) lines.push(`${v} hx:chrom ${stringLiteral(m.chrom)} .`);
    if (m.pos !== undefined) lines.push(`${v} hx:pos ${m.pos} .`);
    if (m.ref !== undefined) lines.push(`${v} hx:ref ${stringLiteral(m.ref)} .`);
    if (m.alt !== undefined) lines.push(`${v} hx:alt ${stringLiteral(m.alt)} .`);
    if (m.assembly !== undefined) lines.push(`${v} hx:assembly ${stringLiteral(m.assembly)} .`);
    if (m.hgvs !== undefined) lines.push(`${v} hx:hgvs ${stringLiteral(m.hgvs)} .`);
    if (m.acmgClasses) {
      const c = this.fresh('acmg');
      lines.push(`${valuesBlock(c, m.acmgClasses.map(stringLiteral), indent)} ${v} hx:acmgClass ${c} .`);
    }
    return { pattern: lines.join(`\n${indent}`), evidence: v, negated: false };
  }

  private onset(leaf: Extract<Leaf, { kind: 'onset' }>, indent: string): LeafPattern {
    const f = this.fresh('f');
    const t = this.fresh('t');
    const lines: string[] = [];
    if (leaf.terms) lines.push(this.terms(t, leaf.terms, indent));
    lines.push(`?p hx:phenotypicFeature ${f} . ${f} hx:excluded false ; hx:type ${t} .`);
    if (leaf.classes) {
      const c = this.fresh('onset');
      lines.push(`${valuesBlock(c, leaf.classes.map(hpoTerm), indent)} ${f} hx:onsetClass ${c} .`);
    }
    if (leaf.minYears !== undefined || leaf.maxYears !== undefined) {
      const y = this.fresh('years');
      lines.push(`${f} hx:onsetYears ${y} .${rangeFilter(y, leaf.minYears, leaf.maxYears)}`);
    }
    return { pattern: lines.join(`\n${indent}`), evidence: t, negated: false };
  }
}

function geneFilter(g: string, gene: GeneMatch): string {
  return 'symbol' in gene ? ` ${g} hx:symbol ${stringLiteral(gene.symbol)} .` : ` FILTER(${g} = ${iriRef(gene.iri)})`;
}

function rangeFilter(v: string, min?: number, max?: number): string {
  const tests: string[] = [];
  if (min !== undefined) tests.push(`${v} >= ${numberLiteral(min)}`);
  if (max !== undefined) tests.push(`${v} <= ${numberLiteral(max)}`);
  return tests.length ? ` FILTER(${tests.join(' && ')})` : '';
}

/** A one-line, human description of a leaf: the SPARQL comments and the explain output use it. */
export function describeLeaf(leaf: Leaf): string {
  switch (leaf.kind) {
    case 'phenotype':
      return `phenotype ${leaf.status} in ${leaf.source} (${leaf.terms.length} HPO terms)`;
    case 'disease':
      return `disease ${leaf.id}`;
    case 'gene':
      return `gene ${'symbol' in leaf.gene ? leaf.gene.symbol : leaf.gene.id}`;
    case 'variant': {
      const v = leaf.variant;
      const parts = [
        v.gene && ('symbol' in v.gene ? v.gene.symbol : v.gene.id),
        v.chrom !== undefined && `${v.assembly ?? ''}${v.assembly ? ' ' : ''}chr${v.chrom}${v.pos !== undefined ? ':' + v.pos : ''}${v.ref ? ' ' + v.ref + '>' + (v.alt ?? '?') : ''}`,
        v.hgvs,
        v.acmgClasses?.join('|'),
      ].filter(Boolean);
      return `variant ${parts.join(' ')}`;
    }
    case 'sex':
      return `sex ${leaf.sex}`;
    case 'age':
      return `age at last encounter ${range(leaf.minYears, leaf.maxYears)}`;
    case 'onset':
      return `onset of ${leaf.source ?? 'any observed phenotype'} ${leaf.classes ? `in an onset class (${leaf.classes.length} terms)` : range(leaf.minYears, leaf.maxYears)}`;
    case 'modality':
      return `modality ${leaf.modality}`;
    case 'site':
      return `site ${leaf.site}`;
    case 'publication':
      return `publication ${leaf.id}`;
  }
}

function range(min?: number, max?: number): string {
  const y = (x: number): string => `${Math.round(x * 1000) / 1000} y`;
  if (min !== undefined && max !== undefined) return `${y(min)} to ${y(max)}`;
  return min !== undefined ? `>= ${y(min)}` : `<= ${y(max!)}`;
}
