import { lintCypherQuery, parseParameters, type DbSchema } from '@neo4j-cypher/language-support';

// Neo4j's own Cypher front end (the parser and semantic analysis of the Neo4j server, compiled to
// JavaScript in @neo4j-cypher/language-support): the check every generated statement must pass.

const ERROR = 1;
const cache = new Map<string, string[]>();

/** Every problem Neo4j's parser finds in `cypher`: errors always, warnings too when a schema is given. */
export function cypherProblems(cypher: string, schema: DbSchema = {}, params: Record<string, unknown> = {}): string[] {
  const key = JSON.stringify([cypher, schema, Object.keys(params).sort()]);
  let out = cache.get(key);
  if (!out) {
    const { diagnostics } = lintCypherQuery(cypher, { ...schema, parameters: params });
    const withSchema = Object.keys(schema).length > 0;
    out = diagnostics.filter((d) => d.severity === ERROR || withSchema).map((d) => `${d.severity === ERROR ? 'error' : 'warning'}: ${d.message}`);
    cache.set(key, out);
  }
  return out;
}

/** The parameters (`$name`) a statement uses. */
export function cypherParameters(cypher: string): string[] {
  return [...new Set(parseParameters(cypher, false))].sort();
}
