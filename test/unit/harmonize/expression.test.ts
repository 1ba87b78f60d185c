import {
  DEFAULT_EXPRESSION_CONFIG, filterByExpr, harmonizeExpression, log2Offset, logCpm, minSampleSize, quantileNormalize,
} from '../../../src/harmonize/expression.js';
import { checksum } from '../../../src/harmonize/provenance.js';
import { parseExpressionMatrix } from '../../../src/sources/expression.js';

const matrix = (rows: (string | number)[][], samples: string[]) =>
  parseExpressionMatrix(Buffer.from(['id\t' + samples.join('\t'), ...rows.map((r) => r.join('\t'))].join('\n') + '\n'), 'm.tsv', { missing: 'nan' });

describe('expression steps', () => {
  test("log-CPM with edgeR's library-scaled prior count", () => {
    // Libraries 10 and 40 (mean 25): prior counts 0.8 and 3.2, library sizes + 1.6 and + 6.4.
    const out = logCpm(Float64Array.from([0, 10, 10, 30]), 2, 2, 2);
    const expected = [Math.log2(0.8 / 11.6e-6), Math.log2(13.2 / 46.4e-6), Math.log2(10.8 / 11.6e-6), Math.log2(33.2 / 46.4e-6)];
    out.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
    expect(() => logCpm(new Float64Array(4), 2, 2)).toThrow(/every library is empty/);
  });

  test('log2(x + offset)', () => {
    expect(Array.from(log2Offset(Float64Array.from([0, 1, 3, 7])))).toEqual([0, 1, 2, 3]);
    expect(Array.from(log2Offset(Float64Array.from([2, 8]), 0))).toEqual([1, 3]);
  });

  test("quantile normalisation: limma's averaged ranks for ties", () => {
    // Columns (1, 2, 3) and (4, 4, 6): sorted means 2.5, 3, 4.5; the tie sits at rank 1.5.
    const out = quantileNormalize(Float64Array.from([1, 4, 2, 4, 3, 6]), 3, 2);
    expect(Array.from(out)).toEqual([2.5, 2.75, 3, 2.75, 4.5, 4.5]);
  });

  test("filterByExpr: CPM of 10 reads in the median library, in the smallest group's worth of samples", () => {
    expect(minSampleSize(6, DEFAULT_EXPRESSION_CONFIG.filter)).toBe(6);
    expect(minSampleSize(20, DEFAULT_EXPRESSION_CONFIG.filter)).toBe(17);
    expect(minSampleSize(6, DEFAULT_EXPRESSION_CONFIG.filter, ['a', 'a', 'a', 'a', 'b', 'b'])).toBe(2);
    // Four samples, library sizes 1e6 each: cutoff 10 CPM = 10 reads.
    const rows = [
      [10, 10, 10, 10], // kept: at the cutoff everywhere
      [9, 9, 9, 100], // only one sample reaches it
      [12, 12, 0, 0], // two samples: kept with groups of two
      [1e6 - 31, 1e6 - 31, 1e6 - 19, 1e6 - 110], // fills every library to exactly 1e6
    ];
    const b = { data: Float64Array.from(rows.flat()), features: 4, samples: 4 };
    expect(Array.from(filterByExpr(b, DEFAULT_EXPRESSION_CONFIG.filter))).toEqual([1, 0, 0, 1]);
    expect(Array.from(filterByExpr(b, DEFAULT_EXPRESSION_CONFIG.filter, ['x', 'x', 'y', 'y']))).toEqual([1, 0, 1, 1]);
  });
});

describe('harmonizeExpression', () => {
  test('counts: filter, log-CPM, provenance for each step', () => {
    const rows: (string | number)[][] = [];
    for (let g = 0; g < 50; g++) rows.push([`g${g}`, ...[0, 1, 2, 3].map((s) => (g < 40 ? 200 + 13 * g + 7 * s : g % 3))]);
    const h = harmonizeExpression(matrix(rows, ['A', 'B', 'C', 'D']));
    expect(h.scale).toBe('counts');
    expect(h.provenance.map((p) => p.step)).toEqual(['expression.filter_low', 'expression.log_cpm']);
    expect(h.provenance[0].parameters).toMatchObject({ rule: 'edgeR filterByExpr', featuresIn: 50, featuresKept: 40 });
    expect(h.featureIds).toHaveLength(40);
    expect(h.arrays.expression.shape).toEqual([40, 4]);
    expect(h.features).toMatchObject({ featuresRead: 50, featuresKept: 40, samples: 4 });
    expect(h.provenance[1].output).toBe(checksum(h.arrays.expression.data));
    expect(h.provenance[1].input).toBe(h.provenance[0].output);
  });

  test('intensities: log2(x + 1); already logged data are detected and left alone with a warning', () => {
    const raw = matrix(Array.from({ length: 30 }, (_, g) => [`p${g}`, 100.5 + 97 * g, 150.25 + 90 * g]), ['A', 'B']);
    const h = harmonizeExpression(raw);
    expect(h.scale).toBe('intensity');
    expect(h.provenance.map((p) => p.step)).toEqual(['expression.log2']);
    expect(h.arrays.expression.data[0]).toBeCloseTo(Math.log2(101.5), 12);
    const logged = matrix(Array.from({ length: 30 }, (_, g) => [`p${g}`, 4 + g / 5, 5 + g / 4]), ['A', 'B']);
    const l = harmonizeExpression(logged, { scale: 'intensity' });
    expect(l.provenance).toEqual([]);
    expect(l.warnings.join()).toMatch(/look log-transformed already/);
    expect(l.arrays.expression.data).toEqual(logged.data);
  });

  test('missing values: features dropped and counted, or an error naming feature and sample', () => {
    const m = matrix([['g1', 1, 2], ['g2', 'NA', 3], ['g3', 4, 5]], ['A', 'B']);
    const h = harmonizeExpression(m, { scale: 'log' });
    expect(h.featureIds).toEqual(['g1', 'g3']);
    expect(h.features.featuresDroppedMissing).toBe(1);
    expect(h.provenance[0]).toMatchObject({ step: 'expression.drop_missing', parameters: { dropped: 1, featuresKept: 2 } });
    expect(() => harmonizeExpression(m, { missing: 'error' })).toThrow(/m\.tsv, record g2, field A: missing value/);
  });

  test('quantile normalisation and a log2 threshold filter on request', () => {
    const m = matrix([['g1', 1, 4], ['g2', 2, 4], ['g3', 3, 6], ['g4', 0.1, 0.2]], ['A', 'B']);
    const h = harmonizeExpression(m, { scale: 'log', quantileNormalize: true, filter: { ...DEFAULT_EXPRESSION_CONFIG.filter, minLog2: 0.5 } });
    expect(h.provenance.map((p) => p.step)).toEqual(['expression.filter_low', 'expression.quantile_normalize']);
    expect(h.featureIds).toEqual(['g1', 'g2', 'g3']);
    expect(Array.from(h.arrays.expression.data)).toEqual([2.5, 2.75, 3, 2.75, 4.5, 4.5]);
  });

  test('counts that are not counts are refused', () => {
    const m = matrix([['g1', 1.5, 2], ['g2', 3, 4]], ['A', 'B']);
    expect(() => harmonizeExpression(m, { scale: 'counts', filter: { ...DEFAULT_EXPRESSION_CONFIG.filter, enabled: false } })).toThrow(/record g1, field A: value 1.5 is not a count/);
  });

  test('the default config is plain JSON', () => {
    expect(JSON.parse(JSON.stringify(DEFAULT_EXPRESSION_CONFIG))).toEqual(DEFAULT_EXPRESSION_CONFIG);
  });
});
