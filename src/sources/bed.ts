// Gene BED files (chrom, 0-based start, exclusive end, name; or chrom, start, end, Ensembl id, symbol)
// and a binned interval index that answers "which genes cover this position" in O(1) per query.
import { basename } from 'node:path';
import { InputError } from '../model/errors.js';
import { assemblyName, normaliseChromosome, readTextLines, type Assembly } from './vcf.js';

export interface GeneInterval {
  /** Normalised chromosome (`1`, `X`, `MT`). */
  chrom: string;
  /** 0-based start, exclusive end (BED). */
  start: number;
  end: number;
  symbol: string;
  /** Ensembl gene id where the file gives one. */
  id: string | null;
  strand: '+' | '-' | null;
}

/** `name` = chrom start end name [score strand ...] (BED); `ensembl-symbol` = chrom start end ENSG... SYMBOL. */
export type GeneBedLayout = 'name' | 'ensembl-symbol';

export interface GeneBed {
  file: string;
  assembly: Assembly | null;
  layout: GeneBedLayout;
  genes: GeneInterval[];
  acquisition: Record<string, number | string | boolean | number[] | string[]>;
}

const ENSEMBL_GENE = /^ENS[A-Z]*G\d+(\.\d+)?$/;
const INT = /^\d+$/;

function layoutOf(cols: string[]): GeneBedLayout {
  return cols.length >= 5 && ENSEMBL_GENE.test(cols[3]) && !/^-?\d+(\.\d+)?$/.test(cols[4]) ? 'ensembl-symbol' : 'name';
}

/**
 * Reads a gene BED (plain or gzip). The assembly comes from the option, else from the file name
 * (`GRCh37`, `hg19`, `GRCh38`, `hg38`); null when neither says. `track`, `browser` and `#` lines are skipped.
 */
export async function readGeneBed(file: string, options: { assembly?: string } = {}): Promise<GeneBed> {
  const genes: GeneInterval[] = [];
  let layout: GeneBedLayout | null = null;
  const chroms = new Set<string>();
  let chrPrefixed = 0;
  for await (const { lines, first } of readTextLines(file)) {
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i];
      if (!l || l.startsWith('#') || l.startsWith('track') || l.startsWith('browser')) continue;
      const cols = l.split('\t');
      const where = `line ${first + i}`;
      if (cols.length < 4) throw new InputError(`gene BED line has ${cols.length} columns, needs chrom, start, end and a gene name`, file, where, cols.length < 3 ? ['chrom', 'start', 'end'][cols.length] : 'name');
      layout ??= layoutOf(cols);
      if (!INT.test(cols[1])) throw new InputError(`start "${cols[1]}" is not a non-negative integer`, file, where, 'start');
      if (!INT.test(cols[2])) throw new InputError(`end "${cols[2]}" is not a non-negative integer`, file, where, 'end');
      const start = Number(cols[1]);
      const end = Number(cols[2]);
      if (end < start) throw new InputError(`end ${end} is before start ${start}`, file, where, 'end');
      const ens = layout === 'ensembl-symbol';
      const symbol = (ens ? cols[4] : cols[3]).trim();
      if (!symbol) throw new InputError('empty gene name', file, where, 'name');
      const strandCol = ens ? undefined : cols[5];
      if (/^chr/i.test(cols[0])) chrPrefixed++;
      const chrom = normaliseChromosome(cols[0]);
      chroms.add(chrom);
      genes.push({ chrom, start, end, symbol, id: ens ? cols[3] : null, strand: strandCol === '+' || strandCol === '-' ? strandCol : null });
    }
  }
  if (!genes.length) throw new InputError('no gene intervals', file, undefined, 'file');
  let assembly: Assembly | null = null;
  if (options.assembly !== undefined) {
    assembly = assemblyName(options.assembly);
    if (!assembly) throw new InputError(`unknown assembly "${options.assembly}"`, file, undefined, 'assembly');
  } else {
    assembly = assemblyName(basename(file));
  }
  return {
    file,
    assembly,
    layout: layout ?? 'name',
    genes,
    acquisition: {
      format: 'BED',
      assembly: assembly ?? 'unknown',
      layout: layout ?? 'name',
      intervals: genes.length,
      genes: new Set(genes.map((g) => g.symbol)).size,
      chromosomes: chroms.size,
      contigNaming: chrPrefixed === 0 ? 'plain' : chrPrefixed === genes.length ? 'chr-prefixed' : 'mixed',
    },
  };
}

const BIN_SHIFT = 14; // 16 kb bins: a gene spans a handful; a bin holds a few genes

interface ChromBins {
  /** CSR: interval ids of bin b are ids[offsets[b] .. offsets[b + 1]). */
  offsets: Int32Array;
  ids: Int32Array;
}

/**
 * Genes by position. Intervals are binned per chromosome (16 kb bins, compressed-row arrays), so a
 * position query reads one bin; a range query the bins it spans. Rows of `symbols` are the distinct
 * gene symbols in file order: the row order of gene-level burden arrays.
 */
