import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ModelEvaluation } from '../learn/evaluate.js';
import { latestVersion, MODELS_DIR } from '../learn/vectors.js';
import { isRemoteLocation } from '../store/index.js';

// The evaluation of an embedded model as `harmonia eval embeddings` saves it beside the model
// (<store>/arrays/models/<version>/evaluation.json), read for the web interface's evaluation page.
// A file of the store directory, not of the graph: the server reads it without a query worker.

export const EVALUATION_FILE = 'evaluation.json';

/** The ROC curve of one zero-shot classification task on its test records: (false, true positive rate) points. */
export interface RocCurve {
  modality: string;
  term: string;
  label?: string;
  auroc: number | null;
  records: number;
  positives: number;
  points: [number, number][];
}

export interface SavedEvaluation {
  version: string;
  /** ISO time of the evaluation. */
  evaluatedAt: string;
  store: string;
  /** What each figure means (the printed JSON's definitions). */
  definitions: Record<string, string>;
  /** This version's entry of the printed JSON's `models`, unchanged. */
  model: ModelEvaluation;
  /** One per classification task of `model`, in its order, except those listed in `notes`. */
  rocCurves: RocCurve[];
  notes: string[];
}

export interface EvaluationAnswer {
  /** Model versions with a saved evaluation, the most recently evaluated first. */
  versions: string[];
  /** The last trained model (what `harmonia eval embeddings` evaluates by default), if any. */
  latestModel?: string;
  evaluation?: SavedEvaluation;
  /** The command that makes (or refreshes) an evaluation; STORE is the served store's directory. */
  command: string;
  note?: string;
}

export function evaluationFile(storeDir: string, version: string): string {
  return join(resolve(storeDir), MODELS_DIR, version, EVALUATION_FILE);
}

/** The saved evaluation of `version`, or of the last trained model, else of the most recently evaluated one. */
export async function readEvaluation(location: string, version?: string): Promise<EvaluationAnswer> {
  const command = 'harmonia eval embeddings --store STORE';
  if (isRemoteLocation(location)) {
    if (version !== undefined) throw notFound(`no evaluation of model version '${version}': the server's store is a SPARQL endpoint`);
    return { versions: [], command, note: 'the served store is a SPARQL endpoint; evaluations are files of an embedded store directory' };
  }
  const models = join(resolve(location), MODELS_DIR);
  const latestModel = existsSync(join(models, 'latest.json')) ? latestVersion(location) : undefined;
  const versions = existsSync(models)
    ? readdirSync(models, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(models, d.name, EVALUATION_FILE)))
      .map((d) => ({ v: d.name, at: statSync(join(models, d.name, EVALUATION_FILE)).mtimeMs }))
      .sort((a, b) => b.at - a.at || a.v.localeCompare(b.v)).map((x) => x.v)
    : [];
  if (version !== undefined && !versions.includes(version)) throw notFound(`no evaluation of model version '${version}' (evaluated: ${versions.join(', ') || 'none'})`);
  const chosen = version ?? (latestModel && versions.includes(latestModel) ? latestModel : versions[0]);
  if (!chosen) {
    const hint = latestModel ? `${command} --model ${latestModel}` : `harmonia train --store STORE --preset quick && harmonia embed --store STORE && ${command}`;
    return { versions, ...(latestModel ? { latestModel } : {}), command: hint };
  }
  const file = evaluationFile(location, chosen);
  let evaluation: SavedEvaluation;
  try {
    evaluation = JSON.parse(await readFile(file, 'utf8')) as SavedEvaluation;
  } catch (e) {
    throw new Error(`${file}: not a readable evaluation (${(e as Error).message}); run ${command} --model ${chosen} again`);
  }
  if (!evaluation?.model || !Array.isArray(evaluation.rocCurves)) throw new Error(`${file}: not an evaluation saved by harmonia eval embeddings (no model or rocCurves); run ${command} --model ${chosen} again`);
  return { versions, ...(latestModel ? { latestModel } : {}), evaluation, command: `${command} --model ${chosen}` };
}

function notFound(message: string): Error {
  return Object.assign(new Error(message), { status: 404 });
}
