import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

/** A `bin/harmonia serve` child process, its base URL read from the line it prints. */
export interface ServeProcess {
  child: ChildProcess;
  base: string;
  stop(): Promise<void>;
}

export async function startServeProcess(args: string[]): Promise<ServeProcess> {
  const child = spawn(join(repoRoot, 'bin', 'harmonia'), ['serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const base = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /at (http:\/\/[^/\s]+)\/sparql/.exec(out);
      if (m) resolve(m[1]);
    });
    child.stderr!.on('data', (d) => (err += d));
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  return { child, base, stop };
}
