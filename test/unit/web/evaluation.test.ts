import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { saveEvaluations, trapezoid } from '../../../src/cli/evaluation-file.js';
import type { EmbeddingEvaluation, ModelEvaluation } from '../../../src/learn/index.js';
import { MODELS_DIR } from '../../../src/learn/index.js';
import { embeddingGraph } from '../../../src/learn/vectors.js';
import { evaluationFile, readEvaluation, type SavedEvaluation } from '../../../src/server/evaluation.js';
import { startServer, type RunningServer } from '../../../src/server/index.js';
import { tinyStore } from '../cohort/helpers.js';

// The evaluation `harmonia eval embeddings` saves beside the model for the web interface: the ROC
// curves scored again from the stored embeddings, and GET /ui/evaluation reading them back.

const HX = 'https://w3id.org/harmonia/vocab#';
const HXR = 'https://w3id.org/harmonia/resource/';
const OBO = 'http://purl.obolibrary.org/obo/';
const VERSION = 'tiny-s1-0000abcd';
const SEIZURE = 'HP:0001250';

/** Records of the five fixture patients: [patient, finding, score against the Seizure term]. */
const RECORDS: [string, string | undefined, number][] = [
  ['P-A', SEIZURE, 0.9], ['P-A', undefined, 0.1],
  ['P-B', SEIZURE, 0.4], ['P-B', undefined, 0.5],
  ['P-C', undefined, 0.4], ['P-C', 'HP:0001249', 0.95],
  ['P-D', undefined, 0.2],
  // P-E is in the training split: never scored.
  ['P-E', SEIZURE, -0.5], ['P-E', undefined, 0.99],
];
const SPLITS = { 'P-A': 'test', 'P-B': 'test', 'P-C': 'test', 'P-D': 'test', 'P-E': 'train' };

/** A unit vector whose dot product with (1, 0) is `score`. */
const vector = (score: number) => Buffer.from(Float32Array.from([score, Math.sqrt(1 - score * score)]).buffer).toString('base64');

function recordsUpdate(): string {
  const triples = RECORDS.map(([p, finding, score], i) => {
    const r = `<${HXR}record/${p}/ecg-${i}>`;
    return `GRAPH <https://w3id.org/harmonia/graph/record/${p}/ecg-${i}> { ${r} a hx:Record ; hx:recordId "${p}/ecg-${i}" ; hx:modality "ecg" ; hx:patient <${HXR}patient/${p}>
      ${finding ? `; hx:finding <${OBO}${finding.replace(':', '_')}>` : ''} . }
      GRAPH <${embeddingGraph(VERSION)}> { <${HXR}embedding/${VERSION}/record/${i}> hx:embeddingOf ${r} ; hx:embeddingKind "record" ; hx:modality "ecg" ;
        hx:vector "${vector(score)}"^^hx:float32Base64 . }`;
  });
  const term = `GRAPH <${embeddingGraph(VERSION)}> { <${HXR}embedding/${VERSION}/term/seizure> hx:embeddingOf <${OBO}HP_0001250> ; hx:embeddingKind "term" ; hx:vector "${vector(1)}"^^hx:float32Base64 . }`;
  return `PREFIX hx: <${HX}> INSERT DATA { ${triples.join('\n')} ${term} }`;
}

function model(tasks: Partial<ModelEvaluation['classification'][number]>[]): ModelEvaluation {
  return {
    version: VERSION, losses: null, splits: { train: 1, validation: 0, test: 4 },
    classification: tasks.map((t) => ({
      modality: 'ecg', term: SEIZURE, label: 'Seizure', records: 6, positives: 2, auroc: 0.8125,
      validation: { records: 0, positives: 0, auroc: null }, f1: { unavailable: 'no validation record' }, calibration: { unavailable: 'no validation record' }, ...t,
    })),
    retrieval: { unavailable: 'no test-split patient can be a query' },
    separation: [], ontology: { pairs: 0, spearman: null, pearson: null }, plots: [],
  };
}

