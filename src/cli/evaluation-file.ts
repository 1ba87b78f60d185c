import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { rocCurve, storedEmbeddings, type EmbeddingEvaluation, type ModelEvaluation } from '../learn/index.js';
import { HX, oboCurie } from '../model/index.js';
import { evaluationFile, type RocCurve, type SavedEvaluation } from '../server/evaluation.js';
import { openStore, writeAtomic } from '../store/index.js';

// `harmonia eval embeddings` saves each model's evaluation beside the model, for the web
// interface: the printed entry unchanged, plus the ROC curve points the printed JSON leaves out.
// evaluateEmbeddings keeps its scores to itself, so the curves are scored again here the way it
// scores them (record embedding . term embedding, test records with the finding or with none); a
// curve whose area is not the printed AUROC is left out with a note rather than drawn wrong.

/** Largest difference between a curve's area and the printed AUROC (rounded to 4 decimals) accepted. */
const AREA_TOLERANCE = 6e-4;

/** Writes <store>/arrays/models/<version>/evaluation.json for every evaluated model; returns the files. */
export async function saveEvaluations(storeDir: string, result: EmbeddingEvaluation, log: (line: string) => void): Promise<string[]> {
  const files: string[] = [];
  const evaluatedAt = new Date().toISOString();
  for (const model of result.models) {
    const { curves, notes } = await rocCurves(storeDir, model);
    for (const n of notes) log(`eval embeddings: ${model.version}: ${n}`);
    const saved: SavedEvaluation = { version: model.version, evaluatedAt, store: result.store, definitions: result.definitions, model, rocCurves: curves, notes };
    const file = evaluationFile(storeDir, model.version);
    writeAtomic(file, [JSON.stringify(saved), '\n']);
    files.push(file);
  }
  return files;
}

/** The test-split ROC curve of each classification task of `model`. */
export async function rocCurves(storeDir: string, model: ModelEvaluation): Promise<{ curves: RocCurve[]; notes: string[] }> {
  if (!model.classification.length) return { curves: [], notes: [] };
  const splitsFile = join(dirname(evaluationFile(storeDir, model.version)), 'splits.json');
  if (!existsSync(splitsFile)) return { curves: [], notes: [`${splitsFile}: missing, so no ROC curve is saved`] };
  const splits = JSON.parse(readFileSync(splitsFile, 'utf8')) as Record<string, string>;
  const store = await openStore(storeDir);
  try {
    const rows = await store.select(`SELECT ?r ?mod ?pid ?finding WHERE { ?r <${HX}recordId> ?rid ; <${HX}modality> ?mod ; <${HX}patient> ?p .
      OPTIONAL { ?p <${HX}id> ?pid } OPTIONAL { ?r <${HX}finding> ?finding } } ORDER BY ?rid`);
    const records = await storedEmbeddings(store, model.version, 'record');
    const terms = new Map([...(await storedEmbeddings(store, model.version, 'term')).entries()].map(([iri, e]) => [oboCurie(iri) ?? iri, e.vector]));
    const test = rows.filter((r) => records.has(r.r!) && splits[r.pid ?? ''] === 'test')
      .map((r) => ({ modality: r.mod!, finding: r.finding ? oboCurie(r.finding) : undefined, vector: records.get(r.r!)!.vector }));
    const curves: RocCurve[] = [];
    const notes: string[] = [];
    for (const task of model.classification) {
      const name = `${task.modality} ${task.term}`;
      const tv = terms.get(task.term);
      if (!tv) {
        notes.push(`${name}: no term embedding, so no ROC curve is saved`);
        continue;
      }
      if (task.auroc === null) {
        notes.push(`${name}: no ROC curve (the test split holds records of one class only: ${task.records} records, ${task.positives} positive)`);
        continue;
      }
      const scored = test.filter((r) => r.modality === task.modality && (r.finding === task.term || r.finding === undefined));
      const points = rocCurve(scored.map((r) => dot(r.vector, tv)), scored.map((r) => r.finding === task.term));
      const area = trapezoid(points);
      if (scored.length !== task.records || Math.abs(area - task.auroc) > AREA_TOLERANCE) {
        notes.push(`${name}: the ROC curve scored again (${scored.length} records, area ${area.toFixed(4)}) differs from the evaluation (${task.records} records, AUROC ${task.auroc}); not saved`);
        continue;
      }
      curves.push({ modality: task.modality, term: task.term, label: task.label, auroc: task.auroc, records: task.records, positives: task.positives, points: points.map(([x, y]) => [round(x), round(y)]) });
    }
    return { curves, notes };
  } finally {
    await store.close();
  }
}

/** Area under a curve of increasing x (the ROC curve: ties are one diagonal step, as the AUROC counts them half). */
export function trapezoid(points: [number, number][]): number {
  let area = 0;
  for (let i = 1; i < points.length; i++) area += (points[i][0] - points[i - 1][0]) * (points[i][1] + points[i - 1][1]) / 2;
  return area;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
