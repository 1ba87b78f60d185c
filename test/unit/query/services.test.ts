import { QueryEngine, QueryError } from '../../../src/query/index.js';
import type { ServiceProvider, ServiceRow, ServiceTriple } from '../../../src/query/services.js';
import { tinyStore } from '../cohort/helpers.js';

// A custom SERVICE whose answer SPARQL can also express: `?p ex:sameSex ?t` holds when the two
// patients (distinct) have the same hx:sex. Each query is run twice, once with the clause (evaluated by
// the engine's rewriting) and once with the equivalent graph pattern in its place, and the answers
// must be equal: the rewriting may not lose or add a row, whatever surrounds the clause.

const SAME = 'https://w3id.org/harmonia/test/same-sex';
const PREFIXES = 'PREFIX hx: <https://w3id.org/harmonia/vocab#>\nPREFIX obo: <http://purl.obolibrary.org/obo/>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n';

class SameSex implements ServiceProvider {
  readonly iri = SAME;
  readonly calls: string[][] = [];
  constructor(private readonly sexes: Map<string, string>) {}
  plan(triples: ServiceTriple[]) {
    const [t] = triples;
    if (triples.length !== 1 || t.predicate.value !== 'urn:ex:sameSex') throw new QueryError('expected ?p <urn:ex:sameSex> ?t');
    const target = t.object;
    const p = t.subject.value;
    return {
      inputs: target.termType === 'Variable' ? [target.value] : [],
      outputs: [p],
      evaluate: async (bindings: ServiceRow[]) => {
        const targets = target.termType === 'Variable' ? bindings.map((b) => b[target.value].value) : [target.value];
        this.calls.push(targets.slice().sort());
        const rows: ServiceRow[] = [];
        for (const x of targets) {
          for (const [q, sex] of this.sexes) {
            if (q !== x && sex === this.sexes.get(x)) rows.push({ [p]: { termType: 'NamedNode', value: q }, ...(target.termType === 'Variable' ? { [target.value]: { termType: 'NamedNode', value: x } } : {}) });
          }
        }
        return rows;
      },
    };
  }
}

/** The same relation as a graph pattern (fresh variable names so as not to meet the query's). */
const inline = (p: string, t: string) => `{ ${p} hx:sex ?__s1 . ${t} hx:sex ?__s2 FILTER(?__s1 = ?__s2 && ${p} != ${t}) }`;

const CASES: [string, string][] = [
  ['target bound before', 'SELECT ?p ?t WHERE { ?t hx:id "P-A" . $SAME(?p, ?t) }'],
  ['target bound after, output joined', 'SELECT ?t ?id WHERE { $SAME(?p, ?t) ?t hx:id "P-C" . ?p hx:id ?id }'],
  ['FILTER on the output', 'SELECT ?t ?p WHERE { ?t a hx:Patient . $SAME(?p, ?t) FILTER(STR(?p) > STR(?t)) }'],
  ['BIND from the output, FILTER on it', 'SELECT ?t ?x WHERE { ?t hx:id ?tid . $SAME(?p, ?t) BIND(STR(?p) AS ?x) FILTER(CONTAINS(?x, "P-")) }'],
  ['OPTIONAL around the clause', 'SELECT ?t ?p WHERE { ?t hx:id ?id OPTIONAL { $SAME(?p, ?t) } }'],
  ['the clause inside OPTIONAL with a sibling pattern', 'SELECT ?t ?p WHERE { ?t hx:id ?id OPTIONAL { ?t hx:sex "MALE" . $SAME(?p, ?t) } }'],
  ['OPTIONAL of the output', 'SELECT ?t ?p ?c WHERE { ?t hx:id "P-B" . $SAME(?p, ?t) OPTIONAL { ?p hx:hasPhenotype ?c } }'],
  ['phenotype of the target and of the output', 'SELECT ?t ?p WHERE { ?t hx:hasPhenotype ?c . ?c rdfs:subClassOf* obo:HP_0001250 . $SAME(?p, ?t) ?p hx:hasPhenotype ?d }'],
  ['UNION branches', 'SELECT ?t ?p ?id WHERE { { ?t hx:id "P-A" . $SAME(?p, ?t) } UNION { ?t hx:id ?id } }'],
  ['clause in a nested group with a GRAPH', 'SELECT ?g ?t ?p WHERE { GRAPH ?g { ?t hx:id ?id } { $SAME(?p, ?t) } }'],
  ['MINUS on the output', 'SELECT ?t ?p WHERE { ?t hx:sex "FEMALE" . $SAME(?p, ?t) MINUS { ?p hx:id "P-C" } }'],
  ['FILTER NOT EXISTS on the output', 'SELECT ?t ?p WHERE { ?t hx:sex "MALE" . $SAME(?p, ?t) FILTER NOT EXISTS { ?p hx:hasPhenotype obo:HP_0002373 } }'],
  ['sub-SELECT binding the target', 'SELECT ?t ?p WHERE { { SELECT ?t WHERE { ?t hx:id ?id } ORDER BY ?id LIMIT 2 } $SAME(?p, ?t) }'],
  ['clause inside a sub-SELECT', 'SELECT ?t ?n WHERE { ?t hx:id ?id { SELECT ?t (COUNT(?p) AS ?n) WHERE { ?t a hx:Patient . $SAME(?p, ?t) } GROUP BY ?t } }'],
  ['IRI target', 'SELECT ?p WHERE { $SAME(?p, <https://w3id.org/harmonia/resource/patient/P-D>) }'],
  ['two clauses, chained', 'SELECT ?t ?p ?q WHERE { ?t hx:id "P-B" . $SAME(?q, ?p) $SAME(?p, ?t) }'],
  ['ASK', 'ASK { ?t hx:id "P-E" . $SAME(?p, ?t) ?p hx:id "P-B" }'],
];

