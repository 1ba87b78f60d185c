import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump, FAILSAFE_SCHEMA, load } from 'js-yaml';
import { loadMapping, runMapping, type Mapping } from '../../../src/map/yarrrml/index.js';
import { fixtures, tempDir } from '../../helpers/paths.js';
import { prng } from '../../helpers/prng.js';
import { clone, mutateText, mutateTree, NASTY_STRINGS, pick, spots, type Json } from '../../helpers/json-fuzz.js';

// Fuzzing YARRRML mappings, in the spirit of Oxigraph's fuzz targets: seeded mutations of a small
// corpus of valid mappings and their source files (test/fixtures/fuzz/yarrrml/): the mapping's YAML
// structure and text, its templates, and the CSV / JSON data it reads. Oracle: loading and running end
// in triples (bad rows become problems) or in one MappingError that names the mapping file; never
// another error (TypeError, RangeError, URIError, a stack overflow), never a hang; every IRI made is
// absolute and free of the characters IRIs cannot hold; the seeds themselves load and run.
// HARMONIA_FUZZ_SEED and HARMONIA_FUZZ_RUNS reproduce or widen a run; the seed is in every failure.

const SEED = Number(process.env.HARMONIA_FUZZ_SEED ?? 20261203);
const RUNS = Number(process.env.HARMONIA_FUZZ_RUNS ?? 300);

const corpusDir = join(fixtures, 'fuzz', 'yarrrml');
const files = readdirSync(corpusDir).sort();
const seeds = files.filter((f) => f.endsWith('.yarrrml.yml')).map((f) => {
  const text = readFileSync(join(corpusDir, f), 'utf8');
  return { name: f, text, doc: load(text, { schema: FAILSAFE_SCHEMA }) as Json };
});
/** Data files the seeds read, by source name, for the data mutations (a source override points at the mutant). */
const DATA: Record<string, { source: string; file: string }[]> = {
  'clinical.yarrrml.yml': [{ source: 'clinical', file: 'clinical.csv' }, { source: 'local-codes', file: 'local-codes.csv' }],
  'json.yarrrml.yml': [{ source: 'export', file: 'patients.json' }],
  'lines.yarrrml.yml': [{ source: 'lines', file: 'patients.jsonl' }, { source: 'terms', file: 'terms.tsv' }],
};

interface Case {
  mapping: string;
  how: string;
  /** Mutated data: the source it replaces and the file's text. */
  data?: { source: string; name: string; text: string };
  valid?: boolean;
}

const asYaml = (doc: Json): string => dump(doc);

/** A function call nested `depth` times in its own parameter, spliced in as text. */
function deepFunction(depth: number): string {
  const open = '{function: grel:toUpperCase, parameters: [[grel:valueParameter, '.repeat(depth);
  return `prefixes: {ex: http://example.org/}\nmappings:\n  m:\n    sources: [clinical.csv~csv]\n    s: ex:$(patient_id)\n    po:\n      - p: ex:p\n        o: ${open}$(sex)${']]}'.repeat(depth)}\n`;
}

/**
 * string_replace takes three parameters: each level defines its anchor in the first and uses the level
 * below twice more, so a few lines of text stand for 3^levels function calls.
 */
function aliasTripling(levels: number): string {
  let call = '&f0 {function: grel:toUpperCase, parameters: [[grel:valueParameter, $(sex)]]}';
  for (let i = 1; i <= levels; i++) {
    call = `&f${i} {function: grel:string_replace, parameters: [[grel:valueParameter, ${call}], [grel:p_string_find, *f${i - 1}], [grel:p_string_replace, *f${i - 1}]]}`;
  }
  return `prefixes: {ex: http://example.org/}\nmappings:\n  m:\n    sources: [clinical.csv~csv]\n    s: ex:$(patient_id)\n    po:\n      - {p: ex:p, o: ${call}}\n`;
}

const CYCLES = [
  'prefixes: {ex: http://example.org/}\nmappings:\n  m:\n    sources: [clinical.csv~csv]\n    s: ex:$(patient_id)\n    po:\n      - p: ex:p\n        o: &f {function: grel:toUpperCase, parameters: [[grel:valueParameter, *f]]}\n',
  'mappings: &m\n  m:\n    sources: [clinical.csv~csv]\n    s: ex:$(patient_id)\n    po: *m\n',
  'prefixes: &p {ex: *p}\nmappings: {m: {sources: [clinical.csv~csv], s: ex:x, po: [[ex:p, x]]}}\n',
];

