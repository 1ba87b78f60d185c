// The genomic harmonizer: a VCF call set (or a MAF's samples) through documented, versioned steps
// to called variants for the graph, gene-level burden features and provenance for every step.
import { createHash, type Hash } from 'node:crypto';
import { VcfReader, type Assembly, type VcfAcquisition, type VcfHeader } from '../sources/vcf.js';
import type { GeneIndex } from '../sources/bed.js';
import { NONSYNONYMOUS_CLASSES, type MafDocument, type MafMutation } from '../sources/maf.js';
import { InputError } from '../model/errors.js';
import { checksum, type NdArray, type StepProvenance } from './provenance.js';
import {
  annotateClinvar, annotateGenes, annotateRarity, filterVariants, isPathogenic, normaliseAlleles,
  normaliseChromosomes, splitMultiallelic, toRow, variantClass, chromosomeName,
  type ChromosomeParams, type ClinicalClass, type ClinvarEntry, type FilterParams, type NormaliseParams,
  type RarityParams, type SplitParams, type VariantClass, type VariantRow,
} from './genomic-steps.js';
import type { GenomicReferencePaths, GenomicReferences } from './genomic-references.js';

export {
  annotateClinvar, annotateGenes, annotateRarity, clinicalClass, filterVariants, isPathogenic, normaliseAllele,
  normaliseAlleles, normaliseChromosomes, splitMultiallelic, variantClass, chromosomeName,
  type ClinicalClass, type ClinvarEntry, type VariantClass, type VariantRow,
} from './genomic-steps.js';
export { ClinvarIndex, loadClinvar, loadGenomicReferences, type GenomicReferencePaths, type GenomicReferences } from './genomic-references.js';

export interface GenomicConfig {
  version: string;
  /** The sample of a multi-sample VCF to harmonize; null for all samples. */
  sample: string | null;
  chromosome: ChromosomeParams;
  filter: FilterParams;
  split: SplitParams;
  normalise: NormaliseParams;
  rarity: RarityParams;
  burden: {
    /** Which genes get `gene.<SYMBOL>.*` features: those with a ClinVar (likely) pathogenic or rare variant, every gene with a variant, or none. */
    geneFeatures: 'flagged' | 'all' | 'none';
  };
  maf: {
    /** Variant_Classification values counted as non-synonymous (maftools' default set). */
    nonsynonymous: string[];
  };
  /** Reference files per assembly, relative to the data directory. */
  references: GenomicReferencePaths;
}

/** Defaults; a section of the versioned harmonisation config file (docs/harmonization.md). */
export const DEFAULT_GENOMIC_CONFIG: GenomicConfig = {
  version: '1',
  sample: null,
  chromosome: { style: 'plain' },
  filter: { filters: ['PASS', '.'], minQual: 20, minDepth: 8, minGenotypeQuality: 20 },
  split: { otherAlleles: 'ref', dropSpanningDeletions: true },
  normalise: { trim: true, leftAlign: true },
  rarity: {
    maxAlleleFrequency: 0.01,
    frequencyKeys: ['gnomAD_AF', 'gnomADe_AF', 'gnomADg_AF', 'gnomad_AF', 'AF_popmax', 'ExAC_AF', 'AF_EXAC', 'AF_TGP', 'AF_ESP', '1000G_AF', 'KG_AF', 'MAX_AF'],
    siteOnlyAlleleFrequency: true,
    novelIsRare: true,
  },
  burden: { geneFeatures: 'flagged' },
  maf: { nonsynonymous: [...NONSYNONYMOUS_CLASSES] },
  references: {
    genes: { GRCh37: 'genomics/genes/crt_genes_GRCh37.bed', GRCh38: 'genomics/genes/mendelics_genes_GRCh38.bed' },
    clinvar: { GRCh37: 'genomics/exomiser/clinvar-test.vcf.gz' },
    fasta: {},
  },
};

type DeepPartial<T> = { [K in keyof T]?: T[K] extends (infer U)[] ? U[] : T[K] extends object | null ? DeepPartial<T[K]> | T[K] : T[K] };

