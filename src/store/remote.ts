import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DataFactory, Parser, Writer, type Quad } from 'n3';
import { HX, HXG, HXR, RDF } from '../model/namespaces.js';
import { Ontology, type OntologyData } from '../ontology/index.js';
import { HttpClient, type Credentials } from './http.js';
import { ntriplesTerm, parseJsonResult, plainRow, restoredDatatype, STAND_IN_DATATYPES, streamCsvRows, streamJsonBindings, writeBindings, writeBoolean, type Term } from './results.js';
import type { OpenOptions } from './oxigraph.js';
import type { GraphStore, QuarantineEntry, ResultFormat, Row, SelectOptions, SerializedResult, StatisticsRefresh, StoreBatch } from './types.js';
import { mergeQuarantine } from './quarantine.js';

const { namedNode, literal, quad } = DataFactory;

/** Harmonia's own bookkeeping in a remote store: metadata, quarantine and the saved ontology. */
const ADMIN_GRAPH = `${HXG}harmonia-store`;
const QUARANTINE_GRAPH = `${HXG}harmonia-store/quarantine`;
const ONTOLOGY_DATA_GRAPH = `${HXG}harmonia-store/ontology`;
const STORE = `${HXR}store`;
/** Ontology data travels gzipped and base64-encoded in literals of this many characters. */
const CHUNK = 60_000;
/** Roughly this many bytes of N-Triples per SPARQL Update request. */
const UPDATE_BYTES = 1 << 20;
/** Triples per INSERT DATA block: Virtuoso's parser refuses a block of more than about 4,990 ("memory exhausted"). */
const BLOCK_TRIPLES = 2000;
/** Triples per request (several blocks), measured to pass Virtuoso's parser comfortably. */
const REQUEST_TRIPLES = 8000;
/** Bytes of N-Quads per bulk file (one atomic load each); a graph is never split across files. */
const BULK_FILE_BYTES = 64 << 20;
/** Time limit of a statistics refresh and its checkpoint (maintenanceTimeoutMs). */
const MAINTENANCE_TIMEOUT_MS = 4 * 3600_000;
/** DB.DBA.TTLP's flag for N-Quads input: each line names its own graph. */
const TTLP_NQUADS = 512;

/**
 * What every triple of a named graph has in common, where known: one of a few predicates, and maybe
 * one subject. Lets Virtuoso find them by index when the graph is emptied (see clearGraph).
 */
interface GraphShape {
  subject?: string;
  predicates: string[];
}

/** The scratch graphs of the probes: one triple, <STORE> hx:probe "…". */
const PROBE_GRAPH: GraphShape = { subject: STORE, predicates: [`${HX}probe`] };

interface UpdateOp {
  text: string;
  triples: number;
  /** The graph it writes ('' for the default graph). */
  graph: string;
}

export interface RemoteSettings {
  query: string;
  update: string;
  /** SPARQL 1.1 Graph Store HTTP Protocol endpoint: when set, graphs are uploaded with PUT. */
  graphStore?: string;
  credentials?: Credentials;
  timeoutMs: number;
  /** Update requests in flight at once during a commit (graphs never split across parallel requests). */
  parallel: number;
  /** Virtuoso only: commits written as N-Quads files into this shared folder and loaded by the server. */
  bulk?: BulkFolder;
}

/** A folder both Harmonia and the Virtuoso server can reach, named as each of them sees it. */
export interface BulkFolder {
  /** Where Harmonia writes the files (HARMONIA_SPARQL_BULK_DIR). */
  local: string;
  /** The same folder as the server sees it (HARMONIA_SPARQL_BULK_DIR_SERVER; default: the same path). */
  server: string;
}

/**
 * The endpoints and credentials of `sparql+http(s)://host/path`. Credentials come only from the
 * environment (HARMONIA_SPARQL_USER and HARMONIA_SPARQL_PASSWORD, or HARMONIA_SPARQL_TOKEN), never
 * from the command line, where other users of the machine could read them.
 */
export function remoteSettings(location: string, env: NodeJS.ProcessEnv = process.env): RemoteSettings {
  const query = location.replace(/^sparql\+/i, '');
  let url: URL;
  try {
    url = new URL(query);
  } catch {
    throw new Error(`${location}: not a valid URL`);
  }
  if (url.username || url.password) {
    throw new Error(`${location}: put no credentials in the store URL (it shows in process lists); set HARMONIA_SPARQL_USER and HARMONIA_SPARQL_PASSWORD, or HARMONIA_SPARQL_TOKEN`);
  }
  const user = env.HARMONIA_SPARQL_USER;
  const credentials: Credentials | undefined = env.HARMONIA_SPARQL_TOKEN
    ? { token: env.HARMONIA_SPARQL_TOKEN }
    : user ? { user, password: env.HARMONIA_SPARQL_PASSWORD ?? '' } : undefined;
  const timeout = Number(env.HARMONIA_SPARQL_TIMEOUT_MS ?? 300_000);
  const parallel = Number(env.HARMONIA_SPARQL_PARALLEL ?? 1);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64) throw new Error(`HARMONIA_SPARQL_PARALLEL: expected a whole number from 1 to 64, got ${JSON.stringify(env.HARMONIA_SPARQL_PARALLEL)}`);
  const bulkDir = env.HARMONIA_SPARQL_BULK_DIR;
  if (!bulkDir && env.HARMONIA_SPARQL_BULK_DIR_SERVER) throw new Error('HARMONIA_SPARQL_BULK_DIR_SERVER is set without HARMONIA_SPARQL_BULK_DIR (the same folder as Harmonia sees it)');
  if (bulkDir && env.HARMONIA_SPARQL_GSP_URL) throw new Error('HARMONIA_SPARQL_BULK_DIR and HARMONIA_SPARQL_GSP_URL are two ways of writing: set one');
  return {
    query,
    update: env.HARMONIA_SPARQL_UPDATE_URL || query,
    bulk: bulkDir ? { local: bulkDir, server: env.HARMONIA_SPARQL_BULK_DIR_SERVER || bulkDir } : undefined,
    graphStore: env.HARMONIA_SPARQL_GSP_URL || undefined,
    credentials,
    timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : 300_000,
    parallel,
  };
}

