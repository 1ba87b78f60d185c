import type { Command } from 'commander';
import { openStore, type QuarantineEntry } from '../../store/index.js';
import { CliError } from '../util.js';

export function register(program: Command): void {
  program
    .command('quarantine')
    .description('list the records a store rejected: file, entry or line, id, stage and every reason (fix them, then `ingest --retry-quarantine`)')
    .requiredOption('--store <dir|url>', 'store directory, or sparql+http(s)://host/path for a remote SPARQL store')
    .option('--json', 'print one JSON array of entries (without the kept records unless --records)')
    .option('--records', 'with --json: include the record JSON each entry kept')
    .option('--limit <n>', 'at most this many entries (default: all)')
    .action(async (opts) => {
      const limit = opts.limit === undefined ? Infinity : Number(opts.limit);
      if (opts.limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) throw new CliError(`--limit ${opts.limit}: expected a whole number of entries`);
      const store = await openStore(opts.store);
      try {
        const all = await store.quarantine();
        const shown = all.slice(0, limit);
        if (opts.json) {
          process.stdout.write(JSON.stringify(shown.map((e) => (opts.records ? e : withoutRecord(e)))) + '\n');
          return;
        }
        for (const e of shown) process.stdout.write(formatEntry(e) + '\n');
        const more = all.length > shown.length ? ` (${all.length - shown.length} more not shown)` : '';
        process.stdout.write(`${all.length} rejected record${all.length === 1 ? '' : 's'} in the quarantine${more}\n`);
      } finally {
        await store.close();
      }
    });
}

function withoutRecord(e: QuarantineEntry): Omit<QuarantineEntry, 'record'> {
  const { record: _record, ...rest } = e;
  return rest;
}

/** `file!entry:line (id) [stage] path: message; path: message` */
export function formatEntry(e: QuarantineEntry): string {
  const where = e.file + (e.entry ? `!${e.entry}` : '') + (e.line ? `:${e.line}` : '');
  const reasons = e.reasons.map((r) => (r.path ? `${r.path}: ` : '') + r.message).join('; ');
  return `${where}${e.id ? ` (${e.id})` : ''} [${e.stage}] ${reasons}`;
}
