import { join } from 'node:path';
import { ensureOntology, ingestPhenopackets } from '../../src/ingest/index.js';
import { loadOntology } from '../../src/ontology/index.js';
import { OxigraphStore } from '../../src/store/index.js';
import { fixtures, miniHpo } from './paths.js';

/** A store with the mini ontology and the two fixture patients, written under `dir`. */
export async function fixtureStore(dir: string): Promise<OxigraphStore> {
  const store = await OxigraphStore.open(join(dir, 'store'), { create: true, write: true });
  await ensureOntology(store, loadOntology(miniHpo));
  await ingestPhenopackets(store, [join(fixtures, 'phenopackets')]);
  return store;
}
