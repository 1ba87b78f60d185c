import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { dump, JSON_SCHEMA, load } from 'js-yaml';
import { compileCohort, parseDefinitionText, resolveDefinition, validateDefinition, type CohortDefinitionError } from '../../../src/cohort/index.js';
import { loadOntology } from '../../../src/ontology/index.js';
import { fixtures } from '../../helpers/paths.js';
import { prng } from '../../helpers/prng.js';
import { clone, mutateText, mutateTree, pick, spots, type Json } from '../../helpers/json-fuzz.js';

// Fuzzing the cohort definition parser, in the spirit of Oxigraph's fuzz targets: seeded mutations
// of a small corpus of valid definitions (test/fixtures/fuzz/cohort/), as JSON and as YAML, each taken
// through parse, schema check, resolution against a small HPO and compilation to SPARQL. Oracle: every
// input ends in a compiled query or in one CohortDefinitionError whose issues each have a JSON pointer
// and a message; never another error (TypeError, RangeError, a stack overflow), never a hang; the seeds
// themselves (also behind a byte order mark) are accepted.
// HARMONIA_FUZZ_SEED and HARMONIA_FUZZ_RUNS reproduce or widen a run; the seed is in every failure.

const SEED = Number(process.env.HARMONIA_FUZZ_SEED ?? 20261202);
const RUNS = Number(process.env.HARMONIA_FUZZ_RUNS ?? 400);

const corpusDir = join(fixtures, 'fuzz', 'cohort');
const corpus = readdirSync(corpusDir).filter((f) => /\.(json|ya?ml)$/.test(f)).sort().map((f) => {
  const text = readFileSync(join(corpusDir, f), 'utf8');
  return { name: f, text, doc: (extname(f) === '.json' ? JSON.parse(text) : load(text, { schema: JSON_SCHEMA })) as Json };
});
const ontology = loadOntology(join(fixtures, 'cohort', 'tiny.obo'));

interface Case {
  text: string;
  format?: 'json' | 'yaml';
  how: string;
  /** The input is a seed as it is: it must be accepted. */
  valid?: boolean;
}

const asText = (doc: Json, format: 'json' | 'yaml'): string => (format === 'json' ? JSON.stringify(doc) : dump(doc, { schema: JSON_SCHEMA }));

