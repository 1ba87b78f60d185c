import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadHarmonizationConfig } from '../../harmonize/dispatch.js';
import {
  DEFAULT_INGEST_LIMITS, ensureOntology, ingestMapping, ingestPhenopackets, ingestRecords, retryQuarantine,
  type IngestLimits, type IngestProgress, type IngestSummary, type RecordIngestProgress, type RecordIngestSummary, type RetrySummary,
} from '../../ingest/index.js';
import { loadOntology } from '../../ontology/index.js';
import { ARRAYS_DIR, isRemoteLocation, openStore, type GraphStore, type StatisticsRefresh } from '../../store/index.js';
import { countDocuments, isBidsRoot, readBids, readManifest, type EntryProblem, type RecordEntry } from '../../sources/index.js';
import { arraysLocation, bar, CliError, progressLine, resolveDataDir, softwareName } from '../util.js';

export function register(program: Command): void {
  program
    .command('ingest')
    .description('ingest phenopackets (.json, folders, .zip, .jsonl) or a YARRRML-mapped export into a store')
    .requiredOption('--store <dir|url>', 'store directory (created when missing), or sparql+http(s)://host/path for a remote SPARQL store')
    .option('--hpo <file>', 'HPO release (hp.json, hp.json.gz, hp.obo, hp.obo.gz); required on the first ingest')
    .option('--sssom <file...>', 'SSSOM mapping files adding UMLS CUIs to HPO terms')
    .option('--mapping <file>', 'a YARRRML mapping (see docs/mappings.md) instead of phenopackets')
    .option('--source <name=path...>', 'with --mapping: point a source of the mapping at another file')
    .option('--manifest <file...>', 'records of other modalities: a TSV/CSV with columns patient, modality, path[, site, label, sample]')
    .option('--config <file>', 'harmonisation settings (JSON or YAML; see docs/harmonization.md); default: the documented defaults')
    .option('--arrays <dir>', 'with a remote store (required there when records are ingested): where harmonized arrays (.npy) are written')
    .option('--batch <n>', 'patients per atomic commit', '1000')
    .option('--statistics <when>', "recompute a remote server's query-planning statistics after the ingest (Virtuoso): auto (when the ingest grew the store by a tenth or more), always or never", 'auto')
    .option('--json', 'print the summary as JSON')
    .option('--strict', `exit with status ${STRICT_EXIT} when any record is rejected (the others are still stored)`)
    .option('--retry-quarantine', 'read the quarantined phenopackets again (from their files, or from the kept record JSON when a file is gone) and take the fixed ones back')
    .option('--absolute-paths', 'store provenance paths (hx:sourceFile) as absolute paths instead of relative to the folder or file given (readers of the graph then see where the data lives)')
    .option('--max-depth <n>', 'deepest nesting of arrays and objects in one record', String(DEFAULT_INGEST_LIMITS.maxDepth))
    .option('--max-string <size>', 'longest string in a record (e.g. 1M)', '1M')
    .option('--max-record <size>', 'largest record: one file, zip entry or JSON Lines line (e.g. 16M)', '16M')
    .option('--max-entry <size>', 'largest zip entry once inflated (e.g. 64M)', '64M')
    .argument('[sources...]', 'phenopacket files, folders, zips or JSON Lines files; BIDS dataset folders')
    .action(async (positional: string[], opts) => {
      const limits = parseLimits(opts);
      if (!['auto', 'always', 'never'].includes(opts.statistics)) throw new CliError(`--statistics ${opts.statistics}: expected auto, always or never`);
      // `--manifest records.tsv my-bids-dataset/`: the variadic option takes the folder after it too;
      // a manifest is a file, so a folder there is a source like the others.
      const manifests: string[] = (opts.manifest ?? []).filter((m: string) => !isDir(m));
      const given = [...positional, ...(opts.manifest ?? []).filter(isDir)];
      const bids = given.filter((s) => isDir(s) && isBidsRoot(s));
      const sources = given.filter((s) => !bids.includes(s));
      if (!opts.mapping && sources.length === 0 && !opts.hpo && manifests.length === 0 && bids.length === 0 && !opts.retryQuarantine) throw new CliError('nothing to ingest: give phenopacket sources, --manifest, a BIDS folder, --mapping, --hpo or --retry-quarantine');
      // Every file and setting is checked before the store is opened.
      if (opts.config) loadHarmonizationConfig(opts.config);
      const records = gatherRecords(manifests, bids);
      if (manifests.length || bids.length) arraysLocation(opts.store, isRemoteLocation(opts.store), opts.arrays);
      const store = await openStore(opts.store, { create: true, write: true });
      try {
        if (opts.hpo) {
          const ontology = loadOntology(opts.hpo, { sssom: opts.sssom });
          if (await ensureOntology(store, ontology)) process.stderr.write(`loaded HPO ${ontology.version} (${ontology.size} terms)\n`);
        }
        const progress = progressLine();
        let summary: IngestSummary | undefined;
        let retried: RetrySummary | undefined;
        if (opts.retryQuarantine) {
          const started = Date.now();
          retried = await retryQuarantine(store, { batchSize: Number(opts.batch), limits, absolutePaths: opts.absolutePaths === true, onProgress: (p) => progress.update(progressText(p, undefined, started)) });
          progress.done();
        }
        if (opts.mapping) {
          const overrides = Object.fromEntries((opts.source ?? []).map((s: string) => {
            const i = s.indexOf('=');
            if (i <= 0) throw new CliError(`--source ${s}: expected name=path`);
            return [s.slice(0, i), s.slice(i + 1)];
          }));
          summary = await ingestMapping(store, opts.mapping, { sources: overrides });
        } else if (sources.length) {
          const total = process.stderr.isTTY ? await countDocuments(sources) : undefined;
          const started = Date.now();
          const fromPhenopackets: RecordEntry[] = [];
          summary = await ingestPhenopackets(store, sources, {
            batchSize: Number(opts.batch),
            limits,
            absolutePaths: opts.absolutePaths === true,
            recordFiles: fromPhenopackets,
            onProgress: (p) => progress.update(progressText(p, total, started)),
          });
          // Files a phenopacket points at are records of its patient when they are here; elsewhere they stay references.
          const present = fromPhenopackets.filter((e) => existsSync(e.path));
          if (present.length < fromPhenopackets.length) process.stderr.write(`${fromPhenopackets.length - present.length} files named in phenopackets are not on this machine: kept as references only\n`);
          records.entries.push(...present);
        }
        progress.done();
        const config = records.entries.length || records.problems.length ? loadHarmonizationConfig(opts.config, resolveDataDir() ?? process.cwd()) : undefined;
        let recordSummary: RecordIngestSummary | undefined;
        if (config && (records.entries.length || records.problems.length)) {
          const started = Date.now();
          recordSummary = await ingestRecords(store, records.entries, records.problems, {
            config, ...arraysLocation(opts.store, isRemoteLocation(opts.store), opts.arrays), software: softwareName(), absolutePaths: opts.absolutePaths === true,
            onProgress: (p) => progress.update(recordProgressText(p, started)),
          });
          progress.done();
        }
        if (opts.mapping && !(await store.ontology())) {
          // Mapped rows are stored, but phenotype hierarchy queries, cohorts and similarity need HPO.
          process.stderr.write(`this store has no HPO yet: add it with \`harmonia ingest --store ${opts.store} --hpo FILE\` (hp.json, hp.json.gz, hp.obo or hp.obo.gz); the mapped patients stay as they are\n`);
        }
        const statistics = await refreshStatistics(store, summary, opts.statistics);
        const rejected = (retried?.rejected ?? 0) + (summary?.rejected ?? 0) + (recordSummary?.rejected ?? 0);
        const read = (retried?.read ?? 0) + (summary?.read ?? 0) + (recordSummary?.read ?? 0);
        if (opts.json) {
          const out = { ...(summary ?? {}), ...(recordSummary ? { records: recordSummary } : {}), ...(retried ? { retried } : {}), ...(statistics ? { statistics } : {}) };
          process.stdout.write(JSON.stringify(out) + '\n');
        } else {
          if (retried) printRetry(retried);
          if (summary) printSummary(summary);
          if (recordSummary) printRecordSummary(recordSummary);
          // The last line always says whether anything was rejected.
          process.stdout.write(rejected ? `${rejected} of ${read} records rejected: see \`harmonia quarantine --store ${opts.store}\`\n` : `${read} records read, none rejected\n`);
        }
        if (opts.strict && rejected) {
          process.stderr.write(`harmonia: --strict: ${rejected} records rejected (exit status ${STRICT_EXIT})\n`);
          process.exitCode = STRICT_EXIT;
        }
      } finally {
        await store.close();
      }
    });
}

