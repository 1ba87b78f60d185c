import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { readJsonDocuments } from '../src/sources/index.js';

/**
 * The phenopackets of `sources` replicated to `n` patients as JSON Lines in `out`: copy 0 keeps the
 * original ids, copy k > 0 has every id suffixed `~k`, so each replica is a distinct patient (its own
 * IRI and named graph) with the same phenotypes, diseases and genes as its original. Unreadable
 * records are left out. Returns how many patients were written and how many originals there were.
 */
export async function replicatePhenopackets(sources: string[], n: number, out: string): Promise<{ patients: number; originals: number }> {
  const originals: { id: string }[] = [];
  for await (const rec of readJsonDocuments(sources)) {
    const id = (rec.json as { id?: unknown } | undefined)?.id;
    if (!rec.error && typeof id === 'string') originals.push(rec.json as { id: string });
  }
  if (originals.length === 0) throw new Error(`${sources.join(', ')}: no readable phenopacket with an id to replicate`);
  const file = createWriteStream(out);
  let written = 0;
  for (let copy = 0; written < n; copy++) {
    for (const pp of originals) {
      if (written === n) break;
      const line = JSON.stringify(copy === 0 ? pp : { ...pp, id: `${pp.id}~${copy}` }) + '\n';
      if (!file.write(line)) await once(file, 'drain');
      written++;
    }
  }
  file.end();
  await once(file, 'finish');
  return { patients: written, originals: originals.length };
}
