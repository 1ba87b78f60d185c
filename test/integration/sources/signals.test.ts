import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../../src/model/errors.js';
import { readBonn } from '../../../src/sources/bonn.js';
import { readDicomWaveform, readDicomWaveformGroups } from '../../../src/sources/dicom-waveform.js';
import { readEdf } from '../../../src/sources/edf.js';
import { readMat4, readMat4Signal, readPhysionetReference } from '../../../src/sources/mat.js';
import { readWfdb, readWfdbAnnotations, wfdbBeats } from '../../../src/sources/wfdb.js';
import { dataDir, tempDir } from '../../helpers/paths.js';

// Reference values below were read from the same bytes with numpy (independently of these readers).

const data = dataDir();
const describeReal = data ? describe : describe.skip;
if (!data) console.warn('signal reader integration tests skipped: no data directory (set HARMONIA_DATA or provide ../shared/data)');
const eeg = (f: string) => join(data!, 'eeg', 'eegmmidb', f);
const wfdb = (f: string) => join(data!, 'ecg', 'wfdb-python', f);

describeReal('EDF+ (PhysioNet EEG Motor Movement/Imagery, subject S001)', () => {
  test('S001R04: 64 channels at 160 Hz, 125 s, values, start time; the text-mode-copy damage is repaired and reported', () => {
    const r = readEdf(eeg('S001R04.edf'));
    expect(r.format).toBe('edf+c');
    expect(r.startTime).toBe('2009-08-12T16:15:00');
    expect(r.channels).toHaveLength(64);
    expect(r.channels.slice(0, 3).map((c) => c.label)).toEqual(['Fc5.', 'Fc3.', 'Fc1.']);
    expect(new Set(r.channels.map((c) => c.samplingRate))).toEqual(new Set([160]));
    expect(r.channels.every((c) => c.unit === 'uV' && c.samples.length === 20000)).toBe(true);
    expect(r.durationSeconds).toBe(125);
    expect(Array.from(r.channels[0].samples.slice(0, 5))).toEqual([-5, -12, -77, -66, -45]);
    expect([r.channels[10].label, r.channels[10].samples[0], r.channels[10].samples[1]]).toEqual(['Cz..', 18, -26]);
    expect([r.channels[63].samples[0], r.channels[63].samples[5000]]).toEqual([-39, 59]);
    // The shared copy had every LF byte turned into CR LF; dropping those CRs restores exactly 125 records.
    expect(r.corrections).toEqual([expect.stringMatching(/^data repaired: .*text-mode copy; dropping those 10853 CR bytes restores the record structure$/)]);
    expect(r.acquisition).toMatchObject({ samplingRate: 160, channels: 64, durationSeconds: 125, dataRecords: 125, dataRecordsInHeader: 125, recordDurationSeconds: 1 });
  });

  test('S001R04 annotations: 30 events T0/T1/T2 that agree with the PhysioNet .event annotation file', () => {
    const r = readEdf(eeg('S001R04.edf'));
    expect(r.annotations).toHaveLength(30);
    expect(r.annotations.slice(0, 3)).toEqual([{ onset: 0, duration: 4.2, text: 'T0' }, { onset: 4.2, duration: 4.1, text: 'T2' }, { onset: 8.3, duration: 4.2, text: 'T0' }]);
    expect(new Set(r.annotations.map((a) => a.text))).toEqual(new Set(['T0', 'T1', 'T2']));
    const events = readWfdbAnnotations(eeg('S001R04.edf.event'));
    expect(events.samplingRate).toBe(160);
    expect(events.sample.length).toBe(30);
    r.annotations.forEach((a, i) => {
      expect(events.sample[i] / 160).toBeCloseTo(a.onset, 9);
      expect(events.aux[i]).toBe(`${a.text} duration: ${a.duration}`);
    });
  });

  test('S001R01: the file also ends inside record 61; 60 complete records are read and the count correction is reported', () => {
    const r = readEdf(eeg('S001R01.edf'));
    expect(r.durationSeconds).toBe(60);
    expect(r.channels[0].samples.length).toBe(9600);
    expect([r.channels[0].samples[0], r.channels[0].samples[9599]]).toEqual([-16, 4]);
    expect(r.corrections).toHaveLength(2);
    expect(r.corrections[1]).toBe('record count inferred from the file size: header states 61 data records; the file holds 60 complete records of 20640 bytes and 15115 bytes of an incomplete one, which are ignored');
    expect(r.annotations).toEqual([{ onset: 0, duration: 60.2, text: 'T0' }]);
  });

  test('a truncated copy of a real EDF fails with one clear error', () => {
    const tmp = tempDir('harmonia-edf-real-');
    try {
      const f = join(tmp.path, 'cut.edf');
      writeFileSync(f, readFileSync(eeg('S001R04.edf')).subarray(0, 9000));
      expect(() => readEdf(f)).toThrow(new InputError('file ends inside the signal headers (9000 of 16896 bytes)', f, 'header', 'signal headers'));
    } finally {
      tmp.remove();
    }
  });
});

