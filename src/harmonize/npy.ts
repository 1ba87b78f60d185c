import type { NdArray } from './provenance.js';

// NumPy's .npy format, version 1.0 (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
// magic "\x93NUMPY", version 1.0, a little-endian u16 header length, an ASCII Python dict literal padded
// with spaces and a newline so that the data starts on a 64-byte boundary, then the raw data.

type ArrayType = { new (b: ArrayBuffer, o: number, n: number): NdArray['data']; BYTES_PER_ELEMENT: number };

const DESCR: [ArrayType, string][] = [
  [Float32Array, '<f4'],
  [Float64Array, '<f8'],
  [Int16Array, '<i2'],
  [Int32Array, '<i4'],
  [Uint8Array, '|u1'],
  [Uint16Array, '<u2'],
];

function descrOf(data: NdArray['data']): string {
  for (const [ctor, d] of DESCR) if (data instanceof ctor) return d;
  throw new Error('npy: unsupported array type');
}

/** Encodes an array as the bytes of a .npy file (little-endian, C order), readable by `numpy.load`. */
export function encodeNpy(array: NdArray): Buffer {
  const n = array.shape.reduce((a, b) => a * b, 1);
  if (n !== array.data.length) throw new Error(`npy: shape [${array.shape.join(', ')}] does not match ${array.data.length} values`);
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  let header = `{'descr': '${descrOf(array.data)}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const bytes = new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  // Typed arrays are in the platform's byte order; every platform Node runs on is little-endian.
  return Buffer.concat([head, Buffer.from(header, 'latin1'), bytes]);
}

/** Decodes a .npy file written by `encodeNpy` or by numpy (little-endian, C order, the types above). */
export function decodeNpy(buf: Buffer, file = 'array'): NdArray {
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file (bad magic)`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) throw new Error(`${file}: .npy header is unreadable`);
  if (fortran) throw new Error(`${file}: Fortran-ordered .npy arrays are not supported`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const entry = DESCR.find(([, d]) => d === descr);
  if (!entry) throw new Error(`${file}: .npy dtype ${descr} is not supported`);
  const offset = start + headerLen;
  const ctor = entry[0];
  const n = shape.reduce((a, b) => a * b, 1);
  if (buf.length - offset < n * ctor.BYTES_PER_ELEMENT) throw new Error(`${file}: .npy data is truncated`);
  const copy = buf.buffer.slice(buf.byteOffset + offset, buf.byteOffset + offset + n * ctor.BYTES_PER_ELEMENT);
  return { data: new ctor(copy as ArrayBuffer, 0, n), shape };
}
