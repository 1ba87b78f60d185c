import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ARRAYS_DIR } from '../store/index.js';

/** The repository / package root, found from this file in src/ or dist/src/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** --data, then HARMONIA_DATA, then ../shared/data beside the repository (or the working directory). */
export function resolveDataDir(option?: string): string | undefined {
  const candidates = [option, process.env.HARMONIA_DATA, join(packageRoot(), '..', 'shared', 'data'), resolve('..', 'shared', 'data')];
  for (const c of candidates) if (c && existsSync(c)) return resolve(c);
  if (option) throw new Error(`${option}: data directory not found`);
  return undefined;
}

/** The HPO file in a data directory (the newest hp*.json[.gz] or hp*.obo[.gz] under ontologies/). */
export function findHpo(dataDir: string): string | undefined {
  for (const name of ['hp.v2024-04-26.json.gz', 'hp.json.gz', 'hp.json', 'hp.obo.gz', 'hp.obo']) {
    const p = join(dataDir, 'ontologies', name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export class CliError extends Error {}

/** Progress on a terminal only: one rewritten line, nothing in logs or pipes. */
export function progressLine(stream: NodeJS.WriteStream = process.stderr): { update(text: string): void; done(): void } {
  const tty = stream.isTTY === true;
  let last = 0;
  return {
    update(text: string) {
      const now = Date.now();
      if (!tty || now - last < 100) return;
      last = now;
      stream.write(`\r\x1b[K${text}`);
    },
    done() {
      if (tty) stream.write('\r\x1b[K');
    },
  };
}

/**
 * A counted progress line (terminal only): `label [####----] 120/500 12.3/s ETA 31s` with a known
 * total, `label 120 done 12.3/s` without one. `besideResults`: the command prints results on stdout
 * as it goes, so the line shows only when stdout is redirected (a rewritten line would garble them).
 */
export function progressCounter(label: string, total?: number, options: { besideResults?: boolean; stream?: NodeJS.WriteStream } = {}): { tick(n?: number, newTotal?: number): void; done(): void } {
  const quiet = options.besideResults === true && process.stdout.isTTY === true;
  const line = quiet ? { update: () => undefined, done: () => undefined } : progressLine(options.stream ?? process.stderr);
  const started = Date.now();
  let count = 0;
  return {
    tick(n = 1, newTotal?: number) {
      count += n;
      if (newTotal !== undefined) total = newTotal;
      const rate = count / Math.max((Date.now() - started) / 1000, 1e-3);
      const speed = `${rate < 10 ? rate.toFixed(1) : Math.round(rate)}/s`;
      if (total === undefined || total <= 0) return line.update(`${label} ${count} done ${speed}`);
      const eta = Math.max(0, (total - count) / rate);
      line.update(`${label} ${bar(count / total)} ${count}/${total} ${speed} ETA ${eta < 60 ? `${Math.round(eta)}s` : `${Math.floor(eta / 60)}m${String(Math.round(eta % 60)).padStart(2, '0')}s`}`);
    },
    done: () => line.done(),
  };
}

/**
 * A counted progress line fed running totals, as the evaluation functions report them
 * (`onProgress(done, total)`): `report(done, total, phase)` shows `label: phase [###---] done/total
 * rate ETA`; a new phase starts a new count (its own rate and ETA). `done()` clears the line (before a
 * log line too: the next report draws it again).
 */
export function phasedProgress(label: string, options: { stream?: NodeJS.WriteStream } = {}): { report(done: number, total: number, phase?: string): void; done(): void } {
  let counter: ReturnType<typeof progressCounter> | undefined;
  let current: string | undefined;
  let shown = 0;
  return {
    report(done, total, phase) {
      if (!counter || phase !== current) {
        counter?.done();
        counter = progressCounter(phase === undefined ? label : `${label}: ${phase}`, total, options);
        current = phase;
        shown = 0;
      }
      counter.tick(done - shown, total);
      shown = done;
    },
    done: () => counter?.done(),
  };
}

export function bar(fraction: number, width = 24): string {
  const full = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return '[' + '#'.repeat(full) + '-'.repeat(width - full) + ']';
}

/** `harmonia <version>` from the package's own package.json (not npm's environment, which names whatever project runs us). */
export function softwareName(): string {
  try {
    return `harmonia ${(JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version}`;
  } catch {
    return 'harmonia';
  }
}

/**
 * Where harmonized arrays go: `arrays/` inside an embedded store; for a remote store the folder given
 * with --arrays (required, so that the same records find their arrays whatever the working directory).
 */
export function arraysLocation(store: string, remote: boolean, arrays?: string): { arraysDir: string; arraysBase: string } {
  if (!remote) {
    if (arrays) throw new CliError('--arrays is only for remote stores: an embedded store keeps its arrays in its own directory');
    return { arraysDir: join(resolve(store), ARRAYS_DIR), arraysBase: resolve(store) };
  }
  if (!arrays) throw new CliError(`${store}: a remote store keeps no files; give --arrays DIR for the harmonized arrays (.npy)`);
  return { arraysDir: resolve(arrays), arraysBase: resolve(arrays) };
}
