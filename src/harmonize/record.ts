import type { Modality } from '../sources/manifest.js';
import type { NdArray, StepProvenance } from './provenance.js';

export type AcquisitionValue = number | string | boolean | number[] | string[];

/** A variant called in a VCF (or listed in a MAF), after normalisation and annotation. */
export interface CalledVariant {
  chrom: string;
  pos: number;
  ref: string;
  alt: string;
  assembly?: string;
  gene?: string;
  /** `0/1`, `1|0`, ... as recoded for this allele after a multi-allelic split. */
  genotype?: string;
  zygosity?: 'heterozygous' | 'homozygous' | 'hemizygous' | 'unknown';
  /** ClinVar's significance as written (CLNSIG), e.g. `Pathogenic`, `Likely_pathogenic`. */
  clinvar?: string;
  /** The same as an ACMG class (PATHOGENIC, LIKELY_PATHOGENIC, UNCERTAIN_SIGNIFICANCE, ...), for cohort criteria. */
  acmgClass?: string;
  /** MAF: Variant_Classification (Missense_Mutation, ...). */
  consequence?: string;
  rare?: boolean;
}

/**
 * What harmonising one record produced: the acquisition parameters read from the file, named
 * features, harmonized arrays (saved as .npy beside the store), the provenance of every step and,
 * for genomic records, the called variants.
 */
export interface HarmonizedRecord {
  modality: Modality;
  /** The file format as read: `vcf`, `nifti-1`, `dicom`, `edf+`, `wfdb`, `mat-v4`, ... */
  format: string;
  acquisition: Record<string, AcquisitionValue>;
  features: Record<string, number>;
  arrays: Record<string, NdArray>;
  provenance: StepProvenance[];
  variants?: CalledVariant[];
}
