import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Command } from 'commander';
import {
  combat, combatApply, estimatesFromJson, estimatesToJson, type CombatEstimates, type CovariateColumn,
} from '../../harmonize/combat.js';
import { InputError } from '../../model/errors.js';
import { readExpressionMatrix, readSampleTable, writeExpressionMatrix, type SampleTable } from '../../sources/expression.js';
import { CliError, bar, progressLine } from '../util.js';

// `harmonia combat`: sva::ComBat on a features x samples matrix, standalone. With --fit-out the fitted
// estimates are saved; with --apply saved estimates correct new samples of the same batches.

export interface CombatCommandOptions {
  matrix: string;
  samples: string;
  batch: string;
  out: string;
  covariates?: string;
  categorical?: string;
  meanOnly?: boolean;
  nonparametric?: boolean;
  refBatch?: string;
  fitOut?: string;
  apply?: string;
  ignoreCovariates?: boolean;
  json?: boolean;
}

export interface CombatSummary {
  features: number;
  samples: number;
  batches: Record<string, number>;
  method: 'parametric' | 'nonparametric' | 'none';
  meanOnly: boolean;
  refBatch: string | null;
  covariates: string[];
  unadjusted: number;
  applied: boolean;
  seconds: number;
  out: string;
  fitOut: string | null;
  notes: string[];
}

export function register(program: Command): void {
  program
    .command('combat')
    .description('ComBat batch correction (as sva::ComBat) of a features x samples matrix (TSV, CSV or GCT; gzip in and out)')
    .requiredOption('--matrix <file>', 'features x samples matrix: header of sample ids, first column the feature id')
    .requiredOption('--samples <file>', 'sample table (TSV, or CSV by extension), header required; its first column is the sample id')
    .requiredOption('--batch <column>', 'column of the sample table holding the batch (site)')
    .requiredOption('--out <file>', 'adjusted matrix, TSV (gzip when it ends in .gz)')
    .option('--covariates <columns>', 'comma-separated columns to preserve (numbers when every value is one, else categories)')
    .option('--categorical <columns>', 'covariate columns to treat as categories even when they hold numbers')
    .option('--mean-only', 'adjust the batch means only (sva mean.only)')
    .option('--nonparametric', 'non-parametric empirical Bayes priors (sva par.prior = FALSE); slow on many features')
    .option('--ref-batch <batch>', 'leave this batch unchanged and move the others onto it (sva ref.batch)')
    .option('--fit-out <file>', 'save the fitted estimates as JSON (gzip when it ends in .gz), for --apply later')
    .option('--apply <file>', 'apply estimates saved with --fit-out to new samples of the same batches (no refit)')
    .option('--ignore-covariates', 'with --apply: the fit had covariates but the new samples have none (neuroCombatFromTraining style)')
    .option('--json', 'print the summary as JSON')
    .action(async (opts: CombatCommandOptions) => {
      const summary = await runCombat(opts, (line) => process.stderr.write(line));
      if (opts.json) process.stdout.write(JSON.stringify(summary) + '\n');
      else {
        const b = Object.entries(summary.batches).map(([k, v]) => `${k}:${v}`).join(' ');
        process.stdout.write(`${summary.applied ? 'applied' : 'fitted'} ComBat (${summary.method}${summary.meanOnly ? ', mean only' : ''}${summary.refBatch !== null ? `, reference batch ${summary.refBatch}` : ''}) to ${summary.features} features x ${summary.samples} samples; batches ${b}; ${summary.unadjusted} features left unchanged; ${summary.seconds} s -> ${summary.out}\n`);
      }
    });
}

const list = (s?: string): string[] => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);

