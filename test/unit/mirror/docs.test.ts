import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXAMPLE_QUERIES } from '../../../src/cli/commands/demo.js';
import { NODE_KEYS, mirrorStore } from '../../../src/mirror/index.js';
import { repoRoot } from '../../helpers/paths.js';
import { cypherParameters, cypherProblems } from './cypher-check.js';
import { FakeNeo4j } from './fake-neo4j.js';
import { mirrorFixture } from './helpers.js';

const doc = readFileSync(join(repoRoot, 'docs', 'neo4j.md'), 'utf8');
const blocks = [...doc.matchAll(/```cypher\n([\s\S]*?)```/g)].map((m) => m[1].trim());

describe('docs/neo4j.md', () => {
  let schema: { labels: string[]; relationshipTypes: string[]; propertyKeys: string[] };
  beforeAll(async () => {
    // The schema Neo4j would report after mirroring the fixture: labels, relationship types, property keys.
    const fx = await mirrorFixture();
    const neo = new FakeNeo4j();
    try {
      await mirrorStore(fx.store, neo);
    } finally {
      await fx.cleanup();
    }
    const keys = new Set<string>();
    for (const p of neo.nodes.values()) for (const k of Object.keys(p)) keys.add(k);
    for (const r of neo.rels.values()) for (const k of Object.keys(r.props)) keys.add(k);
    // Written from data the fixture lacks: an ECG feature and embeddings.
    for (const k of ['feature.cvRR', 'embedding', 'embeddingModel']) keys.add(k);
    schema = {
      labels: NODE_KEYS.map((k) => k.label),
      relationshipTypes: [...new Set([...neo.rels.values()].map((r) => r.type)), 'CALLED_VARIANT'],
      propertyKeys: [...keys].sort(),
    };
  }, 60_000);

  test('gives a Cypher equivalent of each demo query and of at least four cohorts', () => {
    for (const q of EXAMPLE_QUERIES) expect(doc).toContain(q.title);
    const cohorts = doc.slice(doc.indexOf('## Cypher equivalents of the cohorts'), doc.indexOf('## Running Neo4j'));
    expect([...cohorts.matchAll(/```cypher/g)].length).toBeGreaterThanOrEqual(4);
    expect(blocks.length).toBeGreaterThanOrEqual(12);
  });

  test('every ```cypher block passes Neo4j\'s parser, with the mirror\'s labels, relationship types and property keys as the schema', () => {
    const problems: string[] = [];
    for (const b of blocks) {
      const params = Object.fromEntries(cypherParameters(b).map((p) => [p, 'x']));
      for (const p of cypherProblems(b, schema, params)) problems.push(`${p}\n${b}`);
    }
    expect(problems).toEqual([]);
    // The schema check catches a misspelt label or property.
    expect(cypherProblems('MATCH (p:Patients) RETURN p.idd', schema)).toHaveLength(2);
  }, 60_000);
});
