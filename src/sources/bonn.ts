import { readFileSync } from 'node:fs';
import { InputError } from '../model/errors.js';
import { recordStem, signalAcquisition, type SignalChannel, type SignalRecording } from './signal-recording.js';

// The Bonn epilepsy EEG segments (Andrzejak et al. 2001, Phys. Rev. E 64, 061907): single-channel,
// 23.6 s, 4,097 samples at 173.61 Hz, 12-bit, band-pass 0.53-40 Hz at acquisition; one integer per
// line of a text file. Sets: Z healthy eyes open (surface), O healthy eyes closed (surface),
// N and F interictal (intracranial, opposite / within the epileptogenic zone), S ictal (intracranial).

// Bound once: the loop below then skips a global lookup per line (slow in jest's vm contexts).
const toNumber = Number;

export const BONN_SAMPLING_RATE = 173.61;
export const BONN_SAMPLES = 4097;

export const BONN_SETS: Record<string, { description: string; seizure: boolean; electrodes: string }> = {
  Z: { description: 'healthy volunteers, eyes open', seizure: false, electrodes: 'surface (10-20)' },
  O: { description: 'healthy volunteers, eyes closed', seizure: false, electrodes: 'surface (10-20)' },
  N: { description: 'interictal, hippocampal formation of the opposite hemisphere', seizure: false, electrodes: 'intracranial' },
  F: { description: 'interictal, epileptogenic zone', seizure: false, electrodes: 'intracranial' },
  S: { description: 'seizure activity', seizure: true, electrodes: 'intracranial' },
};

export interface BonnReadOptions {
  /** Hz; default 173.61 (the published rate). */
  samplingRate?: number;
  /** Throw when the segment does not hold exactly 4,097 samples. Default false (a warning). */
  strictLength?: boolean;
}

/** The set letter of a Bonn file: from its name (`S001.txt`, `s001.txt`) or its folder (`sets/S/`). */
export function bonnSet(file: string): string | undefined {
  const parts = file.split(/[\\/]/);
  const name = parts[parts.length - 1];
  const byName = /^([ZONFS])\d{3}\.txt$/i.exec(name)?.[1]?.toUpperCase();
  if (byName) return byName;
  const folder = parts[parts.length - 2];
  return folder && /^[ZONFS]$/i.test(folder) ? folder.toUpperCase() : undefined;
}

/** Parses the text of one segment: one number per line; blank lines are skipped, anything else is an error. */
export function parseBonnText(text: string, file: string): Float32Array {
  const lines = text.split(/\r?\n/);
  const out = new Float32Array(lines.length);
  let n = 0;
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i].trim();
    if (t === '') continue;
    const x = toNumber(t);
    if (x - x !== 0) throw new InputError(`sample '${t.slice(0, 20)}' is not a finite number`, file, `line ${i + 1}`, 'sample');
    out[n++] = x;
  }
  if (n === 0) throw new InputError('no samples', file, 'line 1', 'sample');
  return out.slice(0, n);
}

/** Reads one Bonn text segment as a one-channel SignalRecording (unit µV, 173.61 Hz). */
export function readBonn(file: string, options: BonnReadOptions = {}): SignalRecording {
  const samplingRate = options.samplingRate ?? BONN_SAMPLING_RATE;
  if (!(samplingRate > 0)) throw new InputError(`sampling rate must be > 0 Hz, got ${samplingRate}`, file, undefined, 'samplingRate');
  const samples = parseBonnText(readFileSync(file, 'utf8'), file);
  const warnings: string[] = [];
  if (samples.length !== BONN_SAMPLES) {
    const message = `segment holds ${samples.length} samples, not the ${BONN_SAMPLES} of the Bonn sets`;
    if (options.strictLength) throw new InputError(message, file, undefined, 'samples');
    warnings.push(message);
  }
  const set = bonnSet(file);
  const channels: SignalChannel[] = [{ label: 'EEG', unit: 'uV', samplingRate, samples, prefiltering: 'HP:0.53Hz LP:40Hz' }];
  const durationSeconds = samples.length / samplingRate;
  return {
    file,
    format: 'bonn',
    id: recordStem(file),
    durationSeconds,
    channels,
    annotations: [],
    segments: [{ onset: 0, duration: durationSeconds }],
    acquisition: signalAcquisition('bonn', channels, durationSeconds, 1, {
      bitsPerSample: 12,
      prefiltering: ['HP:0.53Hz LP:40Hz'],
      ...(set ? { bonnSet: set, electrodes: BONN_SETS[set].electrodes, seizure: BONN_SETS[set].seizure } : {}),
    }),
    corrections: [],
    warnings,
  };
}
