// An uncompressed FASTA with its samtools `.fai` index: random access to reference bases, used to
// left-align indels beyond the bases the VCF alleles carry.
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { InputError } from '../model/errors.js';
import { compressionOf, normaliseChromosome } from './vcf.js';

interface FaiEntry {
  length: number;
  offset: number;
  lineBases: number;
  lineWidth: number;
}

export class IndexedFasta {
  private readonly entries = new Map<string, FaiEntry>();
  private readonly byNormalised = new Map<string, string>();
  private fd: number;

  /** `fasta` must be uncompressed (bgzip'd FASTA needs a .gzi as well and is refused) with `fasta.fai` beside it. */
  constructor(readonly file: string) {
    if (!existsSync(file)) throw new InputError('no such file', file, undefined, 'reference');
    if (compressionOf(file) !== 'none') throw new InputError('compressed FASTA is not supported as a reference: decompress it and index it with samtools faidx', file, undefined, 'reference');
    const fai = `${file}.fai`;
    if (!existsSync(fai)) throw new InputError('no .fai index beside the FASTA (samtools faidx)', file, undefined, 'reference');
    readFileSync(fai, 'utf8').split('\n').forEach((line, i) => {
      if (!line) return;
      const [name, length, offset, lineBases, lineWidth] = line.split('\t');
      const nums = [length, offset, lineBases, lineWidth].map(Number);
      if (!name || nums.some((n) => !Number.isInteger(n) || n < 0) || nums[2] === 0 || nums[3] < nums[2]) {
        throw new InputError('malformed .fai line', fai, `line ${i + 1}`, 'fai');
      }
      this.entries.set(name, { length: nums[0], offset: nums[1], lineBases: nums[2], lineWidth: nums[3] });
      this.byNormalised.set(normaliseChromosome(name), name);
    });
    this.fd = openSync(file, 'r');
  }

  has(chrom: string): boolean {
    return this.entry(chrom) !== undefined;
  }

  private entry(chrom: string): FaiEntry | undefined {
    return this.entries.get(chrom) ?? this.entries.get(this.byNormalised.get(normaliseChromosome(chrom)) ?? '');
  }

  /** Bases [start, end] (1-based, inclusive), upper case; clipped to the sequence; '' when the contig is unknown. */
  fetch(chrom: string, start: number, end: number): string {
    const e = this.entry(chrom);
    if (!e) return '';
    const s0 = Math.max(0, start - 1);
    const e0 = Math.min(e.length, end);
    if (e0 <= s0) return '';
    const byteAt = (i: number): number => e.offset + Math.floor(i / e.lineBases) * e.lineWidth + (i % e.lineBases);
    const from = byteAt(s0);
    const to = byteAt(e0 - 1) + 1;
    const buf = Buffer.alloc(to - from);
    readSync(this.fd, buf, 0, buf.length, from);
    let out = '';
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i];
      if (c !== 10 && c !== 13) out += String.fromCharCode(c);
    }
    return out.toUpperCase();
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
