import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { avoidedTerms, planLinks, simulateLinks, subjectsOf, type LinkCandidate, type LinkSubject } from '../../../src/learn/simulate.js';
import { tinyOntology, tinyStore } from '../cohort/helpers.js';

// Fixture patients (test/fixtures/cohort/patients.jsonl, tiny.obo): seizure (HP:0001250) observed by
// P-A (focal-onset seizure, a descendant; PMID:1), P-B (febrile seizure; PMID:1), P-C (PMID:2) and
// P-E (via an alt id and an obsolete id; PMID:3); P-D excludes it and observes developmental delay (PMID:3).
const SEIZURE = 'HP:0001250';
const CARRIERS = ['P-A', 'P-B', 'P-C', 'P-E'];

function manifest(dir: string, rows: [string, string][]): string {
  const file = join(dir, 'records.tsv');
  writeFileSync(file, ['patient\tmodality\tpath\tsite\tlabel', ...rows.map(([s, label], i) => `${s}\teeg\trecords/r${i}.txt\tbonn\t${label}`)].join('\n') + '\n');
  return file;
}

describe('planLinks (pure)', () => {
  const ontology = tinyOntology();
  const candidates: LinkCandidate[] = [
    { id: 'a1', group: 'PMID:1', observed: ['HP:0007359'] },
    { id: 'a2', group: 'PMID:1', observed: ['HP:0002373'] },
    { id: 'a3', group: 'PMID:1', observed: [SEIZURE] },
    { id: 'b1', group: 'PMID:2', observed: [SEIZURE, 'HP:0001249'] },
    { id: 'n1', group: 'PMID:3', observed: ['HP:0001263'] },
    { id: 'n2', group: 'PMID:3', observed: ['HP:0001249'] },
  ];
  const subjects = (n: number, finding?: string): LinkSubject[] => Array.from({ length: n }, (_, i) => ({ id: `${finding ? 'S' : 'Z'}${i}`, modalities: ['eeg'], findings: finding ? [finding] : [], records: 1 }));

  test('a subject with a finding goes to a carrier (the term or a descendant), one without to a non-carrier', () => {
    const plan = planLinks([...subjects(4, SEIZURE), ...subjects(2)], candidates, ontology, { seed: 1, maxPerPatient: 1, onShortage: 'refuse' });
    expect(plan.shortages).toEqual([]);
    const to = new Map(plan.links.map((l) => [l.subject, l.patient]));
    expect(['S0', 'S1', 'S2', 'S3'].map((s) => to.get(s)).sort()).toEqual(['a1', 'a2', 'a3', 'b1']);
    expect(['Z0', 'Z1'].map((s) => to.get(s)).sort()).toEqual(['n1', 'n2']);
    expect(plan.findings[SEIZURE]).toMatchObject({ label: 'Seizure', subjects: 4, linked: 4, carriers: 4, publications: 2, linkedPublications: 2 });
    expect(plan.withoutFinding.eeg).toMatchObject({ subjects: 2, linked: 2, candidates: 2 });
  });

  test('links alternate between publications: two subjects never share one while another qualifies', () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const plan = planLinks(subjects(2, SEIZURE), candidates, ontology, { seed, maxPerPatient: 1, onShortage: 'refuse' });
      expect(new Set(plan.links.map((l) => l.publication))).toEqual(new Set(['PMID:1', 'PMID:2']));
    }
  });

  test('deterministic for a seed; another seed assigns differently', () => {
    const run = (seed: number) => planLinks(subjects(4, SEIZURE), candidates, ontology, { seed, maxPerPatient: 1, onShortage: 'refuse' }).links.map((l) => `${l.subject}>${l.patient}`).join(' ');
    expect(run(7)).toBe(run(7));
    expect(new Set([1, 2, 3, 4, 5, 6, 7, 8].map(run)).size).toBeGreaterThan(1);
  });

  test('too few carriers: a shortage is reported; reuse up to maxPerPatient spreads evenly', () => {
    const short = planLinks(subjects(5, SEIZURE), candidates, ontology, { seed: 1, maxPerPatient: 1, onShortage: 'cap' });
    expect(short.shortages).toEqual([{ need: SEIZURE, subjects: 5, linked: 4, qualifying: 4, publications: 2 }]);
    expect(short.unlinked).toHaveLength(1);
    expect(short.unlinked[0].reason).toMatch(/no patient left for HP:0001250/);
    const reused = planLinks(subjects(6, SEIZURE), candidates, ontology, { seed: 1, maxPerPatient: 2, onShortage: 'refuse' });
    expect(reused.shortages).toEqual([]);
    const uses = new Map<string, number>();
    for (const l of reused.links) uses.set(l.patient, (uses.get(l.patient) ?? 0) + 1);
    // 6 subjects over 4 carriers: each used once before any is used twice.
    expect([...uses.values()].sort()).toEqual([1, 1, 2, 2]);
  });

  test('patients observing an ancestor of the finding below the organ-system level are not linked to records without it', () => {
    const o = tinyOntology();
    // HP:0000707 (nervous system) is an organ-system class: too broad to avoid; the finding's descendants are avoided.
    expect([...avoidedTerms(o, [SEIZURE])].sort()).toEqual(['HP:0001250', 'HP:0002373', 'HP:0007359']);
    expect([...avoidedTerms(o, ['HP:0007359'])].sort()).toEqual(['HP:0001250', 'HP:0007359']);
  });

  test('subjectsOf groups records by their original subject', () => {
    const e = (patient: string, label?: string) => ({ patient, modality: 'eeg' as const, path: '/x', relativePath: 'x', label, source: 'manifest' as const, origin: { file: 'm' } });
    expect(subjectsOf([e('s1', SEIZURE), e('s1'), e('s2')])).toEqual([
      { id: 's1', modalities: ['eeg'], findings: [SEIZURE], records: 2 },
      { id: 's2', modalities: ['eeg'], findings: [], records: 1 },
    ]);
  });
});

