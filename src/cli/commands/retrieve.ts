import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  buildDiagnosisContext, buildRetrievalContext, diagnoseAll, evaluateDiagnosis, evaluateRetrieval, loadGenesToPhenotype,
  loadHpoa, loadProfiles, profilesFromStore, similarAll, type QuerySpec,
} from '../../retrieve/index.js';
import { diagnosisReportHtml, type Hpoa, type RankTarget } from '../../retrieve/index.js';
import { openStore } from '../../store/index.js';
import { HarmonizeContext, loadHarmonizationConfig } from '../../harmonize/dispatch.js';
import { vcfCandidateGenes } from '../../harmonize/genomic.js';
import { checkStoreOrEndpoint, readTarget, ServerError, storeLocation, type ServeFile } from '../served.js';
import { CliError, phasedProgress, progressCounter, resolveDataDir } from '../util.js';
import { int } from './serve.js';
import { diagnoseByEmbedding, similarByEmbedding } from './embedding-retrieval.js';

// `harmonia similar`, `harmonia diagnose`, `harmonia eval retrieval|diagnosis`: one JSON line per query.

function querySpec(opts: { query?: string[]; hpo?: string; patient?: string }): QuerySpec {
  const given = [opts.query?.length ? 'query' : '', opts.hpo ? 'hpo' : '', opts.patient ? 'patient' : ''].filter(Boolean);
  if (given.length !== 1) throw new CliError('give exactly one of --query FILE, --hpo HP:x,HP:y or --patient ID');
  if (opts.query?.length) return { files: opts.query };
  if (opts.hpo) return { hpo: opts.hpo };
  return { patient: opts.patient! };
}

async function openWithOntology(location: string) {
  const store = await openStore(location);
  const ontology = await store.ontology();
  if (!ontology) {
    await store.close();
    throw new CliError(`${location}: the store has no ontology; ingest with --hpo first`);
  }
  return { store, ontology };
}

/** --top: a whole number of at least 1, checked before any store is opened. */
function topOf(v: string): number {
  const n = int(v, '--top');
  if (n < 1) throw new CliError(`--top ${v}: expected at least 1`);
  return n;
}

/** Files named on the command line, each checked to exist before any store is opened. */
function requireFiles(...files: (string | undefined)[]): void {
  for (const f of files) if (f !== undefined && !existsSync(f)) throw new CliError(`${f}: no such file or directory`);
}

/** --store and --endpoint: both is an error; embedding methods read the store's model files themselves. */
function checkLocation(opts: { store?: string; endpoint?: string; method?: string }): void {
  checkStoreOrEndpoint(opts);
  if (opts.store === undefined && opts.endpoint === undefined) throw new CliError('give --store DIR (or sparql+http://host/path) or --endpoint URL');
  if (opts.endpoint !== undefined && (opts.method === 'embedding' || opts.method === 'hybrid')) throw new CliError(`--method ${opts.method} does not combine with --endpoint: it reads the store's trained model (give --store)`);
}

/** Why a server started with other annotation files cannot answer as this command would (served: its serve.json). */
function annotationsDiffer(flag: string, given: string | undefined, served: ServeFile | undefined): string[] {
  if (!served) return given ? [flag] : [];
  const mine = given ? resolve(given) : undefined;
  const theirs = flag === '--annotations' ? served.annotations : served.geneAnnotations;
  return mine === theirs ? [] : [`${flag}: ${given ?? 'none'} here, ${theirs ?? 'none'} on the server`];
}

/** A server's answer, or its refusal of this one query (a 400 or 404) as the error line a local run prints. */
async function askServer(query: string, ask: () => Promise<object>): Promise<object> {
  try {
    return await ask();
  } catch (e) {
    if (e instanceof ServerError && (e.status === 400 || e.status === 404)) return { query, error: e.reason };
    throw e;
  }
}

