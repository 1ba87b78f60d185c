import type { Rng } from './random.js';

// A patient's genotype as the genomic encoder reads it: one token per variant (or per gene named
// without a variant), each the gene plus four small categorical attributes. Plain data and pure
// functions, no tfjs: the sampler, the embedding of queries and the tests use them directly.

export const PATHOGENICITY = ['pathogenic', 'likely_pathogenic', 'uncertain', 'likely_benign', 'benign', 'unknown'] as const;
export const ZYGOSITY = ['heterozygous', 'homozygous', 'hemizygous', 'unknown'] as const;
export const CONSEQUENCE = ['missense', 'nonsense', 'frameshift', 'splice', 'inframe', 'synonymous', 'other', 'unknown'] as const;
/** Which haplotype carries the alternate allele: known only for phased genotypes (`0|1`, `1|0`, `1|1`). */
export const HAPLOTYPE = ['unphased', 'first', 'second', 'both'] as const;

export type Pathogenicity = (typeof PATHOGENICITY)[number];
export type Zygosity = (typeof ZYGOSITY)[number];
export type Consequence = (typeof CONSEQUENCE)[number];
export type Haplotype = (typeof HAPLOTYPE)[number];

/** One-hot width of a variant's attributes: the four categories side by side. */
export const ATTRIBUTE_WIDTH = PATHOGENICITY.length + ZYGOSITY.length + CONSEQUENCE.length + HAPLOTYPE.length;

export interface VariantToken {
  /** The gene symbol, upper case. */
  gene: string;
  pathogenicity: Pathogenicity;
  zygosity: Zygosity;
  consequence: Consequence;
  haplotype: Haplotype;
}

/** What the graph says of a variant (hx:acmgClass, hx:clinvarSignificance, hx:zygosity, ...), as strings. */
export interface VariantFacts {
  gene?: string;
  acmgClass?: string;
  clinvar?: string;
  zygosity?: string;
  /** hx:allelicState: a GENO class IRI or CURIE. */
  allelicState?: string;
  genotype?: string;
  consequence?: string;
  hgvsP?: string;
  hgvsC?: string;
}

/** ACMG classes (phenopackets) and ClinVar significances (VCF CLNSIG) on one scale. */
export function pathogenicityOf(acmg?: string, clinvar?: string): Pathogenicity {
  for (const raw of [acmg, clinvar]) {
    if (!raw) continue;
    const s = raw.toLowerCase().replace(/[\s-]+/g, '_');
    // ClinVar joins several: "Pathogenic/Likely_pathogenic" counts as likely pathogenic, conflicts as uncertain.
    if (s.includes('conflicting') || s.includes('uncertain') || s === 'vus') return 'uncertain';
    if (s.includes('likely_pathogenic')) return 'likely_pathogenic';
    if (s.includes('pathogenic')) return 'pathogenic';
    if (s.includes('likely_benign')) return 'likely_benign';
    if (s.includes('benign')) return 'benign';
  }
  return 'unknown';
}

// GENO's allelic states, as phenopackets write them (GENO:0000135 heterozygous, ...).
const GENO: Record<string, Zygosity> = {
  '0000135': 'heterozygous',
  '0000402': 'heterozygous', // compound heterozygous: each variant is heterozygous
  '0000458': 'heterozygous', // simple heterozygous
  '0000136': 'homozygous',
  '0000134': 'hemizygous',
  '0000605': 'hemizygous', // hemizygous X-linked
  '0000606': 'hemizygous', // hemizygous Y-linked
};

export function zygosityOf(zygosity?: string, allelicState?: string, genotype?: string): Zygosity {
  const z = zygosity?.toLowerCase();
  if (z === 'heterozygous' || z === 'homozygous' || z === 'hemizygous') return z;
  const geno = allelicState?.match(/GENO[_:](\d{7})/);
  if (geno && GENO[geno[1]]) return GENO[geno[1]];
  if (genotype) {
    const alleles = genotype.split(/[/|]/).filter((a) => a !== '.');
    if (alleles.length === 1 && alleles[0] !== '0') return 'hemizygous';
    if (alleles.length >= 2) {
      const alt = alleles.filter((a) => a !== '0');
      if (alt.length === alleles.length && new Set(alt).size === 1) return 'homozygous';
      if (alt.length > 0) return 'heterozygous';
    }
  }
  return 'unknown';
}

