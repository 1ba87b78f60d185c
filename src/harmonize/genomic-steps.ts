// The genomic harmonisation steps: each a pure, row-wise function from variant rows and parameters
// to new rows (unchanged rows are passed through as the same objects, changed rows are new objects;
// inputs are never mutated). Being row-wise, applying a step batch by batch equals applying it once
// to the whole call set, which lets the harmonizer stream files of any size.
import { ALLELE_ABSENT, ALLELE_MISSING, infoValue, normaliseChromosome, type VcfHeader, type VcfRecord } from '../sources/vcf.js';
import type { GeneIndex } from '../sources/bed.js';
import type { IndexedFasta } from '../sources/fasta.js';

/** ClinVar's classes, spelt as GA4GH/phenopackets spell ACMG classes (the graph's `hx:acmgClass`). */
export type ClinicalClass = 'PATHOGENIC' | 'LIKELY_PATHOGENIC' | 'UNCERTAIN_SIGNIFICANCE' | 'LIKELY_BENIGN' | 'BENIGN' | 'CONFLICTING' | 'OTHER';

export interface ClinvarEntry {
  /** CLNSIG verbatim (`Pathogenic/Likely_pathogenic`). */
  significance: string;
  class: ClinicalClass;
  /** The ClinVar Variation ID (the VCF's ID column). */
  variationId: string | null;
  reviewStatus: string | null;
  /** GENEINFO symbols. */
  genes: string[];
  /** Population frequencies ClinVar carries (AF_EXAC, AF_TGP, AF_ESP). */
  frequencies: Record<string, number>;
}

export type VariantClass = 'SNV' | 'MNV' | 'insertion' | 'deletion' | 'complex' | 'symbolic';

/** A record on its way through the steps. */
export interface VariantRow extends VcfRecord {
  /** 1-based index of this row's ALT in the file's record; 0 while the row is still multi-allelic. */
  sourceAlt: number;
  /** POS, REF and ALT as written in the file (ALT of `sourceAlt`; all ALTs joined by `,` before the split). */
  sourcePos: number;
  sourceRef: string;
  sourceAlts: string;
  genes: string[] | null;
  /** Rows of `genes` in the gene index's `symbols` (burden arrays). */
  geneRows: number[] | null;
  clinvar: ClinvarEntry | null;
  alleleFrequency: number | null;
  frequencySource: string | null;
  novel: boolean;
  rare: boolean;
  /** Cache of the row's canonical text (the provenance checksums' input); null until computed. */
  text: string | null;
}

/** The samples a step looks at (indices into the header's samples). */
export type SampleSelection = number[];

export function toRow(r: VcfRecord): VariantRow {
  return {
    line: r.line, chrom: r.chrom, pos: r.pos, ids: r.ids, ref: r.ref, alts: r.alts, qual: r.qual, filters: r.filters,
    info: r.info, ploidy: r.ploidy, gt: r.gt, phased: r.phased, dp: r.dp, gq: r.gq,
    sourceAlt: r.alts.length === 1 ? 1 : 0, sourcePos: r.pos, sourceRef: r.ref, sourceAlts: r.alts.join(','),
    genes: null, geneRows: null, clinvar: null, alleleFrequency: null, frequencySource: null, novel: false, rare: false, text: null,
  };
}

/** A copy of the row with some fields changed (one object shape for every row: keeps the hot loops monomorphic). */
function withChanges(r: VariantRow, changes: Partial<VariantRow>): VariantRow {
  const c: VariantRow = {
    line: r.line, chrom: r.chrom, pos: r.pos, ids: r.ids, ref: r.ref, alts: r.alts, qual: r.qual, filters: r.filters,
    info: r.info, ploidy: r.ploidy, gt: r.gt, phased: r.phased, dp: r.dp, gq: r.gq,
    sourceAlt: r.sourceAlt, sourcePos: r.sourcePos, sourceRef: r.sourceRef, sourceAlts: r.sourceAlts,
    genes: r.genes, geneRows: r.geneRows, clinvar: r.clinvar, alleleFrequency: r.alleleFrequency, frequencySource: r.frequencySource,
    novel: r.novel, rare: r.rare, text: null,
  };
  return Object.assign(c, changes);
}

// ---------------------------------------------------------------------------------------------
// genomic.chromosome

export interface ChromosomeParams {
  /** `plain`: 1..22, X, Y, MT (the graph's form); `ucsc`: chr1..chr22, chrX, chrY, chrM. */
  style: 'plain' | 'ucsc';
}

