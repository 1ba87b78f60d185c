// Builds the web interface into web/dist with esbuild: index.html, assets/main-<hash>.js (the
// shell), lazily loaded chunks (the SPARQL editor, chart.js, each page) and assets/app-<hash>.css.
// Run by `npm run build:web` (and so by `npm install`, after `npm run build`, whose dist/ provides
// the demo's example queries). Prints the sizes and writes them to web/dist/sizes.json.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const web = dirname(fileURLToPath(import.meta.url));
const root = join(web, '..');
const dist = join(web, 'dist');

/** The demo's example queries, from the compiled CLI (one source for the terminal and the page). */
async function exampleQueries() {
  const file = join(root, 'dist', 'src', 'cli', 'commands', 'demo.js');
  if (!existsSync(file)) throw new Error(`${relative(root, file)} is missing: run npm run build before npm run build:web`);
  const { EXAMPLE_QUERIES } = await import(pathToFileURL(file).href);
  return EXAMPLE_QUERIES;
}

export async function buildWeb({ quiet = false } = {}) {
  const examples = await exampleQueries();
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  const result = await esbuild.build({
    entryPoints: { main: join(web, 'src', 'main.ts'), app: join(web, 'src', 'app.css') },
    absWorkingDir: root,
    outdir: join(dist, 'assets'),
    entryNames: '[name]-[hash]',
    chunkNames: 'chunks/[name]-[hash]',
    assetNames: 'files/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    metafile: true,
    logLevel: quiet ? 'error' : 'warning',
    define: { __HARMONIA_EXAMPLES__: JSON.stringify(examples), 'process.env.NODE_ENV': '"production"' },
    loader: { '.svg': 'dataurl', '.png': 'dataurl', '.woff': 'file', '.woff2': 'file', '.ttf': 'file' },
  });
  const outputs = Object.entries(result.metafile.outputs);
  const entry = (name) => relative(join(dist, 'assets'), join(root, outputs.find(([file, o]) => o.entryPoint && file.includes(`/${name}-`) && !file.endsWith('.map'))[0]));
  const html = readFileSync(join(web, 'index.html'), 'utf8').replace('%JS%', entry('main')).replace('%CSS%', entry('app'));
  writeFileSync(join(dist, 'index.html'), html);
  // Served instead of the originals to browsers that accept gzip (src/server/web.ts).
  for (const [file] of outputs) if (/\.(js|css)$/.test(file)) writeFileSync(`${join(root, file)}.gz`, gzipSync(readFileSync(join(root, file)), { level: 9 }));
  const sizes = measure();
  writeFileSync(join(dist, 'sizes.json'), `${JSON.stringify(sizes, null, 2)}\n`);
  if (!quiet) {
    for (const f of sizes.files) process.stdout.write(`${f.file.padEnd(44)} ${kib(f.bytes).padStart(9)} ${kib(f.gzip).padStart(9)} gzip\n`);
    process.stdout.write(`web/dist: ${kib(sizes.total.bytes)} (${kib(sizes.total.gzip)} gzip); first load of the query page ${kib(sizes.queryPage.gzip)} gzip, of the cohort page ${kib(sizes.cohortPage.gzip)} gzip\n`);
  }
  return sizes;
}

function kib(n) {
  return `${(n / 1024).toFixed(1)} KiB`;
}

/** Sizes of what a browser downloads (source maps and licences left out), raw and gzipped. */
function measure() {
  const files = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (!/\.(map|txt|gz)$/.test(name) && name !== 'sizes.json') {
        const body = readFileSync(path);
        files.push({ file: relative(dist, path), bytes: body.length, gzip: gzipSync(body, { level: 9 }).length });
      }
    }
  };
  walk(dist);
  files.sort((a, b) => b.bytes - a.bytes);
  const sum = (list) => ({ bytes: list.reduce((s, f) => s + f.bytes, 0), gzip: list.reduce((s, f) => s + f.gzip, 0) });
  return { files, total: sum(files), queryPage: sum(pageFiles(files, 'query')), cohortPage: sum(pageFiles(files, 'cohort')) };
}

/** The shell (html, css, main) plus the chunks a page imports, followed through the import graph. */
function pageFiles(files, page) {
  const byName = new Map(files.map((f) => [f.file, f]));
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file) || !byName.has(file)) return;
    seen.add(file);
    if (!file.endsWith('.js')) return;
    const text = readFileSync(join(dist, file), 'utf8');
    for (const m of text.matchAll(/(?:import|from)\s*\(?\s*"\.\/([^"]+\.js)"/g)) {
      const target = join(dirname(file), m[1]).replace(/\\/g, '/');
      // The shell's dynamic imports are the pages: follow only the one asked for.
      if (file.startsWith('assets/main-') && m[0].startsWith('import(') && !target.includes(`/${page}-`)) continue;
      visit(target);
    }
  };
  for (const f of files) if (f.file === 'index.html' || /^assets\/(main|app)-/.test(f.file)) visit(f.file);
  return [...seen].map((f) => byName.get(f));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildWeb().catch((e) => {
    process.stderr.write(`build:web: ${e.message}\n`);
    process.exit(1);
  });
}
