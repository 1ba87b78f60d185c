import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { realStoreDir } from '../../helpers/real-store.js';

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
 * The dev phenopackets ingested once and shared with the other integration tests (test/helpers/real-store.ts:
 * keyed by the data files and the code that shapes the graph, built under a temporary name and renamed).
 */
export function devStoreDir(): Promise<string> {
  return realStoreDir(DATA);
}