/**
 * A remote SPARQL 1.1 store (Virtuoso, QLever, GraphDB, Fuseki, ...) behind the same seam as the
 * embedded one. Each patient graph is replaced by DROP + INSERT DATA (or a Graph Store PUT), which
 * makes every commit idempotent; a remote store offers no transaction across requests, so a commit cut
 * short leaves some of its graphs replaced and the rest as before, and re-running the ingest completes it.
 * Metadata, quarantine and the ontology live in graphs of their own under …/graph/harmonia-store.
 */
export class RemoteStore implements GraphStore {
  readonly kind = 'sparql';
  private ontologyCache?: { version: string; ontology: Ontology };
  /** Virtuoso cannot keep some datatypes as written (see STAND_IN_DATATYPES); other servers can. */
  private standIns = false;
  /** A plain SPARQL endpoint (see `endpoint`): not a Harmonia store, so nothing is written to it. */
  private readOnly = false;
  /** The server, from its Server header: Virtuoso needs its planning statistics refreshed after large writes. */
  private engine?: 'virtuoso';
  /** Set once a bulk load through the shared folder has worked (see bulkProbe). */
  private bulkChecked = false;

  private constructor(
    readonly location: string,
    private readonly settings: RemoteSettings,
    private readonly http: HttpClient,
  ) {}

  private term(t: Quad['subject'] | Quad['predicate'] | Quad['object']): string {
    return termText(t, this.standIns);
  }

  static async open(location: string, options: OpenOptions = {}): Promise<RemoteStore> {
    const settings = remoteSettings(location);
    const store = new RemoteStore(location, settings, new HttpClient(settings.credentials, settings.timeoutMs));
    const probe = await store.post(settings.query, 'query', `ASK { GRAPH <${ADMIN_GRAPH}> { <${STORE}> a <${HX}Store> } }`, 'application/sparql-results+json');
    const server = probe.headers.get('server') ?? '';
    if (/virtuoso/i.test(server)) store.engine = 'virtuoso';
    const created = (parseJsonResult(await probe.text()) as { boolean?: boolean }).boolean === true;
    if (!created) {
      if (!options.create) throw new Error(`${location}: no Harmonia store there yet (create one with \`harmonia ingest --store ${location} --hpo ...\`)`);
      store.standIns = await store.changesDurations();
      await store.writeMeta({ created: new Date().toISOString(), standInDatatypes: String(store.standIns) });
      return store;
    }
    const meta = await store.meta();
    // Decided once, by experiment, when the store was created; the Server header only for older stores.
    store.standIns = meta.standInDatatypes !== undefined ? meta.standInDatatypes === 'true' : /virtuoso/i.test(server);
    return store;
  }

  /**
   * Any SPARQL 1.1 query endpoint, read only (`harmonia query --endpoint URL`): no Harmonia
   * bookkeeping is looked for, so a Virtuoso, Fuseki or public endpoint holding other data answers too.
   */
  static endpoint(url: string): RemoteStore {
    const settings = remoteSettings(url);
    const store = new RemoteStore(url, settings, new HttpClient(settings.credentials, settings.timeoutMs));
    store.readOnly = true;
    return store;
  }

  private requireWritable(): void {
    if (this.readOnly) throw new Error(`${this.location}: opened as a plain SPARQL endpoint, for reading only`);
  }

