import { InputError } from '../../../src/model/errors.js';
import {
  capRows,
  checkSites,
  checkThreshold,
  classifyFederated,
  countQuery,
  countsResult,
  failureWarning,
  parseSite,
  suppress,
  type FederatedCounts,
} from '../../../src/query/federation.js';

const P = 'PREFIX hx: <https://w3id.org/harmonia/vocab#>\n';

describe('sites', () => {
  test('a bare URL is named host:port; name=URL names it', () => {
    expect(parseSite('http://127.0.0.1:3000/sparql')).toEqual({ name: '127.0.0.1:3000', url: 'http://127.0.0.1:3000/sparql', allowRows: false });
    expect(parseSite('berlin=https://kg.example.org/sparql', true)).toEqual({ name: 'berlin', url: 'https://kg.example.org/sparql', allowRows: true });
  });

  test('bad partners: one error naming the spec', () => {
    expect(() => parseSite('not a url')).toThrow(/not a URL .*name=URL/);
    expect(() => parseSite('ftp://x/sparql')).toThrow(InputError);
    expect(() => checkSites([parseSite('http://a/sparql'), parseSite('http://a/sparql')])).toThrow(/two sites are named a/);
    expect(() => checkSites([])).toThrow(/at least one partner/);
  });
});

describe('small-cell suppression', () => {
  test('counts below the threshold, zero included, become "<N"', () => {
    expect([0, 1, 4, 5, 120].map((n) => suppress(n, 5))).toEqual(['<5', '<5', '<5', 5, 120]);
    expect(suppress(0, 0)).toBe(0);
    expect(() => checkThreshold(-1)).toThrow(/non-negative integer/);
    expect(() => checkThreshold(2.5)).toThrow(InputError);
  });
});

describe('what a federated query asks for', () => {
  test('COUNT-only SELECTs without GROUP BY are counts; everything else is rows', () => {
    expect(classifyFederated(`${P}SELECT (COUNT(DISTINCT ?p) AS ?n) (COUNT(*) AS ?m) WHERE { ?p hx:id ?id }`)).toEqual({ kind: 'counts', countVariables: ['n', 'm'] });
    expect(classifyFederated(`${P}SELECT ?sex (COUNT(?p) AS ?n) WHERE { ?p hx:sex ?sex } GROUP BY ?sex`).kind).toBe('rows');
    expect(classifyFederated(`${P}SELECT (COUNT(?p) AS ?n) WHERE { ?p hx:id ?id } GROUP BY ?id`).kind).toBe('rows');
    expect(classifyFederated(`${P}SELECT (MAX(?id) AS ?n) WHERE { ?p hx:id ?id }`).kind).toBe('rows');
    expect(classifyFederated(`${P}SELECT * WHERE { ?p hx:id ?id }`).kind).toBe('rows');
    expect(classifyFederated(`${P}ASK { ?p hx:id "P-A" }`).kind).toBe('ask');
    expect(classifyFederated(`${P}CONSTRUCT { ?p hx:id ?id } WHERE { ?p hx:id ?id }`).kind).toBe('graph');
  });

  test('updates and syntax errors are refused by name', () => {
    expect(() => classifyFederated('INSERT DATA { <http://x/a> <http://x/b> <http://x/c> }')).toThrow(/Update cannot be federated/);
    expect(() => classifyFederated('SELECT ?x WHERE {')).toThrow(/SPARQL syntax error/);
  });

  test('row caps lower a missing or larger LIMIT only', () => {
    expect(capRows(`${P}SELECT ?id WHERE { ?p hx:id ?id }`, 10)).toMatchObject({ cappedAt: 10, sparql: expect.stringMatching(/LIMIT 10$/) });
    expect(capRows(`${P}SELECT ?id WHERE { ?p hx:id ?id } LIMIT 3`, 10).cappedAt).toBeUndefined();
    expect(capRows(`${P}ASK { ?p hx:id ?id }`, 10).cappedAt).toBeUndefined();
  });
});

test('a compiled cohort becomes a COUNT of its members, prologue kept outside', () => {
  const compiled = `${P}# cohort x (HPO 2024)\nSELECT DISTINCT ?id WHERE {\n  ?p hx:id ?id .\n}\n`;
  const q = countQuery(compiled);
  expect(q.startsWith(`${P}# cohort x (HPO 2024)\nSELECT (COUNT(*) AS ?count) WHERE {\nSELECT DISTINCT ?id`)).toBe(true);
  expect(classifyFederated(q)).toEqual({ kind: 'counts', countVariables: ['count'] });
});

describe('per-site counts as a SPARQL answer', () => {
  const counts: FederatedCounts = {
    suppressBelow: 5,
    variables: ['n'],
    sites: [
      { site: 'a', url: 'http://a/sparql', status: 'ok', values: { n: 12 }, suppressed: false, ms: 1 },
      { site: 'b', url: 'http://b/sparql', status: 'ok', values: { n: '<5' }, suppressed: true, ms: 1 },
      { site: 'c, d', url: 'http://c/sparql', status: 'unreachable', values: {}, suppressed: false, error: 'connection refused', ms: 1 },
    ],
    total: { n: 12 },
    suppressed: true,
    complete: false,
  };

  test('JSON: one row per site and a total, integers typed, suppressed cells as "<N"', () => {
    const json = JSON.parse(countsResult(counts, 'json').body);
    expect(json.head.vars).toEqual(['site', 'n', 'suppressed', 'status']);
    expect(json.results.bindings[0].n).toEqual({ type: 'literal', value: '12', datatype: 'http://www.w3.org/2001/XMLSchema#integer' });
    expect(json.results.bindings[1].n).toEqual({ type: 'literal', value: '<5' });
    expect(json.results.bindings[2].n).toBeUndefined();
    expect(json.results.bindings[3]).toMatchObject({ site: { value: 'total' }, n: { value: '12' }, suppressed: { value: 'true' }, status: { value: 'partial' } });
  });

  test('CSV quotes what needs quoting; TSV and XML render too', () => {
    const csv = countsResult(counts, 'csv').body.split('\r\n');
    expect(csv).toEqual(['site,n,suppressed,status', 'a,12,false,ok', 'b,<5,true,ok', '"c, d",,,unreachable: connection refused', 'total,12,true,partial', '']);
    expect(countsResult(counts, 'tsv').body.split('\r\n')[2]).toBe('"b"\t"<5"\ttrue\t"ok"');
    expect(countsResult(counts, 'xml').body).toContain('<binding name="n"><literal>&lt;5</literal></binding>');
    expect(() => countsResult(counts, 'turtle')).toThrow(/json, csv, tsv or xml/);
  });
});

test('the warning names each missing site, its URL and why, and who answered', () => {
  expect(failureWarning([{ site: 'b', url: 'http://b/sparql', reason: 'no answer within 800 ms' }], ['local', 'a'])).toBe(
    'site b (http://b/sparql: no answer within 800 ms) did not answer; partial answer from local, a',
  );
});
