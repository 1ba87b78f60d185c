import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { HX } from '../../src/model/index.js';
import { QueryEngine } from '../../src/query/index.js';
import { readJsonDocuments } from '../../src/sources/index.js';
import { OxigraphStore } from '../../src/store/index.js';
import { dataDir, repoRoot, tempDir } from '../helpers/paths.js';
import { realFiles, realStoreDir } from '../helpers/real-store.js';

const data = dataDir();
const describeReal = data ? describe : describe.skip;
if (!data) console.warn('integration tests skipped: no data directory (set HARMONIA_DATA or provide ../shared/data)');

interface Pp { id: string; subject?: { sex?: string }; phenotypicFeatures?: { type: { id: string }; excluded?: boolean }[]; interpretations?: { diagnosis?: { disease?: { id: string } } }[]; diseases?: { term: { id: string }; excluded?: boolean }[] }

/** Independent of src/ontology: is_a children, alt_ids and replacements read straight from the JSON. */
function rawHpo(file: string) {
  const g = JSON.parse(gunzipSync(readFileSync(file)).toString()).graphs[0];
  const cur = (iri: string) => iri.replace('http://purl.obolibrary.org/obo/', '').replace('_', ':');
  const children = new Map<string, string[]>();
  for (const e of g.edges) if (e.pred === 'is_a') children.set(cur(e.obj), [...(children.get(cur(e.obj)) ?? []), cur(e.sub)]);
  const primary = new Map<string, string>();
  const cuis = new Map<string, string[]>();
  for (const n of g.nodes) {
    const id = cur(n.id);
    cuis.set(id, (n.meta?.xrefs ?? []).map((x: { val: string }) => x.val).filter((v: string) => v.startsWith('UMLS:')).map((v: string) => v.slice(5)));
    for (const b of n.meta?.basicPropertyValues ?? []) {
      if (b.pred.endsWith('hasAlternativeId')) primary.set(b.val, id);
      if (b.pred.endsWith('IAO_0100001') && n.meta?.deprecated) primary.set(id, cur(b.val));
    }
  }
  const below = (root: string): Set<string> => {
    const out = new Set([root]);
    const stack = [root];
    while (stack.length) for (const c of children.get(stack.pop()!) ?? []) if (!out.has(c)) { out.add(c); stack.push(c); }
    return out;
  };
  return { below, norm: (id: string) => primary.get(id) ?? id, cuis: (id: string) => cuis.get(id) ?? [] };
}

describeReal('the real dev phenopackets in a store', () => {
  let phenopackets: Pp[];
  let store: OxigraphStore;
  let engine: QueryEngine;
  let hpo: ReturnType<typeof rawHpo>;

  beforeAll(async () => {
    const { hpo: hpoFile, phenopackets: zip } = realFiles(data!);
    hpo = rawHpo(hpoFile);
    phenopackets = [];
    for await (const r of readJsonDocuments([zip])) phenopackets.push(r.json as Pp);
    store = await OxigraphStore.open(await realStoreDir(data!));
    engine = await QueryEngine.create(store, (await store.ontology()));
  }, 600_000);
  afterAll(async () => store?.close());

  const count = async (where: string) => Number((await engine.select(`PREFIX hx: <${HX}> PREFIX obo: <http://purl.obolibrary.org/obo/> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ${where} }`))[0].n);
  const withFeature = (root: string, excluded: boolean) => {
    const set = hpo.below(root);
    return phenopackets.filter((pp) => (pp.phenotypicFeatures ?? []).some((f) => (f.excluded === true) === excluded && set.has(hpo.norm(f.type.id)))).length;
  };

  test('every phenopacket is a patient', async () => {
    expect(phenopackets.length).toBe(7405);
    expect((await count('?p a hx:Patient'))).toBe(new Set(phenopackets.map((p) => p.id)).size);
    expect((await store.quarantine())).toEqual([]);
  });

  test('Q1: patients with an observed descendant of Seizure match an independent count', async () => {
    const expected = withFeature('HP:0001250', false);
    expect(expected).toBeGreaterThan(1000);
    expect((await count('?p hx:hasPhenotype ?c . ?c rdfs:subClassOf* obo:HP_0001250'))).toBe(expected);
    // The property path evaluated by the store itself agrees with the expansion.
    expect(Number((await store.select(`PREFIX hx: <${HX}> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p hx:hasPhenotype ?c . ?c rdfs:subClassOf* <http://purl.obolibrary.org/obo/HP_0001250> }`))[0].n)).toBe(expected);
  });

  test('Q2: patients in whom a descendant of Seizure was excluded', async () => {
    const expected = withFeature('HP:0001250', true);
    expect(expected).toBeGreaterThan(100);
    expect((await count('?p hx:excludedPhenotype ?c . ?c rdfs:subClassOf* obo:HP_0001250'))).toBe(expected);
  });

  test('Q4: patients per disease match the interpretations', async () => {
    const perDisease = new Map<string, Set<string>>();
    for (const pp of phenopackets) {
      const ids = [...(pp.interpretations ?? []).map((i) => i.diagnosis?.disease?.id), ...(pp.diseases ?? []).filter((d) => !d.excluded).map((d) => d.term.id)];
      for (const d of ids) if (d) perDisease.set(d, (perDisease.get(d) ?? new Set()).add(pp.id));
    }
    const rows = (await engine.select(`PREFIX hx: <${HX}> SELECT ?c (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p hx:hasDisease ?d . ?d hx:curie ?c } GROUP BY ?c`));
    expect(rows.length).toBe(perDisease.size);
    for (const r of rows) expect(Number(r.n)).toBe(perDisease.get(r.c!)!.size);
  });

  test('Q3: one patient’s phenotypes with HPO labels and UMLS CUIs', async () => {
    const rows = (await engine.select(`PREFIX hx: <${HX}> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> SELECT ?c ?label ?cui WHERE { ?p hx:id "PMID_23086397_Patient_4" ; hx:hasPhenotype ?c . ?c rdfs:label ?label OPTIONAL { ?c hx:umlsCui ?cui } }`));
    const pp = phenopackets.find((p) => p.id === 'PMID_23086397_Patient_4')!;
    const observed = new Set(pp.phenotypicFeatures!.filter((f) => !f.excluded).map((f) => hpo.norm(f.type.id)));
    expect(new Set(rows.map((r) => r.c!.replace('http://purl.obolibrary.org/obo/', '').replace('_', ':')))).toEqual(observed);
    const microcephaly = rows.filter((r) => r.c!.endsWith('HP_0000252'));
    expect(new Set(microcephaly.map((r) => r.label))).toEqual(new Set(['Microcephaly']));
    expect(hpo.cuis('HP:0000252').length).toBeGreaterThan(0);
    expect(microcephaly.map((r) => r.cui).sort()).toEqual(hpo.cuis('HP:0000252').sort());
  });

  test('sex counts match', async () => {
    for (const sex of ['FEMALE', 'MALE']) {
      expect((await count(`?p hx:sex "${sex}"`))).toBe(phenopackets.filter((p) => p.subject?.sex === sex).length);
    }
  });
});