/** Runs the command; `log` receives notes (one line each). Throws CliError / InputError on bad input. */
export async function runCombat(opts: CombatCommandOptions, log: (line: string) => void = () => {}): Promise<CombatSummary> {
  const t0 = performance.now();
  if (opts.apply && (opts.covariates || opts.categorical || opts.meanOnly || opts.nonparametric || opts.refBatch !== undefined)) {
    throw new CliError('--apply uses the settings of the saved fit: leave out --covariates, --categorical, --mean-only, --nonparametric and --ref-batch');
  }
  if (opts.ignoreCovariates && !opts.apply) throw new CliError('--ignore-covariates only goes with --apply');
  const progress = progressLine();
  progress.update(`reading ${opts.matrix}`);
  const matrix = readExpressionMatrix(opts.matrix);
  const table = readSampleTable(opts.samples);
  const column = (name: string): string[] => sampleColumn(table, name, matrix.sampleIds, opts.matrix);
  const batch = column(opts.batch);
  const notes: string[] = [];
  const note = (s: string) => {
    notes.push(s);
    log(`harmonia combat: ${s}\n`);
  };

  let data: Float64Array;
  let estimates: CombatEstimates;
  if (opts.apply) {
    estimates = readEstimates(opts.apply);
    const known = new Set(estimates.batches);
    batch.forEach((b, s) => {
      if (!known.has(b)) throw new InputError(`batch ${b} of sample ${matrix.sampleIds[s]} was not in the fit (batches ${estimates.batches.join(', ')}): ComBat can only correct batches it has seen`, opts.samples, matrix.sampleIds[s], opts.batch);
    });
    const covariates = estimates.covariates.map((c) => ({ name: c.name, values: column(c.name), categorical: c.kind === 'categorical' }));
    progress.update('applying the saved fit');
    data = combatApply(estimates, matrix, batch, { covariates: covariates.length && !opts.ignoreCovariates ? covariates : undefined, ignoreCovariates: opts.ignoreCovariates, featureIds: matrix.featureIds }).data;
  } else {
    checkBatchSizes(batch, opts);
    const forced = new Set(list(opts.categorical));
    const names = list(opts.covariates);
    for (const name of forced) if (!names.includes(name)) throw new CliError(`--categorical ${name} is not one of --covariates`);
    const covariates: CovariateColumn[] = names.map((name) => covariateColumn(name, column(name), forced.has(name)));
    const started = performance.now();
    const r = combat(matrix, batch, {
      covariates,
      meanOnly: opts.meanOnly,
      nonparametric: opts.nonparametric,
      refBatch: opts.refBatch,
      featureIds: matrix.featureIds,
      onProgress: (done, total) => {
        const s = (performance.now() - started) / 1000;
        progress.update(`non-parametric ComBat ${bar(done / total)} ${done}/${total} features x batches, ${s > 0 ? Math.round(done / s) : 0}/s`);
      },
    });
    for (const m of r.messages) note(m);
    data = r.data;
    estimates = r.estimates;
  }
  progress.update(`writing ${opts.out}`);
  writeExpressionMatrix(opts.out, { featureHeader: matrix.featureHeader, featureIds: matrix.featureIds, sampleIds: matrix.sampleIds, data });
  if (opts.fitOut && !opts.apply) writeEstimates(opts.fitOut, estimates);
  progress.done();
  const sizes: Record<string, number> = {};
  for (const b of batch) sizes[b] = (sizes[b] ?? 0) + 1;
  return {
    features: matrix.features,
    samples: matrix.samples,
    batches: sizes,
    method: estimates.method,
    meanOnly: estimates.meanOnly,
    refBatch: estimates.refBatch,
    covariates: estimates.covariates.map((c) => c.name),
    unadjusted: estimates.unadjusted.length,
    applied: Boolean(opts.apply),
    seconds: Math.round((performance.now() - t0) / 10) / 100,
    out: opts.out,
    fitOut: opts.fitOut && !opts.apply ? opts.fitOut : null,
    notes,
  };
}

/** One column of the sample table, in the order of the matrix's sample columns. */
export function sampleColumn(table: SampleTable, name: string, sampleIds: readonly string[], matrixFile: string): string[] {
  const c = table.columns.indexOf(name);
  if (c < 0) throw new InputError(`no column ${name} (columns: ${table.columns.join(', ')})`, table.file, 'header', name);
  return sampleIds.map((id) => {
    const row = table.rows.get(id);
    if (!row) throw new InputError(`sample ${id} of ${matrixFile} is not in the sample table (matched by its first column, ${table.columns[0]})`, table.file, id, table.columns[0]);
    const v = row[c].trim();
    if (v === '' || v === 'NA') throw new InputError(`sample ${id} has no value`, table.file, id, name);
    return v;
  });
}

function covariateColumn(name: string, values: string[], categorical: boolean): CovariateColumn {
  const numeric = !categorical && values.every((v) => Number.isFinite(Number(v)));
  return { name, values: numeric ? values.map(Number) : values, categorical: !numeric };
}

function checkBatchSizes(batch: string[], opts: CombatCommandOptions): void {
  const sizes = new Map<string, number>();
  for (const b of batch) sizes.set(b, (sizes.get(b) ?? 0) + 1);
  if (sizes.size < 2) throw new InputError(`ComBat needs at least two batches; column ${opts.batch} has one (${[...sizes.keys()].join(', ')})`, opts.samples, undefined, opts.batch);
  const single = [...sizes].filter(([, n]) => n === 1).map(([b]) => b);
  if (single.length && !opts.meanOnly) {
    throw new InputError(`batch ${single.join(', ')} has only one sample: its variance cannot be estimated; use --mean-only (what sva switches to) or merge it with another batch`, opts.samples, undefined, opts.batch);
  }
}

function readEstimates(file: string): CombatEstimates {
  let text: string;
  try {
    const bytes = readFileSync(file);
    text = (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');
  } catch (e) {
    throw new InputError(`cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(`not JSON (${(e as Error).message})`, file);
  }
  return estimatesFromJson(json, file);
}

function writeEstimates(file: string, e: CombatEstimates): void {
  const bytes = Buffer.from(JSON.stringify(estimatesToJson(e)) + '\n');
  writeFileSync(file, file.toLowerCase().endsWith('.gz') ? gzipSync(bytes) : bytes);
}
