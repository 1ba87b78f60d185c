import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../helpers/paths.js';
import type { CommandSpec } from './extract.js';

// The real command tree, as the built CLI registers it (src/cli/program.ts, compiled to dist/), read
// in a child process so that this test does not load every stage of the CLI into jest.
const DUMP = `
import { buildProgram } from ${JSON.stringify(join(repoRoot, 'dist', 'src', 'cli', 'program.js'))};
const spec = (c) => ({
  name: c.name(),
  options: c.options.map((o) => ({ long: o.long, ...(o.short ? { short: o.short } : {}), value: o.required ? 'required' : o.optional ? 'optional' : 'none' })),
  commands: c.commands.map(spec),
});
process.stdout.write(JSON.stringify(spec(buildProgram())));
`;

export function programSpec(): CommandSpec {
  const built = join(repoRoot, 'dist', 'src', 'cli', 'program.js');
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first`);
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', DUMP], { encoding: 'utf8', cwd: repoRoot })) as CommandSpec;
}