  /**
   * The update that empties one named graph. On Virtuoso neither DROP GRAPH nor `DELETE WHERE { GRAPH
   * <g> { ?s ?p ?o } }` finds a graph's triples by index: with only the graph known its planner reads
   * the quads of the whole store (docs/stores.md). Emptying a three-triple graph took 37 to 112 ms by
   * DROP (its procedure SPARUL_CLEAR, which also kept about 5 MiB each time) at 0.6 to 2.3 million
   * triples, and 1.1 s by DELETE WHERE at 30 million, where the same delete with the graph given by
   * VALUES took 64 ms, one naming the subject 150 ms (it still scans the rdf:type triples for the one
   * with that subject) and one naming subject and predicate 2 to 6 ms. Every ingest batch rewrites the
   * store's own graph and every changed patient replaces its graph: so `only` says what the triples of
   * the graph share wherever the caller knows it, and the rest go by VALUES.
   */
  private clearGraph(graph: string, only?: GraphShape): string {
    if (this.engine !== 'virtuoso') return `DROP SILENT GRAPH <${graph}>`;
    const s = only?.subject ? `<${only.subject}>` : '?s';
    if (only) return only.predicates.map((p) => `DELETE WHERE { GRAPH <${graph}> { ${s} <${p}> ?o } }`).join(' ;\n');
    return `DELETE { GRAPH ?g { ?s ?p ?o } } WHERE { VALUES ?g { <${graph}> } GRAPH ?g { ?s ?p ?o } }`;
  }

  /** Does the server keep an xsd:duration as written? Stores one in a scratch graph and reads it back. */
  private async changesDurations(): Promise<boolean> {
    const g = `${ADMIN_GRAPH}/probe`;
    const written = 'P1DT2H';
    try {
      await this.post(this.settings.update, 'update', `INSERT DATA { GRAPH <${g}> { <${STORE}> <${HX}probe> "${written}"^^<http://www.w3.org/2001/XMLSchema#duration> } }`, '*/*');
    } catch {
      return true; // refused outright (Virtuoso does for durations with days and hours)
    }
    const r = await this.post(this.settings.query, 'query', `SELECT ?v WHERE { GRAPH <${g}> { <${STORE}> <${HX}probe> ?v } }`, 'application/sparql-results+json');
    const result = parseJsonResult(await r.text());
    await this.post(this.settings.update, 'update', this.clearGraph(g, PROBE_GRAPH), '*/*');
    return !('bindings' in result) || result.bindings[0]?.v?.value !== written;
  }

  /**
   * Virtuoso plans a query from index statistics that SPARQL Update does not keep up to date: after
   * ingesting the dev phenopackets, cohort queries ran 5-30x slower until the statistics were
   * recomputed (docs/stores.md). Recomputes them through SPARQL, calling Virtuoso's own
   * SYS_STAT_ANALYZE procedure, which only a user with rights on its system tables may (the dba, say,
   * through the authenticated update endpoint); a refusal is answered as the reason, never thrown.
   */
  async refreshStatistics(): Promise<StatisticsRefresh | undefined> {
    if (this.engine !== 'virtuoso' || this.readOnly) return undefined;
    const started = performance.now();
    const seconds = () => Math.round((performance.now() - started) / 100) / 10;
    try {
      await this.callSql(`<sql:SYS_STAT_ANALYZE>('DB.DBA.RDF_QUAD', 0, 0)`, this.maintenanceTimeoutMs());
    } catch (e) {
      return { engine: 'virtuoso', refreshed: false, seconds: seconds(), reason: refusal((e as Error).message) };
    }
    // Virtuoso 7.2 replays statistics it finds in its transaction log badly: a restart before the next
    // checkpoint (a crash, or a stop by signal, which skips it) fails with SQ156 "sqlo table has no
    // index" and the server may not start. A checkpoint now writes them into the database.
    try {
      await this.callSql('<bif:exec>("checkpoint")', this.maintenanceTimeoutMs());
      return { engine: 'virtuoso', refreshed: true, checkpointed: true, seconds: seconds() };
    } catch (e) {
      return { engine: 'virtuoso', refreshed: true, checkpointed: false, seconds: seconds(), reason: `the checkpoint after it failed (${refusal((e as Error).message)}); run checkpoint; in isql before the server restarts` };
    }
  }

  /**
   * The time limit of a statistics refresh and of the checkpoint after it: both read or write the whole
   * store, and at 1,000,000 patients (203 million triples) the refresh took longer than the default
   * limit of queries (5 min); HARMONIA_SPARQL_TIMEOUT_MS counts when it is longer.
   */
  private maintenanceTimeoutMs(): number {
    return Math.max(this.settings.timeoutMs, MAINTENANCE_TIMEOUT_MS);
  }

  /** Calls a Virtuoso SQL procedure or function through SPARQL on the update endpoint (the user that may), its answer read and dropped. */
  private async callSql(expression: string, timeoutMs?: number): Promise<void> {
    const r = await this.post(this.settings.update, 'query', `SELECT (${expression} AS ?done) WHERE { }`, 'application/sparql-results+json', timeoutMs);
    await r.text();
  }

