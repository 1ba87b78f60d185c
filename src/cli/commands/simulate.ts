import type { Command } from 'commander';
import { CliError } from '../util.js';

// `harmonia simulate-links`: the semi-synthetic cohort (docs/learning.md "Data: what is real, what is
// simulated"): records of a manifest linked to real phenopacket patients by their findings.

function positive(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new CliError(`${flag} ${text}: expected a non-negative integer`);
  return Number(text);
}

export function register(program: Command): void {
  program
    .command('simulate-links')
    .description('link the records of a manifest to phenopacket patients of the store by their findings (semi-synthetic cohort); writes the linked manifest and OUT.links.json')
    .requiredOption('--store <dir|url>', 'store with the phenopacket patients and the HPO')
    .requiredOption('--manifest <file>', 'record manifest (patient, modality, path, site, label): label = the record finding (HPO id) or empty')
    .requiredOption('--out <file>', 'the linked manifest to write (its patient column = the linked phenopacket patient)')
    .option('--seed <n>', 'seed of the assignment (default 1)')
    .option('--max-per-patient <n>', 'most record subjects of one modality linked to the same patient (default 1: no reuse)')
    .option('--cap', 'when too few patients qualify, link what can be linked and leave the rest out (reported) instead of refusing')
    .action(async (opts) => {
      const maxPerPatient = positive(opts.maxPerPatient, '--max-per-patient', 1);
      if (maxPerPatient < 1) throw new CliError('--max-per-patient 0: expected at least 1');
      const { simulateLinks } = await import('../../learn/simulate.js');
      const summary = await simulateLinks({ storeDir: opts.store, manifest: opts.manifest, out: opts.out, seed: positive(opts.seed, '--seed', 1), maxPerPatient, cap: opts.cap === true });
      for (const s of summary.shortages) process.stderr.write(`simulate-links: capped: ${s}\n`);
      process.stdout.write(JSON.stringify(summary) + '\n');
    });
}
