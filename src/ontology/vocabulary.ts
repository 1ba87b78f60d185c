import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataFactory, Parser, type Quad } from 'n3';
import { VOCAB_GRAPH } from '../model/iri.js';

/** ontologies/harmonia.ttl of this installation, found from this file in src/ or dist/src/. */
export function vocabularyFile(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    const f = join(dir, 'ontologies', 'harmonia.ttl');
    if (existsSync(f)) return f;
  }
  throw new Error('ontologies/harmonia.ttl not found next to the installation');
}

/** Our own vocabulary as quads in its named graph, so users can query the terms they query with. */
export function vocabularyQuads(): Quad[] {
  const g = DataFactory.namedNode(VOCAB_GRAPH);
  return new Parser().parse(readFileSync(vocabularyFile(), 'utf8')).map((q) => DataFactory.quad(q.subject, q.predicate, q.object, g));
}
