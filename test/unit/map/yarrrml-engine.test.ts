import { loadMapping, runMapping } from '../../../src/map/yarrrml/index.js';
import { FX, nquads, tempFile } from './yarrrml-helpers.js';

const EX = 'http://example.org/';
const XSD = 'http://www.w3.org/2001/XMLSchema#';

async function run(yaml: string): ReturnType<typeof runMapping> {
  return runMapping(loadMapping(tempFile(yaml)));
}

describe('YARRRML engine: CSV', () => {
  const yaml = `
prefixes: { ex: ${EX} }
sources:
  data: { access: ${FX}/rows.csv, referenceFormulation: csv }
mappings:
  row:
    sources: data
    s: ex:row/$(id)
    graphs: ex:g/$(id)
    po:
      - [ex:name, $(name)]
      - [ex:score, $(score), xsd:decimal]
      - [ex:when, $(when), xsd:date]
      - [ex:link, $(link)~iri]
      - p: ex:code
        o: { function: grel:toUpperCase, parameters: [[grel:valueParameter, $(code)]] }
      - p: ex:trimmed
        o:
          function: grel:string_trim
          parameters:
            - parameter: grel:valueParameter
              value: $(name)
      - p: ex:hasCode
        o: "yes"
        condition: { function: notEqual, parameters: [[str1, $(code)], [str2, ""]] }
      - p: [ex:also]
        o: [{ value: ex:thing/$(id), type: iri }]
        graphs: ex:extra
`;

  test('maps every cell: empty cells yield nothing, bad values are problems, other cells still map', async () => {
    const { quads, problems } = await run(yaml);
    const g = (id: string): string => `<${EX}g/${id}>`;
    const s = (id: string): string => `<${EX}row/${id}>`;
    expect(nquads(quads)).toEqual(
      [
        `${s('r1')} <${EX}name> "  alice  " ${g('r1')}`,
        `${s('r1')} <${EX}score> "1.5"^^<${XSD}decimal> ${g('r1')}`,
        `${s('r1')} <${EX}when> "2024-02-29"^^<${XSD}date> ${g('r1')}`,
        `${s('r1')} <${EX}link> <http://example.org/a> ${g('r1')}`,
        `${s('r1')} <${EX}code> "SZ01" ${g('r1')}`,
        `${s('r1')} <${EX}trimmed> "alice" ${g('r1')}`,
        `${s('r1')} <${EX}hasCode> "yes" ${g('r1')}`,
        `${s('r1')} <${EX}also> <${EX}thing/r1> ${g('r1')}`,
        `${s('r1')} <${EX}also> <${EX}thing/r1> <${EX}extra>`,
        `${s('r2')} <${EX}code> "ID02" ${g('r2')}`,
        `${s('r2')} <${EX}hasCode> "yes" ${g('r2')}`,
        `${s('r2')} <${EX}also> <${EX}thing/r2> ${g('r2')}`,
        `${s('r2')} <${EX}also> <${EX}thing/r2> <${EX}extra>`,
        `${s('r3')} <${EX}name> "carol" ${g('r3')}`,
        `${s('r3')} <${EX}trimmed> "carol" ${g('r3')}`,
        `${s('r3')} <${EX}score> "3.0"^^<${XSD}decimal> ${g('r3')}`,
        `${s('r3')} <${EX}when> "2024-01-05"^^<${XSD}date> ${g('r3')}`,
        `${s('r3')} <${EX}also> <${EX}thing/r3> ${g('r3')}`,
        `${s('r3')} <${EX}also> <${EX}thing/r3> <${EX}extra>`,
      ].sort(),
    );
    const file = 'test/fixtures/yarrrml/rows.csv';
    expect(problems).toEqual([
      { file, row: 3, column: 'score', reason: "'x' is not a valid xsd:decimal", dropped: true },
      { file, row: 3, column: 'when', reason: "'2023-02-29' is not a valid xsd:date", dropped: true },
      { file, row: 4, column: 'link', reason: "'not an iri' is not an absolute IRI and the mapping has no base", dropped: true },
    ]);
  });

  test('quads without graphs go to the default graph; a base resolves relative IRIs', async () => {
    const { quads } = await run(`
base: ${EX}base/
sources:
  data: [${FX}/rows.csv~csv]
mappings:
  row:
    sources: data
    s: row/$(id)
    po:
      - [a, ${EX}Row]
      - [[${EX}p1, ${EX}p2], $(id), en~lang]
`);
    const lines = nquads(quads);
    expect(lines).toContain(`<${EX}base/row/r1> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <${EX}Row>`);
    expect(lines).toContain(`<${EX}base/row/r2> <${EX}p2> "r2"@en`);
    expect(lines).toHaveLength(9);
  });

  test('mapping-level conditions skip whole records; isNull sees empty cells', async () => {
    const { quads } = await run(`
prefixes: { ex: ${EX} }
mappings:
  row:
    sources: [[${FX}/rows.csv~csv]]
    s: ex:row/$(id)
    condition: { function: idlab-fn:isNull, parameters: [[idlab-fn:str, $(name)]] }
    po: [[ex:id, $(id)]]
`);
    expect(nquads(quads)).toEqual([`<${EX}row/r2> <${EX}id> "r2"`]);
  });
});

