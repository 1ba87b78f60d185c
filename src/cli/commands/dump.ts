import type { Command } from 'commander';
import { DataFactory, type Quad } from 'n3';
import oxigraph from 'oxigraph';
import { ensureOntology } from '../../ingest/index.js';
import { loadOntology } from '../../ontology/index.js';
import { fileChunks } from '../../store/files.js';
import { OxigraphStore, writeAtomic } from '../../store/index.js';
import { CliError } from '../util.js';

const FORMATS = { nquads: 'application/n-quads', trig: 'application/trig' } as const;
type DumpFormat = keyof typeof FORMATS;

export function register(program: Command): void {
  program
    .command('dump')
    .description('write every quad of a store (each graph with its name) as N-Quads or TriG, to a file or stdout')
    .requiredOption('--store <dir>', 'store directory')
    .option('--format <format>', 'nquads or trig', 'nquads')
    .option('--out <file>', 'write here (atomically) instead of stdout')
    .action(async (opts) => {
      const format = dumpFormat(opts.format, '--format');
      const store = await OxigraphStore.open(opts.store);
      try {
        const chunks = dumpChunks(store, format);
        if (opts.out) writeAtomic(opts.out, chunks);
        else await writeStdout(chunks);
      } finally {
        await store.close();
      }
    });
  program
    .command('restore')
    .description('load an N-Quads or TriG dump into a store (created when absent): each graph in the dump replaces the graph of that name')
    .requiredOption('--store <dir>', 'store directory')
    .argument('<file>', 'the dump (.nq or .trig; or say --format)')
    .option('--format <format>', 'nquads or trig (default: from the file extension)')
    .option('--hpo <file>', 'HPO release to record as the store\'s ontology (needed by serve and query on a new store)')
    .action(async (file: string, opts) => {
      const format = dumpFormat(opts.format ?? (/\.trig$/i.test(file) ? 'trig' : /\.n?q$/i.test(file) ? 'nquads' : ''), '--format');
      const store = await OxigraphStore.open(opts.store, { create: true, write: true });
      try {
        if (opts.hpo) await ensureOntology(store, loadOntology(opts.hpo));
        const n = await restore(store, file, format);
        process.stdout.write(`restored ${n} quads into ${opts.store}\n`);
        if (!(await store.ontology())) process.stderr.write(`this store has no HPO recorded yet: run \`harmonia restore\` with --hpo FILE, or \`harmonia ingest --store ${opts.store} --hpo FILE\`, before serving it\n`);
      } finally {
        await store.close();
      }
    });
}

/**
 * Chunks to stdout, waiting for the reader: stdout on a pipe is non-blocking, so writing it
 * synchronously fails with EAGAIN once the pipe is full. A reader that stops early (`| head`) ends
 * the command quietly (main.ts).
 */
async function writeStdout(chunks: Iterable<string>): Promise<void> {
  for (const c of chunks) if (!process.stdout.write(c)) await new Promise<void>((r) => process.stdout.once('drain', r));
}

function dumpFormat(v: string, flag: string): DumpFormat {
  if (v === 'nquads' || v === 'trig') return v;
  throw new CliError(`${flag} ${v || '(none)'}: expected nquads or trig`);
}

/**
 * The store graph by graph through Oxigraph's N-Triples writer, so that no string holds the whole
 * dataset: in N-Quads each line gets its graph name; in TriG each graph is one block (N-Triples lines
 * are valid TriG triples). The default graph comes first, unnamed.
 */
export function* dumpChunks(store: OxigraphStore, format: DumpFormat): Generator<string> {
  const raw = store.raw();
  const dflt = raw.dump({ format: 'application/n-triples', from_graph_name: oxigraph.defaultGraph() });
  if (dflt) yield format === 'trig' ? `{\n${dflt}}\n` : dflt;
  const graphs = raw.query('SELECT DISTINCT ?g WHERE { GRAPH ?g { } }') as Map<string, oxigraph.Term>[];
  for (const row of graphs) {
    const g = row.get('g') as oxigraph.NamedNode;
    const triples = raw.dump({ format: 'application/n-triples', from_graph_name: g });
    if (!triples) continue;
    // One triple per line, each ending in " ." (newlines inside literals are escaped in N-Triples).
    yield format === 'trig' ? `<${g.value}> {\n${triples}}\n` : triples.replace(/ \.\n/g, ` <${g.value}> .\n`);
  }
}

/**
 * Reads the dump in chunks and commits it in batches. The first batch that meets a graph replaces
 * that graph; later quads of the same graph are added to it, so a graph split over batches is whole.
 */
export async function restore(store: OxigraphStore, file: string, format: DumpFormat, batchQuads = 200_000): Promise<number> {
  const seen = new Set<string>();
  let replace = new Map<string, Quad[]>();
  let add: Quad[] = [];
  let pending = 0;
  let total = 0;
  const flush = async (): Promise<void> => {
    if (!pending) return;
    await store.commit({ replace, add, rejected: [], accepted: [] });
    for (const g of replace.keys()) seen.add(g);
    replace = new Map();
    add = [];
    pending = 0;
  };
  let quads: Iterable<oxigraph.Quad>;
  try {
    quads = oxigraph.parse(fileChunks(file), { format: FORMATS[format] });
  } catch (e) {
    throw new CliError(`${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    for (const q of quads) {
      const quad = DataFactory.fromQuad(q as never) as Quad;
      const g = q.graph.termType === 'NamedNode' ? q.graph.value : undefined;
      if (g === undefined || seen.has(g)) add.push(quad);
      else {
        let list = replace.get(g);
        if (!list) replace.set(g, (list = []));
        list.push(quad);
      }
      total++;
      if (++pending >= batchQuads) await flush();
    }
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`${file}: not valid ${format === 'trig' ? 'TriG' : 'N-Quads'} (${(e as Error).message.split('\n')[0]}); batches before the error were committed`);
  }
  await flush();
  return total;
}
