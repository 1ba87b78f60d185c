import sparqljs from 'sparqljs';
import { OBO, RDFS } from '../model/namespaces.js';
import type { Ontology } from '../ontology/index.js';
import type { GraphStore, ResultFormat, Row, SerializedResult } from '../store/index.js';
import { QueryError } from './errors.js';
import { PathRewriter } from './optimize.js';
import { callsFunction, findServiceClauses, resolveServiceClauses, SIMILARITY_FUNCTION, type RdfTerm, type ServiceProvider, type ServiceRow } from './services.js';

export { QueryError };

export type QueryKind = 'select' | 'ask' | 'construct' | 'describe' | 'update' | 'unknown';

export interface PreparedQuery {
  kind: QueryKind;
  /** What runs on the store: rewritten paths, capped LIMIT. */
  sparql: string;
  expandedPaths: number;
  /** The LIMIT that was imposed, when the query asked for more rows than allowed. */
  cappedAt?: number;
  /**
   * Custom SERVICE clauses (e.g. kNN) that each run evaluates and replaces by VALUES before the
   * store sees `sparql`: their answers depend on the data, so they are not part of the cached text.
   */
  services?: number;
}

export interface EngineOptions {
  /** Most rows a SELECT may return; larger or missing LIMITs are capped. */
  maxRows?: number;
  /** Evaluators of custom SERVICE clauses, by their SERVICE IRI (src/query/services.ts). */
  services?: ServiceProvider[];
}

/**
 * Prepares and runs SPARQL on a GraphStore: classifies the query, expands ontology paths from the
 * in-memory HPO (only while the store's subClassOf triples are exactly the ontology's), caps the
 * number of rows, and returns the store's W3C serialisation.
 */
export class QueryEngine {
  private readonly parser = new sparqljs.Parser();
  private readonly generator = new sparqljs.Generator({});
  private rewriter?: PathRewriter;
  private readonly cache = new Map<string, PreparedQuery>();
  private readonly providers: ReadonlyMap<string, ServiceProvider>;

  private constructor(
    private readonly store: GraphStore,
    private readonly ontology: Ontology | undefined,
    private readonly options: EngineOptions = {},
  ) {
    this.providers = new Map((options.services ?? []).map((p) => [p.iri, p]));
  }

  /** An engine over `store`, having checked whether ontology paths can be expanded exactly. */
  static async create(store: GraphStore, ontology: Ontology | undefined, options: EngineOptions = {}): Promise<QueryEngine> {
    const engine = new QueryEngine(store, ontology, options);
    await engine.refresh();
    return engine;
  }

  /** Re-checks that path expansion is still exact; call after any write to the store. */
  async refresh(): Promise<void> {
    this.rewriter = undefined;
    this.cache.clear();
    if (!this.ontology) return;
    // Only subClassOf triples that touch an HPO class matter for the expansion of HPO paths.
    let expected = 0;
    for (const t of this.ontology.allTerms()) expected += t.parents.length;
    const touchesHpo = `FILTER(STRSTARTS(STR(?s), "${OBO}HP_") || STRSTARTS(STR(?o), "${OBO}HP_"))`;
    const [row] = await this.store.select(`SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s <${RDFS}subClassOf> ?o ${touchesHpo} } }`);
    const [dflt] = await this.store.select(`SELECT (COUNT(*) AS ?n) WHERE { ?s <${RDFS}subClassOf> ?o ${touchesHpo} FILTER NOT EXISTS { GRAPH ?g { ?s <${RDFS}subClassOf> ?o } } }`);
    if (Number(row?.n) === expected && Number(dflt?.n ?? 0) === 0) this.rewriter = new PathRewriter(this.ontology);
  }

  /** Forgets cached preparations (benchmarks use it to time a query's first run). */
  clearCache(): void {
    this.cache.clear();
  }

  get expandsPaths(): boolean {
    return this.rewriter !== undefined;
  }

  prepare(sparql: string): PreparedQuery {
    const cached = this.cache.get(sparql);
    if (cached) return cached;
    const prepared = this.prepareUncached(sparql);
    // Dashboards and clients repeat the same queries: keep the most recent preparations.
    if (this.cache.size >= 256) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(sparql, prepared);
    return prepared;
  }