  private async post(url: string, field: 'query' | 'update', text: string, accept: string, timeoutMs?: number): Promise<Response> {
    return this.http.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', accept },
      body: `${field}=${encodeURIComponent(text)}`,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    }, field === 'update' ? 'SPARQL Update' : 'query');
  }

  private async queryJson(sparql: string): Promise<ReturnType<typeof parseJsonResult>> {
    const r = await this.post(this.settings.query, 'query', sparql, 'application/sparql-results+json');
    return parseJsonResult(await r.text());
  }

  async select(sparql: string, options?: SelectOptions): Promise<Row[]> {
    const rows: Row[] = [];
    for await (const r of this.selectStream(sparql, options)) rows.push(r);
    return rows;
  }

  async *selectStream(sparql: string, options?: SelectOptions): AsyncGenerator<Row> {
    // Measured on Virtuoso at 416,000 patients: 79,000 to 259,000 patient ids took 1.4-6.1 s as JSON
    // and 0.2-1.7 s as CSV, nearly all of it the server writing the answer.
    const csv = options?.lexical === true;
    // RDF_QUAD is Virtuoso's primary key index, predicate then subject (PSOG).
    if (options?.bySubject && this.engine === 'virtuoso') sparql = `DEFINE sql:table-option "index RDF_QUAD" ${sparql}`;
    const r = await this.post(this.settings.query, 'query', sparql, csv ? 'text/csv, application/sparql-results+json;q=0.5' : 'application/sparql-results+json');
    if (csv && /^text\/csv/i.test(r.headers.get('content-type') ?? '')) {
      yield* streamCsvRows(textChunks(r));
      return;
    }
    for await (const b of streamJsonBindings(textChunks(r))) yield plainRow(b);
  }

  async ask(sparql: string): Promise<boolean> {
    const result = await this.queryJson(sparql);
    if (!('boolean' in result)) throw new Error('not an ASK query');
    return result.boolean;
  }

  /**
   * Answers in the W3C format asked for, written by us from the server's JSON or N-Triples, so the
   * output is the same as the embedded store's whatever the server's own serialisers do.
   */
  async serialize(sparql: string, format: ResultFormat): Promise<SerializedResult> {
    if (format === 'turtle' || format === 'ntriples' || format === 'nquads' || format === 'jsonld') {
      const r = await this.post(this.settings.query, 'query', sparql, 'application/n-triples, text/turtle;q=0.9');
      const quads = new Parser({ format: contentFormat(r) }).parse(await r.text());
      return { kind: 'bindings', format, body: writeGraph(quads, format) };
    }
    const result = await this.queryJson(sparql);
    if ('boolean' in result) return { kind: 'boolean', format, body: writeBoolean(result.boolean, format) };
    return { kind: 'bindings', format, body: writeBindings(result.vars, result.bindings, format) };
  }

  async graphQuads(graph: string): Promise<Quad[]> {
    const r = await this.post(this.settings.query, 'query', `CONSTRUCT { ?s ?p ?o } WHERE { GRAPH <${graph}> { ?s ?p ?o } }`, 'application/n-triples, text/turtle;q=0.9');
    const g = namedNode(graph);
    return new Parser({ format: contentFormat(r) }).parse(await r.text()).map((q) => quad(q.subject, q.predicate, restoreLiteral(q.object), g));
  }

  async update(sparql: string): Promise<void> {
    this.requireWritable();
    await this.post(this.settings.update, 'update', sparql, '*/*');
    await this.touch();
  }

  async commit(batch: StoreBatch): Promise<void> {
    this.requireWritable();
    if (this.settings.bulk) {
      await this.bulkCommit(batch, this.settings.bulk);
    } else if (this.settings.graphStore) {
      // One PUT per graph replaces it whole, so uploads of different graphs can run side by side.
      await this.inParallel([...batch.replace], ([graph, quads]) => this.replaceGraph(graph, quads));
      await this.runUpdates(this.insertOps(batch.add));
    } else {
      // Every replaced graph (emptied, then its inserts) and the shared triples, packed into few requests.
      // One unit per graph: its clearGraph update (only if it exists: emptying a graph that does not
      // exist still costs the server work, and most graphs of an ingest are new) and its inserts, in order.
      const existing = await this.existingGraphs([...batch.replace.keys()]);
      const units = new Map<string, UpdateOp[]>();
      for (const [graph, quads] of batch.replace) units.set(graph, [...(existing.has(graph) ? [{ text: this.clearGraph(graph), triples: 0, graph }] : []), ...this.insertOps(quads)]);
      for (const op of this.insertOps(batch.add)) {
        const unit = units.get(op.graph);
        if (unit) unit.push(op);
        else units.set(op.graph, [op]);
      }
      await this.runUnits([...units.values()]);
    }
    if (batch.rejected.length || batch.accepted.length || batch.acceptedFrom?.length) await this.writeQuarantine(batch);
    await this.touch(batch.meta);
  }

  /**
   * The bulk path (HARMONIA_SPARQL_BULK_DIR): the batch as N-Quads files in a folder the Virtuoso server
   * can read, each loaded by one call of Virtuoso's own Turtle/N-Quads loader, DB.DBA.TTLP, made through
   * SPARQL. The load measured about 5x faster than INSERT DATA (docs/stores.md): the server parses the file
   * itself instead of compiling megabytes of SPARQL. Each load is one transaction (a failed one stores
   * nothing of its file); graphs are never split across files. The files are written and the path is
   * proven to work before any graph is dropped, and deleted after their load.
   */
  private async bulkCommit(batch: StoreBatch, folder: BulkFolder): Promise<void> {
    if (this.engine !== 'virtuoso') throw new Error(`HARMONIA_SPARQL_BULK_DIR: bulk loading uses Virtuoso's DB.DBA.TTLP, and ${this.location} is not a Virtuoso server; unset it`);
    const files = this.bulkFiles(batch);
    const written: string[] = [];
    try {
      for (const text of files.texts) {
        const name = `harmonia-${randomUUID()}.nq`;
        await writeFile(join(folder.local, name), text);
        written.push(name);
      }
      await this.bulkProbe(folder);
      const existing = await this.existingGraphs([...batch.replace.keys()]);
      await this.runUpdates([...existing].map((graph) => ({ text: this.clearGraph(graph), triples: 0, graph })));
      // Loads of different files touch different graphs: with HARMONIA_SPARQL_PARALLEL > 1 they run side
      // by side (one TTLP uses one server thread); one that loses a deadlock stored nothing and is retried.
      await this.inParallel(written, (name) => retryConflicts(() => this.bulkLoad(folder, name)));
      await this.runUpdates(this.insertOps(files.defaultGraph));
    } finally {
      await Promise.all(written.map((name) => rm(join(folder.local, name), { force: true })));
    }
  }

  /**
   * The batch as N-Quads texts, whole graphs each, of at most BULK_FILE_BYTES and split into at least
   * as many files as loads may run at once (HARMONIA_SPARQL_PARALLEL), when the batch has as many graphs
   * and a MiB or more each; default-graph quads apart.
   */
  private bulkFiles(batch: StoreBatch): { texts: string[]; defaultGraph: Quad[] } {
    const graphs: string[] = [];
    const defaultGraph: Quad[] = [];
    let graphIndex = 0;
    // IRIs repeat across a batch (predicates, classes, HPO terms): each written once.
    const written = new Map<string, string>();
    const iri = (t: Quad['subject'] | Quad['predicate'] | Quad['object']): string => {
      let text = written.get(t.value);
      if (text === undefined) written.set(t.value, (text = this.term(t)));
      return text;
    };
    const addGraph = (graph: string, quads: Quad[]): void => {
      // Blank node labels are scoped to one load: keep those of different graphs apart. Repeated
      // triples need no care: Virtuoso keeps a quad once however often it is loaded.
      const scope = `_:g${graphIndex++}x`;
      const g = ` <${graph}> .\n`;
      let text = '';
      for (const q of quads) {
        const s = q.subject.termType === 'NamedNode' ? iri(q.subject) : q.subject.termType === 'BlankNode' ? scope + q.subject.value : this.term(q.subject);
        const o = q.object.termType === 'NamedNode' ? iri(q.object) : q.object.termType === 'BlankNode' ? scope + q.object.value : this.term(q.object);
        text += `${s} ${iri(q.predicate)} ${o}${g}`;
      }
      graphs.push(text);
    };
    for (const [graph, quads] of batch.replace) addGraph(graph, quads);
    for (const [graph, quads] of byGraph(batch.add)) {
      if (graph) addGraph(graph, quads);
      else defaultGraph.push(...quads);
    }
    const total = graphs.reduce((n, t) => n + t.length, 0);
    const target = Math.min(BULK_FILE_BYTES, Math.max(1 << 20, Math.ceil(total / this.settings.parallel)));
    const texts: string[] = [];
    let parts: string[] = [];
    let bytes = 0;
    for (const text of graphs) {
      if (parts.length && bytes + text.length > target) {
        texts.push(parts.join(''));
        parts = [];
        bytes = 0;
      }
      parts.push(text);
      bytes += text.length;
    }
    if (parts.length) texts.push(parts.join(''));
    return { texts, defaultGraph };
  }

  /** One file loaded by the server: DB.DBA.TTLP on its content, called through SPARQL. */
  private async bulkLoad(folder: BulkFolder, name: string): Promise<void> {
    const path = ntriplesTerm({ type: 'literal', value: posix.join(folder.server, name) });
    await this.callSql(`<sql:TTLP>(<bif:file_to_string_output>(${path}), "", ${ntriplesTerm({ type: 'literal', value: `${ADMIN_GRAPH}/bulk` })}, ${TTLP_NQUADS})`);
  }

  /**
   * Proves, once per store, that the server can read the shared folder and run the loader, with a
   * one-triple file, so that a misconfiguration fails before any graph of a commit is dropped.
   */
  private async bulkProbe(folder: BulkFolder): Promise<void> {
    if (this.bulkChecked) return;
    const graph = `${ADMIN_GRAPH}/bulk-probe`;
    const token = randomUUID();
    const name = `harmonia-probe-${token}.nq`;
    await writeFile(join(folder.local, name), `<${STORE}> <${HX}probe> "${token}" <${graph}> .\n`);
    try {
      await this.bulkLoad(folder, name);
      if (!(await this.ask(`ASK { GRAPH <${graph}> { <${STORE}> <${HX}probe> "${token}" } }`))) throw new Error('the probe file loaded, but its triple is not in the store');
      await this.post(this.settings.update, 'update', this.clearGraph(graph, PROBE_GRAPH), '*/*');
    } catch (e) {
      throw new Error(`HARMONIA_SPARQL_BULK_DIR: Virtuoso could not load ${posix.join(folder.server, name)}, written to ${join(folder.local, name)}: ${refusal((e as Error).message)}. `
        + 'The folder must be listed in DirsAllowed of virtuoso.ini, be the same folder on both sides (HARMONIA_SPARQL_BULK_DIR_SERVER names it as the server sees it), '
        + 'and the update endpoint must sign in as a user who may run DB.DBA.TTLP (the dba, through HARMONIA_SPARQL_UPDATE_URL=http://host:8890/sparql-auth)');
    } finally {
      await rm(join(folder.local, name), { force: true });
    }
    this.bulkChecked = true;
  }

  /** Which of these named graphs hold any triple, asked a few hundred at a time. */
  private async existingGraphs(graphs: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < graphs.length; i += 500) {
      const values = graphs.slice(i, i + 500).map((g) => `<${g}>`).join(' ');
      for (const r of await this.select(`SELECT DISTINCT ?g WHERE { VALUES ?g { ${values} } GRAPH ?g { ?s ?p ?o } }`)) found.add(r.g!);
    }
    return found;
  }

  /** Replaces a named graph with these quads; `only` as for clearGraph. */
  private async replaceGraph(graph: string, quads: Quad[], only?: GraphShape): Promise<void> {
    if (this.settings.graphStore && quads.length) {
      const body = quads.map((q) => `${this.term(q.subject)} ${this.term(q.predicate)} ${this.term(q.object)} .\n`).join('');
      await this.http.request(`${this.settings.graphStore}${this.settings.graphStore.includes('?') ? '&' : '?'}graph=${encodeURIComponent(graph)}`, {
        method: 'PUT', headers: { 'content-type': 'application/n-triples; charset=utf-8' }, body,
      }, 'Graph Store upload');
      return;
    }
    await this.runUpdates([{ text: this.clearGraph(graph, only), triples: 0, graph }, ...this.insertOps(quads)]);
  }

  /** INSERT DATA operations, one graph each, at most BLOCK_TRIPLES triples each; repeated triples sent once. */
  private insertOps(quads: Quad[]): UpdateOp[] {
    const ops: UpdateOp[] = [];
    for (const [g, graphQuads] of byGraph(quads)) {
      const triples = [...new Set(graphQuads.map((q) => `${this.term(q.subject)} ${this.term(q.predicate)} ${this.term(q.object)} .`))];
      for (let i = 0; i < triples.length; i += BLOCK_TRIPLES) {
        const block = triples.slice(i, i + BLOCK_TRIPLES).join('\n');
        ops.push({ text: g ? `INSERT DATA { GRAPH <${g}> { ${block} } }` : `INSERT DATA { ${block} }`, triples: Math.min(BLOCK_TRIPLES, triples.length - i), graph: g });
      }
    }
    return ops;
  }

  /**
   * Sends units (each one graph's operations, in order) packed into requests that fit UPDATE_BYTES
   * and REQUEST_TRIPLES, `parallel` requests at a time. A unit larger than one request becomes a chain
   * of requests sent one after another, so no graph's operations ever race each other.
   */
  private async runUnits(units: UpdateOp[][]): Promise<void> {
    const jobs: string[][] = [];
    let request: string[] = [];
    let bytes = 0;
    let triples = 0;
    const close = (): void => {
      if (request.length) jobs.push([request.join(' ;\n')]);
      request = [];
      bytes = 0;
      triples = 0;
    };
    for (const unit of units) {
      const size = unit.reduce((a, op) => a + op.text.length, 0);
      const count = unit.reduce((a, op) => a + op.triples, 0);
      if (size > UPDATE_BYTES || count > REQUEST_TRIPLES) {
        jobs.push(this.packed(unit));
        continue;
      }
      if (request.length && (bytes + size > UPDATE_BYTES || triples + count > REQUEST_TRIPLES)) close();
      request.push(...unit.map((op) => op.text));
      bytes += size;
      triples += count;
    }
    close();
    await this.inParallel(jobs, async (chain) => {
      for (const text of chain) await this.update1(text);
    });
  }

  /** `work` on each item, at most `parallel` at a time. */
  private async inParallel<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) await work(items[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(this.settings.parallel, items.length) }, worker));
  }

  /** Operations packed in order into request texts. */
  private packed(ops: UpdateOp[]): string[] {
    const out: string[] = [];
    let batch: string[] = [];
    let bytes = 0;
    let triples = 0;
    for (const op of ops) {
      if (batch.length && (bytes + op.text.length > UPDATE_BYTES || triples + op.triples > REQUEST_TRIPLES)) {
        out.push(batch.join(' ;\n'));
        batch = [];
        bytes = 0;
        triples = 0;
      }
      batch.push(op.text);
      bytes += op.text.length;
      triples += op.triples;
    }
    if (batch.length) out.push(batch.join(' ;\n'));
    return out;
  }

  /** Sends operations in order, as many per request as fit UPDATE_BYTES and REQUEST_TRIPLES. */
  private async runUpdates(ops: UpdateOp[]): Promise<void> {
    for (const text of this.packed(ops)) await this.update1(text);
  }


  /** One update request, tried again when it loses a conflict with another (Virtuoso's deadlocks on a fresh database). */
  private async update1(text: string): Promise<void> {
    await retryConflicts(async () => void (await this.post(this.settings.update, 'update', text, '*/*')));
  }

  async quarantine(): Promise<QuarantineEntry[]> {
    const rows = await this.select(`SELECT ?e WHERE { GRAPH <${QUARANTINE_GRAPH}> { ?x <${HX}entry> ?e } }`);
    return rows.map((r) => JSON.parse(r.e!) as QuarantineEntry).sort((a, b) => a.at.localeCompare(b.at));
  }

  private async writeQuarantine(batch: StoreBatch): Promise<void> {
    const current = await this.quarantine();
    const all = mergeQuarantine(current, batch);
    if (all === current) return;
    const g = namedNode(QUARANTINE_GRAPH);
    await this.replaceGraph(QUARANTINE_GRAPH, all.map((e, i) => quad(namedNode(`${STORE}/quarantine/${i}`), namedNode(HX + 'entry'), literal(JSON.stringify(e)), g)), { predicates: [HX + 'entry'] });
  }


  async size(): Promise<number> {
    // Only Harmonia's graphs: servers keep their own system graphs in the same dataset. Counted per
    // graph on the server and summed there by whether the graph is ours: a FILTER on the graph name
    // makes Virtuoso test it per triple (30 s at 65,000 graphs), and fetching one row per graph grows
    // with the patients (3.5 s there); this takes 0.6 s.
    const rows = await this.select(`SELECT ?ours (SUM(?n) AS ?triples) WHERE {
  { SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g }
  BIND(STRSTARTS(STR(?g), ${ntriplesTerm({ type: 'literal', value: HXG })}) && !STRSTARTS(STR(?g), ${ntriplesTerm({ type: 'literal', value: ADMIN_GRAPH })}) AS ?ours)
} GROUP BY ?ours`);
    // Virtuoso answers booleans as 1 and 0.
    return rows.filter((r) => r.ours === 'true' || r.ours === '1').reduce((n, r) => n + Number(r.triples), 0);
  }

  async generation(): Promise<string> {
    const [row] = await this.select(`SELECT ?g WHERE { GRAPH <${ADMIN_GRAPH}> { <${STORE}> <${HX}generation> ?g } }`);
    return row?.g ?? '';
  }

  /** A new generation token after every write, so caches over this store see the change. */
  private async touch(extra: Record<string, string> = {}): Promise<void> {
    await this.writeMeta({ ...(await this.meta()), ...extra, updated: new Date().toISOString() });
  }

  async meta(): Promise<Readonly<Record<string, string>>> {
    const [row] = await this.select(`SELECT ?m WHERE { GRAPH <${ADMIN_GRAPH}> { <${STORE}> <${HX}meta> ?m } }`);
    return row?.m ? (JSON.parse(row.m) as Record<string, string>) : {};
  }

  private async writeMeta(meta: Record<string, string>): Promise<void> {
    const g = namedNode(ADMIN_GRAPH);
    const s = namedNode(STORE);
    await this.replaceGraph(ADMIN_GRAPH, [
      quad(s, namedNode(RDF + 'type'), namedNode(HX + 'Store'), g),
      quad(s, namedNode(HX + 'meta'), literal(JSON.stringify(meta)), g),
      quad(s, namedNode(HX + 'generation'), literal(randomUUID()), g),
    ], { subject: STORE, predicates: [RDF + 'type', HX + 'meta', HX + 'generation'] });
  }

  async ontology(): Promise<Ontology | undefined> {
    const version = (await this.meta()).hpoVersion;
    if (!version) return undefined;
    if (this.ontologyCache?.version === version) return this.ontologyCache.ontology;
    const rows = await this.select(`SELECT ?i ?d WHERE { GRAPH <${ONTOLOGY_DATA_GRAPH}> { ?c <${HX}chunkIndex> ?i ; <${HX}chunkData> ?d } }`);
    if (rows.length === 0) return undefined;
    const text = rows.sort((a, b) => Number(a.i) - Number(b.i)).map((r) => r.d).join('');
    const ontology = new Ontology(JSON.parse(gunzipSync(Buffer.from(text, 'base64')).toString('utf8')) as OntologyData);
    this.ontologyCache = { version, ontology };
    return ontology;
  }

  async setOntology(ontology: Ontology, quads: Quad[], graph: string): Promise<void> {
    this.requireWritable();
    const data = gzipSync(JSON.stringify(ontology.toData())).toString('base64');
    const g = namedNode(ONTOLOGY_DATA_GRAPH);
    const chunks: Quad[] = [];
    for (let i = 0, k = 0; i < data.length; i += CHUNK, k++) {
      const c = namedNode(`${STORE}/ontology/${k}`);
      chunks.push(quad(c, namedNode(HX + 'chunkIndex'), literal(String(k), namedNode('http://www.w3.org/2001/XMLSchema#integer')), g));
      chunks.push(quad(c, namedNode(HX + 'chunkData'), literal(data.slice(i, i + CHUNK)), g));
    }
    await this.replaceGraph(ONTOLOGY_DATA_GRAPH, chunks, { predicates: [HX + 'chunkIndex', HX + 'chunkData'] });
    await this.replaceGraph(graph, quads);
    await this.touch({ hpoVersion: ontology.version });
    this.ontologyCache = { version: ontology.version, ontology };
  }

  async close(): Promise<void> {}
}

