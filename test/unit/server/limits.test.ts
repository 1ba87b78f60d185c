import { MAX_NESTING, nestingDepth, nestingError, syntaxErrorLine } from '../../../src/server/limits.js';
import { notAcceptable } from '../../../src/server/formats.js';

describe('query limits checked before parsing', () => {
  test('nesting counts { ( [ together, but not inside strings, IRIs or comments', () => {
    expect(nestingDepth('SELECT * WHERE { ?s ?p ?o FILTER((?o > 1)) }')).toBe(3);
    expect(nestingDepth('ASK { ?s ?p "{{{{((((" . ?s ?p \'[[[[\' }')).toBe(1);
    expect(nestingDepth('ASK { ?s ?p """a { "quoted" (x) """ }')).toBe(1);
    expect(nestingDepth('ASK { ?s <urn:x(a)> ?o } # {{{{ ((((')).toBe(1);
    // `<` as less-than is not an IRI: the brackets after it still count.
    expect(nestingDepth('ASK { ?s ?p ?o FILTER(?o < (1)) }')).toBe(3);
    expect(nestingDepth('SELECT * WHERE ' + '{'.repeat(700) + ' ?s ?p ?o ' + '}'.repeat(700))).toBe(700);
  });

  test('the limit sits well below the depth that traps Oxigraph (700 groups) and answers in one clear line', () => {
    expect(MAX_NESTING).toBeLessThanOrEqual(700 / 4);
    expect(nestingError('ASK { { ?s ?p ?o } }')).toBeUndefined();
    expect(nestingError('SELECT * WHERE ' + '{'.repeat(200) + '}'.repeat(200))).toBe(
      'query nested 200 deep (brackets { ( [ inside one another); this server accepts at most 128: flatten the groups',
    );
    // A scan of a 1 MiB body stays fast (the main thread does it for every query).
    const big = 'SELECT * WHERE { ' + '?s ?p "x" . '.repeat(90_000) + '}';
    const t = performance.now();
    expect(nestingDepth(big)).toBe(1);
    expect(performance.now() - t).toBeLessThan(500);
  });

  test('syntax errors become one line with line, column and the token there', () => {
    const q = 'PREFIX ex: <urn:ex:>\nSELECT ?s WHERE {\n  ?s ?p ?o FILTRE(?o) }';
    const msg = syntaxErrorLine(q, 'error at 3:12: expected one of "(", FILTER,\n  SERVICE');
    expect(msg).toBe('SPARQL syntax error at line 3, column 12 near "FILTRE(?o)": expected one of "(", FILTER, SERVICE');
    expect(syntaxErrorLine('SELECT * WHERE { ?s ?p ', 'error at 1:24: expected one of "."')).toMatch(/^SPARQL syntax error at line 1, column 24 at the end of the query: expected/);
    const js = syntaxErrorLine('SELECT WHERE {', "Parse error on line 1:\nSELECT WHERE {\n-------^\nExpecting 'VAR', got 'WHERE'");
    expect(js).toBe('SPARQL syntax error at line 1, column 8 near "WHERE": unexpected WHERE');
    expect(msg).not.toMatch(/\n/);
  });

  test('406 names what was asked and every supported format', () => {
    expect(notAcceptable('construct', 'Accept: image/png')).toBe(
      'no acceptable result format for a CONSTRUCT query (Accept: image/png); supported: format=json|xml|ttl|turtle|nt|ntriples|nq|nquads|jsonld|rdfxml|rdf|trig or Accept: text/turtle, application/n-triples, application/rdf+xml, application/ld+json, application/n-quads, application/trig, application/json, application/xml, text/plain',
    );
    expect(notAcceptable('ask', 'format=yaml')).toMatch(/^no acceptable result format for an ASK query \(format=yaml\); supported: format=json\|xml\|csv\|tsv/);
  });
});
