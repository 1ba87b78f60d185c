import type { Command } from 'commander';
import { HX } from '../../model/index.js';
import { OxigraphStore } from '../../store/index.js';

export function register(program: Command): void {
  program
    .command('stats')
    .description('counts of a store: patients, rejected records, phenotype assertions, triples, HPO version')
    .requiredOption('--store <dir>', 'store directory')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const store = await OxigraphStore.open(opts.store);
      try {
        const s = storeStats(store);
        if (opts.json) process.stdout.write(JSON.stringify(s) + '\n');
        else for (const [k, v] of Object.entries(s)) process.stdout.write(`${k.padEnd(22)} ${v}\n`);
      } finally {
        store.close();
      }
    });
}

export function storeStats(store: OxigraphStore): Record<string, number | string> {
  const count = (where: string): number => Number(store.select(`SELECT (COUNT(*) AS ?n) WHERE { ${where} }`)[0]?.n ?? 0);
  const observed = count(`?p <${HX}hasPhenotype> ?c`);
  const excluded = count(`?p <${HX}excludedPhenotype> ?c`);
  return {
    patients: count(`?p a <${HX}Patient>`),
    rejected: store.quarantine().length,
    phenotypeAssertions: observed + excluded,
    observedPhenotypes: observed,
    excludedPhenotypes: excluded,
    diseases: count(`SELECT DISTINCT ?d WHERE { ?p <${HX}hasDisease> ?d }`),
    genes: count(`SELECT DISTINCT ?g WHERE { ?p <${HX}hasGene> ?g }`),
    termNotes: count(`?i a <${HX}DataIssue>`),
    triples: store.size(),
    hpoVersion: store.meta().hpoVersion ?? 'none',
  };
}
