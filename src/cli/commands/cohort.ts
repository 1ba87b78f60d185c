import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  CohortDefinitionError,
  CohortService,
  readDefinitionFile,
  toResult,
  type Characterisation,
  type Comparison,
  type Evaluation,
  type ExplainNode,
  type Explanation,
  type CohortDefinition,
  type ExportFormat,
} from '../../cohort/index.js';
import { openStore, type GraphStore } from '../../store/index.js';
import { checkStoreOrEndpoint, readTarget, storeLocation, type HarmoniaServer } from '../served.js';
import { CliError } from '../util.js';
import { collectOption, federatedCohortCommand } from './federate.js';

interface Options {
  store?: string;
  endpoint?: string;
  federate: string[];
  allowRows: string[];
  suppressBelow?: string;
  siteTimeout?: string;
  json?: boolean;
  explain?: boolean;
  characterise?: boolean;
  compare?: string;
  export?: string;
  out?: string;
  save?: boolean;
  user?: string;
  limit: string;
}

export function register(program: Command): void {
  program
    .command('cohort')
    .description('evaluate a cohort definition (JSON or YAML, see docs/cohorts.md) on a store')
    .option('--store <dir|url>', 'store directory, or sparql+http(s)://host/path for a remote SPARQL store')
    .option('--endpoint <url>', 'a running `harmonia serve` (http://host:port/sparql; POST /cohorts), or the SPARQL endpoint of a remote Harmonia store')
    .option('--federate <[name=]url>', 'also evaluate at this partner (its SPARQL endpoint; repeatable): per-site counts, docs/federation.md', collectOption, [])
    .option('--allow-rows <name>', 'with --federate: this partner may share member ids (repeatable)', collectOption, [])
    .option('--suppress-below <n>', 'with --federate: per-site counts below n are shown as "<n"', '5')
    .option('--site-timeout <ms>', 'with --federate: how long a site may take to answer', '10000')
    .argument('<file>', 'cohort definition (.json, .yaml)')
    .option('--json', 'print {"count", "patients", "sparql"} (plus the parts asked for below) as JSON')
    .option('--explain', 'for each member, which criteria matched and through which terms')
    .option('--characterise', 'sex, age bands, frequent and enriched HPO terms, genes, diseases')
    .option('--compare <file2>', 'compare with a second cohort definition, side by side')
    .option('--export <format>', 'write the members as csv, json or zip (phenopackets) to --out')
    .option('--out <path>', 'output file for --export')
    .option('--save', 'also save the definition in the store as a named cohort')
    .option('--user <name>', 'who saves it (with --save)', process.env.USER ?? 'anonymous')
    .option('--limit <n>', 'rows of terms, genes and diseases in --characterise and --compare', '25')
    .action(async (file: string, opts: Options) => {
      checkStoreOrEndpoint(opts);
      if (opts.federate.length) {
        if (opts.endpoint !== undefined) throw new CliError('--federate and --endpoint do not combine: give the endpoint as one more --federate site (docs/federation.md)');
        return federatedCohortCommand(file, opts);
      }
      if (opts.store === undefined && opts.endpoint === undefined) throw new CliError('give --store, --endpoint URL or --federate URL');
      if (opts.export && !['csv', 'json', 'zip'].includes(opts.export)) throw new CliError(`--export ${opts.export}: expected csv, json or zip`);
      if (opts.export && !opts.out) throw new CliError('--export needs --out PATH');
      // The definitions are read and checked before any store is opened.
      const definition = definitionOf(file);
      const other = opts.compare ? definitionOf(opts.compare) : undefined;
      const writes = [...(opts.save ? ['--save'] : []), ...(opts.export ? ['--export'] : [])];
      const target = await readTarget('cohort', opts, () => writes, 'save with PUT /cohorts/{name} (the server\'s update token) and export saved cohorts with GET /cohorts/{name}/members?format= (docs/cohorts.md)');
      if (target.kind === 'server') return runOnServer(target.server, file, definition, other, opts);
      const store = await openStore(storeLocation(target), { write: opts.save === true });
      try {
        await run(store, file, definition, other, opts);
      } catch (e) {
        if (e instanceof CohortDefinitionError) throw new CliError(`${file}: ${e.message}`);
        throw e;
      } finally {
        await store.close();
      }
    });
}

function definitionOf(file: string): CohortDefinition {
  try {
    return readDefinitionFile(file);
  } catch (e) {
    if (e instanceof CohortDefinitionError) throw new CliError(`${file}: ${e.message}`);
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError(`${file}: no such file`);
    throw e;
  }
}

function limitOf(opts: Options): number {
  return Number(opts.limit) > 0 ? Number(opts.limit) : 25;
}

function warn(file: string, warnings: { path: string; message: string }[]): void {
  for (const w of warnings) process.stderr.write(`warning: ${file}${w.path}: ${w.message}\n`);
}

