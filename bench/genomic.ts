import { createReadStream, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createGunzip } from 'node:zlib';
import VCFParser from '@gmod/vcf';
import { DEFAULT_GENOMIC_CONFIG, harmonizeVcf, loadClinvar, loadGenomicReferences } from '../src/harmonize/genomic.js';
import { GeneIndex, readGeneBed } from '../src/sources/bed.js';
import { readMaf } from '../src/sources/maf.js';
import { VcfReader, queryVcf } from '../src/sources/vcf.js';
import { peakRssMiB, round } from './util.js';

// Genomic readers and harmonizer on the real files, each beside an anchor measured in the same run:
// a bare gunzip + line split of the same file (the floor any streaming reader pays) and @gmod/vcf's
// parseLine alone on the same lines held in memory (the parser we build on, with no I/O at all).

interface Row {
  measure: string;
  value: string;
  anchor: string;
  ratio: string;
}

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
const ratio = (a: number, b: number): string => `${round(a / b, 2)}x`;

/** Best of `n` timed runs, in seconds (one pass is noisy on a shared 2-core machine). */
async function best(n: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  let t = Infinity;
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await fn();
    t = Math.min(t, (performance.now() - s) / 1000);
  }
  return t;
}

/** The anchor: gunzip and split into lines, nothing else. Returns the data lines (for the parse anchor). */
async function gunzipSplit(file: string, keep: boolean): Promise<{ lines: string[]; header: string[]; count: number; bytes: number }> {
  const stream = createReadStream(file, { highWaterMark: 1 << 20 }).pipe(createGunzip());
  stream.setEncoding('utf8');
  let rest = '';
  const lines: string[] = [];
  const header: string[] = [];
  let count = 0;
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<string>) {
    const text = rest + chunk;
    bytes += chunk.length;
    let start = 0;
    let nl: number;
    while ((nl = text.indexOf('\n', start)) !== -1) {
      const line = text.slice(start, nl);
      count++;
      if (keep) (line.charCodeAt(0) === 35 ? header : lines).push(line);
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  return { lines, header, count, bytes };
}

interface Ours {
  name: string;
  file: string;
  records: number;
  mb: number;
  tRead: number;
  tHarm: number;
}

/** Our reader and harmonizer on one file (run before any anchor holds a file's lines in memory). */
async function ours(name: string, file: string, refs: Awaited<ReturnType<typeof loadGenomicReferences>>): Promise<Ours> {
  let records = 0;
  let bytes = 0;
  const tRead = await best(3, async () => {
    const r = await VcfReader.open(file);
    for await (const b of r.batches()) void b;
    records = r.stats.records;
    bytes = r.stats.bytes;
  });
  const tHarm = await best(2, () => harmonizeVcf(file, refs));
  return { name, file, records, mb: bytes / 1e6, tRead, tHarm };
}

async function anchorRows(o: Ours, rows: Row[], notes: string[]): Promise<void> {
  const { lines, header } = await gunzipSplit(o.file, true);
  if (lines.length !== o.records) throw new Error(`${o.file}: ${lines.length} lines but ${o.records} records`);
  const tSplit = await best(3, () => gunzipSplit(o.file, false));
  const parser = new VCFParser({ header: header.join('\n'), strict: false });
  const tGmod = await best(3, () => {
    for (const l of lines) parser.parseLine(l);
  });
  const { records, mb, tRead, tHarm } = o;
  const what = `${o.name} (${fmt(records)} records, ${round(mb, 1)} MB uncompressed, ${round(statSync(o.file).size / 1e6, 1)} MB gzip)`;
  rows.push(
    { measure: `${what}: read (gunzip, parse, genotypes)`, value: `${fmt(records / tRead)} records/s, ${round(mb / tRead, 1)} MB/s`, anchor: `gunzip + line split: ${fmt(records / tSplit)} lines/s, ${round(mb / tSplit, 1)} MB/s`, ratio: ratio(tSplit, tRead) },
    { measure: `${what}: read`, value: `${fmt(records / tRead)} records/s`, anchor: `@gmod/vcf parseLine alone, lines in memory: ${fmt(records / tGmod)} records/s`, ratio: ratio(tGmod, tRead) },
    { measure: `${what}: harmonize (all steps, provenance, calls, burden)`, value: `${fmt(records / tHarm)} records/s, ${round(mb / tHarm, 1)} MB/s`, anchor: `our read alone: ${fmt(records / tRead)} records/s`, ratio: ratio(tRead, tHarm) },
  );
  notes.push(`${o.name}: gunzip+split ${round(tSplit, 2)} s, @gmod/vcf parseLine ${round(tGmod, 2)} s, read ${round(tRead, 2)} s, harmonize ${round(tHarm, 2)} s (best of 2-3).`);
}

export async function benchGenomic(dataDir: string): Promise<{ title: string; rows: Row[]; peakRssMiB: number; notes: string[] }> {
  const rows: Row[] = [];
  const notes: string[] = [
    'Ratios are anchor time / our time (1.0x = as fast as the anchor; below 1 = slower).',
    'Our reader hands INFO to @gmod/vcf as "." and decodes INFO keys on demand; the parseLine anchor decodes every INFO key of every line.',
  ];
  const at = (...p: string[]): string => join(dataDir, ...p);

  const s = performance.now();
  const refs = await loadGenomicReferences(DEFAULT_GENOMIC_CONFIG.references, dataDir);
  notes.push(`references (GRCh37 + GRCh38 gene BEDs, ClinVar extract) loaded in ${round((performance.now() - s) / 1000, 2)} s.`);
  const b38 = at('genomics', 'genes', 'mendelics_genes_GRCh38.bed');
  let genes = 0;
  const tBed = await best(3, async () => {
    genes = GeneIndex.fromBed(await readGeneBed(b38)).intervals.length;
  });
  const cvFile = at('genomics', 'exomiser', 'clinvar-test.vcf.gz');
  const tCv = await best(3, () => loadClinvar(cvFile));
  rows.push({ measure: `gene BED GRCh38 read + interval index (${fmt(genes)} genes)`, value: `${fmt(genes / tBed)} genes/s`, anchor: '-', ratio: '-' });
  rows.push({ measure: 'ClinVar extract read + normalised index (2,000 records)', value: `${fmt(2000 / tCv)} records/s`, anchor: '-', ratio: '-' });

  const measured = [
    await ours('Pfeiffer.vcf.gz', at('genomics', 'exomiser', 'Pfeiffer.vcf.gz'), refs),
    await ours('GIAB NA12878 complex indels', at('genomics', 'happy', 'Complex_1ormoreindels_NIST2.19.vcf.gz'), refs),
  ];
  // Peak memory of streaming reads and harmonisation (calls held), before the anchors hold whole files as lines.
  const peak = peakRssMiB();
  for (const o of measured) await anchorRows(o, rows, notes);

  const pf = at('genomics', 'exomiser', 'Pfeiffer.vcf.gz');
  const region = { chrom: '10', start: 123237849, end: 123357972 };
  let hits = 0;
  const tQuery = await best(5, async () => {
    hits = (await queryVcf(pf, region)).records.length;
  });
  const tScan = await best(2, async () => {
    const r = await VcfReader.open(pf);
    let n = 0;
    for await (const b of r.batches()) for (const x of b) if (x.chrom === '10' && x.pos >= region.start && x.pos <= region.end) n++;
    return n;
  });
  rows.push({ measure: `tabix region query, FGFR2 on Pfeiffer (${hits} records)`, value: `${round(tQuery * 1000, 1)} ms`, anchor: `full scan: ${round(tScan * 1000, 0)} ms`, ratio: ratio(tScan, tQuery) });

  const maf = at('tcga', 'maftools', 'tcga_laml.maf.gz');
  let mutations = 0;
  const tMaf = await best(3, async () => {
    mutations = (await readMaf(maf, { clinical: at('tcga', 'maftools', 'tcga_laml_annot.tsv') })).mutations.length;
  });
  rows.push({ measure: `TCGA-LAML MAF + clinical table (${fmt(mutations)} mutations)`, value: `${fmt(mutations / tMaf)} mutations/s`, anchor: '-', ratio: '-' });
  notes.push(`peakRssMiB is the process's peak after our reads and harmonisation (185,957 GIAB calls held); with the anchors' in-memory lines the process peaked at ${peakRssMiB()} MiB.`);
  return { title: 'Genomic readers and harmonizer', rows, peakRssMiB: peak, notes };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const dir = resolve(process.argv[2] ?? process.env.HARMONIA_DATA ?? '../shared/data');
  benchGenomic(dir)
    .then((r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'))
    .catch((e: Error) => {
      process.stderr.write(`bench/genomic: ${e.message}\n`);
      process.exit(1);
    });
}
