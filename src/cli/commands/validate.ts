import type { Command } from 'commander';
import { HX } from '../../model/index.js';
import { openStore, type GraphStore } from '../../store/index.js';
import { ShapeValidator, type Violation } from '../../validate/index.js';
import { progressCounter } from '../util.js';

export function register(program: Command): void {
  program
    .command('validate')
    .description('validate every patient graph of a store against the SHACL shapes; exit 1 on violations')
    .requiredOption('--store <dir|url>', 'store directory, or sparql+http(s)://host/path for a remote SPARQL store')
    .option('--shapes <file>', 'shapes file (default: shapes/harmonia.shacl.ttl)')
    .option('--json', 'print the report as JSON')
    .action(async (opts) => {
      const store = await openStore(opts.store);
      try {
        // The full rdf-validate-shacl engine here: a whole-store report is where completeness beats speed.
        const progress = progressCounter('validate');
        const report = await validateStore(store, ShapeValidator.fromFile(opts.shapes, { engine: 'reference' }), (done, total) => progress.tick(done, total));
        progress.done();
        if (opts.json) process.stdout.write(JSON.stringify(report) + '\n');
        else {
          const failed = report.failed.length ? `${report.failed.length} could not be validated, ` : '';
          process.stdout.write(`${report.patients} patients${report.records ? ` and ${report.records} records` : ''} checked: ${report.conforms ? 'all conform' : `${failed}${report.violations.length} violations in ${report.nonConforming} patients`}; ${report.quarantined} records in quarantine\n`);
          for (const f of report.failed.slice(0, 100)) process.stdout.write(`  ${f.patient}: ${f.reason}\n`);
          for (const v of report.violations.slice(0, 100)) process.stdout.write(`  ${v.patient}: ${v.focusNode} ${v.path ?? ''}: ${v.message}${v.value ? ` (value ${v.value})` : ''}\n`);
        }
        if (!report.conforms) process.exitCode = 1;
      } finally {
        await store.close();
      }
    });
}

/** `onProgress(n, total)`: n more graphs validated, of `total`. */
export async function validateStore(store: GraphStore, validator: ShapeValidator, onProgress?: (n: number, total: number) => void) {
  const patients = await store.select(`SELECT ?g ?id WHERE { GRAPH ?g { ?p a <${HX}Patient> ; <${HX}id> ?id } }`);
  // Records of other modalities live in graphs of their own; their patient id prefixes their record id.
  const records = await store.select(`SELECT ?g ?id WHERE { GRAPH ?g { ?r a <${HX}Record> ; <${HX}recordId> ?id } }`);
  const rows = [...patients, ...records];
  const violations: (Violation & { patient: string })[] = [];
  /** Graphs the validator threw on: they cannot be said to conform, and the others are still checked. */
  const failed: { patient: string; graph: string; reason: string }[] = [];
  const bad = new Set<string>();
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    // One graph at a time: a remote store gets one request in flight, not hundreds.
    const graphs = [];
    for (const r of chunk) graphs.push(await store.graphQuads(r.g!));
    const result = await validator.validateEach(graphs);
    for (const [k, list] of result.violations) {
      bad.add(chunk[k].id!);
      for (const v of list) violations.push({ patient: chunk[k].id!, ...v });
    }
    for (const [k, reason] of result.failed) {
      bad.add(chunk[k].id!);
      failed.push({ patient: chunk[k].id!, graph: chunk[k].g!, reason });
    }
    onProgress?.(chunk.length, rows.length);
  }
  const conforms = violations.length === 0 && failed.length === 0;
  return { conforms, patients: patients.length, records: records.length, nonConforming: bad.size, violations, failed, quarantined: (await store.quarantine()).length };
}
