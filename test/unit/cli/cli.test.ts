import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtures, miniHpo, repoRoot, tempDir } from '../../helpers/paths.js';

const built = existsSync(join(repoRoot, 'dist', 'src', 'cli', 'main.js'));
const describeCli = built ? describe : describe.skip;
if (!built) console.warn('CLI tests skipped: run `npm run build` first (npm install does)');

function harmonia(...args: string[]) {
  const r = spawnSync(join(repoRoot, 'bin', 'harmonia'), args, { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describeCli('harmonia command line', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: string;
  beforeAll(() => {
    dir = tempDir();
    store = join(dir.path, 'store');
    const r = harmonia('ingest', '--store', store, '--hpo', miniHpo, '--json', join(fixtures, 'phenopackets'));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ read: 2, accepted: 2, rejected: 0 });
  });
  afterAll(() => dir.remove());

  test('--help lists the commands', () => {
    const r = harmonia('--help');
    expect(r.code).toBe(0);
    for (const c of ['ingest', 'query', 'serve', 'validate', 'stats', 'demo', 'similar', 'diagnose', 'eval']) expect(r.out).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
  });

  test('query prints W3C SPARQL results JSON, CSV, and Turtle for CONSTRUCT', () => {
    const q = 'PREFIX hx: <https://w3id.org/harmonia/vocab#> SELECT ?id WHERE { ?p hx:id ?id } ORDER BY ?id';
    const json = harmonia('query', '--store', store, q);
    expect(JSON.parse(json.out)).toEqual({ head: { vars: ['id'] }, results: { bindings: [{ id: { type: 'literal', value: 'PMID_1_Patient_1' } }, { id: { type: 'literal', value: 'PMID_1_Patient_2' } }] } });
    expect(harmonia('query', '--store', store, '--format', 'csv', q).out).toBe('id\r\nPMID_1_Patient_1\r\nPMID_1_Patient_2\r\n');
    const file = join(dir.path, 'q.rq');
    writeFileSync(file, 'CONSTRUCT { ?p <urn:x> ?id } WHERE { ?p <https://w3id.org/harmonia/vocab#id> ?id }');
    expect(harmonia('query', '--store', store, '--format', 'ttl', '--file', file).out).toMatch(/<urn:x> "PMID_1_Patient_1"/);
  });

  test('stats --json has the contract fields', () => {
    const stats = JSON.parse(harmonia('stats', '--store', store, '--json').out);
    expect(stats).toMatchObject({ patients: 2, rejected: 0, hpoVersion: '2099-01-01' });
    expect(stats.phenotypeAssertions).toBe(6);
    expect(stats.triples).toBeGreaterThan(100);
  });

  test('validate reports a conforming store and exits 0', () => {
    const r = harmonia('validate', '--store', store, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ conforms: true, patients: 2, violations: [] });
  });

  test('failures are one line on stderr and a non-zero exit', () => {
    for (const [args, message] of [
      [['query', '--store', join(dir.path, 'nope'), 'ASK {}'], /nope: does not exist/],
      [['query', '--store', store, '--format', 'csv', 'CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }'], /--format csv does not fit a CONSTRUCT query/],
      [['query', '--store', store, '--file', join(dir.path, 'missing.rq')], /missing\.rq: no such file/],
      [['query', '--store', store, 'SELEKT'], /SPARQL syntax error/],
      [['ingest', '--store', store, join(dir.path, 'absent.json')], /absent\.json: no such file or directory/],
      [['similar', '--store', store, '--hpo', 'HP:0001250', '--patient', 'x'], /exactly one of --query FILE, --hpo/],
    ] as [string[], RegExp][]) {
      const r = harmonia(...args);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
  });

  test('similar and diagnose print one JSON line per query', () => {
    // IC from the three annotated diseases: with two patients as the corpus, Seizure would carry no information.
    const s = harmonia('similar', '--store', store, '--patient', 'PMID_1_Patient_2', '--annotations', join(fixtures, 'ontology', 'mini.hpoa'), '--json');
    expect(s.code).toBe(0);
    expect(JSON.parse(s.out)).toMatchObject({ query: 'PMID_1_Patient_2', results: [{ patient: 'PMID_1_Patient_1' }] });
    const d = harmonia('diagnose', '--store', store, '--annotations', join(fixtures, 'ontology', 'mini.hpoa'), '--hpo', 'HP:0011097,HP:0002373', '--json');
    expect(d.code).toBe(0);
    expect(JSON.parse(d.out).results[0]).toMatchObject({ disease: 'OMIM:607208', label: 'Dravet syndrome' });
  });

  test('ingest --mapping stores a site CSV export through its YARRRML mapping, validated', () => {
    const mapping = join(repoRoot, 'mappings', 'clinical-csv.yarrrml.yml');
    const r = harmonia('ingest', '--store', store, '--mapping', mapping, '--json');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary).toMatchObject({ rejected: 0 });
    expect(summary.accepted).toBeGreaterThan(0);
    // Independently from the CSV: one patient per distinct id, an observed feature per 'present' row.
    const csv = readFileSync(join(repoRoot, 'mappings', 'examples', 'clinical.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    const count = (where: string) => Number(JSON.parse(harmonia('query', '--store', store, `PREFIX hx: <https://w3id.org/harmonia/vocab#> SELECT (COUNT(*) AS ?n) WHERE { ${where} }`).out).results.bindings[0].n.value);
    expect(summary.accepted).toBe(new Set(csv.map((r) => r[0])).size);
    expect(count('?p a hx:Patient ; hx:site ?site')).toBe(summary.accepted);
    expect(count('?p hx:site ?site ; hx:hasPhenotype ?c')).toBe(csv.filter((r) => r[4] === 'present').length);
    expect(count('?p hx:site ?site ; hx:excludedPhenotype ?c')).toBe(csv.filter((r) => r[4] === 'absent').length);
    // Pointing the mapping's source at a missing file is a one-line error naming it.
    const bad = harmonia('ingest', '--store', store, '--mapping', mapping, '--source', `clinical=${join(dir.path, 'nope.csv')}`);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/nope\.csv/);
  });
});
