import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { harmonizeEcg, harmonizePpg } from '../../../src/harmonize/ecg.js';
import { harmonizeEeg } from '../../../src/harmonize/eeg.js';
import { readBonn } from '../../../src/sources/bonn.js';
import { readDicomWaveform } from '../../../src/sources/dicom-waveform.js';
import { readEdf } from '../../../src/sources/edf.js';
import { readMat4Signal, readPhysionetReference } from '../../../src/sources/mat.js';
import { readWfdb, readWfdbAnnotations, wfdbBeats } from '../../../src/sources/wfdb.js';
import { dataDir } from '../../helpers/paths.js';

const data = dataDir();
const describeReal = data ? describe : describe.skip;
if (!data) console.warn('signal harmonisation integration tests skipped: no data directory (set HARMONIA_DATA or provide ../shared/data)');

/** Mann-Whitney AUROC: the probability that a positive scores above a negative (ties count half). */
function auroc(pos: number[], neg: number[]): number {
  let s = 0;
  for (const p of pos) for (const q of neg) s += p > q ? 1 : p === q ? 0.5 : 0;
  return s / (pos.length * neg.length);
}

/** Sensitivity and positive predictivity of detections against reference times, one-to-one within `tol` s. */
function beatMatch(detected: number[], reference: number[], tol: number): { sensitivity: number; ppv: number } {
  let i = 0, tp = 0;
  for (const r of reference) {
    while (i < detected.length && detected[i] < r - tol) i++;
    if (i < detected.length && Math.abs(detected[i] - r) <= tol) {
      tp++;
      i++;
    }
  }
  return { sensitivity: tp / reference.length, ppv: tp / detected.length };
}

describeReal('ECG harmonisation on real records', () => {
  test('MIT-BIH 100: R peaks against the reference beat annotations, sensitivity and positive predictivity > 0.99 within 150 ms', () => {
    const r = harmonizeEcg(readWfdb(join(data!, 'ecg', 'wfdb-python', '100')));
    expect(r.channel).toBe('MLII');
    const detected = Array.from(r.arrays.peaks.data, (i) => i / r.samplingRate);
    const reference = Array.from(wfdbBeats(readWfdbAnnotations(join(data!, 'ecg', 'wfdb-python', '100.atr'), { samplingRate: 360 })), (s) => s / 360);
    const m = beatMatch(detected, reference, 0.15);
    expect(m.sensitivity).toBeGreaterThan(0.99);
    expect(m.ppv).toBeGreaterThan(0.99);
    expect(r.features.heartRate).toBeGreaterThan(70);
    expect(r.features.heartRate).toBeLessThan(80);
    expect(r.windows).toBe(180); // 30 min 5 s in 10 s windows
  });

  test('PhysioNet 2017, the 400 A/N records: AF is more irregular (AUROC > 0.85 for nRMSSD, > 0.9 for pNN50)', () => {
    const dir = join(data!, 'ecg', 'physionet2017');
    const labels = readPhysionetReference(join(dir, 'REFERENCE-subset.csv'));
    const af: Record<string, number>[] = [], normal: Record<string, number>[] = [];
    for (const [record, label] of labels) {
      if (label !== 'A' && label !== 'N') continue;
      const r = harmonizeEcg(readMat4Signal(join(dir, 'records', `${record}.mat`)));
      (label === 'A' ? af : normal).push(r.features);
    }
    expect([af.length, normal.length]).toEqual([200, 200]);
    const auc = (name: string) => auroc(af.map((f) => f[name]), normal.map((f) => f[name]));
    expect(auc('nRMSSD')).toBeGreaterThan(0.85);
    expect(auc('pnn50')).toBeGreaterThan(0.9);
    expect(auc('cvRR')).toBeGreaterThan(0.8);
    expect(auc('turningPointRatio')).toBeGreaterThan(0.8);
    const hr = normal.map((f) => f.heartRate).sort((a, b) => a - b);
    expect(hr[100]).toBeGreaterThan(55);
    expect(hr[100]).toBeLessThan(95);
  });

  test('a103l: ECG lead II and the PPG of the same record agree on the rate', () => {
    const rec = readWfdb(join(data!, 'ecg', 'wfdb-python', 'a103l'));
    const ecg = harmonizeEcg(rec);
    const ppg = harmonizePpg(rec);
    expect([ecg.channel, ppg.channel]).toEqual(['II', 'PLETH']);
    expect(Math.abs(ecg.beats - ppg.beats) / ecg.beats).toBeLessThan(0.05);
    expect(Math.abs(ecg.features.heartRate - ppg.features.pulseRate)).toBeLessThan(3);
  });

  test('the DICOM 12-lead ECG (µV) is harmonised from lead II in mV', () => {
    const r = harmonizeEcg(readDicomWaveform(join(data!, 'ecg', 'dicom', 'waveform_ecg.dcm')));
    expect(r.channel).toBe('II');
    expect(r.beats).toBeGreaterThanOrEqual(8);
    expect(r.beats).toBeLessThanOrEqual(16);
    expect(r.features.heartRate).toBeGreaterThan(45);
    expect(r.features.heartRate).toBeLessThan(100);
    expect(r.provenance[1].parameters).toMatchObject({ fromHz: 1000, toHz: 250, up: 1, down: 4 });
  });
});

