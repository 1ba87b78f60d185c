import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ingestMapping } from '../../../src/ingest/index.js';
import { HX } from '../../../src/model/index.js';
import { OxigraphStore } from '../../../src/store/index.js';
import { repoRoot, tempDir } from '../../helpers/paths.js';

const MAPPING = join(repoRoot, 'mappings', 'clinical-csv.yarrrml.yml');
const HEADER = 'patient_id,sex,age_years,phenotype_code,status,site';

describe('ingest --mapping accounting', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  test('a row stored without one bad field is accepted with a note; a row without a subject is rejected', async () => {
    const csv = join(dir.path, 'site.csv');
    writeFileSync(csv, [HEADER, 'P001,F,twelve,SZ01,present,Lyon', 'P002,M,4.5,HYP01,present,Lyon', ',F,3,SZ01,present,Lyon'].join('\n') + '\n');
    const store = await OxigraphStore.open(join(dir.path, 'store'), { create: true, write: true });
    try {
      const s = await ingestMapping(store, MAPPING, { sources: { clinical: csv } });
      expect(s.accepted).toBe(2);
      expect(s.notes).toBe(1);
      const note = s.rejections.find((r) => r.stage === 'note')!;
      expect(note).toMatchObject({ file: csv, line: 2 });
      expect(note.reason).toMatch(/age_years: .*twelve.*; the row was stored without this field/);
      // P001 is stored, with its phenotype but without an age.
      const rows = await store.select(`SELECT ?age WHERE { ?p <${HX}id> "P001" ; <${HX}hasPhenotype> ?c OPTIONAL { ?p <${HX}ageAtLastEncounterYears> ?age } }`);
      expect(rows.length).toBeGreaterThan(0);
      expect(rows[0].age).toBeUndefined();
      // Only what could not be stored is in the quarantine.
      expect((await store.quarantine()).filter((e) => e.file === csv).every((e) => e.line !== 2)).toBe(true);
      expect(s.rejected).toBe((await store.quarantine()).length);
    } finally {
      await store.close();
    }
  });
});
