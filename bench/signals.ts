// Signal readers and harmonizers: throughput on the real files, each beside an anchor measured in the
// same run on the same bytes (a raw typed-array view over the file, i.e. the cost of touching the bytes
// without decoding; dicom-parser alone for DICOM; reading alone for the harmonizers).
// Usage: node dist/bench/signals.js DATA_DIR; prints one JSON object on stdout.

import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import dicomParser from 'dicom-parser';
import { harmonizeEcg } from '../src/harmonize/ecg.js';
import { harmonizeEeg } from '../src/harmonize/eeg.js';
import { readBonn } from '../src/sources/bonn.js';
import { readDicomWaveform } from '../src/sources/dicom-waveform.js';
import { openEdf, readEdf } from '../src/sources/edf.js';
import { readMat4Signal } from '../src/sources/mat.js';
import type { SignalRecording } from '../src/sources/signal-recording.js';
import { readWfdb } from '../src/sources/wfdb.js';
import { peakRssMiB, round } from './util.js';

interface Row {
  measure: string;
  value: string;
  anchor: string;
  ratio: string;
}

/** Best of `runs` timings (ms) of fn; the result of the last run is returned too. */
function best<T>(runs: number, fn: () => T): { ms: number; value: T } {
  let ms = Infinity;
  let value!: T;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    value = fn();
    ms = Math.min(ms, performance.now() - t);
  }
  return { ms, value };
}

const mbps = (bytes: number, ms: number) => round(bytes / 2 ** 20 / (ms / 1000), 1);
const perSecond = (n: number, ms: number) => round(n / (ms / 1000), 1);
const ratio = (ours: number, anchor: number) => `${round(ours / anchor, 3)} of the anchor`;

/** The anchor: read the file and pass over it as 16-bit integers (no decoding, no scaling kept). */
function rawInt16Pass(file: string, offset = 0): number {
  const b = readFileSync(file);
  const v = new Int16Array(b.buffer, b.byteOffset + offset, Math.floor((b.length - offset) / 2));
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s;
}

/**
 * A clean (undamaged) EDF+ of about `targetMiB` made from S001R04's repaired records repeated, to
 * measure streaming on a large, healthy file.
 */
function largeEdf(source: string, dir: string, targetMiB: number): string {
  const edf = openEdf(source);
  const rec = readEdf(source);
  const { header } = edf;
  const file = join(dir, 'large.edf');
  const copies = Math.max(1, Math.ceil((targetMiB * 2 ** 20) / (edf.recordBytes * edf.recordCount)));
  const records = copies * edf.recordCount;
  const head = readFileSync(source).subarray(0, header.headerBytes);
  head.write(String(records).padEnd(8, ' '), 236, 'latin1');
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, head);
    const out = Buffer.alloc(edf.recordBytes);
    let t = 0;
    for (let c = 0; c < copies; c++) {
      for (let r = 0; r < edf.recordCount; r++, t++) {
        let at = 0;
        header.signals.forEach((s, k) => {
          if (s.isAnnotation) {
            out.fill(0, at, at + s.samplesPerRecord * 2);
            out.write(`+${t}\x14\x14\0`, at, 'latin1');
          } else {
            const ch = rec.channels.find((x) => x.label === s.label)!;
            for (let i = 0; i < s.samplesPerRecord; i++) out.writeInt16LE(Math.round(ch.samples[r * s.samplesPerRecord + i]), at + 2 * i);
          }
          at += s.samplesPerRecord * 2;
        });
        writeSync(fd, out);
      }
    }
  } finally {
    closeSync(fd);
  }
  return file;
}

