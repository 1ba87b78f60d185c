import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CohortService } from '../../../src/cohort/index.js';
import { loadHarmonizationConfig } from '../../../src/harmonize/dispatch.js';
import { decodeNpy } from '../../../src/harmonize/npy.js';
import { ensureOntology, ingestPhenopackets, ingestRecords } from '../../../src/ingest/index.js';
import { HX } from '../../../src/model/index.js';
import { loadOntology } from '../../../src/ontology/index.js';
import { recordCounts, recordFeatures } from '../../../src/query/index.js';
import { MODALITIES, readManifest } from '../../../src/sources/index.js';
import { ARRAYS_DIR, OxigraphStore } from '../../../src/store/index.js';
import { dataDir, fixtures, miniHpo, repoRoot, tempDir } from '../../helpers/paths.js';

const data = dataDir();
const describeWithData = data ? describe : describe.skip;
if (!data) console.warn('record ingestion integration tests skipped: no data directory (../shared/data or HARMONIA_DATA)');

describeWithData('records of every modality from a manifest, on the real files', () => {
  const dir = tempDir();
  let store: OxigraphStore;
  let manifest: string;
  const ingest = async (file: string) => {
    const { entries, problems } = readManifest(file);
    return ingestRecords(store, entries, problems, { config: loadHarmonizationConfig(undefined, data), arraysDir: join(dir.path, 'store', ARRAYS_DIR), arraysBase: join(dir.path, 'store'), software: 'harmonia test' });
  };
  beforeAll(async () => {
    const D = data!;
    manifest = join(dir.path, 'manifest.tsv');
    // One real record of each kind; two patients also have a phenopacket; the last two files are broken.
    writeFileSync(manifest, [
      'patient\tmodality\tpath\tsite\tlabel\tsample',
      `PFEIFFER-1\tvcf\t${D}/genomics/exomiser/Pfeiffer.vcf.gz\tsite-A\t\t`,
      `PMID_1_Patient_1\tecg\t${D}/ecg/physionet2017/records/A00004.mat\tsite-A\tHP:0005110\t`,
      `PMID_1_Patient_2\tecg\t${D}/ecg/physionet2017/records/A00001.mat\tsite-B\t\t`,
      `MITBIH-100\tecg\t${D}/ecg/wfdb-python/100.hea\tsite-B\t\t`,
      `BONN-S001\teeg\t${D}/eeg/bonn/sets/S/S001.txt\tsite-C\tHP:0001250\t`,
      `EEGMMI-S001\teeg\t${D}/eeg/eegmmidb/S001R04.edf\tsite-C\t\t`,
      `MR-SMALL\tmri\t${D}/mri/dicom/MR_small.dcm\tsite-B\t\t`,
      `ANATOMY\tmri\t${D}/mri/nibabel/anatomical.nii\tsite-A\t\t`,
      `BLADDER-1\texpression\t${D}/expression/bladderbatch/expression.tsv.gz\tbatch-3\t\tGSM71019.CEL`,
      `BAD-1\tmri\t${D}/mri/dicom/MR_truncated.dcm\tsite-A\t\t`,
      `BAD-2\tecg\tmissing.mat\tsite-A\t\t`,
      `BAD-3\tvideo\tx.mp4\tsite-A\t\t`,
    ].join('\n') + '\n');
    store = await OxigraphStore.open(join(dir.path, 'store'), { create: true, write: true });
    await ensureOntology(store, loadOntology(miniHpo));
    await ingestPhenopackets(store, [join(fixtures, 'phenopackets')]);
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    dir.remove();
  });

  test('every readable record is stored, every broken one quarantined with file, line and reason', async () => {
    const s = await ingest(manifest);
    expect(s).toMatchObject({ read: 12, accepted: 9, rejected: 3, patientsCreated: 7 });
    expect(s.records).toEqual({ vcf: 1, ecg: 3, eeg: 2, mri: 2, expression: 1 });
    const reasons = s.rejections.map((r) => `${r.line}: ${r.reason}`);
    expect(reasons).toEqual(expect.arrayContaining([
      expect.stringMatching(/^13: modality: "video" is not one of vcf, maf, mri/),
      expect.stringMatching(/^11: .*MR_truncated\.dcm.*truncated/),
      expect.stringMatching(/^12: no such file or directory/),
    ]));
    expect((await store.quarantine()).filter((q) => q.stage === 'read')).toHaveLength(3);
    expect(await recordCounts(store, MODALITIES)).toMatchObject({ vcf: 1, ecg: 3, eeg: 2, mri: 2, expression: 1, oct: 0 });
  }, 120_000);

  test('acquisition parameters and features as `harmonia features` prints them', async () => {
    const mri = await recordFeatures(store, 'mri');
    const anatomy = mri.find((r) => r.patient === 'ANATOMY')!;
    expect(anatomy.acquisition.byteOrder).toBe('big');
    expect((anatomy.acquisition.voxelSize as number[]).map((v) => Math.round(v * 100) / 100)).toEqual([2, 2, 2]);
    expect(mri.find((r) => r.patient === 'MR-SMALL')!.acquisition.voxelSize).toEqual([0.3125, 0.3125, 0.8]);
    const ecg = await recordFeatures(store, 'ecg');
    expect(ecg.every((r) => typeof r.acquisition.samplingRate === 'number')).toBe(true);
    const af = ecg.find((r) => r.label === 'HP:0005110')!;
    const normal = ecg.find((r) => r.patient === 'PMID_1_Patient_2')!;
    expect(af.site).toBe('site-A');
    expect(af.features.cvRR).toBeGreaterThan(2 * normal.features.cvRR);
    const eeg = await recordFeatures(store, 'eeg');
    expect(eeg.find((r) => r.patient === 'BONN-S001')!.acquisition.samplingRate).toBeCloseTo(173.61, 2);
  });

  test('linked to patients: records of a phenopacket patient survive its re-ingest; cohort criteria find records and called variants', async () => {
    const changed = join(dir.path, 'p1.json');
    const pp = JSON.parse(readFileSync(join(fixtures, 'phenopackets', 'patient-1.json'), 'utf8'));
    pp.subject.sex = pp.subject.sex === 'MALE' ? 'FEMALE' : 'MALE';
    writeFileSync(changed, JSON.stringify(pp));
    expect(await ingestPhenopackets(store, [changed])).toMatchObject({ accepted: 1, replaced: 1 });
    const service = new CohortService(store, (await store.ontology())!);
    expect((await service.evaluate({ name: 'ecg', criteria: { modality: 'ecg' } })).patients).toEqual(['MITBIH-100', 'PMID_1_Patient_1', 'PMID_1_Patient_2']);
    expect((await service.evaluate({ name: 'site', criteria: { all: [{ site: 'site-A' }, { modality: 'ecg' }] } })).patients).toEqual(['PMID_1_Patient_1']);
    expect((await service.evaluate({ name: 'fgfr2', criteria: { variant: { gene: { symbol: 'FGFR2' }, chrom: '10', pos: 123256215 } } })).patients).toEqual(['PFEIFFER-1']);
    const [stub] = await store.select(`SELECT ?from WHERE { ?p <${HX}id> "PFEIFFER-1" ; <${HX}createdFrom> ?from }`);
    expect(stub.from).toBe('manifest');
  }, 60_000);

  test('harmonized arrays are .npy files whose checksums the graph records; provenance names every step', async () => {
    const rows = await store.select(`SELECT ?path ?sha ?shape WHERE { ?r <${HX}recordId> ?id ; <${HX}harmonizedArray> ?a . ?a <${HX}path> ?path ; <${HX}sha256> ?sha ; <${HX}shape> ?shape FILTER(STRSTARTS(?id, "BONN-S001/")) }`);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      const bytes = readFileSync(join(dir.path, 'store', r.path!));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(r.sha);
      expect(decodeNpy(bytes).shape.join(' ')).toBe(r.shape);
    }
    const steps = (await store.select(`SELECT ?step WHERE { ?r <${HX}recordId> ?id ; <${HX}harmonizationStep> ?a . ?a <${HX}step> ?step ; <${HX}stepIndex> ?i ; <http://www.w3.org/ns/prov#used> ?u FILTER(STRSTARTS(?id, "BONN-S001/")) } ORDER BY ?i`)).map((r) => r.step);
    expect(steps).toEqual(expect.arrayContaining(['eeg.resample', 'eeg.bandpass', 'eeg.notch']));
    const [src] = await store.select(`SELECT ?f WHERE { ?r <${HX}recordId> ?id ; <http://www.w3.org/ns/prov#wasDerivedFrom> ?s . ?s <${HX}sourceFile> ?f FILTER(STRSTARTS(?id, "BONN-S001/")) }`);
    expect(src.f).not.toMatch(/^\//);
  });

  test('re-ingesting the same manifest changes nothing', async () => {
    const size = await store.size();
    const s = await ingest(manifest);
    expect(s).toMatchObject({ accepted: 0, unchanged: 9, rejected: 3 });
    expect(await store.size()).toBe(size);
  }, 60_000);
});

