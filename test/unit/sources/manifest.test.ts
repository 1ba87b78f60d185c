import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readBids, isBidsRoot } from '../../../src/sources/bids.js';
import { phenopacketFileEntries, readManifest } from '../../../src/sources/manifest.js';
import { tempDir } from '../../helpers/paths.js';

describe('record manifests', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  const write = (name: string, text: string): string => {
    const f = join(dir.path, name);
    writeFileSync(f, text);
    return f;
  };

  test('TSV and CSV; relative paths resolve against the manifest folder; bad rows named by line and field', () => {
    const tsv = write('m.tsv', '\uFEFFpatient\tmodality\tpath\tsite\tlabel\n' +
      'P1\tECG\trecords/a.mat\tsite-A\tHP:0005110\n' +
      'P2\teeg\t/abs/b.edf\t\t\n' +
      '\tmri\tx.nii\t\t\n' +
      'P3\tvideo\tx.mp4\t\t\n' +
      'P4\tmri\t\t\t\n' +
      'P5\tmri\tx.nii\t\tseizure\n' +
      'P6\tmri\n');
    const { entries, problems } = readManifest(tsv);
    expect(entries.map((e) => [e.patient, e.modality, e.path, e.relativePath, e.site, e.label])).toEqual([
      ['P1', 'ecg', join(dir.path, 'records/a.mat'), 'records/a.mat', 'site-A', 'HP:0005110'],
      ['P2', 'eeg', '/abs/b.edf', expect.stringMatching(/abs\/b\.edf$/), undefined, undefined],
    ]);
    expect(entries[0].origin).toEqual({ file: tsv, line: 2 });
    expect(problems.map((p) => `${p.line} ${p.field}: ${p.reason}`)).toEqual([
      '4 patient: empty patient id',
      '5 modality: "video" is not one of vcf, maf, mri, eeg, ecg, ppg, oct, expression',
      '6 path: empty path',
      '7 label: "seizure" is not an HPO id (HP:nnnnnnn)',
      '8 : 2 columns where the header has 5',
    ]);
    const csv = write('m.csv', 'patient,modality,path,sample\nP1,expression,e.tsv.gz,GSM1\n');
    expect(readManifest(csv).entries[0]).toMatchObject({ patient: 'P1', modality: 'expression', sample: 'GSM1' });
  });

  test('a header is required and must name patient, modality and path; unknown columns are refused', () => {
    expect(() => readManifest(write('h1.tsv', 'P1\tecg\ta.mat\n'))).toThrow(/line 1: the header must name the columns patient, modality, path/);
    expect(() => readManifest(write('h2.tsv', 'patient\tmodality\tpath\tcolour\n'))).toThrow(/line 1: unknown column colour/);
    expect(() => readManifest(write('h3.tsv', ''))).toThrow(/empty manifest/);
    expect(() => readManifest(join(dir.path, 'nope.tsv'))).toThrow(/nope\.tsv: no such file/);
  });
});

describe('BIDS datasets', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  test('anat NIfTI and EEG EDF files with inherited sidecars, participants.tsv sites', () => {
    const root = join(dir.path, 'ds');
    const put = (rel: string, text = '') => {
      mkdirSync(join(root, rel, '..'), { recursive: true });
      writeFileSync(join(root, rel), text);
    };
    put('dataset_description.json', '{"Name": "test", "BIDSVersion": "1.8.0"}');
    put('participants.tsv', 'participant_id\tage\tsite\nsub-01\t30\tparis\nsub-02\t41\tgent\n');
    put('task-rest_eeg.json', '{"SamplingFrequency": 256, "PowerLineFrequency": 50, "EEGReference": "Cz"}');
    put('sub-01/anat/sub-01_T1w.nii.gz');
    put('sub-01/anat/sub-01_T1w.json', '{"MagneticFieldStrength": 3, "RepetitionTime": 2.3}');
    put('sub-01/eeg/sub-01_task-rest_eeg.edf');
    put('sub-01/eeg/sub-01_task-rest_eeg.json', '{"PowerLineFrequency": 60}');
    put('sub-02/ses-a/eeg/sub-02_ses-a_task-rest_eeg.edf');
    put('sub-02/ses-a/eeg/sub-02_ses-a_task-rest_channels.tsv', 'name\ttype\n');
    put('derivatives/sub-01/anat/sub-01_T1w.nii.gz');
    expect(isBidsRoot(root)).toBe(true);
    const { entries, problems } = readBids(root);
    expect(problems).toEqual([]);
    expect(entries.map((e) => [e.patient, e.modality, e.relativePath, e.site, e.source])).toEqual([
      ['sub-01', 'mri', 'sub-01/anat/sub-01_T1w.nii.gz', 'paris', 'bids'],
      ['sub-01', 'eeg', 'sub-01/eeg/sub-01_task-rest_eeg.edf', 'paris', 'bids'],
      ['sub-02', 'eeg', 'sub-02/ses-a/eeg/sub-02_ses-a_task-rest_eeg.edf', 'gent', 'bids'],
    ]);
    expect(entries[0].sidecar).toEqual({ MagneticFieldStrength: 3, RepetitionTime: 2.3 });
    // The nearer sidecar wins over the inherited one; fields only the top one has are kept.
    expect(entries[1].sidecar).toEqual({ SamplingFrequency: 256, PowerLineFrequency: 60, EEGReference: 'Cz' });
    expect(entries[2].sidecar).toEqual({ SamplingFrequency: 256, PowerLineFrequency: 50, EEGReference: 'Cz' });
  });
});

describe('phenopacket files as records', () => {
  test('modality from fileAttributes, htsFormat or the name; file:// and relative paths; remote URIs reported', () => {
    const pp: Parameters<typeof phenopacketFileEntries>[0] = {
      id: 'PP-1', subject: { id: 'proband' },
      files: [
        { uri: 'file:///data/exomes/p1.vcf.gz', individualToFileIdentifiers: { proband: 'SAMPLE_7' }, fileAttributes: { htsFormat: 'VCF', genomeAssembly: 'GRCh38' } },
        { uri: 'scans/t1.nii.gz' },
        { uri: 'eeg/rest.edf', fileAttributes: { modality: 'EEG' } },
        { uri: 'reads.bam', fileAttributes: { htsFormat: 'BAM' } },
        { uri: 'https://example.org/p1.vcf.gz' },
      ],
    };
    const { entries, problems } = phenopacketFileEntries(pp, { file: '/site/pp/PP-1.json' });
    expect(entries.map((e) => [e.patient, e.modality, e.path, e.sample, e.source])).toEqual([
      ['PP-1', 'vcf', '/data/exomes/p1.vcf.gz', 'SAMPLE_7', 'phenopacket'],
      ['PP-1', 'mri', '/site/pp/scans/t1.nii.gz', undefined, 'phenopacket'],
      ['PP-1', 'eeg', '/site/pp/eeg/rest.edf', undefined, 'phenopacket'],
    ]);
    expect(problems.map((p) => p.reason)).toEqual(['https://example.org/p1.vcf.gz: only local files (file:// or a path) are read']);
  });
});