export function benchSignals(dataDir: string, log: (s: string) => void = () => {}): { title: string; rows: Row[]; peakRssMiB: number; notes: string[] } {
  const rows: Row[] = [];
  const notes: string[] = [];
  const size = (files: string[]) => files.reduce((a, f) => a + statSync(f).size, 0);

  // EDF+ (eegmmidb): the shared files need the CR LF repair, which is part of what is timed.
  const edfFiles = ['S001R01', 'S001R04', 'S001R08', 'S001R12'].map((f) => join(dataDir, 'eeg', 'eegmmidb', `${f}.edf`));
  const edfBytes = size(edfFiles);
  const edf = best(5, () => edfFiles.map((f) => readEdf(f)));
  const edfAnchor = best(5, () => edfFiles.map((f) => rawInt16Pass(f)));
  rows.push({ measure: `EDF+ read, eegmmidb S001 (4 runs, ${round(edfBytes / 2 ** 20, 1)} MiB, 64 ch at 160 Hz, with the CR LF repair)`, value: `${mbps(edfBytes, edf.ms)} MB/s`, anchor: `raw Int16Array pass over the same bytes: ${mbps(edfBytes, edfAnchor.ms)} MB/s`, ratio: ratio(mbps(edfBytes, edf.ms), mbps(edfBytes, edfAnchor.ms)) });
  log(`EDF eegmmidb: ${mbps(edfBytes, edf.ms)} MB/s\n`);

  const dir = mkdtempSync(join(tmpdir(), 'harmonia-bench-signals-'));
  try {
    const big = largeEdf(edfFiles[1], dir, 200);
    const bigBytes = statSync(big).size;
    const rssBefore = process.memoryUsage().rss;
    const bigRead = best(2, () => readEdf(big).channels.length);
    const bigAnchor = best(2, () => rawInt16Pass(big, 16896));
    rows.push({ measure: `EDF+ read, a clean ${round(bigBytes / 2 ** 20, 0)} MiB file (S001R04's records repeated), streamed by data record`, value: `${mbps(bigBytes, bigRead.ms)} MB/s`, anchor: `raw Int16Array pass over the same bytes (whole file in memory): ${mbps(bigBytes, bigAnchor.ms)} MB/s`, ratio: ratio(mbps(bigBytes, bigRead.ms), mbps(bigBytes, bigAnchor.ms)) });
    notes.push(`The large EDF's decoded samples take ${round((bigBytes * 2) / 2 ** 20, 0)} MiB as Float32; the reader holds one ~4 MiB chunk of the file besides (RSS before that read ${round(rssBefore / 2 ** 20, 0)} MiB).`);
    log(`EDF large: ${mbps(bigBytes, bigRead.ms)} MB/s\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // WFDB: the four sample records (formats 212, 16, 212 with 4 samples/frame and skew, .mat 16+24).
  const wfdbDir = join(dataDir, 'ecg', 'wfdb-python');
  const wfdbRecords = ['100', 's0010_re', '03700181', 'a103l'];
  const wfdbFiles = readdirSync(wfdbDir).filter((f) => /\.(dat|mat|xyz)$/.test(f)).map((f) => join(wfdbDir, f));
  const wfdbBytes = size(wfdbFiles);
  const wf = best(5, () => wfdbRecords.map((r) => readWfdb(join(wfdbDir, r))));
  const wfAnchor = best(5, () => wfdbFiles.map((f) => rawInt16Pass(f)));
  rows.push({ measure: `WFDB read, 4 records (${round(wfdbBytes / 2 ** 20, 1)} MiB of signal files; formats 212, 16, .mat)`, value: `${perSecond(4, wf.ms)} records/s, ${mbps(wfdbBytes, wf.ms)} MB/s`, anchor: `raw Int16Array pass over the same signal files: ${mbps(wfdbBytes, wfAnchor.ms)} MB/s`, ratio: ratio(mbps(wfdbBytes, wf.ms), mbps(wfdbBytes, wfAnchor.ms)) });
  log(`WFDB: ${perSecond(4, wf.ms)} records/s\n`);

  // MATLAB v4: the 550 PhysioNet 2017 records.
  const matDir = join(dataDir, 'ecg', 'physionet2017', 'records');
  const matFiles = readdirSync(matDir).filter((f) => f.endsWith('.mat')).sort().map((f) => join(matDir, f));
  const mat = best(3, () => matFiles.map((f) => readMat4Signal(f)));
  const matAnchor = best(3, () => matFiles.map((f) => rawInt16Pass(f, 24)));
  rows.push({ measure: `MATLAB v4 read, PhysioNet 2017 (${matFiles.length} records, ${round(size(matFiles) / 2 ** 20, 1)} MiB)`, value: `${perSecond(matFiles.length, mat.ms)} records/s`, anchor: `raw Int16Array view at the data offset: ${perSecond(matFiles.length, matAnchor.ms)} records/s`, ratio: ratio(perSecond(matFiles.length, mat.ms), perSecond(matFiles.length, matAnchor.ms)) });
  log(`MAT: ${perSecond(matFiles.length, mat.ms)} records/s\n`);

  // DICOM waveform.
  const dcm = join(dataDir, 'ecg', 'dicom', 'waveform_ecg.dcm');
  const dw = best(20, () => readDicomWaveform(dcm));
  const dwAnchor = best(20, () => {
    const b = readFileSync(dcm);
    return dicomParser.parseDicom(new Uint8Array(b.buffer, b.byteOffset, b.length));
  });
  rows.push({ measure: 'DICOM waveform ECG read (12 leads x 10,000 samples + median beats, 0.3 MiB)', value: `${perSecond(1, dw.ms)} records/s`, anchor: `dicom-parser parsing the same file (no waveform decoding): ${perSecond(1, dwAnchor.ms)} records/s`, ratio: ratio(perSecond(1, dw.ms), perSecond(1, dwAnchor.ms)) });

  // Bonn text.
  const bonnFiles = ['Z', 'O', 'N', 'F', 'S'].flatMap((s) => readdirSync(join(dataDir, 'eeg', 'bonn', 'sets', s)).sort().map((f) => join(dataDir, 'eeg', 'bonn', 'sets', s, f)));
  const bonn = best(3, () => bonnFiles.map((f) => readBonn(f)));
  const bonnAnchor = best(3, () => bonnFiles.map((f) => readFileSync(f, 'utf8').split('\n').map(Number)));
  rows.push({ measure: `Bonn text segments read (${bonnFiles.length} x 4,097 samples)`, value: `${perSecond(bonnFiles.length, bonn.ms)} records/s`, anchor: `readFileSync + split + Number: ${perSecond(bonnFiles.length, bonnAnchor.ms)} records/s`, ratio: ratio(perSecond(bonnFiles.length, bonn.ms), perSecond(bonnFiles.length, bonnAnchor.ms)) });
  log(`Bonn: ${perSecond(bonnFiles.length, bonn.ms)} records/s\n`);

  // Harmonizers, beside reading the same records.
  const harmonize = (label: string, recs: SignalRecording[], fn: (r: SignalRecording) => unknown, readMs: number, runs = 2) => {
    const h = best(runs, () => recs.map(fn));
    rows.push({ measure: label, value: `${perSecond(recs.length, h.ms)} records/s`, anchor: `reading the same records: ${perSecond(recs.length, readMs)} records/s`, ratio: `harmonizing takes ${round(h.ms / readMs, 1)}x the read time` });
    log(`${label}: ${perSecond(recs.length, h.ms)} records/s\n`);
  };
  harmonize(`ECG harmonize, PhysioNet 2017 (${matFiles.length} single-lead records, 9-60 s at 300 Hz)`, mat.value, (r) => harmonizeEcg(r), mat.ms);
  const mitbih = best(3, () => [readWfdb(join(wfdbDir, '100'))]);
  harmonize('ECG harmonize, MIT-BIH 100 (30 min at 360 Hz)', mitbih.value, (r) => harmonizeEcg(r), mitbih.ms, 3);
  harmonize(`EEG harmonize, Bonn (${bonnFiles.length} segments, 23.6 s at 173.61 Hz)`, bonn.value, (r) => harmonizeEeg(r), bonn.ms);
  harmonize('EEG harmonize, eegmmidb S001 (4 runs, 64 channels, 60-125 s at 160 Hz)', edf.value, (r) => harmonizeEeg(r), edf.ms);

  notes.push('Best of several runs per measure, one process; anchors run on the same bytes in the same process. The raw Int16Array pass reads the file and sums it as 16-bit integers: the floor of any reader, not a competing library (no maintained EDF/WFDB reader is installed).');
  notes.push('The shared eegmmidb EDF files were damaged by a text-mode copy (every LF byte preceded by an inserted CR); the EDF+ row includes finding and dropping those bytes.');
  return { title: 'Signals: EDF+, WFDB, MATLAB v4, DICOM waveform and Bonn readers; ECG and EEG harmonizers', rows, peakRssMiB: peakRssMiB(), notes };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const dir = resolve(process.argv[2] ?? process.env.HARMONIA_DATA ?? '../shared/data');
  try {
    process.stdout.write(JSON.stringify(benchSignals(dir, (s) => process.stderr.write(s)), null, 2) + '\n');
  } catch (e) {
    process.stderr.write(`bench/signals: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
