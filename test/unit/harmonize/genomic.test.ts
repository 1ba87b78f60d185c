import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import {
  DEFAULT_GENOMIC_CONFIG, candidateGenes, checkGenomicConfig, clinicalClass, filterVariants, genomicConfig, harmonizeMaf, harmonizeVcf,
  loadClinvar, loadGenomicReferences, normaliseAllele, splitMultiallelic, type CalledVariant, type GenomicReferences, type VariantRow,
} from '../../../src/harmonize/genomic.js';
import { toRow } from '../../../src/harmonize/genomic-steps.js';
import { IndexedFasta } from '../../../src/sources/fasta.js';
import { readMaf } from '../../../src/sources/maf.js';
import { VcfReader, ALLELE_MISSING } from '../../../src/sources/vcf.js';
import { InputError } from '../../../src/model/errors.js';
import { fixtures, tempDir } from '../../helpers/paths.js';

const dir = join(fixtures, 'genomic');
const trio = join(dir, 'trio.vcf');
const paths = { genes: { GRCh38: 'genes-GRCh38.bed' }, clinvar: { GRCh38: 'clinvar-mini.vcf' }, fasta: {} };

let refs: GenomicReferences;
beforeAll(async () => {
  refs = await loadGenomicReferences(paths, dir);
});

async function rows(file = trio): Promise<VariantRow[]> {
  const reader = await VcfReader.open(file);
  const out: VariantRow[] = [];
  for await (const r of reader.records()) out.push(toRow(r));
  return out;
}

const key = (c: CalledVariant): string => `${c.chrom}:${c.pos} ${c.ref}>${c.alt} ${c.sample} ${c.genotype}`;

