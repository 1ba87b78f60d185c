import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

// The demo's records of other modalities: a small, real selection from the data directory, each with
// the public source it came from as its site (these are not simulated sites).

interface Row {
  patient: string;
  modality: string;
  path: string;
  site: string;
  label?: string;
  sample?: string;
}

function physionet2017(data: string, per: number): Row[] {
  const dir = join(data, 'ecg', 'physionet2017');
  const ref = join(dir, 'REFERENCE-subset.csv');
  if (!existsSync(ref)) return [];
  const labels = readFileSync(ref, 'utf8').split(/\r?\n/).filter(Boolean).map((l) => l.split(','));
  const pick = (code: string) => labels.filter(([, c]) => c === code).slice(0, per);
  return [...pick('A'), ...pick('N')].map(([id, c]) => ({
    patient: `PHYSIONET2017-${id}`, modality: 'ecg', path: join(dir, 'records', `${id}.mat`), site: 'physionet-2017', label: c === 'A' ? 'HP:0005110' : undefined,
  }));
}

function bonn(data: string, per: number): Row[] {
  const rows: Row[] = [];
  for (const set of ['S', 'Z']) {
    const dir = join(data, 'eeg', 'bonn', 'sets', set);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.txt')).sort().slice(0, per)) {
      rows.push({ patient: `BONN-${f.replace(/\.txt$/, '')}`, modality: 'eeg', path: join(dir, f), site: 'bonn', label: set === 'S' ? 'HP:0001250' : undefined });
    }
  }
  return rows;
}

/** Writes the demo manifest (only rows whose file exists) and returns its path, or undefined when none does. */
export function writeDemoManifest(data: string, file: string): string | undefined {
  const rows: Row[] = [
    { patient: 'PFEIFFER-EXOME', modality: 'vcf', path: join(data, 'genomics/exomiser/Pfeiffer.vcf.gz'), site: 'exomiser' },
    ...physionet2017(data, 10),
    { patient: 'MITBIH-100', modality: 'ecg', path: join(data, 'ecg/wfdb-python/100.hea'), site: 'mit-bih' },
    ...bonn(data, 5),
    { patient: 'EEGMMIDB-S001', modality: 'eeg', path: join(data, 'eeg/eegmmidb/S001R04.edf'), site: 'eegmmidb' },
    { patient: 'MNI152', modality: 'mri', path: join(data, 'mri/nilearn/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz'), site: 'nilearn' },
    { patient: 'NIBABEL-ANATOMY', modality: 'mri', path: join(data, 'mri/nibabel/anatomical.nii'), site: 'nibabel' },
    ...['GSM71019.CEL', 'GSM71020.CEL', 'GSM71021.CEL'].map((s) => ({ patient: `BLADDER-${s.replace(/\.CEL$/, '')}`, modality: 'expression', path: join(data, 'expression/bladderbatch/expression.tsv.gz'), site: 'bladderbatch', sample: s })),
  ].filter((r) => existsSync(r.path));
  if (rows.length === 0) return undefined;
  mkdirSync(dirname(file), { recursive: true });
  const lines = ['patient\tmodality\tpath\tsite\tlabel\tsample', ...rows.map((r) => [r.patient, r.modality, r.path, r.site, r.label ?? '', r.sample ?? ''].join('\t'))];
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}
