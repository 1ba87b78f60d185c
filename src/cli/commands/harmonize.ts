import type { Command } from 'commander';
import { loadHarmonizationConfig } from '../../harmonize/dispatch.js';
import { correctSites, ingestRecords } from '../../ingest/index.js';
import { MODALITIES, readManifest, type Modality } from '../../sources/index.js';
import { isRemoteLocation, openStore } from '../../store/index.js';
import { arraysLocation, CliError, progressLine, resolveDataDir, softwareName } from '../util.js';
import { recordProgressText } from './ingest.js';

export function register(program: Command): void {
  program
    .command('harmonize')
    .description('harmonize records with a versioned config: re-harmonize manifests, then ComBat across sites on the stored features')
    .requiredOption('--store <dir|url>', 'store directory, or sparql+http(s)://host/path for a remote SPARQL store')
    .option('--config <file>', 'harmonisation settings (JSON or YAML; docs/harmonization.md); default: the documented defaults')
    .option('--manifest <file...>', 'records to (re)harmonize with this config first (unchanged records with unchanged settings are skipped)')
    .option('--modality <m...>', `site correction only for these modalities (default: the config's combat.modalities)`)
    .option('--arrays <dir>', 'with a remote store and --manifest: where harmonized arrays (.npy) are written')
    .option('--json', 'print the reports as JSON')
    .action(async (opts) => {
      const software = softwareName();
      const config = loadHarmonizationConfig(opts.config, resolveDataDir() ?? process.cwd());
      const modalities: Modality[] = opts.modality ?? config.combat.modalities;
      for (const m of modalities) if (!(MODALITIES as readonly string[]).includes(m)) throw new CliError(`--modality ${m}: expected one of ${MODALITIES.join(', ')}`);
      const manifests = (opts.manifest ?? []).map((f: string) => readManifest(f));
      const store = await openStore(opts.store, { write: true });
      try {
        const out: Record<string, unknown> = {};
        if (manifests.length) {
          const progress = progressLine();
          const started = Date.now();
          out.records = await ingestRecords(store, manifests.flatMap((m: ReturnType<typeof readManifest>) => m.entries), manifests.flatMap((m: ReturnType<typeof readManifest>) => m.problems), {
            config, ...arraysLocation(opts.store, isRemoteLocation(opts.store), opts.arrays), software, onProgress: (p) => progress.update(recordProgressText(p, started)),
          });
          progress.done();
        }
        const reports = [];
        for (const m of modalities) reports.push(await correctSites(store, m, config.combat, software));
        out.siteCorrection = reports;
        if (opts.json) process.stdout.write(JSON.stringify(out) + '\n');
        else {
          for (const r of reports) {
            const sites = Object.entries(r.sites).map(([s, n]) => `${s} ${n}`).join(', ');
            process.stdout.write(`${r.modality}: ${r.records ? `ComBat (${r.method}${r.covariates.length ? `, keeping ${r.covariates.join(', ')}` : ''}) on ${r.features} features of ${r.records} records (${sites}) in ${r.ms} ms` : 'not corrected'}${r.skipped.length ? `; ${r.skipped.join('; ')}` : ''}\n`);
          }
        }
      } finally {
        await store.close();
      }
    });
}
