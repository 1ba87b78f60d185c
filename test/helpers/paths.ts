import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const fixtures = join(repoRoot, 'test', 'fixtures');
export const miniHpo = join(fixtures, 'ontology', 'mini-hp.obo');

/** The real data directory, or undefined (integration tests then skip and say why). */
export function dataDir(): string | undefined {
  const dir = resolve(repoRoot, process.env.HARMONIA_DATA ?? join('..', 'shared', 'data'));
  return existsSync(join(dir, 'ontologies')) ? dir : undefined;
}

export function tempDir(prefix = 'harmonia-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
