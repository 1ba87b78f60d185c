import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { cohortRoutes } from '../../../src/server/cohorts.js';
import { startServer, type RunningServer } from '../../../src/server/index.js';
import { webDistDir, webRoutes } from '../../../src/server/web.js';
import { decodeFloat32, literal, pca2 } from '../../../src/server/web-api.js';
import { repoRoot, tempDir } from '../../helpers/paths.js';
import { tinyStore } from '../cohort/helpers.js';

describe('pca2', () => {
  test('finds the axes of largest variance, in order, with their share of the variance', () => {
    // Points on a line along (1, 1, 0), each twice: once 1 above and once 1 below it along (0, 0, 1).
    const rows = Array.from({ length: 80 }, (_, k) => Float32Array.from([(k >> 1) - 20, (k >> 1) - 20, k % 2 ? 1 : -1]));
    const { coordinates, explained } = pca2(rows);
    expect(explained[0]).toBeGreaterThan(0.99);
    expect(explained[0] + explained[1]).toBeCloseTo(1, 6);
    // First axis: the position along the line, scaled by sqrt(2); second: the offset of +-1.
    expect(coordinates[78][0] - coordinates[0][0]).toBeCloseTo(39 * Math.SQRT2, 3);
    expect(Math.abs(coordinates[1][1] - coordinates[0][1])).toBeCloseTo(2, 3);
    expect(coordinates[0][0]).toBeCloseTo(coordinates[1][0], 6);
  });

  test('no rows, or identical rows, give zeros rather than NaN', () => {
    expect(pca2([])).toEqual({ coordinates: [], explained: [0, 0] });
    const same = pca2([Float32Array.from([1, 2]), Float32Array.from([1, 2])]);
    expect(same.coordinates).toEqual([[0, 0], [0, 0]]);
    expect(same.explained).toEqual([0, 0]);
  });
});

test('decodeFloat32 reads hx:float32Base64 (little-endian float32)', () => {
  const v = Float32Array.from([0.5, -1.25, 3]);
  expect([...decodeFloat32(Buffer.from(v.buffer).toString('base64'))]).toEqual([0.5, -1.25, 3]);
});

test('literal escapes what could end a SPARQL string', () => {
  expect(literal('a"b\\c\nd')).toBe('"a\\"b\\\\c\\nd"');
});

test('webDistDir finds web/dist above src/ and dist/src/', () => {
  expect(webDistDir(join(repoRoot, 'src', 'server'))).toBe(join(repoRoot, 'web', 'dist'));
  expect(webDistDir(join(repoRoot, 'dist', 'src', 'server'))).toBe(join(repoRoot, 'web', 'dist'));
});

describe('web routes', () => {
  let fixture: Awaited<ReturnType<typeof tinyStore>>;
  let server: RunningServer;
  let dist: ReturnType<typeof tempDir>;
  let empty: ReturnType<typeof tempDir>;
  const JS = 'console.log("harmonia");'.repeat(50);

  beforeAll(async () => {
    fixture = await tinyStore();
    await fixture.store.close();
    // A built interface of our own, and an unbuilt one, served by two extra route groups.
    dist = tempDir('harmonia-web-dist-');
    empty = tempDir('harmonia-web-none-');
    mkdirSync(join(dist.path, 'assets'));
    writeFileSync(join(dist.path, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(dist.path, 'assets', 'main-ABC.js'), JS);
    writeFileSync(join(dist.path, 'assets', 'main-ABC.js.gz'), gzipSync(JS));
    const mounted = (root: string, at: string) => (ctx: Parameters<typeof webRoutes>[0]) => {
      const r = webRoutes(ctx, root);
      return Object.assign((req: { url: string }, res: unknown, next: () => void) => (req.url.startsWith(at) ? ((req.url = req.url.slice(at.length) || '/'), r(req as never, res as never, next)) : next()), {});
    };
    server = await startServer(fixture.dir, { port: 0 }, [cohortRoutes, mounted(dist.path, '/built'), mounted(empty.path, '/unbuilt')] as never);
  });
  afterAll(async () => {
    await server?.close();
    await fixture?.cleanup();
    dist?.remove();
    empty?.remove();
  });
  const get = (path: string, headers: Record<string, string> = {}) => fetch(server.url + path, { headers });

  test('the page is revalidated each time and carries a same-origin content policy; assets are immutable', async () => {
    const page = await get('/built/');
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'; script-src 'self'/);
    const plain = await get('/built/assets/main-ABC.js', { 'accept-encoding': 'identity' });
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(await plain.text()).toBe(JS);
  });

  test('gzip-accepting clients get the precompressed copy with the right type', async () => {
    const { request } = await import('node:http');
    const raw = await new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      request(`${server.url}/built/assets/main-ABC.js`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      }).on('error', reject).end();
    });
    expect(raw.headers['content-encoding']).toBe('gzip');
    expect(raw.headers['content-type']).toMatch(/^text\/javascript/);
    expect(raw.headers.vary).toBe('Accept-Encoding');
    expect(gunzipSync(raw.body).toString()).toBe(JS);
    expect((await get('/built/assets/../../etc/passwd', { 'accept-encoding': 'gzip' })).status).toBe(404);
  });

  test('an unbuilt interface says how to build it', async () => {
    const r = await get('/unbuilt/');
    expect(r.status).toBe(503);
    expect(((await r.json()) as { error: string }).error).toMatch(/npm run build:web/);
  });

  test('/ui/config, term search, labels, patient search and record, embeddings', async () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const j = async (path: string, init?: RequestInit): Promise<any> => (await fetch(server.url + path, init)).json();
    expect(await j('/ui/config')).toMatchObject({ hpoVersion: '2024-04-26', writes: false, diagnose: false, prefixes: { hx: 'https://w3id.org/harmonia/vocab#' } });
    const seizure = await j('/ui/terms?q=C0036572');
    expect(seizure.terms[0]).toMatchObject({ id: 'HP:0001250', label: 'Seizure', descendants: 3, umls: ['C0036572'] });
    expect((await get('/ui/terms?limit=3')).status).toBe(400);
    const labels = await j('/ui/labels', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ iris: ['http://purl.obolibrary.org/obo/HP_0001250', 'https://w3id.org/harmonia/resource/patient/P-C', 'https://omim.org/entry/607208', 'bad iri>'] }),
    });
    expect(labels.labels).toEqual({
      'http://purl.obolibrary.org/obo/HP_0001250': { label: 'Seizure', id: 'HP:0001250' },
      'https://w3id.org/harmonia/resource/patient/P-C': { label: 'P-C' },
      'https://omim.org/entry/607208': { label: 'Developmental and epileptic encephalopathy 6B', id: 'OMIM:607208' },
    });
    expect(await j('/ui/patients?q=-b')).toEqual({ patients: ['P-B'], total: 1 });
    const b = await j('/ui/patients/P-B');
    expect(b.phenotypes.map((p: { id: string; excluded: boolean }) => [p.id, p.excluded])).toEqual([['HP:0002373', false], ['HP:0001249', true]]);
    expect(b.genes).toEqual([{ symbol: 'SCN1A', id: 'HGNC:10585' }]);
    expect(b.variants[0]).toMatchObject({ gene: 'SCN1A', acmgClass: 'LIKELY_PATHOGENIC', chrom: '2' });
    expect((await get('/ui/patients/nobody')).status).toBe(404);
    expect(await j('/ui/embeddings')).toEqual({ versions: [], points: [], explained: [0, 0] });
    expect((await get('/ui/embeddings?version=x')).status).toBe(404);
  });
});
