import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { parse as csvParse } from 'csv-parse/sync';
import { combat, type CombatOptions, type Matrix } from '../src/harmonize/combat.js';
import { parseExpressionMatrix, readExpressionMatrix, readSampleTable, type ExpressionMatrix } from '../src/sources/expression.js';
import { peakRssMiB, round } from './util.js';

// ComBat on bladderbatch (22,283 probes x 57 arrays, 5 batches) beside sva::ComBat's timings, and the
// expression reader beside csv-parse reading the same file in the same run.
// The R timings are those recorded in ../shared/data/README.md (sva 3.46.0, R 4.2.2, the same 2-core
// machine, measured once when the reference outputs were made): an anchor, not a run of this benchmark.

const R_SECONDS = { parametric: 5.0, meanOnly: 2.5, refBatch: 2.0, noCovariates: 2.9, nonparametric1000: 21.2 };

interface Row { measure: string; value: string; anchor: string; ratio: string }

/**
 * Wall-clock and CPU time (user + system) of repeated runs, p50 of each. On a shared machine the wall
 * time includes waiting for a core; the CPU time is the work itself (the code is single-threaded).
 */
function timeWallCpu(runs: number, fn: () => unknown): { wall: number; cpu: number } {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    fn();
    wall.push(performance.now() - t);
    const d = process.cpuUsage(c);
    cpu.push((d.user + d.system) / 1000);
  }
  const p50 = (v: number[]) => v.sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)];
  return { wall: round(p50(wall), 0), cpu: round(p50(cpu), 0) };
}

function maxRelativeError(out: Float64Array, ref: ExpressionMatrix): number {
  let max = 0;
  for (let i = 0; i < ref.data.length; i++) max = Math.max(max, Math.abs(out[i] - ref.data[i]) / Math.abs(ref.data[i]));
  return max;
}

