import type { Command } from 'commander';
import { recordFeatures } from '../../query/index.js';
import { MODALITIES } from '../../sources/index.js';
import { openStore } from '../../store/index.js';
import { CliError } from '../util.js';

export function register(program: Command): void {
  program
    .command('features')
    .description('print the harmonized features and acquisition parameters of every record of a modality')
    .requiredOption('--store <dir|url>', 'store directory, or sparql+http(s)://host/path for a remote SPARQL store')
    .requiredOption('--modality <m>', `one of ${MODALITIES.join(', ')}`)
    .option('--json', 'one JSON line per record (the default; a table is not offered: features differ per record)')
    .action(async (opts) => {
      if (!(MODALITIES as readonly string[]).includes(opts.modality)) throw new CliError(`--modality ${opts.modality}: expected one of ${MODALITIES.join(', ')}`);
      const store = await openStore(opts.store);
      try {
        for (const r of await recordFeatures(store, opts.modality)) process.stdout.write(JSON.stringify(r) + '\n');
      } finally {
        await store.close();
      }
    });
}
