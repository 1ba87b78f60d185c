import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadOntology, parseOboGraphs, parseSssomUmls } from '../../../src/ontology/index.js';
import { miniHpo, tempDir } from '../../helpers/paths.js';

describe('OBO 1.4 reader', () => {
  const o = loadOntology(miniHpo);

  test('reads version, labels, definitions and synonym scopes', () => {
    expect(o.version).toBe('2099-01-01');
    expect(o.label('HP:0001250')).toBe('Seizure');
    expect(o.get('HP:0001250')!.definition).toBe('An intermittent abnormality of nervous system physiology.');
    expect(o.get('HP:0001250')!.synonyms).toEqual([
      { text: 'Epileptic seizure', scope: 'EXACT' },
      { text: 'Seizures', scope: 'EXACT', type: 'plural_form' },
      { text: 'Epilepsy', scope: 'RELATED', type: 'layperson' },
    ]);
  });

  test('obsolete terms are not part of the DAG', () => {
    expect(o.size).toBe(8);
    expect(o.has('HP:0000057')).toBe(false);
    expect(o.get('HP:0000057')!.obsolete).toBe(true);
  });

  test('resolves alt_ids, replaced obsolete ids, and reports the rest', () => {
    expect(o.resolve('HP:0001275')).toEqual({ status: 'alt_id', id: 'HP:0001250', input: 'HP:0001275' });
    expect(o.resolve('HP:0000057')).toEqual({ status: 'replaced', id: 'HP:0008665', input: 'HP:0000057', obsolete: 'HP:0000057' });
    expect(o.resolve('HP:0000999')).toEqual({ status: 'obsolete', input: 'HP:0000999', consider: ['HP:0000252'] });
    expect(o.resolve('HP:1234567').status).toBe('unknown');
  });

  test('ancestor and descendant sets follow is_a transitively', () => {
    expect(o.descendants('HP:0001250').sort()).toEqual(['HP:0001250', 'HP:0002373', 'HP:0011097']);
    expect(o.descendants('HP:0001250', false).sort()).toEqual(['HP:0002373', 'HP:0011097']);
    expect(o.ancestors('HP:0002373').sort()).toEqual(['HP:0000001', 'HP:0000118', 'HP:0001250', 'HP:0002373']);
    expect(o.isA('HP:0002373', 'HP:0000118')).toBe(true);
    expect(o.isA('HP:0000252', 'HP:0001250')).toBe(false);
  });

  test('UMLS CUIs from xrefs, both directions', () => {
    expect(o.umls('HP:0001250')).toEqual(['C0036572']);
    expect(o.byUmls('UMLS:C0036572')).toEqual(['HP:0001250']);
    expect(o.byUmls('C9999999')).toEqual([]);
  });

  test('search ranks exact label, then prefixes, then token matches; ids and CUIs hit directly', () => {
    expect(o.search('seizure')[0].id).toBe('HP:0001250');
    expect(o.search('epileptic')[0].id).toBe('HP:0011097');
    expect(o.search('mental retard')[0]).toMatchObject({ id: 'HP:0001249', matched: 'Mental retardation' });
    expect(o.search('seiz febr').map((h) => h.id)).toEqual(['HP:0002373']);
    expect(o.search('HP:0001275')[0].id).toBe('HP:0001250');
    expect(o.search('C0009952')[0].id).toBe('HP:0002373');
    expect(o.search('zzzz')).toEqual([]);
  });
});