describeReal('WFDB records and annotations (wfdb-python sample data)', () => {
  test('MIT-BIH 100: two leads at 360 Hz, format 212, values and checksums', () => {
    const r = readWfdb(wfdb('100'));
    expect(r.channels.map((c) => [c.label, c.unit, c.samplingRate, c.samples.length])).toEqual([['MLII', 'mV', 360, 650000], ['V5', 'mV', 360, 650000]]);
    expect([0, 100000, 649999].map((i) => r.channels[0].samples[i])).toEqual([-0.145, -0.425, -1.28].map(Math.fround));
    expect([0, 100000, 649999].map((i) => r.channels[1].samples[i])).toEqual([-0.065, -0.345, 0].map(Math.fround));
    expect(r.warnings).toEqual([]); // both checksums match
    expect(r.acquisition).toMatchObject({ samplingRate: 360, signalFormats: [212, 212], gains: [200, 200], baselines: [1024, 1024], adcResolutions: [11, 11] });
  });

  test('MIT-BIH 100.atr: 2,274 annotations, 2,273 beats (2,239 N, 33 A, 1 V), the rhythm note (N', () => {
    const a = readWfdbAnnotations(wfdb('100.atr'), { samplingRate: 360 });
    expect(a.sample.length).toBe(2274);
    expect(wfdbBeats(a).length).toBe(2273);
    const counts: Record<string, number> = {};
    for (const s of a.symbol) counts[s] = (counts[s] ?? 0) + 1;
    expect(counts).toEqual({ '+': 1, N: 2239, A: 33, V: 1 });
    expect([a.symbol[0], a.sample[0], a.aux[0], a.sample[1]]).toEqual(['+', 18, '(N', 77]);
    const withAnn = readWfdb(wfdb('100'), { annotators: ['atr'] });
    expect(withAnn.annotations[0]).toEqual({ onset: 18 / 360, duration: 0, text: '+ (N' });
  });

  test('a103l: ECG and PPG in a WFDB .mat file (16+24) read the same as the MATLAB v4 reader sees them', () => {
    const r = readWfdb(wfdb('a103l'));
    expect(r.channels.map((c) => [c.label, c.unit, c.samplingRate, c.samples.length])).toEqual([['II', 'mV', 250, 82500], ['V', 'mV', 250, 82500], ['PLETH', 'NU', 250, 82500]]);
    expect(r.channels[0].samples[0]).toBeCloseTo(-0.023595970746515798, 6);
    expect(r.channels[2].samples[100]).toBeCloseTo(0.5056664006384677, 6);
    const [val] = readMat4(wfdb('a103l.mat'));
    expect([val.name, val.rows, val.cols, val.type]).toEqual(['val', 3, 82500, 'int16']);
    for (const i of [0, 1234, 82499]) expect(r.channels[2].samples[i]).toBeCloseTo(val.data[i * 3 + 2] / 12530, 6); // baseline = ADC zero = 0;
    expect(r.warnings).toEqual([]);
  });

  test('PTB s0010_re: 15 leads at 1000 Hz from two signal files; clinical header comments', () => {
    const r = readWfdb(wfdb('s0010_re'));
    expect(r.channels.map((c) => c.label)).toEqual(['i', 'ii', 'iii', 'avr', 'avl', 'avf', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'vx', 'vy', 'vz']);
    expect(r.channels.every((c) => c.samplingRate === 1000 && c.samples.length === 38400)).toBe(true);
    expect([r.channels[0].samples[0], r.channels[11].samples[0], r.channels[0].samples[38399], r.channels[14].samples[38399]]).toEqual([-0.2445, 0.195, 0.135, 0.029].map(Math.fround));
    expect(r.acquisition).toMatchObject({ sex: 'female', signalFiles: [...Array(12).fill('s0010_re.dat'), ...Array(3).fill('s0010_re.xyz')] });
    expect(r.warnings).toEqual([]);
  });

  test('03700181: 4 samples per frame (MCL1 at 500 Hz), a baseline in the gain field, skew; checksums match', () => {
    const r = readWfdb(wfdb('03700181'));
    expect(r.channels.map((c) => [c.label, c.unit, c.samplingRate, c.samples.length])).toEqual([['MCL1', 'mV', 500, 300000], ['ABP', 'mmHg', 125, 75000], ['RESP', 'mV', 125, 75000]]);
    expect(r.startTime).toBe('1994-08-15T17:27:45');
    expect(r.channels[0].samples[3]).toBeCloseTo(23 / 2963.77, 6);
    expect(r.channels[1].samples[0]).toBeCloseTo((-943 + 1605) / 12.84, 4);
    // RESP is skewed by 4 frames: its first sample is the file's 5th frame, its last 4 lie past the end.
    expect(r.channels[2].samples[0]).toBeCloseTo(-0.104, 6);
    expect(r.channels[2].samples[74995]).toBeCloseTo(0.275, 6);
    expect(Array.from(r.channels[2].samples.slice(74996)).every(Number.isNaN)).toBe(true);
    expect(r.warnings).toEqual([]);
  });

  test('a real header naming a missing signal file is one clear error', () => {
    const tmp = tempDir('harmonia-wfdb-real-');
    try {
      copyFileSync(wfdb('100.hea'), join(tmp.path, '100.hea'));
      expect(() => readWfdb(join(tmp.path, '100'))).toThrow(new InputError("signal file '100.dat' named in the header does not exist", join(tmp.path, '100.hea'), 'signal 1', 'file name'));
    } finally {
      tmp.remove();
    }
  });
});