/**
 * After an ingest that grew the store by a tenth or more (`--statistics auto`), a server that plans
 * from statistics it does not keep up to date (Virtuoso) has them recomputed, or the user is told how;
 * smaller ingests leave the plans good enough and skip the cost (seconds per million triples).
 * `always` recomputes them after any ingest, `never` leaves them to the server's operator.
 */
async function refreshStatistics(store: GraphStore, summary: IngestSummary | undefined, when: 'auto' | 'always' | 'never'): Promise<StatisticsRefresh | undefined> {
  if (!store.refreshStatistics || when === 'never') return undefined;
  if (when === 'auto' && (!summary || summary.triplesAdded === 0 || summary.triplesAdded < 0.1 * summary.storeTriples)) return undefined;
  const r = await store.refreshStatistics();
  if (!r) return undefined;
  if (r.refreshed) process.stderr.write(`${r.engine}: query statistics recomputed after this ingest (${r.seconds} s); cohort queries need them (docs/stores.md)${r.reason ? `; but ${r.reason}` : ''}\n`);
  else process.stderr.write(`note: ${r.engine}'s query statistics are out of date after this ingest, which makes cohort queries 5-30x slower, and this user may not recompute them (${r.reason}); as dba in isql run DB.DBA.SYS_STAT_ANALYZE ('DB.DBA.RDF_QUAD', 0, 0); checkpoint; (without the checkpoint a restart can leave Virtuoso failing every query with SQ156) or let Harmonia write as a user allowed to (docs/stores.md)\n`);
  return r;
}

