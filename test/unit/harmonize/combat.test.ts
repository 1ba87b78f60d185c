import {
  combat, combatApply, combatFit, combatStep, estimatesFromJson, estimatesToJson, sortLevels, type Matrix,
} from '../../../src/harmonize/combat.js';
import { checksum } from '../../../src/harmonize/provenance.js';

// Synthetic data with known batch effects: 40 features, batches a (4 samples), b (5), c (6), an
// additive and a multiplicative effect per batch and feature, and a two-level group covariate.
function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}
function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}
const BATCH = ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'b', 'c', 'c', 'c', 'c', 'c', 'c'];
const GROUP = ['x', 'y', 'x', 'y', 'x', 'y', 'x', 'y', 'x', 'y', 'x', 'y', 'x', 'y', 'y'];
function synthetic(features = 40, seed = 7): Matrix {
  const r = rng(seed);
  const n = BATCH.length;
  const data = new Float64Array(features * n);
  const shift = { a: 0, b: 1.5, c: -1 } as Record<string, number>;
  const scale = { a: 1, b: 2, c: 0.6 } as Record<string, number>;
  for (let g = 0; g < features; g++) {
    const base = 5 + 3 * r();
    const effect = { a: shift.a + 0.3 * normal(r), b: shift.b + 0.3 * normal(r), c: shift.c + 0.3 * normal(r) } as Record<string, number>;
    for (let s = 0; s < n; s++) data[g * n + s] = base + (GROUP[s] === 'y' ? 0.8 : 0) + effect[BATCH[s]] + scale[BATCH[s]] * 0.5 * normal(r);
  }
  return { data, features, samples: n };
}

const members = (label: string) => BATCH.flatMap((b, s) => (b === label ? [s] : []));
const row = (m: Matrix, g: number) => Array.from(m.data.subarray(g * m.samples, (g + 1) * m.samples));
const meanOf = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const varOf = (v: number[]) => { const m = meanOf(v); return v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1); };
const relClose = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol * Math.max(1e-12, Math.abs(b));

