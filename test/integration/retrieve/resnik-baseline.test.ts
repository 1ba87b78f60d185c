import { join } from 'node:path';
import { loadOntology, type Ontology } from '../../../src/ontology/index.js';
import { buildDiagnosisContext, loadHpoa, profileFromHpoList } from '../../../src/retrieve/index.js';
import { dataDir } from '../../helpers/paths.js';

const data = dataDir();
const describeWithData = data ? describe : describe.skip;
if (!data) console.warn('resnik-bma baseline test skipped: no data directory (../shared/data or HARMONIA_DATA)');

/**
 * The plain textbook method, written independently of src/retrieve: IC(t) = -ln(n(t)/N) over all
 * annotated diseases (annotations propagated to ancestors, NOT rows left out), sim = IC of the most
 * informative common ancestor, symmetric best-match average.
 */
function plainResnikBma(ontology: Ontology, diseases: { id: string; terms: string[] }[]) {
  const n = diseases.length;
  const count = new Map<string, number>();
  const ancestors = new Map<string, Set<string>>();
  const anc = (t: string): Set<string> => {
    let s = ancestors.get(t);
    if (!s) ancestors.set(t, (s = new Set(ontology.ancestors(t))));
    return s;
  };
  for (const d of diseases) {
    const closed = new Set<string>();
    for (const t of d.terms) for (const a of anc(t)) closed.add(a);
    for (const a of closed) count.set(a, (count.get(a) ?? 0) + 1);
  }
  const ic = (t: string): number => -Math.log((count.get(t) ?? 1) / n);
  const sim = (a: string, b: string): number => {
    const sa = anc(a);
    let best = 0;
    for (const x of anc(b)) if (sa.has(x)) best = Math.max(best, ic(x));
    return best;
  };
  const best = (x: string, ys: string[]): number => Math.max(...ys.map((y) => sim(x, y)));
  return (query: string[], disease: string[]): number =>
    (query.reduce((s, x) => s + best(x, disease), 0) / query.length + disease.reduce((s, y) => s + best(y, query), 0) / disease.length) / 2;
}

describeWithData('resnik-bma disease ranking against a plain independent implementation on the real annotations', () => {
  test('the same score for every disease of a sample, for queries of 1 to 6 terms', () => {
    const ontology = loadOntology(join(data!, 'ontologies/hp.v2024-04-26.json.gz'));
    const hpoa = loadHpoa(join(data!, 'annotations/phenotype.hpoa.gz'), ontology);
    const ctx = buildDiagnosisContext(ontology, hpoa);
    const diseases = [...hpoa.diseases.values()]
      .map((d) => ({ id: d.id, terms: [...new Set(d.terms.filter((t) => !t.excluded).map((t) => t.id))].filter((t) => ontology.indexOf(t) >= 0) }))
      .filter((d) => d.terms.length > 0);
    const plain = plainResnikBma(ontology, diseases);
    const queries = [['HP:0001156', 'HP:0001363', 'HP:0011304', 'HP:0010055'], ['HP:0001250'], ['HP:0001263', 'HP:0000252', 'HP:0001250'], ['HP:0000028', 'HP:0001999', 'HP:0000465', 'HP:0001631', 'HP:0000400', 'HP:0004322']];
    let compared = 0;
    for (const q of queries) {
      const { profile } = profileFromHpoList(q, ontology);
      const ours = ctx.model.scoreAll(profile, 'resnik-bma');
      for (let i = 0; i < diseases.length; i += 25) {
        const expected = plain(profile.observed, diseases[i].terms);
        // Our MICA rows are float32: agreement to float32 precision.
        expect(Math.abs(ours[ctx.model.indexOfDisease(diseases[i].id)] - expected)).toBeLessThan(1e-5 * Math.max(1, expected));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(1500);
  }, 180_000);
});