export function chromosomeName(chrom: string, style: ChromosomeParams['style']): string {
  const plain = normaliseChromosome(chrom);
  if (style === 'plain') return plain;
  return plain === 'MT' ? 'chrM' : `chr${plain}`;
}

export function normaliseChromosomes(rows: VariantRow[], p: ChromosomeParams): VariantRow[] {
  return rows.map((r) => {
    const chrom = chromosomeName(r.chrom, p.style);
    return chrom === r.chrom ? r : withChanges(r, { chrom });
  });
}

// ---------------------------------------------------------------------------------------------
// genomic.filter

export interface FilterParams {
  /** FILTER values that pass; `.` stands for an unfiltered record (FILTER column `.`). */
  filters: string[];
  /** Minimum QUAL; a record without QUAL (`.`) passes. */
  minQual: number;
  /** Minimum FORMAT DP of a genotype; below it the genotype becomes a no-call. A genotype without DP passes. */
  minDepth: number;
  /** Minimum FORMAT GQ of a genotype, likewise. */
  minGenotypeQuality: number;
}

function carriesAlt(r: VcfRecord, samples: SampleSelection, allele = -1): boolean {
  const p = r.ploidy;
  for (const s of samples) {
    for (let k = 0; k < p; k++) {
      const a = r.gt[s * p + k];
      if (allele === -1 ? a > 0 : a === allele) return true;
    }
  }
  return false;
}

/**
 * Site filters (FILTER, QUAL), then genotype filters (DP, GQ: a failing genotype becomes a no-call),
 * then rows no selected sample carries an ALT allele of are dropped (site-only files keep every row).
 */