/** The defaults with the given sections overridden (one level deep: `{ filter: { minQual: 30 } }`). */
export function genomicConfig(overrides: DeepPartial<GenomicConfig> = {}): GenomicConfig {
  const d = DEFAULT_GENOMIC_CONFIG;
  const o = overrides as Partial<GenomicConfig>;
  const merge = <K extends keyof GenomicConfig>(k: K): GenomicConfig[K] => {
    const v = o[k];
    const dv = d[k];
    return v !== undefined && v !== null && typeof v === 'object' && !Array.isArray(v) && dv !== null && typeof dv === 'object' ? ({ ...dv, ...v } as GenomicConfig[K]) : (v === undefined ? dv : (v as GenomicConfig[K]));
  };
  return {
    version: o.version ?? d.version,
    sample: o.sample === undefined ? d.sample : o.sample,
    chromosome: merge('chromosome'),
    filter: merge('filter'),
    split: merge('split'),
    normalise: merge('normalise'),
    rarity: merge('rarity'),
    burden: merge('burden'),
    maf: merge('maf'),
    references: merge('references'),
  };
}

/** Checks a config (for instance one read from the versioned config file): one InputError naming the bad field. */
export function checkGenomicConfig(c: GenomicConfig, file?: string): GenomicConfig {
  const bad = (field: string, why: string): never => {
    throw new InputError(why, file, 'genomic', field);
  };
  const num = (field: string, v: unknown, min: number, max = Infinity): void => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) bad(field, `must be a number in [${min}, ${max}], got ${typeof v === 'number' ? String(v) : JSON.stringify(v)}`);
  };
  const oneOf = (field: string, v: unknown, allowed: string[]): void => {
    if (typeof v !== 'string' || !allowed.includes(v)) bad(field, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  };
  const strings = (field: string, v: unknown): void => {
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) bad(field, 'must be a list of strings');
  };
  if (c.sample !== null && typeof c.sample !== 'string') bad('sample', 'must be a sample name or null');
  oneOf('chromosome.style', c.chromosome?.style, ['plain', 'ucsc']);
  strings('filter.filters', c.filter?.filters);
  num('filter.minQual', c.filter?.minQual, 0);
  num('filter.minDepth', c.filter?.minDepth, 0);
  num('filter.minGenotypeQuality', c.filter?.minGenotypeQuality, 0);
  oneOf('split.otherAlleles', c.split?.otherAlleles, ['ref', 'missing']);
  if (typeof c.split?.dropSpanningDeletions !== 'boolean') bad('split.dropSpanningDeletions', 'must be true or false');
  if (typeof c.normalise?.trim !== 'boolean') bad('normalise.trim', 'must be true or false');
  if (typeof c.normalise?.leftAlign !== 'boolean') bad('normalise.leftAlign', 'must be true or false');
  num('rarity.maxAlleleFrequency', c.rarity?.maxAlleleFrequency, 0, 1);
  strings('rarity.frequencyKeys', c.rarity?.frequencyKeys);
  if (typeof c.rarity?.siteOnlyAlleleFrequency !== 'boolean') bad('rarity.siteOnlyAlleleFrequency', 'must be true or false');
  if (typeof c.rarity?.novelIsRare !== 'boolean') bad('rarity.novelIsRare', 'must be true or false');
  oneOf('burden.geneFeatures', c.burden?.geneFeatures, ['flagged', 'all', 'none']);
  strings('maf.nonsynonymous', c.maf?.nonsynonymous);
  return c;
}

export type Zygosity = 'heterozygous' | 'homozygous' | 'hemizygous' | 'homozygous_reference' | 'unspecified' | 'no_call';

/** GENO terms for the graph's `hx:allelicState` (as phenopackets use them). */
export const ZYGOSITY_GENO: Record<Zygosity, string | null> = {
  heterozygous: 'GENO:0000135',
  homozygous: 'GENO:0000136',
  hemizygous: 'GENO:0000134',
  unspecified: 'GENO:0000137',
  homozygous_reference: null,
  no_call: null,
};