const built = existsSync(join(repoRoot, 'dist', 'src', 'cli', 'main.js'));
const describeCli = data && built ? describe : describe.skip;
if (!built) console.warn('CLI tests skipped: run `npm run build` first (npm install does)');
const harmonia = join(repoRoot, 'bin', 'harmonia');

describeCli('the harmonia command on real data', () => {
  test('stats --json reports the store', async () => {
    const dir = await realStoreDir(data!);
    const r = spawnSync(harmonia, ['stats', '--store', dir, '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const stats = JSON.parse(r.stdout);
    expect(stats).toMatchObject({ patients: 7405, rejected: 0, hpoVersion: '2024-04-26' });
    expect(stats.phenotypeAssertions).toBeGreaterThan(150000);
    expect(stats.triples).toBeGreaterThan(1500000);
  }, 300_000);

  test('an ingest killed midway leaves whole batches only', async () => {
    const dir = tempDir();
    try {
      const store = join(dir.path, 'store');
      const { hpo, phenopackets } = realFiles(data!);
      const child = spawn(harmonia, ['ingest', '--store', store, '--hpo', hpo, '--batch', '500', phenopackets], { stdio: 'ignore' });
      // Kill it once two patient batches are committed (the HPO and vocabulary commits come first).
      const manifest = join(store, 'harmonia-store.json');
      const deadline = Date.now() + 240_000;
      for (;;) {
        await new Promise((r) => setTimeout(r, 200));
        const m = existsSync(manifest) ? JSON.parse(readFileSync(manifest, 'utf8')) : { segments: [] };
        if (m.segments.length >= 4 || Date.now() > deadline) break;
      }
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const s = await OxigraphStore.open(store, { write: true });
      const n = Number((await s.select(`SELECT (COUNT(*) AS ?n) WHERE { ?p a <${HX}Patient> }`))[0].n);
      expect(n).toBeGreaterThanOrEqual(1000);
      expect(n % 500).toBe(0);
      // Every stored patient is whole: it has its id, hash and every feature node the mapping makes.
      const broken = (await s.select(`SELECT ?p WHERE { ?p a <${HX}Patient> FILTER NOT EXISTS { ?p <${HX}contentHash> ?h } }`));
      expect(broken).toEqual([]);
      await s.close();
    } finally {
      dir.remove();
    }
  }, 300_000);

  test('serve answers SPARQL over HTTP, stops runaway queries, and keeps serving', async () => {
    const dir = await realStoreDir(data!);
    const child = spawn(harmonia, ['serve', '--store', dir, '--port', '0', '--timeout', '1500'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (c) => {
          out += c;
          const m = out.match(/at (http:\/\/\S+)\/sparql/);
          if (m) resolve(m[1]);
        });
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
      });
      const q = `PREFIX hx: <${HX}> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p hx:hasPhenotype ?c . ?c rdfs:subClassOf* <http://purl.obolibrary.org/obo/HP_0001250> }`;
      const ask = (query: string) => fetch(`${url}/sparql`, { method: 'POST', body: query, headers: { 'Content-Type': 'application/sparql-query', Accept: 'text/csv' } });
      const first = await ask(q);
      expect(first.status).toBe(200);
      const n = Number((await first.text()).split(/\r?\n/)[1]);
      expect(n).toBeGreaterThan(1000);
      const slow = await ask('SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f }');
      expect(slow.status).toBe(503);
      expect(await slow.text()).toMatch(/1500 ms time limit/);
      const after = await ask(q);
      expect(after.status).toBe(200);
      expect(Number((await after.text()).split(/\r?\n/)[1])).toBe(n);
    } finally {
      child.kill('SIGTERM');
    }
  }, 300_000);
});
