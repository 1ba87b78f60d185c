import type { Command } from 'commander';
import { HX } from '../../model/index.js';
import { recordCounts } from '../../query/index.js';
import { MODALITIES } from '../../sources/index.js';
import { openStore, type GraphStore } from '../../store/index.js';

export function register(program: Command): void {
  program
    .command('stats')
    .description('counts of a store: patients, rejected records, phenotype assertions, triples, HPO version')
    .requiredOption('--store <dir|url>', 'store directory, or sparql+http(s)://host/path for a remote SPARQL store')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const store = await openStore(opts.store);
      try {
        const s = await storeStats(store);
        if (opts.json) process.stdout.write(JSON.stringify(s) + '\n');
        else for (const [k, v] of Object.entries(s)) process.stdout.write(`${k.padEnd(22)} ${typeof v === 'object' ? Object.entries(v).map(([m, n]) => `${m} ${n}`).join(', ') : v}\n`);
      } finally {
        await store.close();
      }
    });
}

export async function storeStats(store: GraphStore): Promise<Record<string, number | string | Record<string, number>>> {
  const count = async (where: string): Promise<number> => Number((await store.select(`SELECT (COUNT(*) AS ?n) WHERE { ${where} }`))[0]?.n ?? 0);
  const observed = await count(`?p <${HX}hasPhenotype> ?c`);
  const excluded = await count(`?p <${HX}excludedPhenotype> ?c`);
  return {
    patients: await count(`?p a <${HX}Patient>`),
    rejected: (await store.quarantine()).length,
    phenotypeAssertions: observed + excluded,
    observedPhenotypes: observed,
    excludedPhenotypes: excluded,
    diseases: await count(`SELECT DISTINCT ?d WHERE { ?p <${HX}hasDisease> ?d }`),
    genes: await count(`SELECT DISTINCT ?g WHERE { ?p <${HX}hasGene> ?g }`),
    termNotes: await count(`?i a <${HX}DataIssue>`),
    triples: await store.size(),
    hpoVersion: (await store.meta()).hpoVersion ?? 'none',
    records: await recordCounts(store, MODALITIES),
  };
}
