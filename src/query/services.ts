import sparqljs from 'sparqljs';
import { HX } from '../model/namespaces.js';
import { QueryError } from './errors.js';

// Custom SERVICE clauses (Harmonia's own, such as kNN over learned embeddings) are evaluated by
// providers before the store sees the query: the engine finds each clause, asks the store for the
// distinct bindings of the clause's inputs given the rest of the query, lets the provider answer
// them, and replaces the clause by a VALUES block of its rows. The store then runs an ordinary query.

/** The kNN SERVICE IRI (evaluated by src/learn/knn.ts). */
export const KNN_SERVICE = 'https://w3id.org/harmonia/knn';
/** The cosine of two resources' embeddings, as a Comunica extension function (not on the store path). */
export const SIMILARITY_FUNCTION = `${HX}similarity`;
/** SERVICE IRIs under this prefix are ours: answered by a provider here, never sent over the network. */
const RESERVED = 'https://w3id.org/harmonia/';
/** A clause runs for at most this many distinct bindings of its inputs in one query. */
export const MAX_SERVICE_BINDINGS = 1000;

/** An RDF/JS-shaped term, as sparqljs reads and writes them. */
export interface RdfTerm {
  termType: string;
  value: string;
  datatype?: { termType: string; value: string };
  language?: string;
}

/** One solution: variable name (without `?`) to term. */
export type ServiceRow = Record<string, RdfTerm>;

/** A triple of the clause; the predicate is an IRI (property paths are refused before a provider sees them). */
export interface ServiceTriple {
  subject: RdfTerm;
  predicate: RdfTerm;
  object: RdfTerm;
}

export interface ServicePlan {
  /** Variables the rest of the query must bind: the clause is evaluated for their distinct bindings. */
  inputs: string[];
  /** Variables the clause binds. */
  outputs: string[];
  /**
   * The clause's rows for these bindings of the inputs (one empty binding when there are no inputs).
   * Each row carries its input values too, so that the VALUES block joins back on them.
   */
  evaluate(bindings: ServiceRow[]): Promise<ServiceRow[]>;
}

/** Evaluates one kind of custom SERVICE clause. */
export interface ServiceProvider {
  /** The SERVICE IRI this provider answers. */
  readonly iri: string;
  /** Reads and checks a clause when the query is prepared; throws QueryError naming what is wrong. */
  plan(triples: ServiceTriple[]): ServicePlan;
}

/** Answers a SELECT with typed rows (the engine's store). */
export type BindingsSource = (sparql: string) => Promise<ServiceRow[]>;

type Node = { termType?: string; value?: string; type?: string; [k: string]: unknown };
interface Triple {
  subject: Node;
  predicate: Node;
  object: Node;
}
interface Pattern {
  type: string;
  triples?: Triple[];
  patterns?: Pattern[];
  name?: Node;
  expression?: unknown;
  variable?: Node;
  where?: Pattern[];
  [k: string]: unknown;
}

/** One step from a clause's root group down to the clause: the element at `index` of `list` is entered. */
interface Frame {
  list: Pattern[];
  index: number;
  /** Rebuilds the entered element around a reduced content (a group; GRAPH keeps its name). */
  wrap(inner: Pattern[]): Pattern;
  /** A GRAPH ?g variable, bound for everything inside. */
  graphVariable?: string;
}

export interface ServiceClause {
  iri: string;
  service: Pattern;
  list: Pattern[];
  index: number;
  frames: Frame[];
  plan: ServicePlan;
}

const generator = new sparqljs.Generator({});

/**
 * Finds and plans every clause of `providers` in the query, and refuses what cannot be evaluated:
 * a reserved SERVICE without a provider, ours inside another SERVICE or inside FILTER (NOT) EXISTS.
 * Clauses inside MINUS or a sub-SELECT have that pattern as their own root (they are evaluated apart).
 */
