import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpClient } from '../../../src/store/http.js';

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
const REALM = 'SPARQL';
const NONCE = 'abc123';

/** Checks a Digest Authorization header (RFC 7616, qop=auth) for user dba / password secret. */
function validDigest(req: IncomingMessage): boolean {
  const h = req.headers.authorization ?? '';
  if (!h.startsWith('Digest ')) return false;
  const f = Object.fromEntries([...h.slice(7).matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]+))/g)].map((m) => [m[1], m[2] ?? m[3]]));
  const ha1 = md5(`dba:${REALM}:secret`);
  const ha2 = md5(`${req.method}:${f.uri}`);
  return f.response === md5(`${ha1}:${f.nonce}:${f.nc}:${f.cnonce}:${f.qop}:${ha2}`) && f.nonce === NONCE;
}

describe('HttpClient authentication', () => {
  let server: Server;
  let url: string;
  const seen: string[] = [];
  beforeAll(async () => {
    // As Virtuoso's /sparql-auth does: Basic credentials get a bare 401 without any challenge; a request
    // without credentials gets the Digest challenge; a valid Digest answer gets the result.
    server = createServer((req, res) => {
      req.resume();
      const auth = req.headers.authorization ?? '';
      seen.push(auth.split(' ')[0] || 'none');
      if (validDigest(req)) return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      if (auth.startsWith('Basic ')) return void res.writeHead(401).end();
      res.writeHead(401, { 'www-authenticate': `Digest realm="${REALM}", nonce="${NONCE}", qop="auth", algorithm="MD5"` }).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sparql-auth`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const post = (client: HttpClient) => client.request(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'query=ASK%7B%7D' }, 'query');

  test('a server that answers Basic with a bare 401 is asked without credentials for its Digest challenge, then answered', async () => {
    seen.length = 0;
    const client = new HttpClient({ user: 'dba', password: 'secret' }, 5000);
    expect(await (await post(client)).text()).toBe('ok');
    expect(seen).toEqual(['Basic', 'none', 'Digest']);
    // The challenge is kept: the next request goes with Digest at once.
    seen.length = 0;
    expect(await (await post(client)).text()).toBe('ok');
    expect(seen).toEqual(['Digest']);
  });

  test('wrong credentials end in one clear error, not a body read twice', async () => {
    const client = new HttpClient({ user: 'dba', password: 'wrong' }, 5000);
    await expect(post(client)).rejects.toThrow(/query failed with HTTP 401 \(set HARMONIA_SPARQL_USER and HARMONIA_SPARQL_PASSWORD/);
  });
});
