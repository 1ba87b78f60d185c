import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  ALLELE_ABSENT, ALLELE_MISSING, VcfReader, assemblyName, detectAssembly, infoValue, infoValues, normaliseChromosome,
  scanVcf, type VcfRecord,
} from '../../../src/sources/vcf.js';
import { InputError } from '../../../src/model/errors.js';
import { fixtures, tempDir } from '../../helpers/paths.js';

const trio = join(fixtures, 'genomic', 'trio.vcf');
const FIRST_DATA_LINE = 17; // 15 meta lines and #CHROM

async function readAll(file: string): Promise<{ reader: VcfReader; records: VcfRecord[] }> {
  const reader = await VcfReader.open(file);
  const records: VcfRecord[] = [];
  for await (const r of reader.records()) records.push(r);
  return { reader, records };
}

/** Runs `fn` and returns the InputError it throws (failing the test when it throws something else or nothing). */
async function inputError(fn: () => Promise<unknown>): Promise<InputError> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('expected an InputError');
}

const header = readFileSync(trio, 'utf8').split('\n').filter((l) => l.startsWith('#')).join('\n');
const row = (...cols: string[]): string => cols.join('\t');

describe('VCF reader', () => {
  test('reads a multi-sample VCF: samples, genotypes with phase, haploid calls, missing values', async () => {
    const { reader, records } = await readAll(trio);
    expect(reader.header.samples).toEqual(['child', 'mother', 'father']);
    expect(reader.header.fileformat).toBe('VCFv4.2');
    expect(reader.header.contigs.map((c) => c.id)).toEqual(['chr1', 'chrX', 'chrM', 'chrT']);
    expect(records).toHaveLength(12);
    const [first, multi] = records;
    expect(first).toMatchObject({ line: FIRST_DATA_LINE, chrom: 'chr1', pos: 1000, ids: ['rs1'], ref: 'A', alts: ['G'], qual: 50, filters: ['PASS'], ploidy: 2 });
    expect(Array.from(first.gt)).toEqual([0, 1, 0, 0, 1, 1]);
    expect(Array.from(first.phased)).toEqual([1, 0, 1]);
    expect(Array.from(first.dp)).toEqual([30, 25, 20]);
    expect(Array.from(first.gq)).toEqual([99, 99, 60]);
    expect(multi.alts).toEqual(['T', 'A']);
    expect(Array.from(multi.gt)).toEqual([1, 2, 0, 1, 0, 2]);
    expect(Array.from(multi.phased)).toEqual([1, 0, 0]);
    const x = records.find((r) => r.chrom === 'chrX')!;
    expect(x.filters).toEqual([]); // FILTER "."
    expect(Array.from(x.gt)).toEqual([1, ALLELE_ABSENT, 0, 0, 1, ALLELE_ABSENT]);
    const m = records.find((r) => r.chrom === 'chrM')!;
    expect(m.ploidy).toBe(1);
    expect(Array.from(m.gt)).toEqual([1, ALLELE_MISSING, 1]);
    expect(Number.isNaN(m.dp[0])).toBe(true);
    const star = records.find((r) => r.pos === 9000)!;
    expect(Array.from(star.gt)).toEqual([1, 2, 0, 0, ALLELE_MISSING, ALLELE_MISSING]);
    expect(Number.isNaN(star.dp[2])).toBe(true);
  });

  test('INFO is decoded on demand with the header types', async () => {
    const { reader, records } = await readAll(trio);
    const h = reader.header;
    expect(infoValue(h, records[1].info, 'gnomAD_AF')).toEqual([0.001, 0.3]);
    expect(infoValue(h, records[1].info, 'DP')).toEqual([65]);
    expect(infoValue(h, records[1].info, 'NOTE')).toEqual(['a,b']); // %2C decoded
    expect(infoValue(h, records[1].info, 'AF')).toBeUndefined();
    expect(infoValue(h, records[2].info, 'DP')).toBeUndefined(); // INFO "."
    // A key that is a prefix of another is matched exactly, flags are true.
    expect(infoValue(h, 'DPX=3;DB;DP=5', 'DP')).toEqual([5]);
    expect(infoValue(h, 'DPX=3;DB;DP=5', 'DB')).toBe(true);
    expect(infoValues(h, 'DP=5;DB;gnomAD_AF=0.5,.')).toEqual({ DP: [5], DB: true, gnomAD_AF: [0.5, undefined] });
  });

  test('acquisition: assembly from contig lengths, samples, record counts, contig naming', async () => {
    const { reader } = await readAll(trio);
    const a = reader.acquisition();
    expect(a).toMatchObject({
      format: 'VCF', fileformat: 'VCFv4.2', assembly: 'GRCh38', assemblySource: 'contig lengths', samples: ['child', 'mother', 'father'],
      sampleCount: 3, records: 12, multiallelicRecords: 2, phasedGenotypes: 3, contigNaming: 'chr-prefixed', headerContigs: 4,
      compression: 'none', indexed: false, reference: 'GRCh38',
    });
    expect(a.contigs).toEqual(['chr1', 'chrX', 'chrM', 'chrT']);
  });

  test('gzip is recognised by its magic, not its name; a truncated gzip stream is one clear error', async () => {
    const dir = tempDir();
    try {
      const gz = gzipSync(readFileSync(trio));
      const named = join(dir.path, 'trio.vcf.data');
      writeFileSync(named, gz);
      const { reader, records } = await readAll(named);
      expect(records).toHaveLength(12);
      expect(reader.acquisition().compression).toBe('gzip');
      const cut = join(dir.path, 'cut.vcf.gz');
      writeFileSync(cut, gz.subarray(0, gz.length - 60));
      const e = await inputError(() => readAll(cut));
      expect(e.message).toMatch(/truncated gzip stream/);
      expect(e.file).toBe(cut);
      expect(e.field).toBe('gzip');
      expect(e.record).toMatch(/^line \d+$/);
    } finally {
      dir.remove();
    }
  });

  test('a file without #CHROM header, an empty file and header-only files are refused', async () => {
    const dir = tempDir();
    try {
      const noHeader = join(dir.path, 'a.vcf');
      writeFileSync(noHeader, row('1', '100', '.', 'A', 'G', '50', 'PASS', '.') + '\n');
      let e = await inputError(() => VcfReader.open(noHeader));
      expect(e.message).toBe(`${noHeader}, record line 1, field #CHROM: no #CHROM header line before the first data line`);
      const onlyMeta = join(dir.path, 'b.vcf');
      writeFileSync(onlyMeta, '##fileformat=VCFv4.2\n##contig=<ID=1>\n');
      e = await inputError(() => VcfReader.open(onlyMeta));
      expect(e.message).toMatch(/ends inside the header/);
      const empty = join(dir.path, 'c.vcf');
      writeFileSync(empty, '');
      e = await inputError(() => VcfReader.open(empty));
      expect(e.message).toMatch(/empty file/);
      const spaces = join(dir.path, 'd.vcf');
      writeFileSync(spaces, '##fileformat=VCFv4.2\n#CHROM POS ID REF ALT QUAL FILTER INFO\n');
      e = await inputError(() => VcfReader.open(spaces));
      expect(e.field).toBe('#CHROM');
      expect(e.message).toMatch(/tab-separated/);
    } finally {
      dir.remove();
    }
  });

  test.each([
    ['too few columns', row('chr1', '100', '.', 'A', 'G', '50', 'PASS'), 'INFO', /7 tab-separated columns/],
    ['a missing sample column', row('chr1', '100', '.', 'A', 'G', '50', 'PASS', '.', 'GT', '0/1', '0/1'), 'sample', /11 columns, the #CHROM line declares 12/],
    ['POS not a number', row('chr1', '1e5', '.', 'A', 'G', '50', 'PASS', '.', 'GT', '0/1', '0/1', '0/0'), 'POS', /POS "1e5"/],
    ['REF not bases', row('chr1', '100', '.', '12', 'G', '50', 'PASS', '.', 'GT', '0/1', '0/1', '0/0'), 'REF', /REF "12"/],
    ['ALT not an allele', row('chr1', '100', '.', 'A', 'G,7', '50', 'PASS', '.', 'GT', '0/1', '0/1', '0/0'), 'ALT', /ALT allele "7"/],
    ['QUAL not a number', row('chr1', '100', '.', 'A', 'G', 'high', 'PASS', '.', 'GT', '0/1', '0/1', '0/0'), 'QUAL', /QUAL "high"/],
    ['GT naming an allele that is not there', row('chr1', '100', '.', 'A', 'G', '50', 'PASS', '.', 'GT', '0/1', '0/2', '0/0'), 'GT', /sample mother: GT "0\/2" refers to allele 2/],
    ['GT malformed', row('chr1', '100', '.', 'A', 'G', '50', 'PASS', '.', 'GT', '0/1', '0-1', '0/0'), 'GT', /sample mother: GT "0-1" is malformed/],
    ['DP not a number', row('chr1', '100', '.', 'A', 'G', '50', 'PASS', '.', 'GT:DP', '0/1:7', '0/1:x', '0/0:3'), 'DP', /sample mother: DP "x"/],
  ])('a malformed data line (%s) names file, line and field', async (_what, line, field, message) => {
    const dir = tempDir();
    try {
      const f = join(dir.path, 'bad.vcf');
      const good = row('chr1', '50', '.', 'A', 'G', '50', 'PASS', '.', 'GT', '0/1', '0/1', '0/0');
      writeFileSync(f, `${header}\n${good}\n${line}\n`);
      const e = await inputError(() => readAll(f));
      expect(e.file).toBe(f);
      expect(e.record).toBe(`line ${FIRST_DATA_LINE + 1}`);
      expect(e.field).toBe(field);
      expect(e.message).toMatch(message);
    } finally {
      dir.remove();
    }
  });

  test('VCF 4.4 leading phase markers and triploid calls', async () => {
    const dir = tempDir();
    try {
      const f = join(dir.path, 'v44.vcf');
      writeFileSync(f, `${header}\n${row('chr1', '50', '.', 'A', 'G,T', '50', 'PASS', '.', 'GT', '|0|1', '/1/2', '0/1/2')}\n`);
      const { records } = await readAll(f);
      const r = records[0];
      const alleles = Array.from({ length: 3 }, (_, s) => Array.from(r.gt.subarray(s * r.ploidy, (s + 1) * r.ploidy)).filter((a) => a !== ALLELE_ABSENT));
      expect(alleles).toEqual([[0, 1], [1, 2], [0, 1, 2]]);
      expect(Array.from(r.phased)).toEqual([1, 0, 0]);
    } finally {
      dir.remove();
    }
  });

  test('scanVcf counts records and CRLF line ends are tolerated', async () => {
    const dir = tempDir();
    try {
      const f = join(dir.path, 'crlf.vcf');
      writeFileSync(f, readFileSync(trio, 'utf8').replace(/\n/g, '\r\n'));
      const { acquisition, stats } = await scanVcf(f);
      expect(acquisition.records).toBe(12);
      expect(stats.contigRecords.get('chr1')).toBe(9);
      const { records } = await readAll(f);
      expect(records[0].gq[2]).toBe(60); // the last sample's last field, no stray \r
    } finally {
      dir.remove();
    }
  });
});

describe('chromosomes and assemblies', () => {
  test('chromosome names normalise chr1 and 1 to 1, chrM/M/MT/chrMT to MT', () => {
    expect(['chr1', '1', 'CHR1', 'chrX', 'x', 'chrM', 'M', 'MT', 'chrMT', 'GL000192.1', 'chrUn_gl000220'].map(normaliseChromosome))
      .toEqual(['1', '1', '1', 'X', 'X', 'MT', 'MT', 'MT', 'MT', 'GL000192.1', 'Un_gl000220']);
  });

  test('assembly names', () => {
    expect(['GRCh37', 'hg19', 'b37', '37', 'GRCh37.p13', 'file:///refs/human_g1k_v37.fasta', 'hs37d5'].map(assemblyName)).toEqual(Array(7).fill('GRCh37'));
    expect(['GRCh38', 'hg38', 'b38', '38', 'GRCh38.p14', '/data/Homo_sapiens_assembly38_hg38.fa'].map(assemblyName)).toEqual(Array(6).fill('GRCh38'));
    expect([null, 'mm10', 'CHM13'].map(assemblyName)).toEqual([null, null, null]);
  });

  test('detectAssembly: contig lengths first, then contig assembly=, then ##reference; an option overrides and disagreement is reported', () => {
    const h = (contigs: { id: string; length: number | null; assembly: string | null }[], reference: string | null) => ({
      file: 'x.vcf', fileformat: 'VCFv4.2', samples: [], contigs, reference, info: {}, format: {}, filters: {}, lineCount: 1,
    });
    expect(detectAssembly(h([{ id: '1', length: 249250621, assembly: null }], null))).toEqual({ assembly: 'GRCh37', source: 'contig lengths', conflict: [] });
    expect(detectAssembly(h([{ id: 'chr1', length: null, assembly: 'hg38' }], null))).toEqual({ assembly: 'GRCh38', source: 'contig assembly', conflict: [] });
    expect(detectAssembly(h([], 'file:///x/human_g1k_v37.fasta'))).toEqual({ assembly: 'GRCh37', source: '##reference', conflict: [] });
    expect(detectAssembly(h([{ id: '1', length: 248956422, assembly: null }], 'hg19'))).toEqual({ assembly: 'GRCh38', source: 'contig lengths', conflict: ['##reference: GRCh37'] });
    expect(detectAssembly(h([], null), 'hg19')).toEqual({ assembly: 'GRCh37', source: 'option', conflict: [] });
    expect(detectAssembly(h([], null))).toEqual({ assembly: null, source: 'none', conflict: [] });
    expect(() => detectAssembly(h([], null), 'mm10')).toThrow(/unknown assembly "mm10"/);
  });
});
