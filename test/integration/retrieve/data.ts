import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Real data lives outside the repository: HARMONIA_DATA, default ../shared/data from the repo root.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const DATA = resolve(ROOT, process.env.HARMONIA_DATA ?? '../shared/data');

export const files = {
  hpo: join(DATA, 'ontologies', 'hp.v2024-04-26.json.gz'),
  hpoa: join(DATA, 'annotations', 'phenotype.hpoa.gz'),
  hpoaCurrent: join(DATA, 'genomics', 'exomiser', 'phenotype_test.hpoa'),
  genes: join(DATA, 'annotations', 'genes_to_phenotype.txt.gz'),
  phenopackets: join(DATA, 'phenopackets', 'phenopacket-store-dev.zip'),
  mmeSchema: join(DATA, 'specs', 'mme-api.schema.json'),
};

export const haveData = Object.values(files).every((f) => existsSync(f));
if (!haveData) console.warn(`retrieval integration tests skipped: real data not found under ${DATA} (set HARMONIA_DATA)`);

/** `describe` when the data is there, `describe.skip` (with the warning above) when not. */
export const describeWithData = haveData ? describe : describe.skip;