/**
 * A variant's consequence class: from a stated one (MAF Variant_Classification or a Sequence
 * Ontology term), else read off its HGVS: the protein change when given, else an intronic c. position.
 */
export function consequenceOf(consequence?: string, hgvsP?: string, hgvsC?: string): Consequence {
  if (consequence) {
    const s = consequence.toLowerCase();
    if (s.includes('frame_shift') || s.includes('frameshift')) return 'frameshift';
    if (s.includes('nonsense') || s.includes('stop_gained')) return 'nonsense';
    if (s.includes('splice')) return 'splice';
    if (s.includes('missense')) return 'missense';
    if (s.includes('in_frame') || s.includes('inframe')) return 'inframe';
    if (s.includes('silent') || s.includes('synonymous')) return 'synonymous';
    return 'other';
  }
  const p = hgvsP?.split(':p.')[1]?.replace(/[()]/g, '');
  if (p) {
    if (/fs/i.test(p)) return 'frameshift';
    if (/(Ter|\*)\d*$/.test(p) || /X$/.test(p)) return 'nonsense';
    if (/=$/.test(p)) return 'synonymous';
    if (/(del|ins|dup)/i.test(p)) return 'inframe';
    if (/^[A-Z][a-z]{2}\d+[A-Z][a-z]{2}$/.test(p) || /^[A-Z]\d+[A-Z]$/.test(p)) return 'missense';
    return 'other';
  }
  const c = hgvsC?.split(':c.')[1];
  if (c) return /\d[+-]\d/.test(c) ? 'splice' : 'other';
  return 'unknown';
}

/** `0|1` puts the alternate allele on the second haplotype, `1|0` on the first, `1|1` on both; unphased otherwise. */
export function haplotypeOf(genotype?: string): Haplotype {
  if (!genotype || !genotype.includes('|')) return 'unphased';
  const [a, b] = genotype.split('|');
  const altA = a !== '0' && a !== '.';
  const altB = b !== undefined && b !== '0' && b !== '.';
  return altA && altB ? 'both' : altA ? 'first' : altB ? 'second' : 'unphased';
}

export function variantToken(f: VariantFacts): VariantToken | undefined {
  const gene = f.gene?.trim().toUpperCase();
  if (!gene) return undefined;
  return {
    gene,
    pathogenicity: pathogenicityOf(f.acmgClass, f.clinvar),
    zygosity: zygosityOf(f.zygosity, f.allelicState, f.genotype),
    consequence: consequenceOf(f.consequence, f.hgvsP, f.hgvsC),
    haplotype: haplotypeOf(f.genotype),
  };
}

/** A gene named without a variant (a phenopacket's geneDescriptor): every attribute unknown. */
export function geneToken(gene: string): VariantToken {
  return { gene: gene.trim().toUpperCase(), pathogenicity: 'unknown', zygosity: 'unknown', consequence: 'unknown', haplotype: 'unphased' };
}

const PRIORITY: Record<Pathogenicity, number> = { pathogenic: 5, likely_pathogenic: 4, uncertain: 2, unknown: 1, likely_benign: 0.5, benign: 0 };
const SEVERITY: Record<Consequence, number> = { frameshift: 0.4, nonsense: 0.4, splice: 0.3, missense: 0.2, inframe: 0.2, other: 0.1, unknown: 0.1, synonymous: 0 };

/**
 * The tokens the encoder reads, at most `max`: an exome has tens of thousands of variants and the
 * encoder a few dozen positions, so the likeliest-damaging come first (pathogenicity, then consequence),
 * ties in their given order; identical tokens are kept once.
 */
