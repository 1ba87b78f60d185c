import { writeFileSync } from 'node:fs';
import { writeZip as zipBytes } from '../../src/cohort/index.js';

/** Writes a zip archive fixture, with the same zip writer the cohort export uses. */
export function writeZip(file: string, entries: Record<string, string | Buffer>): void {
  writeFileSync(file, zipBytes(Object.entries(entries).map(([name, data]) => ({ name, data }))));
}
