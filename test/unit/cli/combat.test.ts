import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { Command } from 'commander';
import { register, runCombat, type CombatCommandOptions } from '../../../src/cli/commands/combat.js';
import { combat } from '../../../src/harmonize/combat.js';
import { readExpressionMatrix } from '../../../src/sources/expression.js';
import { tempDir } from '../../helpers/paths.js';

// A small matrix (24 features x 12 samples, three sites) and its sample table, written per test run.
const SAMPLES = Array.from({ length: 12 }, (_, s) => `S${s + 1}`);
const SITE = ['s1', 's1', 's1', 's1', 's2', 's2', 's2', 's2', 's3', 's3', 's3', 's3'];
const DX = ['case', 'ctrl', 'case', 'ctrl', 'case', 'ctrl', 'ctrl', 'case', 'ctrl', 'case', 'ctrl', 'case'];
const AGE = [31, 45, 52, 38, 60, 29, 41, 55, 47, 36, 58, 44];
const GRADE = [1, 2, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1];

function writeInputs(dir: string) {
  let seed = 99;
  const r = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const lines = ['probe\t' + SAMPLES.join('\t')];
  const data: number[] = [];
  for (let g = 0; g < 24; g++) {
    const row = SAMPLES.map((_, s) => 6 + g / 10 + (SITE[s] === 's2' ? 1.2 : SITE[s] === 's3' ? -0.7 : 0) + (DX[s] === 'case' ? 0.5 : 0) + r() * (SITE[s] === 's2' ? 2 : 1));
    data.push(...row);
    lines.push(`p${g}\t` + row.join('\t'));
  }
  // Sample table rows in another order than the matrix columns, with an extra sample.
  const table = ['id\tsite\tdx\tage\tgrade', ...SAMPLES.map((s, i) => `${s}\t${SITE[i]}\t${DX[i]}\t${AGE[i]}\t${GRADE[i]}`).reverse(), 'S99\ts1\tcase\t50\t1'];
  const matrix = join(dir, 'matrix.tsv');
  const samples = join(dir, 'samples.tsv');
  writeFileSync(matrix, lines.join('\n') + '\n');
  writeFileSync(samples, table.join('\n') + '\n');
  return { matrix, samples, data: Float64Array.from(data) };
}

