import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { changeKind, cleanDefinition, emptyDefinition, freshSetId, normalised, renameConceptSet, setField, setUses, type CohortDefinition } from '../../../web/src/cohort-model.js';
import { missingPrefixes, withPrefixes } from '../../../web/src/prefixes.js';
import { FIXTURES } from '../cohort/helpers.js';

const example = (): CohortDefinition => JSON.parse(readFileSync(join(FIXTURES, 'seizure-not-febrile-scn1a.json'), 'utf8'));

describe('cohort builder model', () => {
  test('renaming a concept set renames its uses', () => {
    const def = example();
    expect(setUses(def, 'seizure')).toBe(1);
    renameConceptSet(def, 'seizure', 'fits');
    expect(def.conceptSets![0].id).toBe('fits');
    expect(JSON.stringify(def.criteria)).toContain('"conceptSet":"fits"');
    expect(setUses(def, 'seizure')).toBe(0);
    expect(freshSetId(def)).toBe('set-1');
  });

  test('changing a group kind keeps its children; a leaf gets the defaults of its kind', () => {
    const def = example();
    const root = def.criteria;
    changeKind(root, 'atLeast', def);
    expect(root).toEqual({ atLeast: { n: 1, of: (example().criteria as { all: unknown[] }).all } });
    const leaf = (root as { atLeast: { of: CohortDefinition['criteria'][] } }).atLeast.of[1];
    changeKind(leaf, 'phenotype', def);
    expect(leaf).toEqual({ phenotype: { conceptSet: 'seizure', status: 'observed' } });
  });

  test('blank fields are left out; the sent definition has no empty parts; defaults do not change equality', () => {
    const v: Record<string, unknown> = { pos: 5 };
    setField(v, 'pos', undefined);
    setField(v, 'chrom', '');
    setField(v, 'ref', 'A');
    expect(v).toEqual({ ref: 'A' });
    expect(cleanDefinition(emptyDefinition('x'))).toEqual({ name: 'x', criteria: { all: [] } });
    const spelled = example();
    (spelled.criteria as { all: { phenotype?: Record<string, unknown> }[] }).all[3] = { none: [{ phenotype: { concept: 'HP:0001249', status: 'observed', includeDescendants: true } }] } as never;
    expect(normalised(spelled)).toEqual(normalised(example()));
    (spelled.criteria as { all: unknown[] }).all.pop();
    expect(normalised(spelled)).not.toEqual(normalised(example()));
  });
});

describe('pre-declared prefixes', () => {
  const ours = { hx: 'https://w3id.org/harmonia/vocab#', obo: 'http://purl.obolibrary.org/obo/', rdfs: 'http://www.w3.org/2000/01/rdf-schema#' };
  test('adds the prefixes used and not declared, ignoring IRIs, strings and comments', () => {
    const q = 'PREFIX hx: <https://w3id.org/harmonia/vocab#>\nSELECT * WHERE { ?p hx:hasPhenotype obo:HP_0001250 ; hx:id "rdfs:label" } # rdfs:x';
    expect(missingPrefixes(q, ours)).toEqual({ obo: ours.obo });
    expect(withPrefixes(q, ours)).toBe(`PREFIX obo: <${ours.obo}>\n${q}`);
    expect(withPrefixes('SELECT * WHERE { ?s <http://x/rdfs:y> ?o FILTER(?o < 3) }', ours)).toBe('SELECT * WHERE { ?s <http://x/rdfs:y> ?o FILTER(?o < 3) }');
    expect(Object.keys(missingPrefixes('SELECT * { ?c rdfs:subClassOf* obo:HP_1 }', ours))).toEqual(['obo', 'rdfs']);
  });
});
