import sparqljs from 'sparqljs';
import { OBO, RDFS } from '../model/namespaces.js';
import type { Ontology } from '../ontology/index.js';

const SUBCLASS = RDFS + 'subClassOf';

type Term = { termType: string; value: string };
type PathItem = Term | { type: 'path'; pathType: string; items: PathItem[] };
interface Triple { subject: Term; predicate: PathItem; object: Term }
type Pattern = { type: string; triples?: Triple[]; patterns?: Pattern[]; values?: Record<string, Term>[]; name?: Term; [k: string]: unknown };

export interface RewriteReport {
  /** The query as it will run. */
  sparql: string;
  /** How many subClassOf paths were expanded from the in-memory ontology. */
  expanded: number;
}

/**
 * Rewrites `?x rdfs:subClassOf* <HP_…>` (and `+`, the inverse form `<HP_…> ^rdfs:subClassOf* ?x`,
 * and sequences ending in such a step, such as `hx:hasPhenotype/rdfs:subClassOf*`) into a VALUES
 * block of the term's descendants or ancestors computed from the in-memory ontology. Users keep writing
 * the plain property path; the store evaluates a join on a constant set instead of a transitive
 * closure, which on HPO is one to two orders of magnitude faster. Valid only while the store's
 * subClassOf triples are those of the ontology, which the caller checks.
 */
export class PathRewriter {
  private readonly parser = new sparqljs.Parser();
  private readonly generator = new sparqljs.Generator({});
  private fresh = 0;

  constructor(private readonly ontology: Ontology) {}

  rewrite(sparql: string): RewriteReport {
    if (!sparql.includes('subClassOf')) return { sparql, expanded: 0 };
    let parsed: { type: string; where?: Pattern[] };
    try {
      parsed = this.parser.parse(sparql) as never;
    } catch {
      return { sparql, expanded: 0 }; // The store reports syntax errors in its own words.
    }
    const expanded = this.rewriteParsed(parsed);
    return expanded ? { sparql: this.generator.stringify(parsed as never), expanded } : { sparql, expanded: 0 };
  }

  /** Rewrites a sparqljs query object in place; returns how many paths were expanded. */
  rewriteParsed(parsed: { type: string; where?: unknown[] }): number {
    if (parsed.type !== 'query' || !parsed.where) return 0;
    let expanded = 0;
    const visit = (patterns: Pattern[]): Pattern[] => {
      const out: Pattern[] = [];
      for (const p of patterns) {
        if (p.type === 'bgp' && p.triples) {
          const kept: Triple[] = [];
          const values: Pattern[] = [];
          for (const t of p.triples) {
            const r = this.expand(t);
            if (!r) { kept.push(t); continue; }
            expanded++;
            values.push(r.values);
            if (r.triple) kept.push(r.triple);
          }
          out.push(...values);
          if (kept.length) out.push({ ...p, triples: kept });
          continue;
        }
        // Inside GRAPH and SERVICE the path may range over other data: leave it to the store.
        if (p.type === 'graph' || p.type === 'service') { out.push(p); continue; }
        if (p.type === 'union' && Array.isArray(p.patterns)) {
          // Each branch of a UNION must stay one pattern: a split BGP becomes a group of its own.
          const branches = p.patterns.map((b) => {
            const r = visit([b]);
            return r.length === 1 ? r[0] : { type: 'group', patterns: r };
          });
          out.push({ ...p, patterns: branches });
        } else if (Array.isArray(p.patterns)) out.push({ ...p, patterns: visit(p.patterns) });
        else if (p.type === 'query' && Array.isArray(p.where)) out.push({ ...p, where: visit(p.where as Pattern[]) });
        else out.push(p);
      }
      return out;
    };
    parsed.where = visit(parsed.where as Pattern[]);
    return expanded;
  }

  private expand(t: Triple): { values: Pattern; triple?: Triple } | undefined {
    const p = t.predicate;
    if (!('type' in p) || p.type !== 'path') return undefined;
    // subject subClassOf* CONST  -> descendants of CONST bind subject
    const closure = (item: PathItem): '*' | '+' | undefined =>
      'type' in item && item.type === 'path' && (item.pathType === '*' || item.pathType === '+') && item.items.length === 1 && isIri(item.items[0], SUBCLASS) ? (item.pathType as '*' | '+') : undefined;
    const inverseClosure = (item: PathItem): '*' | '+' | undefined =>
      'type' in item && item.type === 'path' && item.pathType === '^' && item.items.length === 1 ? closure(item.items[0]) : undefined;

    const direct = closure(p);
    if (direct) {
      if (isVar(t.subject) && this.known(t.object)) return { values: this.values(t.subject, this.down(t.object, direct)) };
      if (isVar(t.object) && this.known(t.subject)) return { values: this.values(t.object, this.up(t.subject, direct)) };
      return undefined;
    }
    const inverse = inverseClosure(p);
    if (inverse) {
      if (isVar(t.object) && this.known(t.subject)) return { values: this.values(t.object, this.down(t.subject, inverse)) };
      if (isVar(t.subject) && this.known(t.object)) return { values: this.values(t.subject, this.up(t.object, inverse)) };
      return undefined;
    }
    // A sequence whose last step is subClassOf* to a constant: split off that last step.
    if (p.pathType === '/' && p.items.length >= 2 && this.known(t.object)) {
      const last = closure(p.items[p.items.length - 1]);
      if (!last) return undefined;
      const rest = p.items.slice(0, -1);
      const v = { termType: 'Variable', value: `hx_c${this.fresh++}` };
      const predicate: PathItem = rest.length === 1 ? rest[0] : { type: 'path', pathType: '/', items: rest };
      return { values: this.values(v, this.down(t.object, last)), triple: { subject: t.subject, predicate, object: v } };
    }
    return undefined;
  }

  private known(term: Term): boolean {
    return term.termType === 'NamedNode' && term.value.startsWith(OBO) && this.ontology.has(curie(term.value));
  }

  private down(term: Term, kind: '*' | '+'): string[] {
    return this.ontology.descendants(curie(term.value), kind === '*');
  }

  private up(term: Term, kind: '*' | '+'): string[] {
    return this.ontology.ancestors(curie(term.value), kind === '*');
  }

  private values(v: Term, ids: string[]): Pattern {
    const key = `?${v.value}`;
    return { type: 'values', values: ids.map((id) => ({ [key]: { termType: 'NamedNode', value: OBO + id.replace(':', '_') } })) };
  }
}

const isVar = (t: Term): boolean => t.termType === 'Variable';
const isIri = (t: PathItem, iri: string): boolean => !('type' in t) && t.termType === 'NamedNode' && t.value === iri;
const curie = (iri: string): string => iri.slice(OBO.length).replace('_', ':');
