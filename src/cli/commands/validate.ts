import type { Command } from 'commander';
import oxigraph from 'oxigraph';
import { DataFactory, type Quad } from 'n3';
import { HX } from '../../model/index.js';
import { OxigraphStore } from '../../store/index.js';
import { ShapeValidator, type Violation } from '../../validate/index.js';

export function register(program: Command): void {
  program
    .command('validate')
    .description('validate every patient graph of a store against the SHACL shapes; exit 1 on violations')
    .requiredOption('--store <dir>', 'store directory')
    .option('--shapes <file>', 'shapes file (default: shapes/harmonia.shacl.ttl)')
    .option('--json', 'print the report as JSON')
    .action(async (opts) => {
      const store = await OxigraphStore.open(opts.store);
      try {
        // The full rdf-validate-shacl engine here: a whole-store report is where completeness beats speed.
        const report = await validateStore(store, ShapeValidator.fromFile(opts.shapes, { engine: 'reference' }));
        if (opts.json) process.stdout.write(JSON.stringify(report) + '\n');
        else {
          process.stdout.write(`${report.patients} patients checked: ${report.conforms ? 'all conform' : `${report.violations.length} violations in ${report.nonConforming} patients`}; ${report.quarantined} records in quarantine\n`);
          for (const v of report.violations.slice(0, 100)) process.stdout.write(`  ${v.patient}: ${v.focusNode} ${v.path ?? ''}: ${v.message}${v.value ? ` (value ${v.value})` : ''}\n`);
        }
        if (!report.conforms) process.exitCode = 1;
      } finally {
        store.close();
      }
    });
}

export async function validateStore(store: OxigraphStore, validator: ShapeValidator) {
  const rows = store.select(`SELECT ?g ?id WHERE { GRAPH ?g { ?p a <${HX}Patient> ; <${HX}id> ?id } }`);
  const violations: (Violation & { patient: string })[] = [];
  const bad = new Set<string>();
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    const records = chunk.map((r) => graphQuads(store, r.g!));
    for (const [k, list] of await validator.validateMany(records)) {
      bad.add(chunk[k].id!);
      for (const v of list) violations.push({ patient: chunk[k].id!, ...v });
    }
  }
  return { conforms: violations.length === 0, patients: rows.length, nonConforming: bad.size, violations, quarantined: store.quarantine().length };
}

function graphQuads(store: OxigraphStore, graph: string): Quad[] {
  return store.raw().match(null, null, null, oxigraph.namedNode(graph)).map((q) => DataFactory.fromQuad(q as never) as Quad);
}
