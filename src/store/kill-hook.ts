/**
 * TEST HOOK, for the kill -9 durability test (test/integration/store/durability.test.ts) only.
 *
 * HARMONIA_TEST_KILL_AT="<point>:<n>" makes the process SIGKILL itself the nth time it reaches that
 * point of the embedded store's write path, so that the test can stop an ingest at an exact moment:
 *   segment     a commit's files are written and fsynced, its manifest not yet swapped
 *   swap        the new manifest is written and fsynced as a temp file, not yet renamed over the old one
 *   ontology    right after the manifest swap of the commit that records an ontology (setOntology)
 *   vocabulary  right after the manifest swap of a commit that replaces the vocabulary graph
 *   batch       right after the manifest swap of any other commit (patient batches, records, cohorts)
 *   compact     right after a compaction's manifest swap, before the old segments are deleted
 *   update      right after the manifest swap of a SPARQL update
 * Unset (always, outside that test), each point costs one comparison.
 */
export type KillPoint = 'segment' | 'swap' | 'ontology' | 'vocabulary' | 'batch' | 'compact' | 'update';

const POINTS: readonly KillPoint[] = ['segment', 'swap', 'ontology', 'vocabulary', 'batch', 'compact', 'update'];

const target = parseKillAt(process.env.HARMONIA_TEST_KILL_AT);
let reached = 0;

export function killPoint(point: KillPoint): void {
  if (target === undefined || target.point !== point) return;
  if (++reached === target.n) process.kill(process.pid, 'SIGKILL');
}

function parseKillAt(value: string | undefined): { point: KillPoint; n: number } | undefined {
  if (!value) return undefined;
  const m = /^([a-z]+):([1-9][0-9]*)$/.exec(value);
  const point = m?.[1] as KillPoint | undefined;
  // A mistyped hook would let the test pass without killing anything: refuse it loudly instead.
  if (!m || !POINTS.includes(point!)) throw new Error(`HARMONIA_TEST_KILL_AT=${value}: expected <point>:<n>, point one of ${POINTS.join(', ')}`);
  return { point: point!, n: Number(m[2]) };
}
