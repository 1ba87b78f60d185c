import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { Command } from 'commander';
import { register } from '../../../src/cli/commands/cohort.js';
import { FIXTURES, tinyStore } from './helpers.js';

let ctx: Awaited<ReturnType<typeof tinyStore>>;
let work: string;

beforeAll(async () => {
  ctx = await tinyStore();
  await ctx.store.close();
  work = mkdtempSync(join(tmpdir(), 'harmonia-cohort-cli-'));
});
afterAll(async () => {
  await ctx?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  register(program);
  let out = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await program.parseAsync(['node', 'harmonia', 'cohort', '--store', ctx.dir, ...args]);
  } finally {
    spy.mockRestore();
    err.mockRestore();
  }
  return out;
}

describe('harmonia cohort', () => {
  test('--json prints exactly count, patients and sparql', async () => {
    const out = JSON.parse(await cli([join(FIXTURES, 'seizure-not-febrile-scn1a.json'), '--json']));
    expect(Object.keys(out)).toEqual(['count', 'patients', 'sparql']);
    expect(out.count).toBe(1);
    expect(out.patients).toEqual(['P-A']);
    expect(out.sparql).toMatch(/SELECT DISTINCT \?id/);
  });

  test('YAML, --explain, --characterise, --compare and --export', async () => {
    const yaml = join(work, 'scn1a.yaml');
    writeFileSync(yaml, 'name: scn1a\ncriteria:\n  gene: {symbol: SCN1A}\n');
    const out = JSON.parse(await cli([yaml, '--json', '--explain', '--characterise', '--compare', join(FIXTURES, 'seizure-not-febrile-scn1a.json'), '--export', 'csv', '--out', join(work, 'm.csv')]));
    expect(out.patients).toEqual(['P-A', 'P-B']);
    expect(out.explanations).toHaveLength(2);
    expect(out.characterisation.genes[0].value).toBe('SCN1A');
    expect(out.comparison.both).toBe(1);
    expect(readFileSync(join(work, 'm.csv'), 'utf8').split('\r\n')[1]).toMatch(/^P-A,FEMALE/);
    const text = await cli([yaml]);
    expect(text).toMatch(/^scn1a: 2 patients/);
  });

  test('a bad definition is one clear error naming the file and the path', async () => {
    const bad = join(work, 'bad.json');
    writeFileSync(bad, JSON.stringify({ name: 'bad', criteria: { phenotype: { conceptSet: 'nope' } } }));
    await expect(cli([bad])).rejects.toThrow(/bad\.json: \/criteria\/phenotype\/conceptSet: unknown concept set "nope"/);
  });
});
