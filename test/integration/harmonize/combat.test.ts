import { join } from 'node:path';
import { combat, combatApply, combatFit, type CombatOptions, type Matrix } from '../../../src/harmonize/combat.js';
import { readExpressionMatrix, readSampleTable, type ExpressionMatrix } from '../../../src/sources/expression.js';
import { dataDir } from '../../helpers/paths.js';

// bladderbatch (22,283 probes x 57 arrays, 5 batches) against the outputs of Bioconductor sva::ComBat
// 3.46.0 made by ../shared/data/expression/bladderbatch/make-reference.R: mod = model.matrix(~as.factor(cancer))
// unless said otherwise; the mean-only, reference-batch and no-covariates references are the first 2,000
// probes of runs on all probes; the non-parametric reference is a run on the first 1,000 input probes.
// sva wrote its outputs with signif(x, 10), so agreement is bounded by about 5e-10 relative.

const data = dataDir();
const describeReal = data ? describe : describe.skip;
if (!data) console.warn('integration tests skipped: no data directory (set HARMONIA_DATA or provide ../shared/data)');

function relativeError(out: Float64Array, ref: ExpressionMatrix): { max: number; mean: number } {
  let max = 0;
  let sum = 0;
  for (let i = 0; i < ref.data.length; i++) {
    const r = Math.abs(out[i] - ref.data[i]) / Math.abs(ref.data[i]);
    if (r > max) max = r;
    sum += r;
  }
  return { max, mean: sum / ref.data.length };
}

describeReal('ComBat reproduces sva::ComBat on bladderbatch', () => {
  const dir = join(data ?? '', 'expression', 'bladderbatch');
  let m: ExpressionMatrix;
  let batch: string[];
  let cancer: string[];
  let mod: CombatOptions;
  beforeAll(() => {
    m = readExpressionMatrix(join(dir, 'expression.tsv.gz'));
    const table = readSampleTable(join(dir, 'samples.tsv'));
    const col = (name: string) => m.sampleIds.map((id) => table.rows.get(id)![table.columns.indexOf(name)]);
    batch = col('batch');
    cancer = col('cancer');
    mod = { covariates: [{ name: 'cancer', values: cancer }] };
  });

  test('the matrix reads as GEO/bladderbatch has it', () => {
    expect([m.features, m.samples]).toEqual([22283, 57]);
    expect(m.featureHeader).toBe('probe');
    expect(m.featureIds.slice(0, 2)).toEqual(['1007_s_at', '1053_at']);
    expect(m.featureIds.at(-1)).toBe('AFFX-TrpnX-M_at');
    expect(m.sampleIds[0]).toBe('GSM71019.CEL');
    expect(m.data[0]).toBe(10.115169888001);
    expect(m.data[57 + 1]).toBe(5.06359834357599);
    expect(m.acquisition).toMatchObject({ format: 'tsv', compressed: true, missingValues: 0, scale: 'log' });
    const sizes: Record<string, number> = {};
    for (const b of batch) sizes[b] = (sizes[b] ?? 0) + 1;
    expect(sizes).toEqual({ 1: 11, 2: 18, 3: 4, 4: 5, 5: 19 });
  });

  // (probes 0: all of them; a fourth value in every row, or jest takes the test for a done-callback one)
  const runs: [string, string, (o: CombatOptions) => CombatOptions, number][] = [
    ['parametric, mod = ~cancer', 'sva-combat-parametric.tsv.gz', (o) => o, 0],
    ['mean only', 'sva-combat-mean-only.first2000.tsv.gz', (o) => ({ ...o, meanOnly: true }), 0],
    ['reference batch 1', 'sva-combat-ref-batch-1.first2000.tsv.gz', (o) => ({ ...o, refBatch: 1 }), 0],
    ['no covariates', 'sva-combat-no-covariates.first2000.tsv.gz', () => ({}), 0],
    ['non-parametric (first 1,000 probes)', 'sva-combat-nonparametric.first1000-input.tsv.gz', (o) => ({ ...o, nonparametric: true }), 1000],
  ];
  test.each(runs)('%s: within 1e-6 relative error of sva', (name, file, options, probes) => {
    const ref = readExpressionMatrix(join(dir, file));
    expect(ref.sampleIds).toEqual(m.sampleIds);
    const input: Matrix = probes ? { data: m.data.subarray(0, probes * m.samples), features: probes, samples: m.samples } : m;
    const t = performance.now();
    const r = combat(input, batch, options(mod));
    const seconds = (performance.now() - t) / 1000;
    expect(ref.featureIds).toEqual(m.featureIds.slice(0, ref.features));
    const err = relativeError(r.data.subarray(0, ref.data.length), ref);
    console.log(`${name}: max relative error ${err.max.toExponential(2)}, mean ${err.mean.toExponential(2)}, ${seconds.toFixed(2)} s`);
    expect(err.max).toBeLessThan(1e-6);
    expect(err.mean).toBeLessThan(1e-8);
    expect(r.estimates.unadjusted).toEqual([]);
    // The reference batch is returned exactly.
    if (name.startsWith('reference')) batch.forEach((b, s) => b === '1' && expect(r.data[s]).toBe(m.data[s]));
  });

  test('fit on training arrays, apply to held-out arrays of the same batches', () => {
    // Every fourth array held out; the rest fit ComBat, whose estimates then correct the held-out ones.
    const test = m.sampleIds.map((_, s) => s).filter((s) => s % 4 === 1);
    const train = m.sampleIds.map((_, s) => s).filter((s) => s % 4 !== 1);
    const cols = (idx: number[]): Matrix => {
      const out = new Float64Array(m.features * idx.length);
      for (let g = 0; g < m.features; g++) idx.forEach((s, k) => (out[g * idx.length + k] = m.data[g * m.samples + s]));
      return { data: out, features: m.features, samples: idx.length };
    };
    const fit = combatFit(cols(train), train.map((s) => batch[s]), { covariates: [{ name: 'cancer', values: train.map((s) => cancer[s]) }] });
    const applied = combatApply(fit, cols(test), test.map((s) => batch[s]), { covariates: [{ name: 'cancer', values: test.map((s) => cancer[s]) }] }).data;
    // ComBat on all 57 arrays is the yardstick: the applied correction takes the held-out arrays most
    // of the way there (the distance left, relative to the whole correction, is printed beside the
    // same measure for the training arrays, whose fit differs from the all-array fit by 14 arrays).
    const full = combat(m, batch, mod).data;
    const fitted = combatApply(fit, cols(train), train.map((s) => batch[s]), { covariates: [{ name: 'cancer', values: train.map((s) => cancer[s]) }] }).data;
    const left = (idx: number[], out: Float64Array) => {
      let num = 0;
      let den = 0;
      idx.forEach((s, k) => {
        for (let g = 0; g < m.features; g++) {
          num += (out[g * idx.length + k] - full[g * m.samples + s]) ** 2;
          den += (m.data[g * m.samples + s] - full[g * m.samples + s]) ** 2;
        }
      });
      return Math.sqrt(num / den);
    };
    const held = left(test, applied);
    const own = left(train, fitted);
    console.log(`fit/apply: distance left to the all-array correction, relative to it: held-out arrays ${(held * 100).toFixed(1)}%, training arrays ${(own * 100).toFixed(1)}%`);
    expect(held).toBeLessThan(0.7);
    expect(own).toBeLessThan(held);
  });
});