export class GeneIndex {
  readonly symbols: string[];
  /** Row of each interval's symbol in `symbols`. */
  private readonly symbolRow: Int32Array;
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private readonly bins = new Map<string, ChromBins>();
  private readonly rowBySymbol = new Map<string, number>();
  private readonly seen: Int32Array;
  private stamp = 0;

  constructor(
    readonly intervals: GeneInterval[],
    readonly assembly: Assembly | null,
    readonly source: string,
  ) {
    const rows = this.rowBySymbol;
    this.symbols = [];
    this.symbolRow = new Int32Array(intervals.length);
    this.starts = new Int32Array(intervals.length);
    this.ends = new Int32Array(intervals.length);
    const byChrom = new Map<string, number[]>();
    intervals.forEach((g, i) => {
      let r = rows.get(g.symbol);
      if (r === undefined) {
        r = this.symbols.length;
        rows.set(g.symbol, r);
        this.symbols.push(g.symbol);
      }
      this.symbolRow[i] = r;
      this.starts[i] = g.start;
      this.ends[i] = Math.max(g.end, g.start + 1);
      const list = byChrom.get(g.chrom) ?? [];
      list.push(i);
      byChrom.set(g.chrom, list);
    });
    for (const [chrom, list] of byChrom) {
      list.sort((a, b) => this.starts[a] - this.starts[b] || a - b);
      let maxEnd = 0;
      for (const i of list) maxEnd = Math.max(maxEnd, this.ends[i]);
      const nBins = (maxEnd >> BIN_SHIFT) + 1;
      const offsets = new Int32Array(nBins + 1);
      for (const i of list) for (let b = this.starts[i] >> BIN_SHIFT; b <= (this.ends[i] - 1) >> BIN_SHIFT; b++) offsets[b + 1]++;
      for (let b = 0; b < nBins; b++) offsets[b + 1] += offsets[b];
      const fill = offsets.slice(0, nBins);
      const ids = new Int32Array(offsets[nBins]);
      for (const i of list) for (let b = this.starts[i] >> BIN_SHIFT; b <= (this.ends[i] - 1) >> BIN_SHIFT; b++) ids[fill[b]++] = i;
      this.bins.set(chrom, { offsets, ids });
    }
    this.seen = new Int32Array(intervals.length);
  }

  static fromBed(bed: GeneBed): GeneIndex {
    return new GeneIndex(bed.genes, bed.assembly, bed.file);
  }

  /** Interval ids covering a 1-based position, in start order. `chrom` may be `chr10` or `10`. */
  intervalsAt(chrom: string, pos: number): number[] {
    const bins = this.bins.get(normaliseChromosome(chrom));
    const p = pos - 1;
    const out: number[] = [];
    if (!bins || p < 0) return out;
    const b = p >> BIN_SHIFT;
    if (b + 1 >= bins.offsets.length) return out;
    for (let k = bins.offsets[b]; k < bins.offsets[b + 1]; k++) {
      const i = bins.ids[k];
      if (this.starts[i] <= p && p < this.ends[i]) out.push(i);
    }
    return out;
  }

  /** Interval ids overlapping the 1-based inclusive range [start, end], in start order. */
  intervalsOverlapping(chrom: string, start: number, end: number): number[] {
    const bins = this.bins.get(normaliseChromosome(chrom));
    const s = start - 1;
    const e = end; // exclusive, 0-based
    const out: number[] = [];
    if (!bins || e <= s) return out;
    const stamp = ++this.stamp;
    const last = Math.min((e - 1) >> BIN_SHIFT, bins.offsets.length - 2);
    for (let b = Math.max(0, s >> BIN_SHIFT); b <= last; b++) {
      for (let k = bins.offsets[b]; k < bins.offsets[b + 1]; k++) {
        const i = bins.ids[k];
        if (this.seen[i] !== stamp && this.starts[i] < e && s < this.ends[i]) {
          this.seen[i] = stamp;
          out.push(i);
        }
      }
    }
    return out.sort((a, b) => this.starts[a] - this.starts[b] || a - b);
  }

  /** Distinct gene symbols over a 1-based range (a point when `end` is omitted), in start order. */
  genesAt(chrom: string, start: number, end = start): string[] {
    const ids = end === start ? this.intervalsAt(chrom, start) : this.intervalsOverlapping(chrom, start, end);
    const out: string[] = [];
    for (const i of ids) {
      const s = this.intervals[i].symbol;
      if (!out.includes(s)) out.push(s);
    }
    return out;
  }

  /** Row of a symbol in `symbols` (and in burden arrays), or -1. */
  rowOf(symbol: string): number {
    return this.rowBySymbol.get(symbol) ?? -1;
  }

  /** Rows (in `symbols`) of the given interval ids, distinct. */
  rowsOf(ids: number[]): number[] {
    const out: number[] = [];
    for (const i of ids) {
      const r = this.symbolRow[i];
      if (!out.includes(r)) out.push(r);
    }
    return out;
  }
}