/** The same answer from a harmonia server: POST /cohorts (with explain, characterise) and POST /cohorts/compare. */
async function runOnServer(server: HarmoniaServer, file: string, definition: CohortDefinition, other: CohortDefinition | undefined, opts: Options): Promise<void> {
  const limit = limitOf(opts);
  const params = new URLSearchParams({ ...(opts.explain ? { explain: 'true' } : {}), ...(opts.characterise ? { characterise: 'true', limit: String(limit) } : {}) });
  const started = performance.now();
  const { warnings, ...out } = await server.json<Record<string, unknown> & { count: number; patients: string[]; warnings?: { path: string; message: string }[] }>('POST', `/cohorts${params.size ? `?${params}` : ''}`, definition);
  const ms = performance.now() - started;
  warn(file, warnings ?? []);
  if (other) out.comparison = (await server.json<{ comparison: Comparison }>('POST', `/cohorts/compare?limit=${limit}`, { a: definition, b: other })).comparison;
  if (opts.json) process.stdout.write(JSON.stringify(out) + '\n');
  else printText({ name: definition.name, count: out.count, patients: out.patients, ms }, out);
}

async function run(store: GraphStore, file: string, definition: CohortDefinition, other: CohortDefinition | undefined, opts: Options): Promise<void> {
  const ontology = await store.ontology();
  if (!ontology) throw new CliError(`${opts.store ?? opts.endpoint}: the store has no ontology; ingest with --hpo first`);
  const service = new CohortService(store, ontology);
  const evaluation = await service.evaluate(definition);
  warn(file, evaluation.warnings);
  const limit = limitOf(opts);
  const out: Record<string, unknown> = { ...toResult(evaluation) };
  if (opts.explain) out.explanations = await service.explain(evaluation);
  if (opts.characterise) out.characterisation = await service.characterise(evaluation.patients, limit);
  if (other) out.comparison = await service.compare(evaluation.patients, (await service.evaluate(other)).patients, limit);
  if (opts.save) {
    const saved = await service.save(evaluation.cohort.definition, opts.user ?? 'anonymous');
    process.stderr.write(`saved cohort ${saved.name} in graph ${saved.graph}\n`);
  }
  if (opts.export) {
    const x = await service.export(evaluation.cohort.definition.name, evaluation.patients, opts.export as ExportFormat);
    writeFileSync(opts.out!, x.body);
    process.stderr.write(`wrote ${evaluation.count} members to ${opts.out}${x.rebuilt ? ` (${x.rebuilt} rebuilt from the graph: source file gone)` : ''}\n`);
  }
  if (opts.json) process.stdout.write(JSON.stringify(out) + '\n');
  else printText({ name: evaluation.cohort.definition.name, count: evaluation.count, patients: evaluation.patients, ms: evaluation.ms }, out);
}

/** The parts of an evaluation the text output shows (from this process or from a server's answer). */
interface Summary {
  name: string;
  count: number;
  patients: string[];
  ms: number;
}

function printText(e: Summary, out: Record<string, unknown>): void {
  const w = (s: string): void => void process.stdout.write(s + '\n');
  w(`${e.name}: ${e.count} patient${e.count === 1 ? '' : 's'} (${Math.round(e.ms)} ms)`);
  if (!out.explanations) for (const id of e.patients) w(`  ${id}`);
  for (const x of (out.explanations as Explanation[] | undefined) ?? []) {
    w(`${x.patient}`);
    printNode(x.criteria, '  ', w);
  }
  if (out.characterisation) printCharacterisation(out.characterisation as Characterisation, w);
  if (out.comparison) printComparison(out.comparison as Comparison, w);
}

function printNode(n: ExplainNode, indent: string, w: (s: string) => void): void {
  const ev = n.evidence?.length ? `: ${n.evidence.map((e) => (e.label ? `${e.value} ${e.label}` : e.value)).join(', ')}` : '';
  w(`${indent}${n.matched ? '[x]' : '[ ]'} ${n.criterion}${ev}`);
  for (const c of n.children ?? []) printNode(c, indent + '  ', w);
}

function printCharacterisation(c: Characterisation, w: (s: string) => void): void {
  w(`\nsex: ${Object.entries(c.sex).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  w(`age at last encounter: ${Object.entries(c.ageBands).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  w(`\nmost frequent HPO terms (cohort vs rest of the store, Fisher exact, BH q):`);
  for (const t of c.topTerms) w(`  ${t.id} ${t.label ?? ''}  ${t.count} (${pct(t.fraction)}) vs ${pct(t.otherFraction)}  OR ${t.oddsRatio}  q ${t.q.toExponential(2)}`);
  w(`\nenriched HPO terms (q < 0.05):`);
  for (const t of c.enrichedTerms) w(`  ${t.id} ${t.label ?? ''}  ${t.count} (${pct(t.fraction)}) vs ${pct(t.otherFraction)}  q ${t.q.toExponential(2)}`);
  w(`\ngenes: ${c.genes.map((g) => `${g.value} ${g.count}`).join(', ')}`);
  w(`diseases: ${c.diseases.map((d) => `${d.value}${d.label ? ` ${d.label}` : ''} ${d.count}`).join('; ')}`);
}

function printComparison(c: Comparison, w: (s: string) => void): void {
  w(`\ncompare: A ${c.a.count}, B ${c.b.count}, in both ${c.both}`);
  w(`sex (A / B): ${Object.entries(c.sex).map(([k, [a, b]]) => `${k} ${a}/${b}`).join(', ')}`);
  w(`age (A / B): ${Object.entries(c.ageBands).map(([k, [a, b]]) => `${k} ${a}/${b}`).join(', ')}`);
  w('terms most different (A vs B):');
  for (const t of c.terms) w(`  ${t.id} ${t.label ?? ''}  ${pct(t.fraction)} vs ${pct(t.otherFraction)}  q ${t.q.toExponential(2)}`);
}

function pct(x: number): string {
  return `${Math.round(x * 1000) / 10}%`;
}