/**
 * Failures where the server rolled the loser of two concurrent writes back, so sending it again is
 * safe: a deadlock, and two loads adding the same new datatype, language or IRI to Virtuoso's
 * dictionaries at once (seen with HARMONIA_SPARQL_PARALLEL=2 on a fresh database: SR197, "Non unique
 * primary key on DB.DBA.RDF_DATATYPE").
 */
const CONFLICT = /deadlock|SR172|40001|SR197: Non unique primary key on DB\.DBA\.RDF_(DATATYPE|LANGUAGE|IRI|PREFIX)/i;

/** Runs `work` again (up to 4 times in all) while it fails by a conflict the server rolled back. */
export async function retryConflicts(work: () => Promise<void>, pauseMs = 200): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (e) {
      if (attempt >= 4 || !CONFLICT.test((e as Error).message)) throw e;
      await new Promise((r) => setTimeout(r, pauseMs * attempt));
    }
  }
}

async function* textChunks(r: Response): AsyncGenerator<string> {
  if (!r.body) return;
  const decoder = new TextDecoder();
  for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) yield decoder.decode(chunk, { stream: true });
  const rest = decoder.decode();
  if (rest) yield rest;
}

function contentFormat(r: Response): string {
  const type = r.headers.get('content-type') ?? '';
  return /turtle/.test(type) ? 'Turtle' : 'N-Triples';
}

