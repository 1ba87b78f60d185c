import { benjaminiHochberg, fisherExact, oddsRatio } from '../../../src/cohort/index.js';

describe("Fisher's exact test and Benjamini-Hochberg", () => {
  test('two-sided p of textbook tables (values from R fisher.test)', () => {
    // Lady tasting tea: matrix(c(3,1,1,3), 2) -> p = 0.4857
    expect(fisherExact(3, 1, 1, 3)).toBeCloseTo(0.485714, 5);
    // matrix(c(1,11,9,3), 2) -> p = 0.002759
    expect(fisherExact(1, 9, 11, 3)).toBeCloseTo(0.0027594, 6);
    // symmetric under transposition and row swap
    expect(fisherExact(9, 1, 3, 11)).toBeCloseTo(fisherExact(1, 9, 11, 3), 12);
    expect(fisherExact(0, 5, 5, 0)).toBeCloseTo(0.0079365, 6);
    expect(fisherExact(5, 5, 5, 5)).toBe(1);
  });

  test('large tables stay finite and ordered', () => {
    const strong = fisherExact(80, 20, 800, 8000);
    const weak = fisherExact(12, 88, 800, 8000);
    expect(strong).toBeGreaterThan(0);
    expect(strong).toBeLessThan(1e-50);
    expect(weak).toBeGreaterThan(strong);
  });

  test('odds ratio with the Haldane correction for empty cells', () => {
    expect(oddsRatio(4, 2, 1, 4)).toBe(8);
    expect(oddsRatio(3, 0, 1, 3)).toBeCloseTo((3.5 * 3.5) / (0.5 * 1.5), 10);
  });

  test('BH adjusted p-values (values from R p.adjust(method = "BH"))', () => {
    const q = benjaminiHochberg([0.01, 0.04, 0.03, 0.005, 0.2]);
    const expected = [0.025, 0.05, 0.05, 0.025, 0.2];
    q.forEach((x, i) => expect(x).toBeCloseTo(expected[i], 10));
    expect(benjaminiHochberg([])).toEqual([]);
    expect(benjaminiHochberg([0.9, 0.8])).toEqual([0.9, 0.9]);
  });
});
