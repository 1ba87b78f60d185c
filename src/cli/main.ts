import { Command, CommanderError } from 'commander';
import { softwareName } from './util.js';
import { register as cohort } from './commands/cohort.js';
import { register as combat } from './commands/combat.js';
import { register as demo } from './commands/demo.js';
import { register as dump } from './commands/dump.js';
import { register as features } from './commands/features.js';
import { register as harmonize } from './commands/harmonize.js';
import { register as ingest } from './commands/ingest.js';
import { register as learn } from './commands/learn.js';
import { register as mirror } from './commands/mirror.js';
import { register as query } from './commands/query.js';
import { register as quarantine } from './commands/quarantine.js';
import { register as retrieve } from './commands/retrieve.js';
import { register as serve } from './commands/serve.js';
import { register as stats } from './commands/stats.js';
import { register as stratify } from './commands/stratify.js';
import { register as validate } from './commands/validate.js';
import { register as simulateLinks } from './commands/simulate.js';
import { register as evalEmbeddings } from './commands/eval-embeddings.js';

// `harmonia ... | head` closes the pipe early: end quietly, as Unix tools do.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const program = new Command('harmonia')
  .description('Harmonia: patient data integrated into an HPO-aligned knowledge graph, served over SPARQL')
  .version(softwareName().replace(/^harmonia /, ''))
  .showHelpAfterError('(run `harmonia --help` for usage)')
  .exitOverride();

for (const register of [ingest, quarantine, query, serve, dump, validate, stats, demo, cohort, retrieve, features, harmonize, combat, learn, mirror, stratify, simulateLinks, evalEmbeddings]) register(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Commander has already printed its message (or the help); keep its exit code.
    process.exit(e.exitCode);
  }
  process.stderr.write(`harmonia: ${(e as Error).message.split('\n')[0]}\n`);
  if (process.env.HARMONIA_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
}
