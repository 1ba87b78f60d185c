import { join } from 'node:path';
import { loadMapping, runMapping } from '../../../src/map/yarrrml/index.js';
import { FX, tempFile } from './yarrrml-helpers.js';

// Every mistake in a mapping is an error that names the mapping file, the mapping and the field.

const HEAD = `
prefixes: { ex: http://example.org/ }
sources:
  data: { access: ${FX}/rows.csv, referenceFormulation: csv }
mappings:
`;
const rowsCsv = 'test/fixtures/yarrrml/rows.csv';

function loadError(body: string, head = HEAD): { file: string; message: string } {
  const file = tempFile(head + body);
  try {
    loadMapping(file);
  } catch (e) {
    return { file, message: (e as Error).message };
  }
  throw new Error('expected loadMapping to throw');
}

describe('loadMapping rejects a bad mapping, naming file, mapping and field', () => {
  test.each([
    ['unknown source', `  m:\n    sources: nope\n    s: ex:$(id)\n    po: [[ex:p, $(id)]]`, "mapping 'm', sources[0]: unknown source 'nope' (declared: data)"],
    ['undefined prefix (predicate)', `  m:\n    sources: data\n    s: ex:$(id)\n    po: [[foo:bar, $(id)]]`, "mapping 'm', po[0].p[0]: undefined prefix 'foo' in 'foo:bar' (declare it under prefixes)"],
    ['undefined prefix (subject)', `  m:\n    sources: data\n    s: zz:row/$(id)\n    po: [[ex:p, $(id)]]`, "mapping 'm', s: undefined prefix 'zz' in 'zz:row/$(id)' (declare it under prefixes)"],
    ['undefined prefix (datatype)', `  m:\n    sources: data\n    s: ex:$(id)\n    po: [[ex:p, $(id), xx:int]]`, "mapping 'm', po[0].o[0].datatype: undefined prefix 'xx' in 'xx:int' (declare it under prefixes)"],
    ['relative IRI without base', `  m:\n    sources: data\n    s: row/$(id)\n    po: [[ex:p, $(id)]]`, "mapping 'm', s: 'row/$(id)' is a relative IRI and the mapping has no base"],
    ['unknown function', `  m:\n    sources: data\n    s: ex:$(id)\n    po:\n      - p: ex:p\n        o: { function: grel:nope, parameters: [[grel:valueParameter, $(id)]] }`, "mapping 'm', po[0].o[0].function: unknown function 'grel:nope' (see docs/mappings.md for the supported ones)"],
    ['unknown parameter', `  m:\n    sources: data\n    s: ex:$(id)\n    po:\n      - p: ex:p\n        o: { function: grel:toUpperCase, parameters: [[grel:other, $(id)]] }`, "mapping 'm', po[0].o[0].parameters[0]: function 'grel:toUpperCase' has no parameter 'grel:other' (parameters: valueParameter)"],
    ['lookup in an unknown source', `  m:\n    sources: data\n    s: ex:$(id)\n    po:\n      - p: ex:p\n        o: { function: hxf:lookup, parameters: [[hxf:str, $(id)], [hxf:source, codes], [hxf:fromColumn, a], [hxf:toColumn, b]] }`, "mapping 'm', po[0].o[0].parameters[1]: unknown source 'codes' (declared: data)"],
    ['unknown joined mapping', `  m:\n    sources: data\n    s: ex:$(id)\n    po:\n      - p: ex:p\n        o: { mapping: other, condition: { function: equal, parameters: [[str1, $(id), s], [str2, $(id), o]] } }`, "mapping 'm', po[0].o[0].mapping: unknown mapping 'other' (mappings: m)"],
    ['join on both sides of the same mapping', `  m:\n    sources: data\n    s: ex:$(id)\n    po:\n      - p: ex:p\n        o: { mapping: m, condition: { function: equal, parameters: [[str1, $(id), s], [str2, $(id), s]] } }`, "mapping 'm', po[0].o[0].condition: one parameter must come from this mapping (s) and the other from the joined mapping (o)"],
    ['unsupported key', `  m:\n    sources: data\n    s: ex:$(id)\n    pos: [[ex:p, $(id)]]`, "mapping 'm': unsupported key 'pos' (supported: sources, source, s, subject, subjects, po, predicateobjects, graphs, graph, g, condition, conditions)"],
    ['missing subject', `  m:\n    sources: data\n    po: [[ex:p, $(id)]]`, "mapping 'm', s: exactly one subject (s) is required"],
    ['bad po', `  m:\n    sources: data\n    s: ex:$(id)\n    po: [[ex:p]]`, "mapping 'm', po[0]: expected [predicate, object] or [predicate, object, datatype|lang~lang]"],
    ['unclosed reference', `  m:\n    sources: data\n    s: ex:$(id\n    po: [[ex:p, $(id)]]`, "mapping 'm', s: unclosed reference in 'ex:$(id'"],
  ])('%s', (_name, body, where) => {
    const { file, message } = loadError(body);
    expect(message).toBe(`${file}: ${where}`);
  });

  test('unsupported JSONPath iterator', () => {
    const { file, message } = loadError('  m: {}', `sources:\n  j: { access: x.json, referenceFormulation: jsonpath, iterator: '$..x' }\nmappings:\n`);
    expect(message).toBe(`${file}: sources.j.iterator: unsupported JSONPath syntax at '..x' in '$..x'`);
  });

  test('unsupported reference formulation', () => {
    const { file, message } = loadError('  m: {}', `sources:\n  x: { access: x.xml, referenceFormulation: xpath }\nmappings:\n`);
    expect(message).toBe(`${file}: sources.x.referenceFormulation: unsupported reference formulation 'xpath' (supported: csv, tsv, jsonpath)`);
  });

  test('not YAML, and no such file', () => {
    const { file, message } = loadError('  m: [unclosed');
    expect(message.startsWith(`${file}: not valid YAML: `)).toBe(true);
    const missing = join(FX, 'no-such.yml');
    expect(() => loadMapping(missing)).toThrow(`${missing}: cannot read mapping file: `);
  });
});

