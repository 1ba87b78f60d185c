// Our prefixes are pre-declared in the editor: a query may use hx:, obo:, rdfs: ... without PREFIX lines. DOM-free.

/** Our prefixes that the query uses (outside IRIs, strings and comments) but does not declare. */
export function missingPrefixes(query: string, prefixes: Record<string, string>): Record<string, string> {
  const declared = new Set([...query.matchAll(/PREFIX\s+([A-Za-z][\w.-]*)?:/gi)].map((m) => m[1] ?? ''));
  const body = query.replace(/<[^>\s]*>|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|#[^\n]*/g, ' ');
  return Object.fromEntries(Object.entries(prefixes).filter(([p]) => !declared.has(p) && new RegExp(`(^|[\\s(){}\\[\\],;./|^!=<>*+?-])${p}:`).test(body)));
}

/** The query with a `PREFIX p: <...>` line for each of our prefixes it uses without declaring. */
export function withPrefixes(query: string, prefixes: Record<string, string>): string {
  const missing = Object.entries(missingPrefixes(query, prefixes));
  return missing.length ? `${missing.map(([p, iri]) => `PREFIX ${p}: <${iri}>`).join('\n')}\n${query}` : query;
}