function withService(q: string): string {
  return q.replace(/\$SAME\((\?\w+|<[^>]+>), (\?\w+|<[^>]+>)\)/g, (_, p, t) => `SERVICE <${SAME}> { ${p} <urn:ex:sameSex> ${t} }`);
}

function withPattern(q: string): string {
  return q.replace(/\$SAME\((\?\w+|<[^>]+>), (\?\w+|<[^>]+>)\)/g, (_, p, t) => inline(p, t));
}

describe('custom SERVICE clauses, rewritten into VALUES before the store runs the query', () => {
  let fixture: Awaited<ReturnType<typeof tinyStore>>;
  let engine: QueryEngine;
  let provider: SameSex;

  beforeAll(async () => {
    fixture = await tinyStore();
    const sexes = await fixture.store.select(`${PREFIXES}SELECT ?p ?sex WHERE { ?p a hx:Patient ; hx:sex ?sex }`);
    provider = new SameSex(new Map(sexes.map((r) => [r.p!, r.sex!])));
    engine = await QueryEngine.create(fixture.store, fixture.ontology, { services: [provider] });
  });
  afterAll(() => fixture.cleanup());

  const answer = async (q: string) => {
    const { result } = await engine.run(PREFIXES + q, 'json');
    const json = JSON.parse(result.body) as { boolean?: boolean; results?: { bindings: Record<string, { value: string }>[] } };
    if (json.boolean !== undefined) return [String(json.boolean)];
    return json.results!.bindings.map((b) => JSON.stringify(Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v.value]).sort()))).sort();
  };

  test.each(CASES)('%s: same answer as the equivalent graph pattern', async (_, q) => {
    const expected = await answer(withPattern(q));
    expect(await answer(withService(q))).toEqual(expected);
    // Not vacuous: every case has rows to compare.
    expect(expected.length).toBeGreaterThan(0);
  });

  test('the inputs are narrowed by the rest of the query: one target, not every patient', async () => {
    provider.calls.length = 0;
    await answer(withService('SELECT ?p WHERE { ?t hx:id "P-C" . $SAME(?p, ?t) ?p hx:hasPhenotype ?c . ?c rdfs:label ?l }'));
    expect(provider.calls).toEqual([['https://w3id.org/harmonia/resource/patient/P-C']]);
  });

  test('the prepared query counts the clauses; a cycle between clauses is refused', async () => {
    expect(engine.prepare(PREFIXES + withService('SELECT * WHERE { ?t hx:id "P-A" . $SAME(?p, ?t) $SAME(?q, ?p) }')).services).toBe(2);
    await expect(engine.run(PREFIXES + withService('SELECT * WHERE { $SAME(?p, ?q) $SAME(?q, ?p) }'), 'json')).rejects.toThrow(/depend on each other in a cycle/);
    await expect(engine.run(PREFIXES + 'SELECT * WHERE { SERVICE <https://w3id.org/harmonia/nothing> { ?a ?b ?c } }', 'json')).rejects.toThrow(/no such Harmonia service/);
  });
});
