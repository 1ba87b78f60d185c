import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { downloadReleases, manifestReleases, type Release } from '../../../src/cli/download.js';
import { tempDir } from '../../helpers/paths.js';

// A local server stands in for the release hosts: the mechanism (fetch, verify, record) is what is tested.
describe('downloading official releases', () => {
  const body = Buffer.from('format-version: 1.2\ndata-version: hp/releases/2099-01-01\n');
  const sha = createHash('sha256').update(body).digest('hex');
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/hp.obo') res.end(body);
      else res.writeHead(404).end();
    }).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  const release = (over: Partial<Release>): Release => ({ name: 'HPO', version: '2099-01-01', url: `${base}/hp.obo`, file: 'ontologies/hp.obo', sha256: null, ...over });

  test('a pinned checksum is verified; an unpinned one is printed', async () => {
    const dir = tempDir();
    try {
      const log: string[] = [];
      await downloadReleases(dir.path, (s) => log.push(s), [release({ sha256: sha })]);
      expect(readFileSync(join(dir.path, 'ontologies', 'hp.obo'))).toEqual(body);
      expect(log.join('')).toMatch(new RegExp(`sha256 ${sha} \\(verified\\)`));
      const log2: string[] = [];
      await downloadReleases(dir.path, (s) => log2.push(s), [release({ file: 'other/hp.obo' })]);
      expect(log2.join('')).toMatch(/not pinned in ontologies\/manifest\.json/);
    } finally {
      dir.remove();
    }
  });

  test('a checksum mismatch or an HTTP error stores nothing and says why', async () => {
    const dir = tempDir();
    try {
      await expect(downloadReleases(dir.path, () => {}, [release({ sha256: '0'.repeat(64) })])).rejects.toThrow(/checksum mismatch/);
      expect(existsSync(join(dir.path, 'ontologies', 'hp.obo'))).toBe(false);
      await expect(downloadReleases(dir.path, () => {}, [release({ url: `${base}/missing` })])).rejects.toThrow(/HTTP 404/);
    } finally {
      dir.remove();
    }
  });

  test('the manifest lists HPO and phenopacket-store with official URLs', () => {
    const names = manifestReleases().map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(['HPO', 'phenopacket-store']));
    for (const r of manifestReleases()) expect(r.url).toMatch(/^https:\/\//);
  });
});
