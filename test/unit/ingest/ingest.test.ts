import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureOntology, ingestPhenopackets } from '../../../src/ingest/index.js';
import { loadOntology } from '../../../src/ontology/index.js';
import { OxigraphStore } from '../../../src/store/index.js';
import { fixtures, miniHpo, tempDir } from '../../helpers/paths.js';
import { writeZip } from '../../helpers/zip.js';

const HX = 'https://w3id.org/harmonia/vocab#';
const P1 = join(fixtures, 'phenopackets', 'patient-1.json');
const P2 = join(fixtures, 'phenopackets', 'patient-2.json');

async function freshStore(dir: string): Promise<OxigraphStore> {
  const store = await OxigraphStore.open(join(dir, 'store'), { create: true, write: true });
  await ensureOntology(store, loadOntology(miniHpo));
  return store;
}

const ids = async (s: OxigraphStore): Promise<string[]> => (await s.select(`SELECT ?id WHERE { ?p a <${HX}Patient> ; <${HX}id> ?id } ORDER BY ?id`)).map((r) => r.id!);

describe('phenopacket ingest', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(async () => (dir = tempDir()));
  afterEach(async () => dir.remove());

  test('maps patients with normalised HPO ids and reports unusable terms on the patient', async () => {
    const store = await freshStore(dir.path);
    const s = await ingestPhenopackets(store, [P1, P2]);
    expect(s).toMatchObject({ read: 2, accepted: 2, rejected: 0 });
    expect((await ids(store))).toEqual(['PMID_1_Patient_1', 'PMID_1_Patient_2']);
    const observed = (await store.select(`SELECT ?c WHERE { ?p <${HX}id> "PMID_1_Patient_1" ; <${HX}hasPhenotype> ?c } ORDER BY ?c`)).map((r) => r.c);
    // HP:0001275 is an alt_id of HP:0001250; HP:0000057 is obsolete, replaced by HP:0008665; HP:9999999 is unknown.
    expect(observed).toEqual(['http://purl.obolibrary.org/obo/HP_0001250', 'http://purl.obolibrary.org/obo/HP_0008665', 'http://purl.obolibrary.org/obo/HP_0011097']);
    const excluded = (await store.select(`SELECT ?c WHERE { ?p <${HX}id> "PMID_1_Patient_1" ; <${HX}excludedPhenotype> ?c }`)).map((r) => r.c);
    expect(excluded).toEqual(['http://purl.obolibrary.org/obo/HP_0001249']);
    const issues = (await store.select(`SELECT ?kind ?id WHERE { ?p <${HX}id> "PMID_1_Patient_1" ; <${HX}issue> ?i . ?i <${HX}issueKind> ?kind ; <${HX}reportedId> ?id } ORDER BY ?id`));
    expect(issues).toEqual([
      { kind: 'replaced', id: 'HP:0000057' },
      { kind: 'alt_id', id: 'HP:0001275' },
      { kind: 'unknown', id: 'HP:9999999' },
    ]);
    const variant = (await store.select(`SELECT ?chrom ?pos ?asm ?sym WHERE { ?p <${HX}hasVariant> ?v . ?v <${HX}chrom> ?chrom ; <${HX}pos> ?pos ; <${HX}assembly> ?asm ; <${HX}gene> ?g . ?g <${HX}symbol> ?sym }`));
    expect(variant).toEqual([{ chrom: '2', pos: '166002604', asm: 'GRCh38', sym: 'SCN1A' }]);
    await store.close();
  });

  test('re-ingesting the same files changes nothing; a changed phenopacket replaces its old triples', async () => {
    const store = await freshStore(dir.path);
    await ingestPhenopackets(store, [P1, P2]);
    const size = (await store.size());
    const again = await ingestPhenopackets(store, [P1, P2]);
    expect(again).toMatchObject({ accepted: 0, unchanged: 2 });
    expect((await store.size())).toBe(size);

    const changed = JSON.parse(readFileSync(P2, 'utf8'));
    changed.phenotypicFeatures = [{ type: { id: 'HP:0001249' } }];
    const f = join(dir.path, 'p2.json');
    writeFileSync(f, JSON.stringify(changed));
    const s = await ingestPhenopackets(store, [f]);
    expect(s).toMatchObject({ accepted: 1, replaced: 1 });
    const terms = (await store.select(`SELECT ?c WHERE { ?p <${HX}id> "PMID_1_Patient_2" ; <${HX}hasPhenotype> ?c }`)).map((r) => r.c);
    expect(terms).toEqual(['http://purl.obolibrary.org/obo/HP_0001249']);
    await store.close();

    const reopened = await OxigraphStore.open(join(dir.path, 'store'));
    expect((await ids(reopened))).toEqual(['PMID_1_Patient_1', 'PMID_1_Patient_2']);
    expect((await reopened.select(`SELECT ?c WHERE { ?p <${HX}id> "PMID_1_Patient_2" ; <${HX}hasPhenotype> ?c }`)).map((r) => r.c)).toEqual(terms);
  });

  test('bad records are quarantined with file, JSON path and reason; the rest is stored', async () => {
    const store = await freshStore(dir.path);
    const good = readFileSync(P1, 'utf8');
    const noSubject = JSON.stringify({ id: 'no-subject', phenotypicFeatures: [] });
    const wrongTypes = JSON.stringify({ id: 'wrong-types', subject: { id: 's' }, phenotypicFeatures: [{ type: { id: 'HP:0001250' }, excluded: 'yes' }, { type: 'HP:0001250' }] });
    const badPos = JSON.parse(good);
    badPos.id = 'bad-pos';
    badPos.interpretations[0].diagnosis.genomicInterpretations[0].variantInterpretation.variationDescriptor.vcfRecord.pos = 'abc';
    const zip = join(dir.path, 'bundle.zip');
    writeZip(zip, {
      'cohort/good.json': good,
      'cohort/truncated.json': good.slice(0, 200),
      'cohort/no-subject.json': noSubject,
      'cohort/wrong-types.json': wrongTypes,
      'cohort/bad-pos.json': JSON.stringify(badPos),
      'cohort/README.txt': 'not a phenopacket',
    });
    const s = await ingestPhenopackets(store, [zip]);
    expect(s).toMatchObject({ read: 6, accepted: 1, rejected: 5 });
    const byEntry = Object.fromEntries(s.rejections.map((r) => [r.entry, r]));
    expect(byEntry['cohort/truncated.json']).toMatchObject({ file: zip, stage: 'read' });
    expect(byEntry['cohort/truncated.json'].reason).toMatch(/invalid JSON/);
    expect(byEntry['cohort/no-subject.json'].reason).toMatch(/\$\.subject: missing subject/);
    expect(byEntry['cohort/wrong-types.json'].reason).toMatch(/\$\.phenotypicFeatures\[0\]\.excluded: must be true or false/);
    expect(byEntry['cohort/wrong-types.json'].reason).toMatch(/\$\.phenotypicFeatures\[1\]\.type: must be an ontology class object/);
    expect(byEntry['cohort/bad-pos.json'].reason).toMatch(/vcfRecord\.pos: must be a positive integer/);
    expect(byEntry['cohort/README.txt'].reason).toMatch(/not a JSON entry/);
    expect((await ids(store))).toEqual(['PMID_1_Patient_1']);
    await store.close();
    // The quarantine survives a restart and keeps the record so it can be fixed.
    const reopened = await OxigraphStore.open(join(dir.path, 'store'));
    const q = (await reopened.quarantine());
    expect(q).toHaveLength(5);
    expect(q.find((e) => e.entry === 'cohort/no-subject.json')).toMatchObject({ id: 'no-subject', stage: 'check', record: { id: 'no-subject' } });
  });

  test('SHACL violations reject the patient with the validation report', async () => {
    const store = await freshStore(dir.path);
    const pp = JSON.parse(readFileSync(P1, 'utf8'));
    pp.id = 'bad-sex';
    // A valid ISO 8601 duration passes the schema, but an age of 200 years breaks the graph's shapes.
    pp.subject.timeAtLastEncounter = { age: { iso8601duration: 'P200Y' } };
    const f = join(dir.path, 'bad-sex.json');
    writeFileSync(f, JSON.stringify(pp));
    const s = await ingestPhenopackets(store, [f, P2]);
    expect(s).toMatchObject({ accepted: 1, rejected: 1 });
    const entry = (await store.quarantine())[0];
    expect(entry).toMatchObject({ id: 'bad-sex', stage: 'validate', file: f });
    const paths = entry.reasons.map((r) => r.path).sort();
    expect(paths).toEqual([`${HX}ageAtLastEncounterYears`]);
    expect(entry.reasons[0]).toMatchObject({ focusNode: 'https://w3id.org/harmonia/resource/patient/bad-sex', value: '200.0' });
    // Fixing it and re-ingesting clears the quarantine entry.
    pp.subject.timeAtLastEncounter = { age: { iso8601duration: 'P20Y' } };
    writeFileSync(f, JSON.stringify(pp));
    await ingestPhenopackets(store, [f]);
    expect((await store.quarantine())).toEqual([]);
    expect((await ids(store))).toContain('bad-sex');
    await store.close();
  });

  test('JSON Lines and directories are read recursively; every line is one phenopacket', async () => {
    const store = await freshStore(dir.path);
    const jsonl = join(dir.path, 'all.jsonl');
    writeFileSync(jsonl, [readFileSync(P1, 'utf8'), readFileSync(P2, 'utf8')].map((t) => JSON.stringify(JSON.parse(t))).join('\n') + '\n{"id": \n');
    const s = await ingestPhenopackets(store, [jsonl]);
    expect(s).toMatchObject({ read: 3, accepted: 2, rejected: 1 });
    expect(s.rejections[0]).toMatchObject({ file: jsonl, line: 3, stage: 'read' });
    const s2 = await ingestPhenopackets(store, [join(fixtures, 'phenopackets')]);
    expect(s2).toMatchObject({ read: 2, unchanged: 2 });
    await store.close();
  });

  test('the first ingest needs an ontology', async () => {
    const store = await OxigraphStore.open(join(dir.path, 'empty'), { create: true, write: true });
    await expect(ingestPhenopackets(store, [P1])).rejects.toThrow(/no HPO in the store yet: pass --hpo/);
    await store.close();
  });

  test('the same HPO again adds nothing, but brings back a vocabulary graph the store lost', async () => {
    const store = await freshStore(dir.path);
    const vocab = 'https://w3id.org/harmonia/graph/vocab';
    const vocabSize = async (): Promise<number> => (await store.graphQuads(vocab)).length;
    const full = await vocabSize();
    expect(full).toBeGreaterThan(0);
    expect(await ensureOntology(store, loadOntology(miniHpo))).toBe(false);
    const generation = await store.generation();
    expect(await ensureOntology(store, loadOntology(miniHpo))).toBe(false);
    expect(await store.generation()).toBe(generation);
    // What a kill between the ontology commit and the vocabulary commit left with older versions.
    await store.commit({ replace: new Map([[vocab, []]]), add: [], rejected: [], accepted: [] });
    expect(await vocabSize()).toBe(0);
    expect(await ensureOntology(store, loadOntology(miniHpo))).toBe(false);
    expect(await vocabSize()).toBe(full);
    await store.close();
  });
});