/** Criteria nested `depth` times, spliced in as text (building it as an object would overflow first). */
function deepCriteria(depth: number, kind: string, format: 'json' | 'yaml'): string {
  if (format === 'json') return `{"name":"deep","criteria":${`{"${kind}":[`.repeat(depth)}{"sex":"MALE"}${']}'.repeat(depth)}}`;
  return `name: deep\ncriteria: ${`{${kind}: [`.repeat(depth)}{sex: MALE}${']}'.repeat(depth)}\n`;
}

/** Aliases of aliases: each level's group holds the previous one twice, 2^levels leaves in all. */
function aliasDoubling(levels: number): string {
  const lines = ['name: laughs', 'criteria:', '  any:', '    - &l0 {sex: MALE}'];
  for (let i = 1; i <= levels; i++) lines.push(`    - &l${i} {all: [*l${i - 1}, *l${i - 1}]}`);
  return lines.join('\n') + '\n';
}

function mutate(seed: (typeof corpus)[number], rnd: () => number): Case {
  const format: 'json' | 'yaml' = rnd() < 0.5 ? 'json' : 'yaml';
  const doc = clone(seed.doc);
  switch (Math.floor(rnd() * 10)) {
    case 0:
    case 1:
    case 2: {
      const m = mutateTree(doc, rnd);
      return { text: asText(m.doc, format), format, how: `${seed.name} as ${format}: ${m.how}` };
    }
    case 3: {
      const m = mutateText(seed.text, rnd);
      return { text: m.text, how: `${seed.name}: ${m.how}`, ...(m.how.startsWith('a UTF-8 byte order mark') ? { valid: true } : {}) };
    }
    case 4: {
      const depth = pick(rnd, [70, 1_000, 10_000]);
      return { text: deepCriteria(depth, pick(rnd, ['all', 'any', 'none']), format), format, how: `criteria nested ${depth} deep, as ${format}` };
    }
    case 5: {
      const n = pick(rnd, [3, 20, 40]);
      return { text: aliasDoubling(n), format: 'yaml', how: `YAML aliases of aliases, 2^${n} leaves` };
    }
    case 6: {
      const text = pick(rnd, ['name: loop\ncriteria: &c\n  all: [*c]\n', 'name: loop\nconceptSets: &s [{id: s, items: *s}]\ncriteria: {sex: MALE}\n', '&d {name: d, criteria: {sex: MALE}, description: *d}\n']);
      return { text, format: 'yaml', how: `a YAML alias inside its own anchor: ${JSON.stringify(text)}` };
    }
    case 7: {
      // Numbers JSON can write but a double cannot hold, and text that is not valid Unicode.
      const numbers = spots(doc).filter((s) => typeof (s.parent as any)[s.key] === 'number' || typeof (s.parent as any)[s.key] === 'string');
      if (!numbers.length) return { text: asText(doc, 'json'), format: 'json', how: `${seed.name} unchanged (nothing to change)`, valid: true };
      const at = pick(rnd, numbers);
      (at.parent as any)[at.key] = '@odd@';
      const odd = pick(rnd, ['1e999', '-1e999', '"\\ud800"', '"a\\udfffb"', '123456789012345678901234567890', '-0', '1e-999']);
      return { text: JSON.stringify(doc).replace('"@odd@"', odd), format: 'json', how: `${odd} at ${at.path.join('/')}` };
    }
    case 8: {
      // Property names of every JS object where ids and references are looked up.
      const sets = (doc as { conceptSets?: { id: string }[] }).conceptSets;
      const name = pick(rnd, ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']);
      if (sets?.length) sets[0].id = name;
      const refs = spots(doc).filter((s) => s.key === 'conceptSet');
      if (refs.length) (pick(rnd, refs).parent as Record<string, Json>).conceptSet = pick(rnd, [name, 'seizure', 'dd', 'focal']);
      return { text: asText(doc, format), format, how: `concept set id or reference ${name}, as ${format}` };
    }
    default:
      return { text: asText(doc, format), format, how: `${seed.name} as ${format}, unchanged`, valid: true };
  }
}

/** Why the outcome is a crash, or undefined when it is a result or a clear CohortDefinitionError. */
function crash(c: Case, source: string): string | undefined {
  try {
    const definition = validateDefinition(parseDefinitionText(c.text, c.format, source));
    const sparql = compileCohort(resolveDefinition(definition, ontology));
    if (typeof sparql !== 'string' || !sparql.includes('SELECT')) return `no query compiled: ${String(sparql).slice(0, 100)}`;
    return undefined;
  } catch (e) {
    const err = e as CohortDefinitionError;
    if (err?.name !== 'CohortDefinitionError') return `${err?.name ?? typeof e}: ${err?.message}\n${err?.stack?.split('\n').slice(0, 6).join('\n')}`;
    if (!Array.isArray(err.issues) || err.issues.length === 0) return `a CohortDefinitionError without issues: ${err.message}`;
    const bad = err.issues.find((i) => typeof i.path !== 'string' || (i.path !== '' && !i.path.startsWith('/')) || !i.message || /\[object |undefined/.test(i.message));
    if (bad) return `an issue without a JSON pointer or a clear message: ${JSON.stringify(bad).slice(0, 300)}`;
    if (c.valid) return `a valid definition rejected: ${err.message.slice(0, 300)}`;
    return undefined;
  }
}

describe('fuzzing the cohort definition parser: 0 crashes, 0 hangs, every bad definition a clear error', () => {
  test(`${RUNS} mutated definitions (seed ${SEED})`, () => {
    const rnd = prng(SEED);
    const outcomes = { accepted: 0, rejected: 0 };
    for (let i = 0; i < RUNS; i++) {
      const c = mutate(corpus[i % corpus.length], rnd);
      const started = performance.now();
      const why = crash(c, `fuzz-${i}.${c.format ?? 'txt'}`);
      if (why) throw new Error(`seed ${SEED}, run ${i} (${c.how}): ${why}`);
      // A hang guard, not a performance bound: one small definition takes milliseconds.
      const ms = performance.now() - started;
      if (ms > 5000) throw new Error(`seed ${SEED}, run ${i} (${c.how}): took ${Math.round(ms)} ms`);
      try {
        validateDefinition(parseDefinitionText(c.text, c.format));
        outcomes.accepted++;
      } catch {
        outcomes.rejected++;
      }
    }
    // The mutations reach both outcomes: a fuzzer that only ever produced rejects would test little.
    expect(outcomes.accepted).toBeGreaterThan(RUNS / 20);
    expect(outcomes.rejected).toBeGreaterThan(RUNS / 4);
  }, 120_000);
});