describe('ComBat (as sva::ComBat)', () => {
  const m = synthetic();

  test('standardisation: grand mean weighted by batch size, pooled variance with divisor n', () => {
    const { estimates: e } = combat(m, BATCH);
    expect(e.batches).toEqual(['a', 'b', 'c']);
    expect(e.batchSizes).toEqual([4, 5, 6]);
    for (const g of [0, 17, 39]) {
      const y = row(m, g);
      expect(relClose(e.grandMean[g], meanOf(y), 1e-12)).toBe(true);
      const resid = y.map((v, s) => v - meanOf(members(BATCH[s]).map((t) => y[t])));
      expect(relClose(e.varPooled[g], resid.reduce((a, b) => a + b * b, 0) / y.length, 1e-12)).toBe(true);
      const z = y.map((v) => (v - e.grandMean[g]) / Math.sqrt(e.varPooled[g]));
      ['a', 'b', 'c'].forEach((l, j) => {
        expect(relClose(e.gammaHat[j * m.features + g], meanOf(members(l).map((t) => z[t])), 1e-10)).toBe(true);
        expect(relClose(e.deltaHat[j * m.features + g], varOf(members(l).map((t) => z[t])), 1e-10)).toBe(true);
      });
    }
  });

  test('parametric: gamma* and delta* satisfy the posterior equations at convergence, and the data follow from them', () => {
    const { data, estimates: e } = combat(m, BATCH);
    const G = m.features;
    expect(e.method).toBe('parametric');
    expect(e.iterations.every((k) => k >= 1 && k < 1000)).toBe(true);
    ['a', 'b', 'c'].forEach((l, j) => {
      const gh = Array.from(e.gammaHat.subarray(j * G, (j + 1) * G));
      const dh = Array.from(e.deltaHat.subarray(j * G, (j + 1) * G));
      expect(relClose(e.gammaBar[j], meanOf(gh), 1e-12) && relClose(e.tau2[j], varOf(gh), 1e-12)).toBe(true);
      const dm = meanOf(dh);
      const dv = varOf(dh);
      expect(relClose(e.aPrior[j], (2 * dv + dm * dm) / dv, 1e-12) && relClose(e.bPrior[j], (dm * dv + dm ** 3) / dv, 1e-12)).toBe(true);
      const k = members(l).length;
      for (let g = 0; g < G; g++) {
        const gs = e.gammaStar[j * G + g];
        const ds = e.deltaStar[j * G + g];
        expect(relClose(gs, (e.tau2[j] * k * gh[g] + ds * e.gammaBar[j]) / (e.tau2[j] * k + ds), 1e-3)).toBe(true);
        const y = row(m, g);
        const z = members(l).map((t) => (y[t] - e.grandMean[g]) / Math.sqrt(e.varPooled[g]));
        const sum2 = z.reduce((a, v) => a + (v - gs) ** 2, 0);
        expect(relClose(ds, (0.5 * sum2 + e.bPrior[j]) / (k / 2 + e.aPrior[j] - 1), 1e-3)).toBe(true);
        for (const t of members(l)) {
          const sd = Math.sqrt(e.varPooled[g]);
          const expected = ((y[t] - e.grandMean[g]) / sd - gs) / Math.sqrt(ds) * sd + e.grandMean[g];
          expect(relClose(data[g * m.samples + t], expected, 1e-12)).toBe(true);
        }
      }
    });
  });

  test('the batch effect is gone: batch means of each feature come together', () => {
    const { data } = combat(m, BATCH);
    const spread = (d: Float64Array) => {
      let s = 0;
      for (let g = 0; g < m.features; g++) {
        const y = Array.from(d.subarray(g * m.samples, (g + 1) * m.samples));
        const means = ['a', 'b', 'c'].map((l) => meanOf(members(l).map((t) => y[t])));
        s += Math.max(...means) - Math.min(...means);
      }
      return s / m.features;
    };
    expect(spread(m.data)).toBeGreaterThan(2);
    expect(spread(data)).toBeLessThan(0.6 * spread(m.data) / 2);
  });

  test("non-parametric: sva's int.eprior, checked by its own product-of-densities formula", () => {
    const { estimates: e } = combat(m, BATCH, { nonparametric: true });
    expect(e.method).toBe('nonparametric');
    const G = m.features;
    for (const [j, l] of [[0, 'a'], [2, 'c']] as const) {
      for (const i of [0, 11, 39]) {
        const y = row(m, i);
        const x = members(l).map((t) => (y[t] - e.grandMean[i]) / Math.sqrt(e.varPooled[i]));
        let sw = 0, sg = 0, sd = 0;
        for (let k = 0; k < G; k++) {
          if (k === i) continue;
          const g = e.gammaHat[j * G + k];
          const d = e.deltaHat[j * G + k];
          const lh = x.reduce((p, v) => p * Math.exp(-((v - g) ** 2) / (2 * d)) / Math.sqrt(2 * Math.PI * d), 1);
          sw += lh; sg += g * lh; sd += d * lh;
        }
        expect(relClose(e.gammaStar[j * G + i], sg / sw, 1e-10)).toBe(true);
        expect(relClose(e.deltaStar[j * G + i], sd / sw, 1e-10)).toBe(true);
      }
    }
  });

  test('mean only: delta* = 1 and gamma* the normal posterior mean with n = 1, as sva', () => {
    const { estimates: e } = combat(m, BATCH, { meanOnly: true });
    expect(e.meanOnly).toBe(true);
    expect(Array.from(e.deltaStar).every((d) => d === 1)).toBe(true);
    const G = m.features;
    for (let j = 0; j < 3; j++) {
      for (const g of [0, 20]) expect(relClose(e.gammaStar[j * G + g], (e.tau2[j] * e.gammaHat[j * G + g] + e.gammaBar[j]) / (e.tau2[j] + 1), 1e-12)).toBe(true);
    }
  });

  test('reference batch: left unchanged, the others moved onto its mean and variance', () => {
    const { data, estimates: e } = combat(m, BATCH, { refBatch: 'b' });
    expect(e.refBatch).toBe('b');
    for (const t of members('b')) for (let g = 0; g < m.features; g++) expect(data[g * m.samples + t]).toBe(m.data[g * m.samples + t]);
    const G = m.features;
    expect(Array.from(e.gammaStar.subarray(G, 2 * G)).every((x) => x === 0)).toBe(true);
    expect(Array.from(e.deltaStar.subarray(G, 2 * G)).every((x) => x === 1)).toBe(true);
    for (const g of [3, 30]) {
      const yb = members('b').map((t) => m.data[g * m.samples + t]);
      expect(relClose(e.grandMean[g], meanOf(yb), 1e-12)).toBe(true);
      expect(relClose(e.varPooled[g], yb.reduce((a, v) => a + (v - meanOf(yb)) ** 2, 0) / yb.length, 1e-12)).toBe(true);
    }
    expect(() => combat(m, BATCH, { refBatch: 'z' })).toThrow(/reference batch z is not one of the batches \(a, b, c\)/);
  });

  test('covariates: coded like model.matrix(~as.factor(x)); results do not depend on level names or order', () => {
    const one = combat(m, BATCH, { covariates: [{ name: 'group', values: GROUP }] });
    expect(one.estimates.covariateColumns).toEqual(['group=y']);
    expect(one.estimates.covariates).toEqual([{ name: 'group', kind: 'categorical', levels: ['x', 'y'] }]);
    // Reverse the level order (so the baseline changes) and rename the batches.
    const flipped = combat(m, BATCH.map((b) => ({ a: 'z3', b: 'z1', c: 'z2' })[b]!), { covariates: [GROUP.map((g) => (g === 'x' ? 'q' : 'p'))] });
    one.data.forEach((v, i) => expect(Math.abs(v - flipped.data[i])).toBeLessThan(1e-9));
    // The same design given as a matrix, with an intercept column that is dropped as sva drops it.
    const design = { columns: ['(Intercept)', 'groupy'], data: Float64Array.from(GROUP.flatMap((g) => [1, g === 'y' ? 1 : 0])) };
    const viaDesign = combat(m, BATCH, { design });
    expect(viaDesign.estimates.covariateColumns).toEqual(['groupy']);
    one.data.forEach((v, i) => expect(Math.abs(v - viaDesign.data[i])).toBeLessThan(1e-9));
    // The group effect (0.8 by construction; 0.27 in the raw data, where batches hide it) is recovered,
    // better with the covariate than without.
    const effect = (d: Float64Array) => {
      let s = 0;
      for (let g = 0; g < m.features; g++) {
        const y = Array.from(d.subarray(g * m.samples, (g + 1) * m.samples));
        s += meanOf(y.filter((_, t) => GROUP[t] === 'y')) - meanOf(y.filter((_, t) => GROUP[t] === 'x'));
      }
      return s / m.features;
    };
    expect(Math.abs(effect(m.data) - 0.8)).toBeGreaterThan(0.4);
    expect(Math.abs(effect(one.data) - 0.8)).toBeLessThan(0.1);
    expect(Math.abs(effect(one.data) - 0.8)).toBeLessThan(Math.abs(effect(combat(m, BATCH).data) - 0.8));
  });

  test('numeric covariates are used as numbers', () => {
    const age = BATCH.map((_, s) => 20 + 3 * s);
    const r = combat(m, BATCH, { covariates: [{ name: 'age', values: age }] });
    expect(r.estimates.covariates).toEqual([{ name: 'age', kind: 'numeric' }]);
    expect(r.estimates.covariateColumns).toEqual(['age']);
    expect(r.estimates.covariateCoefficients.length).toBe(m.features);
  });

  test('features constant within a batch are returned unchanged and leave the others as if they were absent', () => {
    const withFlat = { ...m, data: Float64Array.from(m.data) };
    for (const t of members('c')) withFlat.data[5 * m.samples + t] = 4.25;
    const r = combat(withFlat, BATCH);
    expect(r.estimates.unadjusted).toEqual([5]);
    expect(r.messages.join()).toMatch(/1 features with uniform values within a batch/);
    expect(row({ ...m, data: r.data }, 5)).toEqual(row(withFlat, 5));
    const keep = Array.from({ length: m.features }, (_, g) => g).filter((g) => g !== 5);
    const without = combat({ data: Float64Array.from(keep.flatMap((g) => row(m, g))), features: keep.length, samples: m.samples }, BATCH);
    keep.forEach((g, i) => expect(row({ ...m, data: r.data }, g)).toEqual(row({ ...m, data: without.data }, i)));
  });

  test('a batch of one sample switches to mean only, as sva does', () => {
    const batch = [...BATCH];
    batch[14] = 'd';
    const r = combat(m, batch);
    expect(r.estimates.meanOnly).toBe(true);
    expect(r.messages.join()).toMatch(/only one sample: using the mean-only version/);
  });

  test('bad input: one batch, confounded covariates, missing values, wrong lengths', () => {
    expect(() => combat(m, BATCH.map(() => 'a'))).toThrow(/at least two batches; found 1/);
    expect(() => combat(m, BATCH, { covariates: [{ name: 'isC', values: BATCH.map((b) => (b === 'c' ? 1 : 0)) }] })).toThrow(/the covariate is confounded with batch/);
    expect(() => combat(m, BATCH, { covariates: [{ name: 'site', values: BATCH }] })).toThrow(/at least one covariate is confounded with batch/);
    expect(() => combat(m, BATCH, { covariates: [{ name: 'g1', values: GROUP }, { name: 'g2', values: GROUP }] })).toThrow(/covariates are confounded with each other/);
    expect(() => combat(m, BATCH, { covariates: [{ name: 'g', values: GROUP }, { name: 'isC', values: BATCH.map((b) => (b === 'c' ? 1 : 0)) }] })).toThrow(/at least one covariate is confounded with batch/);
    const nan = { ...m, data: Float64Array.from(m.data) };
    nan.data[3 * m.samples + 2] = NaN;
    expect(() => combat(nan, BATCH)).toThrow(/record feature 4, field sample 3: value NaN is not finite/);
    expect(() => combat(m, BATCH.slice(1))).toThrow(/14 batch labels for 15 samples/);
    expect(() => combat(m, BATCH, { covariates: [GROUP.slice(2)] })).toThrow(/covariate cov1 has 13 values for 15 samples/);
  });

  test('batch levels sort as R factors do: numerically when every label is a number', () => {
    expect(sortLevels(['10', '9', '2'])).toEqual(['2', '9', '10']);
    expect(sortLevels(['b', 'a', 'B'])).toEqual(['B', 'a', 'b']);
  });
});

