// The common in-memory form of a physiological signal recording (EEG, ECG, PPG), whatever file it
// came from: EDF/EDF+/BDF, WFDB, MATLAB v4, Bonn text segments, DICOM waveforms.

/** Physical sample values (in the channel's unit). NaN marks a sample the file declares invalid. */
export type SampleArray = Float32Array | Float64Array;

export interface SignalChannel {
  /** The label as the file gives it, trimmed (e.g. `Fc5.`, `MLII`, `Lead II`). */
  label: string;
  /** Physical unit as the file gives it (`uV`, `mV`, `NU`, ...); empty when the file states none. */
  unit: string;
  /** Samples per second (Hz). Always > 0. */
  samplingRate: number;
  samples: SampleArray;
  /** Transducer / sensor description, where the format has one. */
  transducer?: string;
  /** Filters the device applied, as the file states them (e.g. `HP:0.1Hz LP:75Hz`). */
  prefiltering?: string;
}

/** A time-stamped note: onset and duration in seconds from the recording start, and its text. */
export interface SignalAnnotation {
  onset: number;
  duration: number;
  text: string;
  /** The channel it refers to, where the format says. */
  channel?: string;
}

/** A stretch of time the samples cover, in seconds from the recording start (EDF+D has several). */
export interface SignalSegment {
  onset: number;
  duration: number;
}

export type Acquisition = Record<string, number | string | boolean | number[] | string[]>;

export type SignalFormat = 'edf' | 'edf+c' | 'edf+d' | 'bdf' | 'bdf+c' | 'bdf+d' | 'wfdb' | 'mat4' | 'bonn' | 'dicom-waveform';

export interface SignalRecording {
  file: string;
  format: SignalFormat;
  /** The record's name (WFDB record name, file stem, DICOM SOP instance UID). */
  id: string;
  /** Local start date and time as ISO 8601 without zone (`2009-08-12T16:15:00`), when the file states it. */
  startTime?: string;
  durationSeconds: number;
  channels: SignalChannel[];
  annotations: SignalAnnotation[];
  /** The times the samples cover; one segment [0, duration] for continuous recordings. A channel's
   * samples are the segments' samples one after another. */
  segments: SignalSegment[];
  /** Acquisition parameters (see `signalAcquisition`). */
  acquisition: Acquisition;
  /** What the reader repaired, and how (e.g. a record count inferred from the file size). */
  corrections: string[];
  /** Anomalies kept as they are (e.g. a WFDB checksum that does not match). */
  warnings: string[];
}

/**
 * The acquisition fields every signal reader reports: `format`, `samplingRate` (Hz, the highest
 * channel rate), `samplingRates` (Hz, per channel), `channels` (count), `channelLabels`, `units`,
 * `durationSeconds`, `segments` (count); then the reader's own fields.
 */
export function signalAcquisition(
  format: SignalFormat,
  channels: SignalChannel[],
  durationSeconds: number,
  segments: number,
  extra: Acquisition = {},
): Acquisition {
  const rates = channels.map((c) => c.samplingRate);
  return {
    format,
    samplingRate: rates.length ? Math.max(...rates) : 0,
    samplingRates: rates,
    channels: channels.length,
    channelLabels: channels.map((c) => c.label),
    units: channels.map((c) => c.unit),
    durationSeconds,
    segments,
    ...extra,
  };
}

/** A record's stem: the file name without folders and extension. */
export function recordStem(file: string): string {
  const name = file.split(/[\\/]/).pop() ?? file;
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}