describe('genomic steps', () => {
  test('allele trimming: common suffix, then common prefix keeping an anchor base, position moved', () => {
    const p = { trim: true, leftAlign: true };
    expect(normaliseAllele('1', 3000, 'GCA', 'GA', p, null)).toEqual({ pos: 3000, ref: 'GC', alt: 'G' });
    expect(normaliseAllele('1', 4000, 'ACGT', 'ATGT', p, null)).toEqual({ pos: 4001, ref: 'C', alt: 'T' });
    expect(normaliseAllele('1', 10000, 'CAAA', 'CAA', p, null)).toEqual({ pos: 10000, ref: 'CA', alt: 'C' });
    expect(normaliseAllele('1', 500, 'CTTG', 'CG', p, null)).toEqual({ pos: 500, ref: 'CTT', alt: 'C' });
    expect(normaliseAllele('1', 7, 'a', 'g', p, null)).toEqual({ pos: 7, ref: 'A', alt: 'G' });
    // Without a reference an indel cannot move past the bases its alleles carry.
    expect(normaliseAllele('T', 10, 'ACA', 'A', p, null)).toEqual({ pos: 10, ref: 'ACA', alt: 'A' });
    expect(normaliseAllele('1', 3000, 'GCA', 'GA', { trim: false, leftAlign: false }, null)).toEqual({ pos: 3000, ref: 'GCA', alt: 'GA' });
  });

  test('left-alignment with a reference FASTA moves indels to the leftmost equivalent position', () => {
    // chrT: GG CACACACACA T GATTACA... (positions 1-2 GG, 3-12 the CA repeat)
    const fasta = new IndexedFasta(join(dir, 'chrT.fa'));
    try {
      expect(fasta.fetch('chrT', 1, 13)).toBe('GGCACACACACAT');
      expect(fasta.fetch('T', 49, 53)).toBe(fasta.fetch('chrT', 49, 53)); // across the line break
      expect(fasta.fetch('chrT', 49, 53)).toHaveLength(5);
      const p = { trim: true, leftAlign: true };
      expect(normaliseAllele('chrT', 10, 'ACA', 'A', p, fasta)).toEqual({ pos: 2, ref: 'GCA', alt: 'G' });
      expect(normaliseAllele('chrT', 12, 'A', 'ACA', p, fasta)).toEqual({ pos: 2, ref: 'G', alt: 'GCA' });
      expect(normaliseAllele('chrT', 13, 'T', 'C', p, fasta)).toEqual({ pos: 13, ref: 'T', alt: 'C' });
    } finally {
      fasta.close();
    }
  });

  test('multi-allelic split re-codes genotypes per allele and keeps phase; * alleles are dropped', async () => {
    const all = await rows();
    const multi = all.filter((r) => r.pos === 2000 || r.pos === 9000);
    const split = splitMultiallelic(multi, { otherAlleles: 'ref', dropSpanningDeletions: true }, [0, 1, 2], true);
    expect(split.map((r) => [r.pos, r.alts[0], r.sourceAlt, Array.from(r.gt)])).toEqual([
      [2000, 'T', 1, [1, 0, 0, 1, 0, 0]],
      [2000, 'A', 2, [0, 1, 0, 0, 0, 1]],
      [9000, 'CAA', 1, [1, 0, 0, 0, ALLELE_MISSING, ALLELE_MISSING]],
    ]);
    expect(Array.from(split[0].phased)).toEqual([1, 0, 0]);
    const missing = splitMultiallelic(multi, { otherAlleles: 'missing', dropSpanningDeletions: false }, [0, 1, 2], true);
    expect(missing.map((r) => [r.alts[0], Array.from(r.gt)])).toEqual([
      ['T', [1, ALLELE_MISSING, 0, 1, 0, ALLELE_MISSING]],
      ['A', [ALLELE_MISSING, 1, 0, ALLELE_MISSING, 0, 1]],
      ['CAA', [1, ALLELE_MISSING, 0, 0, ALLELE_MISSING, ALLELE_MISSING]],
      ['*', [ALLELE_MISSING, 1, 0, 0, ALLELE_MISSING, ALLELE_MISSING]],
    ]);
    // Inputs are not mutated.
    expect(Array.from(multi[0].gt)).toEqual([1, 2, 0, 1, 0, 2]);
  });

  test('filters: FILTER, QUAL, and DP/GQ turning genotypes into no-calls', async () => {
    const all = await rows();
    const p = DEFAULT_GENOMIC_CONFIG.filter;
    const kept = filterVariants(all, p, [0, 1, 2], true).map((r) => r.pos);
    expect(kept).toEqual([1000, 2000, 3000, 4000, 8000, 100, 9000, 10000, 10]);
    const strict = filterVariants(all, { ...p, minGenotypeQuality: 55 }, [0, 1, 2], true);
    const multi = strict.find((r) => r.pos === 2000)!;
    expect(Array.from(multi.gt)).toEqual([1, 2, ALLELE_MISSING, ALLELE_MISSING, ALLELE_MISSING, ALLELE_MISSING]);
    expect(filterVariants(all, { ...p, filters: ['PASS'] }, [0, 1, 2], true).some((r) => r.pos === 8000)).toBe(false);
    expect(filterVariants(all, { ...p, minQual: 5, filters: ['PASS', 'LowQual', '.'] }, [0, 1, 2], true).map((r) => r.pos)).toContain(5000);
  });

  test('ClinVar significance to ACMG-style classes', () => {
    expect(['Pathogenic', 'Likely_pathogenic', 'Pathogenic/Likely_pathogenic', 'Uncertain_significance', 'Benign/Likely_benign', 'Likely_benign',
      'Conflicting_interpretations_of_pathogenicity', 'not_provided', 'risk_factor', 'Pathogenic|drug_response', 'Pathogenic,_low_penetrance'].map(clinicalClass))
      .toEqual(['PATHOGENIC', 'LIKELY_PATHOGENIC', 'PATHOGENIC', 'UNCERTAIN_SIGNIFICANCE', 'BENIGN', 'LIKELY_BENIGN', 'CONFLICTING', 'OTHER', 'OTHER', 'PATHOGENIC', 'PATHOGENIC']);
  });

  test('a ClinVar VCF is indexed after the same normalisation as call sets', async () => {
    const cv = await loadClinvar(join(dir, 'clinvar-mini.vcf'));
    expect(cv.assembly).toBe('GRCh38');
    expect(cv.size).toBe(6); // the record without ALT is skipped
    expect(cv.get('1', 3000, 'GC', 'G')).toMatchObject({ class: 'LIKELY_PATHOGENIC', variationId: '103', genes: ['GENEB', 'GENEC'] });
    expect(cv.get('1', 3000, 'GCA', 'GA')).toBeUndefined();
    expect(cv.get('1', 2000, 'C', 'A')).toMatchObject({ class: 'BENIGN', frequencies: { AF_EXAC: 0.31 } });
    await expect(loadClinvar(join(dir, 'clinvar-mini.vcf'), { assembly: 'GRCh37' })).rejects.toThrow(/ClinVar file is GRCh38, it was given as GRCh37/);
    await expect(loadClinvar(trio)).rejects.toThrow(/not a ClinVar VCF/);
  });
});