const built = existsSync(join(repoRoot, 'dist', 'src', 'cli', 'main.js'));
(data && built ? describe : describe.skip)('the record commands as a user runs them: ingest --manifest, stats, features, harmonize', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  const harmonia = (...args: string[]) => {
    const r = spawnSync(join(repoRoot, 'bin', 'harmonia'), args, { encoding: 'utf8' });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  test('PhysioNet 2017 ECGs at two sites: features per record, then ComBat across the sites keeping the AF label', () => {
    const D = data!;
    const ref = readFileSync(join(D, 'ecg/physionet2017/REFERENCE-subset.csv'), 'utf8').split('\n').filter(Boolean).map((l) => l.split(','));
    const pick = (c: string) => ref.filter(([, x]) => x === c).slice(0, 6);
    const rows = [...pick('A'), ...pick('N')].map(([id, c], i) => `${id}\tecg\t${D}/ecg/physionet2017/records/${id}.mat\tsite-${i % 2 ? 'B' : 'A'}\t${c === 'A' ? 'HP:0005110' : ''}`);
    const manifest = join(dir.path, 'ecg.tsv');
    writeFileSync(manifest, ['patient\tmodality\tpath\tsite\tlabel', ...rows].join('\n') + '\n');
    const store = join(dir.path, 'store');
    const ingest = harmonia('ingest', '--store', store, '--manifest', manifest, '--json');
    expect(ingest.code).toBe(0);
    expect(JSON.parse(ingest.out).records).toMatchObject({ read: 12, accepted: 12, rejected: 0, records: { ecg: 12 } });
    expect(JSON.parse(harmonia('stats', '--store', store, '--json').out).records).toEqual({ vcf: 0, maf: 0, mri: 0, eeg: 0, ecg: 12, ppg: 0, oct: 0, expression: 0 });
    const lines = harmonia('features', '--store', store, '--modality', 'ecg').out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(12);
    expect(Object.keys(lines[0]).sort()).toEqual(['acquisition', 'features', 'label', 'patient', 'record', 'site']);
    expect(lines[0].acquisition.samplingRate).toBe(300);
    expect(lines.filter((l) => l.label === 'HP:0005110')).toHaveLength(6);
    const h = harmonia('harmonize', '--store', store, '--modality', 'ecg', '--json');
    expect(h.code).toBe(0);
    const [report] = JSON.parse(h.out).siteCorrection;
    expect(report).toMatchObject({ modality: 'ecg', records: 12, sites: { 'site-A': 6, 'site-B': 6 }, covariates: ['label'] });
    const after = harmonia('features', '--store', store, '--modality', 'ecg').out.trim().split('\n').map((l) => JSON.parse(l));
    expect(after.every((l) => typeof l.features['combat.cvRR'] === 'number' && typeof l.features.cvRR === 'number')).toBe(true);
    expect(harmonia('features', '--store', store, '--modality', 'video').err).toMatch(/--modality video: expected one of/);
    // Where arrays go is checked before any store is opened.
    expect(harmonia('ingest', '--store', 'sparql+http://127.0.0.1:9/sparql', '--manifest', manifest).err).toMatch(/a remote store keeps no files; give --arrays DIR/);
    expect(harmonia('ingest', '--store', store, '--arrays', dir.path, '--manifest', manifest).err).toMatch(/--arrays is only for remote stores/);
  }, 120_000);
});
