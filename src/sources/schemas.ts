import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A file of schemas/ at the repository root, found from this module in src/ (tests) and dist/src/ (built). */
export function schemaFile(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'schemas', name);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`schemas/${name} not found next to the installation`);
    dir = dirname(dir);
  }
}
