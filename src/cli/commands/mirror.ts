import type { Command } from 'commander';
import { DEFAULT_BATCH, connectNeo4j, checkNeo4jUri, mirrorStore, type MirrorSummary } from '../../mirror/index.js';
import { openStore } from '../../store/index.js';
import { CliError, progressLine } from '../util.js';

export function register(program: Command): void {
  const mirror = program.command('mirror').description('mirror the graph into another kind of database');
  mirror
    .command('neo4j')
    .description('write the store as a Neo4j property graph (incremental; user and password from NEO4J_USER / NEO4J_PASSWORD)')
    .requiredOption('--store <dir|url>', 'store directory, or sparql+http(s)://host/path for a remote SPARQL store')
    .requiredOption('--uri <uri>', 'Neo4j Bolt URI, e.g. bolt://127.0.0.1:7687 (no credentials in it)')
    .option('--database <name>', 'Neo4j database (default: the server default)')
    .option('--batch <n>', `patients or records per transaction and rows per UNWIND (default ${DEFAULT_BATCH})`)
    .option('--full', 'send everything again, ignoring the watermark')
    .option('--embedding-model <name>', 'the embedding model to mirror when the store holds several')
    .option('--json', 'print the summary as JSON')
    .action(async (opts) => {
      const batch = opts.batch === undefined ? DEFAULT_BATCH : Number(opts.batch);
      if (!Number.isInteger(batch) || batch < 1 || batch > 100_000) throw new CliError(`--batch ${opts.batch}: expected an integer from 1 to 100000`);
      if (opts.database !== undefined && !/^[A-Za-z][A-Za-z0-9.-]{0,62}$/.test(opts.database)) throw new CliError(`--database ${opts.database}: not a Neo4j database name`);
      try {
        checkNeo4jUri(opts.uri);
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      const store = await openStore(opts.store);
      try {
        const neo = await connectNeo4j(opts.uri, { database: opts.database });
        const progress = progressLine();
        try {
          const summary = await mirrorStore(store, neo, {
            batch, full: opts.full === true, embeddingModel: opts.embeddingModel,
            onProgress: (p) => progress.update(`mirror: ${p.stage} ${p.done}/${p.total}`),
          });
          progress.done();
          process.stdout.write(opts.json ? JSON.stringify(summary) + '\n' : describe(summary, opts.uri));
        } finally {
          await neo.close();
        }
      } finally {
        await store.close();
      }
    });
}

function describe(s: MirrorSummary, uri: string): string {
  if (s.upToDate) return `${uri}: already up to date (the store has not changed since the last mirror)\n`;
  const units = (name: string, c: MirrorSummary['patients']): string => `${name}: ${c.inStore} in the store, ${c.sent} sent, ${c.unchanged} unchanged, ${c.deleted} deleted`;
  const indexes = Object.entries(s.vectorIndexes).map(([l, d]) => `${l} (${d} dimensions)`).join(', ');
  return [
    `${uri}: mirrored in ${s.seconds.toFixed(1)} s (${s.statements} statements, ${s.rows} rows)`,
    `  HPO terms: ${s.ontology.terms}${s.ontology.sent ? ' sent' : ' unchanged'}`,
    `  ${units('patients', s.patients)}`,
    `  ${units('records', s.records)}`,
    ...(indexes ? [`  vector indexes: ${indexes}`] : []),
  ].join('\n') + '\n';
}