export function benchCombat(dataDir: string, log: (s: string) => void = () => {}) {
  const dir = join(dataDir, 'expression', 'bladderbatch');
  const file = join(dir, 'expression.tsv.gz');
  const gz = readFileSync(file);
  const raw = gunzipSync(gz);
  const rows: Row[] = [];
  const notes: string[] = [];

  // Reader: gunzip + parse, and parse alone, against csv-parse (+ Number()) on the decompressed text.
  readExpressionMatrix(file);
  const read = timeWallCpu(5, () => readExpressionMatrix(file));
  const parseOnly = timeWallCpu(5, () => parseExpressionMatrix(raw, file));
  const text = raw.toString('utf8');
  const anchor = timeWallCpu(3, () => {
    const records = csvParse(text, { delimiter: '\t', relax_quotes: true }) as string[][];
    const values = new Float64Array((records.length - 1) * (records[0].length - 1));
    let k = 0;
    for (let r = 1; r < records.length; r++) for (let c = 1; c < records[r].length; c++) values[k++] = Number(records[r][c]);
    return values;
  });
  const mb = raw.length / 1e6;
  const rate = (t: { wall: number; cpu: number }) => `${t.wall} ms wall (${t.cpu} ms CPU), ${round(mb / (t.wall / 1000), 0)} MB/s`;
  rows.push({ measure: `read expression.tsv.gz (${round(gz.length / 1e6, 1)} MB gzip, ${round(mb, 1)} MB of text; gunzip + parse), p50`, value: rate(read), anchor: '', ratio: '' });
  rows.push({ measure: 'parse the decompressed text, p50', value: rate(parseOnly), anchor: `csv-parse + Number(): ${rate(anchor)}`, ratio: `${round(anchor.wall / parseOnly.wall, 1)}x faster` });
  log(`reader: ${JSON.stringify({ read, parseOnly, anchor })}\n`);

  const m = readExpressionMatrix(file);
  const table = readSampleTable(join(dir, 'samples.tsv'));
  const col = (name: string) => m.sampleIds.map((id) => table.rows.get(id)![table.columns.indexOf(name)]);
  const batch = col('batch');
  const mod: CombatOptions = { covariates: [{ name: 'cancer', values: col('cancer') }] };
  const first1000: Matrix = { data: m.data.subarray(0, 1000 * m.samples), features: 1000, samples: m.samples };
  const runs: [string, Matrix, CombatOptions, number, string][] = [
    ['ComBat parametric, mod = ~cancer, 22,283 probes', m, mod, R_SECONDS.parametric, 'sva-combat-parametric.tsv.gz'],
    ['ComBat mean-only, 22,283 probes', m, { ...mod, meanOnly: true }, R_SECONDS.meanOnly, 'sva-combat-mean-only.first2000.tsv.gz'],
    ['ComBat reference batch 1, 22,283 probes', m, { ...mod, refBatch: 1 }, R_SECONDS.refBatch, 'sva-combat-ref-batch-1.first2000.tsv.gz'],
    ['ComBat no covariates, 22,283 probes', m, {}, R_SECONDS.noCovariates, 'sva-combat-no-covariates.first2000.tsv.gz'],
    ['ComBat non-parametric, mod = ~cancer, first 1,000 probes', first1000, { ...mod, nonparametric: true }, R_SECONDS.nonparametric1000, 'sva-combat-nonparametric.first1000-input.tsv.gz'],
  ];
  for (const [measure, matrix, options, rSeconds, reference] of runs) {
    combat(matrix, batch, options);
    const t = timeWallCpu(5, () => combat(matrix, batch, options));
    const ref = readExpressionMatrix(join(dir, reference));
    const err = maxRelativeError(combat(matrix, batch, options).data.subarray(0, ref.data.length), ref);
    rows.push({ measure: `${measure}, p50`, value: `${t.wall} ms wall (${t.cpu} ms CPU); max relative error vs sva ${err.toExponential(1)}`, anchor: `sva::ComBat ${rSeconds} s elapsed (README)`, ratio: `${round((rSeconds * 1000) / t.wall, 0)}x faster (wall)` });
    log(`${measure}: ${JSON.stringify(t)} max rel err ${err}\n`);
  }
  // The non-parametric search compares every feature with every other: time grows with features^2.
  const first4000: Matrix = { data: m.data.subarray(0, 4000 * m.samples), features: 4000, samples: m.samples };
  const t4000 = timeWallCpu(1, () => combat(first4000, batch, { ...mod, nonparametric: true }));
  rows.push({ measure: 'ComBat non-parametric, mod = ~cancer, first 4,000 probes (one run)', value: `${t4000.wall} ms wall (${t4000.cpu} ms CPU)`, anchor: `sva at 16x the 1,000-probe work: ~${round(R_SECONDS.nonparametric1000 * 16, 0)} s (extrapolated)`, ratio: '' });
  notes.push('R timings are the ones recorded in shared/data/README.md when make-reference.R made the sva outputs (sva 3.46.0, R 4.2.2, same 2-core machine): an anchor from another run, not measured here.');
  notes.push('Times are p50 of 5 runs (reader anchor: 3) after a warm-up run, wall clock and CPU (user + system) time; on a shared machine the wall time includes waiting for a core; the reader anchor is csv-parse (the CSV parser in node_modules) plus Number() on every cell, on the same decompressed text, in the same process.');
  notes.push('Max relative error: against the sva output files (10 significant digits, so about 5e-10 is the floor).');
  return { title: 'Expression: reader and ComBat (bladderbatch)', rows, peakRssMiB: peakRssMiB(), notes };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const dir = resolve(process.argv[2] ?? process.env.HARMONIA_DATA ?? '../shared/data');
  try {
    process.stdout.write(JSON.stringify(benchCombat(dir, (s) => process.stderr.write(s)), null, 2) + '\n');
  } catch (e) {
    process.stderr.write(`bench/combat: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