describe('harmonizeVcf', () => {
  test('called variants: chromosome naming, split genotypes, trimming, zygosity, genes, ClinVar, rarity', async () => {
    const r = await harmonizeVcf(trio, refs);
    expect(r.assembly).toBe('GRCh38');
    expect(r.warnings).toEqual([]);
    expect(r.calls.map(key)).toEqual([
      '1:1000 A>G child 0|1', '1:1000 A>G father 1|1',
      '1:2000 C>T child 1|0', '1:2000 C>T mother 0/1',
      '1:2000 C>A child 0|1', '1:2000 C>A father 0/1',
      '1:3000 GC>G child 0/1',
      '1:4001 C>T child 0/1', '1:4001 C>T mother 0/1',
      'X:8000 A>G child 1', 'X:8000 A>G father 1',
      'MT:100 A>G child 1', 'MT:100 A>G father 1',
      '1:9000 C>CAA child 1/0',
      '1:10000 CA>C child 0/1',
      'T:10 ACA>A child 0/1',
    ]);
    const by = (k: string): CalledVariant => r.calls.find((c) => key(c) === k)!;
    expect(by('1:1000 A>G father 1|1')).toMatchObject({ zygosity: 'homozygous', phased: true, genes: ['GENEA'], rare: false, novel: false, alleleFrequency: 0.2, frequencySource: 'gnomAD_AF', clinvar: { class: 'CONFLICTING' } });
    expect(by('1:2000 C>T child 1|0')).toMatchObject({ zygosity: 'heterozygous', rare: true, alleleFrequency: 0.001, clinvar: { class: 'PATHOGENIC', variationId: '101' }, source: { pos: 2000, ref: 'C', alt: 'T' } });
    expect(by('1:2000 C>A father 0/1')).toMatchObject({ rare: false, alleleFrequency: 0.31, frequencySource: 'clinvar:AF_EXAC', clinvar: { class: 'BENIGN' } });
    expect(by('1:3000 GC>G child 0/1')).toMatchObject({ variantClass: 'deletion', genes: ['GENEB'], clinvar: { class: 'LIKELY_PATHOGENIC' }, source: { pos: 3000, ref: 'GCA', alt: 'GA' }, depth: 30, genotypeQuality: 99 });
    expect(by('1:4001 C>T child 0/1')).toMatchObject({ genes: ['GENEB', 'GENEC'], gene: 'GENEB', rare: true, novel: false, clinvar: { class: 'PATHOGENIC' } });
    expect(by('X:8000 A>G child 1')).toMatchObject({ zygosity: 'hemizygous', genes: ['GENEX'], filters: [] });
    expect(by('MT:100 A>G child 1')).toMatchObject({ genes: [], gene: null, depth: null });
    expect(by('1:9000 C>CAA child 1/0')).toMatchObject({ variantClass: 'insertion', genes: ['GENEC'], source: { ref: 'C', alt: 'CAA' } });
    expect(by('1:10000 CA>C child 0/1')).toMatchObject({ clinvar: { class: 'UNCERTAIN_SIGNIFICANCE' } });
  });

  test('features: counts, ratios and gene-level burden; the burden array follows the gene BED', async () => {
    const r = await harmonizeVcf(trio, refs);
    const f = r.features;
    expect(f).toMatchObject({
      'records.read': 12, 'records.filtered_out': 3, 'records.multiallelic': 2,
      'variants.called': 10, 'variants.snv': 6, 'variants.insertion': 1, 'variants.deletion': 3, 'variants.mnv': 0,
      'variants.normalised': 3, 'variants.in_genes': 9, 'variants.clinvar_annotated': 6, 'variants.clinvar_pathogenic': 3,
      'variants.clinvar_benign': 1, 'variants.clinvar_uncertain': 1, 'variants.with_frequency': 4, 'variants.rare': 8, 'variants.novel': 8,
      'calls.heterozygous': 11, 'calls.homozygous': 1, 'calls.hemizygous': 4, 'variants.ti_tv': 5, 'calls.het_hom_ratio': 11,
      'genes.with_variants': 5, 'genes.with_pathogenic': 3, 'genes.with_rare': 5, 'genes.candidates': 5,
      'gene.GENEA.count': 3, 'gene.GENEA.pathogenic': 1, 'gene.GENEA.rare': 1,
      'gene.GENEB.count': 2, 'gene.GENEB.pathogenic': 2, 'gene.GENEB.rare': 2,
      'gene.GENEC.count': 3, 'gene.GENEC.pathogenic': 1, 'gene.GENEC.rare': 3,
    });
    expect(r.burdenGenes).toEqual(['GENEA', 'GENEB', 'GENEC', 'GENEX', 'GENET']);
    expect(r.arrays.gene_burden.shape).toEqual([5, 3]);
    expect(Array.from(r.arrays.gene_burden.data)).toEqual([3, 1, 1, 2, 2, 2, 3, 1, 3, 1, 0, 1, 1, 0, 1]);
    expect(candidateGenes(r).map((g) => [g.symbol, g.pathogenic, g.rare, g.variants])).toEqual([
      ['GENEB', 2, 2, 2], ['GENEC', 1, 3, 3], ['GENEA', 1, 1, 3], ['GENET', 0, 1, 1], ['GENEX', 0, 1, 1],
    ]);
    const none = await harmonizeVcf(trio, refs, genomicConfig({ burden: { geneFeatures: 'none' } }));
    expect(Object.keys(none.features).some((k) => k.startsWith('gene.'))).toBe(false);
  });

  test('provenance: every step with parameters and chained checksums, reproducible', async () => {
    const a = await harmonizeVcf(trio, refs);
    const b = await harmonizeVcf(trio, refs);
    expect(a.provenance.map((p) => p.step)).toEqual([
      'genomic.chromosome', 'genomic.filter', 'genomic.split', 'genomic.normalise', 'genomic.annotate_genes', 'genomic.clinvar', 'genomic.rarity', 'genomic.burden',
    ]);
    for (let i = 1; i < a.provenance.length; i++) expect(a.provenance[i].input).toBe(a.provenance[i - 1].output);
    expect(a.provenance.map((p) => p.output)).toEqual(b.provenance.map((p) => p.output));
    expect(a.provenance[0].input).toMatch(/^[0-9a-f]{64}$/);
    expect(a.provenance[0].input).not.toBe(a.provenance[0].output); // chr1 -> 1 changed the rows
    expect(a.provenance[1].parameters).toMatchObject({ minQual: 20, minDepth: 8, minGenotypeQuality: 20, rowsIn: 12, rowsOut: 9, samples: ['child', 'mother', 'father'] });
    expect(a.provenance[2].parameters).toMatchObject({ otherAlleles: 'ref', rowsIn: 9, rowsOut: 10 });
    const stricter = await harmonizeVcf(trio, refs, genomicConfig({ filter: { minQual: 55 } }));
    expect(stricter.provenance[1].output).not.toBe(a.provenance[1].output);
    expect(stricter.provenance[0].output).toBe(a.provenance[0].output);
  });

  test('a reference FASTA completes left-alignment; ucsc chromosome style on request', async () => {
    const withFasta = await loadGenomicReferences({ ...paths, fasta: { GRCh38: 'chrT.fa' } }, dir);
    const r = await harmonizeVcf(trio, withFasta, genomicConfig({ chromosome: { style: 'ucsc' } }));
    expect(r.calls.filter((c) => c.chrom === 'chrT').map((c) => [c.pos, c.ref, c.alt])).toEqual([[2, 'GCA', 'G']]);
    expect(r.calls.some((c) => c.chrom === 'chrM')).toBe(true);
    expect(r.features['variants.normalised']).toBe(4);
    expect(r.provenance[3].parameters.reference).toBe(join(dir, 'chrT.fa'));
  });

  test('one sample of a multi-sample file; an unknown sample is an InputError', async () => {
    const r = await harmonizeVcf(trio, refs, genomicConfig({ sample: 'mother' }));
    expect(r.samples).toEqual(['mother']);
    expect(r.calls.map(key)).toEqual(['1:2000 C>T mother 0/1', '1:4001 C>T mother 0/1']);
    await expect(harmonizeVcf(trio, refs, genomicConfig({ sample: 'grandma' }))).rejects.toThrow(InputError);
    await expect(harmonizeVcf(trio, refs, genomicConfig({ sample: 'grandma' }))).rejects.toThrow(/field sample: sample "grandma" is not in the VCF/);
  });

  test('a site-only VCF gives one call per variant without sample; an unknown assembly is said, not guessed', async () => {
    const r = await harmonizeVcf(join(dir, 'clinvar-mini.vcf'), refs);
    expect(r.calls).toHaveLength(6);
    expect(r.calls[0]).toMatchObject({ sample: null, genotype: null, zygosity: 'unspecified', genes: ['GENEA'] });
    const t = tempDir();
    try {
      const f = join(t.path, 'noasm.vcf');
      writeFileSync(f, readFileSync(trio, 'utf8').replace(/^##(reference|contig)=.*\n/gm, ''));
      const u = await harmonizeVcf(f, refs);
      expect(u.assembly).toBeNull();
      expect(u.warnings[0]).toMatch(/assembly unknown/);
      expect(u.calls.every((c) => c.genes.length === 0 && c.clinvar === null)).toBe(true);
      expect(u.arrays).toEqual({});
      const given = await harmonizeVcf(f, refs, DEFAULT_GENOMIC_CONFIG, { assembly: 'hg38' });
      expect(given.assembly).toBe('GRCh38');
      expect(given.acquisition.assemblySource).toBe('option');
      expect(given.calls.filter((c) => c.clinvar !== null)).toHaveLength(10);
    } finally {
      t.remove();
    }
  });

  test('the default config is plain JSON, overrides merge per section, bad values are refused', async () => {
    expect(JSON.parse(JSON.stringify(DEFAULT_GENOMIC_CONFIG))).toEqual(DEFAULT_GENOMIC_CONFIG);
    expect(checkGenomicConfig(DEFAULT_GENOMIC_CONFIG)).toBe(DEFAULT_GENOMIC_CONFIG);
    expect(() => checkGenomicConfig(genomicConfig({ filter: { minQual: NaN } }), 'harmonia.json')).toThrow('harmonia.json, record genomic, field filter.minQual: must be a number in [0, Infinity], got NaN');
    expect(() => checkGenomicConfig(genomicConfig({ rarity: { maxAlleleFrequency: 5 } }))).toThrow(/field rarity.maxAlleleFrequency/);
    expect(() => checkGenomicConfig(genomicConfig({ split: { otherAlleles: 'zero' as 'ref' } }))).toThrow(/field split.otherAlleles: must be one of ref, missing/);
    await expect(harmonizeVcf(trio, refs, genomicConfig({ burden: { geneFeatures: 'some' as 'all' } }))).rejects.toThrow(InputError);
    const c = genomicConfig({ filter: { minDepth: 20 } });
    expect(c.filter).toEqual({ ...DEFAULT_GENOMIC_CONFIG.filter, minDepth: 20 });
    expect(c.split).toEqual(DEFAULT_GENOMIC_CONFIG.split);
  });
});

describe('harmonizeMaf', () => {
  test('per tumour sample: calls in MAF notation, class counts, non-synonymous gene counts, clinical row', async () => {
    const doc = await readMaf(join(dir, 'mini.maf'), { clinical: join(dir, 'mini-clinical.tsv') });
    const out = harmonizeMaf(doc, refs);
    expect(out.map((s) => s.sample)).toEqual(['TCGA-AB-0001', 'TCGA-AB-0002', 'TCGA-AB-0002-03A']);
    const s1 = out[0];
    expect(s1.clinical).toMatchObject({ FAB_classification: 'M1' });
    expect(s1.features).toEqual({
      'mutations.total': 3, 'mutations.nonsynonymous': 2, 'mutations.snv': 2, 'mutations.mnv': 0, 'mutations.insertion': 1, 'mutations.deletion': 0,
      'mutations.clinvar_pathogenic': 0, 'mutations.vaf_median': 0.396, 'class.Missense_Mutation': 1, 'class.Frame_Shift_Ins': 1, 'class.Silent': 1,
      'genes.mutated': 2, 'gene.FLT3.count': 1, 'gene.NPM1.count': 1,
    });
    expect(s1.calls[1]).toMatchObject({ chrom: '5', pos: 170837543, ref: '-', alt: 'TCTG', notation: 'maf', variantClass: 'insertion', gene: 'NPM1', classification: 'Frame_Shift_Ins', proteinChange: 'p.W288fs', assembly: 'GRCh37', alleleFraction: 0.38 });
    expect(out[1].calls[0]).toMatchObject({ chrom: 'X', variantClass: 'deletion' });
    expect(s1.provenance.map((p) => p.step)).toEqual(['genomic.maf_select', 'genomic.burden']);
    expect(s1.provenance[1].input).toBe(s1.provenance[0].output);
  });
});
