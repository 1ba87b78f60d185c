import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

// Provenance (hx:sourceFile) names a phenopacket's file relative to the ingest root, the folder or
// file given to `harmonia ingest`, so that whoever reads the graph (every /sparql client) does not
// learn where the server keeps its data. The roots themselves are kept in the store's metadata, for
// the readers that open those files again (the cohort zip export); /stats does not show them.

/** The store metadata key holding the ingest roots, a JSON array of absolute folders, newest first. */
export const SOURCE_ROOTS_KEY = 'sourceRoots';

/** The folder a source's provenance paths are relative to: the folder itself, or a file's folder (the file then is its own name). */
export function ingestRoot(source: string, isDirectory: boolean): string {
  const absolute = resolve(source);
  return isDirectory ? absolute : dirname(absolute);
}

/** What hx:sourceFile stores for `file`: relative to `root` (`/` separated), or absolute when asked. */
export function provenancePath(file: string, root: string, absolute = false): string {
  const full = resolve(file);
  if (absolute) return full;
  const rel = relative(root, full);
  // A file outside its root (cannot happen for files found under it) keeps its name only, never the path.
  if (!rel || rel.startsWith('..') || isAbsolute(rel)) return full.split(sep).pop()!;
  return rel.split(sep).join('/');
}

/** The metadata value with `root` first (each root once). */
export function withSourceRoot(meta: Readonly<Record<string, string>>, root: string): string {
  return JSON.stringify([root, ...sourceRoots(meta).filter((r) => r !== root)]);
}

export function sourceRoots(meta: Readonly<Record<string, string>>): string[] {
  try {
    const roots = JSON.parse(meta[SOURCE_ROOTS_KEY] ?? '[]') as unknown;
    return Array.isArray(roots) ? roots.filter((r): r is string => typeof r === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * The file on this machine that a stored hx:sourceFile names, if it is still there: an absolute path
 * as it is; a relative one under the newest ingest root that has it, or else (stores written before
 * paths were relative to the root) against the working folder.
 */
export function resolveSourceFile(stored: string, meta: Readonly<Record<string, string>>): string | undefined {
  if (isAbsolute(stored)) return existsSync(stored) ? stored : undefined;
  for (const root of sourceRoots(meta)) {
    const candidate = join(root, stored);
    if (existsSync(candidate)) return candidate;
  }
  return existsSync(stored) ? resolve(stored) : undefined;
}
