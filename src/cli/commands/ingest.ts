import type { Command } from 'commander';
import { ensureOntology, ingestMapping, ingestPhenopackets, type IngestProgress, type IngestSummary } from '../../ingest/index.js';
import { loadOntology } from '../../ontology/index.js';
import { openStore } from '../../store/index.js';
import { countDocuments } from '../../sources/index.js';
import { bar, CliError, progressLine } from '../util.js';

export function register(program: Command): void {
  program
    .command('ingest')
    .description('ingest phenopackets (.json, folders, .zip, .jsonl) or a YARRRML-mapped export into a store')
    .requiredOption('--store <dir|url>', 'store directory (created when missing), or sparql+http(s)://host/path for a remote SPARQL store')
    .option('--hpo <file>', 'HPO release (hp.json, hp.json.gz, hp.obo, hp.obo.gz); required on the first ingest')
    .option('--sssom <file...>', 'SSSOM mapping files adding UMLS CUIs to HPO terms')
    .option('--mapping <file>', 'a YARRRML mapping (see docs/mappings.md) instead of phenopackets')
    .option('--source <name=path...>', 'with --mapping: point a source of the mapping at another file')
    .option('--batch <n>', 'patients per atomic commit', '1000')
    .option('--json', 'print the summary as JSON')
    .argument('[sources...]', 'phenopacket files, folders, zips or JSON Lines files')
    .action(async (sources: string[], opts) => {
      if (!opts.mapping && sources.length === 0 && !opts.hpo) throw new CliError('nothing to ingest: give phenopacket sources, --mapping or --hpo');
      const store = await openStore(opts.store, { create: true, write: true });
      try {
        if (opts.hpo) {
          const ontology = loadOntology(opts.hpo, { sssom: opts.sssom });
          if (await ensureOntology(store, ontology)) process.stderr.write(`loaded HPO ${ontology.version} (${ontology.size} terms)\n`);
        }
        const progress = progressLine();
        let summary: IngestSummary;
        if (opts.mapping) {
          const overrides = Object.fromEntries((opts.source ?? []).map((s: string) => {
            const i = s.indexOf('=');
            if (i <= 0) throw new CliError(`--source ${s}: expected name=path`);
            return [s.slice(0, i), s.slice(i + 1)];
          }));
          summary = await ingestMapping(store, opts.mapping, { sources: overrides });
        } else {
          const total = process.stderr.isTTY ? await countDocuments(sources) : undefined;
          const started = Date.now();
          summary = await ingestPhenopackets(store, sources, {
            batchSize: Number(opts.batch),
            onProgress: (p) => progress.update(progressText(p, total, started)),
          });
        }
        progress.done();
        if (opts.json) process.stdout.write(JSON.stringify(summary) + '\n');
        else printSummary(summary);
      } finally {
        await store.close();
      }
    });
}

/** `[#########---------------]  37%  2741/7405  212/s  accepted 2741  unchanged 0  rejected 0` */
export function progressText(p: IngestProgress, total: number | undefined, started: number): string {
  const rate = Math.round(p.read / Math.max(0.001, (Date.now() - started) / 1000));
  const counts = `accepted ${p.accepted}  unchanged ${p.unchanged}  rejected ${p.rejected}`;
  if (!total) return `read ${p.read}  ${rate}/s  ${counts}`;
  const f = p.read / total;
  return `${bar(f)} ${String(Math.floor(f * 100)).padStart(3)}%  ${p.read}/${total}  ${rate}/s  ${counts}`;
}

function printSummary(s: IngestSummary): void {
  const out = process.stdout;
  out.write(`read ${s.read} records: ${s.accepted} accepted (${s.replaced} replaced), ${s.unchanged} unchanged, ${s.rejected} rejected\n`);
  out.write(`${s.triplesAdded} triples written, ${s.storeTriples} in the store, ${s.termIssues} term notes, ${s.seconds} s\n`);
  for (const r of s.rejections.slice(0, 50)) {
    out.write(`  ${r.stage === 'duplicate' ? 'replaced' : 'rejected'}: ${r.file}${r.entry ? '!' + r.entry : ''}${r.line ? ':' + r.line : ''}${r.id ? ` (${r.id})` : ''}: ${r.reason}\n`);
  }
  if (s.rejections.length > 50) out.write(`  ... and ${s.rejections.length - 50} more (see \`harmonia stats --store DIR --json\` and the quarantine)\n`);
}