  private prepareUncached(sparql: string): PreparedQuery {
    let parsed: { type: string; queryType?: string; limit?: number; where?: unknown[] };
    try {
      parsed = this.parser.parse(sparql) as never;
    } catch (e) {
      // sparqljs is stricter than the store in places; let the store have the last word.
      const kind = /^\s*(PREFIX[^\n]*\n\s*|BASE[^\n]*\n\s*)*(INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|MOVE|COPY|WITH)\b/i.test(sparql) ? 'update' : 'unknown';
      if (kind === 'unknown' && !/\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b/i.test(sparql)) throw new QueryError(`SPARQL syntax error: ${(e as Error).message.split('\n')[0]}`);
      return { kind, sparql, expandedPaths: 0 };
    }
    if (parsed.type === 'update') return { kind: 'update', sparql, expandedPaths: 0 };
    const kind = (parsed.queryType ?? 'unknown').toLowerCase() as QueryKind;
    const services = this.checkExtensions(parsed, sparql);
    // One parse, both changes on the same syntax tree, one serialisation (only if something changed).
    const expandedPaths = this.rewriter && sparql.includes('subClassOf') ? this.rewriter.rewriteParsed(parsed) : 0;
    const max = this.options.maxRows;
    const cap = kind === 'select' && max && (parsed.limit === undefined || parsed.limit > max) ? max : undefined;
    if (cap) parsed.limit = cap;
    const text = expandedPaths || cap ? this.generator.stringify(parsed as never) : sparql;
    return { kind, sparql: text, expandedPaths, ...(cap ? { cappedAt: cap } : {}), ...(services ? { services } : {}) };
  }

  /** Checks custom SERVICE clauses (planned, so a malformed one fails here) and extension functions; counts the clauses. */
  private checkExtensions(parsed: object, sparql: string): number {
    if (sparql.includes('similarity') && callsFunction(parsed, SIMILARITY_FUNCTION)) {
      throw new QueryError(`<${SIMILARITY_FUNCTION}>() is an extension function for queries that Comunica runs (docs/learning.md, kNN in SPARQL); this store cannot call it: use SERVICE <https://w3id.org/harmonia/knn> { ?p hx:similarTo ?t ; hx:score ?s } (the same cosine) instead`);
    }
    return /service/i.test(sparql) ? findServiceClauses(parsed, this.providers).length : 0;
  }

  /**
   * The text the store runs: with custom SERVICE clauses evaluated into VALUES blocks for this run
   * (their targets looked up over the whole store; the query's own dataset then restricts the join).
   */
  async storeText(prepared: PreparedQuery): Promise<string> {
    if (!prepared.services) return prepared.sparql;
    const parsed = this.parser.parse(prepared.sparql) as { where?: never[]; from?: unknown };
    await resolveServiceClauses(parsed, findServiceClauses(parsed, this.providers), (q) => this.bindings(q));
    return this.generator.stringify(parsed as never);
  }

  /** Typed rows (IRIs told from literals), which custom SERVICE clauses need for their inputs. */
  private async bindings(sparql: string): Promise<ServiceRow[]> {
    const { body } = await this.store.serialize(sparql, 'json');
    const json = JSON.parse(body) as { results: { bindings: Record<string, { type: string; value: string; datatype?: string; 'xml:lang'?: string }>[] } };
    return json.results.bindings.map((b) => Object.fromEntries(Object.entries(b).map(([v, t]) => [v, jsonTerm(t)])));
  }

  async run(sparql: string, format: ResultFormat): Promise<{ prepared: PreparedQuery; result: SerializedResult }> {
    const prepared = this.prepare(sparql);
    if (prepared.kind === 'update') throw new QueryError('this is a SPARQL Update; send it to the update endpoint', 400);
    try {
      return { prepared, result: await this.store.serialize(await this.storeText(prepared), format) };
    } catch (e) {
      if (e instanceof QueryError) throw e;
      const message = String((e as Error).message ?? e);
      throw new QueryError(/^error at \d+:\d+/.test(message) ? `SPARQL syntax error: ${message}` : `query failed: ${message}`);
    }
  }

  /** SELECT rows as plain values, with the same rewriting (for our own modules' queries). */
  async select(sparql: string): Promise<Row[]> {
    return this.store.select(await this.storeText(this.prepare(sparql)));
  }
}

function jsonTerm(t: { type: string; value: string; datatype?: string; 'xml:lang'?: string }): RdfTerm {
  if (t.type === 'uri') return { termType: 'NamedNode', value: t.value };
  if (t.type === 'bnode') return { termType: 'BlankNode', value: t.value };
  const lang = t['xml:lang'];
  return { termType: 'Literal', value: t.value, language: lang ?? '', datatype: { termType: 'NamedNode', value: t.datatype ?? (lang ? 'http://www.w3.org/1999/02/22-rdf-syntax-ns#langString' : 'http://www.w3.org/2001/XMLSchema#string') } };
}
