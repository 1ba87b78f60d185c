import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureOntology, ingestPhenopackets } from '../../../src/ingest/index.js';
import { loadOntology } from '../../../src/ontology/index.js';
import { OxigraphStore } from '../../../src/store/index.js';

// Real data lives outside the repository: HARMONIA_DATA, default ../shared/data from the repo root.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const DATA = resolve(ROOT, process.env.HARMONIA_DATA ?? '../shared/data');
export const files = {
  hpo: join(DATA, 'ontologies', 'hp.v2024-04-26.json.gz'),
  phenopackets: join(DATA, 'phenopackets', 'phenopacket-store-dev.zip'),
};
export const haveData = Object.values(files).every((f) => existsSync(f));
if (!haveData) console.warn(`cohort integration tests skipped: real data not found under ${DATA} (set HARMONIA_DATA)`);
export const describeWithData = haveData ? describe : describe.skip;

/**
 * The dev phenopackets ingested once and kept under the OS temp dir, keyed by the size and mtime of
 * the data files (about 1-2 minutes on a 2-core machine the first time). Built under a temporary
 * name and renamed, so an interrupted build is never reused.
 */
export async function devStoreDir(): Promise<string> {
  const key = [files.hpo, files.phenopackets].map((f) => { const s = statSync(f); return `${s.size}-${Math.round(s.mtimeMs)}`; }).join('-');
  const dir = join(tmpdir(), `harmonia-cohort-dev-store-${key}`);
  if (existsSync(join(dir, 'harmonia-store.json'))) return dir;
  const building = `${dir}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(building, { recursive: true });
  const store = await OxigraphStore.open(building, { create: true, write: true });
  try {
    await ensureOntology(store, loadOntology(files.hpo));
    await ingestPhenopackets(store, [files.phenopackets]);
  } finally {
    store.close();
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(building, dir);
  return dir;
}
