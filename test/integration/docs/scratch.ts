import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { repoRoot, tempDir } from '../../helpers/paths.js';

// The directory the documented commands run in: examples/docs/ copied (the files the commands
// name), the package root's folders linked in (what `bin/harmonia` and repository-relative paths
// such as mappings/ or examples/harmonization.yml need), `harmonia` on the PATH.

/** Package-root entries the commands use by relative path or that `bin/harmonia` needs. */
const LINKED = ['bin', 'dist', 'package.json', 'mappings', 'shapes', 'ontologies', 'schemas', 'examples', 'web'];

export interface Scratch {
  dir: string;
  env: NodeJS.ProcessEnv;
  remove(): void;
}

export function makeScratch(): Scratch {
  const tmp = tempDir('harmonia-docs-');
  const dir = tmp.path;
  cpSync(join(repoRoot, 'examples', 'docs'), dir, { recursive: true });
  for (const name of LINKED) symlinkSync(join(repoRoot, name), join(dir, name));
  mkdirSync(join(dir, 'test'));
  symlinkSync(join(repoRoot, 'test', 'fixtures'), join(dir, 'test', 'fixtures'));
  // node_modules of the package, plus the package itself as `harmonia`, so that the docs' code
  // snippets (`import ... from 'harmonia/dist/src/...'`) resolve as in a project that installed it.
  mkdirSync(join(dir, 'node_modules'));
  for (const name of readdirSync(join(repoRoot, 'node_modules'))) symlinkSync(join(repoRoot, 'node_modules', name), join(dir, 'node_modules', name));
  symlinkSync(repoRoot, join(dir, 'node_modules', 'harmonia'));
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`, HARMONIA_DATA: dir };
  // The examples stand alone: no Neo4j, tokens or debugging from the environment of the test run.
  for (const k of Object.keys(env)) if (/^(NEO4J_|HARMONIA_(UPDATE_TOKEN|MME_TOKENS|DEBUG))/.test(k)) delete env[k];
  return { dir, env, remove: tmp.remove };
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs a program in the scratch directory; asynchronous, so that servers started by this process keep being served. */
export function run(scratch: Scratch, file: string, args: string[], timeoutMs = 300_000): Promise<Result> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: scratch.dir, env: scratch.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

/** A documented `serve` command running in the background (its own process group, stopped as one). */
export interface Background {
  child: ChildProcess;
  /** `http://127.0.0.1:3000`, from the line serve prints when it is ready. */
  base: string;
  output(): string;
  stop(): Promise<void>;
}

export async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startBackground(scratch: Scratch, command: string, timeoutMs = 90_000): Promise<Background> {
  const child = spawn('bash', ['-c', command], { cwd: scratch.dir, env: scratch.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
  };
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after ${timeoutMs / 1000} s: ${command}\n${out}${err}`)), timeoutMs);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /serving .* at (http:\/\/\S+)\/sparql/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before it was ready: ${command}\n${out}${err}`));
    });
  }).catch(async (e) => {
    await stop();
    throw e;
  });
  return { child, base, output: () => out + err, stop };
}
