import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Quad, Term } from 'n3';

/** Absolute path of the YARRRML test fixtures, for `access:` in mappings written to a temp folder. */
export const FX = resolve('test/fixtures/yarrrml');

/** Writes `text` to a fresh temp folder and returns the file's path. */
export function tempFile(text: string, name = 'mapping.yml'): string {
  const file = join(mkdtempSync(join(tmpdir(), 'yarrrml-')), name);
  writeFileSync(file, text);
  return file;
}

// N-Quads written by hand (not by n3's Writer) so the expectation does not share code with the engine.
function term(t: Term): string {
  if (t.termType === 'NamedNode') return `<${t.value}>`;
  if (t.termType === 'DefaultGraph') return '';
  if (t.termType === 'Literal') {
    const v = JSON.stringify(t.value);
    if (t.language) return `${v}@${t.language}`;
    return t.datatype.value === 'http://www.w3.org/2001/XMLSchema#string' ? v : `${v}^^<${t.datatype.value}>`;
  }
  return `_:${t.value}`;
}

export function nquads(quads: Quad[]): string[] {
  return quads.map((q) => [q.subject, q.predicate, q.object, q.graph].map(term).filter(Boolean).join(' ')).sort();
}
