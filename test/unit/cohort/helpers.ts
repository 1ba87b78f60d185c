import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureOntology, ingestPhenopackets } from '../../../src/ingest/index.js';
import { loadOntology, type Ontology } from '../../../src/ontology/index.js';
import { OxigraphStore } from '../../../src/store/index.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'cohort');

export function tinyOntology(): Ontology {
  return loadOntology(join(FIXTURES, 'tiny.obo'));
}

/** A fresh store with the tiny HPO and the five fixture patients (P-A..P-E, see patients.jsonl). */
export async function tinyStore(): Promise<{ dir: string; store: OxigraphStore; ontology: Ontology; cleanup(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'harmonia-cohort-unit-'));
  const store = await OxigraphStore.open(dir, { create: true, write: true });
  await ensureOntology(store, tinyOntology());
  const summary = await ingestPhenopackets(store, [join(FIXTURES, 'patients.jsonl')]);
  if (summary.accepted !== 5) throw new Error(`fixture ingest: ${JSON.stringify(summary.rejections)}`);
  return {
    dir, store, ontology: (await store.ontology())!,
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A definition with one criterion (and optional concept sets), for short tests. */
export function def(criteria: unknown, conceptSets?: unknown[]): Record<string, unknown> {
  return { name: 'test', ...(conceptSets ? { conceptSets } : {}), criteria };
}
