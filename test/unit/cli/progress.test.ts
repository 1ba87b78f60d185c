import { join } from 'node:path';
import { jest } from '@jest/globals';
import { progressText } from '../../../src/cli/commands/ingest.js';
import { phasedProgress, progressCounter } from '../../../src/cli/util.js';
import { countDocuments } from '../../../src/sources/index.js';
import { fixtures, tempDir } from '../../helpers/paths.js';
import { writeZip } from '../../helpers/zip.js';

test('the ingest progress line shows a bar when the total is known, counts otherwise', () => {
  const p = { read: 50, accepted: 40, unchanged: 5, rejected: 5 };
  const started = Date.now() - 10_000;
  expect(progressText(p, 200, started)).toMatch(/^\[######------------------\]  25%  50\/200  5\/s  accepted 40  unchanged 5  rejected 5$/);
  expect(progressText(p, undefined, started)).toBe('read 50  5/s  accepted 40  unchanged 5  rejected 5');
});

test('documents are counted from zip directories and folder listings, not for JSON Lines', async () => {
  const dir = tempDir();
  try {
    const zip = join(dir.path, 'a.zip');
    writeZip(zip, { 'x/1.json': '{}', 'x/2.json': '{}', 'x/3.json': '{}' });
    expect(await countDocuments([zip, join(fixtures, 'phenopackets')])).toBe(5);
    expect(await countDocuments([join(dir.path, 'some.jsonl')])).toBeUndefined();
  } finally {
    dir.remove();
  }
});

test('a counted progress line: bar, count, rate and ETA with a total; count and rate without; silent beside results on a terminal', () => {
  const written: string[] = [];
  const stream = { isTTY: true, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
  progressCounter('validate', 4, { stream }).tick();
  expect(written.pop()).toMatch(/^\r\x1b\[Kvalidate \[######------------------\] 1\/4 [\d.]+\/s ETA \d+s$/);
  progressCounter('similar: queries', undefined, { stream }).tick(3);
  expect(written.pop()).toMatch(/^\r\x1b\[Ksimilar: queries 3 done [\d.]+\/s$/);
  const tty = process.stdout.isTTY;
  try {
    process.stdout.isTTY = true;
    progressCounter('similar: queries', undefined, { stream, besideResults: true }).tick();
    expect(written).toEqual([]);
  } finally {
    process.stdout.isTTY = tty;
  }
  // Not a terminal: nothing at all (logs and pipes stay clean).
  const log: string[] = [];
  progressCounter('validate', 4, { stream: { isTTY: false, write: (s: string) => log.push(s) } as unknown as NodeJS.WriteStream }).tick();
  expect(log).toEqual([]);
});

test('a phased progress line (eval): running totals shown as counts, a new count per phase, cleared for log lines and at the end', () => {
  const written: string[] = [];
  const stream = { isTTY: true, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
  // The clock is set, not waited for: the line redraws at most every 100 ms, and the rate is count / elapsed.
  jest.useFakeTimers({ now: 10_000 });
  try {
    const p = phasedProgress('eval embeddings', { stream });
    p.report(1, 4, 'retrieval');
    jest.setSystemTime(12_000);
    p.report(3, 4, 'retrieval');
    p.report(2, 10, 'disease ranking');
    p.done();
    expect(written).toEqual([
      '\r\x1b[Keval embeddings: retrieval [######------------------] 1/4 1000/s ETA 0s',
      '\r\x1b[Keval embeddings: retrieval [##################------] 3/4 1.5/s ETA 1s',
      '\r\x1b[K',
      '\r\x1b[Keval embeddings: disease ranking [#####-------------------] 2/10 2000/s ETA 0s',
      '\r\x1b[K',
    ]);
    written.length = 0;
    phasedProgress('eval retrieval: queries', { stream }).report(1, 2);
    expect(written).toEqual(['\r\x1b[Keval retrieval: queries [############------------] 1/2 1000/s ETA 0s']);
  } finally {
    jest.useRealTimers();
  }
  const log: string[] = [];
  const quiet = phasedProgress('eval retrieval: queries', { stream: { isTTY: false, write: (s: string) => log.push(s) } as unknown as NodeJS.WriteStream });
  quiet.report(1, 2);
  quiet.done();
  expect(log).toEqual([]);
});
