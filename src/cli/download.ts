import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { packageRoot } from './util.js';

export interface Release {
  name: string;
  version: string;
  url: string;
  file: string;
  sha256: string | null;
  localCopies?: { file: string; sha256: string }[];
}

export function manifestReleases(): Release[] {
  const m = JSON.parse(readFileSync(join(packageRoot(), 'ontologies', 'manifest.json'), 'utf8')) as { ontologies: Release[]; datasets: Release[] };
  return [...m.ontologies, ...m.datasets];
}

export function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * Fetches the official HPO and phenopacket-store releases of ontologies/manifest.json into `dir`,
 * verifying pinned checksums and printing the others, so the demo can run without a data directory.
 */
export async function downloadReleases(dir: string, log: (s: string) => void, releases: Release[] = manifestReleases()): Promise<void> {
  for (const r of releases) {
    const target = join(dir, r.file);
    if (existsSync(target)) continue;
    log(`downloading ${r.name} ${r.version} from ${r.url}\n`);
    let res: Response;
    try {
      res = await fetch(r.url);
    } catch (e) {
      throw new Error(`cannot download ${r.url}: ${(e as Error).message}; set HARMONIA_DATA or --data to a local data directory instead`);
    }
    if (!res.ok) throw new Error(`cannot download ${r.url}: HTTP ${res.status}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (r.sha256 && r.sha256 !== digest) throw new Error(`${r.url}: checksum mismatch (expected ${r.sha256}, got ${digest}); not used`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, bytes);
    log(`  ${r.file}: ${bytes.length} bytes, sha256 ${digest}${r.sha256 ? ' (verified)' : ' (not pinned in ontologies/manifest.json; recorded here)'}\n`);
  }
}
