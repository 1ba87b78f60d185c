import type { Command } from 'commander';
// Only the configuration module is loaded up front: TensorFlow.js is imported when a command runs,
// so other harmonia commands do not pay for it.
import { BACKENDS, formatSeconds, loadConfig, PRESETS, type LearnConfig } from '../../learn/config.js';
import { isRemoteLocation } from '../../store/index.js';
import { bar, CliError, progressLine, softwareName } from '../util.js';

const STORE = 'store directory (embedded store: models and arrays live in it)';

function localStore(store: string): string {
  if (isRemoteLocation(store)) throw new CliError(`${store}: train, embed and classify need an embedded store directory (models and harmonized arrays are files in it)`);
  return store;
}

function parseSeed(text: string | undefined): number {
  if (text === undefined) return 1;
  if (!/^\d+$/.test(text)) throw new CliError(`--seed ${text}: expected a non-negative integer`);
  return Number(text);
}

function chooseConfig(opts: { config?: string; preset?: string }): LearnConfig {
  if (opts.config && opts.preset) throw new CliError('give either --config FILE or --preset quick|full, not both');
  if (opts.config) return loadConfig(opts.config);
  if (!opts.preset) throw new CliError('give --config FILE or --preset quick|full');
  const preset = PRESETS[opts.preset as keyof typeof PRESETS];
  if (!preset) throw new CliError(`--preset ${opts.preset}: expected quick or full`);
  return preset;
}

export function register(program: Command): void {
  program
    .command('train')
    .description('train the ontology-aligned encoders (phenotype sets, ECG, EEG, MRI and 3D volumes, OCT) on a store; checkpoints and a model card in DIR/arrays/models/<version>/')
    .requiredOption('--store <dir>', STORE)
    .option('--config <file>', 'training configuration (JSON or YAML; see docs/learning.md)')
    .option('--preset <name>', 'quick (within 20 minutes on 2 cores) or full')
    .option('--backend <name>', `one of ${BACKENDS.join(', ')} (default: the first available, in that order)`)
    .option('--seed <n>', 'seed for weights, batches and splits (default 1)')
    .option('--resume', 'continue the same configuration and seed from its last checkpoint')
    .action(async (opts) => {
      const config = chooseConfig(opts);
      const line = progressLine();
      const { train } = await import('../../learn/index.js');
      const card = await train({
        storeDir: localStore(opts.store),
        config,
        seed: parseSeed(opts.seed),
        backend: opts.backend,
        resume: opts.resume === true,
        software: softwareName(),
        log: (l) => {
          line.done();
          process.stderr.write(l + '\n');
        },
        onProgress: (p) =>
          line.update(
            `epoch ${p.epoch}/${p.epochs} ${bar(p.step / p.stepsPerEpoch)} ${p.step}/${p.stepsPerEpoch} ` +
              Object.entries(p.losses).map(([k, v]) => `${k} ${v}`).join(' ') +
              ` | ${p.stepsPerSecond.toFixed(2)} steps/s | ETA ${formatSeconds(p.etaSeconds)}`,
          ),
      });
      line.done();
      process.stdout.write(JSON.stringify({ version: card.version, backend: card.backend.name, bestEpoch: card.metrics.bestEpoch, validation: card.metrics.validation, test: card.metrics.test, seconds: card.time.seconds, stoppedBy: card.time.stoppedBy }) + '\n');
    });

  program
    .command('embed')
    .description('embed every patient, record and HPO term with a trained model: usearch indexes in DIR/models/<version>/ and hx:Embedding nodes in the graph')
    .requiredOption('--store <dir>', STORE)
    .option('--model <version>', 'model version (default: the last trained)')
    .option('--backend <name>', `one of ${BACKENDS.join(', ')}`)
    .option('--json', 'print the summary as JSON (the default)')
    .action(async (opts) => {
      const { embedStore } = await import('../../learn/index.js');
      const summary = await embedStore({ storeDir: localStore(opts.store), version: opts.model, backend: opts.backend });
      process.stdout.write(JSON.stringify(summary) + '\n');
    });

  program
    .command('classify')
    .description('zero-shot scores: cosine similarity of every record of a modality to an HPO term, from the stored embeddings')
    .requiredOption('--store <dir>', STORE)
    .requiredOption('--modality <m>', 'a record modality the model encodes: ecg, eeg, mri or oct')
    .requiredOption('--term <HP:x>', 'the HPO term, e.g. HP:0005110 (atrial fibrillation)')
    .option('--model <version>', 'model version (default: the last trained)')
    .option('--json', 'one JSON line per record: {"record", "patient", "score"} (the default)')
    .action(async (opts) => {
      if (!/^HP:\d{7}$/.test(opts.term)) throw new CliError(`--term ${opts.term}: expected an HPO id such as HP:0005110`);
      const { classifyRecords } = await import('../../learn/index.js');
      const rows = await classifyRecords({ storeDir: localStore(opts.store), modality: opts.modality, term: opts.term, version: opts.model });
      for (const r of rows) process.stdout.write(JSON.stringify(r) + '\n');
    });
}