/** One variant allele carried by one sample: a node of the graph. */
export interface CalledVariant {
  /** Normalised: `1`..`22`, `X`, `Y`, `MT` (config `chromosome.style`). */
  chrom: string;
  /** 1-based. In VCF notation after trimming and left-alignment; MAF calls keep MAF notation (`-` alleles). */
  pos: number;
  ref: string;
  alt: string;
  notation: 'vcf' | 'maf';
  assembly: Assembly | null;
  /** The ID column (dbSNP rs ids, ...). */
  ids: string[];
  /** First overlapping gene (start order) or the MAF's Hugo_Symbol; null outside genes. */
  gene: string | null;
  genes: string[];
  /** Sample name; null in a site-only VCF. */
  sample: string | null;
  /** Re-coded per allele: `0/1`, `1|0`, `1/1`, `1`; null for MAF and site-only rows. */
  genotype: string | null;
  zygosity: Zygosity;
  phased: boolean;
  qual: number | null;
  filters: string[];
  depth: number | null;
  genotypeQuality: number | null;
  clinvar: ClinvarEntry | null;
  /** Population allele frequency used for rarity, and where it came from (`gnomAD_AF`, `clinvar:AF_EXAC`). */
  alleleFrequency: number | null;
  frequencySource: string | null;
  rare: boolean;
  /** No dbSNP id. */
  novel: boolean;
  variantClass: VariantClass;
  /** MAF Variant_Classification (`Missense_Mutation`), null for VCF. */
  classification: string | null;
  proteinChange: string | null;
  /** Tumour variant allele fraction (MAF), null for VCF. */
  alleleFraction: number | null;
  /** As written in the file. */
  source: { line: number | null; pos: number; ref: string; alt: string };
}

export interface GenomicResult {
  file: string;
  acquisition: VcfAcquisition;
  assembly: Assembly | null;
  /** The samples harmonized. */
  samples: string[];
  calls: CalledVariant[];
  features: Record<string, number>;
  /** `gene_burden`: int32 [genes x 3] (count, ClinVar P/LP, rare) in `burdenGenes` order (the gene BED's distinct symbols). */
  arrays: Record<string, NdArray>;
  burdenGenes: string[];
  provenance: StepProvenance[];
  /** Annotation that could not be done (unknown assembly, no reference for it), said plainly. */
  warnings: string[];
}

export interface HarmonizeVcfOptions {
  /** Overrides the assembly the header implies. */
  assembly?: string;
  /** Called after each batch with the records and uncompressed bytes read so far (progress bars). */
  onProgress?: (p: { records: number; bytes: number }) => void;
}

// ---------------------------------------------------------------------------------------------
// Streaming steps with provenance.

/** Canonical text of a row: what the checksums of a step's input and output are taken over. */
function rowText(r: VariantRow): string {
  if (r.text !== null) return r.text;
  let g = '';
  const p = r.ploidy;
  for (let s = 0; s < r.phased.length; s++) {
    if (s) g += ' ';
    for (let k = 0; k < p; k++) {
      const a = r.gt[s * p + k];
      if (a === -2) break;
      if (k) g += r.phased[s] ? '|' : '/';
      g += a === -1 ? '.' : a;
    }
  }
  r.text = `${r.chrom}\t${r.pos}\t${r.ids.join(';')}\t${r.ref}\t${r.alts.join(',')}\t${r.qual ?? '.'}\t${r.filters.join(';')}\t${r.info}\t${g}\t${r.genes?.join(',') ?? ''}\t${r.clinvar?.significance ?? ''}\t${r.alleleFrequency ?? ''}\t${r.rare ? 1 : 0}\n`;
  return r.text;
}

function batchText(rows: VariantRow[]): string {
  let s = '';
  for (const r of rows) s += rowText(r);
  return s;
}

/** A step applied batch by batch; its provenance is completed by the chain that runs it. */
class StreamedStep {
  rowsIn = 0;
  rowsOut = 0;

  constructor(
    readonly step: string,
    readonly version: string,
    readonly parameters: Record<string, unknown>,
    readonly fn: (rows: VariantRow[]) => VariantRow[],
  ) {}
}

const sameRows = (a: VariantRow[], b: VariantRow[]): boolean => a === b || (a.length === b.length && a.every((r, i) => r === b[i]));

/**
 * Runs the steps over batches and takes the sha256 of what flows between them: boundary 0 is the
 * first step's input, boundary k the k-th step's output (and the next one's input). A boundary whose
 * rows were, so far, the very objects of the boundary before it has the same content and is not hashed
 * again: it starts its own hash (from a copy of the previous state) at the first batch where it differs.
 */
class StepChain {
  /** Hash state per boundary; null while the boundary equals the one before it. */
  private readonly hashes: (Hash | null)[];

  constructor(readonly steps: StreamedStep[]) {
    this.hashes = [createHash('sha256'), ...steps.map(() => null)];
  }

  private effective(k: number): Hash {
    let i = k;
    while (this.hashes[i] === null) i--;
    return this.hashes[i]!;
  }