function print(json: boolean, line: object): void {
  if (json) return void process.stdout.write(JSON.stringify(line) + '\n');
  const r = line as { query: string; error?: string; results?: { patient?: string; disease?: string; label?: string; score: number }[] };
  if (r.error) return void process.stdout.write(`${r.query}: error: ${r.error}\n`);
  process.stdout.write(`${r.query}\n`);
  for (const [i, x] of (r.results ?? []).entries()) process.stdout.write(`  ${String(i + 1).padStart(3)}. ${(x.patient ?? x.disease)!.padEnd(40)} ${x.score.toFixed(4)}${x.label ? '  ' + x.label : ''}\n`);
}

export function register(program: Command): void {
  program
    .command('similar')
    .description('find the patients most similar to a phenopacket, a list of HPO terms, or a stored patient')
    .option('--store <dir|url>', 'store directory, or sparql+http(s)://host/path for a remote SPARQL store')
    .option('--endpoint <url>', 'a running `harmonia serve` (http://host:port/sparql; with --patient: GET /patients/{id}/similar), or the SPARQL endpoint of a remote Harmonia store')
    .option('--query <file...>', 'phenopacket files, folders, zips or JSON Lines (each phenopacket one query)')
    .option('--hpo <ids>', 'comma-separated HPO ids (prefix one with - to mark it excluded)')
    .option('--patient <id>', 'a patient already in the store (never returned as its own match)')
    .option('--top <k>', 'results per query', '10')
    .option('--method <name>', 'similarity method (see docs/retrieval.md); default: the best on our evaluation')
    .option('--annotations <file>', 'phenotype.hpoa: information content from disease annotations instead of the stored patients')
    .option('--exclude-same-publication', 'leave out patients from the query’s own publication')
    .option('--explain', 'add matched term pairs and their most informative common ancestor')
    .option('--record <file>', 'with --method embedding: a record file as the query (ECG, EEG, MRI, OCT, VCF, MAF; harmonized as ingest does)')
    .option('--modality <m>', 'the --record file\'s modality: ecg, eeg, mri, oct, vcf or maf')
    .option('--genes <symbols>', 'with --method embedding: a comma-separated gene list as the query (the genomic encoder)')
    .option('--model <version>', 'with --method embedding|hybrid: the model version (default: the last trained)')
    .option('--json', 'one JSON line per query')
    .action(async (opts) => {
      checkLocation(opts);
      if (opts.method === 'embedding' || opts.method === 'hybrid') return similarByEmbedding(opts, print);
      if (opts.record || opts.genes) throw new CliError(`${opts.record ? '--record' : '--genes'}: a record or gene-list query needs --method embedding (a learned encoder embeds it)`);
      const spec = querySpec(opts);
      const top = topOf(opts.top);
      requireFiles(...(opts.query ?? []), opts.annotations);
      const target = await readTarget('similar', opts, (served) => [
        ...('patient' in spec ? [] : [opts.query?.length ? '--query' : '--hpo']),
        ...annotationsDiffer('--annotations', opts.annotations, served),
      ], 'the server answers GET /patients/{id}/similar: give --patient ID, without --annotations (the server uses its own)');
      if (target.kind === 'server') {
        const server = target.server;
        const id = (spec as { patient: string }).patient;
        const params = new URLSearchParams({ top: String(top), ...(opts.method ? { method: opts.method } : {}), ...(opts.excludeSamePublication ? { excludeSamePublication: 'true' } : {}), ...(opts.explain ? { explain: 'true' } : {}) });
        const r = await askServer(id, () => server.json('GET', `/patients/${encodeURIComponent(id)}/similar?${params}`));
        if ('error' in r) process.exitCode = 1;
        return print(opts.json, r);
      }
      const { store, ontology } = await openWithOntology(storeLocation(target));
      try {
        const annotations = opts.annotations ? loadHpoa(opts.annotations, ontology) : undefined;
        const ctx = buildRetrievalContext(ontology, await profilesFromStore(store), { annotations });
        let failed = false;
        const progress = progressCounter('similar: queries', undefined, { besideResults: true });
        for await (const r of similarAll(ctx, spec, { top, method: opts.method, excludeSamePublication: opts.excludeSamePublication, explain: opts.explain })) {
          progress.tick();
          if ('error' in r) failed = true;
          print(opts.json, r);
        }
        progress.done();
        if (failed) process.exitCode = 1;
      } finally {
        await store.close();
      }
    });

  program
    .command('diagnose')
    .description('rank the diseases of phenotype.hpoa for a phenopacket or a list of HPO terms')
    .option('--store <dir|url>', 'store directory or remote store URL (for the ontology and stored patients)')
    .option('--endpoint <url>', 'a running `harmonia serve` started with --annotations (http://host:port/sparql; POST /diagnose), or the SPARQL endpoint of a remote Harmonia store')
    .option('--annotations <file>', 'HPO disease annotations (phenotype.hpoa, either column format; required unless --endpoint names a harmonia server, which has its own)')
    .option('--query <file...>', 'phenopacket files, folders, zips or JSON Lines')
    .option('--hpo <ids>', 'comma-separated HPO ids (prefix with - for excluded)')
    .option('--patient <id>', 'a patient already in the store')
    .option('--top <k>', 'diseases per query', '10')
    .option('--method <name>', 'bayes-lr (default: likelihood ratio with calibrated probabilities and evidence), lr or resnik-bma')
    .option('--genes [symbols]', "condition on genes: the patient's causal genes, or the comma-separated symbols given (needs gene annotations)")
    .option('--rank <what>', 'diseases (default), or genes: also rank the genes of genes_to_phenotype for the profile')
    .option('--report <file.html>', 'also write a self-contained HTML report a clinician can read')
    .option('--gene-annotations <file>', 'genes_to_phenotype file (default: next to --annotations)')
    .option('--vcf <file>', 'a VCF: genes carrying filtered variants that are ClinVar (likely) pathogenic or rare become gene evidence')
    .option('--config <file>', 'with --vcf: harmonisation settings (filters, references; docs/harmonization.md)')
    .option('--model <version>', 'with --method embedding|hybrid: the model version (default: the last trained)')
    .option('--json', 'one JSON line per query')
    .action(async (opts) => {
      checkLocation(opts);
      if (!opts.annotations && opts.endpoint === undefined) throw new CliError("required option '--annotations <file>' not specified (or --endpoint URL of a harmonia server started with --annotations)");
      if (opts.method === 'embedding' || opts.method === 'hybrid') return diagnoseByEmbedding(opts, print);
      const spec = querySpec(opts);
      const top = topOf(opts.top);
      const rank = rankOption(opts.rank);
      requireFiles(...(opts.query ?? []), opts.annotations, opts.geneAnnotations, opts.vcf, opts.config);
      const useGenes = opts.genes || opts.vcf || opts.rank === 'genes';
      const genesFile = opts.geneAnnotations ?? (useGenes && opts.annotations ? findGenesFile(opts.annotations) : undefined);
      const unserved = (served?: ServeFile): string[] => [
        ...(opts.query?.length ? ['--query'] : opts.patient ? ['--patient'] : []),
        ...['vcf', 'config', 'report', 'model'].filter((k) => opts[k] !== undefined).map((k) => `--${k}`),
        ...(served ? annotationsDiffer('--annotations', opts.annotations, served) : opts.annotations ? ['--annotations'] : []),
        ...(served ? annotationsDiffer('--gene-annotations', genesFile, served) : opts.geneAnnotations ? ['--gene-annotations'] : []),
      ];
      const target = await readTarget('diagnose', opts, unserved, 'POST /diagnose takes --hpo terms and ranks with the annotations the server was started with (serve --annotations, --gene-annotations)');
      if (target.kind === 'server') {
        const body = { hpo: (spec as { hpo: string }).hpo.split(','), top, ...(opts.method ? { method: opts.method } : {}), ...(opts.genes !== undefined ? { genes: typeof opts.genes === 'string' ? opts.genes.split(',').map((g: string) => g.trim()).filter(Boolean) : true } : {}), ...(rank ? { rank } : {}) };
        const r = await askServer('query', () => target.server.json('POST', '/diagnose', body));
        if ('error' in r) process.exitCode = 1;
        return print(opts.json, r);
      }
      if (!opts.annotations) throw new CliError(`--endpoint ${opts.endpoint}: not a harmonia server, so give --annotations FILE (phenotype.hpoa)`);
      if (useGenes && !genesFile) throw new CliError(`${opts.vcf ? '--vcf' : '--genes'} needs --gene-annotations FILE (genes_to_phenotype.txt)`);
      const evidenceGenes = await givenGenes(opts);
      const { store, ontology } = await openWithOntology(storeLocation(target));
      try {
        const hpoa = loadHpoa(opts.annotations, ontology);
        // Gene links also tell which OMIM and ORPHA ids are one disease: read them when they lie beside the annotations.
        const links = genesFile ?? findGenesFile(opts.annotations);
        const ctx = { ...buildDiagnosisContext(ontology, hpoa, links ? loadGenesToPhenotype(links) : undefined), index: buildRetrievalContext(ontology, await profilesFromStore(store), { annotations: hpoa }).index };
        let failed = false;
        const answers = [];
        const progress = progressCounter('diagnose: queries', undefined, { besideResults: true });
        for await (const r of diagnoseAll(ctx, spec, { top, method: opts.method, genes: Boolean(opts.genes), evidenceGenes, rank })) {
          progress.tick();
          if ('error' in r) failed = true;
          print(opts.json, r);
          if (opts.report) answers.push(r);
        }
        progress.done();
        if (opts.report) writeReport(opts.report, answers, hpoa);
        if (failed) process.exitCode = 1;
      } finally {
        await store.close();
      }
    });

  const evalCmd = program.command('eval').description('evaluate retrieval or disease ranking on labelled phenopackets');
  evalCmd
    .command('retrieval')
    .description('hit@1, hit@10 and MRR of patient retrieval; relevant = shares a diagnosis; the query’s own publication is left out')
    .requiredOption('--store <dir|url>', 'store directory or remote store URL: the candidates')
    .requiredOption('--query <file...>', 'phenopackets used as queries')
    .option('--method <name>', 'similarity method')
    .option('--annotations <file>', 'phenotype.hpoa for annotation-based information content')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const { store, ontology } = await openWithOntology(opts.store);
      try {
        const annotations = opts.annotations ? loadHpoa(opts.annotations, ontology) : undefined;
        const ctx = buildRetrievalContext(ontology, await profilesFromStore(store), { annotations });
        const { profiles } = await loadProfiles(opts.query, ontology);
        const progress = phasedProgress('eval retrieval: queries');
        const r = evaluateRetrieval(ctx, profiles, { method: opts.method, onProgress: (done, total) => progress.report(done, total) });
        progress.done();
        process.stdout.write(opts.json ? JSON.stringify(r) + '\n' : `${r.method}: ${r.queries} queries (${r.skipped} skipped): hit@1 ${r.hit1.toFixed(3)}, hit@10 ${r.hit10.toFixed(3)}, MRR ${r.mrr.toFixed(3)}\n`);
      } finally {
        await store.close();
      }
    });
  evalCmd
    .command('diagnosis')
    .description('hit@1, hit@10 and MRR of disease ranking against each phenopacket’s diagnosis')
    .requiredOption('--store <dir|url>', 'store directory or remote store URL (for the ontology)')
    .requiredOption('--annotations <file>', 'phenotype.hpoa')
    .requiredOption('--query <file...>', 'phenopackets used as queries')
    .option('--method <name>', 'bayes-lr (default), lr or resnik-bma')
    .option('--genes', "condition on each query's causal genes (top-1 with the gene known)")
    .option('--gene-annotations <file>', 'genes_to_phenotype file')
    .option('--mode <mode>', 'leave-disease-out (default: nothing from the diagnosis\'s patients or papers is used; test diseases only) or standard', 'leave-disease-out')
    .option('--split <name>', 'disease split to report: test (default in leave-disease-out), tune or all')
    .option('--rank <what>', 'diseases (default) or genes (rank of the causal gene among all genes)')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const { store, ontology } = await openWithOntology(opts.store);
      try {
        const hpoa = loadHpoa(opts.annotations, ontology);
        // Gene links also tell which OMIM and ORPHA ids are one disease: read them whenever they are there.
        const genesFile = opts.geneAnnotations ?? findGenesFile(opts.annotations);
        const ctx = buildDiagnosisContext(ontology, hpoa, genesFile ? loadGenesToPhenotype(genesFile) : undefined);
        const { profiles } = await loadProfiles(opts.query, ontology);
        const progress = phasedProgress('eval diagnosis: queries');
        const r = evaluateDiagnosis(ctx, profiles, { method: opts.method, genes: opts.genes, mode: opts.mode, split: opts.split, rank: rankOption(opts.rank), onProgress: (done, total) => progress.report(done, total) });
        progress.done();
        process.stdout.write(opts.json ? JSON.stringify(r) + '\n' : `${r.method}: ${r.queries} queries (${r.skipped} skipped): hit@1 ${r.hit1.toFixed(3)}, hit@10 ${r.hit10.toFixed(3)}, MRR ${r.mrr.toFixed(3)}\n`);
      } finally {
        await store.close();
      }
    });
}

