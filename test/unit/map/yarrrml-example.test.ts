import { readFileSync } from 'node:fs';
import { loadMapping, runMapping } from '../../../src/map/yarrrml/index.js';
import { patientGraph, patientIri } from '../../../src/model/iri.js';
import { nquads, tempFile } from './yarrrml-helpers.js';

// The documented example must produce exactly our graph's contract. The expected quads are built
// here straight from the CSVs and the contract, without the engine.

const MAPPING = 'mappings/clinical-csv.yarrrml.yml';
const HX = 'https://w3id.org/harmonia/vocab#';
const RES = 'https://w3id.org/harmonia/resource/patient/';
const GRAPH = 'https://w3id.org/harmonia/graph/patient/';
const XSD = 'http://www.w3.org/2001/XMLSchema#';
const TYPE = '<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>';
const SEX: Record<string, string> = { M: 'MALE', F: 'FEMALE', O: 'OTHER_SEX', U: 'UNKNOWN_SEX' };

/** The example CSVs have no quoted fields, so a split is an independent reader. */
function rows(file: string): Record<string, string>[] {
  const [header, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const cols = header.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
}

function expected(): string[] {
  const hpo = new Map(rows('mappings/examples/local-codes.csv').map((r) => [r.code, r.hpo_id]));
  const out = new Set<string>();
  for (const r of rows('mappings/examples/clinical.csv')) {
    const id = encodeURIComponent(r.patient_id);
    const p = `<${RES}${id}>`;
    const g = `<${GRAPH}${id}>`;
    const add = (s: string, pred: string, o: string): void => void out.add(`${s} ${pred} ${o} ${g}`);
    add(p, TYPE, `<${HX}Patient>`);
    add(p, `<${HX}id>`, JSON.stringify(r.patient_id));
    add(p, `<${HX}sex>`, `"${SEX[r.sex]}"`);
    if (r.age_years) add(p, `<${HX}ageAtLastEncounterYears>`, `"${r.age_years.includes('.') ? r.age_years : r.age_years + '.0'}"^^<${XSD}decimal>`);
    add(p, `<${HX}site>`, JSON.stringify(r.site));
    if (!r.phenotype_code) continue;
    const f = `<${RES}${id}/feature/${r.phenotype_code}>`;
    const term = `<http://purl.obolibrary.org/obo/${hpo.get(r.phenotype_code)!.replace(':', '_')}>`;
    const excluded = r.status === 'absent';
    add(p, `<${HX}phenotypicFeature>`, f);
    add(p, `<${HX}${excluded ? 'excludedPhenotype' : 'hasPhenotype'}>`, term);
    add(f, TYPE, `<${HX}PhenotypicFeature>`);
    add(f, `<${HX}type>`, term);
    add(f, `<${HX}excluded>`, `"${excluded}"^^<${XSD}boolean>`);
    add(f, `<${HX}reportedId>`, JSON.stringify(r.phenotype_code));
  }
  return [...out].sort();
}

describe('mappings/clinical-csv.yarrrml.yml', () => {
  test('yields exactly the contract triples for the example CSV, without problems', async () => {
    const { quads, problems } = await runMapping(loadMapping(MAPPING));
    const want = expected();
    expect(want.length).toBeGreaterThan(100);
    expect(nquads(quads)).toEqual(want);
    expect(problems).toEqual([]);
  });

  test('mints the same patient and graph IRIs as the rest of the product', async () => {
    const { quads } = await runMapping(loadMapping(MAPPING));
    const patient = quads.find((q) => q.predicate.value === HX + 'id' && q.object.value === 'CHU 09')!;
    expect(patient.subject.value).toBe(patientIri('CHU 09'));
    expect(patient.graph.value).toBe(patientGraph('CHU 09'));
  });

  test('runs on another export given as a source override, reporting bad rows and keeping the rest', async () => {
    const csv = tempFile(
      [
        'patient_id,sex,age_years,phenotype_code,status,site',
        'Q1,F,twelve,SZ01,present,Lyon',
        'Q2,X,3,SZ01,present,Lyon',
        'Q3,M,4,ZZ9,present,Lyon',
        'Q4,M,5',
        'Q5,F,6.50,MIC,absent, Paris ',
      ].join('\n'),
      'site2.csv',
    );
    const { quads, problems } = await runMapping(loadMapping(MAPPING), { sources: { clinical: csv } });
    const sorted = [...problems].sort((a, b) => a.row - b.row || a.reason.localeCompare(b.reason));
    expect(sorted).toEqual([
      { file: csv, row: 2, column: 'age_years', reason: "'twelve' is not a valid xsd:decimal", dropped: true },
      { file: csv, row: 3, column: 'sex', reason: "'X' is not in column 'code' of mappings/examples/sex-codes.csv", dropped: true },
      { file: csv, row: 4, column: 'phenotype_code', reason: "no record of mapping 'hpo-term' (mappings/examples/local-codes.csv) matches 'ZZ9'" },
      { file: csv, row: 5, reason: 'row has 3 fields, the header has 6' },
    ]);
    const lines = nquads(quads);
    // Q1 lost only its age; Q5 is complete, with its site trimmed and its age canonical.
    expect(lines).toContain(`<${RES}Q1> <${HX}hasPhenotype> <http://purl.obolibrary.org/obo/HP_0001250> <${GRAPH}Q1>`);
    expect(lines.filter((l) => l.startsWith(`<${RES}Q1> <${HX}ageAtLastEncounterYears>`))).toEqual([]);
    expect(lines).toContain(`<${RES}Q5> <${HX}site> "Paris" <${GRAPH}Q5>`);
    expect(lines).toContain(`<${RES}Q5> <${HX}ageAtLastEncounterYears> "6.5"^^<${XSD}decimal> <${GRAPH}Q5>`);
    expect(lines).toContain(`<${RES}Q5> <${HX}excludedPhenotype> <http://purl.obolibrary.org/obo/HP_0000252> <${GRAPH}Q5>`);
    expect(lines.some((l) => l.startsWith(`<${RES}Q4>`))).toBe(false);
    expect(lines.some((l) => l.startsWith(`<${RES}Q2> <${HX}sex>`))).toBe(false);
  });
});
