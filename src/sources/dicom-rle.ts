import { InputError } from '../model/errors.js';

// RLE Lossless (PS3.5 Annex G). A frame is a 64-byte header (the number of segments, then up to 15
// segment offsets, little-endian uint32) followed by segments, each one byte plane compressed with a
// PackBits-style scheme: a header byte n in 0..127 copies the next n+1 bytes literally, n in
// -127..-1 repeats the next byte 1-n times, -128 is a no-op. A pixel of B bytes and S samples has
// S*B segments: for each sample, its most significant byte plane first.

/**
 * Decodes one RLE frame into little-endian pixel bytes, samples interleaved (planar configuration 0):
 * rows*columns*samples*bytesPerSample bytes.
 */
export function decodeRleFrame(frame: Uint8Array, rows: number, columns: number, samplesPerPixel: number, bitsAllocated: number, file = 'dicom'): Uint8Array {
  const field = '(7FE0,0010) PixelData';
  if (bitsAllocated % 8 !== 0) throw new InputError(`RLE with BitsAllocated ${bitsAllocated} is not supported`, file, undefined, field);
  const bytesPerSample = bitsAllocated / 8;
  const expected = samplesPerPixel * bytesPerSample;
  if (frame.length < 64) throw new InputError(`RLE frame is ${frame.length} bytes, shorter than its 64-byte header`, file, undefined, field);
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segments = dv.getUint32(0, true);
  if (segments !== expected) throw new InputError(`RLE header lists ${segments} segments; ${samplesPerPixel} sample(s) of ${bitsAllocated} bits need ${expected}`, file, undefined, field);
  const offsets = Array.from({ length: segments }, (_, i) => dv.getUint32(4 + 4 * i, true));
  const pixels = rows * columns;
  const out = new Uint8Array(pixels * expected);
  for (let s = 0; s < segments; s++) {
    const start = offsets[s];
    const end = s + 1 < segments ? offsets[s + 1] : frame.length;
    if (start < 64 || end > frame.length || end < start) throw new InputError(`RLE segment ${s + 1} has offsets ${start}..${end} outside the ${frame.length}-byte frame`, file, undefined, field);
    const sample = Math.floor(s / bytesPerSample);
    // Segment order within a sample is most significant byte first; little-endian output puts it last.
    const byteInPixel = sample * bytesPerSample + (bytesPerSample - 1 - (s % bytesPerSample));
    unpackSegment(frame, start, end, out, byteInPixel, expected, pixels, s + 1, file);
  }
  return out;
}

function unpackSegment(src: Uint8Array, start: number, end: number, out: Uint8Array, first: number, stride: number, count: number, segment: number, file: string): void {
  let p = start;
  let n = 0;
  let o = first;
  while (n < count && p < end) {
    const h = src[p++];
    if (h < 128) {
      const len = h + 1;
      if (p + len > end) throw new InputError(`RLE segment ${segment} ends inside a literal run`, file, undefined, '(7FE0,0010) PixelData');
      const take = Math.min(len, count - n);
      for (let i = 0; i < take; i++, o += stride) out[o] = src[p + i];
      p += len;
      n += take;
    } else if (h > 128) {
      const len = 257 - h;
      if (p >= end) throw new InputError(`RLE segment ${segment} ends inside a replicate run`, file, undefined, '(7FE0,0010) PixelData');
      const v = src[p++];
      const take = Math.min(len, count - n);
      for (let i = 0; i < take; i++, o += stride) out[o] = v;
      n += take;
    }
  }
  if (n < count) throw new InputError(`RLE segment ${segment} decodes to ${n} of ${count} bytes: truncated or corrupt`, file, undefined, '(7FE0,0010) PixelData');
}

/** Encodes one byte plane with the RLE scheme above (used to write test data and by round-trip tests). */
export function encodeRleSegment(plane: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < plane.length) {
    let run = 1;
    while (i + run < plane.length && run < 128 && plane[i + run] === plane[i]) run++;
    if (run >= 2) {
      out.push(257 - run, plane[i]);
      i += run;
      continue;
    }
    const start = i;
    while (i < plane.length && i - start < 128 && !(i + 1 < plane.length && plane[i + 1] === plane[i])) i++;
    if (i === start) i++;
    out.push(i - start - 1, ...plane.subarray(start, i));
  }
  if (out.length % 2) out.push(0x80); // segments are padded to even length; -128 is a no-op
  return Uint8Array.from(out);
}

/** Encodes a frame of little-endian pixel bytes (samples interleaved) as an RLE frame. */
export function encodeRleFrame(pixelBytes: Uint8Array, pixels: number, samplesPerPixel: number, bitsAllocated: number): Uint8Array {
  const bps = bitsAllocated / 8;
  const stride = samplesPerPixel * bps;
  const segments: Uint8Array[] = [];
  for (let s = 0; s < samplesPerPixel; s++) {
    for (let b = bps - 1; b >= 0; b--) {
      const plane = new Uint8Array(pixels);
      for (let i = 0; i < pixels; i++) plane[i] = pixelBytes[i * stride + s * bps + b];
      segments.push(encodeRleSegment(plane));
    }
  }
  const header = new Uint8Array(64);
  const dv = new DataView(header.buffer);
  dv.setUint32(0, segments.length, true);
  let offset = 64;
  segments.forEach((seg, i) => {
    dv.setUint32(4 + 4 * i, offset, true);
    offset += seg.length;
  });
  const out = new Uint8Array(offset);
  out.set(header);
  let o = 64;
  for (const seg of segments) {
    out.set(seg, o);
    o += seg.length;
  }
  return out;
}
