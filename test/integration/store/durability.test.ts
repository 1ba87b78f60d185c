import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { OxigraphStore } from '../../../src/store/index.js';
import { fixtures, miniHpo, repoRoot, tempDir } from '../../helpers/paths.js';

// kill -9 at exact moments of a real ingest (the store's HARMONIA_TEST_KILL_AT hook, src/store/kill-hook.ts),
// then the same ingest again: the store must be exactly the one a clean run builds.
const built = existsSync(join(repoRoot, 'dist', 'src', 'store', 'kill-hook.js'));
const describeCli = built ? describe : describe.skip;
if (!built) console.warn('durability tests skipped: run `npm run build` first');

/** Records in the folder; with --batch 1 each is one commit, enough for a compaction (past 24 segments). */
const RECORDS = 25;
const BAD = 7;
/** Phenotypic features test/fixtures/phenopackets/patient-1.json stores. */
const FEATURES = 5;
const CHANGED = 'DUR_02';

interface Run { status: number | null; signal: NodeJS.Signals | null; err: string }
/** A run that ended well; its stderr shows in the failure message otherwise. */
const COMPLETED = { status: 0, signal: null, err: expect.not.stringContaining('harmonia: ') };

describeCli('the store survives kill -9 at any moment of an ingest', () => {
  let dir: ReturnType<typeof tempDir>;
  let args: string[];
  let clean: Canonical;
  let n = 0;

  /** One ingest, with the kill hook armed when `killAt` is given. */
  function ingest(store: string, killAt?: string, batch = '1'): Run {
    const env = { ...process.env };
    delete env.HARMONIA_TEST_KILL_AT;
    if (killAt) env.HARMONIA_TEST_KILL_AT = killAt;
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'harmonia'), 'ingest', '--store', store, '--batch', batch, ...args], { encoding: 'utf8', env });
    return { status: r.status, signal: r.signal, err: r.stderr };
  }
  const freshStore = (): string => join(dir.path, `store-${++n}`);

  beforeAll(async () => {
    dir = tempDir();
    const folder = join(dir.path, 'phenopackets');
    mkdirSync(folder);
    const base = [1, 2].map((i) => JSON.parse(readFileSync(join(fixtures, 'phenopackets', `patient-${i}.json`), 'utf8')));
    for (let i = 0; i < RECORDS; i++) {
      const pp = { ...base[i % 2], id: `DUR_${String(i).padStart(2, '0')}` };
      // One record with a wrongly typed field: the quarantine is committed too.
      if (i === BAD) pp.subject = { ...pp.subject, alternateIds: 5 };
      writeFileSync(join(folder, `p${String(i).padStart(2, '0')}.json`), JSON.stringify(pp));
    }
    // A changed version of an early patient, read last: with --batch 1 it replaces that patient's graph
    // after the compaction, so a replacement of a graph that lives in a compacted segment is covered.
    const late = join(dir.path, 'changed.json');
    const early = JSON.parse(readFileSync(join(folder, 'p02.json'), 'utf8'));
    writeFileSync(late, JSON.stringify({ ...early, phenotypicFeatures: early.phenotypicFeatures.slice(0, 1) }));
    args = ['--hpo', miniHpo, folder, late];

    // The clean store: one run, one batch (no compaction, nothing to recover).
    const reference = freshStore();
    expect(ingest(reference, undefined, '1000')).toMatchObject(COMPLETED);
    clean = await canonical(reference);
  });
  afterAll(() => dir?.remove());

  test('the reference store holds what the sources say', () => {
    expect(clean.patients).toBe(RECORDS - 1);
    expect(clean.quarantine).toEqual([expect.stringContaining(`"id":"DUR_0${BAD}"`)]);
    expect(clean.meta.hpoVersion).toBe('2099-01-01');
    expect(clean.graphs).toEqual(expect.arrayContaining(['https://w3id.org/harmonia/graph/hpo', 'https://w3id.org/harmonia/graph/vocab']));
    // The changed record replaced the first one: its graph holds one phenotypic feature, not five.
    const features = (g: string): number => clean.quads.filter((q) => q.endsWith(`<https://w3id.org/harmonia/graph/patient/${g}> .`) && q.includes('PhenotypicFeature>')).length;
    expect(features(CHANGED)).toBe(1);
    expect(features('DUR_04')).toBe(FEATURES);
  });

  // Commits of a --batch 1 run: 1 the vocabulary graph, 2 the ontology, then one per record (batch 8
  // holds the rejected record); the 23rd batch (commit 25) is followed by a compaction (manifest swap 26).
  test.each([
    ['swap:1', 'the vocabulary manifest written, not renamed'],
    ['vocabulary:1', 'right after the vocabulary commit'],
    ['segment:2', 'the saved ontology and its segment written, the manifest not swapped'],
    ['ontology:1', 'right after the ontology commit'],
    ['batch:8', 'right after the batch with the quarantined record'],
    ['segment:14', 'a patient batch written, not swapped'],
    ['swap:26', 'the compacted segment written, its manifest not renamed'],
    ['compact:1', 'right after the compaction, before the old segments are deleted'],
    ['batch:24', 'right after the first batch past the compaction'],
  ])('killed at %s (%s), the same ingest again reaches the clean store', async (killAt) => {
    const store = freshStore();
    const killed = ingest(store, killAt);
    expect(killed).toMatchObject({ signal: 'SIGKILL', status: null });
    expect(ingest(store)).toMatchObject(COMPLETED);
    expect(await canonical(store)).toEqual(clean);
    expect(strayFiles(store)).toEqual([]);
  });

  test('killed twice in a row, then run to the end, it reaches the clean store', async () => {
    const store = freshStore();
    expect(ingest(store, 'swap:5')).toMatchObject({ signal: 'SIGKILL' });
    // The second run finds the vocabulary, the ontology and two patients stored and goes on from there
    // (nothing recommitted); killed after its 19th batch, it leaves the third run to finish and compact.
    expect(ingest(store, 'batch:19')).toMatchObject({ signal: 'SIGKILL' });
    expect(ingest(store)).toMatchObject(COMPLETED);
    // A compaction happened in one of the runs: the first segment lists no graphs it replaces.
    expect(JSON.parse(readFileSync(join(store, 'harmonia-store.json'), 'utf8')).segments[0].replaces).toBeUndefined();
    expect(await canonical(store)).toEqual(clean);
    expect(strayFiles(store)).toEqual([]);
  });

  test('a mistyped kill point is refused, not ignored', () => {
    const r = ingest(freshStore(), 'vocabulary');
    expect(r.status).not.toBe(0);
    expect(r.err).toContain('HARMONIA_TEST_KILL_AT=vocabulary: expected <point>:<n>');
  });
});

