import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureOntology } from '../../../src/ingest/index.js';
import { mapPhenopacket } from '../../../src/map/index.js';
import { loadOntology } from '../../../src/ontology/index.js';
import { OxigraphStore } from '../../../src/store/index.js';
import { realFiles } from '../../helpers/real-store.js';
import { dataDir, repoRoot, tempDir } from '../../helpers/paths.js';
import { prng } from '../../helpers/prng.js';
import { startServeProcess, type ServeProcess } from '../../helpers/serve-process.js';

// Similarity, cohorts and page data run as jobs in the query workers, not on the server's main thread:
// while one worker computes a long similarity search, requests on other routes are answered at once.
const data = dataDir();
const built = existsSync(join(repoRoot, 'dist', 'src', 'server', 'query-worker.js'));
if (!data) console.warn('long-jobs.test: no data directory (../shared/data); skipping');
if (!built) console.warn('long-jobs.test: dist/ is not built (run `npm run build`); skipping');
const maybe = data && built ? describe : describe.skip;

/** Patients with 15 random phenotypic abnormalities each, written straight into a store (no validation: the content is not under test). */
async function syntheticStore(dir: string, patients: number): Promise<void> {
  const ontology = loadOntology(realFiles(data!).hpo);
  const terms = ontology.descendants('HP:0000118');
  const random = prng(11);
  const store = await OxigraphStore.open(dir, { create: true, write: true });
  await ensureOntology(store, ontology);
  for (let first = 0; first < patients; first += 500) {
    const replace = new Map();
    for (let i = first; i < Math.min(patients, first + 500); i++) {
      const features = Array.from({ length: 15 }, () => ({ type: { id: terms[Math.floor(random() * terms.length)] } }));
      const mapped = mapPhenopacket({ id: `S-${i}`, subject: { id: `S-${i}`, sex: 'FEMALE' }, phenotypicFeatures: features, metaData: {} } as never, ontology);
      replace.set(mapped.graph, mapped.quads);
    }
    await store.commit({ replace, add: [], rejected: [], accepted: [] });
  }
  await store.close();
}

interface Health {
  workers: { ready: number; busy: number };
}

maybe('long jobs of other routes run in the query workers', () => {
  let dir: ReturnType<typeof tempDir>;
  let server: ServeProcess | undefined;
  let base: string;

  beforeAll(async () => {
    dir = tempDir();
    await syntheticStore(join(dir.path, 'store'), 3000);
    server = await startServeProcess(['--store', join(dir.path, 'store'), '--port', '0', '--workers', '2', '--timeout', '120000', '--log-level', 'quiet']);
    base = server.base;
  }, 240_000);
  afterAll(async () => {
    await server?.stop();
    dir?.remove();
  });

  const health = async (): Promise<Health> => (await (await fetch(`${base}/health`)).json()) as Health;

  test('while a similarity search builds its index and explains 1,000 matches, /health, /sparql, /cohorts and /ui answer', async () => {
    let similarDone = false;
    // The first similarity request of a worker builds its patient index (some seconds for 3,000 patients) before it searches.
    const similar = fetch(`${base}/patients/S-0/similar?top=1000&explain=true&method=resnik-bmwa`).then(async (res) => {
      similarDone = true;
      return { status: res.status, body: (await res.json()) as { results: unknown[] } };
    });
    // Wait until a worker has taken the job.
    for (let i = 0; i < 200 && (await health()).workers.busy === 0 && !similarDone; i++) await new Promise((r) => setTimeout(r, 25));
    expect(similarDone).toBe(false);

    const h = await health();
    expect(h.workers).toMatchObject({ ready: 2, busy: 1 });
    const ask = await fetch(`${base}/sparql`, { method: 'POST', body: 'ASK { ?s ?p ?o }', headers: { 'Content-Type': 'application/sparql-query', Accept: 'application/sparql-results+json' } });
    expect(((await ask.json()) as { boolean: boolean }).boolean).toBe(true);
    const cohorts = await fetch(`${base}/cohorts`);
    expect(await cohorts.json()).toEqual({ cohorts: [] });
    const patients = (await (await fetch(`${base}/ui/patients?q=S-299&limit=5`)).json()) as { patients: string[] };
    expect(patients.patients).toContain('S-299');
    // Every cheap answer came while the similarity job was still running in the other worker.
    expect(similarDone).toBe(false);

    const answer = await similar;
    expect(answer.status).toBe(200);
    expect(answer.body.results).toHaveLength(1000);
  }, 180_000);
});
