import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tempDir } from '../../helpers/paths.js';
import { startVirtuoso, VIRTUOSO_BINARY, type Virtuoso } from '../../helpers/virtuoso.js';
import { checkCommand, documentedCommands, fencedBlocks, isSynopsis, shellCommands, type CommandSpec, type DocCommand } from './extract.js';
import { programSpec } from './program.js';
import { makeScratch, portInUse, run, startBackground, type Background, type Result, type Scratch } from './scratch.js';

// Issue 12, item 7: every command in README.md and docs/*.md, as written there. Synopses (with
// placeholders) are checked against the real program's options; every other command runs verbatim
// in a scratch directory holding the small example files of examples/docs/ (made by
// make-examples.mjs), in document order, README.md first. See docs-test markers in the markdown.

const DOCS = ['README.md', ...readdirSync(join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const COMMANDS: DocCommand[] = DOCS.flatMap((d) => documentedCommands(readFileSync(join(repoRoot, d), 'utf8'), d));

/** Blocks marked `<!-- docs-test: synopsis (reason) -->`: recipes on the real data, checked as synopses only. */
const EXEMPT_BLOCKS = [
  { doc: 'docs/learning.md', reason: 'real data, ~15 min' },
  { doc: 'docs/ui.md', reason: 'real data: the demo store, a few minutes' },
];

/** Documented commands that run here in another form, and why (the few, each reported to the lead). */
const SUBSTITUTES = [{
  doc: 'README.md',
  command: 'bin/harmonia train --store my-store --preset quick',
  reason: 'the quick preset trains 16 epochs of 30 steps: 7.4 min on the example store on 2 cores, over the 4 min budget of this suite',
  // The configuration of docs/ui.md (examples/docs/tiny.yml): the same encoders, small, 3 epochs; the commands after it use its model.
  instead: 'bin/harmonia train --store my-store --config tiny.yml --seed 3',
}];

const SERVER = /http:\/\/127\.0\.0\.1:3000\b/;
const VIRTUOSO = /sparql\+http:\/\/127\.0\.0\.1:8890\/sparql/;
const isServe = (c: DocCommand): boolean => c.kind === 'harmonia' && /^(bin\/)?harmonia\s+serve\s/.test(c.text);
const label = (c: DocCommand): string => `${c.doc}:${c.line} ${c.text.replace(/\s+/g, ' ').slice(0, 110)}`;

// ------------------------------------------------------------------------------- the extractor

describe('the extractor finds and checks what the docs write', () => {
  const program: CommandSpec = {
    name: 'harmonia', options: [], commands: [
      { name: 'stats', options: [{ long: '--store', value: 'required' }, { long: '--json', value: 'none' }], commands: [] },
      { name: 'eval', options: [], commands: [{ name: 'retrieval', options: [{ long: '--store', value: 'required' }, { long: '--top', value: 'optional' }], commands: [] }] },
    ],
  };
  const md = [
    '# Title', '', 'Text with `harmonia stats --stor x` inline is not a command.', '',
    '```sh', 'bin/harmonia stats --store DIR [--jsn]      # a misspelt flag in a synopsis', 'harmonia stats --store DIR --json FILE', '```', '',
    '```', "harmonia stats --store my-store \\", "  --json && harmonia eval retrieval --store s   # run", "echo '", "harmonia stats --store x'", '{"output": 1}', '```', '',
    '<!-- docs-test: synopsis (real data, 1 h) -->', '```sh', 'harmonia stats --store $D/s --json', 'harmonia statz --store x', '```',
    '```python', 'print("http://127.0.0.1:3000/sparql")', '```',
    '```sh', "curl -s http://127.0.0.1:3000/health -H 'Accept: a#b' # c", "curl -s https://example.org/", '```',
  ].join('\n');
  const found = documentedCommands(md, 'x.md');

  test('commands: continuations joined, comments and && split, quotes kept, output lines left out, markers read', () => {
    expect(found.map((c) => [c.line, c.kind, c.text, c.synopsis, c.exempt ?? null])).toEqual([
      [6, 'harmonia', 'bin/harmonia stats --store DIR [--jsn]', true, null],
      [7, 'harmonia', 'harmonia stats --store DIR --json FILE', true, null],
      [11, 'harmonia', 'harmonia stats --store my-store    --json', false, null],
      [12, 'harmonia', 'harmonia eval retrieval --store s', false, null],
      [20, 'harmonia', 'harmonia stats --store $D/s --json', true, 'real data, 1 h'],
      [21, 'harmonia', 'harmonia statz --store x', true, 'real data, 1 h'],
      [24, 'python', 'print("http://127.0.0.1:3000/sparql")', false, null],
      [27, 'curl', "curl -s http://127.0.0.1:3000/health -H 'Accept: a#b'", false, null],
    ]);
    expect(fencedBlocks(md, 'x.md').map((b) => b.lang)).toEqual(['sh', '', 'sh', 'python', 'sh']);
    expect(shellCommands("a 'b\nc' d\ne \\\n f")).toEqual([{ text: "a 'b\nc' d", line: 0 }, { text: 'e   f', line: 2 }]);
  });

  test('placeholders make a synopsis; quoted text and real values do not', () => {
    expect(isSynopsis('harmonia similar --store STORE --hpo HP:0001156 --json')).toBe(true);
    expect(isSynopsis('harmonia stratify --store my-store --k K|auto')).toBe(true);
    expect(isSynopsis('harmonia eval diagnosis ... --genes')).toBe(true);
    expect(isSynopsis("harmonia query --store s 'SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o } # [x]'")).toBe(false);
    expect(isSynopsis('harmonia diagnose --store s --genes FGFR2 --report out.html')).toBe(false);
  });

  test('a misspelt flag, an unknown command, a value for a boolean flag: each is a problem naming file and line', () => {
    expect(found.filter((c) => c.kind === 'harmonia').flatMap((c) => checkCommand(c, program))).toEqual([
      'x.md:6: harmonia stats: unknown option --jsn (options: --store, --json)',
      'x.md:7: harmonia stats: --json takes no value, but the synopsis gives it "FILE"',
      'x.md:21: harmonia statz: no such command (known: stats, eval)',
    ]);
    const synopsis = (text: string): DocCommand => ({ doc: 'y.md', line: 1, kind: 'harmonia', text, synopsis: true });
    expect(checkCommand(synopsis('harmonia stats [--store] --json'), program)).toEqual(['y.md:1: harmonia stats: --store needs a value, but the synopsis gives none']);
    expect(checkCommand(synopsis('harmonia eval retrieval --store DIR [--top] [--top K]'), program)).toEqual([]);
    expect(checkCommand(synopsis('harmonia eval --store DIR'), program)).toEqual(['y.md:1: harmonia eval: a subcommand is missing (one of retrieval)']);
    expect(checkCommand(synopsis('harmonia --json'), program)).toEqual(['y.md:1: harmonia: a subcommand is missing (one of stats, eval)']);
  });
});

// ------------------------------------------------------------------------------- synopses and flags

describe('every documented harmonia command names a real subcommand and real options', () => {
  const built = existsSync(join(repoRoot, 'dist', 'src', 'cli', 'program.js'));
  (built ? test : test.skip)(`checked against the built program (dist/; npm run build first)${built ? '' : ': skipped, not built'}`, () => {
    const program = programSpec();
    expect(COMMANDS.length).toBeGreaterThan(50);
    expect(COMMANDS.filter((c) => c.kind === 'harmonia').flatMap((c) => checkCommand(c, program))).toEqual([]);
  });

  test('examples/docs/ holds exactly what make-examples.mjs writes (edit the script, not the files)', () => {
    const dir = tempDir('harmonia-examples-');
    try {
      execFileSync(process.execPath, [join(repoRoot, 'test', 'integration', 'docs', 'make-examples.mjs'), dir.path]);
      const files = (root: string, sub = ''): string[] => readdirSync(join(root, sub), { withFileTypes: true })
        .flatMap((e) => (e.isDirectory() ? files(root, join(sub, e.name)) : [join(sub, e.name)])).sort();
      const committed = join(repoRoot, 'examples', 'docs');
      const made = files(dir.path);
      expect(files(committed).filter((f) => f !== 'README.md')).toEqual(made);
      expect(made.filter((f) => !readFileSync(join(dir.path, f)).equals(readFileSync(join(committed, f))))).toEqual([]);
    } finally {
      dir.remove();
    }
  });

  test('the exempted blocks are exactly the listed ones, and each substituted command is still documented', () => {
    const marked = [...new Map(COMMANDS.filter((c) => c.exempt).map((c) => [`${c.doc}|${c.exempt}`, { doc: c.doc, reason: c.exempt }])).values()];
    expect(marked).toEqual(EXEMPT_BLOCKS);
    for (const s of SUBSTITUTES) expect(COMMANDS.some((c) => c.doc === s.doc && c.text === s.command && !c.synopsis)).toBe(true);
  });
});

// ------------------------------------------------------------------------------- examples, run verbatim

/** What a command's success looks like, beyond exit status 0 (cheap checks of its output). */
const EXPECT: [RegExp, (r: Result, c: DocCommand, s: Scratch) => void][] = [
  [/\singest\s.*--mapping/, (r) => expect(r.stdout).toMatch(/read \d+ records: [1-9]\d* accepted|\d+ unchanged/)],
  [/\singest\s.*(--manifest|my-bids-dataset)/, (r) => expect(r.stdout).toMatch(/records of other modalities: \d+ accepted/)],
  [/\singest\s/, (r) => expect(r.stdout).toMatch(/records read, none rejected|records rejected: see/)],
  [/\squery\s.*--federate/, (r, c) => {
    // One warning line names every site that did not answer, with its URL and why (docs/federation.md).
    const warning = r.stderr.split('\n').find((l) => /^warning: sites? /.test(l)) ?? '';
    for (const [, site, url] of c.text.matchAll(/--federate ([\w-]+)=(\S+)/g)) expect(warning).toContain(`${site} (${url}: `);
    expect(r.stdout).toMatch(/"partial"/);
  }],
  [/\scohort\s.*--federate/, (r) => expect(JSON.parse(r.stdout)).toMatchObject({ complete: false, sites: expect.arrayContaining([expect.objectContaining({ site: 'local', status: 'ok' })]) })],
  [/\squery\s.*--format csv/, (r) => expect(r.stdout.trim().split('\n').length).toBeGreaterThan(1)],
  [/\squery\s.*knn/, (r) => expect(JSON.parse(r.stdout).results.bindings.length).toBeGreaterThan(0)],
  [/\sstats\s.*--json/, (r) => expect(JSON.parse(r.stdout).patients).toBeGreaterThan(0)],
  [/\svalidate\s/, (r) => expect(r.stdout).toMatch(/all conform/)],
  [/\scohort\s.*--json/, (r) => expect(JSON.parse(r.stdout).count).toBeGreaterThan(0)],
  [/\scohort\s.*--export zip --out (\S+)/, (r, c, s) => expect(statSync(join(s.dir, /--out (\S+)/.exec(c.text)![1])).size).toBeGreaterThan(0)],
  [/\scohort\s/, (r) => expect(r.stdout).toMatch(/: [1-9]\d* patients/)],
  [/\s(similar|classify|features)\s/, (r) => expect(r.stdout.trim()).not.toBe('')],
  [/\sdiagnose\s.*--report (\S+)/, (r, c, s) => {
    expect(JSON.parse(r.stdout).results[0].disease).toBe('OMIM:101600');
    expect(readFileSync(join(s.dir, /--report (\S+)/.exec(c.text)![1]), 'utf8')).toMatch(/Pfeiffer syndrome/);
  }],
  [/\sdiagnose\s.*(HP:0001156,HP:0001363|patient\.json)/, (r) => expect(JSON.parse(r.stdout).results[0].disease).toBe('OMIM:101600')],
  [/\seval (retrieval|diagnosis)\s/, (r) => expect(JSON.parse(r.stdout).queries).toBeGreaterThan(0)],
  [/\seval embeddings\s.*--plots (\S+)/, (r, c, s) => expect(readdirSync(join(s.dir, /--plots (\S+)/.exec(c.text)![1])).some((f) => f.endsWith('.png'))).toBe(true)],
  [/\sharmonize\s/, (r) => expect(r.stdout).toMatch(/^ecg: ComBat/m)],
  [/\s(combat|simulate-links|dump)\s.*--out (\S+)/, (r, c, s) => expect(statSync(join(s.dir, /--out (\S+)/.exec(c.text)![1])).size).toBeGreaterThan(0)],
  [/\srestore\s/, (r) => expect(r.stdout).toMatch(/restored [1-9]\d* quads/)],
  [/\s(train|embed)\s/, (r) => expect(JSON.parse(r.stdout).version).toMatch(/\S/)],
  [/\sstratify\s/, (r) => expect(JSON.parse(r.stdout).clusters.length).toBeGreaterThan(1)],
  [/\squarantine\s/, (r) => expect(r.stdout).toMatch(/rejected records? in the quarantine/)],
  [/^curl\s/, (r) => expect(r.stdout).toMatch(/^patients\r?\n[1-9]\d*/)],
];

/** Commands that cannot succeed here, and the documented failure to see instead of a silent skip. */
const FAILS: [RegExp, string, (r: Result, c: DocCommand) => void][] = [
  [/\smirror neo4j\s/, 'no Neo4j here (test/integration/mirror runs the mirror when NEO4J_URI is set)', (r, c) => {
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`harmonia: ${/--uri (\S+)/.exec(c.text)![1]}: `);
  }],
];

function check(r: Result, c: DocCommand, s: Scratch): void {
  const fail = FAILS.find(([re]) => re.test(c.text));
  const context = `\n$ ${c.text}\nexit ${r.code}\n--- stdout\n${r.stdout.slice(-1500)}\n--- stderr\n${r.stderr.slice(-1500)}`;
  try {
    if (fail) return fail[2](r, c);
    expect(r.code).toBe(0);
    if (c.kind === 'harmonia' && /\s--json(\s|$)/.test(c.text)) for (const line of r.stdout.split('\n').filter(Boolean)) JSON.parse(line);
    EXPECT.find(([re]) => re.test(c.text))?.[1](r, c, s);
  } catch (e) {
    (e as Error).message += context;
    throw e;
  }
}

/** The order the examples run in: document order, except that a serve's clients run while it runs. */
type Step = { kind: 'run'; command: DocCommand } | { kind: 'serve'; command: DocCommand; clients: DocCommand[] };

function steps(): Step[] {
  const examples = COMMANDS.filter((c) => !c.synopsis);
  const out: Step[] = [];
  const taken = new Set<DocCommand>();
  for (const c of examples) {
    if (taken.has(c)) continue;
    if (isServe(c)) {
      const port3000 = !/--port\s/.test(c.text) || /--port\s+3000\b/.test(c.text);
      const clients = port3000 && !out.some((s) => s.kind === 'serve' && s.command.doc === c.doc) ? examples.filter((x) => x.doc === c.doc && !isServe(x) && SERVER.test(x.text)) : [];
      clients.forEach((x) => taken.add(x));
      out.push({ kind: 'serve', command: c, clients });
    } else if (SERVER.test(c.text)) throw new Error(`${label(c)}: asks http://127.0.0.1:3000 but no serve of ${c.doc} runs before it`);
    else out.push({ kind: 'run', command: c });
  }
  return out;
}

const python = '/usr/bin/python3';
const hasSparqlWrapper = spawnSync(python, ['-c', 'import SPARQLWrapper'], { stdio: 'ignore' }).status === 0;
if (!hasSparqlWrapper) console.warn(`docs: README's SPARQLWrapper block skipped: ${python} cannot import SPARQLWrapper (pip install SPARQLWrapper)`);
if (!VIRTUOSO_BINARY) console.warn('docs: the commands on sparql+http://127.0.0.1:8890/sparql skipped: virtuoso-t is not installed (Debian: virtuoso-opensource)');

describe('every other command runs verbatim in a scratch directory', () => {
  const built = existsSync(join(repoRoot, 'dist', 'src', 'cli', 'main.js'));
  if (!built) console.warn('docs commands not run: dist/ is missing (npm run build)');
  let scratch: Scratch;
  let virtuoso: Virtuoso | undefined;
  const servers: Background[] = [];
  beforeAll(() => {
    if (built) scratch = makeScratch();
  });
  afterAll(async () => {
    for (const s of servers) await s.stop();
    await virtuoso?.stop();
    scratch?.remove();
  }, 60_000);

  const runOne = async (c: DocCommand): Promise<Result> => {
    const sub = SUBSTITUTES.find((s) => s.doc === c.doc && s.command === c.text);
    if (c.kind === 'python') return run(scratch, python, ['-c', c.text]);
    return run(scratch, 'bash', ['-c', sub ? sub.instead : c.text]);
  };

  /** Virtuoso on the docs' port 8890, holding the example store (docs/stores.md's ingest), started for the first command that names it. */
  const needVirtuoso = async (): Promise<void> => {
    if (virtuoso) return;
    if (await portInUse(8890)) throw new Error('port 8890 (the docs\' Virtuoso port) is taken by another process');
    virtuoso = await startVirtuoso(undefined, { httpPort: 8890 });
    const load = await run(scratch, 'bash', ['-c', 'bin/harmonia ingest --store sparql+http://127.0.0.1:8890/sparql --hpo hp.json.gz phenopackets.zip']);
    if (load.code !== 0) throw new Error(`loading the example store into Virtuoso failed: ${load.stderr}`);
  };

  // The code snippets are fragments (a server that never returns, API signatures): their import lines are what a reader copies verbatim.
  (built ? test : test.skip)('the import lines of the TypeScript snippets resolve, as in a project that installed harmonia', async () => {
    const imports = DOCS.flatMap((d) => fencedBlocks(readFileSync(join(repoRoot, d), 'utf8'), d))
      .filter((b) => b.lang === 'ts')
      .flatMap((b) => b.text.split('\n').filter((l) => /^import\s/.test(l)));
    expect(imports.length).toBeGreaterThan(1);
    const r = await run(scratch, process.execPath, ['--input-type=module', '-e', imports.join('\n')]);
    expect({ code: r.code, stderr: r.stderr.split('\n').find((l) => /Error/.test(l)) ?? '' }).toEqual({ code: 0, stderr: '' });
  }, 60_000);

  for (const step of built ? steps() : []) {
    const c = step.command;
    const virtuosoMissing = VIRTUOSO.test(c.text) && !VIRTUOSO_BINARY;
    const sub = SUBSTITUTES.find((s) => s.doc === c.doc && s.command === c.text);
    const fails = FAILS.find(([re]) => re.test(c.text));
    const name = `${label(c)}${sub ? ` [runs as: ${sub.instead}; ${sub.reason}]` : ''}${fails ? ` [fails as documented: ${fails[1]}]` : ''}${virtuosoMissing ? ' — skipped: virtuoso-t not installed (Debian: virtuoso-opensource)' : ''}`;
    if (virtuosoMissing) {
      test.skip(name, () => undefined);
      continue;
    }
    if (step.kind === 'run') {
      test(name, async () => {
        if (VIRTUOSO.test(c.text)) await needVirtuoso();
        check(await runOne(c), c, scratch);
      }, 300_000);
      continue;
    }
    // A serve command: started in the background, ready when it prints its URL; its clients ask it; then it stops.
    let server: Background | undefined;
    const port = Number(/--port\s+(\d+)/.exec(c.text)?.[1] ?? 3000);
    test(`${name} (in the background)`, async () => {
      if (VIRTUOSO.test(c.text)) await needVirtuoso();
      if (await portInUse(port)) throw new Error(`port ${port}, which the docs name, is taken by another process: stop it and run again`);
      server = await startBackground(scratch, c.text);
      servers.push(server);
      const health = await fetch(`${server.base}/health`);
      expect(health.ok).toBe(true);
    }, 120_000);
    for (const client of step.clients) {
      const skip = client.kind === 'python' && !hasSparqlWrapper;
      (skip ? test.skip : test)(`${label(client)} (against ${label(c).split(' ')[0]})${skip ? ` — skipped: ${python} has no SPARQLWrapper (pip install SPARQLWrapper)` : ''}`, async () => {
        if (!server) throw new Error(`the server of ${label(c)} did not start`);
        const r = await runOne(client);
        // The SPARQLWrapper block prints `id sex` per patient.
        if (client.kind === 'python') expect({ stderr: r.stderr, rows: /^\S+ (FEMALE|MALE|OTHER_SEX|UNKNOWN_SEX)$/m.test(r.stdout) }).toEqual({ stderr: '', rows: true });
        check(r, client, scratch);
      }, 120_000);
    }
    test(`${label(c)}: stops on SIGTERM, freeing the port and removing its serve.json`, async () => {
      if (!server) throw new Error(`the server of ${label(c)} did not start`);
      await server.stop();
      expect(await portInUse(port)).toBe(false);
      const store = /--store\s+(\S+)/.exec(c.text)![1];
      if (!VIRTUOSO.test(store)) expect(existsSync(join(scratch.dir, store, 'serve.json'))).toBe(false);
    }, 60_000);
  }
});
