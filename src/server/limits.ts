/**
 * Limits on query text, checked on the main thread before anything parses it: one linear scan.
 *
 * Measured (Oxigraph 0.5 in a worker thread, default stack): 650 nested `{ }` groups evaluate,
 * 700 trap the WASM instance ("memory access out of bounds") and leave it unusable; 1,500 nested
 * `( )` evaluate, 3,000 trap. sparqljs takes 0.6 s for 1,000 nested groups, 2 s for 2,000 and 93 s
 * for 8,000 (its time grows with the square of the depth). No real query nests 100 deep, so the
 * limit sits far below both: brackets of every kind count together.
 */
export const MAX_NESTING = 128;

/**
 * Deepest nesting of `{`, `(` and `[` outside string literals, IRIs and comments. Unbalanced text is
 * left to the parser, which names the error properly.
 */
export function nestingDepth(sparql: string): number {
  let depth = 0;
  let max = 0;
  const n = sparql.length;
  for (let i = 0; i < n; i++) {
    const c = sparql[i];
    if (c === '{' || c === '(' || c === '[') {
      if (++depth > max) max = depth;
    } else if (c === '}' || c === ')' || c === ']') {
      if (depth > 0) depth--;
    } else if (c === '#') {
      const end = sparql.indexOf('\n', i);
      i = end < 0 ? n : end;
    } else if (c === '"' || c === "'") {
      i = stringEnd(sparql, i);
    } else if (c === '<') {
      // An IRI has no spaces; `<` followed by anything else is the less-than operator.
      const m = /^<[^<>"{}|^`\\\s]*>/.exec(sparql.slice(i, i + 4096));
      if (m) i += m[0].length - 1;
    }
  }
  return max;
}

/** Index of the closing quote of the string literal opening at `i` (long '''/""" forms included). */
function stringEnd(s: string, i: number): number {
  const q = s[i];
  const long = s.startsWith(q.repeat(3), i);
  const close = long ? q.repeat(3) : q;
  let j = i + (long ? 3 : 1);
  while (j < s.length) {
    if (s[j] === '\\') j += 2;
    else if (s.startsWith(close, j)) return j + close.length - 1;
    else if (!long && s[j] === '\n') return j;
    else j++;
  }
  return s.length;
}

/** The nesting check as an error message, or undefined when the query is within the limit. */
export function nestingError(sparql: string, max = MAX_NESTING): string | undefined {
  const depth = nestingDepth(sparql);
  if (depth <= max) return undefined;
  return `query nested ${depth} deep (brackets { ( [ inside one another); this server accepts at most ${max}: flatten the groups`;
}

/**
 * Turns a parser error into one line: `SPARQL syntax error at line L, column C near "token": ...`.
 * Oxigraph reports `error at L:C: expected one of ...` (over several lines); sparqljs reports
 * `Parse error on line L: ... Expecting ..., got 'X'`.
 */
export function syntaxErrorLine(sparql: string, message: string): string {
  const ox = /error at (\d+):(\d+): ([\s\S]*)/.exec(message);
  if (ox) return located(sparql, Number(ox[1]), Number(ox[2]), ox[3]);
  const js = /Parse error on line (\d+):\n([^\n]*)\n(-*)\^\n[^\n]*got '([^']*)'/.exec(message);
  if (js) {
    // sparqljs shows at most 20 characters before the error; only an unabridged excerpt gives the column.
    const column = js[2].startsWith('...') ? undefined : js[3].length + 1;
    const where = column ? `line ${js[1]}, column ${column}` : `line ${js[1]}`;
    return `SPARQL syntax error at ${where} near "${js[4]}": unexpected ${js[4]}`;
  }
  return `SPARQL syntax error: ${message.split('\n')[0]}`;
}

function located(sparql: string, line: number, column: number, detail: string): string {
  const text = sparql.split('\n')[line - 1] ?? '';
  // Oxigraph counts columns from 1 in characters of the line.
  const token = /^\s*(\S{1,40})/.exec(text.slice(Math.max(0, column - 1)))?.[1];
  const near = token ? `near "${token}"` : 'at the end of the query';
  const what = detail.replace(/\s+/g, ' ').trim();
  return `SPARQL syntax error at line ${line}, column ${column} ${near}: ${what.length > 160 ? `${what.slice(0, 160)}...` : what}`;
}
