import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureOntology, ingestPhenopackets } from '../../src/ingest/index.js';
import { loadOntology } from '../../src/ontology/index.js';
import { OxigraphStore } from '../../src/store/index.js';
import { repoRoot } from './paths.js';

export const realFiles = (data: string) => ({
  hpo: join(data, 'ontologies', 'hp.v2024-04-26.json.gz'),
  phenopackets: join(data, 'phenopackets', 'phenopacket-store-dev.zip'),
});

/** Hash of the inputs and of the code that shapes the stored graph: a change rebuilds the cache. */
function cacheKey(data: string): string {
  const h = createHash('sha256');
  const { hpo, phenopackets } = realFiles(data);
  for (const f of [hpo, phenopackets]) h.update(`${f}:${statSync(f).size}:${statSync(f).mtimeMs}`);
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(readFileSync(p));
    }
  };
  for (const d of ['src/sources', 'src/harmonize', 'src/map', 'src/model', 'src/ontology', 'src/store', 'src/ingest', 'shapes', 'ontologies']) walk(join(repoRoot, d));
  return h.digest('hex').slice(0, 16);
}

/**
 * The 7,405 real dev phenopackets ingested once into a store under the OS temp directory, shared by
 * the integration test files (built in a temp dir and renamed into place, so a half-built store is
 * never used). Opened read-only.
 */
export async function realStoreDir(data: string): Promise<string> {
  const dir = join(tmpdir(), `harmonia-real-store-${cacheKey(data)}`);
  if (existsSync(join(dir, 'harmonia-store.json'))) return dir;
  const building = `${dir}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  const { hpo, phenopackets } = realFiles(data);
  const store = await OxigraphStore.open(building, { create: true, write: true });
  await ensureOntology(store, loadOntology(hpo));
  await ingestPhenopackets(store, [phenopackets], { batchSize: 2000 });
  store.compact();
  await store.close();
  try {
    renameSync(building, dir);
  } catch {
    rmSync(building, { recursive: true, force: true }); // Another worker finished first.
  }
  return dir;
}
