import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readClinicalTable, readMaf } from '../../../src/sources/maf.js';
import { fixtures, tempDir } from '../../helpers/paths.js';

const maf = join(fixtures, 'genomic', 'mini.maf');
const clinical = join(fixtures, 'genomic', 'mini-clinical.tsv');

describe('MAF reader', () => {
  test('mutations with gene, class, coordinates, assembly; tumour allele chosen; X written as 23', async () => {
    const doc = await readMaf(maf);
    expect(doc.mutations).toHaveLength(5);
    expect(doc.mutations[0]).toEqual({
      line: 3, gene: 'FLT3', entrezId: '2322', chrom: '13', start: 28608255, end: 28608255, ref: 'C', alt: 'A',
      tumorSeqAllele1: 'C', tumorSeqAllele2: 'A', classification: 'Missense_Mutation', type: 'SNP', sample: 'TCGA-AB-0001',
      proteinChange: 'p.D835Y', assembly: 'GRCh37', vaf: expect.closeTo(0.412, 12), center: 'genome.wustl.edu',
    });
    expect(doc.mutations[1]).toMatchObject({ ref: '-', alt: 'TCTG', type: 'INS' });
    expect(doc.mutations[2].vaf).toBeNull(); // NA
    expect(doc.mutations[3]).toMatchObject({ chrom: 'X', ref: 'TCT', alt: '-' });
    expect(doc.mutations[4]).toMatchObject({ gene: 'TP53', ref: 'G', alt: 'A' }); // Allele2 equals REF: Allele1 is the tumour allele
    expect(doc.acquisition).toMatchObject({ format: 'MAF', assembly: 'GRCh37', mutations: 5, samples: 3, genes: 5, nonsynonymous: 4, clinicalRows: 0 });
  });

  test('samples link to clinical rows by barcode, or by the TCGA patient barcode', async () => {
    const doc = await readMaf(maf, { clinical });
    expect(doc.samples.map((s) => [s.barcode, s.mutations, s.clinical?.FAB_classification ?? null])).toEqual([
      ['TCGA-AB-0001', [0, 1, 2], 'M1'],
      ['TCGA-AB-0002', [3], 'M3'],
      ['TCGA-AB-0002-03A', [4], 'M3'],
    ]);
    expect(doc.clinicalWithoutMutations).toEqual(['TCGA-AB-0003']);
    expect(doc.acquisition).toMatchObject({ clinicalRows: 3, samplesWithClinical: 3, clinicalWithoutMutations: 1 });
  });

  test('bad MAF and clinical files name file, line and field', async () => {
    const dir = tempDir();
    try {
      const f = join(dir.path, 'bad.maf');
      writeFileSync(f, 'Hugo_Symbol\tChromosome\tStart_Position\tEnd_Position\tReference_Allele\tTumor_Seq_Allele2\tVariant_Classification\n');
      await expect(readMaf(f)).rejects.toThrow(`${f}, record line 1, field Tumor_Sample_Barcode: MAF header has no Tumor_Sample_Barcode column`);
      const head = 'Hugo_Symbol\tChromosome\tStart_Position\tEnd_Position\tReference_Allele\tTumor_Seq_Allele2\tVariant_Classification\tTumor_Sample_Barcode\n';
      writeFileSync(f, head + 'TP53\t17\t75x\t757\tC\tT\tMissense_Mutation\tS1\n');
      await expect(readMaf(f)).rejects.toThrow(/record line 2, field Start_Position: Start_Position "75x"/);
      writeFileSync(f, head + 'TP53\t17\t757\t757\tC\tC\tMissense_Mutation\tS1\n');
      await expect(readMaf(f)).rejects.toThrow(/field Tumor_Seq_Allele2: neither Tumor_Seq_Allele2 nor Tumor_Seq_Allele1 differs/);
      writeFileSync(f, head + 'TP53\t17\t757\t757\tC\tT\tMissense_Mutation\t\n');
      await expect(readMaf(f)).rejects.toThrow(/field Tumor_Sample_Barcode: Tumor_Sample_Barcode is empty/);
      const c = join(dir.path, 'clinical.tsv');
      writeFileSync(c, 'Tumor_Sample_Barcode\tx\nS1\t1\nS1\t2\n');
      await expect(readClinicalTable(c)).rejects.toThrow(`${c}, record line 3, field Tumor_Sample_Barcode: Tumor_Sample_Barcode "S1" appears twice`);
    } finally {
      dir.remove();
    }
  });
});
