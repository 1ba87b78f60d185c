import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import type { EntryProblem, Modality, RecordEntry } from './manifest.js';

// A BIDS dataset (https://bids-specification.readthedocs.io) as records: sub-*/[ses-*/]anat/*.nii[.gz]
// as MRI, sub-*/[ses-*/]eeg/*.edf as EEG, each with the JSON sidecars that apply to it (the
// inheritance principle: a sidecar higher up whose entities are a subset of the file's, nearer ones
// win), and participants.tsv for the site when it has a `site` column.

const DATA: [RegExp, Modality][] = [
  [/_(T1w|T2w|FLAIR|PDw|T2starw|inplaneT1|inplaneT2|angio)\.nii(\.gz)?$/, 'mri'],
  [/_(eeg)\.(edf|EDF)$/, 'eeg'],
];

export function isBidsRoot(dir: string): boolean {
  return existsSync(join(dir, 'dataset_description.json')) && statSync(dir).isDirectory();
}

interface Name {
  entities: Map<string, string>;
  suffix: string;
}

/** `sub-01_ses-a_task-rest_eeg.edf` to its entities and suffix. */
function parseName(file: string): Name {
  const stem = basename(file).replace(/\.(nii\.gz|nii|edf|EDF|json|tsv)$/, '');
  const parts = stem.split('_');
  const suffix = parts.pop()!;
  return { entities: new Map(parts.map((p) => p.split('-') as [string, string]).filter((kv) => kv.length === 2)), suffix };
}

function appliesTo(sidecar: Name, data: Name): boolean {
  if (sidecar.suffix !== data.suffix) return false;
  for (const [k, v] of sidecar.entities) if (data.entities.get(k) !== v) return false;
  return true;
}

function readJson(file: string, problems: EntryProblem[]): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as Record<string, unknown>;
  } catch (e) {
    problems.push({ file, reason: `sidecar is not JSON: ${(e as Error).message}` });
    return {};
  }
}

function participants(root: string, problems: EntryProblem[]): Map<string, Record<string, string>> {
  const file = join(root, 'participants.tsv');
  const out = new Map<string, Record<string, string>>();
  if (!existsSync(file)) return out;
  const [head, ...rows] = readFileSync(file, 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/).filter(Boolean).map((l) => l.split('\t'));
  const id = head.indexOf('participant_id');
  if (id < 0) {
    problems.push({ file, line: 1, field: 'participant_id', reason: 'participants.tsv has no participant_id column' });
    return out;
  }
  rows.forEach((r) => out.set(r[id], Object.fromEntries(head.map((h, i) => [h, r[i]]))));
  return out;
}

/** Every MRI and EEG file of a BIDS dataset as a record, with its sidecar fields. */
export function readBids(root: string): { entries: RecordEntry[]; problems: EntryProblem[] } {
  const problems: EntryProblem[] = [];
  const people = participants(root, problems);
  const entries: RecordEntry[] = [];
  const walk = (dir: string, sidecars: { file: string; name: Name }[]): void => {
    const names = readdirSync(dir).sort();
    const here = [...sidecars, ...names.filter((n) => n.endsWith('.json') && n !== 'dataset_description.json').map((n) => ({ file: join(dir, n), name: parseName(n) }))];
    for (const n of names) {
      const p = join(dir, n);
      if (n.startsWith('.') || n === 'derivatives' || n === 'sourcedata' || n === 'code') continue;
      if (statSync(p).isDirectory()) {
        walk(p, here);
        continue;
      }
      const match = DATA.find(([re]) => re.test(n));
      if (!match) continue;
      const name = parseName(n);
      const sub = name.entities.get('sub');
      if (!sub) {
        problems.push({ file: p, field: 'sub', reason: 'a BIDS data file without a sub- entity' });
        continue;
      }
      const sidecar: Record<string, unknown> = {};
      // Outermost first, so the sidecar nearest to the file wins.
      for (const s of here) if (appliesTo(s.name, name) && dirname(s.file).length <= dirname(p).length) Object.assign(sidecar, readJson(s.file, problems));
      const patient = `sub-${sub}`;
      entries.push({
        patient, modality: match[1], path: p, relativePath: relative(root, p), site: people.get(patient)?.site || undefined,
        sidecar, source: 'bids', origin: { file: join(root, 'participants.tsv') },
      });
    }
  };
  walk(root, []);
  return { entries, problems };
}
