import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureOntology, ingestPhenopackets } from '../../../src/ingest/index.js';
import { retryQuarantine } from '../../../src/ingest/ingest.js';
import { loadOntology } from '../../../src/ontology/index.js';
import { OxigraphStore } from '../../../src/store/index.js';
import { fixtures, miniHpo, tempDir } from '../../helpers/paths.js';
import { writeZip } from '../../helpers/zip.js';

const HX = 'https://w3id.org/harmonia/vocab#';
const P1 = join(fixtures, 'phenopackets', 'patient-1.json');
const P2 = join(fixtures, 'phenopackets', 'patient-2.json');
const read = (f: string): Record<string, any> => JSON.parse(readFileSync(f, 'utf8'));

async function freshStore(dir: string): Promise<OxigraphStore> {
  const store = await OxigraphStore.open(join(dir, 'store'), { create: true, write: true });
  await ensureOntology(store, loadOntology(miniHpo));
  return store;
}
const terms = async (s: OxigraphStore, id: string): Promise<string[]> =>
  (await s.select(`SELECT ?c WHERE { ?p <${HX}id> "${id}" ; <${HX}hasPhenotype> ?c } ORDER BY ?c`)).map((r) => r.c!);

describe('ingest hardening', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: OxigraphStore;
  beforeEach(async () => {
    dir = tempDir();
    store = await freshStore(dir.path);
  });
  afterEach(async () => {
    await store.close();
    dir.remove();
  });

  test('a valid record followed by invalid ones with the same id keeps the valid one and says so', async () => {
    const valid = read(P2);
    const shaclBad = { ...read(P2), subject: { ...valid.subject, timeAtLastEncounter: { age: { iso8601duration: 'P200Y' } } } };
    const checkBad = { ...read(P2), subject: { ...valid.subject, sex: 'F' } };
    const f = join(dir.path, 'dups.jsonl');
    writeFileSync(f, [valid, shaclBad, checkBad].map((x) => JSON.stringify(x)).join('\n') + '\n');
    const s = await ingestPhenopackets(store, [f]);
    expect(s).toMatchObject({ read: 3, accepted: 1, rejected: 2 });
    expect(await terms(store, 'PMID_1_Patient_2')).toEqual(['http://purl.obolibrary.org/obo/HP_0000252', 'http://purl.obolibrary.org/obo/HP_0002373']);
    const byLine = s.rejections.map((r) => [r.line, r.stage, r.reason.slice(0, 60)]);
    expect(byLine).toEqual([
      [3, 'check', '$.subject.sex: must be one of UNKNOWN_SEX, FEMALE, MALE, OTH'],
      [2, 'validate', `${HX}ageAtLastEncounterYears: age`],
      [2, 'duplicate', 'phenopacket id PMID_1_Patient_2 appears again here, but this'],
      [3, 'duplicate', 'phenopacket id PMID_1_Patient_2 appears again here, but this'],
    ]);
    for (const i of [2, 3]) expect(s.rejections[i].reason).toMatch(/the one from .*dups\.jsonl:1 is kept$/);
    // Across batches too: the valid record is committed first, the invalid one does not replace it.
    const s2 = await ingestPhenopackets(store, [f], { batchSize: 1 });
    expect(s2).toMatchObject({ unchanged: 1, rejected: 2, accepted: 0 });
    expect(await terms(store, 'PMID_1_Patient_2')).toHaveLength(2);
  });

  test('valid then valid with one id: the later wins, across batches as well', async () => {
    const a = join(dir.path, 'a.json');
    const b = join(dir.path, 'b.json');
    writeFileSync(a, JSON.stringify(read(P2)));
    writeFileSync(b, JSON.stringify({ ...read(P2), phenotypicFeatures: [{ type: { id: 'HP:0001249' } }] }));
    const s = await ingestPhenopackets(store, [a, b], { batchSize: 1 });
    expect(s).toMatchObject({ accepted: 2, rejected: 0 });
    expect(s.rejections).toEqual([expect.objectContaining({ file: a, stage: 'duplicate', reason: expect.stringContaining(`appears again in ${b}; the later record replaces this one`) })]);
    expect(await terms(store, 'PMID_1_Patient_2')).toEqual(['http://purl.obolibrary.org/obo/HP_0001249']);
  });

  test('deep nesting, huge strings and oversized zip entries are reasons in the quarantine; the rest is stored', async () => {
    const deep = join(dir.path, 'deep.json');
    writeFileSync(deep, '{"id":"deep","subject":{"id":"s"},"x":' + '['.repeat(10_000) + ']'.repeat(10_000) + '}');
    const long = join(dir.path, 'long.json');
    writeFileSync(long, JSON.stringify({ ...read(P1), id: 'long', subject: { id: 'x'.repeat(3000) } }));
    const zip = join(dir.path, 'z.zip');
    writeZip(zip, { 'big.jsonl': (JSON.stringify(read(P2)) + '\n').repeat(100), 'ok.json': JSON.stringify(read(P2)) });
    const s = await ingestPhenopackets(store, [deep, long, zip, P1], { limits: { maxStringLength: 2000, maxEntryBytes: 20_000 } });
    expect(s).toMatchObject({ read: 5, accepted: 2, rejected: 3 });
    const q = await store.quarantine();
    expect(q.map((e) => [e.entry ?? e.file.split('/').pop(), e.stage, e.reasons[0].path, e.reasons[0].message])).toEqual([
      ['deep.json', 'read', '$', 'nested deeper than 64 levels (at character 101; limit maxDepth)'],
      ['long.json', 'check', '$.subject.id', 'a string of 3000 characters is longer than the limit of 2000'],
      ['big.jsonl', 'read', '$', expect.stringMatching(/^zip entry of \d+ bytes \(uncompressed\) is larger than the limit of 20000 bytes \(maxEntryBytes\); not inflated$/)],
    ]);
    expect(q[1].id).toBe('long');
  });

  test('unknown fields are notes on an accepted record; objects are never stringified into the graph', async () => {
    const f = join(dir.path, 'extra.json');
    writeFileSync(f, JSON.stringify({ ...read(P1), comment: 'site B', subject: { ...read(P1).subject, id: { nested: true } } }));
    const g = join(dir.path, 'note.json');
    writeFileSync(g, JSON.stringify({ ...read(P2), comment: 'site B' }));
    const s = await ingestPhenopackets(store, [f, g]);
    expect(s).toMatchObject({ accepted: 1, rejected: 1, notes: 1 });
    expect(s.rejections.find((r) => r.stage === 'note')).toMatchObject({ file: g, reason: '$.comment: unknown field (not in the Phenopacket v2 Phenopacket message): ignored' });
    expect(s.rejections.find((r) => r.stage === 'check')!.reason).toBe('$.subject.id: must be a string');
    const objects = await store.select(`SELECT ?o WHERE { ?s ?p ?o FILTER(isLiteral(?o) && CONTAINS(STR(?o), "[object")) }`);
    expect(objects).toEqual([]);
  });

  test('--retry-quarantine: fixed files are taken back; a gone file is retried from the kept record', async () => {
    const bad = join(dir.path, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...read(P1), subject: { ...read(P1).subject, sex: 'F' } }));
    const long = join(dir.path, 'long.json');
    writeFileSync(long, JSON.stringify({ ...read(P2), subject: { id: 'y'.repeat(300) } }));
    const truncated = join(dir.path, 'cut.json');
    writeFileSync(truncated, '{"id": "cut"');
    const first = await ingestPhenopackets(store, [bad, long, truncated], { limits: { maxStringLength: 100 } });
    expect(first).toMatchObject({ accepted: 0, rejected: 3 });
    // Fix one file, delete another (its record was kept), delete the one that never parsed.
    writeFileSync(bad, JSON.stringify(read(P1)));
    rmSync(long);
    rmSync(truncated);
    const r = await retryQuarantine(store);
    expect(r).toMatchObject({ read: 2, accepted: 2, rejected: 0 });
    expect(r.retry).toMatchObject({ entries: 3, fromFiles: 1, fromStored: 1, otherKinds: 0 });
    expect(r.retry.missing).toEqual([{ file: truncated, entry: undefined, line: undefined, id: undefined, why: 'the file is gone and the record never parsed, so none was kept' }]);
    expect((await store.select(`SELECT ?id WHERE { ?p a <${HX}Patient> ; <${HX}id> ?id } ORDER BY ?id`)).map((x) => x.id)).toEqual(['PMID_1_Patient_1', 'PMID_1_Patient_2']);
    expect((await store.quarantine()).map((e) => e.file)).toEqual([truncated]);
  });

  test('a record rejected without a usable id leaves the quarantine once its place holds a stored record', async () => {
    const lines = join(dir.path, 'lines.jsonl');
    writeFileSync(lines, [JSON.stringify(read(P1)), '{"id": ', JSON.stringify({ ...read(P2), id: 5 })].join('\n') + '\n');
    const before = (await store.quarantine()).length;
    expect(await ingestPhenopackets(store, [lines])).toMatchObject({ rejected: 2 });
    const mine = (await store.quarantine()).filter((e) => e.file === lines);
    expect(mine.map((e) => [e.line, e.id])).toEqual([[2, undefined], [3, undefined]]);
    // Line 2 fixed; line 3 still wrong: only line 2's entry leaves.
    writeFileSync(lines, [JSON.stringify(read(P1)), JSON.stringify({ ...read(P2), id: 'PMID_9_Patient_9' }), JSON.stringify({ ...read(P2), id: 5 })].join('\n') + '\n');
    expect(await retryQuarantine(store)).toMatchObject({ accepted: 1, rejected: 1 });
    const after = (await store.quarantine()).filter((e) => e.file === lines);
    expect(after.map((e) => e.line)).toEqual([3]);
    expect((await store.quarantine()).length).toBe(before + 1);
  });
});