export function selectTokens(tokens: readonly VariantToken[], max: number): VariantToken[] {
  const seen = new Set<string>();
  const unique = tokens.filter((t) => {
    const k = tokenKey(t);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const score = (t: VariantToken) => PRIORITY[t.pathogenicity] + SEVERITY[t.consequence];
  return unique
    .map((t, i) => [t, i] as const)
    .sort((a, b) => score(b[0]) - score(a[0]) || a[1] - b[1])
    .slice(0, max)
    .map(([t]) => t);
}

export const tokenKey = (t: VariantToken) => `${t.gene}\u0000${t.pathogenicity}\u0000${t.zygosity}\u0000${t.consequence}\u0000${t.haplotype}`;

/** The token's attributes one-hot, [ATTRIBUTE_WIDTH]. */
export function attributeOneHot<A extends Float32Array>(t: VariantToken, out: A, offset = 0): A {
  let o = offset;
  out[o + PATHOGENICITY.indexOf(t.pathogenicity)] = 1;
  o += PATHOGENICITY.length;
  out[o + ZYGOSITY.indexOf(t.zygosity)] = 1;
  o += ZYGOSITY.length;
  out[o + CONSEQUENCE.indexOf(t.consequence)] = 1;
  o += CONSEQUENCE.length;
  out[o + HAPLOTYPE.indexOf(t.haplotype)] = 1;
  return out;
}

/**
 * The units masked together in masked-variant pretraining. Predicting a masked variant's gene is
 * trivial while another variant of the same gene stays visible, so the unit is a gene: all its
 * variants when phase is unknown (cis and trans cannot be told apart), and, where phase is known,
 * the variants of one haplotype of the gene, so a variant on the other haplotype (the trans partner
 * of a compound heterozygote) stays visible and the model learns from it that a second hit is there.
 * Returns, per token, its unit's number.
 */
export function maskingUnits(tokens: readonly VariantToken[]): Int32Array {
  const phased = (t: VariantToken) => t.haplotype === 'first' || t.haplotype === 'second';
  // A homozygous (both) or unphased variant belongs to every haplotype of its gene: then the whole gene is one unit.
  const allPhased = new Map<string, boolean>();
  for (const t of tokens) allPhased.set(t.gene, (allPhased.get(t.gene) ?? true) && phased(t));
  const units = new Map<string, number>();
  return Int32Array.from(tokens, (t) => {
    const key = allPhased.get(t.gene) ? `${t.gene}\u0000${t.haplotype}` : t.gene;
    let u = units.get(key);
    if (u === undefined) units.set(key, (u = units.size));
    return u;
  });
}

/**
 * Which tokens of one genotype to mask: round(ratio * units) whole units (at least one). Without
 * context one unit always stays visible, and a genotype of a single unit is never masked (there
 * would be nothing to predict it from); with the patient's phenotypes as context (`withContext`)
 * every unit may be masked: the genes are then predicted from the phenotypes and what is left.
 */
export function maskTokens(tokens: readonly VariantToken[], ratio: number, rng: Rng, withContext = false): Uint8Array {
  const units = maskingUnits(tokens);
  const n = units.length ? Math.max(...units) + 1 : 0;
  const mask = new Uint8Array(tokens.length);
  if (n < (withContext ? 1 : 2)) return mask;
  const k = Math.min(withContext ? n : n - 1, Math.max(1, Math.round(ratio * n)));
  const chosen = new Set(rng.sample(Array.from({ length: n }, (_, i) => i), k));
  units.forEach((u, i) => (mask[i] = chosen.has(u) ? 1 : 0));
  return mask;
}

/** Gene vocabulary rows 0 and 1: a gene the model never saw, and the mask of masked-variant pretraining. */
export const UNKNOWN_GENE = '<unknown>';
export const MASK_GENE = '<mask>';

export interface GeneVocabulary {
  /** Row order of the gene table: the two special rows, then gene symbols sorted. */
  ids: string[];
  index: Map<string, number>;
}

export function geneVocabulary(genes: Iterable<string>): GeneVocabulary {
  const named = [...new Set([...genes].map((g) => g.toUpperCase()))].filter((g) => g !== UNKNOWN_GENE && g !== MASK_GENE).sort();
  return geneVocabularyFromIds([UNKNOWN_GENE, MASK_GENE, ...named]);
}

/** The vocabulary of a saved model, rows in their saved order. */
export function geneVocabularyFromIds(ids: string[]): GeneVocabulary {
  if (ids[0] !== UNKNOWN_GENE || ids[1] !== MASK_GENE) throw new Error(`gene vocabulary: rows 0 and 1 must be ${UNKNOWN_GENE} and ${MASK_GENE}`);
  return { ids, index: new Map(ids.map((g, i) => [g, i] as [string, number])) };
}

/** A gene's row, or the unknown gene's. */
export const geneRow = (v: GeneVocabulary, gene: string) => v.index.get(gene.toUpperCase()) ?? 0;