describe('runMapping rejects what only the data can show', () => {
  const ok = `  m:\n    sources: data\n    s: ex:row/$(id)\n    po: [[ex:name, $(name)]]`;

  test('a column that is not in the CSV header', async () => {
    const file = tempFile(`${HEAD}  m:\n    sources: data\n    s: ex:row/$(id)\n    po: [[ex:name, $(name)], [ex:age, $(agee)]]`);
    await expect(runMapping(loadMapping(file))).rejects.toThrow(
      `${file}: mapping 'm', po[1].o[0]: column 'agee' is not in ${rowsCsv} (columns: id, name, code, score, when, link)`,
    );
  });

  test('a lookup column that is not in the codebook', async () => {
    const file = tempFile(
      `${HEAD}  m:\n    sources: data\n    s: ex:row/$(id)\n    po:\n      - p: ex:p\n        o: { function: hxf:lookup, parameters: [[hxf:str, $(id)], [hxf:source, data], [hxf:fromColumn, id], [hxf:toColumn, nope]] }`,
    );
    await expect(runMapping(loadMapping(file))).rejects.toThrow(`${file}: mapping 'm', po[0].o[0]: column 'nope' is not in ${rowsCsv}`);
  });

  test('an override for a source the mapping does not declare', async () => {
    const file = tempFile(HEAD + ok);
    await expect(runMapping(loadMapping(file), { sources: { other: 'x.csv' } })).rejects.toThrow(`${file}: source override 'other': no such source (sources: data)`);
  });

  test('a source file that cannot be read', async () => {
    const file = tempFile(HEAD + ok);
    await expect(runMapping(loadMapping(file), { sources: { data: join(FX, 'missing.csv') } })).rejects.toThrow(
      `${file}: sources.data: cannot read test/fixtures/yarrrml/missing.csv: ENOENT`,
    );
  });
});