/** Data the seeds' sources might hold: BOMs, odd quoting, lone surrogates, objects where values go, wide arrays. */
function mutateData(file: string, text: string, rnd: () => number): { text: string; how: string } {
  if (file.endsWith('.json') && rnd() < 0.6) {
    const doc = JSON.parse(text) as Json;
    const at = pick(rnd, spots(doc));
    (at.parent as any)[at.key] = '@odd@';
    const odd = pick(rnd, ['"\\ud800"', '"a\\udc00b"', '{"x":{"y":1}}', '[[1,[2]]]', `[${Array.from({ length: 300 }, (_, i) => i).join(',')}]`, '1e999', 'null', '""', '"http://x y"', `"${'%'.repeat(10)}"`, `${'['.repeat(5000)}${']'.repeat(5000)}`]);
    return { text: JSON.stringify(doc).replace('"@odd@"', odd), how: `${odd.slice(0, 30)} at ${at.path.join('.')}` };
  }
  if (file.endsWith('.jsonl') && rnd() < 0.5) {
    return { text: text + pick(rnd, ['{"id":"\\ud800","age":1}\n', '{"id":{"a":1}}\n', '[1,2]\n', `${'['.repeat(5000)}\n`, '{"id":"L9","age":1e999}\n']), how: 'an odd JSON line appended' };
  }
  if (/\.(csv|tsv)$/.test(file) && rnd() < 0.5) {
    const lines = text.split('\n');
    const i = 1 + Math.floor(rnd() * Math.max(1, lines.length - 1));
    lines[i] = pick(rnd, ['"unclosed,quote', 'a,b', ',,,,,,,,,,,,,', '\ufeffP1,F,1,SZ01,present,x', 'P1,F,1e999,SZ01,present,x', 'P1,F,1,SZ01,present,"multi\nline"', '\u0000,\u0000']);
    return { text: lines.join('\n'), how: `odd row at line ${i + 1}` };
  }
  return mutateText(text, rnd);
}

