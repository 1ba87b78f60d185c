// Reference data for the genomic harmonizer: gene BEDs and ClinVar per assembly, and an optional
// reference FASTA for left-alignment. Loaded once and shared by every call set of an ingest.
import { basename, isAbsolute, resolve } from 'node:path';
import { GeneIndex, readGeneBed } from '../sources/bed.js';
import { IndexedFasta } from '../sources/fasta.js';
import { VcfReader, assemblyName, detectAssembly, infoValue, type Assembly } from '../sources/vcf.js';
import { InputError } from '../model/errors.js';
import {
  clinicalClass, normaliseAlleles, normaliseChromosomes, splitMultiallelic, toRow,
  type ClinvarEntry, type ClinvarLookup,
} from './genomic-steps.js';

/** Paths (relative to a base directory, the data directory by default) of the reference files per assembly. */
export interface GenomicReferencePaths {
  genes: Partial<Record<Assembly, string>>;
  clinvar: Partial<Record<Assembly, string>>;
  /** Uncompressed FASTA with a .fai beside it, for full left-alignment of indels. */
  fasta: Partial<Record<Assembly, string>>;
}

export interface GenomicReferences {
  genes: Partial<Record<Assembly, GeneIndex>>;
  clinvar: Partial<Record<Assembly, ClinvarIndex>>;
  fasta: Partial<Record<Assembly, IndexedFasta>>;
}

const FREQUENCY_KEYS = ['AF_EXAC', 'AF_TGP', 'AF_ESP'];

/** ClinVar variants by normalised chrom/pos/ref/alt. */
export class ClinvarIndex implements ClinvarLookup {
  // By position first: a numeric lookup misses fast for the many variants ClinVar does not hold.
  private readonly byPos = new Map<number, { chrom: string; ref: string; alt: string; entry: ClinvarEntry }[]>();
  private count = 0;

  constructor(
    readonly file: string,
    readonly assembly: Assembly | null,
  ) {}

  add(chrom: string, pos: number, ref: string, alt: string, entry: ClinvarEntry): void {
    let list = this.byPos.get(pos);
    if (!list) this.byPos.set(pos, (list = []));
    const same = list.findIndex((e) => e.chrom === chrom && e.ref === ref && e.alt === alt);
    if (same === -1) {
      list.push({ chrom, ref, alt, entry });
      this.count++;
    } else {
      list[same].entry = entry;
    }
  }

  get(chrom: string, pos: number, ref: string, alt: string): ClinvarEntry | undefined {
    const list = this.byPos.get(pos);
    if (!list) return undefined;
    for (const e of list) if (e.chrom === chrom && e.ref === ref && e.alt === alt) return e.entry;
    return undefined;
  }

  get size(): number {
    return this.count;
  }

  /** Every entry with its normalised key `chrom\tpos\tref\talt`. */
  *entries(): IterableIterator<[string, ClinvarEntry]> {
    for (const [pos, list] of this.byPos) for (const e of list) yield [`${e.chrom}\t${pos}\t${e.ref}\t${e.alt}`, e.entry];
  }
}

function firstString(v: unknown): string | null {
  return Array.isArray(v) && v.length ? v.map(String).join(',') : null;
}

/**
 * Reads a ClinVar VCF (site-only, `CLNSIG` per record) into an index keyed after the same
 * normalisation as call sets get (chromosome naming, split, trim and left-alignment), so that both
 * sides meet on one representation. Records without CLNSIG are skipped.
 */
export async function loadClinvar(file: string, options: { assembly?: string; fasta?: IndexedFasta | null } = {}): Promise<ClinvarIndex> {
  const reader = await VcfReader.open(file, { assembly: options.assembly });
  const header = reader.header;
  if (!header.info.CLNSIG) throw new InputError('not a ClinVar VCF: the header declares no CLNSIG INFO field', file, undefined, 'CLNSIG');
  const own = detectAssembly(header).assembly;
  const assembly = detectAssembly(header, options.assembly).assembly;
  if (own && assembly && own !== assembly) throw new InputError(`ClinVar file is ${own}, it was given as ${assembly}`, file, undefined, 'assembly');
  const index = new ClinvarIndex(file, assembly);
  const ctx = { fasta: options.fasta ?? null, referenceMismatches: 0 };
  for await (const batch of reader.batches()) {
    let rows = normaliseChromosomes(batch.map(toRow), { style: 'plain' });
    rows = splitMultiallelic(rows, { otherAlleles: 'ref', dropSpanningDeletions: true }, [], false);
    rows = normaliseAlleles(rows, { trim: true, leftAlign: true }, ctx);
    for (const r of rows) {
      const sig = infoValue(header, r.info, 'CLNSIG');
      if (!Array.isArray(sig)) continue;
      const significance = sig.map(String).join(',');
      const frequencies: Record<string, number> = {};
      for (const k of FREQUENCY_KEYS) {
        const v = infoValue(header, r.info, k);
        const x = Array.isArray(v) ? Number(v.length === 1 ? v[0] : v[r.sourceAlt - 1]) : NaN;
        if (Number.isFinite(x)) frequencies[k] = x;
      }
      const geneInfo = firstString(infoValue(header, r.info, 'GENEINFO'));
      index.add(r.chrom, r.pos, r.ref, r.alts[0], {
        significance,
        class: clinicalClass(significance),
        variationId: r.ids[0] ?? null,
        reviewStatus: firstString(infoValue(header, r.info, 'CLNREVSTAT')),
        genes: geneInfo ? geneInfo.split('|').map((g) => g.split(':')[0]).filter(Boolean) : [],
        frequencies,
      });
    }
  }
  return index;
}

/** Loads the reference files named in `paths` (relative ones against `baseDir`). */
export async function loadGenomicReferences(paths: GenomicReferencePaths, baseDir = '.'): Promise<GenomicReferences> {
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  const out: GenomicReferences = { genes: {}, clinvar: {}, fasta: {} };
  for (const [k, p] of Object.entries(paths.fasta ?? {})) {
    const a = checkAssembly(k);
    if (p) out.fasta[a] = new IndexedFasta(at(p));
  }
  for (const [k, p] of Object.entries(paths.genes ?? {})) {
    const a = checkAssembly(k);
    if (!p) continue;
    const named = assemblyName(basename(p));
    if (named && named !== a) throw new InputError(`gene BED is named as ${named}, it was given as ${a}`, at(p), undefined, 'assembly');
    out.genes[a] = GeneIndex.fromBed(await readGeneBed(at(p), { assembly: a }));
  }
  for (const [k, p] of Object.entries(paths.clinvar ?? {})) {
    const a = checkAssembly(k);
    if (p) out.clinvar[a] = await loadClinvar(at(p), { assembly: a, fasta: out.fasta[a] ?? null });
  }
  return out;
}

function checkAssembly(k: string): Assembly {
  const a = assemblyName(k);
  if (!a) throw new InputError(`reference files must be keyed by GRCh37 or GRCh38, not "${k}"`, undefined, undefined, 'references');
  return a;
}
