import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadMapping, runMapping } from '../../../src/map/yarrrml/index.js';
import { FX, tempFile } from './yarrrml-helpers.js';

// What the fuzz suite (test/unit/fuzz/yarrrml.test.ts) found: each is now a MappingError or a row problem, not a crash.

const HEAD = `prefixes: { ex: http://example.org/ }\nsources:\n  data: { access: ${FX}/rows.csv, referenceFormulation: csv }\nmappings:\n`;

describe('YARRRML mappings past the loader and engine bounds', () => {
  test('a source, prefix or function named like a property of every object is just a name', async () => {
    const file = tempFile(`${HEAD}  m:\n    sources: toString\n    s: ex:$(id)\n    po: [[ex:p, $(id)]]\n`);
    expect(() => loadMapping(file)).toThrow(`${file}: mapping 'm', sources[0]: unknown source 'toString' (declared: data)`);
    const prefix = tempFile(`${HEAD}  m:\n    sources: data\n    s: constructor:$(id)\n    po: [[ex:p, $(id)]]\n`);
    expect(() => loadMapping(prefix)).toThrow(`${prefix}: mapping 'm', s: undefined prefix 'constructor' in 'constructor:$(id)' (declare it under prefixes)`);
    const fn = tempFile(`${HEAD}  m:\n    sources: data\n    s: ex:$(id)\n    po:\n      - p: ex:p\n        o: { function: constructor, parameters: [[valueParameter, $(id)]] }\n`);
    expect(() => loadMapping(fn)).toThrow(`${fn}: mapping 'm', po[0].o[0].function: 'constructor' is a relative IRI and the mapping has no base`);
    const ok = tempFile(`${HEAD}  m:\n    sources: data\n    s: ex:$(id)\n    po: [[ex:p, $(id)]]\n`);
    const overrides = Object.defineProperty({}, 'constructor', { value: 'x.csv', enumerable: true }) as Record<string, string>;
    await expect(runMapping(loadMapping(ok), { sources: overrides })).rejects.toThrow(`${ok}: source override 'constructor': no such source (sources: data)`);
  });

  test('a function call inside its own parameter (a YAML alias cycle) is refused at load', () => {
    const file = tempFile(`${HEAD}  m:\n    sources: data\n    s: ex:$(id)\n    po:\n      - p: ex:p\n        o: &f {function: grel:toUpperCase, parameters: [[grel:valueParameter, *f]]}\n`);
    expect(() => loadMapping(file)).toThrow(`${file}: mappings.m.po[0].o.parameters[0][1]: refers to itself (a YAML alias used inside its own anchor)`);
  });

  test('a lone surrogate in JSON data and references that multiply past the limit are row problems', async () => {
    const json = tempFile(JSON.stringify({ rows: [{ id: 'a\ud800', n: 1 }, { id: 'ok', codes: Array.from({ length: 200 }, (_, i) => `c${i}`) }] }), 'data.json');
    writeFileSync(join(dirname(json), 'm.yml'), `prefixes: { ex: http://example.org/ }\nsources:\n  j: [data.json~jsonpath, '$.rows[*]']\nmappings:\n  m:\n    sources: j\n    s: ex:$(id)\n    po: [[ex:p, 'ex:$(codes)/$(codes)~iri']]\n`);
    const { quads, problems } = await runMapping(loadMapping(join(dirname(json), 'm.yml')));
    expect(quads).toEqual([]);
    expect(problems.map((p) => [p.row, p.column, p.reason])).toEqual([
      [1, 'id', "'id' holds text with an unpaired surrogate (not valid Unicode)"],
      [2, 'codes', 'the multi-valued references of this template make more than 10000 values for this record'],
    ]);
  });
});