describe('ComBat fit on training data, apply to new data', () => {
  const m = synthetic(30, 11);
  const covariates = [{ name: 'group', values: GROUP }];

  test('applying a fit to its own training data reproduces the fitted output exactly', () => {
    for (const options of [{ covariates }, { covariates, refBatch: 'c' }, { meanOnly: true }, { nonparametric: true, covariates }]) {
      const r = combat(m, BATCH, options);
      expect(Array.from(combatApply(r.estimates, m, BATCH, { covariates }).data)).toEqual(Array.from(r.data));
    }
  });

  test('new samples are corrected one by one with the training estimates; JSON round-trips them exactly', () => {
    const train = [0, 1, 2, 4, 5, 6, 7, 9, 10, 11, 12, 13];
    const test = [3, 8, 14];
    const cols = (idx: number[]): Matrix => ({ data: Float64Array.from({ length: m.features * idx.length }, (_, i) => m.data[Math.floor(i / idx.length) * m.samples + idx[i % idx.length]]), features: m.features, samples: idx.length });
    const fit = combatFit(cols(train), train.map((s) => BATCH[s]), { covariates: [{ name: 'group', values: train.map((s) => GROUP[s]) }] });
    const all = combatApply(fit, cols(test), test.map((s) => BATCH[s]), { covariates: [{ name: 'group', values: test.map((s) => GROUP[s]) }] }).data;
    const alone = combatApply(fit, cols([8]), ['b'], { covariates: [{ name: 'group', values: ['x'] }] }).data;
    for (let g = 0; g < m.features; g++) expect(alone[g]).toBe(all[g * 3 + 1]);
    const back = estimatesFromJson(JSON.parse(JSON.stringify(estimatesToJson(fit))));
    expect(Array.from(combatApply(back, cols(test), test.map((s) => BATCH[s]), { covariates: [{ name: 'group', values: test.map((s) => GROUP[s]) }] }).data)).toEqual(Array.from(all));
  });

  test('rows are matched by feature id when ids are given', () => {
    const ids = Array.from({ length: m.features }, (_, g) => `f${g}`);
    const r = combat(m, BATCH, { featureIds: ids });
    const order = ids.map((_, g) => m.features - 1 - g);
    const shuffled: Matrix = { data: Float64Array.from(order.flatMap((g) => row(m, g))), features: m.features, samples: m.samples };
    const out = combatApply(r.estimates, shuffled, BATCH, { featureIds: order.map((g) => ids[g]) }).data;
    order.forEach((g, i) => expect(Array.from(out.subarray(i * m.samples, (i + 1) * m.samples))).toEqual(row({ ...m, data: r.data }, g)));
    expect(() => combatApply(r.estimates, shuffled, BATCH, { featureIds: ids.map((id) => id + 'x') })).toThrow(/feature f0x was not in the fit/);
  });

  test('unknown batches, unknown levels and missing covariates are refused', () => {
    const fit = combatFit(m, BATCH, { covariates });
    expect(() => combatApply(fit, m, BATCH.map((b) => (b === 'c' ? 'd' : b)), { covariates })).toThrow(/batch d was not in the fit/);
    expect(() => combatApply(fit, m, BATCH)).toThrow(/the fit has covariates \(group\)/);
    expect(() => combatApply(fit, m, BATCH, { covariates: [{ name: 'group', values: GROUP.map((g) => (g === 'x' ? 'w' : g)) }] })).toThrow(/covariate level w was not in the fit/);
    const plain = combatApply(fit, m, BATCH, { ignoreCovariates: true }).data;
    expect(plain.length).toBe(m.data.length);
    expect(() => estimatesFromJson({ format: 'x' }, 'fit.json')).toThrow(/fit\.json, record combat estimates, field format/);
    const json = estimatesToJson(fit);
    expect(() => estimatesFromJson({ ...json, gammaStar: [1, 2] }, 'fit.json')).toThrow(/field gammaStar: must hold 90 numbers/);
  });

  test('without empirical Bayes each batch keeps its own location and scale estimates (neuroCombat eb=False)', () => {
    const fit = combatFit(m, BATCH, { covariates, empiricalBayes: false });
    const shrunk = combatFit(m, BATCH, { covariates });
    expect(fit.method).toBe('none');
    expect(Array.from(fit.gammaStar)).toEqual(Array.from(fit.gammaHat));
    expect(Array.from(fit.deltaStar)).toEqual(Array.from(fit.deltaHat));
    expect(Array.from(shrunk.gammaStar)).not.toEqual(Array.from(shrunk.gammaHat));
    const r = combatStep(m, BATCH, { covariates, empiricalBayes: false });
    expect(r.provenance.parameters.method).toBe('none');
    expect(Array.from(combatApply(fit, m, BATCH, { covariates }).data)).toEqual(Array.from(r.value));
  });

  test('as a harmonisation step: provenance with parameters and checksums', () => {
    const r = combatStep(m, BATCH, { covariates, refBatch: 'a' });
    expect(r.provenance).toMatchObject({ step: 'expression.combat', version: '1', parameters: { method: 'parametric', meanOnly: false, refBatch: 'a', covariates: ['group'] } });
    expect(r.provenance.input).toBe(checksum(m.data));
    expect(r.provenance.output).toBe(checksum(r.value));
    expect(r.estimates.refBatch).toBe('a');
  });
});