  run(batch: VariantRow[]): VariantRow[] {
    const boundaries: VariantRow[][] = [batch];
    for (const s of this.steps) {
      const input = boundaries[boundaries.length - 1];
      s.rowsIn += input.length;
      const out = s.fn(input);
      s.rowsOut += out.length;
      boundaries.push(out);
    }
    // From the last boundary down, so that a boundary splitting off copies its predecessor's state
    // before that predecessor takes this batch in.
    for (let k = boundaries.length - 1; k >= 0; k--) {
      if (this.hashes[k] === null) {
        if (sameRows(boundaries[k], boundaries[k - 1])) continue;
        this.hashes[k] = this.effective(k - 1).copy();
      }
      this.hashes[k]!.update(batchText(boundaries[k]));
    }
    return boundaries[boundaries.length - 1];
  }

  provenance(): StepProvenance[] {
    const digests: string[] = [];
    for (let k = 0; k < this.hashes.length; k++) digests.push(this.hashes[k] ? this.hashes[k]!.digest('hex') : digests[k - 1]);
    return this.steps.map((s, i) => ({
      step: s.step, version: s.version, parameters: { ...s.parameters, rowsIn: s.rowsIn, rowsOut: s.rowsOut }, input: digests[i], output: digests[i + 1],
    }));
  }
}

// ---------------------------------------------------------------------------------------------
// Calls.

function zygosityOf(gt: Int16Array, at: number, ploidy: number): Zygosity {
  let present = 0;
  let alt = 0;
  let missing = 0;
  for (let k = 0; k < ploidy; k++) {
    const a = gt[at + k];
    if (a === -2) continue;
    present++;
    if (a === -1) missing++;
    else if (a === 1) alt++;
  }
  if (present === 0 || missing === present) return 'no_call';
  if (alt === 0) return 'homozygous_reference';
  if (missing > 0) return 'unspecified';
  if (present === 1) return 'hemizygous';
  return alt === present ? 'homozygous' : 'heterozygous';
}

function genotypeText(gt: Int16Array, at: number, ploidy: number, phased: boolean): string {
  let g = '';
  for (let k = 0; k < ploidy; k++) {
    const a = gt[at + k];
    if (a === -2) break;
    if (k) g += phased ? '|' : '/';
    g += a === -1 ? '.' : String(a);
  }
  return g;
}

