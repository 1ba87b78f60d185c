import type { Hpoa } from '../../retrieve/index.js';
import { isRemoteLocation, openStore } from '../../store/index.js';
import { CliError, progressCounter, resolveDataDir } from '../util.js';
import { int } from './serve.js';

/** The record files `similar --record` takes (kept in step with learn/space.ts QUERY_MODALITIES; learn is imported lazily). */
const QUERY_MODALITIES = ['ecg', 'eeg', 'mri', 'oct', 'vcf', 'maf'] as const;

// `harmonia similar|diagnose --method embedding|hybrid`: the learned (or fused) ranking. TensorFlow.js
// and the learn modules are imported only here, when one of these methods is asked for.

type Print = (json: boolean, line: object) => void;

interface EmbeddingOpts {
  store: string;
  method: 'embedding' | 'hybrid';
  query?: string[];
  hpo?: string;
  patient?: string;
  record?: string;
  modality?: string;
  /** `similar --genes`: a gene list as the query (a string here; diagnose's --genes is a boolean flag). */
  genes?: string | boolean;
  model?: string;
  backend?: string;
  top: string;
  annotations?: string;
  excludeSamePublication?: boolean;
  explain?: boolean;
  json?: boolean;
}

function spec(opts: EmbeddingOpts, allowRecord: boolean) {
  if (isRemoteLocation(opts.store)) throw new CliError(`${opts.store}: --method ${opts.method} needs an embedded store directory (the model and its embeddings are files in it)`);
  const geneList = allowRecord && typeof opts.genes === 'string' ? opts.genes : undefined;
  const given = [opts.query?.length ? 'query' : '', opts.hpo ? 'hpo' : '', opts.patient ? 'patient' : '', opts.record ? 'record' : '', geneList ? 'genes' : ''].filter(Boolean);
  const record = allowRecord ? `, --record FILE --modality ${QUERY_MODALITIES.join('|')}, --genes SYMBOLS` : '';
  if (given.length !== 1) throw new CliError(`give exactly one of --query FILE, --hpo HP:x,HP:y, --patient ID${record}`);
  if (opts.record && !allowRecord) throw new CliError('--record: a record query is for `harmonia similar`');
  if (opts.modality && !opts.record) throw new CliError('--modality goes with --record FILE');
  if (opts.record) {
    if (!opts.modality) throw new CliError(`--record needs --modality ${QUERY_MODALITIES.join('|')}`);
    if (!(QUERY_MODALITIES as readonly string[]).includes(opts.modality)) throw new CliError(`--modality ${opts.modality}: expected one of ${QUERY_MODALITIES.join(', ')}`);
    return { record: opts.record, modality: opts.modality };
  }
  if (geneList) {
    const genes = geneList.split(',').map((g) => g.trim()).filter(Boolean);
    if (!genes.length) throw new CliError('--genes: give gene symbols, comma-separated (e.g. FGFR2,NF1)');
    if (opts.method !== 'embedding') throw new CliError('--genes as a query needs --method embedding (the classical half of hybrid scores phenotypes)');
    return { genes };
  }
  if (opts.query?.length) return { files: opts.query };
  if (opts.hpo) return { hpo: opts.hpo };
  return { patient: opts.patient! };
}

async function open(opts: EmbeddingOpts, annotations?: Hpoa) {
  const { EmbeddingRetrieval } = await import('../../learn/similar.js');
  return EmbeddingRetrieval.open({ storeDir: opts.store, version: opts.model, backend: opts.backend, annotations, referenceDir: resolveDataDir() ?? process.cwd() });
}

async function readAnnotations(file: string, storeDir: string): Promise<Hpoa> {
  const { loadHpoa } = await import('../../retrieve/index.js');
  const store = await openStore(storeDir);
  try {
    return loadHpoa(file, await store.ontology());
  } finally {
    await store.close();
  }
}

/** `harmonia similar --method embedding|hybrid`. */
export async function similarByEmbedding(opts: EmbeddingOpts, print: Print): Promise<void> {
  const query = spec(opts, true);
  const top = int(opts.top, '--top');
  const annotations = opts.annotations ? await readAnnotations(opts.annotations, opts.store) : undefined;
  const retrieval = await open(opts, annotations);
  try {
    let failed = false;
    const progress = progressCounter('similar: queries', undefined, { besideResults: true });
    for await (const r of retrieval.similarAll(query, { method: opts.method, top, excludeSamePublication: opts.excludeSamePublication, explain: opts.explain })) {
      progress.tick();
      if ('error' in r) failed = true;
      print(opts.json === true, r);
    }
    progress.done();
    if (failed) process.exitCode = 1;
  } finally {
    await retrieval.dispose();
  }
}

/** `harmonia diagnose --method embedding|hybrid`. */
export async function diagnoseByEmbedding(opts: EmbeddingOpts & { annotations: string; genes?: boolean; vcf?: string }, print: Print): Promise<void> {
  if (opts.genes || opts.vcf) throw new CliError(`--method ${opts.method} ranks by phenotypes only: leave out --genes and --vcf`);
  const query = spec(opts, false);
  const top = int(opts.top, '--top');
  const hpoa = await readAnnotations(opts.annotations, opts.store);
  const retrieval = await open(opts);
  try {
    let failed = false;
    const progress = progressCounter('diagnose: queries', undefined, { besideResults: true });
    for await (const r of retrieval.diagnoseAll(query as Parameters<typeof retrieval.diagnoseAll>[0], hpoa, { method: opts.method, top })) {
      progress.tick();
      if ('error' in r) failed = true;
      print(opts.json === true, r);
    }
    progress.done();
    if (failed) process.exitCode = 1;
  } finally {
    await retrieval.dispose();
  }
}
