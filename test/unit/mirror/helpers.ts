import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadHarmonizationConfig } from '../../../src/harmonize/dispatch.js';
import { ingestRecords } from '../../../src/ingest/index.js';
import { HX, HXG, patientIri } from '../../../src/model/index.js';
import { readManifest } from '../../../src/sources/index.js';
import { ARRAYS_DIR, type GraphStore } from '../../../src/store/index.js';
import { fixtures } from '../../helpers/paths.js';
import { tinyStore } from '../cohort/helpers.js';

const { sin, round } = Math;

/**
 * The five cohort fixture patients (P-A..P-E) plus two records: a Bonn EEG segment for P-A (labelled
 * Seizure, site-A) and sample S1 of the small expression matrix for P-C (site-B).
 */
export async function mirrorFixture(): Promise<Awaited<ReturnType<typeof tinyStore>>> {
  const fx = await tinyStore();
  const eeg = join(fx.dir, 'inputs', 'S', 'S001.txt');
  mkdirSync(join(eeg, '..'), { recursive: true });
  writeFileSync(eeg, Array.from({ length: 4097 }, (_, i) => String(round(100 * sin(i / 10) + 30 * sin(i / 3)))).join('\n') + '\n');
  const manifest = join(fx.dir, 'inputs', 'manifest.tsv');
  writeFileSync(manifest, [
    'patient\tmodality\tpath\tsite\tlabel\tsample',
    `P-A\teeg\t${eeg}\tsite-A\tHP:0001250\t`,
    `P-C\texpression\t${join(fixtures, 'expression', 'small.tsv')}\tsite-B\t\tS1`,
  ].join('\n') + '\n');
  const { entries, problems } = readManifest(manifest);
  const s = await ingestRecords(fx.store, entries, problems, {
    config: loadHarmonizationConfig(undefined, fx.dir), arraysDir: join(fx.dir, ARRAYS_DIR), arraysBase: fx.dir, software: 'harmonia test',
  });
  if (s.accepted !== 2) throw new Error(`fixture records: ${JSON.stringify(s.rejections)}`);
  return fx;
}

/** Embeddings as issue 8 will write them (hx:Embedding nodes), in a graph of their own. */
export async function addEmbeddings(store: GraphStore, vectors: { subject: string; vector: number[] | string; model?: string }[]): Promise<void> {
  const triples = vectors.map((v) => {
    const e = `<${v.subject}#embedding-${v.model ?? 'test-model'}>`;
    const lit = typeof v.vector === 'string' ? JSON.stringify(v.vector) : JSON.stringify(JSON.stringify(v.vector));
    return `<${v.subject}> <${HX}embedding> ${e} . ${e} a <${HX}Embedding> ; <${HX}vector> ${lit} ; <${HX}modelVersion> ${JSON.stringify(v.model ?? 'test-model')} .`;
  });
  await store.update(`INSERT DATA { GRAPH <${HXG}embeddings-test> { ${triples.join('\n')} } }`);
}

export { patientIri };
