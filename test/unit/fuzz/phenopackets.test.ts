import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureOntology, ingestPhenopackets } from '../../../src/ingest/index.js';
import { loadOntology } from '../../../src/ontology/index.js';
import { OxigraphStore } from '../../../src/store/index.js';
import { fixtures, miniHpo, tempDir } from '../../helpers/paths.js';
import { prng } from '../../helpers/prng.js';

// Fuzzing the phenopacket ingest, in the spirit of Oxigraph's fuzz targets: seeded, structure-aware
// mutations of a small corpus of valid phenopackets (test/fixtures/fuzz/phenopackets/), all ingested
// into one temporary store. Oracle: the ingest never throws; every valid record is accepted; every bad
// one is quarantined with a non-empty reason naming a JSON path at or above what was broken; no record
// reaches the mapper in a shape the check should have refused (stage `map`); no object is stringified.
// HARMONIA_FUZZ_SEED and HARMONIA_FUZZ_RUNS reproduce or widen a run; the seed is in every failure.

const SEED = Number(process.env.HARMONIA_FUZZ_SEED ?? 20261212);
const RUNS = Number(process.env.HARMONIA_FUZZ_RUNS ?? 240);
const HX = 'https://w3id.org/harmonia/vocab#';


type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface Spot {
  path: string;
  parent: Json[] | { [k: string]: Json };
  key: string | number;
}

/** Every value below the root with its JSON path, as the check writes paths. */
function spots(v: Json, path = '$', out: Spot[] = []): Spot[] {
  if (Array.isArray(v)) v.forEach((x, i) => (out.push({ path: `${path}[${i}]`, parent: v, key: i }), spots(x, `${path}[${i}]`, out)));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push({ path: `${path}.${k}`, parent: v, key: k }), spots(x, `${path}.${k}`, out);
  return out;
}

/** A value of another JSON type that no field of that type accepts (5.5 is no integer, no enum number). */
function wrongType(v: Json, rnd: () => number): Json {
  const pick = <T,>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  if (typeof v === 'string') return pick([5.5, { a: 'b' }, ['x'], true]);
  if (typeof v === 'number') return pick(['abc', { a: 1 }, true, [1]]);
  if (typeof v === 'boolean') return pick(['yes', 1.5, {}]);
  if (Array.isArray(v)) return pick([5.5, 'x', { a: [] }]);
  return pick(['x', 5.5, [1], false]);
}

interface Case {
  text: string;
  how: string;
  /** undefined: must be accepted; else the path a reason must name (or an ancestor of it). */
  brokenAt?: string;
}

function mutate(seed: Json & object, id: string, rnd: () => number): Case[] {
  const pp = structuredClone(seed) as { [k: string]: Json };
  pp.id = id;
  const all = spots(pp).filter((s) => s.path !== '$.id');
  const strings = all.filter((s) => typeof (s.parent as any)[s.key] === 'string');
  const spot = all[Math.floor(rnd() * all.length)];
  const str = strings[Math.floor(rnd() * strings.length)];
  const set = (s: Spot, v: Json): void => void ((s.parent as any)[s.key] = v);
  switch (Math.floor(rnd() * 8)) {
    case 0: {
      set(spot, wrongType((spot.parent as any)[spot.key], rnd));
      return [{ text: JSON.stringify(pp), how: `wrong type at ${spot.path}`, brokenAt: spot.path }];
    }
    case 1: {
      // Spliced in as text: JSON.stringify itself would overflow the stack on it.
      set(spot, '@deep@');
      const text = JSON.stringify(pp).replace('"@deep@"', '['.repeat(10_000) + ']'.repeat(10_000));
      return [{ text, how: `10,000-deep nesting at ${spot.path}`, brokenAt: '$' }];
    }
    case 2:
      set(str, 'x'.repeat((1 << 20) + 1 + Math.floor(rnd() * 1000)));
      return [{ text: JSON.stringify(pp), how: `huge string at ${str.path}`, brokenAt: str.path }];
    case 3:
      set(str, `a${String.fromCharCode(0xd800 + Math.floor(rnd() * 0x800))}b`);
      return [{ text: JSON.stringify(pp), how: `lone surrogate at ${str.path}`, brokenAt: str.path }];
    case 4: {
      // A valid record, then a broken one with the same id: the valid one stays.
      const bad = structuredClone(pp);
      const s = spots(bad).filter((x) => x.path !== '$.id');
      const at = s[Math.floor(rnd() * s.length)];
      set(at, wrongType((at.parent as any)[at.key], rnd));
      return [{ text: JSON.stringify(pp), how: 'valid twin' }, { text: JSON.stringify(bad), how: `duplicate id, wrong type at ${at.path}`, brokenAt: at.path }];
    }
    case 5: {
      const text = JSON.stringify(pp);
      const at = 1 + Math.floor(rnd() * (text.length - 2));
      return [{ text: text.slice(0, at), how: `truncated at ${at}`, brokenAt: '$' }];
    }
    case 6:
      pp[`x_${Math.floor(rnd() * 1e6)}`] = { note: 'an unknown field is ignored' };
      return [{ text: JSON.stringify(pp), how: 'unknown field' }];
    default:
      return [{ text: JSON.stringify(pp), how: 'unchanged' }];
  }
}