describe('simulateLinks on the fixture store', () => {
  let fx: Awaited<ReturnType<typeof tinyStore>>;
  beforeAll(async () => {
    fx = await tinyStore();
    await fx.store.close();
  });
  afterAll(async () => {
    await fx.cleanup().catch(() => undefined);
  });

  test('writes the linked manifest and the sidecar: exact links where they are forced', async () => {
    const file = manifest(fx.dir, [['bonn-S1', SEIZURE], ['bonn-S1', SEIZURE], ['bonn-S2', SEIZURE], ['bonn-Z1', '']]);
    const out = join(fx.dir, 'out', 'linked.tsv');
    const summary = await simulateLinks({ storeDir: fx.dir, manifest: file, out, seed: 3 });
    expect(summary).toMatchObject({ subjects: 3, linked: 3, unlinked: 0, records: 4, patients: 3, shortages: [] });
    const rows = readFileSync(out, 'utf8').replace(/\n$/, '').split('\n').map((l) => l.split('\t'));
    expect(rows[0]).toEqual(['patient', 'modality', 'path', 'site', 'label']);
    // The one subject without a finding can only go to P-D (the only patient not carrying seizure).
    expect(rows[4]).toEqual(['P-D', 'eeg', join(fx.dir, 'records', 'r3.txt'), 'bonn', '']);
    // Both records of bonn-S1 go to the same patient, a carrier.
    expect(rows[1][0]).toBe(rows[2][0]);
    expect(CARRIERS).toContain(rows[1][0]);
    expect(CARRIERS).toContain(rows[3][0]);
    expect(rows[3][0]).not.toBe(rows[1][0]);
    const side = JSON.parse(readFileSync(`${out}.links.json`, 'utf8'));
    expect(side.simulated).toMatch(/^Simulated: which patient a record belongs to/);
    expect(side).toMatchObject({ seed: 3, maxPerPatient: 1, onShortage: 'refuse', findings: { [SEIZURE]: { subjects: 2, linked: 2, carriers: 4, publications: 3 } } });
    expect(side.links.map((l: { subject: string }) => l.subject)).toEqual(['bonn-S1', 'bonn-S2', 'bonn-Z1']);
    expect(side.links[0]).toMatchObject({ patient: rows[1][0], findings: [SEIZURE], records: 2 });
    // The same seed writes the same files.
    const again = join(fx.dir, 'out', 'again.tsv');
    await simulateLinks({ storeDir: fx.dir, manifest: file, out: again, seed: 3 });
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(out, 'utf8'));
  });

  test('refuses, with one message naming the term and the counts, when too few patients carry it', async () => {
    const file = manifest(fx.dir, [1, 2, 3, 4, 5].map((i) => [`s${i}`, SEIZURE] as [string, string]));
    await expect(simulateLinks({ storeDir: fx.dir, manifest: file, out: join(fx.dir, 'x.tsv') })).rejects.toThrow(
      /HP:0001250 \(Seizure\): 5 record subjects but 4 patients carry it \(observed, or a descendant\) in 3 publications; 4 can be linked with --max-per-patient 1.*--max-per-patient.*--cap/,
    );
    const capped = await simulateLinks({ storeDir: fx.dir, manifest: file, out: join(fx.dir, 'capped.tsv'), cap: true });
    expect(capped).toMatchObject({ linked: 4, unlinked: 1, records: 4 });
    expect(capped.shortages[0]).toMatch(/^HP:0001250 \(Seizure\): 5 record subjects/);
    const side = JSON.parse(readFileSync(join(fx.dir, 'capped.tsv.links.json'), 'utf8'));
    expect(side.unlinked).toHaveLength(1);
    expect(side.onShortage).toBe('cap');
    const reused = await simulateLinks({ storeDir: fx.dir, manifest: file, out: join(fx.dir, 'reused.tsv'), maxPerPatient: 2 });
    expect(reused).toMatchObject({ linked: 5, patients: 4 });
  });

  test('bad input: one clear error', async () => {
    const unknown = manifest(fx.dir, [['s1', 'HP:9999999']]);
    await expect(simulateLinks({ storeDir: fx.dir, manifest: unknown, out: join(fx.dir, 'y.tsv') })).rejects.toThrow(/label HP:9999999 \(subject s1\) is not a current term/);
    const bad = join(fx.dir, 'bad.tsv');
    writeFileSync(bad, 'patient\tmodality\tpath\tlabel\ns1\teeg\tx\tAF\n');
    await expect(simulateLinks({ storeDir: fx.dir, manifest: bad, out: join(fx.dir, 'z.tsv') })).rejects.toThrow(/1 bad row\(s\), e.g. line 2: label: "AF" is not an HPO id/);
    await expect(simulateLinks({ storeDir: fx.dir, manifest: unknown, out: join(fx.dir, 'y.tsv'), maxPerPatient: 0 })).rejects.toThrow(/--max-per-patient 0/);
  });
});