function mutate(seed: (typeof seeds)[number], i: number, rnd: () => number): Case {
  const doc = clone(seed.doc);
  switch (Math.floor(rnd() * 12)) {
    case 0:
    case 1:
    case 2: {
      const m = mutateTree(doc, rnd);
      return { mapping: asYaml(m.doc), how: `${seed.name}: ${m.how}` };
    }
    case 3: {
      const m = mutateText(seed.text, rnd);
      return { mapping: m.text, how: `${seed.name}: ${m.how}` };
    }
    case 4: {
      // A template or reference replaced: the engine's own mini-languages.
      const strings = spots(doc).filter((s) => typeof (s.parent as any)[s.key] === 'string');
      const at = pick(rnd, strings);
      const t = pick(rnd, ['$(', '$()', '$(a(b)', '$(x)$(y)$(z)', 'ex:$(codes)/$(codes)/$(codes)', '\\$(id)', '$(id)~iri', '$($(id))', "$(['odd key'])", '$(a.b[*].c)', '$(..x)', '$([0][1][2])', '$(id)~lang', 'http://example.org/$(id) x', pick(rnd, NASTY_STRINGS)]);
      (at.parent as any)[at.key] = t;
      return { mapping: asYaml(doc), how: `${seed.name}: template ${JSON.stringify(t)} at ${at.path.join('.')}` };
    }
    case 5:
    case 6: {
      const data = pick(rnd, DATA[seed.name]);
      const m = mutateData(data.file, readFileSync(join(corpusDir, data.file), 'utf8'), rnd);
      return { mapping: seed.text, data: { source: data.source, name: `data-${i}-${data.file}`, text: m.text }, how: `${seed.name}, ${data.file}: ${m.how}` };
    }
    case 7: {
      const depth = pick(rnd, [40, 70, 1_000, 10_000]);
      return { mapping: deepFunction(depth), how: `a function nested ${depth} deep in its own parameter` };
    }
    case 8: {
      const n = pick(rnd, [2, 6, 12, 18]);
      return { mapping: aliasTripling(n), how: `YAML aliases of aliases, 3^${n} function calls` };
    }
    case 9: {
      const text = pick(rnd, CYCLES);
      return { mapping: text, how: `a YAML alias inside its own anchor: ${JSON.stringify(text.slice(0, 80))}` };
    }
    case 10: {
      // Names that are properties of every JS object, as prefixes, sources, mappings and functions.
      const name = pick(rnd, ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']);
      const d = doc as Record<string, any>;
      const where = pick(rnd, ['prefix', 'source', 'mapping', 'function', 'reference']);
      if (where === 'prefix') Object.defineProperty((d.prefixes ??= {}), name, { value: 'http://example.org/', enumerable: true });
      if (where === 'source' && d.sources) {
        const [first] = Object.keys(d.sources);
        Object.defineProperty(d.sources, name, { value: d.sources[first], enumerable: true });
        for (const m of Object.values(d.mappings as Record<string, any>)) if (m.sources === first) m.sources = name;
      }
      if (where === 'mapping') {
        const [first] = Object.keys(d.mappings);
        Object.defineProperty(d.mappings, name, { value: d.mappings[first], enumerable: true });
      }
      const texts = spots(doc).filter((s) => typeof (s.parent as any)[s.key] === 'string');
      if (where === 'function') for (const s of texts) if (s.key === 'function') (s.parent as any)[s.key] = rnd() < 0.5 ? name : `grel:${name}`;
      if (where === 'reference') (pick(rnd, texts).parent as any)[pick(rnd, texts).key] = `${name}:x/$(${name})`;
      return { mapping: asYaml(doc), how: `${seed.name}: ${name} as a ${where} name` };
    }
    default:
      return { mapping: asYaml(doc), how: `${seed.name}, unchanged`, valid: true };
  }
}

const IRI = /^[A-Za-z][\w.+-]*:[^\s<>"{}|^`\\]*$/;

/** Why the outcome is a crash, or undefined when it is triples and problems or a clear MappingError. */
async function crash(c: Case, file: string, dataPath?: string): Promise<string | undefined> {
  let mapping: Mapping;
  const expected = (e: unknown): string | undefined => {
    const err = e as Error;
    if (err?.name !== 'MappingError') return `${err?.name ?? typeof e}: ${err?.message}\n${err?.stack?.split('\n').slice(0, 6).join('\n')}`;
    if (!err.message.startsWith(`${file}: `) || /\[object |: undefined$|'undefined'/.test(err.message)) return `a MappingError that does not name the file and field clearly: ${err.message.slice(0, 300)}`;
    if (c.valid) return `a valid mapping rejected: ${err.message.slice(0, 300)}`;
    return undefined;
  };
  try {
    mapping = loadMapping(file);
  } catch (e) {
    return expected(e);
  }
  try {
    const { quads, problems } = await runMapping(mapping, dataPath ? { sources: { [c.data!.source]: dataPath } } : {});
    for (const q of quads) {
      for (const t of [q.subject, q.predicate, q.object, q.graph]) {
        if (t.termType === 'NamedNode' && !IRI.test(t.value)) return `an IRI that is not one: ${JSON.stringify(t.value.slice(0, 200))}`;
      }
    }
    const bad = problems.find((p) => typeof p.file !== 'string' || !Number.isInteger(p.row) || !p.reason || /\[object /.test(p.reason));
    if (bad) return `a problem without file, row or reason: ${JSON.stringify(bad).slice(0, 300)}`;
    return undefined;
  } catch (e) {
    return expected(e);
  }
}

describe('fuzzing YARRRML mappings: 0 crashes, 0 hangs, every bad mapping a clear error', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  test(`${RUNS} mutated mappings and sources (seed ${SEED})`, async () => {
    // The mappings name their sources relative to themselves: mutants are written beside copies of them.
    for (const f of files) copyFileSync(join(corpusDir, f), join(dir.path, f));
    const rnd = prng(SEED);
    const outcomes = { ran: 0, rejected: 0 };
    for (let i = 0; i < RUNS; i++) {
      const c = mutate(seeds[i % seeds.length], i, rnd);
      const file = join(dir.path, `mutant-${i}.yml`);
      writeFileSync(file, c.mapping);
      const dataPath = c.data ? join(dir.path, c.data.name) : undefined;
      if (c.data) writeFileSync(dataPath!, c.data.text);
      const started = performance.now();
      const why = await crash(c, file, dataPath);
      if (why) throw new Error(`seed ${SEED}, run ${i} (${c.how}): ${why}`);
      // A hang guard, not a performance bound: one small mapping runs in milliseconds.
      const ms = performance.now() - started;
      if (ms > 5000) throw new Error(`seed ${SEED}, run ${i} (${c.how}): took ${Math.round(ms)} ms`);
      try {
        loadMapping(file);
        outcomes.ran++;
      } catch {
        outcomes.rejected++;
      }
    }
    expect(outcomes.ran).toBeGreaterThan(RUNS / 10);
    expect(outcomes.rejected).toBeGreaterThan(RUNS / 10);
  }, 120_000);
});