describe('OBO Graphs JSON reader', () => {
  const graph = {
    graphs: [{
      id: 'http://purl.obolibrary.org/obo/hp.json',
      meta: { version: 'http://purl.obolibrary.org/obo/hp/releases/2031-02-03/hp.json' },
      nodes: [
        { id: 'http://purl.obolibrary.org/obo/HP_0000001', lbl: 'All', type: 'CLASS' },
        {
          id: 'http://purl.obolibrary.org/obo/HP_0001250', lbl: 'Seizure', type: 'CLASS',
          meta: {
            synonyms: [{ pred: 'hasNarrowSynonym', val: 'Fits' }],
            xrefs: [{ val: 'UMLS:C0036572' }, { val: 'MSH:D012640' }],
            basicPropertyValues: [{ pred: 'http://www.geneontology.org/formats/oboInOwl#hasAlternativeId', val: 'HP:0001275' }],
          },
        },
        { id: 'http://purl.obolibrary.org/obo/HP_0000057', lbl: 'obsolete X', type: 'CLASS', meta: { deprecated: true, basicPropertyValues: [{ pred: 'http://purl.obolibrary.org/obo/IAO_0100001', val: 'http://purl.obolibrary.org/obo/HP_0001250' }] } },
        { id: 'http://purl.obolibrary.org/obo/UBERON_0000955', lbl: 'brain', type: 'CLASS' },
      ],
      edges: [{ sub: 'http://purl.obolibrary.org/obo/HP_0001250', pred: 'is_a', obj: 'http://purl.obolibrary.org/obo/HP_0000001' }],
    }],
  };

  test('keeps only the ontology’s own classes, with version, xrefs, alt ids and replacements', () => {
    const data = parseOboGraphs(graph);
    expect(data.version).toBe('2031-02-03');
    expect(data.terms.map((t) => t.id).sort()).toEqual(['HP:0000001', 'HP:0000057', 'HP:0001250']);
    const seizure = data.terms.find((t) => t.id === 'HP:0001250')!;
    expect(seizure).toMatchObject({ parents: ['HP:0000001'], altIds: ['HP:0001275'], umls: ['C0036572'], synonyms: [{ text: 'Fits', scope: 'NARROW' }] });
    expect(data.terms.find((t) => t.id === 'HP:0000057')).toMatchObject({ obsolete: true, replacedBy: 'HP:0001250' });
  });

  test('loads .json and .json.gz files; rejects non-ontologies clearly', () => {
    const dir = tempDir();
    try {
      const f = join(dir.path, 'hp.json');
      writeFileSync(f, JSON.stringify(graph));
      expect(loadOntology(f).resolve('HP:0000057')).toMatchObject({ status: 'replaced', id: 'HP:0001250' });
      const bad = join(dir.path, 'bad.json');
      writeFileSync(bad, '{"graphs": [');
      expect(() => loadOntology(bad)).toThrow(/bad\.json: invalid JSON/);
      const notOnto = join(dir.path, 'x.obo');
      writeFileSync(notOnto, 'hello world');
      expect(() => loadOntology(notOnto)).toThrow(/x\.obo: not an OBO 1\.4 file/);
    } finally {
      dir.remove();
    }
  });
});

describe('SSSOM UMLS mappings', () => {
  test('adds CUIs from mapping rows in either direction, skipping other vocabularies', () => {
    const sssom = [
      '# curie_map:', '#   HP: http://purl.obolibrary.org/obo/HP_',
      'subject_id\tpredicate_id\tobject_id\tmapping_justification',
      'HP:0000252\tskos:exactMatch\tUMLS:C0025958\tsemapv:ManualMappingCuration',
      'UMLS:C0036572\tskos:exactMatch\tHP:0011097\tsemapv:ManualMappingCuration',
      'HP:0000252\tskos:exactMatch\tMSH:D008831\tsemapv:ManualMappingCuration',
    ].join('\n');
    const map = parseSssomUmls(sssom);
    expect([...map.entries()]).toEqual([['HP:0000252', ['C0025958']], ['HP:0011097', ['C0036572']]]);
    const dir = tempDir();
    try {
      const f = join(dir.path, 'hp-umls.sssom.tsv');
      writeFileSync(f, sssom);
      const o = loadOntology(miniHpo, { sssom: [f] });
      expect(o.umls('HP:0000252')).toEqual(['C0025958']);
      expect(o.byUmls('C0036572').sort()).toEqual(['HP:0001250', 'HP:0011097']);
    } finally {
      dir.remove();
    }
  });

  test('a file without the SSSOM columns is an error naming it', () => {
    expect(() => parseSssomUmls('a\tb\n1\t2', 'm.tsv')).toThrow(/m\.tsv: SSSOM header lacks subject_id/);
  });
});
