// Both engines on ~300 real phenopackets mapped by src/map: all should conform, and corrupted
// copies must produce the same violations in both. Skipped when the shared data is not there.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataFactory, type Quad } from 'n3';
import { mapRealPatients } from '../../../bench/validate.js';
import { HX, REPO, compiledEngine, keys, referenceEngine, rng } from './helpers.js';

const { literal, namedNode, quad } = DataFactory;
const DATA = process.env.HARMONIA_DATA ?? join(REPO, '..', 'shared', 'data');
const present = existsSync(join(DATA, 'phenopackets', 'phenopacket-store-dev.zip')) && existsSync(join(DATA, 'ontologies', 'hp.v2024-04-26.json.gz'));
if (!present) console.warn(`validate real-data tests skipped: no phenopackets/ontology under ${DATA} (set HARMONIA_DATA)`);
const maybe = present ? describe : describe.skip;

/** Corruptions that reach every kind of node a real record has. */
function corrupt(quads: Quad[], random: () => number): Quad[] {
  const out = [...quads];
  const pick = (): Quad => out[Math.floor(random() * out.length)];
  const g = pick().graph;
  switch (Math.floor(random() * 5)) {
    case 0: // drop a random triple (may remove ids, excluded flags, types...)
      out.splice(Math.floor(random() * out.length), 1);
      break;
    case 1: // turn a random IRI object into a literal
      out.push(quad(pick().subject, pick().predicate, literal('not-an-iri'), g));
      break;
    case 2: // duplicate a predicate with a second value
      { const q = pick(); out.push(quad(q.subject, q.predicate, literal('second'), g)); }
      break;
    case 3: // ill-formed typed literal
      out.push(quad(pick().subject, namedNode(`${HX}pos`), literal('abc', namedNode('http://www.w3.org/2001/XMLSchema#integer')), g));
      break;
    default: // point a feature link at an untyped node
      out.push(quad(out[0].subject, namedNode(`${HX}phenotypicFeature`), namedNode('http://example.org/nowhere'), g));
  }
  return out;
}

maybe('compiled engine on real phenopackets', () => {
  let records: Quad[][] = [];
  const compiled = compiledEngine();
  const reference = referenceEngine();

  beforeAll(async () => {
    records = await mapRealPatients(DATA, 300);
  });

  it('agrees with the reference on real patients, which conform', async () => {
    expect(records.length).toBeGreaterThanOrEqual(250);
    const [c, r] = await Promise.all([compiled.validateMany(records), reference.validateMany(records)]);
    expect([...c.entries()].map(([i, v]) => [i, keys(v)])).toEqual([...r.entries()].map(([i, v]) => [i, keys(v)]));
    expect(c.size).toBe(0);
  });

  it('agrees with the reference on corrupted real patients', async () => {
    const random = rng(11);
    const broken = records.map((q) => corrupt(q, random));
    const [c, r] = await Promise.all([compiled.validateMany(broken), reference.validateMany(broken)]);
    const sorted = (m: Map<number, Parameters<typeof keys>[0]>) => [...m.entries()].sort((a, b) => a[0] - b[0]).map(([i, v]) => [i, keys(v)]);
    expect(sorted(c)).toEqual(sorted(r));
    expect(c.size).toBeGreaterThan(records.length / 4);
  });
});
