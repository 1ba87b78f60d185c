import type { Command } from 'commander';
import { isRemoteLocation } from '../../store/index.js';
import { CliError, phasedProgress } from '../util.js';

// `harmonia eval embeddings`: a subcommand of the `eval` group that src/cli/commands/retrieve.ts
// creates (register this after it); classification, retrieval, separation and plots of embedded models.

export function register(program: Command): void {
  const group = program.commands.find((c) => c.name() === 'eval') ?? program.command('eval').description('evaluate retrieval, disease ranking or embeddings');
  group
    .command('embeddings')
    .description('evaluate embedded models on their test split: zero-shot AUROC/F1/calibration per (modality, finding), publication-grouped Recall@K and MRR against the classical default, hybrid and single-modality baselines, zero-shot disease ranking, site vs disease separation; PNG plots; saved as arrays/models/<version>/evaluation.json for the web interface')
    .requiredOption('--store <dir>', 'embedded store directory (models live in it)')
    .option('--model <version>', 'model version (default: the last trained)')
    .option('--models <v1,v2,...>', 'several model versions side by side (ablations)')
    .option('--plots <dir>', 'write PNG plots there (ROC, reliability, 2D maps by disease and site, HPO vs embedding distance)')
    .option('--annotations <file>', 'phenotype.hpoa: information content of the classical similarity from disease annotations, and zero-shot disease ranking of test patients (diseases seen and never seen in training apart)')
    .option('--json', 'print the evaluation as JSON (the default)')
    .action(async (opts) => {
      if (isRemoteLocation(opts.store)) throw new CliError(`${opts.store}: eval embeddings needs an embedded store directory (models are files in it)`);
      if (opts.model && opts.models) throw new CliError('give --model VERSION or --models V1,V2,..., not both');
      const versions = opts.models ? (opts.models as string).split(',').map((v) => v.trim()).filter(Boolean) : opts.model ? [opts.model as string] : [];
      if (opts.models && !versions.length) throw new CliError('--models: expected comma-separated model versions');
      const { evaluateEmbeddings } = await import('../../learn/evaluate.js');
      // One line per phase on a terminal; the version named only when several are evaluated.
      const progress = phasedProgress('eval embeddings');
      const result = await evaluateEmbeddings({
        storeDir: opts.store, versions, plotsDir: opts.plots, annotations: opts.annotations,
        log: (l) => {
          progress.done();
          process.stderr.write(l + '\n');
        },
        onProgress: (phase, done, total, version) => progress.report(done, total, versions.length > 1 ? `${version} ${phase}` : phase),
      }).finally(() => progress.done());
      process.stdout.write(JSON.stringify(result) + '\n');
      // Beside each model, for the web interface's evaluation page (with the ROC curve points).
      const { saveEvaluations } = await import('../evaluation-file.js');
      for (const f of await saveEvaluations(opts.store, result, (l) => process.stderr.write(l + '\n'))) process.stderr.write(`eval embeddings: saved ${f}\n`);
    });
}