describe('duplicate ids in one run', () => {
  test('the later record wins and the earlier one is reported, not silently dropped', async () => {
    const dir = tempDir();
    try {
      const store = await freshStore(dir.path);
      const first = JSON.parse(readFileSync(P2, 'utf8'));
      const second = { ...first, phenotypicFeatures: [{ type: { id: 'HP:0000252' } }] };
      const a = join(dir.path, 'a.json');
      const b = join(dir.path, 'b.json');
      writeFileSync(a, JSON.stringify(first));
      writeFileSync(b, JSON.stringify(second));
      const s = await ingestPhenopackets(store, [a, b]);
      expect(s).toMatchObject({ read: 2, accepted: 1, rejected: 0 });
      expect(s.rejections).toEqual([expect.objectContaining({ id: 'PMID_1_Patient_2', file: a, stage: 'duplicate' })]);
      const terms = (await store.select(`SELECT ?c WHERE { ?p <${HX}id> "PMID_1_Patient_2" ; <${HX}hasPhenotype> ?c }`)).map((r) => r.c);
      expect(terms).toEqual(['http://purl.obolibrary.org/obo/HP_0000252']);
      await store.close();
    } finally {
      dir.remove();
    }
  });

  test('stored content is recognised batch by batch: the later of two records with one id still wins, across batch boundaries', async () => {
    const dir = tempDir();
    try {
      const store = await freshStore(dir.path);
      const stored = JSON.parse(readFileSync(P2, 'utf8'));
      const changed = { ...stored, phenotypicFeatures: [{ type: { id: 'HP:0000252' } }] };
      const write = (name: string, ...docs: unknown[]): string => {
        const f = join(dir.path, name);
        writeFileSync(f, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
        return f;
      };
      const terms = async (): Promise<string[]> => (await store.select(`SELECT ?c WHERE { ?p <${HX}id> "PMID_1_Patient_2" ; <${HX}hasPhenotype> ?c }`)).map((r) => r.c!);
      await ingestPhenopackets(store, [P1, P2]);
      const before = await terms();
      // Changed, then back to what is stored: the stored content stays and nothing is rewritten twice.
      let s = await ingestPhenopackets(store, [write('back.jsonl', changed, stored)]);
      expect(await terms()).toEqual(before);
      // What is stored, then changed: the change wins, even when the two fall in different batches.
      for (const batchSize of [1000, 1]) {
        await ingestPhenopackets(store, [P2]);
        s = await ingestPhenopackets(store, [write('forth.jsonl', stored, changed)], { batchSize });
        expect(s).toMatchObject({ read: 2, accepted: 1, replaced: 1 });
        expect(await terms()).toEqual(['http://purl.obolibrary.org/obo/HP_0000252']);
        await ingestPhenopackets(store, [write('undo.jsonl', stored)]);
      }
      // A run of unchanged patients only, in many batches: all unchanged, nothing written.
      const size = await store.size();
      s = await ingestPhenopackets(store, [P1, P2, P1, P2], { batchSize: 1 });
      expect(s).toMatchObject({ read: 4, accepted: 0, unchanged: 4 });
      expect(await store.size()).toBe(size);
      await store.close();
    } finally {
      dir.remove();
    }
  });

  test('wrong types and a lone surrogate are caught by the check, each record alone; a BOM is accepted', async () => {
    const dir = tempDir();
    const store = await freshStore(dir.path);
    const good = JSON.parse(readFileSync(P1, 'utf8'));
    const lone = { ...JSON.parse(readFileSync(P2, 'utf8')), id: 'bad\ud800id' };
    const wrongType = { ...JSON.parse(readFileSync(P2, 'utf8')), id: 'P-wrong', subject: { id: 's', alternateIds: 5 } };
    const lines = join(dir.path, 'mixed.jsonl');
    writeFileSync(lines, [JSON.stringify(lone), JSON.stringify(wrongType)].join('\n') + '\n');
    const bom = join(dir.path, 'bom.json');
    writeFileSync(bom, '\uFEFF' + JSON.stringify(good));
    const s = await ingestPhenopackets(store, [lines, bom]);
    expect(s).toMatchObject({ read: 3, accepted: 1, rejected: 2 });
    expect(await ids(store)).toEqual(['PMID_1_Patient_1']);
    expect(s.rejections.map((r) => [r.line, r.stage, r.reason])).toEqual([
      [1, 'check', '$.id: contains an unpaired surrogate (not valid Unicode text)'],
      [2, 'check', '$.subject.alternateIds: must be an array of strings, got number'],
    ]);
    const q = await store.quarantine();
    expect(q.map((e) => e.line)).toEqual([1, 2]);
    for (const e of q) expect(e.reasons[0].message.length).toBeGreaterThan(0);
    await store.close();
    dir.remove();
  });
});