describe('YARRRML engine: JSON, JSON Lines and TSV', () => {
  test('a JSON source with an iterator, nested and multi-valued references, IRI-encoded ids', async () => {
    const { quads, problems } = await run(`
prefixes: { ex: ${EX} }
sources:
  people:
    access: ${FX}/patients.json
    referenceFormulation: jsonpath
    iterator: $.export.patients[*]
mappings:
  person:
    sources: people
    s: ex:p/$(id)
    po:
      - [ex:age, $(age), xsd:decimal]
      - [ex:code, '$(codes[*])']   # quoted: [ ] inside a YAML flow list
      - [ex:site, $(nested.site)]
      - p: ex:sex
        o: { function: grel:toUpperCase, parameters: [[grel:valueParameter, $(sex)]] }
`);
    expect(problems).toEqual([]);
    expect(nquads(quads)).toEqual(
      [
        `<${EX}p/J1> <${EX}age> "3.0"^^<${XSD}decimal>`,
        `<${EX}p/J1> <${EX}code> "SZ01"`,
        `<${EX}p/J1> <${EX}code> "MIC"`,
        `<${EX}p/J1> <${EX}sex> "F"`,
        `<${EX}p/J2> <${EX}sex> "M"`,
        `<${EX}p/J%203> <${EX}age> "2.5"^^<${XSD}decimal>`,
        `<${EX}p/J%203> <${EX}code> "ID02"`,
        `<${EX}p/J%203> <${EX}site> "Lyon"`,
        `<${EX}p/J%203> <${EX}sex> "F"`,
      ].sort(),
    );
  });

  test('JSON Lines: each line is a document; bad lines and bad values are problems with the line number', async () => {
    const { quads, problems } = await run(`
prefixes: { ex: ${EX} }
mappings:
  line:
    sources: [${FX}/patients.jsonl~jsonpath, $]
    s: ex:l/$(id)
    po: [[ex:age, $(age), xsd:integer], [ex:id, $(id)]]
`);
    const file = 'test/fixtures/yarrrml/patients.jsonl';
    expect(problems).toEqual([
      { file, row: 2, reason: expect.stringMatching(/^not valid JSON/) },
      { file, row: 3, column: 'age', reason: "'old' is not a valid xsd:integer", dropped: true },
    ]);
    expect(nquads(quads)).toEqual(
      [`<${EX}l/L1> <${EX}age> "4"^^<${XSD}integer>`, `<${EX}l/L1> <${EX}id> "L1"`, `<${EX}l/L2> <${EX}id> "L2"`, `<${EX}l/L3> <${EX}age> "7"^^<${XSD}integer>`, `<${EX}l/L3> <${EX}id> "L3"`].sort(),
    );
  });

  test('TSV via referenceFormulation tsv, with a language tag', async () => {
    const { quads } = await run(`
prefixes: { ex: ${EX} }
sources:
  terms: { access: ${FX}/terms.tsv, referenceFormulation: tsv }
mappings:
  term:
    sources: terms
    s: ex:t/$(id)
    po: [[rdfs:label, $(label), fr~lang]]
`);
    expect(nquads(quads)).toEqual([`<${EX}t/A1> <http://www.w3.org/2000/01/rdf-schema#label> "Crise"@fr`, `<${EX}t/A3> <http://www.w3.org/2000/01/rdf-schema#label> "Seizure"@fr`]);
  });
});

describe('YARRRML engine: joins', () => {
  const yaml = (childValue: string): string => `
prefixes: { ex: ${EX} }
sources:
  rows: { access: ${FX}/rows.csv }
  codes: { access: ${process.cwd()}/mappings/examples/local-codes.csv }
mappings:
  term:
    sources: codes
    s: { function: hxf:curieIri, parameters: [[hxf:curie, $(hpo_id)]] }
  row:
    sources: rows
    s: ex:row/$(id)
    po:
      - p: ex:term
        o:
          mapping: term
          condition:
            function: equal
            parameters:
              - [str2, $(code), o]
              - [str1, ${childValue}, s]
      - p: ex:self
        o: { mapping: row }
`;

  test('an object joins the subject of another mapping on equal values (either parameter order)', async () => {
    const { quads, problems } = await run(yaml('{ function: grel:toUpperCase, parameters: [[grel:valueParameter, $(code)]] }'));
    const lines = nquads(quads);
    expect(lines.filter((l) => l.includes(`<${EX}term>`))).toEqual([
      `<${EX}row/r1> <${EX}term> <http://purl.obolibrary.org/obo/HP_0001250>`,
      `<${EX}row/r2> <${EX}term> <http://purl.obolibrary.org/obo/HP_0001249>`,
    ]);
    // Without a condition the joined mapping reads the same record.
    expect(lines).toContain(`<${EX}row/r3> <${EX}self> <${EX}row/r3>`);
    expect(problems).toEqual([]);
  });

  test('a value without a match in the joined mapping is reported, not silently dropped', async () => {
    const { quads, problems } = await run(yaml('$(code)'));
    expect(quads.filter((q) => q.predicate.value === `${EX}term`)).toEqual([]);
    expect(problems.map((p) => [p.row, p.column, p.reason])).toEqual([
      [2, 'code', "no record of mapping 'term' (mappings/examples/local-codes.csv) matches 'sz01'"],
      [3, 'code', "no record of mapping 'term' (mappings/examples/local-codes.csv) matches 'id02'"],
    ]);
  });
});