export function findServiceClauses(query: { where?: Pattern[] }, providers: ReadonlyMap<string, ServiceProvider>): ServiceClause[] {
  const found: ServiceClause[] = [];
  const walk = (list: Pattern[], frames: Frame[], inside?: string): void => {
    list.forEach((e, i) => {
      const enter = (wrap: Frame['wrap'], graphVariable?: string): Frame[] => [...frames, { list, index: i, wrap, graphVariable }];
      const group = (inner: Pattern[]): Pattern => ({ type: 'group', patterns: inner });
      switch (e.type) {
        case 'service': {
          const iri = e.name?.termType === 'NamedNode' ? e.name.value! : undefined;
          const provider = iri ? providers.get(iri) : undefined;
          if (iri && (provider || iri.startsWith(RESERVED))) {
            if (inside) throw new QueryError(`SERVICE <${iri}> cannot be used inside ${inside}`);
            if (!provider) throw new QueryError(`SERVICE <${iri}>: ${iri === KNN_SERVICE ? 'kNN over embeddings is not available on this query path (no embeddings provider)' : 'no such Harmonia service'}`);
            found.push({ iri, service: e, list, index: i, frames, plan: provider.plan(clauseTriples(iri, e)) });
          } else {
            walk(e.patterns ?? [], [], `SERVICE <${e.name?.value}>`);
          }
          break;
        }
        case 'group':
        case 'optional':
          walk(e.patterns ?? [], enter(group), inside);
          break;
        case 'graph':
          walk(e.patterns ?? [], enter((inner) => ({ type: 'graph', name: e.name, patterns: inner }), e.name?.termType === 'Variable' ? e.name.value : undefined), inside);
          break;
        case 'union':
          (e.patterns ?? []).forEach((branch, b) => {
            if (branch.type !== 'group') e.patterns![b] = branch = { type: 'group', patterns: [branch] };
            walk(branch.patterns!, enter(group), inside);
          });
          break;
        case 'minus':
          walk(e.patterns ?? [], [], inside);
          break;
        case 'query':
          walk(e.where ?? [], [], inside);
          break;
        case 'filter':
        case 'bind':
          if (mentionsReservedService(e.expression)) throw new QueryError('a Harmonia SERVICE clause cannot be used inside FILTER EXISTS / NOT EXISTS; put it in the group and filter on its variables');
          break;
      }
    });
  };
  walk(query.where ?? [], []);
  return found;
}

function clauseTriples(iri: string, service: Pattern): ServiceTriple[] {
  const triples: ServiceTriple[] = [];
  for (const p of service.patterns ?? []) {
    if (p.type !== 'bgp') throw new QueryError(`SERVICE <${iri}> takes only triples (no ${p.type.toUpperCase()} inside it); put filters and other patterns outside the clause`);
    for (const t of p.triples!) {
      if (t.predicate.type === 'path') throw new QueryError(`SERVICE <${iri}>: property paths are not allowed inside the clause`);
      triples.push(t as unknown as ServiceTriple);
    }
  }
  return triples;
}

function mentionsReservedService(x: unknown): boolean {
  let hit = false;
  visit(x, (n) => {
    if (n.type === 'service' && typeof (n.name as Node | undefined)?.value === 'string' && ((n.name as Node).value as string).startsWith(RESERVED)) hit = true;
  });
  return hit;
}

/** Calls `fn` on every object in a parsed query fragment. */
function visit(x: unknown, fn: (n: Node) => void): void {
  if (Array.isArray(x)) {
    for (const y of x) visit(y, fn);
  } else if (x && typeof x === 'object') {
    fn(x as Node);
    for (const v of Object.values(x)) if (v && typeof v === 'object') visit(v, fn);
  }
}

function variablesOf(x: unknown): Set<string> {
  const vars = new Set<string>();
  visit(x, (n) => {
    if (n.termType === 'Variable') vars.add(n.value!);
    // VALUES rows name their variables only as keys ('?t'); the values are constants.
    if (n.type === 'values') for (const row of n.values as Record<string, unknown>[]) for (const k of Object.keys(row)) vars.add(k.slice(1));
  });
  return vars;
}

/** Whether the function IRI appears as a call anywhere in the query. */
export function callsFunction(query: unknown, iri: string): boolean {
  let hit = false;
  visit(query, (n) => {
    if (n.type === 'functionCall') {
      const f = n.function as Node | string;
      if ((typeof f === 'string' ? f : f.value) === iri) hit = true;
    }
  });
  return hit;
}

/**
 * Evaluates the clauses and replaces each by a VALUES block of its rows, in an order where a clause
 * whose input is another clause's output comes after it (so clauses can be chained).
 */
export async function resolveServiceClauses(query: { from?: unknown }, clauses: ServiceClause[], source: BindingsSource): Promise<void> {
  const pending = [...clauses];
  while (pending.length) {
    const next = pending.findIndex((c) => !pending.some((o) => o !== c && c.plan.inputs.some((v) => o.plan.outputs.includes(v))));
    if (next < 0) throw new QueryError('the SERVICE clauses depend on each other in a cycle (an input of each is an output of another)');
    const [clause] = pending.splice(next, 1);
    const bindings = clause.plan.inputs.length ? await inputBindings(clause, pending, query.from, source) : [{}];
    const rows = bindings.length ? await clause.plan.evaluate(bindings) : [];
    const vars = [...clause.plan.inputs, ...clause.plan.outputs];
    clause.list[clause.index] = { type: 'values', values: rows.map((r) => Object.fromEntries(vars.map((v) => [`?${v}`, r[v]]))) };
  }
}

interface Item {
  level: number;
  node: Pattern | Triple;
  triple: boolean;
  /** Every variable it mentions (GRAPH variables of enclosing frames included). */
  vars: Set<string>;
  /** Variables whose values it supplies: dropping it makes them unknown. */
  supplies: string[];
  keep: boolean;
}

