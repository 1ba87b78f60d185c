import { createHash } from 'node:crypto';

/**
 * What one harmonisation step did, recorded so that every harmonized value can be traced and
 * reproduced: which step (and its version), with which parameters, from which input to which output.
 * Mapped to a `prov:Activity` in the graph.
 */
export interface StepProvenance {
  /** Stable step name, `<modality>.<step>`, e.g. `eeg.bandpass`, `mri.resample`, `expression.combat`. */
  step: string;
  /** Bumped whenever the step's output for the same input and parameters changes. */
  version: string;
  parameters: Record<string, unknown>;
  /** sha256 of the input array's bytes (see `checksum`). */
  input?: string;
  /** sha256 of the output array's bytes. */
  output?: string;
}

/** An n-dimensional array in C (row-major) order, as numpy stores it. */
export interface NdArray {
  data: Float32Array | Float64Array | Int16Array | Int32Array | Uint8Array | Uint16Array;
  shape: number[];
}

/** A step's result: the new value and what was done to get it. */
export interface Stepped<T> {
  value: T;
  provenance: StepProvenance;
}

/** sha256 (hex) over the raw bytes of typed arrays, or the UTF-8 of a string. */
export function checksum(...parts: (ArrayBufferView | string)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' ? p : new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return h.digest('hex');
}

/**
 * Runs a pure step `fn(input, parameters)` and records it. Steps stay plain functions (easy to test,
 * reuse and compose); this wrapper adds the checksums of what went in and what came out.
 */
export function runStep<I extends ArrayBufferView, O extends ArrayBufferView, P extends object>(
  step: string,
  version: string,
  input: I,
  parameters: P,
  fn: (input: I, parameters: P) => O,
): Stepped<O> {
  const value = fn(input, parameters);
  return { value, provenance: { step, version, parameters: { ...parameters } as Record<string, unknown>, input: checksum(input), output: checksum(value) } };
}