/** The exit status of an ingest with `--strict` that rejected records (1 is any other error). */
export const STRICT_EXIT = 3;

/** `65536`, `64k`, `16M`, `1G` (powers of 1024) into bytes; anything else is a clear error. */
export function parseSize(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgG]?)i?[bB]?$/.exec(String(text).trim());
  const n = m ? Math.floor(Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase())) : NaN;
  if (!(n > 0) || !Number.isSafeInteger(n)) throw new CliError(`${option} ${text}: expected a size such as 65536, 64k, 16M or 1G`);
  return n;
}

function parseLimits(opts: { maxDepth: string; maxString: string; maxRecord: string; maxEntry: string }): IngestLimits {
  const depth = Number(opts.maxDepth);
  if (!Number.isInteger(depth) || depth < 4 || depth > 10_000) throw new CliError(`--max-depth ${opts.maxDepth}: expected a whole number from 4 to 10000`);
  return { maxDepth: depth, maxStringLength: parseSize(opts.maxString, '--max-string'), maxRecordBytes: parseSize(opts.maxRecord, '--max-record'), maxEntryBytes: parseSize(opts.maxEntry, '--max-entry') };
}

function printRetry(r: RetrySummary): void {
  const out = process.stdout;
  const q = r.retry;
  out.write(`retried ${q.entries} quarantined phenopackets: ${q.fromFiles} re-read from their files, ${q.fromStored} from the record kept in the quarantine (file gone); ${r.accepted} taken back, ${r.unchanged} already stored, ${r.rejected} still rejected\n`);
  for (const m of q.missing.slice(0, 20)) out.write(`  not retried: ${m.file}${m.entry ? '!' + m.entry : ''}${m.line ? ':' + m.line : ''}${m.id ? ` (${m.id})` : ''}: ${m.why}\n`);
  if (q.missing.length > 20) out.write(`  ... and ${q.missing.length - 20} more not retried\n`);
  if (q.otherKinds) out.write(`  ${q.otherKinds} quarantined rows of mappings or manifests: re-run that ingest (--mapping / --manifest) to retry them\n`);
  for (const x of r.rejections.filter((x) => x.stage !== 'note').slice(0, 50)) out.write(`  ${x.stage === 'duplicate' ? 'note' : 'still rejected'}: ${x.file}${x.entry ? '!' + x.entry : ''}${x.line ? ':' + x.line : ''}${x.id ? ` (${x.id})` : ''}: ${x.reason}\n`);
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Manifest rows and BIDS files as records; a manifest or dataset that cannot be read at all stops here, before the store opens. */
function gatherRecords(manifests: string[], bids: string[]): { entries: RecordEntry[]; problems: EntryProblem[] } {
  const entries: RecordEntry[] = [];
  const problems: EntryProblem[] = [];
  for (const m of manifests) {
    try {
      const r = readManifest(m);
      entries.push(...r.entries);
      problems.push(...r.problems);
    } catch (e) {
      throw new CliError((e as Error).message);
    }
  }
  for (const root of bids) {
    const r = readBids(root);
    entries.push(...r.entries);
    problems.push(...r.problems);
  }
  return { entries, problems };
}

/** `[####----]  12%  3/25 records  4.1 MB/s  accepted 3  unchanged 0  rejected 0` */
export function recordProgressText(p: RecordIngestProgress, started: number): string {
  const seconds = Math.max(0.001, (Date.now() - started) / 1000);
  const f = p.total ? p.read / p.total : 0;
  const eta = p.read ? Math.round(((p.total - p.read) * seconds) / p.read) : 0;
  return `${bar(f)} ${String(Math.floor(f * 100)).padStart(3)}%  ${p.read}/${p.total} records  ${(p.bytes / 1e6 / seconds).toFixed(1)} MB/s  ETA ${eta} s  accepted ${p.accepted}  unchanged ${p.unchanged}  rejected ${p.rejected}`;
}

function printRecordSummary(s: RecordIngestSummary): void {
  const out = process.stdout;
  const kinds = Object.entries(s.records).map(([m, n]) => `${m} ${n}`).join(', ');
  out.write(`read ${s.read} records of other modalities: ${s.accepted} accepted${kinds ? ` (${kinds})` : ''}, ${s.unchanged} unchanged, ${s.rejected} rejected; ${s.patientsCreated} new patients; ${(s.bytes / 1e6).toFixed(1)} MB in ${s.seconds} s\n`);
  for (const r of s.rejections.slice(0, 50)) out.write(`  rejected: ${r.file}${r.line ? `:${r.line}` : ''}${r.patient ? ` (${r.patient})` : ''}: ${r.reason}\n`);
  if (s.rejections.length > 50) out.write(`  ... and ${s.rejections.length - 50} more (see the quarantine in \`harmonia stats --json\`)\n`);
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
    out.write(`  ${r.stage === 'duplicate' || r.stage === 'files' || r.stage === 'note' ? 'note' : 'rejected'}: ${r.file}${r.entry ? '!' + r.entry : ''}${r.line ? ':' + r.line : ''}${r.id ? ` (${r.id})` : ''}: ${r.reason}\n`);
  }
  if (s.rejections.length > 50) out.write(`  ... and ${s.rejections.length - 50} more (see \`harmonia quarantine --store DIR\`)\n`);
}
