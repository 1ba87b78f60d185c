import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtures, miniHpo, repoRoot, tempDir } from '../../helpers/paths.js';

const built = existsSync(join(repoRoot, 'dist', 'src', 'cli', 'commands', 'quarantine.js'));
const describeCli = built ? describe : describe.skip;
if (!built) console.warn('ingest CLI tests skipped: run `npm run build` first');

function harmonia(...args: string[]) {
  const r = spawnSync(join(repoRoot, 'bin', 'harmonia'), args, { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const lastLine = (text: string): string => text.trimEnd().split('\n').pop()!;

describeCli('harmonia ingest: accounting, --strict, quarantine, --retry-quarantine', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => (dir = tempDir()));
  afterEach(() => dir.remove());

  test('rejections exit 0 and are counted in the last line; --strict exits 3; quarantine lists them; a retry takes the fixed one back', () => {
    const store = join(dir.path, 'store');
    const bad = join(dir.path, 'bad.json');
    const pp = JSON.parse(readFileSync(join(fixtures, 'phenopackets', 'patient-1.json'), 'utf8'));
    writeFileSync(bad, JSON.stringify({ ...pp, subject: { ...pp.subject, alternateIds: 5 } }));
    const first = harmonia('ingest', '--store', store, '--hpo', miniHpo, bad, join(fixtures, 'phenopackets', 'patient-2.json'));
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/^ {2}rejected: .*bad\.json \(PMID_1_Patient_1\): \$\.subject\.alternateIds: must be an array of strings, got number$/m);
    expect(lastLine(first.out)).toBe(`1 of 2 records rejected: see \`harmonia quarantine --store ${store}\``);

    const strict = harmonia('ingest', '--store', store, '--strict', bad);
    expect(strict.code).toBe(3);
    expect(strict.err).toMatch(/--strict: 1 records rejected \(exit status 3\)/);

    const list = harmonia('quarantine', '--store', store);
    expect(list.code).toBe(0);
    expect(list.out).toBe(`${bad} (PMID_1_Patient_1) [check] $.subject.alternateIds: must be an array of strings, got number\n1 rejected record in the quarantine\n`);
    const json = JSON.parse(harmonia('quarantine', '--store', store, '--json').out);
    expect(json).toEqual([{ id: 'PMID_1_Patient_1', file: bad, stage: 'check', reasons: [{ path: '$.subject.alternateIds', message: 'must be an array of strings, got number' }], at: expect.any(String) }]);

    writeFileSync(bad, JSON.stringify(pp));
    const retry = harmonia('ingest', '--store', store, '--retry-quarantine', '--strict');
    expect(retry.code).toBe(0);
    expect(retry.out).toMatch(/^retried 1 quarantined phenopackets: 1 re-read from their files, 0 from the record kept in the quarantine \(file gone\); 1 taken back, 0 already stored, 0 still rejected$/m);
    expect(lastLine(retry.out)).toBe('1 records read, none rejected');
    expect(harmonia('quarantine', '--store', store, '--json').out).toBe('[]\n');
  });

  test('limits are checked before the store is opened; a mapping-only store is told how to add HPO', () => {
    const store = join(dir.path, 'store');
    const r = harmonia('ingest', '--store', store, '--max-record', 'lots', join(fixtures, 'phenopackets'));
    expect(r.code).toBe(1);
    expect(r.err).toBe('harmonia: --max-record lots: expected a size such as 65536, 64k, 16M or 1G\n');
    expect(existsSync(store)).toBe(false);
    const s = harmonia('ingest', '--store', store, '--statistics', 'sometimes', join(fixtures, 'phenopackets'));
    expect(s.code).toBe(1);
    expect(s.err).toBe('harmonia: --statistics sometimes: expected auto, always or never\n');
    expect(existsSync(store)).toBe(false);

    const mapped = join(dir.path, 'mapped');
    const m = harmonia('ingest', '--store', mapped, '--mapping', join(repoRoot, 'mappings', 'clinical-csv.yarrrml.yml'));
    expect(m.code).toBe(0);
    expect(m.err).toContain(`this store has no HPO yet: add it with \`harmonia ingest --store ${mapped} --hpo FILE\``);
  });

  test('a folder written after --manifest (README: `--manifest records.tsv my-bids-dataset/`) is a source, not a second manifest', () => {
    const manifest = join(dir.path, 'records.tsv');
    writeFileSync(manifest, 'patient\tmodality\tpath\n');
    const r = harmonia('ingest', '--store', join(dir.path, 'store'), '--hpo', miniHpo, '--manifest', manifest, join(fixtures, 'phenopackets'));
    expect(r.err).toBe('loaded HPO 2099-01-01 (8 terms)\n');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^read 2 records: 2 accepted/);
  });
});