/**
 * The distinct bindings of a clause's inputs that the rest of the query allows: a SELECT DISTINCT over
 * the clause's groups (its own and the enclosing ones, without other branches of a UNION) minus what
 * could wrongly remove a binding. Outputs are unknown at this point, so elements that test them
 * (FILTER, BIND, OPTIONAL, MINUS, ... that mention an output or a value derived from one) are left
 * out, transitively; triple patterns stay (with the outputs free they only match more). Elements not
 * connected to the inputs through other variables are left out too: they would only multiply rows.
 * The result is a superset of the bindings the full query can join with, never a subset.
 */
async function inputBindings(clause: ServiceClause, pending: ServiceClause[], from: unknown, source: BindingsSource): Promise<ServiceRow[]> {
  const inputs = new Set(clause.plan.inputs);
  const pendingServices = new Set<unknown>(pending.map((p) => p.service));
  const levels = [...clause.frames.map((f) => ({ list: f.list, skip: f.index })), { list: clause.list, skip: clause.index }];
  const items: Item[] = [];
  const tainted = new Set(clause.plan.outputs);
  levels.forEach(({ list, skip }, level) => {
    const scope = clause.frames.slice(0, level).flatMap((f) => (f.graphVariable ? [f.graphVariable] : []));
    list.forEach((e, i) => {
      if (i === skip) return;
      if (e.type === 'bgp') {
        for (const t of e.triples!) {
          const vars = new Set([...variablesOf(t), ...scope]);
          items.push({ level, node: t, triple: true, vars, supplies: [...vars], keep: true });
        }
        return;
      }
      const vars = new Set([...variablesOf(e), ...scope]);
      const supplies = e.type === 'filter' ? [] : e.type === 'bind' ? [e.variable!.value!] : [...vars];
      const item: Item = { level, node: e, triple: false, vars, supplies, keep: true };
      // A clause still to be evaluated (or an element holding one) cannot run on the store.
      let holdsPending = false;
      visit(e, (n) => {
        if (pendingServices.has(n)) holdsPending = true;
      });
      if (holdsPending) drop(item);
      items.push(item);
    });
  });
  function drop(item: Item): void {
    item.keep = false;
    for (const v of item.supplies) if (!inputs.has(v)) tainted.add(v);
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const it of items) {
      if (it.keep && !it.triple && [...it.vars].some((v) => tainted.has(v))) {
        drop(it);
        changed = true;
      }
    }
  }
  keepConnected(items, inputs, tainted);
  for (const v of inputs) {
    if (!items.some((it) => it.keep && it.supplies.includes(v))) {
      throw new QueryError(`SERVICE <${clause.iri}>: ?${v} is not bound by the rest of the query (bind it with a graph pattern, or give an IRI)`);
    }
  }
  const kept = new Set<unknown>(items.filter((it) => it.keep).map((it) => it.node));
  const build = (level: number): Pattern[] => {
    const out: Pattern[] = [];
    const { list, skip } = levels[level];
    list.forEach((e, i) => {
      if (i === skip) {
        if (level < levels.length - 1) {
          const inner = build(level + 1);
          if (inner.length) out.push(clause.frames[level].wrap(inner));
        }
      } else if (e.type === 'bgp') {
        const triples = e.triples!.filter((t) => kept.has(t));
        if (triples.length) out.push({ type: 'bgp', triples });
      } else if (kept.has(e)) {
        out.push(e);
      }
    });
    return out;
  };
  const select = {
    type: 'query', queryType: 'SELECT', prefixes: {}, distinct: true,
    variables: [...inputs].map((v) => ({ termType: 'Variable', value: v })),
    where: build(0), limit: MAX_SERVICE_BINDINGS + 1,
    ...(from ? { from } : {}),
  };
  // Blank nodes cannot be written in VALUES, and their labels do not identify anything across queries.
  const rows = (await source(generator.stringify(select as never))).filter((r) => [...inputs].every((v) => r[v] && r[v].termType !== 'BlankNode'));
  if (rows.length > MAX_SERVICE_BINDINGS) {
    throw new QueryError(`SERVICE <${clause.iri}>: ${[...inputs].map((v) => `?${v}`).join(', ')} would have more than ${MAX_SERVICE_BINDINGS} values; narrow the patterns that bind it`);
  }
  return rows;
}

/** Keeps only items reachable from the inputs through shared variables that are not tainted. */
function keepConnected(items: Item[], inputs: Set<string>, tainted: Set<string>): void {
  const live = items.filter((it) => it.keep);
  const reached = new Set<Item>();
  const frontier = new Set([...inputs]);
  const seen = new Set<string>();
  while (frontier.size) {
    const v = frontier.values().next().value!;
    frontier.delete(v);
    seen.add(v);
    for (const it of live) {
      if (reached.has(it) || !it.vars.has(v)) continue;
      reached.add(it);
      for (const w of it.vars) if (!tainted.has(w) && !seen.has(w)) frontier.add(w);
    }
  }
  for (const it of live) if (!reached.has(it)) it.keep = false;
}
