import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Quad } from 'n3';
import { validateStore } from '../../../src/cli/commands/validate.js';
import { loadHarmonizationConfig } from '../../../src/harmonize/dispatch.js';
import { ensureOntology, ingestMapping, ingestPhenopackets, ingestRecords } from '../../../src/ingest/index.js';
import { HX } from '../../../src/model/index.js';
import { loadOntology } from '../../../src/ontology/index.js';
import { readManifest } from '../../../src/sources/index.js';
import { ARRAYS_DIR, OxigraphStore } from '../../../src/store/index.js';
import { defaultShapesDir, ShapeValidator, type Violation } from '../../../src/validate/index.js';
import { fixtures, miniHpo, repoRoot, tempDir } from '../../helpers/paths.js';

// Every record stands alone (issue 12, item 1): an exception inside the validator for one record
// quarantines that record, with the validator stage in its reason; the rest of its batch is stored.

const SHAPES = join(defaultShapesDir(), 'harmonia.shacl.ttl');

/** The real shapes, but any batch holding a triple whose object contains `poison` makes the engine throw. */
class ThrowingValidator extends ShapeValidator {
  calls = 0;
  constructor(private readonly poison: string) {
    super(readFileSync(SHAPES, 'utf8'), SHAPES);
  }
  override async validateMany(records: Quad[][]): Promise<Map<number, Violation[]>> {
    this.calls++;
    if (records.some((quads) => quads.some((q) => q.object.value.includes(this.poison)))) {
      throw new TypeError(`Cannot read properties of undefined (reading 'value') near ${this.poison}`);
    }
    return super.validateMany(records);
  }
}

const read = (f: string): Record<string, unknown> => JSON.parse(readFileSync(f, 'utf8'));
const patientIds = async (store: OxigraphStore): Promise<string[]> =>
  (await store.select(`SELECT ?id WHERE { ?p a <${HX}Patient> ; <${HX}id> ?id } ORDER BY ?id`)).map((r) => r.id!);

