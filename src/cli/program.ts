import { Command } from 'commander';
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

/**
 * The `harmonia` command with every subcommand registered, not yet parsed: main.ts runs it, and the
 * documentation test (test/integration/docs) reads its options to check the synopses in the docs.
 */
export function buildProgram(): Command {
  const program = new Command('harmonia')
    .description('Harmonia: patient data integrated into an HPO-aligned knowledge graph, served over SPARQL')
    .version(softwareName().replace(/^harmonia /, ''))
    .showHelpAfterError('(run `harmonia --help` for usage)')
    .exitOverride();
  for (const register of [ingest, quarantine, query, serve, dump, validate, stats, demo, cohort, retrieve, features, harmonize, combat, learn, mirror, stratify, simulateLinks, evalEmbeddings]) register(program);
  return program;
}