describe('the saved evaluation', () => {
  let fixture: Awaited<ReturnType<typeof tinyStore>>;
  let models: string;
  let server: RunningServer | undefined;
  const lines: string[] = [];
  const result = (m: ModelEvaluation): EmbeddingEvaluation => ({ store: fixture.dir, definitions: { classification: 'zero-shot' }, models: [m] });

  beforeAll(async () => {
    fixture = await tinyStore();
    await fixture.store.update(recordsUpdate());
    await fixture.store.close();
    models = join(fixture.dir, MODELS_DIR);
    mkdirSync(join(models, VERSION), { recursive: true });
    writeFileSync(join(models, VERSION, 'splits.json'), JSON.stringify(SPLITS));
  });
  afterAll(async () => {
    await server?.close();
    await fixture?.cleanup();
  });

  test('before any evaluation, the answer says which commands make one', async () => {
    expect(await readEvaluation(fixture.dir)).toEqual({ versions: [], command: 'harmonia train --store STORE --preset quick && harmonia embed --store STORE && harmonia eval embeddings --store STORE' });
    writeFileSync(join(models, 'latest.json'), JSON.stringify({ version: VERSION }));
    expect(await readEvaluation(fixture.dir)).toEqual({ versions: [], latestModel: VERSION, command: `harmonia eval embeddings --store STORE --model ${VERSION}` });
    expect(await readEvaluation('sparql+http://localhost:1/sparql')).toMatchObject({ versions: [], note: expect.stringContaining('SPARQL endpoint') });
  });

  test('saveEvaluations writes the printed entry unchanged and the test-split ROC curve, whose area is the AUROC', async () => {
    const m = model([{}, { term: 'HP:0001249', label: 'Intellectual disability', records: 5, positives: 1, auroc: 1 }]);
    const printed = JSON.stringify(m);
    const files = await saveEvaluations(fixture.dir, result(m), (l) => lines.push(l));
    expect(files).toEqual([evaluationFile(fixture.dir, VERSION)]);
    expect(JSON.stringify(m)).toBe(printed);
    const saved = JSON.parse(readFileSync(files[0], 'utf8')) as SavedEvaluation;
    expect(saved.model).toEqual(m);
    expect(saved).toMatchObject({ version: VERSION, store: fixture.dir, definitions: { classification: 'zero-shot' } });
    expect(Number.isNaN(Date.parse(saved.evaluatedAt))).toBe(false);
    // Scores 0.9 (seizure), 0.5, 0.4 (seizure, tied with a record without a finding), 0.2, 0.1; the
    // record with another finding and P-E's training records are not scored.
    expect(saved.rocCurves).toEqual([{
      modality: 'ecg', term: SEIZURE, label: 'Seizure', auroc: 0.8125, records: 6, positives: 2,
      points: [[0, 0], [0, 0.5], [0.25, 0.5], [0.5, 1], [0.75, 1], [1, 1]],
    }]);
    expect(trapezoid(saved.rocCurves[0].points)).toBeCloseTo(0.8125, 10);
    // The task without a term embedding has no curve, and says so.
    expect(saved.notes).toEqual(['ecg HP:0001249: no term embedding, so no ROC curve is saved']);
    expect(lines).toEqual([`eval embeddings: ${VERSION}: ecg HP:0001249: no term embedding, so no ROC curve is saved`]);
    // Written atomically: no temporary file is left beside it.
    expect(readdirSync(join(models, VERSION)).sort()).toEqual(['evaluation.json', 'splits.json']);
  });

  test('a curve that does not reproduce the printed AUROC is left out with a note, not drawn wrong', async () => {
    const other = 'tiny-s2-0000abcd';
    mkdirSync(join(models, other), { recursive: true });
    writeFileSync(join(models, other, 'splits.json'), JSON.stringify(SPLITS));
    // Another version without embeddings in the store: nothing to score, so no curve.
    await saveEvaluations(fixture.dir, result({ ...model([{}]), version: other }), () => undefined);
    const saved = JSON.parse(readFileSync(evaluationFile(fixture.dir, other), 'utf8')) as SavedEvaluation;
    expect(saved.rocCurves).toEqual([]);
    expect(saved.notes).toEqual([`ecg ${SEIZURE}: no term embedding, so no ROC curve is saved`]);
    const wrong = await saveEvaluations(fixture.dir, result(model([{ auroc: 0.7 }])), () => undefined);
    const w = JSON.parse(readFileSync(wrong[0], 'utf8')) as SavedEvaluation;
    expect(w.rocCurves).toEqual([]);
    expect(w.notes).toEqual([`ecg ${SEIZURE}: the ROC curve scored again (6 records, area 0.8125) differs from the evaluation (6 records, AUROC 0.7); not saved`]);
    // A test split of one class has no AUROC and so no curve: said plainly, not as a mismatch.
    const single = await saveEvaluations(fixture.dir, result(model([{ auroc: null, records: 1, positives: 0 }])), () => undefined);
    expect((JSON.parse(readFileSync(single[0], 'utf8')) as SavedEvaluation).notes).toEqual([`ecg ${SEIZURE}: no ROC curve (the test split holds records of one class only: 1 records, 0 positive)`]);
    await saveEvaluations(fixture.dir, result(model([{}])), () => undefined);
  });

  test('readEvaluation: the last trained model by default, any evaluated version on request, the newest evaluation first', async () => {
    const other = 'tiny-s2-0000abcd';
    utimesSync(evaluationFile(fixture.dir, VERSION), new Date(2020, 0, 1), new Date(2020, 0, 1));
    const a = await readEvaluation(fixture.dir);
    expect(a.versions).toEqual([other, VERSION]);
    expect(a).toMatchObject({ latestModel: VERSION, command: `harmonia eval embeddings --store STORE --model ${VERSION}`, evaluation: { version: VERSION } });
    expect(a.evaluation!.rocCurves).toHaveLength(1);
    expect((await readEvaluation(fixture.dir, other)).evaluation!.version).toBe(other);
    await expect(readEvaluation(fixture.dir, 'nope')).rejects.toMatchObject({ status: 404, message: `no evaluation of model version 'nope' (evaluated: ${other}, ${VERSION})` });
  });

  test('GET /ui/evaluation answers the saved file; an unknown version is a 404, a broken file a clear 500', async () => {
    server = await startServer(fixture.dir, { port: 0 });
    const r = await fetch(`${server.url}/ui/evaluation`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as { evaluation: SavedEvaluation };
    expect(body.evaluation.rocCurves[0].auroc).toBe(0.8125);
    const missing = await fetch(`${server.url}/ui/evaluation?version=nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toMatch(/no evaluation of model version 'nope'/);
    writeFileSync(evaluationFile(fixture.dir, 'tiny-s2-0000abcd'), '{"version": ');
    await expect(readEvaluation(fixture.dir, 'tiny-s2-0000abcd')).rejects.toThrow(/evaluation\.json: not a readable evaluation .*run harmonia eval embeddings --store STORE --model tiny-s2-0000abcd again/);
    expect((await fetch(`${server.url}/ui/evaluation?version=tiny-s2-0000abcd`)).status).toBe(500);
  });
});