describeReal('EEG harmonisation on real records', () => {
  test('eegmmidb S001R04: 64 channels to 10-10 names, 128 Hz, 31 epochs of 4 s; relative powers sum to 1', () => {
    const r = harmonizeEeg(readEdf(join(data!, 'eeg', 'eegmmidb', 'S001R04.edf')));
    expect(r.channels).toHaveLength(64);
    expect(r.channels.slice(0, 8)).toEqual(['FC5', 'FC3', 'FC1', 'FCz', 'FC2', 'FC4', 'FC6', 'C5']);
    expect(r.channels).toEqual(expect.arrayContaining(['Fp1', 'Fpz', 'AF7', 'T9', 'T10', 'PO7', 'Oz', 'Iz']));
    expect(r.dropped).toEqual([]);
    expect([r.samplingRate, r.epochs]).toEqual([128, 31]);
    expect(r.arrays.epochs.shape).toEqual([31, 64, 512]);
    const rel = ['delta', 'theta', 'alpha', 'beta', 'gamma'].reduce((a, b) => a + r.features[`relPower_${b}`], 0);
    expect(rel).toBeCloseTo(1, 9);
    for (const v of Object.values(r.features)) expect(Number.isFinite(v)).toBe(true);
    expect(r.provenance[0].parameters).toMatchObject({ fromHz: 160, toHz: 128, up: 4, down: 5 });
  });

  test('Bonn: seizure set S differs from healthy set Z (line length and theta power far higher in S)', () => {
    const set = (s: string) => {
      const dir = join(data!, 'eeg', 'bonn', 'sets', s);
      return readdirSync(dir).sort().map((f) => harmonizeEeg(readBonn(join(dir, f))).features);
    };
    const S = set('S'), Z = set('Z');
    expect([S.length, Z.length]).toEqual([100, 100]);
    const values = (xs: Record<string, number>[], k: string) => xs.map((f) => f[k]);
    expect(auroc(values(S, 'lineLength'), values(Z, 'lineLength'))).toBeGreaterThan(0.97);
    expect(auroc(values(S, 'absPower_theta'), values(Z, 'absPower_theta'))).toBeGreaterThan(0.97);
    const zMedian = values(Z, 'lineLength').sort((a, b) => a - b)[50];
    expect(values(S, 'lineLength').filter((v) => v > zMedian).length).toBeGreaterThanOrEqual(95);
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[50];
    expect(median(values(S, 'lineLength')) / median(values(Z, 'lineLength'))).toBeGreaterThan(3);
  });
});
