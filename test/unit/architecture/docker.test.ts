import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { load } from 'js-yaml';
import { repoRoot } from '../../helpers/paths.js';

// No Docker daemon runs on our machines, so the image is never built here: these checks keep the
// Dockerfile, .dockerignore and docker-compose.yml true to the repository instead.

interface Instruction { op: string; args: string }

/** Dockerfile instructions, continuation lines joined, comments and the parser directive dropped. */
function instructions(text: string): Instruction[] {
  const joined = text.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n').replace(/\\\n/g, ' ');
  return joined.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const [op, ...rest] = l.split(/\s+/);
    return { op: op.toUpperCase(), args: rest.join(' ') };
  });
}

/** The stages, each from its FROM to the next. */
function stages(list: Instruction[]): Instruction[][] {
  const out: Instruction[][] = [];
  for (const i of list) {
    if (i.op === 'FROM') out.push([]);
    out[out.length - 1]?.push(i);
  }
  return out;
}

const dockerfile = instructions(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
const [build, runtime] = stages(dockerfile);
const exec = (args: string): string[] => JSON.parse(args) as string[];
const runtimeUser = runtime.filter((i) => i.op === 'USER').pop()?.args;

describe('Dockerfile', () => {
  test('two stages: the build on node:20-bookworm, the runtime on node:20-bookworm-slim', () => {
    expect(stages(dockerfile)).toHaveLength(2);
    expect(build[0].args).toBe('node:20-bookworm AS build');
    expect(runtime[0].args).toBe('node:20-bookworm-slim');
    const buildRuns = build.filter((i) => i.op === 'RUN').map((i) => i.args).join(' ');
    // npm ci installs the lock as pinned and runs our prepare (build, build:web); only runtime packages stay.
    expect(buildRuns).toMatch(/\bnpm ci\b/);
    expect(buildRuns).toMatch(/\bnpm prune --omit=dev\b/);
    expect(runtime.filter((i) => i.op === 'RUN').map((i) => i.args).join(' ')).not.toMatch(/\bnpm (ci|install)\b/);
  });

  test('the runtime runs as an unprivileged user, with the store on a volume at /store', () => {
    expect(runtimeUser).toBeDefined();
    expect(runtimeUser).not.toMatch(/^(root|0)(:|$)/);
    const volumes = runtime.filter((i) => i.op === 'VOLUME').flatMap((i) => (i.args.startsWith('[') ? exec(i.args) : i.args.split(/\s+/)));
    expect(volumes).toContain('/store');
    // The mount point belongs to that user, so a new named volume takes its ownership and is writable.
    expect(runtime.find((i) => i.op === 'RUN' && /chown\s+\S+\s+.*\/store\b/.test(i.args))?.args).toContain(`chown ${runtimeUser}`);
    expect(runtime.findIndex((i) => i.op === 'USER')).toBeGreaterThan(runtime.findIndex((i) => i.op === 'RUN'));
  });

  test('the runtime has everything the CLI reads next to its installation', () => {
    const copied = runtime.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copied.every((c) => c.startsWith('--from=build '))).toBe(true);
    const sources = copied.flatMap((c) => c.split(/\s+/).slice(1, -1)).map((p) => posix.relative('/app', p));
    // Built in the build stage; then what src/ looks up beside package.json (vocabulary, shapes, schemas, the web front end).
    for (const path of ['package.json', 'node_modules', 'dist', 'bin', 'web/dist', 'ontologies', 'shapes', 'schemas']) expect(sources).toContain(path);
    for (const path of sources.filter((p) => !['node_modules', 'dist', 'web/dist'].includes(p))) expect(existsSync(join(repoRoot, path))).toBe(true);
    expect(exec(runtime.find((i) => i.op === 'ENTRYPOINT')!.args)).toEqual(['node', '/app/bin/harmonia']);
  });

  test('the default command keeps the store in a folder on the volume, not at its root', () => {
    // The demo writes its records manifest beside the store folder: at the volume root that is /, not writable.
    const cmd = exec(runtime.find((i) => i.op === 'CMD')!.args);
    expect(cmd[0]).toBe('demo');
    expect(cmd[cmd.indexOf('--store') + 1]).toMatch(/^\/store\/[^/]+$/);
    expect(cmd[cmd.indexOf('--data') + 1]).toBe('/data');
  });
});

describe('.dockerignore', () => {
  const ignored = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

  test('leaves out what is rebuilt inside and local state, never what the build needs', () => {
    for (const p of ['node_modules', 'dist', '.git', '.harmonia']) expect(ignored).toContain(p);
    const needed = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'bench', 'web', 'bin', 'ontologies', 'shapes', 'schemas', 'mappings', 'examples'];
    for (const p of needed) {
      expect(existsSync(join(repoRoot, p))).toBe(true);
      expect(ignored.filter((i) => i === p || p.startsWith(`${i}/`) || i === `${p}/`)).toEqual([]);
    }
    // tsconfig.build.json compiles src/ and bench/ only: test/ and docs/ may stay out of the image.
    expect(JSON.parse(readFileSync(join(repoRoot, 'tsconfig.build.json'), 'utf8')).include).toEqual(['src/**/*.ts', 'bench/**/*.ts']);
  });
});

describe('docker-compose.yml', () => {
  const compose = load(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, { build?: string; image?: string; volumes?: string[]; command?: string[] | string }>;
  };

  test('the harmonia and mirror services run the image built from the Dockerfile, not npm in a stock image', () => {
    for (const name of ['harmonia', 'mirror']) {
      const s = compose.services[name];
      expect(s.build).toBe('.');
      expect(Array.isArray(s.command)).toBe(true);
      expect(JSON.stringify(s.command)).not.toMatch(/npm/);
      // No bind mount of the working tree over the image's installation.
      expect((s.volumes ?? []).filter((v) => /:\/app(:|$)/.test(v))).toEqual([]);
    }
    const harmonia = compose.services.harmonia;
    expect(harmonia.volumes).toContain('harmonia-store:/store');
    // The host side may hold a default with a colon (${HARMONIA_DATA:-...}): match the container side.
    expect(harmonia.volumes!.filter((v) => /:\/data(:|$)/.test(v))).toEqual([expect.stringMatching(/:\/data:ro$/)]);
    expect(compose.services.mirror.volumes).toContain('harmonia-store:/store:ro');
  });

  test('both services name the same store folder as the image default', () => {
    const store = (cmd: string[]): string => cmd[cmd.indexOf('--store') + 1];
    const image = store(exec(runtime.find((i) => i.op === 'CMD')!.args));
    expect(store(compose.services.harmonia.command as string[])).toBe(image);
    expect(store(compose.services.mirror.command as string[])).toBe(image);
  });
});