export function filterVariants(rows: VariantRow[], p: FilterParams, samples: SampleSelection, hasSamples: boolean): VariantRow[] {
  const accept = new Set(p.filters);
  const acceptUnfiltered = accept.has('.');
  const out: VariantRow[] = [];
  for (const r of rows) {
    if (r.filters.length === 0 ? !acceptUnfiltered : !r.filters.every((f) => accept.has(f))) continue;
    if (r.qual !== null && r.qual < p.minQual) continue;
    if (!hasSamples) {
      out.push(r);
      continue;
    }
    let gt = r.gt;
    const ploidy = r.ploidy;
    for (const s of samples) {
      const dp = r.dp[s];
      const gq = r.gq[s];
      if ((dp < p.minDepth) || (gq < p.minGenotypeQuality)) {
        if (gt === r.gt) gt = r.gt.slice();
        for (let k = 0; k < ploidy; k++) if (gt[s * ploidy + k] !== ALLELE_ABSENT) gt[s * ploidy + k] = ALLELE_MISSING;
      }
    }
    const next = gt === r.gt ? r : withChanges(r, { gt });
    if (carriesAlt(next, samples)) out.push(next);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// genomic.split

export interface SplitParams {
  /**
   * What another ALT allele becomes in a split row's genotypes: `ref` (0, as `bcftools norm -m-` writes:
   * "not this ALT") or `missing` (`.`, as `vt decompose` writes).
   */
  otherAlleles: 'ref' | 'missing';
  /** Drop `*` alleles (an upstream deletion spanning the site: not a variant of its own). */
  dropSpanningDeletions: boolean;
}

const isSymbolic = (a: string): boolean => a.startsWith('<') || a.includes('[') || a.includes(']') || a.startsWith('.') || a.endsWith('.');

/** One row per ALT allele; genotypes re-coded so that 1 is this row's ALT. Records without ALT are dropped. */
export function splitMultiallelic(rows: VariantRow[], p: SplitParams, samples: SampleSelection, hasSamples: boolean): VariantRow[] {
  const other = p.otherAlleles === 'ref' ? 0 : ALLELE_MISSING;
  const out: VariantRow[] = [];
  for (const r of rows) {
    if (r.alts.length === 0) continue;
    if (r.alts.length === 1) {
      if (!(p.dropSpanningDeletions && r.alts[0] === '*')) out.push(r.sourceAlt === 1 ? r : withChanges(r, { sourceAlt: 1 }));
      continue;
    }
    for (let a = 1; a <= r.alts.length; a++) {
      const alt = r.alts[a - 1];
      if (p.dropSpanningDeletions && alt === '*') continue;
      if (hasSamples && !carriesAlt(r, samples, a)) continue;
      const gt = new Int16Array(r.gt.length);
      for (let i = 0; i < gt.length; i++) {
        const v = r.gt[i];
        gt[i] = v < 0 ? v : v === 0 ? 0 : v === a ? 1 : other;
      }
      out.push(withChanges(r, { alts: [alt], gt, sourceAlt: a, sourceAlts: alt }));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// genomic.normalise

export interface NormaliseParams {
  /** Remove the alleles' common suffix, then their common prefix (keeping one anchor base), moving POS. */
  trim: boolean;
  /** Shift indels left: as far as the alleles' own bases allow, and beyond with a reference FASTA. */
  leftAlign: boolean;
}

export interface NormaliseContext {
  fasta: IndexedFasta | null;
  /** Counts rows whose REF disagrees with the FASTA (left as they are). */
  referenceMismatches: number;
}

/**
 * Trims and left-aligns one biallelic variant (Tan, Abecasis and Kang 2015). Without a reference the
 * suffix is trimmed only while both alleles keep a base, which left-aligns an indel as far as the
 * alleles' own bases reach; with a FASTA the alleles are extended to the left whenever one empties.
 */
export function normaliseAllele(chrom: string, pos: number, ref: string, alt: string, p: NormaliseParams, fasta: IndexedFasta | null): { pos: number; ref: string; alt: string } {
  let r = ref.toUpperCase();
  let a = alt.toUpperCase();
  let x = pos;
  if (!p.trim && !p.leftAlign) return { pos: x, ref: r, alt: a };
  const canExtend = p.leftAlign && fasta !== null && fasta.has(chrom);
  for (;;) {
    if (r.length > 0 && a.length > 0 && r.charCodeAt(r.length - 1) === a.charCodeAt(a.length - 1) && (canExtend || (r.length > 1 && a.length > 1))) {
      r = r.slice(0, -1);
      a = a.slice(0, -1);
    } else if ((r.length === 0 || a.length === 0) && canExtend && x > 1) {
      const base = fasta!.fetch(chrom, x - 1, x - 1);
      if (!base) break;
      r = base + r;
      a = base + a;
      x--;
    } else {
      break;
    }
  }
  if (r.length === 0 || a.length === 0) return { pos, ref: ref.toUpperCase(), alt: alt.toUpperCase() };
  if (p.trim) {
    while (r.length >= 2 && a.length >= 2 && r.charCodeAt(0) === a.charCodeAt(0)) {
      r = r.slice(1);
      a = a.slice(1);
      x++;
    }
  }
  return { pos: x, ref: r, alt: a };
}

export function normaliseAlleles(rows: VariantRow[], p: NormaliseParams, ctx: NormaliseContext): VariantRow[] {
  return rows.map((row) => {
    const alt = row.alts[0];
    if (row.alts.length !== 1 || alt === '*' || isSymbolic(alt)) return row;
    if (ctx.fasta && ctx.fasta.has(row.chrom) && ctx.fasta.fetch(row.chrom, row.pos, row.pos + row.ref.length - 1) !== row.ref.toUpperCase()) {
      ctx.referenceMismatches++;
      return row;
    }
    const n = normaliseAllele(row.chrom, row.pos, row.ref, alt, p, ctx.fasta);
    return n.pos === row.pos && n.ref === row.ref && n.alt === alt ? row : withChanges(row, { pos: n.pos, ref: n.ref, alts: [n.alt] });
  });
}

export function variantClass(ref: string, alt: string): VariantClass {
  if (alt === '*' || isSymbolic(alt)) return 'symbolic';
  if (ref === '-' || alt === '-') return ref === '-' ? 'insertion' : 'deletion'; // MAF notation
  if (ref.length === alt.length) return ref.length === 1 ? 'SNV' : 'MNV';
  if (ref.length === 1 && alt.charCodeAt(0) === ref.charCodeAt(0)) return 'insertion';
  if (alt.length === 1 && ref.charCodeAt(0) === alt.charCodeAt(0)) return 'deletion';
  return 'complex';
}

// ---------------------------------------------------------------------------------------------
// genomic.annotate_genes

/** Genes whose interval overlaps the variant's REF span (a position for SNVs). */
export function annotateGenes(rows: VariantRow[], index: GeneIndex): VariantRow[] {
  return rows.map((r) => {
    const end = r.pos + Math.max(1, r.ref.length) - 1;
    const ids = end === r.pos ? index.intervalsAt(r.chrom, r.pos) : index.intervalsOverlapping(r.chrom, r.pos, end);
    const geneRows = index.rowsOf(ids);
    return withChanges(r, { genes: geneRows.map((g) => index.symbols[g]), geneRows });
  });
}

// ---------------------------------------------------------------------------------------------
// genomic.clinvar

export interface ClinvarLookup {
  get(chrom: string, pos: number, ref: string, alt: string): ClinvarEntry | undefined;
}

/** ClinVar's entry for the same normalised chrom/pos/ref/alt, if any. */
export function annotateClinvar(rows: VariantRow[], clinvar: ClinvarLookup): VariantRow[] {
  return rows.map((r) => {
    const e = clinvar.get(normaliseChromosome(r.chrom), r.pos, r.ref, r.alts[0]);
    return e ? withChanges(r, { clinvar: e }) : r.clinvar ? withChanges(r, { clinvar: null }) : r;
  });
}

/** CLNSIG → class: the first term that names one (`Pathogenic/Likely_pathogenic` → PATHOGENIC). */
export function clinicalClass(significance: string): ClinicalClass {
  const s = significance.toLowerCase();
  if (s.startsWith('conflicting')) return 'CONFLICTING';
  for (const term of s.split(/[/|,;]/)) {
    const t = term.replace(/^_+/, '').trim();
    if (t === 'pathogenic' || t.startsWith('pathogenic')) return 'PATHOGENIC';
    if (t.startsWith('likely_pathogenic') || t.startsWith('likely pathogenic')) return 'LIKELY_PATHOGENIC';
    if (t.startsWith('uncertain')) return 'UNCERTAIN_SIGNIFICANCE';
    if (t.startsWith('likely_benign') || t.startsWith('likely benign')) return 'LIKELY_BENIGN';
    if (t === 'benign' || t.startsWith('benign')) return 'BENIGN';
  }
  return 'OTHER';
}

export const isPathogenic = (c: ClinicalClass | null | undefined): boolean => c === 'PATHOGENIC' || c === 'LIKELY_PATHOGENIC';

// ---------------------------------------------------------------------------------------------
// genomic.rarity

export interface RarityParams {
  /** A variant is rare when its (highest) population allele frequency is below this. */
  maxAlleleFrequency: number;
  /** INFO keys read as population allele frequencies (Number=A values are taken for the row's ALT). */
  frequencyKeys: string[];
  /**
   * Also read INFO `AF` when the file has no samples (a sites file such as gnomAD or 1000 Genomes). In a
   * call set, `AF` is AC/AN over the file's own genotypes (GATK writes 0.5 or 1 for one sample), not a population frequency.
   */
  siteOnlyAlleleFrequency: boolean;
  /** Without any frequency, a variant with no dbSNP id (`rs…`) is novel and counted as rare (as Exomiser counts a variant absent from its frequency sources). */
  novelIsRare: boolean;
}

function numberAt(v: unknown, alt: number, number: string | undefined): number | null {
  if (!Array.isArray(v)) return null;
  const i = number === 'A' ? alt - 1 : number === 'R' ? alt : v.length === 1 ? 0 : alt - 1;
  const x = typeof v[i] === 'number' ? v[i] : Number(v[i]);
  return v[i] === undefined || !Number.isFinite(x) ? null : x;
}

const RS = /^rs\d+$/i;

/** The highest population frequency found (the row's INFO, then ClinVar's), `rare` and `novel`. */
export function annotateRarity(rows: VariantRow[], p: RarityParams, header: VcfHeader): VariantRow[] {
  const keys = p.siteOnlyAlleleFrequency && header.samples.length === 0 && !p.frequencyKeys.includes('AF') ? [...p.frequencyKeys, 'AF'] : p.frequencyKeys;
  return rows.map((r) => {
    let af: number | null = null;
    let source: string | null = null;
    if (r.info !== '.') {
      for (const k of keys) {
        const x = numberAt(infoValue(header, r.info, k), r.sourceAlt || 1, header.info[k]?.number);
        if (x !== null && (af === null || x > af)) {
          af = x;
          source = k;
        }
      }
    }
    if (r.clinvar) {
      for (const [k, x] of Object.entries(r.clinvar.frequencies)) {
        if (af === null || x > af) {
          af = x;
          source = `clinvar:${k}`;
        }
      }
    }
    const novel = !r.ids.some((id) => RS.test(id));
    const rare = af !== null ? af < p.maxAlleleFrequency : p.novelIsRare && novel;
    return af === r.alleleFrequency && source === r.frequencySource && novel === r.novel && rare === r.rare ? r : withChanges(r, { alleleFrequency: af, frequencySource: source, novel, rare });
  });
}
