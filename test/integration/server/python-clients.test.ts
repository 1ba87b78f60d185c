import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureStore } from '../../helpers/fixture-store.js';
import { repoRoot, tempDir } from '../../helpers/paths.js';
import { startServeProcess, type ServeProcess } from '../../helpers/serve-process.js';

// SPARQLWrapper and rdflib against `harmonia serve`, with their default settings (SPARQL results XML
// for SELECT and ASK, RDF/XML for CONSTRUCT and DESCRIBE). The fixture store keeps this well under a
// minute: what is tested is the protocol the clients speak, which is the same for any store (the real
// dev store takes over a minute just to load on a busy two-core machine).

/** The first Python that has both modules (Debian's packages land in /usr/bin/python3's path). */
function python(): string | undefined {
  for (const p of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(p, ['-c', 'import SPARQLWrapper, rdflib'], { encoding: 'utf8' });
    if (r.status === 0) return p;
  }
  return undefined;
}

const py = python();
const built = existsSync(join(repoRoot, 'dist', 'src', 'server', 'query-worker.js'));
const why = !py ? 'Python modules SPARQLWrapper and rdflib missing (apt-get install python3-sparqlwrapper python3-rdflib)' : !built ? 'dist/ not built (npm run build)' : undefined;
if (why) console.warn(`python-clients.test: skipped: ${why}`);
const maybe = why ? describe.skip : describe;

const HX = 'https://w3id.org/harmonia/vocab#';

maybe('standard Python SPARQL clients against harmonia serve', () => {
  let server: ServeProcess | undefined;
  let base: string;
  let dir: ReturnType<typeof tempDir>;

  beforeAll(async () => {
    dir = tempDir();
    const fixture = await fixtureStore(dir.path);
    await fixture.close();
    const store = join(dir.path, 'store');
    server = await startServeProcess(['--store', store, '--port', '0', '--workers', '1', '--log-level', 'quiet']);
    base = server.base;
  }, 50_000);
  afterAll(async () => {
    await server?.stop();
    dir?.remove();
  });

  /** The same query answered as JSON, to check the clients' values against. */
  const json = async (query: string) => {
    const res = await fetch(`${base}/sparql?query=${encodeURIComponent(query)}`, { headers: { Accept: 'application/sparql-results+json' } });
    return ((await res.json()) as { results: { bindings: Record<string, { value: string }>[] } }).results.bindings;
  };

  test('SELECT, ASK, CONSTRUCT and DESCRIBE through SPARQLWrapper and rdflib', async () => {
    const ids = (await json(`PREFIX hx: <${HX}> SELECT ?p ?id WHERE { ?p a hx:Patient ; hx:id ?id } ORDER BY ?id LIMIT 5`));
    expect(ids.map((b) => b.id.value)).toEqual(['PMID_1_Patient_1', 'PMID_1_Patient_2']);
    const patient = ids[0].p.value;
    const described = await json(`SELECT ?p ?o WHERE { <${patient}> ?p ?o }`);
    const r = spawnSync(py!, [join(__dirname_(), 'python-clients.py'), `${base}/sparql`, patient], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const got = JSON.parse(r.stdout) as Record<string, unknown>;
    const values = ids.map((b) => b.id.value);
    expect(got.wrapper_select).toEqual(values);
    expect(got.rdflib_select).toEqual(values);
    expect(got.wrapper_ask).toBe('true');
    expect(got.rdflib_ask).toBe(true);
    const triples = ids.map((b) => `${b.p.value} ${HX}id ${b.id.value}`).sort();
    expect(got.wrapper_construct).toEqual(triples);
    expect(got.rdflib_construct).toEqual(triples);
    expect(got.wrapper_construct_type).toMatch(/^application\/rdf\+xml/);
    // DESCRIBE gives at least the patient's own triples (Oxigraph's concise bounded description).
    for (const key of ['wrapper_describe', 'rdflib_describe']) {
      const lines = got[key] as string[];
      expect(lines.length).toBeGreaterThanOrEqual(described.length);
      expect(lines).toContain(`${patient} ${HX}id ${ids[0].id.value}`);
    }
  }, 60_000);
});

function __dirname_(): string {
  return join(repoRoot, 'test', 'integration', 'server');
}