describe('harmonia combat', () => {
  let dir: ReturnType<typeof tempDir>;
  let input: ReturnType<typeof writeInputs>;
  beforeAll(() => {
    dir = tempDir();
    input = writeInputs(dir.path);
  });
  afterAll(() => dir.remove());
  const opts = (o: Partial<CombatCommandOptions>): CombatCommandOptions => ({ matrix: input.matrix, samples: input.samples, batch: 'site', out: join(dir.path, 'out.tsv'), ...o });

  test('writes what the library computes, samples matched by the table’s first column, gzip by extension', async () => {
    const out = join(dir.path, 'adjusted.tsv.gz');
    const s = await runCombat(opts({ out, covariates: 'dx,age' }));
    expect(s).toMatchObject({ features: 24, samples: 12, batches: { s1: 4, s2: 4, s3: 4 }, method: 'parametric', meanOnly: false, covariates: ['dx', 'age'], unadjusted: 0, applied: false });
    expect(readFileSync(out).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    const written = readExpressionMatrix(out);
    expect(written.featureHeader).toBe('probe');
    expect(written.sampleIds).toEqual(SAMPLES);
    const expected = combat({ data: input.data, features: 24, samples: 12 }, SITE, { covariates: [{ name: 'dx', values: DX }, { name: 'age', values: AGE }] });
    expect(Array.from(written.data)).toEqual(Array.from(expected.data));
  });

  test('options map to sva’s: --mean-only, --nonparametric, --ref-batch, --categorical', async () => {
    const m = { data: input.data, features: 24, samples: 12 };
    for (const [o, lib] of [
      [{ meanOnly: true }, { meanOnly: true }],
      [{ nonparametric: true }, { nonparametric: true }],
      [{ refBatch: 's2' }, { refBatch: 's2' }],
      [{ covariates: 'grade', categorical: 'grade' }, { covariates: [{ name: 'grade', values: GRADE.map(String) }] }],
      [{ covariates: 'grade' }, { covariates: [{ name: 'grade', values: GRADE }] }],
    ] as const) {
      await runCombat(opts(o));
      expect(Array.from(readExpressionMatrix(join(dir.path, 'out.tsv')).data)).toEqual(Array.from(combat(m, SITE, lib).data));
    }
  });

  test('--fit-out then --apply corrects held-out samples with the saved fit, exactly as the library does', async () => {
    const fit = join(dir.path, 'fit.json.gz');
    await runCombat(opts({ covariates: 'dx', fitOut: fit }));
    const s = await runCombat(opts({ apply: fit, out: join(dir.path, 'applied.tsv') }));
    expect(s.applied).toBe(true);
    expect(s.covariates).toEqual(['dx']);
    // Applying to the training samples reproduces the fitted output.
    expect(readFileSync(join(dir.path, 'applied.tsv'), 'utf8')).toBe(readFileSync(join(dir.path, 'out.tsv'), 'utf8'));
    // New data: three of the samples, columns reordered, features reordered.
    const m = readExpressionMatrix(input.matrix);
    const cols = [5, 0, 10];
    const rows = Array.from({ length: 24 }, (_, g) => 23 - g);
    const lines = ['probe\t' + cols.map((c) => SAMPLES[c]).join('\t'), ...rows.map((g) => `p${g}\t` + cols.map((c) => m.data[g * 12 + c]).join('\t'))];
    const newFile = join(dir.path, 'new.tsv');
    writeFileSync(newFile, lines.join('\n') + '\n');
    await runCombat(opts({ matrix: newFile, apply: fit, out: join(dir.path, 'new-out.tsv') }));
    const fitted = readExpressionMatrix(join(dir.path, 'out.tsv'));
    const applied = readExpressionMatrix(join(dir.path, 'new-out.tsv'));
    expect(applied.featureIds[0]).toBe('p23');
    rows.forEach((g, i) => cols.forEach((c, k) => expect(applied.data[i * 3 + k]).toBe(fitted.data[g * 12 + c])));
    await expect(runCombat(opts({ apply: fit, meanOnly: true }))).rejects.toThrow(/--apply uses the settings of the saved fit/);
    writeFileSync(join(dir.path, 'bad.json'), '{"format":"harmonia-combat-estimates","version":2}');
    await expect(runCombat(opts({ apply: join(dir.path, 'bad.json') }))).rejects.toThrow(/bad\.json, record combat estimates, field version: unsupported version 2/);
  });

  test('clear errors: sample not in the table, unknown column, one-sample batch, unknown reference batch', async () => {
    const t = join(dir.path, 'partial.tsv');
    writeFileSync(t, 'id\tsite\tone\n' + SAMPLES.slice(1).map((s, i) => `${s}\t${SITE[i + 1]}\t${i === 0 ? 'solo' : 'rest' + (i % 2)}`).join('\n') + '\n');
    await expect(runCombat(opts({ samples: t }))).rejects.toThrow(/partial\.tsv, record S1, field id: sample S1 of .*matrix\.tsv is not in the sample table/);
    await expect(runCombat(opts({ batch: 'scanner' }))).rejects.toThrow(/samples\.tsv, record header, field scanner: no column scanner \(columns: id, site, dx, age, grade\)/);
    await expect(runCombat(opts({ covariates: 'sex' }))).rejects.toThrow(/no column sex/);
    const solo = join(dir.path, 'solo.tsv');
    writeFileSync(solo, 'id\tsite\n' + SAMPLES.map((s, i) => `${s}\t${i === 0 ? 'lonely' : SITE[i]}`).join('\n') + '\n');
    await expect(runCombat(opts({ samples: solo }))).rejects.toThrow(/batch lonely has only one sample.*--mean-only/);
    await expect(runCombat(opts({ samples: solo, meanOnly: true }))).resolves.toMatchObject({ meanOnly: true });
    await expect(runCombat(opts({ refBatch: 's9' }))).rejects.toThrow(/reference batch s9 is not one of the batches \(s1, s2, s3\)/);
    await expect(runCombat(opts({ covariates: 'dx', categorical: 'age' }))).rejects.toThrow(/--categorical age is not one of --covariates/);
  });

  test('registered as a command: option names as documented, a summary line on stdout', async () => {
    const program = new Command('harmonia').exitOverride();
    register(program);
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await program.parseAsync(['node', 'harmonia', 'combat', '--matrix', input.matrix, '--samples', input.samples, '--batch', 'site', '--covariates', 'dx', '--mean-only', '--ref-batch', 's1', '--out', join(dir.path, 'cmd.tsv'), '--json']);
      const summary = JSON.parse(String(write.mock.calls[0][0]));
      expect(summary).toMatchObject({ meanOnly: true, refBatch: 's1', covariates: ['dx'], out: join(dir.path, 'cmd.tsv') });
    } finally {
      write.mockRestore();
    }
  });
});
