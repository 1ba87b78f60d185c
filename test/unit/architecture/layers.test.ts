import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '../../helpers/paths.js';

// Data flows one way (docs/architecture.md): a stage may import only stages of a lower rank.
const RANK: Record<string, number> = {
  model: 0, ontology: 1, sources: 2, harmonize: 3, map: 4, validate: 5, store: 6,
  ingest: 7, query: 7, cohort: 8, retrieve: 8, mirror: 8, learn: 9, server: 10, cli: 11,
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('every stage folder under src/ has a rank and an index', () => {
  for (const stage of readdirSync(join(repoRoot, 'src'))) {
    expect(RANK).toHaveProperty(stage);
    if (stage !== 'cli') expect(statSync(join(repoRoot, 'src', stage, 'index.ts')).isFile()).toBe(true);
  }
});

test('no stage imports a stage of the same or a higher rank', () => {
  const violations: string[] = [];
  for (const file of files(join(repoRoot, 'src'))) {
    const stage = relative(join(repoRoot, 'src'), file).split('/')[0];
    for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.\.?\/[^']+)'/g)) {
      const target = relative(join(repoRoot, 'src'), join(file, '..', m[1])).split('/')[0];
      if (target !== stage && !(RANK[target] < RANK[stage])) violations.push(`${relative(repoRoot, file)} imports ${m[1]}`);
    }
  }
  expect(violations).toEqual([]);
});