function callsOf(r: VariantRow, header: VcfHeader, samples: number[], assembly: Assembly | null, out: CalledVariant[]): number {
  const alt = r.alts[0];
  const vc = variantClass(r.ref, alt);
  const source = { line: r.line, pos: r.sourcePos, ref: r.sourceRef, alt: r.sourceAlts };
  const genes = r.genes ?? [];
  const make = (sample: string | null, genotype: string | null, zygosity: Zygosity, phased: boolean, depth: number | null, genotypeQuality: number | null): CalledVariant => ({
    chrom: r.chrom, pos: r.pos, ref: r.ref, alt, notation: 'vcf', assembly, ids: r.ids, gene: genes[0] ?? null, genes,
    sample, genotype, zygosity, phased, qual: r.qual, filters: r.filters, depth, genotypeQuality, clinvar: r.clinvar,
    alleleFrequency: r.alleleFrequency, frequencySource: r.frequencySource, rare: r.rare, novel: r.novel, variantClass: vc,
    classification: null, proteinChange: null, alleleFraction: null, source,
  });
  if (header.samples.length === 0) {
    out.push(make(null, null, 'unspecified', false, null, null));
    return 1;
  }
  let n = 0;
  for (const s of samples) {
    const zygosity = zygosityOf(r.gt, s * r.ploidy, r.ploidy);
    if (zygosity === 'no_call' || zygosity === 'homozygous_reference') continue;
    const phased = r.phased[s] === 1;
    const dp = r.dp[s];
    const gq = r.gq[s];
    out.push(make(header.samples[s], genotypeText(r.gt, s * r.ploidy, r.ploidy, phased), zygosity, phased, Number.isNaN(dp) ? null : dp, Number.isNaN(gq) ? null : gq));
    n++;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Burden.

const COUNTERS = [
  'variants.called', 'variants.snv', 'variants.mnv', 'variants.insertion', 'variants.deletion', 'variants.complex', 'variants.symbolic',
  'variants.normalised', 'variants.in_genes', 'variants.clinvar_annotated', 'variants.clinvar_pathogenic', 'variants.clinvar_benign',
  'variants.clinvar_uncertain', 'variants.with_frequency', 'variants.rare', 'variants.novel',
  'calls.heterozygous', 'calls.homozygous', 'calls.hemizygous', 'calls.unspecified',
] as const;
const C = Object.fromEntries(COUNTERS.map((k, i) => [k, i])) as Record<(typeof COUNTERS)[number], number>;
const CLASS_COUNTER: Record<VariantClass, number> = {
  SNV: C['variants.snv'], MNV: C['variants.mnv'], insertion: C['variants.insertion'], deletion: C['variants.deletion'], complex: C['variants.complex'], symbolic: C['variants.symbolic'],
};
const ZYGOSITY_COUNTER: Partial<Record<Zygosity, number>> = {
  heterozygous: C['calls.heterozygous'], homozygous: C['calls.homozygous'], hemizygous: C['calls.hemizygous'], unspecified: C['calls.unspecified'],
};

class Burden {
  private readonly n = new Float64Array(COUNTERS.length);
  readonly perGene: Int32Array | null;
  private tsCount = 0;
  private tvCount = 0;

  constructor(private readonly index: GeneIndex | null) {
    this.perGene = index ? new Int32Array(index.symbols.length * 3) : null;
  }

  addRow(r: VariantRow): void {
    const n = this.n;
    const alt = r.alts[0];
    const cls = variantClass(r.ref, alt);
    n[C['variants.called']]++;
    n[CLASS_COUNTER[cls]]++;
    if (cls === 'SNV') {
      if (isTransition(r.ref, alt)) this.tsCount++;
      else this.tvCount++;
    }
    if (r.pos !== r.sourcePos || r.ref !== r.sourceRef || alt !== r.sourceAlts) n[C['variants.normalised']]++;
    const cv = r.clinvar?.class;
    const pathogenic = isPathogenic(cv);
    if (cv) n[C['variants.clinvar_annotated']]++;
    if (pathogenic) n[C['variants.clinvar_pathogenic']]++;
    if (cv === 'BENIGN' || cv === 'LIKELY_BENIGN') n[C['variants.clinvar_benign']]++;
    if (cv === 'UNCERTAIN_SIGNIFICANCE') n[C['variants.clinvar_uncertain']]++;
    if (r.alleleFrequency !== null) n[C['variants.with_frequency']]++;
    if (r.rare) n[C['variants.rare']]++;
    if (r.novel) n[C['variants.novel']]++;
    if (r.genes && r.genes.length) n[C['variants.in_genes']]++;
    if (!r.geneRows || !this.perGene) return;
    for (const g of r.geneRows) {
      this.perGene[g * 3]++;
      if (pathogenic) this.perGene[g * 3 + 1]++;
      if (r.rare) this.perGene[g * 3 + 2]++;
    }
  }

  addCall(c: CalledVariant): void {
    const k = ZYGOSITY_COUNTER[c.zygosity];
    if (k !== undefined) this.n[k]++;
  }

  features(recordsRead: number, mode: GenomicConfig['burden']['geneFeatures']): Record<string, number> {
    const f: Record<string, number> = { 'records.read': recordsRead };
    COUNTERS.forEach((k, i) => (f[k] = this.n[i]));
    f['variants.ti_tv'] = this.tvCount ? round(this.tsCount / this.tvCount, 4) : 0;
    f['calls.het_hom_ratio'] = f['calls.homozygous'] ? round(f['calls.heterozygous'] / f['calls.homozygous'], 4) : 0;
    let withVariants = 0;
    let withPathogenic = 0;
    let withRare = 0;
    let candidates = 0;
    const genes: [string, number, number, number][] = [];
    if (this.perGene && this.index) {
      const b = this.perGene;
      for (let g = 0; g < this.index.symbols.length; g++) if (b[g * 3]) genes.push([this.index.symbols[g], b[g * 3], b[g * 3 + 1], b[g * 3 + 2]]);
    }
    genes.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [s, n, p, r] of genes) {
      withVariants++;
      if (p) withPathogenic++;
      if (r) withRare++;
      if (p || r) candidates++;
      if (mode === 'all' || (mode === 'flagged' && (p || r))) {
        f[`gene.${s}.count`] = n;
        f[`gene.${s}.pathogenic`] = p;
        f[`gene.${s}.rare`] = r;
      }
    }
    f['genes.with_variants'] = withVariants;
    f['genes.with_pathogenic'] = withPathogenic;
    f['genes.with_rare'] = withRare;
    f['genes.candidates'] = candidates;
    return f;
  }
}

const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d;

function isTransition(ref: string, alt: string): boolean {
  const pair = ref + alt;
  return pair === 'AG' || pair === 'GA' || pair === 'CT' || pair === 'TC';
}

// ---------------------------------------------------------------------------------------------
// VCF.

function selectSamples(header: VcfHeader, sample: string | null): number[] {
  if (sample === null) return header.samples.map((_, i) => i);
  const i = header.samples.indexOf(sample);
  if (i === -1) throw new InputError(`sample "${sample}" is not in the VCF (samples: ${header.samples.join(', ') || 'none'})`, header.file, undefined, 'sample');
  return [i];
}

/**
 * Harmonizes one VCF: chromosome naming → FILTER/QUAL/DP/GQ filters → multi-allelic split → allele
 * trimming and left-alignment → gene annotation → ClinVar → rarity, streamed batch by batch (memory
 * holds the calls, not the file), then gene-level burden features. Every step records its provenance.
 */
export async function harmonizeVcf(file: string, references: GenomicReferences, config: GenomicConfig = DEFAULT_GENOMIC_CONFIG, options: HarmonizeVcfOptions = {}): Promise<GenomicResult> {
  checkGenomicConfig(config);
  const reader = await VcfReader.open(file, { assembly: options.assembly });
  const header = reader.header;
  const samples = selectSamples(header, config.sample);
  const hasSamples = header.samples.length > 0;
  const declared = reader.acquisition().assembly as string;
  const assembly = declared === 'unknown' ? null : (declared as Assembly);
  const warnings: string[] = [];
  const genes = assembly ? references.genes[assembly] ?? null : null;
  const clinvar = assembly ? references.clinvar[assembly] ?? null : null;
  const fasta = assembly ? references.fasta[assembly] ?? null : null;
  if (!assembly) warnings.push('assembly unknown (no ##reference, contig lengths or assembly option): no gene, ClinVar or reference-based annotation');
  else {
    if (!genes) warnings.push(`no gene BED for ${assembly}: variants are not annotated with genes`);
    if (!clinvar) warnings.push(`no ClinVar file for ${assembly}: variants have no ClinVar class`);
  }
  const sampleNames = samples.map((s) => header.samples[s]);
  const normaliseCtx = { fasta, referenceMismatches: 0 };
  const steps: StreamedStep[] = [
    new StreamedStep('genomic.chromosome', '1', { ...config.chromosome }, (rows) => normaliseChromosomes(rows, config.chromosome)),
    new StreamedStep('genomic.filter', '1', { ...config.filter, samples: sampleNames }, (rows) => filterVariants(rows, config.filter, samples, hasSamples)),
    new StreamedStep('genomic.split', '1', { ...config.split }, (rows) => splitMultiallelic(rows, config.split, samples, hasSamples)),
    new StreamedStep('genomic.normalise', '1', { ...config.normalise, reference: fasta?.file ?? null }, (rows) => normaliseAlleles(rows, config.normalise, normaliseCtx)),
  ];
  if (genes) steps.push(new StreamedStep('genomic.annotate_genes', '1', { assembly, geneBed: genes.source, genes: genes.symbols.length }, (rows) => annotateGenes(rows, genes)));
  if (clinvar) steps.push(new StreamedStep('genomic.clinvar', '1', { assembly, clinvar: clinvar.file, variants: clinvar.size }, (rows) => annotateClinvar(rows, clinvar)));
  steps.push(new StreamedStep('genomic.rarity', '1', { ...config.rarity }, (rows) => annotateRarity(rows, config.rarity, header)));

  const burden = new Burden(genes);
  const calls: CalledVariant[] = [];
  const chain = new StepChain(steps);
  for await (const batch of reader.batches()) {
    const rows = chain.run(batch.map(toRow));
    for (const r of rows) {
      burden.addRow(r);
      const n = callsOf(r, header, samples, assembly, calls);
      for (let i = calls.length - n; i < calls.length; i++) burden.addCall(calls[i]);
      r.text = null; // the text was only needed for the checksums
    }
    options.onProgress?.({ records: reader.stats.records, bytes: reader.stats.bytes });
  }
  if (normaliseCtx.referenceMismatches) warnings.push(`${normaliseCtx.referenceMismatches} records have a REF that differs from the reference FASTA; they were left as written`);
  const acquisition = reader.acquisition();
  const features = burden.features(reader.stats.records, config.burden.geneFeatures);
  features['records.filtered_out'] = steps[1].rowsIn - steps[1].rowsOut;
  features['records.multiallelic'] = reader.stats.multiallelicRecords;
  if (fasta) features['variants.reference_mismatch'] = normaliseCtx.referenceMismatches;
  const arrays: Record<string, NdArray> = burden.perGene ? { gene_burden: { data: burden.perGene, shape: [genes!.symbols.length, 3] } } : {};
  const provenance = chain.provenance();
  const last = provenance[provenance.length - 1];
  provenance.push({
    step: 'genomic.burden', version: '1', parameters: { ...config.burden, columns: ['count', 'pathogenic', 'rare'] },
    input: last.output, output: checksum(JSON.stringify(features), ...(burden.perGene ? [burden.perGene] : [])),
  });
  return { file, acquisition, assembly, samples: sampleNames, calls, features, arrays, burdenGenes: genes?.symbols ?? [], provenance, warnings };
}

export interface CandidateGene {
  symbol: string;
  /** Filtered variants in the gene. */
  variants: number;
  /** Of which ClinVar pathogenic or likely pathogenic. */
  pathogenic: number;
  rare: number;
  /** The pathogenic or rare calls. */
  calls: CalledVariant[];
}

/** Genes carrying filtered variants that are ClinVar (likely) pathogenic or rare: most pathogenic, then most rare first. */
export function candidateGenes(result: GenomicResult): CandidateGene[] {
  const byGene = new Map<string, CandidateGene>();
  const counted = new Set<string>();
  for (const c of result.calls) {
    const key = `${c.chrom}\t${c.pos}\t${c.ref}\t${c.alt}`;
    for (const g of c.genes) {
      let e = byGene.get(g);
      if (!e) byGene.set(g, (e = { symbol: g, variants: 0, pathogenic: 0, rare: 0, calls: [] }));
      const k = `${g}\t${key}`;
      const first = !counted.has(k);
      counted.add(k);
      const pathogenic = isPathogenic(c.clinvar?.class);
      if (first) {
        e.variants++;
        if (pathogenic) e.pathogenic++;
        if (c.rare) e.rare++;
      }
      if (pathogenic || c.rare) e.calls.push(c);
    }
  }
  return [...byGene.values()]
    .filter((g) => g.pathogenic > 0 || g.rare > 0)
    .sort((a, b) => b.pathogenic - a.pathogenic || b.rare - a.rare || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
}

/** For `harmonia diagnose --vcf`: the candidate genes of a VCF after the default (or given) harmonisation. */
export async function vcfCandidateGenes(file: string, references: GenomicReferences, config: GenomicConfig = DEFAULT_GENOMIC_CONFIG, options: HarmonizeVcfOptions = {}): Promise<CandidateGene[]> {
  return candidateGenes(await harmonizeVcf(file, references, config, options));
}

// ---------------------------------------------------------------------------------------------
// MAF.

export interface MafSampleResult {
  /** Tumor_Sample_Barcode. */
  sample: string;
  clinical: Record<string, string> | null;
  acquisition: Record<string, number | string | boolean | number[] | string[]>;
  calls: CalledVariant[];
  features: Record<string, number>;
  arrays: Record<string, NdArray>;
  provenance: StepProvenance[];
}

function mafText(m: MafMutation): string {
  return `${m.chrom}\t${m.start}\t${m.end}\t${m.ref}\t${m.alt}\t${m.gene}\t${m.classification}\t${m.sample}\n`;
}

function mafCall(m: MafMutation, chromStyle: ChromosomeParams['style'], clinvar: ClinvarEntry | null): CalledVariant {
  const vc = m.ref === '-' ? 'insertion' : m.alt === '-' ? 'deletion' : variantClass(m.ref, m.alt);
  return {
    chrom: chromosomeName(m.chrom, chromStyle), pos: m.start, ref: m.ref, alt: m.alt, notation: 'maf', assembly: m.assembly, ids: [],
    gene: m.gene, genes: [m.gene], sample: m.sample, genotype: null, zygosity: 'unspecified', phased: false,
    qual: null, filters: [], depth: null, genotypeQuality: null, clinvar,
    alleleFrequency: null, frequencySource: null, rare: false, novel: false, variantClass: vc,
    classification: m.classification, proteinChange: m.proteinChange, alleleFraction: m.vaf,
    source: { line: m.line, pos: m.start, ref: m.ref, alt: m.alt },
  };
}

/**
 * Per tumour sample of a MAF: its mutations as calls (MAF notation kept: an insertion or deletion
 * cannot be written in VCF notation without the reference base before it), ClinVar for substitutions,
 * and counts by class and by gene (non-synonymous mutations).
 */
export function harmonizeMaf(doc: MafDocument, references: GenomicReferences, config: GenomicConfig = DEFAULT_GENOMIC_CONFIG): MafSampleResult[] {
  const nonsyn = new Set(config.maf.nonsynonymous);
  return doc.samples.map((s) => {
    const mutations = s.mutations.map((i) => doc.mutations[i]);
    const input = checksum(mutations.map(mafText).join(''));
    const selected = mutations.filter((m) => nonsyn.has(m.classification));
    const calls = mutations.map((m) => {
      const cv = m.assembly ? references.clinvar[m.assembly] : undefined;
      const e = cv && m.ref !== '-' && m.alt !== '-' && m.ref.length === m.alt.length ? lookupSubstitution(cv, m) : null;
      return mafCall(m, config.chromosome.style, e);
    });
    const f: Record<string, number> = {
      'mutations.total': mutations.length,
      'mutations.nonsynonymous': selected.length,
      'mutations.snv': calls.filter((c) => c.variantClass === 'SNV').length,
      'mutations.mnv': calls.filter((c) => c.variantClass === 'MNV').length,
      'mutations.insertion': calls.filter((c) => c.variantClass === 'insertion').length,
      'mutations.deletion': calls.filter((c) => c.variantClass === 'deletion').length,
      'mutations.clinvar_pathogenic': calls.filter((c) => isPathogenic(c.clinvar?.class)).length,
    };
    const vafs = mutations.map((m) => m.vaf).filter((v): v is number => v !== null).sort((a, b) => a - b);
    if (vafs.length) f['mutations.vaf_median'] = round(vafs.length % 2 ? vafs[(vafs.length - 1) / 2] : (vafs[vafs.length / 2 - 1] + vafs[vafs.length / 2]) / 2, 4);
    for (const m of mutations) f[`class.${m.classification}`] = (f[`class.${m.classification}`] ?? 0) + 1;
    const perGene = new Map<string, number>();
    for (const m of selected) perGene.set(m.gene, (perGene.get(m.gene) ?? 0) + 1);
    f['genes.mutated'] = perGene.size;
    if (config.burden.geneFeatures !== 'none') for (const g of [...perGene.keys()].sort()) f[`gene.${g}.count`] = perGene.get(g)!;
    const provenance: StepProvenance[] = [
      { step: 'genomic.maf_select', version: '1', parameters: { nonsynonymous: [...nonsyn] }, input, output: checksum(selected.map(mafText).join('')) },
      { step: 'genomic.burden', version: '1', parameters: { ...config.burden, unit: 'non-synonymous mutations per gene' }, input: checksum(selected.map(mafText).join('')), output: checksum(JSON.stringify(f)) },
    ];
    const assemblies = [...new Set(mutations.map((m) => m.assembly ?? 'unknown'))];
    return {
      sample: s.barcode,
      clinical: s.clinical,
      acquisition: { format: 'MAF', assembly: assemblies.length === 1 ? assemblies[0] : 'mixed', mutations: mutations.length, source: doc.file },
      calls,
      features: f,
      arrays: {},
      provenance,
    };
  });
}

function lookupSubstitution(cv: { get(c: string, p: number, r: string, a: string): ClinvarEntry | undefined }, m: MafMutation): ClinvarEntry | null {
  // Substitutions need no anchor base; trim a common prefix/suffix as the VCF side was trimmed.
  let ref = m.ref.toUpperCase();
  let alt = m.alt.toUpperCase();
  let pos = m.start;
  while (ref.length > 1 && ref[ref.length - 1] === alt[alt.length - 1]) {
    ref = ref.slice(0, -1);
    alt = alt.slice(0, -1);
  }
  while (ref.length > 1 && ref[0] === alt[0]) {
    ref = ref.slice(1);
    alt = alt.slice(1);
    pos++;
  }
  return cv.get(m.chrom, pos, ref, alt) ?? null;
}