describeReal('MATLAB v4 (PhysioNet/CinC 2017)', () => {
  test('A00001: int16 val / 1000 mV at 300 Hz, 30 s; labels of the 550-record subset', () => {
    const r = readMat4Signal(join(data!, 'ecg', 'physionet2017', 'records', 'A00001.mat'));
    expect(r.durationSeconds).toBe(30);
    expect(Array.from(r.channels[0].samples.slice(0, 5))).toEqual([-0.127, -0.162, -0.197, -0.229, -0.245].map(Math.fround));
    const labels = readPhysionetReference(join(data!, 'ecg', 'physionet2017', 'REFERENCE-subset.csv'));
    const counts: Record<string, number> = {};
    for (const l of labels.values()) counts[l] = (counts[l] ?? 0) + 1;
    expect(counts).toEqual({ N: 200, A: 200, O: 100, '~': 50 });
    expect(labels.get('A00001')).toBe('N');
  });
});

describeReal('DICOM waveform ECG', () => {
  const file = () => join(data!, 'ecg', 'dicom', 'waveform_ecg.dcm');

  test('12 leads at 1000 Hz for 10 s in µV (sensitivity 1.25), filters, device; the median-beat group', () => {
    const r = readDicomWaveform(file());
    expect(r.channels.map((c) => c.label)).toEqual(['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6']);
    expect(r.channels.every((c) => c.unit === 'uV' && c.samplingRate === 1000 && c.samples.length === 10000)).toBe(true);
    expect(Array.from(r.channels[0].samples.slice(0, 3))).toEqual([100, 81.25, 62.5]);
    expect(Array.from(r.channels[1].samples.slice(0, 3))).toEqual([112.5, 106.25, 100]);
    let sum = 0;
    for (const v of r.channels[0].samples) sum += v;
    expect(sum).toBeCloseTo(926613.75, 2);
    expect(r.startTime).toBe('2013-01-25T10:59:19');
    expect(r.acquisition).toMatchObject({ samplingRate: 1000, channels: 12, durationSeconds: 10, multiplexGroup: 'RHYTHM', multiplexGroups: ['RHYTHM', 'MEDIAN BEAT'], modality: 'ECG', manufacturer: 'Mortara Instrument, Inc.', highPassHz: Array(12).fill(0.05), lowPassHz: Array(12).fill(300) });
    expect(r.channels[0].prefiltering).toBe('HP:0.05Hz LP:300Hz');
    expect(r.acquisition.notchHz).toBeUndefined();
    const median = readDicomWaveform(file(), { group: 'MEDIAN BEAT' });
    expect([median.durationSeconds, median.channels.length, median.channels[0].samples.length]).toEqual([1.2, 12, 1200]);
    expect(Array.from(median.channels[2].samples.slice(0, 3))).toEqual([87.5, 87.5, 62.5]);
    expect(readDicomWaveformGroups(file()).groups.map((g) => [g.label, g.samplingRate, g.samples])).toEqual([['RHYTHM', 1000, 10000], ['MEDIAN BEAT', 1000, 1200]]);
  });

  test('truncated waveform data and a non-DICOM file give one clear error', () => {
    const tmp = tempDir('harmonia-dcm-');
    try {
      const cut = join(tmp.path, 'cut.dcm');
      writeFileSync(cut, readFileSync(file()).subarray(0, 100000));
      expect(() => readDicomWaveform(cut)).toThrow(new InputError('not a readable DICOM file (truncated, or not DICOM): dicomParser:parseDicomDataSetExplicit: buffer overrun', cut, undefined, 'DICOM'));
      const text = join(tmp.path, 'text.dcm');
      writeFileSync(text, 'not a dicom file at all');
      expect(() => readDicomWaveform(text)).toThrow(/text.dcm, field DICOM: not a readable DICOM file \(truncated, or not DICOM\)/);
    } finally {
      tmp.remove();
    }
  });
});

describeReal('Bonn EEG segments', () => {
  test('Z001 and S001: 4,097 samples at 173.61 Hz with their first values and sets', () => {
    const z = readBonn(join(data!, 'eeg', 'bonn', 'sets', 'Z', 'Z001.txt'));
    expect(z.channels[0].samples.length).toBe(4097);
    expect(Array.from(z.channels[0].samples.slice(0, 3))).toEqual([12, 22, 35]);
    expect(z.acquisition).toMatchObject({ samplingRate: 173.61, bonnSet: 'Z', seizure: false });
    const n = readBonn(join(data!, 'eeg', 'bonn', 'sets', 'N', 'N001.TXT'));
    expect(n.acquisition.bonnSet).toBe('N');
    expect(n.warnings).toEqual([]);
  });
});