interface Canonical {
  quads: string[];
  graphs: string[];
  patients: number;
  quarantine: string[];
  meta: Record<string, string>;
  ontology?: string;
}

/** What a store holds, in a form two stores can be compared by: sorted quads, quarantine, metadata. */
async function canonical(dir: string): Promise<Canonical> {
  const store = await OxigraphStore.open(dir);
  try {
    const quads = store.raw().dump({ format: 'application/n-quads' }).split('\n').filter(Boolean).sort();
    const graphs = [...new Set(quads.map((q) => /<([^>]+)> \.$/.exec(q)?.[1]).filter((g): g is string => !!g))].sort();
    const patients = graphs.filter((g) => g.includes('/graph/patient/')).length;
    // When a record was rejected changes between a killed run and its re-run; what and why does not.
    const quarantine = (await store.quarantine()).map(({ at: _at, ...e }) => JSON.stringify(e)).sort();
    const { created: _c, updated: _u, ...meta } = await store.meta();
    return { quads, graphs, patients, quarantine, meta, ontology: (await store.ontology())?.version };
  } finally {
    await store.close();
  }
}

/**
 * Files in the store directory that its manifest does not name: what a killed commit left and the next
 * writer did not clean up. Earlier copies of the quarantine are not counted: every commit that changes
 * it writes a new copy, and the old one goes at the next write open or compaction.
 */
function strayFiles(dir: string): string[] {
  const manifest = readFileSync(join(dir, 'harmonia-store.json'), 'utf8');
  const walk = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [relative(dir, join(d, f))]));
  return walk(dir).filter((f) => f !== 'harmonia-store.json' && !manifest.includes(`"${f}"`) && !f.endsWith('.quarantine.json'));
}
