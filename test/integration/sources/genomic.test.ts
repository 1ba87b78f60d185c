import { closeSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  DEFAULT_GENOMIC_CONFIG, candidateGenes, harmonizeMaf, harmonizeVcf, loadClinvar, loadGenomicReferences,
  type GenomicReferences, type GenomicResult,
} from '../../../src/harmonize/genomic.js';
import { GeneIndex, readGeneBed } from '../../../src/sources/bed.js';
import { readMaf } from '../../../src/sources/maf.js';
import { VcfReader, queryVcf, scanVcf, type VcfRecord } from '../../../src/sources/vcf.js';
import { InputError } from '../../../src/model/errors.js';
import { dataDir, tempDir } from '../../helpers/paths.js';

const data = dataDir();
const describeReal = data ? describe : describe.skip;
if (!data) console.warn('genomic integration tests skipped: no data directory (set HARMONIA_DATA or provide ../shared/data)');

const at = (...p: string[]): string => join(data ?? '', ...p);
const pfeiffer = (): string => at('genomics', 'exomiser', 'Pfeiffer.vcf.gz');

/** The data lines of a VCF straight from zlib, independent of the reader. */
function rawLines(file: string): string[][] {
  return gunzipSync(readFileSync(file)).toString('utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('\t'));
}

describeReal('real genomic files', () => {
  let refs: GenomicReferences;
  let pf: GenomicResult;

  beforeAll(async () => {
    refs = await loadGenomicReferences(DEFAULT_GENOMIC_CONFIG.references, data!);
    pf = await harmonizeVcf(pfeiffer(), refs);
  });

  test('Pfeiffer exome: 37,709 records, one sample, GRCh37 from its contig lengths', async () => {
    const { acquisition, stats } = await scanVcf(pfeiffer());
    const raw = rawLines(pfeiffer());
    expect(raw).toHaveLength(37709);
    expect(acquisition).toMatchObject({
      records: 37709, samples: ['manuel'], sampleCount: 1, assembly: 'GRCh37', assemblySource: 'contig lengths', fileformat: 'VCFv4.1',
      contigNaming: 'plain', compression: 'bgzf', indexed: true, multiallelicRecords: 0, headerContigs: 84,
    });
    expect(stats.contigRecords.get('10')).toBe(raw.filter((c) => c[0] === '10').length);
  });

  test('the FGFR2 variant 10:123256215 T>G is called, annotated to FGFR2 by the GRCh37 gene BED, and FGFR2 is a candidate gene', () => {
    const call = pf.calls.find((c) => c.chrom === '10' && c.pos === 123256215);
    expect(call).toMatchObject({ ref: 'T', alt: 'G', gene: 'FGFR2', genes: ['FGFR2'], assembly: 'GRCh37', sample: 'manuel', genotype: '0/1', zygosity: 'heterozygous', depth: 78, genotypeQuality: 99, qual: 900, novel: true, rare: true, clinvar: null });
    const genes = candidateGenes(pf);
    const fgfr2 = genes.find((g) => g.symbol === 'FGFR2');
    expect(fgfr2).toBeDefined();
    expect(fgfr2!.calls.map((c) => `${c.chrom}:${c.pos}${c.ref}>${c.alt}`)).toEqual(['10:123256215T>G']);
    expect(pf.features['gene.FGFR2.rare']).toBe(1);
    expect(pf.features['genes.candidates']).toBe(genes.length);
  });

  test('Pfeiffer filters match an independent count; ClinVar matches are those of the raw files', () => {
    const raw = rawLines(pfeiffer());
    // GT:AD:DP:GQ:PL in every record of this file.
    const fails = raw.filter((c) => {
      const s = c[9].split(':');
      return Number(c[5]) < 20 || Number(s[2]) < 8 || Number(s[3]) < 20;
    });
    expect(pf.features['records.filtered_out']).toBe(fails.length);
    expect(pf.features['variants.called']).toBe(37709 - fails.length);
    expect(pf.features['records.read']).toBe(37709);
    const clinvar = new Set(rawLines(at('genomics', 'exomiser', 'clinvar-test.vcf.gz')).map((c) => `${c[0]}:${c[1]}:${c[3]}:${c[4]}`));
    const failed = new Set(fails.map((c) => `${c[0]}:${c[1]}:${c[3]}:${c[4]}`));
    const expected = raw.map((c) => `${c[0]}:${c[1]}:${c[3]}:${c[4]}`).filter((k) => clinvar.has(k) && !failed.has(k));
    expect(pf.calls.filter((c) => c.clinvar).map((c) => `${c.chrom}:${c.pos}:${c.ref}:${c.alt}`)).toEqual(expected);
    expect(expected).toHaveLength(3);
    expect(pf.features['variants.ti_tv']).toBeGreaterThan(2.4); // an exome's Ti/Tv is about 2.5-3
    expect(pf.provenance.map((p) => p.step)).toContain('genomic.annotate_genes');
  });

  test('ClinVar extract: 2,000 records, CLNSIG values and classes', async () => {
    const raw = rawLines(at('genomics', 'exomiser', 'clinvar-test.vcf.gz'));
    expect(raw).toHaveLength(2000);
    const cv = await loadClinvar(at('genomics', 'exomiser', 'clinvar-test.vcf.gz'));
    expect(cv.assembly).toBe('GRCh37');
    expect(cv.size).toBe(1999); // one record has no ALT (no_sequence_alteration)
    const bySignificance = new Map<string, number>();
    const byClass = new Map<string, number>();
    for (const [, e] of cv.entries()) {
      bySignificance.set(e.significance, (bySignificance.get(e.significance) ?? 0) + 1);
      byClass.set(e.class, (byClass.get(e.class) ?? 0) + 1);
    }
    expect(Object.fromEntries(bySignificance)).toEqual({
      Uncertain_significance: 1078, Likely_benign: 715, Benign: 135, Conflicting_interpretations_of_pathogenicity: 25, Pathogenic: 19,
      'Benign/Likely_benign': 15, Likely_pathogenic: 8, not_provided: 2, 'Pathogenic/Likely_pathogenic': 2,
    });
    expect(byClass.get('PATHOGENIC')).toBe(21);
    expect(byClass.get('LIKELY_PATHOGENIC')).toBe(8);
    expect(cv.get('1', 69134, 'A', 'G')).toMatchObject({ class: 'LIKELY_BENIGN', variationId: '2205837', genes: ['OR4F5'] });
  });

  test('tabix region query on Pfeiffer returns exactly the records a full scan finds in the region', async () => {
    const region = { chrom: '10', start: 123237849, end: 123357972 }; // FGFR2 in the GRCh37 gene BED (BED start + 1)
    const { records } = await queryVcf(pfeiffer(), region);
    const reader = await VcfReader.open(pfeiffer());
    const scanned: VcfRecord[] = [];
    for await (const r of reader.records()) if (r.chrom === '10' && r.pos >= region.start && r.pos <= region.end) scanned.push(r);
    expect(records.length).toBeGreaterThan(0);
    expect(records.map((r) => `${r.pos}${r.ref}>${r.alts}`)).toEqual(scanned.map((r) => `${r.pos}${r.ref}>${r.alts}`));
    expect(records.find((r) => r.pos === 123256215)).toMatchObject({ ref: 'T', alts: ['G'], line: null });
    expect(Array.from(records.find((r) => r.pos === 123256215)!.gt)).toEqual([0, 1]);
    const chr = await queryVcf(pfeiffer(), { ...region, chrom: 'chr10' });
    expect(chr.records).toHaveLength(records.length);
    expect((await queryVcf(pfeiffer(), { chrom: 'chr99', start: 1, end: 100 })).records).toEqual([]);
    await expect(queryVcf(at('genomics', 'exomiser', 'clinvar-test.vcf.gz'), region)).rejects.toThrow(/no tabix index/);
  });

  test('a BGZF file cut at a block boundary or inside a block is one clear error', async () => {
    const dir = tempDir();
    try {
      // BGZF blocks: BSIZE (total block size - 1) is the little-endian u16 at offset 16 of each block.
      const fd = openSync(pfeiffer(), 'r');
      const head = Buffer.alloc(200_000);
      readSync(fd, head, 0, head.length, 0);
      closeSync(fd);
      let end = 0;
      for (let i = 0; i < 3; i++) end += head.readUInt16LE(end + 16) + 1;
      const atBoundary = join(dir.path, 'blocks.vcf.gz');
      writeFileSync(atBoundary, head.subarray(0, end));
      const read = async (f: string): Promise<void> => {
        const r = await VcfReader.open(f);
        for await (const b of r.batches()) void b;
      };
      await expect(read(atBoundary)).rejects.toThrow(InputError);
      await expect(read(atBoundary)).rejects.toThrow(/field gzip: truncated BGZF file: the end-of-file block is missing/);
      const inside = join(dir.path, 'inside.vcf.gz');
      writeFileSync(inside, head.subarray(0, end + 5000));
      await expect(read(inside)).rejects.toThrow(/field gzip: truncated gzip stream \(unexpected end of file\)/);
    } finally {
      dir.remove();
    }
  });

  test('TCGA-LAML MAF: 2,207 mutations of 193 samples, linked to the clinical table', async () => {
    const maf = at('tcga', 'maftools', 'tcga_laml.maf.gz');
    const doc = await readMaf(maf, { clinical: at('tcga', 'maftools', 'tcga_laml_annot.tsv') });
    const raw = gunzipSync(readFileSync(maf)).toString().split('\n').filter((l) => l && !l.startsWith('Hugo_Symbol')).map((l) => l.split('\t'));
    expect(doc.mutations).toHaveLength(2207);
    expect(doc.samples).toHaveLength(193);
    expect(doc.acquisition).toMatchObject({ format: 'MAF', assembly: 'GRCh37', mutations: 2207, samples: 193, clinicalRows: 200, samplesWithClinical: 193, clinicalWithoutMutations: 7 });
    expect(doc.clinicalWithoutMutations).toEqual(['TCGA-AB-2811', 'TCGA-AB-2815', 'TCGA-AB-2837', 'TCGA-AB-2856', 'TCGA-AB-2893', 'TCGA-AB-2944', 'TCGA-AB-2969']);
    const count = (gene: string): number => raw.filter((c) => c[0] === gene).length;
    expect(doc.mutations.filter((m) => m.gene === 'FLT3')).toHaveLength(count('FLT3'));
    expect(doc.mutations.filter((m) => m.chrom === 'X')).toHaveLength(raw.filter((c) => c[4] === '23').length);
    expect(doc.mutations.filter((m) => m.classification === 'Missense_Mutation')).toHaveLength(1342);
    const s = doc.samples.find((x) => x.barcode === 'TCGA-AB-2802')!;
    expect(s.clinical).toMatchObject({ FAB_classification: 'M4', days_to_last_followup: '365', Overall_Survival_Status: '1' });
    const first = doc.mutations[0];
    expect(first).toMatchObject({ gene: 'ABCA10', chrom: '17', start: 67170917, ref: 'T', alt: 'C', classification: 'Splice_Site', sample: 'TCGA-AB-2988', proteinChange: 'p.K960R' });
    const results = harmonizeMaf(doc, refs);
    expect(results.reduce((n, r) => n + r.features['mutations.total'], 0)).toBe(2207);
    expect(results.reduce((n, r) => n + r.features['mutations.nonsynonymous'], 0)).toBe(doc.acquisition.nonsynonymous);
    expect(results.find((r) => r.sample === 'TCGA-AB-2802')!.clinical?.FAB_classification).toBe('M4');
  });

  test('hap.py files: GIAB complex indels (184,632 records, multi-allelic phased calls split) and Platinum Genomes chr21', async () => {
    const giab = at('genomics', 'happy', 'Complex_1ormoreindels_NIST2.19.vcf.gz');
    const g = await harmonizeVcf(giab, refs);
    expect(g.acquisition).toMatchObject({ records: 184632, multiallelicRecords: 1325, samples: ['NA12878'], assembly: 'GRCh37', contigNaming: 'plain' });
    // Every multi-allelic record here is a 1|2-style call: each ALT is carried, so the split adds one row per such record.
    expect(g.features['variants.called']).toBe(184632 + 1325);
    const gts = rawLines(giab).map((c) => c[9].split(':')[0]);
    expect(g.acquisition.phasedGenotypes).toBe(gts.filter((gt) => gt.includes('|')).length);
    // A phased 1|2 call becomes two phased calls (1|0 and 0|1): one per distinct ALT allele carried.
    const phasedAlleles = gts.filter((gt) => gt.includes('|')).reduce((n, gt) => n + new Set(gt.split('|').filter((a) => a !== '0')).size, 0);
    expect(g.calls.filter((c) => c.phased).length).toBe(phasedAlleles);
    expect(g.calls.filter((c) => c.phased && c.genotype === '1|0').length).toBeGreaterThan(1000);
    expect(g.calls.filter((c) => c.source.alt.includes(',')).length).toBe(0);
    const hc = await scanVcf(at('genomics', 'happy', 'PG_hc.vcf.gz'));
    expect(hc.acquisition).toMatchObject({ records: 5855, contigs: ['chr21'], contigNaming: 'chr-prefixed', headerContigNaming: 'mixed', assembly: 'GRCh37', reference: 'hg19' });
    const perf = await scanVcf(at('genomics', 'happy', 'PG_performance.vcf.gz'));
    expect(perf.acquisition).toMatchObject({ records: 12621, contigs: ['chr21'], assembly: 'GRCh37' });
    expect(perf.acquisition.phasedGenotypes).toBe(rawLines(at('genomics', 'happy', 'PG_performance.vcf.gz')).filter((c) => c[9].split(':')[0].includes('|')).length);
  });

  test('gene BEDs: GRCh37 (21,833 intervals) and GRCh38 (44,587, chr-prefixed, Ensembl ids); FGFR2 in both', async () => {
    const b37 = await readGeneBed(at('genomics', 'genes', 'crt_genes_GRCh37.bed'));
    const b38 = await readGeneBed(at('genomics', 'genes', 'mendelics_genes_GRCh38.bed'));
    expect(b37.acquisition).toMatchObject({ assembly: 'GRCh37', intervals: 21833, layout: 'name' });
    expect(b38.acquisition).toMatchObject({ assembly: 'GRCh38', intervals: 44587, layout: 'ensembl-symbol', contigNaming: 'chr-prefixed' });
    expect(GeneIndex.fromBed(b37).genesAt('10', 123256215)).toEqual(['FGFR2']);
    expect(GeneIndex.fromBed(b38).genesAt('chr10', 121496701)).toContain('FGFR2'); // the same variant on GRCh38
    expect(b38.genes.find((g) => g.symbol === 'FGFR2')?.id).toBe('ENSG00000066468');
  });
});
