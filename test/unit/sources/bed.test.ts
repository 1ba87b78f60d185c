import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GeneIndex, readGeneBed, type GeneInterval } from '../../../src/sources/bed.js';
import { fixtures, tempDir } from '../../helpers/paths.js';

describe('gene BED', () => {
  test('chrom/start/end/Ensembl id/symbol layout, chr names normalised, assembly from the file name', async () => {
    const bed = await readGeneBed(join(fixtures, 'genomic', 'genes-GRCh38.bed'));
    expect(bed.layout).toBe('ensembl-symbol');
    expect(bed.assembly).toBe('GRCh38');
    expect(bed.genes[0]).toEqual({ chrom: '1', start: 900, end: 2500, symbol: 'GENEA', id: 'ENSG00000000001', strand: null });
    expect(bed.acquisition).toMatchObject({ format: 'BED', assembly: 'GRCh38', intervals: 5, genes: 5, contigNaming: 'chr-prefixed' });
  });

  test('plain BED (name, score, strand), track lines skipped, assembly unknown unless given', async () => {
    const file = join(fixtures, 'genomic', 'genes-plain.bed');
    const bed = await readGeneBed(file);
    expect(bed.layout).toBe('name');
    expect(bed.assembly).toBeNull();
    expect(bed.genes.map((g) => [g.chrom, g.symbol, g.strand])).toEqual([['1', 'GENEA', null], ['1', 'GENEB', '-'], ['X', 'GENEX', null]]);
    expect((await readGeneBed(file, { assembly: 'hg19' })).assembly).toBe('GRCh37');
  });

  test('bad lines name file, line and field', async () => {
    const dir = tempDir();
    try {
      const f = join(dir.path, 'bad.bed');
      writeFileSync(f, '1\t10\t20\tA\n1\tten\t20\tB\n');
      await expect(readGeneBed(f)).rejects.toThrow(`${f}, record line 2, field start: start "ten" is not a non-negative integer`);
      writeFileSync(f, '1\t30\t20\tA\n');
      await expect(readGeneBed(f)).rejects.toThrow(/line 1, field end: end 20 is before start 30/);
      writeFileSync(f, '1\t30\t40\n');
      await expect(readGeneBed(f)).rejects.toThrow(/field name: gene BED line has 3 columns/);
    } finally {
      dir.remove();
    }
  });

  test('the interval index answers point and range queries as a brute-force scan does (BED half-open, queries 1-based)', () => {
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
    const genes: GeneInterval[] = [];
    for (let i = 0; i < 3000; i++) {
      const start = rand(2_000_000);
      const len = rand(10) === 0 ? rand(400_000) : rand(30_000);
      genes.push({ chrom: rand(2) ? '1' : '2', start, end: start + len, symbol: `G${i % 2500}`, id: null, strand: null });
    }
    const index = new GeneIndex(genes, 'GRCh37', 'random');
    expect(index.symbols).toHaveLength(2500);
    const brute = (chrom: string, s: number, e: number): number[] =>
      genes.map((g, i) => [g, i] as const).filter(([g]) => g.chrom === chrom && g.start < e && s - 1 < Math.max(g.end, g.start + 1)).map(([, i]) => i);
    for (let q = 0; q < 400; q++) {
      const chrom = rand(2) ? 'chr1' : '2';
      const pos = rand(2_500_000) + 1;
      expect(index.intervalsAt(chrom, pos).sort((a, b) => a - b)).toEqual(brute(chrom.replace('chr', ''), pos, pos));
      const end = pos + rand(50_000);
      expect(index.intervalsOverlapping(chrom, pos, end).sort((a, b) => a - b)).toEqual(brute(chrom.replace('chr', ''), pos, end));
    }
    // Edges: BED start is 0-based, so the first base of [900, 2500) is position 901 and the last 2500.
    const small = new GeneIndex([{ chrom: '1', start: 900, end: 2500, symbol: 'A', id: null, strand: null }], null, 'x');
    expect([900, 901, 2500, 2501].map((p) => small.genesAt('1', p))).toEqual([[], ['A'], ['A'], []]);
    expect(small.genesAt('1', 2501, 3000)).toEqual([]);
    expect(small.genesAt('1', 2400, 3000)).toEqual(['A']);
    expect(small.genesAt('7', 1000)).toEqual([]);
    expect(small.rowOf('A')).toBe(0);
    expect(small.rowOf('B')).toBe(-1);
  });
});
