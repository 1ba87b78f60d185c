// SHACL validation speed on real patients: the compiled engine against rdf-validate-shacl, both
// through ShapeValidator.validateMany in batches of 1,000 as the ingest pipeline calls it.
// Second table: check, mapping and validation time of one record as it grows from 1,000 to 100,000
// phenotypic features, to show that each grows linearly with the record's size (issue 12, item 3).
//
//   npm run build && node dist/bench/validate.js [DATA_DIR] [--sizes[=1000,10000,...]]  (--sizes: only the second table)
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Quad } from 'n3';
import { checkPhenopacketRecord } from '../src/harmonize/check.js';
import { mapPhenopacket } from '../src/map/index.js';
import { loadOntology, type Ontology } from '../src/ontology/index.js';
import { readJsonDocuments, type Phenopacket, type PhenotypicFeature } from '../src/sources/index.js';
import { ShapeValidator } from '../src/validate/index.js';
import { peakRssMiB, round } from './util.js';

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

export interface RecordSizeRow {
  features: number;
  triples: number;
  /** Best of the repeated runs, in ms: the structural check, mapping to RDF, SHACL (compiled engine). */
  checkMs: number;
  mapMs: number;
  validateMs: number;
  /** (map + validate) per 1,000 features: constant when the cost is linear in the record's size. */
  mapValidateMsPer1k: number;
  runs: number;
  /** Peak RSS of the process once this size is done (sizes run smallest first, so it is this size's peak). */
  peakRssMiB: number;
}

export const RECORD_SIZES = [1_000, 10_000, 100_000];

/** The first real phenopacket with features that maps to a conforming graph: the template of the large records. */
async function templatePhenopacket(dataDir: string, ontology: Ontology, validator: ShapeValidator): Promise<Phenopacket> {
  for await (const rec of readJsonDocuments([join(dataDir, 'phenopackets', 'phenopacket-store-dev.zip')])) {
    const pp = rec.json as Phenopacket | undefined;
    if (rec.error || !pp?.phenotypicFeatures?.length || checkPhenopacketRecord(rec.json).problems.length) continue;
    if ((await validator.validateMany([mapPhenopacket(pp, ontology, rec.origin).quads])).size === 0) return pp;
  }
  throw new Error('no conforming phenopacket with phenotypic features in the dev store');
}

/**
 * The template with `n` features: its own features repeated in turn (onsets, modifiers, excluded
 * flags as they are), each given the next current HPO term, so the terms are distinct until the
 * ontology's ~18,500 terms run out and then repeat; every feature node stays distinct.
 */
export function withFeatures(template: Phenopacket, terms: readonly string[], ontology: Ontology, n: number): Phenopacket {
  const own = template.phenotypicFeatures!;
  const features: PhenotypicFeature[] = Array.from({ length: n }, (_, i) => {
    const id = terms[i % terms.length];
    return { ...structuredClone(own[i % own.length]), type: { id, label: ontology.label(id) ?? id } };
  });
  return { ...structuredClone(template), id: `${template.id}-x${n}`, phenotypicFeatures: features };
}

const best = (xs: number[]): number => round(Math.min(...xs), 1);

export async function benchRecordSizes(dataDir: string, sizes = RECORD_SIZES): Promise<RecordSizeRow[]> {
  const ontology = loadOntology(join(dataDir, 'ontologies', 'hp.v2024-04-26.json.gz'));
  const validator = ShapeValidator.fromFile(undefined, { engine: 'compiled' });
  const template = await templatePhenopacket(dataDir, ontology, validator);
  const terms = ontology.termIds().filter((id) => id.startsWith('HP:'));
  const rows: RecordSizeRow[] = [];
  for (const n of sizes) {
    const pp = withFeatures(template, terms, ontology, n);
    // Small records are repeated (best of several); the largest once more than needed to warm up.
    const runs = n <= 1_000 ? 7 : n <= 10_000 ? 3 : 2;
    const check: number[] = [];
    const map: number[] = [];
    const validate: number[] = [];
    let triples = 0;
    for (let r = 0; r < runs; r++) {
      let t = performance.now();
      const { problems } = checkPhenopacketRecord(pp as never);
      check.push(performance.now() - t);
      if (problems.length) throw new Error(`the ${n}-feature record fails the check: ${problems[0].path}: ${problems[0].reason}`);
      t = performance.now();
      const mapped = mapPhenopacket(pp, ontology, { file: 'bench' });
      map.push(performance.now() - t);
      t = performance.now();
      const violations = await validator.validateMany([mapped.quads]);
      validate.push(performance.now() - t);
      if (violations.size) throw new Error(`the ${n}-feature record does not conform: ${violations.get(0)![0].message}`);
      triples = mapped.quads.length;
    }
    const mapMs = best(map);
    const validateMs = best(validate);
    rows.push({ features: n, triples, checkMs: best(check), mapMs, validateMs, mapValidateMsPer1k: round(((mapMs + validateMs) * 1000) / n, 2), runs, peakRssMiB: peakRssMiB() });
    process.stderr.write(`record of ${n} features: ${JSON.stringify(rows.at(-1))}\n`);
  }
  return rows;
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
  const args = process.argv.slice(2);
  const dir = resolve(args.find((a) => !a.startsWith('--')) ?? process.env.HARMONIA_DATA ?? '../shared/data');
  // `--sizes` runs only the record-size table; `--sizes=1000,10000` with other sizes.
  const sizesArg = args.find((a) => a.startsWith('--sizes'));
  const sizes = sizesArg?.includes('=') ? sizesArg.split('=')[1].split(',').map(Number) : RECORD_SIZES;
  (async () => {
    // Record sizes first: its peak RSS column is then its own, not the 2,000 patients' of the engine table.
    const recordSizes = await benchRecordSizes(dir, sizes);
    const engines = sizesArg ? undefined : await benchValidate(dir);
    return { ...engines, ...(engines ? { speedup: Math.round(engines.compiledPerSecond / engines.referencePerSecond) } : {}), recordSizes };
  })()
    .then((r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'))
    .catch((e: Error) => {
      process.stderr.write(`bench/validate: ${e.message}\n`);
      process.exit(1);
    });
}
