import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readMat4Signal } from '../../../src/sources/mat.js';
import { readBonn } from '../../../src/sources/bonn.js';
import { readExpressionMatrix } from '../../../src/sources/expression.js';
import { readManifest } from '../../../src/sources/manifest.js';
import { readMaf } from '../../../src/sources/maf.js';
import { readNifti } from '../../../src/sources/nifti.js';
import { readEdf } from '../../../src/sources/edf.js';
import { readWfdb } from '../../../src/sources/wfdb.js';
import { scanVcf } from '../../../src/sources/vcf.js';
import { parseDicomImage } from '../../../src/sources/dicom.js';
import { dataDir, fixtures, tempDir } from '../../helpers/paths.js';
import { prng } from '../../helpers/prng.js';

// Fuzzing the readers, in the spirit of Oxigraph's fuzz targets: seeded mutations of small valid
// files (truncations, flipped bytes, inserted junk, lying numbers). Every input must end in a result
// or in one Error with a message; never a hang, never a TypeError or RangeError from deep inside
// (those are cases the reader did not think of). The seed and the mutation are in the failure message.

const SEED = Number(process.env.HARMONIA_FUZZ_SEED ?? 20261201);
const RUNS = Number(process.env.HARMONIA_FUZZ_RUNS ?? 200);


function mutate(bytes: Buffer, rnd: () => number): { bytes: Buffer; how: string } {
  const n = bytes.length;
  const at = Math.floor(rnd() * Math.max(1, n));
  switch (Math.floor(rnd() * 5)) {
    case 0:
      return { bytes: bytes.subarray(0, at), how: `truncated at ${at}` };
    case 1: {
      const b = Buffer.from(bytes);
      for (let k = 0; k < 1 + Math.floor(rnd() * 8); k++) b[Math.floor(rnd() * n)] = Math.floor(rnd() * 256);
      return { bytes: b, how: 'flipped bytes' };
    }
    case 2:
      return { bytes: Buffer.concat([bytes.subarray(0, at), Buffer.from('\u0000\uffff9999999999\n\t,"'), bytes.subarray(at)]), how: `junk inserted at ${at}` };
    case 3: {
      // Lying numbers: the digits of a header field replaced by huge, negative or zero values.
      const text = bytes.toString('latin1');
      const m = [...text.matchAll(/\d+/g)];
      if (!m.length) return { bytes: bytes.subarray(0, at), how: `truncated at ${at}` };
      const pick = m[Math.floor(rnd() * Math.min(m.length, 40))];
      const value = ['0', '-1', '99999999', '1e309', 'NaN'][Math.floor(rnd() * 5)];
      return { bytes: Buffer.from(text.slice(0, pick.index) + value.padEnd(pick[0].length).slice(0, Math.max(pick[0].length, value.length)) + text.slice(pick.index! + pick[0].length), 'latin1'), how: `number at ${pick.index} -> ${value}` };
    }
    default:
      return { bytes: Buffer.alloc(0), how: 'empty' };
  }
}

interface Target {
  name: string;
  file: string;
  ext: string;
  read: (path: string) => unknown | Promise<unknown>;
  /** Files that live beside the mutated one (a WFDB header's signal file). */
  companions?: string[];
  /** Only this many leading bytes of the file are the seed. */
  bytes?: number;
}

const data = dataDir();
const targets: Target[] = [
  { name: 'VCF', file: join(fixtures, 'genomic', 'trio.vcf'), ext: '.vcf', read: (p) => scanVcf(p) },
  { name: 'MAF', file: join(fixtures, 'genomic', 'mini.maf'), ext: '.maf', read: (p) => readMaf(p) },
  { name: 'NIfTI-2', file: join(fixtures, 'imaging', 'tiny-nifti2-be.nii'), ext: '.nii', read: (p) => readNifti(p) },
  { name: 'expression TSV', file: join(fixtures, 'expression', 'small.tsv'), ext: '.tsv', read: (p) => readExpressionMatrix(p) },
  { name: 'GCT', file: join(fixtures, 'expression', 'small.gct'), ext: '.gct', read: (p) => readExpressionMatrix(p) },
  { name: 'WFDB header', file: join(fixtures, 'signals', 'tiny.hea'), ext: '.hea', read: (p) => readWfdb(p.slice(0, -4)), companions: ['tiny.dat'] },
  ...(data ? [
    { name: 'MATLAB v4 (PhysioNet 2017)', file: join(data, 'ecg/physionet2017/records/A00001.mat'), ext: '.mat', read: (p: string) => readMat4Signal(p) },
    { name: 'Bonn text', file: join(data, 'eeg/bonn/sets/Z/Z001.txt'), ext: '.txt', read: (p: string) => readBonn(p) },
    { name: 'DICOM MR', file: join(data, 'mri/dicom/MR_small.dcm'), ext: '.dcm', read: (p: string) => parseDicomImage(readFileSync(p), p) },
    // The header and first data record of a real EDF+ file (64 channels): the record count it states is then a lie too.
    { name: 'EDF+ (eegmmidb S001R04, header and first record)', file: join(data, 'eeg/eegmmidb/S001R04.edf'), bytes: 256 * 65 + 64 * 160 * 2 + 2 * 90, ext: '.edf', read: (p: string) => readEdf(p) },
  ] : []),
  { name: 'manifest', file: '', ext: '.tsv', read: (p) => readManifest(p) },
];

describe('fuzzing the readers: malformed inputs end in a clear error, never a crash or a hang', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  for (const t of targets) {
    test(`${t.name}: ${RUNS} mutations (seed ${SEED})`, async () => {
      const rnd = prng(SEED + t.name.length * 7919);
      const whole = t.file ? readFileSync(t.file) : undefined;
      const original = whole ? whole.subarray(0, t.bytes ?? whole.length) : Buffer.from('patient\tmodality\tpath\tsite\tlabel\nP1\tecg\ta.mat\tA\tHP:0005110\nP2\teeg\tb.edf\tB\t\n');
      for (let i = 0; i < RUNS; i++) {
        const { bytes, how } = mutate(original, rnd);
        // A WFDB header names its signal file by name: the mutated header keeps its name, the signal file sits beside it.
        const path = t.companions ? join(dir.path, 'tiny.hea') : join(dir.path, `${t.name.replace(/\W+/g, '_')}-${i}${t.ext}`);
        writeFileSync(path, bytes);
        for (const c of t.companions ?? []) copyFileSync(join(t.file, '..', c), join(dir.path, c));
        const started = performance.now();
        try {
          await t.read(path);
        } catch (e) {
          const err = e as Error;
          const context = `${t.name} run ${i} (${how}): ${err?.constructor?.name}: ${err?.message}`;
          // By name, not instanceof: errors of Node's own code come from another realm than jest's.
          if (typeof err?.message !== 'string' || err.message.length === 0) throw new Error(`not an Error with a message: ${context}`);
          if (err.name === 'TypeError' || err.name === 'RangeError') throw new Error(`unhandled case: ${context}\n${err.stack}`);
        }
        expect(performance.now() - started).toBeLessThan(5000);
      }
    }, 120_000);
  }
});