/** A literal as it was written: booleans a server keeps as 0/1, datatypes kept under a stand-in. */
function restoreLiteral(o: Quad['object']): Quad['object'] {
  if (o.termType !== 'Literal') return o;
  const datatype = restoredDatatype(o.datatype.value);
  if (datatype !== o.datatype.value) return literal(o.value, namedNode(datatype));
  if (datatype !== 'http://www.w3.org/2001/XMLSchema#boolean') return o;
  return o.value === '1' ? literal('true', o.datatype) : o.value === '0' ? literal('false', o.datatype) : o;
}

function termText(t: Quad['subject'] | Quad['predicate'] | Quad['object'], standIns: boolean): string {
  if (t.termType === 'NamedNode') return `<${t.value}>`;
  if (t.termType === 'BlankNode') return `_:${t.value}`;
  if (t.termType !== 'Literal') throw new Error(`cannot store a ${t.termType} term`);
  const term: Term = { type: 'literal', value: t.value };
  if (t.language) term['xml:lang'] = t.language;
  else if (t.datatype.value !== 'http://www.w3.org/2001/XMLSchema#string') term.datatype = (standIns && STAND_IN_DATATYPES[t.datatype.value]) || t.datatype.value;
  return ntriplesTerm(term);
}

/** CONSTRUCT and DESCRIBE answers in the asked RDF format; JSON-LD in its expanded form. */
function writeGraph(quads: Quad[], format: 'turtle' | 'ntriples' | 'nquads' | 'jsonld'): string {
  const fixed = quads.map((q) => quad(q.subject, q.predicate, restoreLiteral(q.object)));
  if (format !== 'jsonld') return new Writer({ format: format === 'turtle' ? 'Turtle' : format === 'nquads' ? 'N-Quads' : 'N-Triples' }).quadsToString(fixed);
  const nodes = new Map<string, Record<string, unknown[] | string>>();
  for (const q of fixed) {
    const id = q.subject.termType === 'BlankNode' ? `_:${q.subject.value}` : q.subject.value;
    const node = nodes.get(id) ?? { '@id': id };
    const o = q.object;
    const value = o.termType === 'Literal'
      ? { '@value': o.value, ...(o.language ? { '@language': o.language } : o.datatype.value.endsWith('#string') ? {} : { '@type': o.datatype.value }) }
      : { '@id': o.termType === 'BlankNode' ? `_:${o.value}` : o.value };
    if (q.predicate.value === RDF + 'type' && o.termType !== 'Literal') ((node['@type'] as unknown[] | undefined) ?? (node['@type'] = [])).push((value as { '@id': string })['@id']);
    else ((node[q.predicate.value] as unknown[] | undefined) ?? (node[q.predicate.value] = [])).push(value);
    nodes.set(id, node);
  }
  return JSON.stringify([...nodes.values()]);
}

/** Quads by graph name ('' for the default graph), in first-seen order. */
function byGraph(quads: Quad[]): Map<string, Quad[]> {
  const graphs = new Map<string, Quad[]>();
  for (const q of quads) {
    let list = graphs.get(q.graph.value);
    if (!list) graphs.set(q.graph.value, (list = []));
    list.push(q);
  }
  return graphs;
}

/** Virtuoso's refusal in its own words, without the HTTP wrapping: `SQ110:SECURITY: Permission denied for ...`. */
function refusal(message: string): string {
  const line = message.split('\n')[0];
  // Virtuoso repeats the whole query after its reason: leave it out.
  return (/\bError\s+(\S+:.*)$/.exec(line)?.[1] ?? line).replace(/\s+SPARQL query:.*$/s, '');
}
