import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import oxigraph from 'oxigraph';
import { OxigraphStore } from '../../../src/store/index.js';
import { fixtureStore } from '../../helpers/fixture-store.js';
import { miniHpo, repoRoot, tempDir } from '../../helpers/paths.js';

const built = existsSync(join(repoRoot, 'dist', 'src', 'cli', 'commands', 'dump.js'));
if (!built) console.warn('dump.test: dist/ is not built (run `npm run build`); skipping the dump/restore CLI tests');
const maybe = built ? describe : describe.skip;

const harmonia = (...args: string[]) => spawnSync(join(repoRoot, 'bin', 'harmonia'), args, { encoding: 'utf8', maxBuffer: 64 << 20 });

/** Every quad as one sorted N-Quads line per quad (blank nodes do not occur in these stores). */
const canonical = (text: string, format: string) => oxigraph.parse(text, { format }).map((q) => q.toString()).sort();

maybe('harmonia dump and restore', () => {
  let dir: ReturnType<typeof tempDir>;
  let source: string;
  let quads: string[];

  beforeAll(async () => {
    dir = tempDir();
    const store = await fixtureStore(dir.path);
    await store.commit({ replace: new Map(), add: [], rejected: [], accepted: [] });
    quads = store.raw().match(null, null, null, null).map((q) => q.toString()).sort();
    await store.close();
    source = join(dir.path, 'store');
  });
  afterAll(() => dir.remove());

  test('N-Quads and TriG dumps hold every quad with its graph, to stdout or --out', () => {
    const nq = harmonia('dump', '--store', source);
    expect(nq.status).toBe(0);
    expect(canonical(nq.stdout, 'application/n-quads')).toEqual(quads);
    const out = join(dir.path, 'all.trig');
    expect(harmonia('dump', '--store', source, '--format', 'trig', '--out', out).status).toBe(0);
    expect(canonical(readFileSync(out, 'utf8'), 'application/trig')).toEqual(quads);
    const bad = harmonia('dump', '--store', source, '--format', 'turtle');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr.trim()).toBe('harmonia: --format turtle: expected nquads or trig');
  });

  test('restore builds an equal store (queryable with --hpo), and replaces the graphs it contains', async () => {
    const file = join(dir.path, 'all.nq');
    writeFileSync(file, harmonia('dump', '--store', source).stdout);
    const target = join(dir.path, 'restored');
    const r = harmonia('restore', '--store', target, file, '--hpo', miniHpo);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(`restored ${quads.length} quads into ${target}`);
    let store = await OxigraphStore.open(target);
    expect(store.raw().match(null, null, null, null).map((q) => q.toString()).sort()).toEqual(quads);
    expect((await store.ontology())?.version).toBe('2099-01-01');
    await store.close();
    // A second restore of one changed graph replaces that graph only.
    const g = 'https://w3id.org/harmonia/graph/patient/PMID_1_Patient_2';
    const patch = join(dir.path, 'patch.trig');
    writeFileSync(patch, `<${g}> { <urn:x> <urn:y> "replaced" . }\n`);
    expect(harmonia('restore', '--store', target, patch).status).toBe(0);
    store = await OxigraphStore.open(target);
    expect((await store.graphQuads(g)).map((q) => q.object.value)).toEqual(['replaced']);
    expect(store.raw().size).toBe(quads.length - 27 + 1);
    await store.close();
    const broken = join(dir.path, 'broken.nq');
    writeFileSync(broken, '<urn:a> <urn:b> .\n');
    const fail = harmonia('restore', '--store', target, broken);
    expect(fail.status).not.toBe(0);
    expect(fail.stderr).toMatch(/^harmonia: .*broken\.nq: not valid N-Quads/);
  });
});
