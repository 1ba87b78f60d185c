import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  detectScale, parseExpressionMatrix, quantile7, readExpressionMatrix, readSampleTable, valueSummary, writeExpressionMatrix,
} from '../../../src/sources/expression.js';
import { fixtures, tempDir } from '../../helpers/paths.js';

const dir = join(fixtures, 'expression');
const parse = (text: string, file = 'm.tsv', options = {}) => parseExpressionMatrix(Buffer.from(text), file, options);

describe('expression matrix reader', () => {
  test('TSV: ids, values in one row-major Float64Array, every number spelling', () => {
    const m = readExpressionMatrix(join(dir, 'small.tsv'));
    expect(m.format).toBe('tsv');
    expect(m.featureHeader).toBe('gene');
    expect(m.featureIds).toEqual(['TP53', 'BRCA1', 'MYC']);
    expect(m.sampleIds).toEqual(['S1', 'S2', 'S3', 'S4']);
    expect([m.features, m.samples]).toEqual([3, 4]);
    expect(m.data).toBeInstanceOf(Float64Array);
    expect(Array.from(m.data)).toEqual([5.25, 6.5, -0.001, 7, 0, 150, 3.125, 4, 10, 11, 12, 13]);
    expect(m.acquisition).toMatchObject({ format: 'tsv', features: 3, samples: 4, compressed: false, missingValues: 0, valueMin: -0.001, valueMax: 150 });
  });

  test('gzip is recognised by its magic bytes, whatever the name', () => {
    const bytes = gzipSync(readFileSync(join(dir, 'small.tsv')));
    const m = parseExpressionMatrix(bytes, 'matrix.txt');
    expect(m.acquisition.compressed).toBe(true);
    expect(m.data[5]).toBe(150);
    expect(() => parseExpressionMatrix(bytes.subarray(0, bytes.length - 6), 'cut.tsv.gz')).toThrow(/cut\.tsv\.gz: gzip data is damaged or truncated/);
  });

  test("CSV as R's write.csv writes it (quoted, CRLF, empty corner cell), and write.table's short header", () => {
    const m = readExpressionMatrix(join(dir, 'r-write-csv.csv'));
    expect(m.format).toBe('csv');
    expect(m.featureIds).toEqual(['g1', 'g,2']);
    expect(m.sampleIds).toEqual(['S1', 'S2', 'S3']);
    expect(Array.from(m.data)).toEqual([1.5, 2, 3, 4, 5, 0.6]);
    const short = parse('S1\tS2\ng1\t1\t2\ng2\t3\t4\n');
    expect(short.featureHeader).toBe('');
    expect(short.sampleIds).toEqual(['S1', 'S2']);
    expect(Array.from(short.data)).toEqual([1, 2, 3, 4]);
  });

  test('GCT 1.2: Name and Description columns, the dimensions line checked', () => {
    const m = readExpressionMatrix(join(dir, 'small.gct'));
    expect(m.format).toBe('gct');
    expect(m.acquisition.gctVersion).toBe('1.2');
    expect(m.featureIds).toEqual(['g1', 'g2', 'g3']);
    expect(m.featureAnnotations.Description).toEqual(['first gene', 'second gene', 'na']);
    expect(m.sampleIds).toEqual(['A', 'B']);
    expect(Array.from(m.data)).toEqual([1, 2, 3, 4, 5.5, 6.5]);
  });

  test('GCT 1.3: row and column metadata kept apart from the values', () => {
    const m = readExpressionMatrix(join(dir, 'small-v13.gct'));
    expect(m.acquisition.gctVersion).toBe('1.3');
    expect(m.sampleIds).toEqual(['A', 'B', 'C']);
    expect(m.featureAnnotations.symbol).toEqual(['TP53', 'MYC']);
    expect(m.sampleAnnotations).toEqual({ tissue: ['liver', 'liver', 'lung'], dose: ['0', '1', '10'] });
    expect(Array.from(m.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('GCT headers that lie, and files that are not GCT, are refused with file and line', () => {
    const gct = readFileSync(join(dir, 'small.gct'), 'utf8');
    expect(() => parse(gct.replace('3\t2', '4\t2'), 'x.gct')).toThrow(/x\.gct, record line 2: the dimensions line declares 4 rows, the file has 3/);
    expect(() => parse(gct.replace('3\t2', '2\t2'), 'x.gct')).toThrow(/x\.gct, record line 6: more data rows than the 2/);
    expect(() => parse(gct.replace('3\t2', '3\t3'), 'x.gct')).toThrow(/record line 3: header has 2 sample columns, the dimensions line says 3/);
    expect(() => parse(gct.replace('#1.2', '#2.0'), 'x.gct')).toThrow(/x\.gct, record line 1: not a GCT file/);
    expect(() => parse(gct.replace('3\t2', 'three\ttwo'), 'x.gct')).toThrow(/record line 2: expected 2 non-negative integers/);
  });

  test('ragged rows name the line and the column', () => {
    expect(() => parse('id\tA\tB\tC\ng1\t1\t2\t3\ng2\t1\t2\n')).toThrow(/m\.tsv, record line 3, field column 4: row has 3 cells, the header 4/);
    expect(() => parse('id\tA\tB\ng1\t1\t2\t3\t4\n')).toThrow(/record line 2, field column 4: row has 5 cells, the header 3 \(extra cells\)/);
    expect(() => parse('id\tA\tB\ng1\t1\t2\ng2\n')).toThrow(/record line 3, field column 2: row has 1 cells/);
  });

  test('duplicate and empty ids are refused', () => {
    expect(() => parse('id\tA\tB\ng1\t1\t2\ng1\t3\t4\n')).toThrow(/record line 3, field column 1: duplicate feature id g1 \(first at line 2\)/);
    expect(() => parse('id\tA\tA\ng1\t1\t2\n')).toThrow(/record line 1, field column 3: duplicate sample id A/);
    expect(() => parse('id\tA\t\ng1\t1\t2\n')).toThrow(/field column 3: empty sample id/);
  });

  test('missing values: an error naming line and column by default, NaN and counted on request', () => {
    const text = 'id\tA\tB\ng1\t1\tNA\ng2\t\t4\n';
    expect(() => parse(text)).toThrow(/m\.tsv, record line 2, field column 3 \(B\): missing value "NA"/);
    const m = parse(text, 'm.tsv', { missing: 'nan' });
    expect(m.missingValues).toBe(2);
    expect(Number.isNaN(m.data[1]) && Number.isNaN(m.data[2])).toBe(true);
    expect(m.data[3]).toBe(4);
    expect(() => parse('id\tA\ng1\tabc\n')).toThrow(/record line 2, field column 2 \(A\): not a number: "abc"/);
    expect(() => parse('id\tA\ng1\tInfinity\n')).toThrow(/value Infinity is not finite/);
  });

  test('empty files, a lone header and blank lines inside are errors; trailing blank lines are not', () => {
    expect(() => parse('')).toThrow(/m\.tsv, record line 1: empty file/);
    expect(() => parse('id\tA\tB\n')).toThrow(/no data rows after the header/);
    expect(() => parse('id,A,B\ng1,1,2\n')).toThrow(/header has one column.*is it a CSV/);
    expect(() => parse('id\tA\ng1\t1\n\ng2\t2\n')).toThrow(/record line 3: empty line inside the matrix/);
    expect(parse('id\tA\ng1\t1\n\n\n').features).toBe(1);
    expect(() => readExpressionMatrix(join(dir, 'missing.tsv'))).toThrow(/missing\.tsv: cannot read: ENOENT/);
  });

  test('the byte-level number parser gives exactly the doubles Number() gives', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const cells: string[] = [];
    for (let i = 0; i < 4000; i++) {
      const digits = 1 + Math.floor(rand() * 19);
      let m = '';
      for (let d = 0; d < digits; d++) m += Math.floor(rand() * 10);
      const dot = Math.floor(rand() * (digits + 1));
      let s = (rand() < 0.3 ? '-' : '') + m.slice(0, dot) + (dot < digits ? '.' + m.slice(dot) : '');
      if (s === '' || s === '-') s += '0';
      if (rand() < 0.3) s += (rand() < 0.5 ? 'e' : 'E') + (rand() < 0.5 ? '-' : '') + Math.floor(rand() * 30);
      cells.push(s);
    }
    cells.push('0.1', '9007199254740993', '123456789012345678', '1e22', '1e23', '-0', '.5', '5.', '0x10', ' 7');
    const text = 'id\t' + cells.map((_, i) => `s${i}`).join('\t') + '\nf\t' + cells.join('\t') + '\n';
    const m = parse(text);
    const wrong = cells.filter((c, i) => !Object.is(m.data[i], Number(c)));
    expect(wrong).toEqual([]);
    expect(m.data.length).toBe(cells.length);
  });

  test('writing and reading back gives the same doubles, gzip by extension', () => {
    const t = tempDir();
    try {
      const data = Float64Array.from([Math.PI, -1 / 3, 1e-300, 123456.789, 0, 2 ** 52 + 1]);
      for (const name of ['out.tsv', 'out.tsv.gz']) {
        const file = join(t.path, name);
        writeExpressionMatrix(file, { featureHeader: 'probe', featureIds: ['a', 'b', 'c'], sampleIds: ['x', 'y'], data });
        const raw = readFileSync(file);
        expect(raw[0] === 0x1f && raw[1] === 0x8b).toBe(name.endsWith('.gz'));
        const back = readExpressionMatrix(file);
        expect(back.featureHeader).toBe('probe');
        expect(Array.from(back.data)).toEqual(Array.from(data));
      }
    } finally {
      t.remove();
    }
  });

  test('sample tables: first column is the id, duplicates and ragged rows refused', () => {
    const t = tempDir();
    try {
      const file = join(t.path, 'samples.csv');
      writeFileSync(file, 'id,batch,age\nS1,a,30\n"S2",b,41\n');
      const s = readSampleTable(file);
      expect(s.columns).toEqual(['id', 'batch', 'age']);
      expect(s.rows.get('S2')).toEqual(['S2', 'b', '41']);
      writeFileSync(file, 'id,batch\nS1,a\nS1,b\n');
      expect(() => readSampleTable(file)).toThrow(/samples\.csv, record line 3, field id: duplicate sample id S1/);
      writeFileSync(file, 'id,batch\nS1\n');
      expect(() => readSampleTable(file)).toThrow(/record line 2: row has 1 cells, the header 2/);
    } finally {
      t.remove();
    }
  });
});

describe('value scale', () => {
  test('GEO2R rule: counts, intensities and logged values are told apart', () => {
    expect(detectScale(Float64Array.from({ length: 1000 }, (_, i) => (i * 37) % 5000))).toBe('counts');
    expect(detectScale(Float64Array.from({ length: 1000 }, (_, i) => 20 + ((i * 37) % 5000) + 0.5))).toBe('intensity');
    expect(detectScale(Float64Array.from({ length: 1000 }, (_, i) => 2 + ((i * 37) % 1200) / 100))).toBe('log');
  });

  test('quantiles follow R type 7 and NaN is ignored', () => {
    expect(quantile7(Float64Array.from([1, 2, 3, 4]), 0.25)).toBe(1.75);
    const s = valueSummary(Float64Array.from([NaN, 1, 2, 3, 4]));
    expect([s.valueMin, s.valueMedian, s.valueMax, s.integerValued]).toEqual([1, 2.5, 4, true]);
  });
});