const corpusDir = join(fixtures, 'fuzz', 'phenopackets');
const corpus = readdirSync(corpusDir).filter((f) => f.endsWith('.json')).sort().map((f) => JSON.parse(readFileSync(join(corpusDir, f), 'utf8')));

describe('fuzzing the phenopacket ingest: 0 crashes, every bad record quarantined with a path', () => {
  test(`${RUNS} mutated phenopackets (seed ${SEED}) in one ingest`, async () => {
    const dir = tempDir();
    const store = await OxigraphStore.open(join(dir.path, 'store'), { create: true, write: true });
    try {
      await ensureOntology(store, loadOntology(miniHpo));
      const rnd = prng(SEED);
      const cases: Case[] = [];
      for (let i = 0; i < RUNS; i++) cases.push(...mutate(corpus[i % corpus.length], `fuzz-${SEED}-${i}`, rnd));
      const file = join(dir.path, 'fuzz.jsonl');
      writeFileSync(file, cases.map((c) => c.text).join('\n') + '\n');
      const started = performance.now();
      const s = await ingestPhenopackets(store, [file], { batchSize: 100 });
      const seconds = (performance.now() - started) / 1000;
      const context = (line: number): string => `seed ${SEED}, line ${line}: ${cases[line - 1].how}`;

      const quarantined = new Map((await store.quarantine()).map((e) => [e.line!, e]));
      const accepted = new Set((await store.select(`SELECT ?id WHERE { ?p a <${HX}Patient> ; <${HX}id> ?id }`)).map((r) => r.id!));
      const badCount = cases.filter((c) => c.brokenAt).length;
      expect(s.read).toBe(cases.length);
      cases.forEach((c, i) => {
        const line = i + 1;
        const q = quarantined.get(line);
        if (!c.brokenAt) {
          if (q) throw new Error(`valid record rejected: ${context(line)}: ${JSON.stringify(q.reasons).slice(0, 300)}`);
          const id = (JSON.parse(c.text) as { id: string }).id;
          if (!accepted.has(id)) throw new Error(`valid record not stored: ${context(line)}`);
          return;
        }
        if (!q) throw new Error(`bad record not quarantined: ${context(line)}`);
        if (q.stage === 'map') throw new Error(`the check let a bad record through to the mapper: ${context(line)}: ${q.reasons[0].message}`);
        const named = q.reasons.some((r) => r.message.length > 0 && r.path && (c.brokenAt === r.path || c.brokenAt!.startsWith(r.path + '.') || c.brokenAt!.startsWith(r.path + '[')));
        if (!named) throw new Error(`no reason names ${c.brokenAt}: ${context(line)}: ${JSON.stringify(q.reasons).slice(0, 300)}`);
      });
      expect(s.rejected).toBe(badCount);
      expect(quarantined.size).toBe(badCount);
      expect(await store.ask(`ASK { ?s ?p ?o FILTER(isLiteral(?o) && CONTAINS(STR(?o), "[object ")) }`)).toBe(false);
      // Bounded: a few seconds on a quiet machine; generous for a shared 2-core one.
      expect(seconds).toBeLessThan(30);
    } finally {
      await store.close();
      dir.remove();
    }
  }, 120_000);
});
