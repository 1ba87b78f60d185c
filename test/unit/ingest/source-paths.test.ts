import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { CohortService } from '../../../src/cohort/index.js';
import { ensureOntology, ingestPhenopackets, SOURCE_ROOTS_KEY, sourceRoots } from '../../../src/ingest/index.js';
import { HX, PROV } from '../../../src/model/namespaces.js';
import { QueryEngine } from '../../../src/query/index.js';
import { createApp, DEFAULT_CONFIG, InProcessExecutor, type ServerContext } from '../../../src/server/index.js';
import { OxigraphStore } from '../../../src/store/index.js';
import { FIXTURES, tinyOntology } from '../cohort/helpers.js';
import { tempDir } from '../../helpers/paths.js';

const SOURCES = `SELECT ?id ?file WHERE { ?p <${HX}id> ?id ; <${PROV}wasDerivedFrom> ?s . ?s <${HX}sourceFile> ?file } ORDER BY ?id`;

describe('provenance paths (hx:sourceFile) are stored relative to the ingest root', () => {
  let dir: ReturnType<typeof tempDir>;
  let data: string;

  beforeAll(() => {
    dir = tempDir();
    // The five fixture patients: P-A and P-B as files in a sub-folder, the rest as JSON Lines beside it.
    data = join(dir.path, 'incoming');
    mkdirSync(join(data, 'site-1'), { recursive: true });
    const lines = readFileSync(join(FIXTURES, 'patients.jsonl'), 'utf8').trim().split('\n');
    writeFileSync(join(data, 'site-1', 'a.json'), lines[0]);
    writeFileSync(join(data, 'site-1', 'b.json'), lines[1]);
    writeFileSync(join(data, 'rest.jsonl'), lines.slice(2).join('\n') + '\n');
  });
  afterAll(() => dir.remove());

  async function store(name: string): Promise<OxigraphStore> {
    const s = await OxigraphStore.open(join(dir.path, name), { create: true, write: true });
    await ensureOntology(s, tinyOntology());
    return s;
  }

  test('a folder given to ingest: paths under it, the folder kept in the store metadata; the zip export still finds the originals', async () => {
    const s = await store('folder');
    try {
      expect((await ingestPhenopackets(s, [data])).accepted).toBe(5);
      const rows = await s.select(SOURCES);
      expect(rows.map((r) => [r.id, r.file])).toEqual([
        ['P-A', 'site-1/a.json'], ['P-B', 'site-1/b.json'], ['P-C', 'rest.jsonl'], ['P-D', 'rest.jsonl'], ['P-E', 'rest.jsonl'],
      ]);
      expect(sourceRoots(await s.meta())).toEqual([data]);
      const zip = await new CohortService(s, (await s.ontology())!).export('t', ['P-A', 'P-D'], 'zip');
      expect({ original: zip.original, rebuilt: zip.rebuilt }).toEqual({ original: 2, rebuilt: 0 });
    } finally {
      await s.close();
    }
  });

  test('a file given to ingest is stored by its name; a second root goes first in the metadata', async () => {
    const s = await store('file');
    try {
      await ingestPhenopackets(s, [join(data, 'site-1', 'a.json')]);
      const other = join(dir.path, 'elsewhere');
      mkdirSync(other);
      copyFileSync(join(data, 'rest.jsonl'), join(other, 'more.jsonl'));
      await ingestPhenopackets(s, [join(other, 'more.jsonl')]);
      expect((await s.select(SOURCES)).map((r) => r.file)).toEqual(['a.json', 'more.jsonl', 'more.jsonl', 'more.jsonl']);
      expect(sourceRoots(await s.meta())).toEqual([other, join(data, 'site-1')]);
    } finally {
      await s.close();
    }
  });

  test('absolutePaths keeps the full path and records no root', async () => {
    const s = await store('absolute');
    try {
      await ingestPhenopackets(s, [join(data, 'site-1')], { absolutePaths: true });
      expect((await s.select(SOURCES)).map((r) => r.file)).toEqual([join(data, 'site-1', 'a.json'), join(data, 'site-1', 'b.json')]);
      expect((await s.meta())[SOURCE_ROOTS_KEY]).toBeUndefined();
    } finally {
      await s.close();
    }
  });

  test('over /sparql and /stats no reader sees where the server keeps the data', async () => {
    const s = await store('served');
    let server: Server | undefined;
    try {
      await ingestPhenopackets(s, [data]);
      const ontology = (await s.ontology())!;
      const engine = await QueryEngine.create(s, ontology, { maxRows: 100 });
      let ctx!: ServerContext;
      ctx = { store: s, ontology, engine, executor: new InProcessExecutor(() => ctx), config: { ...DEFAULT_CONFIG, port: 0 }, async afterWrite() {} };
      server = createApp(ctx).listen(0, '127.0.0.1');
      await new Promise((r) => server!.once('listening', r));
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const res = await fetch(`${base}/sparql?query=${encodeURIComponent(SOURCES)}`);
      const files = ((await res.json()) as { results: { bindings: { file: { value: string } }[] } }).results.bindings.map((b) => b.file.value);
      expect(files).toHaveLength(5);
      for (const f of files) expect(f).not.toContain(dir.path);
      const stats = await (await fetch(`${base}/stats`)).text();
      expect(stats).not.toContain(dir.path);
      expect(JSON.parse(stats).meta).toHaveProperty('hpoVersion');
    } finally {
      await new Promise((r) => (server ? server.close(r) : r(undefined)));
      await s.close();
    }
  });
});
