import { closeSync, fsyncSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Writes a file so that it is either wholly there or not at all: temp file, fsync, rename, fsync dir.
 * `beforeRename` runs once the temp file is durable (the store's kill -9 test hook stops there).
 */
export function writeAtomic(file: string, chunks: Iterable<string | Uint8Array>, beforeRename?: () => void): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    for (const c of chunks) {
      if (typeof c === 'string') writeSync(fd, c);
      else writeSync(fd, c);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  beforeRename?.();
  renameSync(tmp, file);
  syncDir(dirname(file));
}

export function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic there.
  }
}

/** A file as a sequence of chunks, so that multi-gigabyte segments never become one JS string. */
export function* fileChunks(file: string, size = 8 << 20): Generator<Uint8Array> {
  const fd = openSync(file, 'r');
  try {
    for (;;) {
      const buf = Buffer.allocUnsafe(size);
      const n = readSync(fd, buf, 0, size, null);
      if (n <= 0) return;
      yield buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}
