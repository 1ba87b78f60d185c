import type { Driver } from 'neo4j-driver';
import { InputError } from '../model/index.js';
import type { CypherStatement } from './cypher.js';
import type { CypherRunner } from './mirror.js';

// The CypherRunner over Bolt, with neo4j-driver. Credentials come from the environment only.

export interface Neo4jConnection extends CypherRunner {
  readonly uri: string;
  readonly database?: string;
  close(): Promise<void>;
}

type Neo4jModule = typeof import('neo4j-driver').default;

const SCHEMES = ['bolt', 'bolt+s', 'bolt+ssc', 'neo4j', 'neo4j+s', 'neo4j+ssc'];

/** Checks a Bolt URI: a known scheme, and no credentials in it (command lines are visible to every user). */
export function checkNeo4jUri(uri: string): void {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    throw new InputError(`${uri}: not a URI (expected bolt://host:7687 or neo4j://host:7687)`, '--uri');
  }
  const scheme = u.protocol.replace(/:$/, '');
  if (!SCHEMES.includes(scheme)) throw new InputError(`${uri}: scheme ${scheme} is not one of ${SCHEMES.join(', ')}`, '--uri');
  if (u.username || u.password) {
    // The message leaves them out: error lines end up in logs.
    throw new InputError(`${scheme}://${u.host}${u.pathname === '/' ? '' : u.pathname}: credentials do not belong in the URI; set NEO4J_USER and NEO4J_PASSWORD`, '--uri');
  }
}

/** neo4j-driver Integers (and nested lists/maps of them) back to JS numbers, for the watermark reads. */
function plain(neo4j: Neo4jModule, v: unknown): unknown {
  if (neo4j.isInt(v)) return (v as { toNumber(): number }).toNumber();
  if (Array.isArray(v)) return v.map((x) => plain(neo4j, x));
  return v;
}

/**
 * Connects to Neo4j at `uri` with NEO4J_USER / NEO4J_PASSWORD from `env` (no authentication when
 * neither is set; the user defaults to `neo4j` when only the password is) and checks the connection.
 */
export async function connectNeo4j(uri: string, options: { database?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Neo4jConnection> {
  checkNeo4jUri(uri);
  // Imported here, not at the top: the driver (and RxJS behind it) costs every other CLI command 0.2 s to load.
  const neo4j = (await import('neo4j-driver')).default as unknown as Neo4jModule;
  const env = options.env ?? process.env;
  const user = env.NEO4J_USER;
  const password = env.NEO4J_PASSWORD;
  if (user && password === undefined) throw new InputError('NEO4J_USER is set but NEO4J_PASSWORD is not', 'environment');
  const auth = password !== undefined ? neo4j.auth.basic(user || 'neo4j', password) : undefined;
  const driver: Driver = neo4j.driver(uri, auth, { disableLosslessIntegers: false, userAgent: 'harmonia-mirror' });
  try {
    await driver.verifyConnectivity(options.database ? { database: options.database } : {});
  } catch (e) {
    await driver.close();
    throw new Error(`${uri}: cannot connect to Neo4j: ${(e as Error).message.split('\n')[0]}`);
  }
  const session = (mode: 'READ' | 'WRITE') => driver.session({ defaultAccessMode: mode === 'READ' ? neo4j.session.READ : neo4j.session.WRITE, ...(options.database ? { database: options.database } : {}) });
  return {
    uri,
    database: options.database,
    async read(statement: CypherStatement): Promise<Record<string, unknown>[]> {
      const s = session('READ');
      try {
        const result = await s.executeRead((tx) => tx.run(statement.cypher, statement.params));
        return result.records.map((r) => Object.fromEntries(r.keys.map((k) => [String(k), plain(neo4j, r.get(k))])));
      } finally {
        await s.close();
      }
    },
    async write(statements: CypherStatement[]): Promise<void> {
      const s = session('WRITE');
      let current = statements[0]?.kind;
      try {
        await s.executeWrite(async (tx) => {
          for (const st of statements) {
            current = st.kind;
            await tx.run(st.cypher, st.params);
          }
        });
      } catch (e) {
        throw new Error(`Neo4j refused the ${current} statement: ${(e as Error).message.split('\n')[0]}`);
      } finally {
        await s.close();
      }
    },
    close: () => driver.close(),
  };
}