/** The candidate genes of a VCF after the configured harmonisation (filters, gene BED, ClinVar, rarity). */
async function vcfGenes(file: string, configFile?: string): Promise<string[]> {
  const config = loadHarmonizationConfig(configFile, resolveDataDir() ?? process.cwd());
  const context = new HarmonizeContext(config);
  const genes = await vcfCandidateGenes(file, await context.genomicReferences(), config.genomic);
  process.stderr.write(`${file}: ${genes.length} candidate genes (${genes.filter((g) => g.pathogenic > 0).length} with ClinVar (likely) pathogenic variants)\n`);
  return genes.map((g) => g.symbol);
}

/** Genes given as evidence: `--genes SYMBOLS` and the candidate genes of `--vcf`. */
async function givenGenes(opts: { genes?: boolean | string; vcf?: string; config?: string }): Promise<string[] | undefined> {
  const listed = typeof opts.genes === 'string' ? opts.genes.split(',').map((g) => g.trim()).filter(Boolean) : [];
  const fromVcf = opts.vcf ? await vcfGenes(opts.vcf, opts.config) : [];
  return listed.length || opts.vcf ? [...new Set([...listed, ...fromVcf])] : undefined;
}

function rankOption(rank: string | undefined): RankTarget | undefined {
  if (rank === undefined || rank === 'diseases' || rank === 'genes') return rank;
  throw new CliError(`--rank must be diseases or genes, got '${rank}'`);
}

function writeReport(file: string, answers: Parameters<typeof diagnosisReportHtml>[0], hpoa: Hpoa): void {
  try {
    writeFileSync(file, diagnosisReportHtml(answers, { annotations: `${hpoa.file} (${hpoa.version})` }));
  } catch (e) {
    throw new CliError(`--report ${file}: cannot write: ${(e as Error).message}`);
  }
  process.stderr.write(`${file}: report of ${answers.length} queries written\n`);
}

function findGenesFile(annotations: string): string | undefined {
  for (const name of ['genes_to_phenotype.txt.gz', 'genes_to_phenotype.txt']) {
    const f = join(dirname(annotations), name);
    if (existsSync(f)) return f;
  }
  return undefined;
}
