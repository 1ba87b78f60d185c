import type { Command } from 'commander';
import { isRemoteLocation } from '../../store/index.js';
import { CliError } from '../util.js';

// `harmonia stratify`: k-means clusters of a model's patient embeddings, each characterised with the
// cohort statistics. The learn module is imported when the command runs.

function parseK(text: string): number | 'auto' {
  if (text === 'auto') return 'auto';
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new CliError(`--k ${text}: expected a positive integer or auto`);
  return Number(text);
}

function count(text: string, flag: string): number {
  if (!/^\d+$/.test(text)) throw new CliError(`${flag} ${text}: expected a non-negative integer`);
  return Number(text);
}

export function register(program: Command): void {
  program
    .command('stratify')
    .description('cluster the patients by their embeddings (k-means) and characterise each cluster (terms enriched, sex, age, genes, diseases)')
    .requiredOption('--store <dir>', 'store directory (embedded store; run harmonia train and embed first)')
    .requiredOption('--k <k|auto>', 'number of clusters, or auto: the k from 2 to 12 with the best silhouette')
    .option('--model <version>', 'model version (default: the last trained)')
    .option('--seed <n>', 'seed of k-means++ and of the silhouette sample', '1')
    .option('--members <n>', 'patient ids listed per cluster', '100')
    .option('--limit <n>', 'entries per characterisation list (terms, genes, diseases)', '10')
    .option('--json', 'print one JSON object')
    .action(async (opts) => {
      if (isRemoteLocation(opts.store)) throw new CliError(`${opts.store}: stratify needs an embedded store directory (the model is a file in it)`);
      const k = parseK(opts.k);
      const { stratify } = await import('../../learn/stratify.js');
      const r = await stratify({ storeDir: opts.store, k, version: opts.model, seed: count(opts.seed, '--seed'), members: count(opts.members, '--members'), limit: count(opts.limit, '--limit') });
      if (opts.json) return void process.stdout.write(JSON.stringify(r) + '\n');
      process.stdout.write(`${r.patients} patients of model ${r.model}: k ${r.k}, silhouette ${r.silhouette} (over ${r.silhouetteSample})\n`);
      for (const c of r.clusters) {
        const terms = (c.characterisation.enrichedTerms.length ? c.characterisation.enrichedTerms : c.characterisation.topTerms).slice(0, 5);
        process.stdout.write(`  cluster ${c.id}: ${c.size} patients; ${c.characterisation.enrichedTerms.length ? 'enriched' : 'top'}: ${terms.map((t) => `${t.label ?? t.id} (${Math.round(t.fraction * 100)}%)`).join(', ') || 'none'}\n`);
      }
    });
}