describe('an exception in the validator quarantines only its record', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: OxigraphStore;
  beforeEach(async () => {
    dir = tempDir();
    store = await OxigraphStore.open(join(dir.path, 'store'), { create: true, write: true });
  });
  afterEach(async () => {
    await store.close();
    dir.remove();
  });

  test('validateEach: the batch throws, each record is then judged alone', async () => {
    const v = new ThrowingValidator('poison');
    const good: Quad[] = [];
    const result = await v.validateEach([good, [{ subject: { value: 's' }, predicate: { value: 'p' }, object: { value: 'poison' } } as unknown as Quad], good]);
    expect([...result.violations.keys()]).toEqual([]);
    expect([...result.failed.entries()]).toEqual([[1, "SHACL validation (compiled engine) failed on this record: Cannot read properties of undefined (reading 'value') near poison"]]);
    // No exception, no second pass: a clean batch is validated once.
    const clean = new ThrowingValidator('poison');
    expect((await clean.validateEach([good, good])).failed.size).toBe(0);
    expect(clean.calls).toBe(1);
  });

  test('phenopackets: the two others of the batch are stored, the bad one is quarantined with file, line and reason', async () => {
    await ensureOntology(store, loadOntology(miniHpo));
    const file = join(dir.path, 'batch.jsonl');
    const bad = { ...read(join(fixtures, 'phenopackets', 'patient-2.json')), id: 'POISON_1' };
    writeFileSync(file, [read(join(fixtures, 'phenopackets', 'patient-1.json')), bad, read(join(fixtures, 'phenopackets', 'patient-2.json'))].map((x) => JSON.stringify(x)).join('\n') + '\n');
    const s = await ingestPhenopackets(store, [file], { validator: new ThrowingValidator('POISON_1') });
    expect(s).toMatchObject({ read: 3, accepted: 2, rejected: 1 });
    expect(await patientIds(store)).toEqual(['PMID_1_Patient_1', 'PMID_1_Patient_2']);
    const q = await store.quarantine();
    expect(q).toHaveLength(1);
    expect(q[0]).toMatchObject({ id: 'POISON_1', file, line: 2, stage: 'validate', reasons: [{ path: '$', message: expect.stringMatching(/^SHACL validation \(compiled engine\) failed on this record: Cannot read properties/) }] });
    expect(s.rejections).toEqual([expect.objectContaining({ id: 'POISON_1', line: 2, stage: 'validate', reason: expect.stringContaining('$: SHACL validation (compiled engine) failed') })]);
  });

  test('a mapping: the other patient graph is stored, the bad one is quarantined', async () => {
    const csv = join(dir.path, 'site.csv');
    writeFileSync(csv, ['patient_id,sex,age_years,phenotype_code,status,site', 'P001,F,3,SZ01,present,Lyon', 'POISON2,M,4.5,HYP01,present,Lyon'].join('\n') + '\n');
    const mapping = join(repoRoot, 'mappings', 'clinical-csv.yarrrml.yml');
    const s = await ingestMapping(store, mapping, { sources: { clinical: csv }, validator: new ThrowingValidator('POISON2') });
    expect(s).toMatchObject({ accepted: 1, rejected: 1 });
    expect(await patientIds(store)).toEqual(['P001']);
    const q = await store.quarantine();
    expect(q).toEqual([expect.objectContaining({ id: 'POISON2', file: mapping, stage: 'validate', reasons: [{ message: expect.stringMatching(/^SHACL validation \(compiled engine\) failed on this record/) }] })]);
  });

  test('records of other modalities: the other record is stored, the bad one is quarantined with its manifest line', async () => {
    const manifest = join(dir.path, 'manifest.tsv');
    const matrix = join(fixtures, 'expression', 'small.tsv');
    writeFileSync(manifest, ['patient\tmodality\tpath\tsite\tlabel\tsample', `P-OK\texpression\t${matrix}\tsite-A\t\tS1`, `POISON3\texpression\t${matrix}\tsite-A\t\tS2`].join('\n') + '\n');
    const { entries, problems } = readManifest(manifest);
    const storeDir = join(dir.path, 'store');
    const s = await ingestRecords(store, entries, problems, {
      config: loadHarmonizationConfig(undefined, dir.path), arraysDir: join(storeDir, ARRAYS_DIR), arraysBase: storeDir, software: 'harmonia test', validator: new ThrowingValidator('POISON3'),
    });
    expect(s).toMatchObject({ read: 2, accepted: 1, rejected: 1 });
    expect(s.rejections).toEqual([expect.objectContaining({ file: matrix, line: 3, patient: 'POISON3', stage: 'validate', reason: expect.stringMatching(/^SHACL validation \(compiled engine\) failed on this record/) })]);
    expect((await store.quarantine()).map((e) => [e.line, e.stage])).toEqual([[3, 'validate']]);
  });

  test('harmonia validate: the graph the validator throws on is reported, the others are still checked', async () => {
    await ensureOntology(store, loadOntology(miniHpo));
    const bad = { ...read(join(fixtures, 'phenopackets', 'patient-2.json')), id: 'POISON_4' };
    const file = join(dir.path, 'bad.json');
    writeFileSync(file, JSON.stringify(bad));
    await ingestPhenopackets(store, [join(fixtures, 'phenopackets'), file]);
    const report = await validateStore(store, new ThrowingValidator('POISON_4'));
    expect(report).toMatchObject({ conforms: false, patients: 3, nonConforming: 1, violations: [] });
    expect(report.failed).toEqual([{ patient: 'POISON_4', graph: expect.stringContaining('POISON_4'), reason: expect.stringMatching(/^SHACL validation \(compiled engine\) failed on this record/) }]);
    // Without the poison the same store conforms: the report is about the failure, nothing else.
    expect((await validateStore(store, ShapeValidator.fromFile())).conforms).toBe(true);
  });
});
