import type { Command } from 'commander';
import { HX } from '../../model/index.js';
import { recordCounts } from '../../query/index.js';
import { MODALITIES } from '../../sources/index.js';
import { openEndpoint, openStore, type GraphStore } from '../../store/index.js';
import { readTarget, storeLocation, type HarmoniaServer } from '../served.js';

export function register(program: Command): void {
  program
    .command('stats')
    .description('counts of a store: patients, rejected records, phenotype assertions, triples, HPO version')
    .option('--store <dir|url>', 'store directory, or sparql+http(s)://host/path for a remote SPARQL store')
    .option('--endpoint <url>', 'a running `harmonia serve` (http://host:port/sparql), or the SPARQL endpoint of a remote Harmonia store')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const target = await readTarget('stats', opts, () => []);
      if (target.kind === 'server') return print(await storeStats(await servedCounts(target.server)), opts.json);
      const store = await openStore(storeLocation(target));
      try {
        print(await storeStats(store), opts.json);
      } finally {
        await store.close();
      }
    });
}

function print(s: Awaited<ReturnType<typeof storeStats>>, json: boolean | undefined): void {
  if (json) process.stdout.write(JSON.stringify(s) + '\n');
  else for (const [k, v] of Object.entries(s)) process.stdout.write(`${k.padEnd(22)} ${typeof v === 'object' ? Object.entries(v).map(([m, n]) => `${m} ${n}`).join(', ') : v}\n`);
}

/** What the counts are read from: a store, or a running server (its /sparql, and /stats for what SPARQL cannot see). */
export type CountSource = Pick<GraphStore, 'select' | 'size' | 'meta'> & ({ quarantine(): Promise<readonly unknown[]> } | { rejected(): Promise<number> });

/** A harmonia server as a count source: the SPARQL counts through its /sparql (the query workers), the rest from GET /stats. */
async function servedCounts(server: HarmoniaServer): Promise<CountSource> {
  const stats = await server.json<{ triples?: number; rejected?: number; meta?: Record<string, string>; hpoVersion?: string }>('GET', '/stats');
  if (typeof stats.triples !== 'number' || typeof stats.rejected !== 'number') throw new Error(`${server.base}/stats: no triples or rejected count (a server older than this command: restart it)`);
  const sparql = await openEndpoint(server.sparqlUrl);
  return {
    select: (q) => sparql.select(q),
    size: async () => stats.triples!,
    meta: async () => ({ ...stats.meta, ...(stats.hpoVersion ? { hpoVersion: stats.hpoVersion } : {}) }),
    rejected: async () => stats.rejected!,
  };
}

export async function storeStats(store: CountSource): Promise<Record<string, number | string | Record<string, number>>> {
  const count = async (where: string): Promise<number> => Number((await store.select(`SELECT (COUNT(*) AS ?n) WHERE { ${where} }`))[0]?.n ?? 0);
  const observed = await count(`?p <${HX}hasPhenotype> ?c`);
  const excluded = await count(`?p <${HX}excludedPhenotype> ?c`);
  return {
    patients: await count(`?p a <${HX}Patient>`),
    rejected: 'rejected' in store ? await store.rejected() : (await store.quarantine()).length,
    phenotypeAssertions: observed + excluded,
    observedPhenotypes: observed,
    excludedPhenotypes: excluded,
    diseases: await count(`SELECT DISTINCT ?d WHERE { ?p <${HX}hasDisease> ?d }`),
    genes: await count(`SELECT DISTINCT ?g WHERE { ?p <${HX}hasGene> ?g }`),
    termNotes: await count(`?i a <${HX}DataIssue>`),
    triples: await store.size(),
    hpoVersion: (await store.meta()).hpoVersion ?? 'none',
    records: await recordCounts(store, MODALITIES),
  };
}
