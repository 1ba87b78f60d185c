import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// A private Virtuoso (Debian virtuoso-opensource) for the remote-store tests and benchmarks.

export interface Virtuoso {
  /** The SPARQL endpoint, e.g. http://127.0.0.1:18890/sparql */
  endpoint: string;
  /** The store location Harmonia takes: sparql+http://127.0.0.1:18890/sparql */
  location: string;
  pid: number;
  /** The database folder, readable by the server (it is in DirsAllowed). */
  dir: string;
  isql(sql: string): string;
  /**
   * Stops the server by signal, which Virtuoso answers with a quick shutdown (no checkpoint). A kept
   * database (a `dir` given) is checkpointed first unless `checkpoint` is false, so the next start does
   * not replay the whole transaction log (7 GB after 300,000 patients: minutes).
   */
  stop(options?: { checkpoint?: boolean }): Promise<void>;
}

export const DEFAULT_BUFFERS = 170_000;
export const VIRTUOSO_BINARY = ['/usr/bin/virtuoso-t', '/usr/local/bin/virtuoso-t'].find(existsSync);
const ISQL = ['/usr/bin/isql-vt', '/usr/local/bin/isql-vt', '/usr/bin/isql'].find(existsSync);

/** A TCP port free on 127.0.0.1 at the time of asking. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function virtuosoIni(dir: string, sqlPort: number, httpPort: number, buffers: number, checkpointMinutes: number): string {
  return `[Database]
DatabaseFile = ${dir}/virtuoso.db
ErrorLogFile = ${dir}/virtuoso.log
LockFile = ${dir}/virtuoso.lck
TransactionFile = ${dir}/virtuoso.trx
xa_persistent_file = ${dir}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase
[TempDatabase]
DatabaseFile = ${dir}/virtuoso-temp.db
TransactionFile = ${dir}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0
[Parameters]
ServerPort = 127.0.0.1:${sqlPort}
DisableUnixSocket = 1
MaxClientConnections = 20
CheckpointInterval = ${checkpointMinutes}
CaseMode = 2
MaxStaticCursorRows = 5000
DirsAllowed = ., ${dir}
NumberOfBuffers = ${buffers}
MaxDirtyBuffers = ${Math.round(buffers * 0.75)}
MaxQueryMem = 1G
ThreadsPerQuery = 2
[HTTPServer]
ServerPort = 127.0.0.1:${httpPort}
ServerRoot = /var/lib/virtuoso-opensource-7/vsp
MaxClientConnections = 20
ServerThreads = 20
Charset = UTF-8
EnabledGzipContent = 0
[SPARQL]
ResultSetMaxRows = 10000000
MaxQueryCostEstimationTime = 0
MaxQueryExecutionTime = 600
MaxSortedTopRows = 10000000
`;
}

/**
 * A fresh Virtuoso with its database in `dir` (a new temporary folder, removed on stop, by default),
 * listening on 127.0.0.1 only, SPARQL Update granted to the anonymous user, result caps raised so
 * large answers are never silently truncated. For the tests and benchmarks of the remote store.
 * `httpPort` fixes the SPARQL endpoint's port (the docs name 8890, Virtuoso's default); else a free one.
 * `buffers` is Virtuoso's NumberOfBuffers, its page cache in 8 KiB pages (default 170000, about 1.3 GiB;
 * Virtuoso's own guidance is about 85000 per GiB of memory it may use); MaxDirtyBuffers is three quarters of it.
 * `checkpointMinutes` is its CheckpointInterval (default 60).
 */
export async function startVirtuoso(dir?: string, options: { httpPort?: number; buffers?: number; checkpointMinutes?: number } = {}): Promise<Virtuoso> {
  const own = dir === undefined;
  dir ??= mkdtempSync(join(tmpdir(), 'harmonia-virtuoso-'));
  if (!VIRTUOSO_BINARY || !ISQL) throw new Error('Virtuoso is not installed (Debian: apt-get install virtuoso-opensource)');
  mkdirSync(dir, { recursive: true });
  const kept = existsSync(join(dir, 'virtuoso.db'));
  const [sqlPort, httpPort] = [await freePort(), options.httpPort ?? (await freePort())];
  writeFileSync(join(dir, 'virtuoso.ini'), virtuosoIni(dir, sqlPort, httpPort, options.buffers ?? DEFAULT_BUFFERS, options.checkpointMinutes ?? 60));
  const child: ChildProcess = spawn(VIRTUOSO_BINARY, ['+foreground', '+configfile', join(dir, 'virtuoso.ini')], { cwd: dir, stdio: 'ignore' });
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async (options: { checkpoint?: boolean } = {}): Promise<void> => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      if (!own && options.checkpoint !== false) {
        try {
          isql('checkpoint');
        } catch {
          // a server that cannot checkpoint still stops; its next start replays the log
        }
      }
      child.kill('SIGTERM');
      await new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
    }
    if (own) rmSync(dir!, { recursive: true, force: true });
  };
  const endpoint = `http://127.0.0.1:${httpPort}/sparql`;
  const isql = (sql: string): string => {
    const r = spawnSync(ISQL, [`127.0.0.1:${sqlPort}`, 'dba', 'dba', `exec=${sql}`], { encoding: 'utf8' });
    if (r.status !== 0 || /\*\*\* Error/.test(r.stdout + r.stderr)) throw new Error(`isql: ${sql}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`virtuoso-t exited with ${child.exitCode} (log: ${dir}/virtuoso.log)`);
      try {
        const r = await fetch(`${endpoint}?query=${encodeURIComponent('ASK {}')}`, { headers: { accept: 'application/sparql-results+json' } });
        if (r.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`Virtuoso did not answer within 60 s (log: ${dir}/virtuoso.log)`);
      await new Promise((r) => setTimeout(r, 250));
    }
    // A database kept from an earlier start (a `dir` given) keeps its grants and permissions; setting
    // the permissions again there fails inside Virtuoso 7.2 (SQ156, "sqlo table has no index").
    if (!kept) {
      isql('GRANT SPARQL_UPDATE TO "SPARQL"');
      isql('GRANT EXECUTE ON DB.DBA.SPARQL_INSERT_DICT_CONTENT TO "SPARQL"');
      isql('GRANT EXECUTE ON DB.DBA.SPARQL_DELETE_DICT_CONTENT TO "SPARQL"');
      isql("DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 7)");
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { endpoint, location: `sparql+${endpoint}`, pid: child.pid!, dir, isql, stop };
}
