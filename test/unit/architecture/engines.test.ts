import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { repoRoot } from '../../helpers/paths.js';

// package.json's `engines` is a promise to users: every package `npm ci --omit=dev` installs must
// accept the oldest Node it names, and the LTS lines after it (odd releases are not supported by
// several dependencies and are left out on purpose).
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; dev?: boolean; engines?: Record<string, string> | string[] }>;
};

/** The Node versions the engine range promises: its minimum and the first releases of later LTS lines. */
function promisedVersions(range: string): string[] {
  const min = semver.minVersion(range);
  if (!min) throw new Error(`package.json engines.node ${range} has no minimum`);
  const lts = ['22.12.0', '24.11.0'].filter((v) => semver.gt(v, min) && semver.satisfies(v, range));
  return [min.version, ...lts];
}

/** Runtime packages of the lock whose declared Node range rejects one of the promised versions. */
function engineConflicts(packages: typeof lock.packages, versions: string[]): string[] {
  const out: string[] = [];
  for (const [path, entry] of Object.entries(packages)) {
    if (!path || entry.dev || !entry.engines || Array.isArray(entry.engines)) continue;
    const node = entry.engines.node;
    if (!node) continue;
    for (const v of versions) if (!semver.satisfies(v, node)) out.push(`${path}@${entry.version}: node ${node} rejects ${v}`);
  }
  return out;
}

describe('the Node engine range', () => {
  test('is accepted by every runtime dependency in the lock', () => {
    const versions = promisedVersions(pkg.engines.node);
    expect(versions[0]).toBe('20.19.0');
    expect(engineConflicts(lock.packages, versions)).toEqual([]);
  });

  test('a dependency that needs a newer Node is reported (the check can fail)', () => {
    const packages = {
      '': { version: '0.1.0' },
      'node_modules/undici': { version: '8.13.1', engines: { node: '>=22.19.0' } },
      'node_modules/tool': { version: '1.0.0', dev: true, engines: { node: '>=24' } },
    };
    expect(engineConflicts(packages, promisedVersions('>=20.19'))).toEqual([
      'node_modules/undici@8.13.1: node >=22.19.0 rejects 20.19.0',
      'node_modules/undici@8.13.1: node >=22.19.0 rejects 22.12.0',
    ]);
  });
});
