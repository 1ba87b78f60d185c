import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadHarmonizationConfig } from '../../../src/harmonize/dispatch.js';
import { ingestRecords } from '../../../src/ingest/index.js';
import {
  chooseFusion, compareFusions, cosines, embedStore, EmbeddingRetrieval, evaluateEmbeddings, fuse, FUSIONS, harmonizedSequences, loadTrainedModel, mergeConfig, modelDir,
  storedEmbeddings, train, embedRecords, type EmbeddedQuery, type FusionComparison,
} from '../../../src/learn/index.js';
import { buildRetrievalContext, DEFAULT_DIAGNOSIS_METHOD, DEFAULT_METHOD, loadHpoa, profileFromHpoList } from '../../../src/retrieve/index.js';
import { readManifest } from '../../../src/sources/index.js';
import { ARRAYS_DIR } from '../../../src/store/index.js';
import { tinyStore } from '../cohort/helpers.js';

const quiet = () => undefined;
const { sin, PI } = Math;

/** A WFDB record (format 16, 250 Hz, 20 s): a regular "ECG" of narrow spikes on a slow wave. */
function writeEcg(dir: string, name: string, rate: number): string {
  const n = 250 * 20;
  const data = Buffer.alloc(n * 2);
  for (let t = 0; t < n; t++) {
    const beat = (t % Math.round(250 / rate)) < 4 ? 1 : 0;
    data.writeInt16LE(Math.round(200 * (beat + 0.1 * sin((2 * PI * t) / 250))), t * 2);
  }
  writeFileSync(join(dir, `${name}.dat`), data);
  writeFileSync(join(dir, `${name}.hea`), `${name} 1 250 ${n}\n${name}.dat 16 200/mV 16 0 0 0 0 ECG\n`);
  return join(dir, `${name}.hea`);
}

let dir: string;
let files: string;
let version: string;
let retrieval: EmbeddingRetrieval;
let ecgFile: string;

beforeAll(async () => {
  const t = await tinyStore();
  dir = t.dir;
  // Two ECG records of P-A and P-C, ingested as `harmonia ingest --manifest` does (outside the store
  // directory: opening a store for writing deletes files it does not know there).
  files = mkdtempSync(join(tmpdir(), 'harmonia-similar-'));
  ecgFile = writeEcg(files, 'ecg-a', 1.2);
  writeEcg(files, 'ecg-c', 2);
  writeFileSync(join(files, 'manifest.tsv'), `patient\tmodality\tpath\tsite\tlabel\nP-A\tecg\tecg-a.hea\ts1\t\nP-C\tecg\tecg-c.hea\ts1\tHP:0001250\n`);
  const { entries, problems } = readManifest(join(files, 'manifest.tsv'));
  await ingestRecords(t.store, entries, problems, { config: loadHarmonizationConfig(undefined, dir), arraysDir: join(dir, ARRAYS_DIR), arraysBase: dir, software: 'harmonia test' });
  await t.store.close();
  const config = mergeConfig({
    name: 'unit', dim: 8, phenotype: { batch: 4, maxTerms: 4, attention: 4 },
    signals: { ecg: { downsample: 10, patch: 10, dModel: 8, layers: 1, heads: 2, mlp: 8, batch: 2 }, eeg: null },
    termPairs: 4, negatives: 2, epochs: 1, stepsPerEpoch: 2, patience: 1,
    // No genomic encoder: a stored patient's vector is then its phenotypes' (and ECG's) alone, which the cosine-1 checks rely on.
    genotype: null,
  });
  version = (await train({ storeDir: dir, config, seed: 3, backend: 'cpu', software: 'harmonia test', log: quiet })).version;
  await embedStore({ storeDir: dir, backend: 'cpu', log: quiet });
  retrieval = await EmbeddingRetrieval.open({ storeDir: dir, backend: 'cpu', log: quiet });
}, 120_000);

afterAll(async () => {
  await retrieval?.dispose();
  rmSync(dir, { recursive: true, force: true });
  rmSync(files, { recursive: true, force: true });
});

describe('fusion', () => {
  const learned = Float64Array.from([0.9, 0.1, 0.5, 0.3]);
  const classical = Float64Array.from([0, 4, 3, 1]);

  test('reciprocal rank fusion adds 1 / (60 + rank) of both rankings; masked candidates drop out', () => {
    const f = fuse(learned, classical, { kind: 'rrf', k: 60 });
    // Candidate 2 is second in both rankings, candidate 0 first and last.
    expect(f[2]).toBeCloseTo(2 / 62, 12);
    expect(f[0]).toBeCloseTo(1 / 61 + 1 / 64, 12);
    const masked = fuse(learned, classical, { kind: 'rrf', k: 60 }, Uint8Array.from([1, 0, 0, 0]));
    expect(masked[0]).toBe(-Infinity);
    expect(masked[2]).toBeCloseTo(1 / 61 + 1 / 62, 12);
  });

  test('z-score fusion: weight 1 keeps the learned order, weight 0 the classical one; missing embeddings rank lowest', () => {
    const order = (s: Float64Array) => [...s.keys()].sort((a, b) => s[b] - s[a]);
    expect(order(fuse(learned, classical, { kind: 'zscore', weight: 1 }))).toEqual([0, 2, 3, 1]);
    expect(order(fuse(learned, classical, { kind: 'zscore', weight: 0 }))).toEqual([1, 2, 3, 0]);
    const missing = fuse(Float64Array.from([0.9, -Infinity, 0.5, 0.3]), classical, { kind: 'zscore', weight: 1 });
    expect(order(missing)[3]).toBe(1);
  });

  test('the validation choice is the best MRR, and the default when nothing was measured', () => {
    // Relevant is candidate 1: the classical ranking has it first, the learned one last.
    const q = { learned, classical, relevant: Uint8Array.from([0, 1, 0, 0]) };
    const c: FusionComparison = compareFusions([q], 'lin-bma+excl');
    expect(c.classical.mrr).toBe(1);
    expect(c.embedding.mrr).toBe(0.25);
    const chosen = chooseFusion(c);
    const i = FUSIONS.indexOf(chosen);
    expect(c.hybrid[i].mrr).toBe(Math.max(...c.hybrid.map((h) => h.mrr)));
    expect(c.hybrid[FUSIONS.findIndex((f) => f.kind === 'zscore' && f.weight === 0.2)].mrr).toBe(1);
    expect(chooseFusion(compareFusions([], 'x'))).toEqual({ kind: 'rrf', k: 60 });
  });
});

describe('similar --method embedding|hybrid', () => {
  const first = async <T>(g: AsyncGenerator<T>): Promise<T> => (await g.next()).value as T;

  test('a stored patient: the cosines of its stored embedding, itself excluded, best first', async () => {
    const r = await first(retrieval.similarAll({ patient: 'P-A' }, { method: 'embedding', top: 10 }));
    if ('error' in r) throw new Error(r.error);
    expect(r).toMatchObject({ query: 'P-A', method: 'embedding', model: version });
    expect(r.results.map((x) => x.patient)).not.toContain('P-A');
    expect(r.results).toHaveLength(4);
    const scores = r.results.map((x) => x.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    const v = retrieval.vectors;
    const cos = cosines(v.matrix, v.dim, v.matrix.subarray(v.row.get('P-A')! * v.dim, (v.row.get('P-A')! + 1) * v.dim));
    expect(r.results[0].score).toBeCloseTo(cos[v.row.get(r.results[0].patient)!], 5);
    const grouped = await first(retrieval.similarAll({ patient: 'P-A' }, { method: 'embedding', excludeSamePublication: true }));
    expect('results' in grouped && grouped.results.map((x) => x.patient)).not.toContain('P-B');
  });

  test('an HPO list is embedded like a phenotype-only patient: P-B’s own terms find P-B with cosine 1', async () => {
    const r = await first(retrieval.similarAll({ hpo: 'HP:0002373,-HP:0001249' }, { method: 'embedding', top: 2 }));
    if ('error' in r) throw new Error(r.error);
    expect(r.results[0]).toEqual({ patient: 'P-B', score: expect.closeTo(1, 5) });
  });

  test('hybrid fuses with lin-bma+excl, saves its fusion choice beside the model, explains with term pairs', async () => {
    const r = await first(retrieval.similarAll({ hpo: 'HP:0001250,HP:0001249' }, { method: 'hybrid', top: 3, explain: true }));
    if ('error' in r) throw new Error(r.error);
    expect(r.method).toBe('hybrid');
    expect(r.fusion).toMatch(/^(rrf60|zscore[\d.]+)\(embedding, lin-bma\+excl\)$/);
    // The top patient is the best of the fused scores, recomputed here from both halves.
    const ctx = buildRetrievalContext(retrieval.ontology, retrieval.profiles);
    const { profile } = profileFromHpoList(['HP:0001250', 'HP:0001249'], retrieval.ontology);
    const q = (await retrieval.queries({ hpo: 'HP:0001250,HP:0001249' }).next()).value as EmbeddedQuery;
    const fused = fuse(retrieval.learnedScores(q.vector), ctx.index.scoreAll(ctx.index.prepare(profile), DEFAULT_METHOD), FUSIONS[0]);
    expect(r.results[0].patient).toBe(retrieval.profiles[fused.indexOf(Math.max(...fused))].id);
    expect(r.results.map((x) => x.patient)).toContain('P-C');
    expect(r.results[0].explanation?.length).toBeGreaterThan(0);
    const saved = JSON.parse(readFileSync(join(modelDir(dir, version), 'fusion.json'), 'utf8')) as Record<string, { fusion: string; chosenOn: string }>;
    // Five patients in three publications: no validation patient has a relevant one outside its publication.
    expect(Object.values(saved)[0]).toMatchObject({ fusion: 'rrf60', chosenOn: expect.stringMatching(/^default/) });
  });

  test('an ECG file is harmonized as ingest does and embedded by the signal encoder', async () => {
    const sequences = await harmonizedSequences(ecgFile, 'ecg', dir);
    expect(sequences).toHaveLength(2);
    expect(sequences[0]).toHaveLength(2500);
    // The same record embedded from the query file and from the arrays ingest stored: the same vector.
    const model = loadTrainedModel(dir, version, retrieval.ontology);
    const [fromFile] = embedRecords(model, [{ iri: 'urn:q', id: 'q', patient: 'q', modality: 'ecg', sequences }]);
    model.dispose();
    const { OxigraphStore } = await import('../../../src/store/index.js');
    const store = await OxigraphStore.open(dir);
    const stored = [...(await storedEmbeddings(store, version, 'record', 'ecg')).values()];
    await store.close();
    expect(Math.max(...stored.map((s) => s.vector.reduce((a, x, d) => a + x * fromFile[d], 0)))).toBeCloseTo(1, 5);
    const r = await first(retrieval.similarAll({ record: ecgFile, modality: 'ecg' }, { method: 'embedding', top: 5 }));
    if ('error' in r) throw new Error(r.error);
    expect(r.results).toHaveLength(5);
    expect(r.query).toBe(ecgFile);
  });

  test('bad queries: one clear error each', async () => {
    const err = async (spec: Parameters<EmbeddingRetrieval['similarAll']>[0], method: 'embedding' | 'hybrid' = 'embedding') => {
      const r = await first(retrieval.similarAll(spec, { method }));
      return 'error' in r ? r.error : 'no error';
    };
    expect(await err({ record: ecgFile, modality: 'eeg' })).toMatch(/--modality eeg: the model has no eeg encoder \(it learns ecg\)/);
    expect(await err({ record: ecgFile, modality: 'xray' })).toMatch(/--modality xray: expected one of ecg, eeg, mri, oct, vcf, maf/);
    // An ECG header given as an MRI: the imaging reader's own error, naming the file.
    expect(await err({ record: ecgFile, modality: 'mri' })).toMatch(/ecg-a\.hea.*not a DICOM file/);
    expect(await err({ record: ecgFile, modality: 'ecg' }, 'hybrid')).toMatch(/--method hybrid needs an observed HPO term/);
    expect(await err({ patient: 'P-X' })).toMatch(/unknown patient 'P-X'/);
    expect(await err({ hpo: 'HP:9999999' })).toMatch(/empty profile: no HPO term of the query is in the model's vocabulary/);
  });
});

describe('diagnose --method embedding|hybrid', () => {
  const hpoaText = [
    '#description: tiny',
    '#DatabaseID\tDiseaseName\tQualifier\tHPO_ID\tReference\tEvidence\tOnset\tFrequency\tSex\tModifier\tAspect\tBiocuration',
    'OMIM:1\tFebrile one\t\tHP:0002373\tOMIM:1\tTAS\t\t\t\t\tP\tHPO:t',
    'OMIM:1\tFebrile one\tNOT\tHP:0001249\tOMIM:1\tTAS\t\t\t\t\tP\tHPO:t',
    'OMIM:2\tSeizures with ID\t\tHP:0001250\tOMIM:2\tTAS\t\t\t\t\tP\tHPO:t',
    'OMIM:2\tSeizures with ID\t\tHP:0001249\tOMIM:2\tTAS\t\t1/2\t\t\tP\tHPO:t',
    'OMIM:3\tDelay\t\tHP:0001263\tOMIM:3\tTAS\t\tHP:0040283\t\t\tP\tHPO:t',
  ].join('\n') + '\n';

  test('diseases embedded as pseudo-patients, cached beside the model; a disease’s own profile ranks it first', async () => {
    writeFileSync(join(files, 'tiny.hpoa'), hpoaText);
    const hpoa = loadHpoa(join(files, 'tiny.hpoa'), retrieval.ontology);
    const first = await retrieval.diagnoseAll({ hpo: 'HP:0002373,-HP:0001249' }, hpoa, { method: 'embedding', top: 3 }).next();
    const r = first.value!;
    if ('error' in r) throw new Error(r.error);
    // OMIM:1's every draw is its one term with its NOT term excluded: the query's own set.
    expect(r.results[0]).toMatchObject({ disease: 'OMIM:1', label: 'Febrile one', score: expect.closeTo(1, 5) });
    expect(r.results).toHaveLength(3);
    const { vectors } = await retrieval.diseases(hpoa);
    expect(existsSync(`${vectors.file}.npy`) && existsSync(`${vectors.file}.keys.json`)).toBe(true);
    const again = await EmbeddingRetrieval.open({ storeDir: dir, backend: 'cpu', log: quiet });
    expect((await again.diseases(hpoa)).vectors).toMatchObject({ cached: true, ids: ['OMIM:1', 'OMIM:2', 'OMIM:3'] });
    const hybrid = (await again.diagnoseAll({ patient: 'P-C' }, hpoa, { method: 'hybrid' }).next()).value!;
    if ('error' in hybrid) throw new Error(hybrid.error);
    expect(hybrid).toMatchObject({ method: 'hybrid', fusion: `rrf60(embedding, ${DEFAULT_DIAGNOSIS_METHOD})` });
    expect(hybrid.results[0].disease).toBe('OMIM:2');
    await again.dispose();
  });
});

describe('eval embeddings progress', () => {
  test('phase by phase, each counting up to its total, all of one version; the evaluation the same without it', async () => {
    // A copy of the model with its own splits: five patients in three papers leave the trained model's test split empty.
    const copy = `${version}-eval`;
    cpSync(modelDir(dir, version), modelDir(dir, copy), { recursive: true });
    writeFileSync(join(modelDir(dir, copy), 'splits.json'), JSON.stringify({ 'P-A': 'test', 'P-B': 'validation', 'P-C': 'test', 'P-D': 'test', 'P-E': 'validation' }));
    await embedStore({ storeDir: dir, version: copy, backend: 'cpu', log: quiet });
    // The fixture patients' diagnoses, so that disease ranking has queries.
    writeFileSync(join(files, 'eval.hpoa'), [
      '#DatabaseID\tDiseaseName\tQualifier\tHPO_ID\tReference\tEvidence\tOnset\tFrequency\tSex\tModifier\tAspect\tBiocuration',
      'OMIM:607208\tDravet\t\tHP:0002373\tOMIM:607208\tTAS\t\t\t\t\tP\tHPO:t',
      'OMIM:607208\tDravet\t\tHP:0007359\tOMIM:607208\tTAS\t\t\t\t\tP\tHPO:t',
      'OMIM:612164\tSTXBP1 encephalopathy\t\tHP:0001250\tOMIM:612164\tTAS\t\t\t\t\tP\tHPO:t',
      'OMIM:612164\tSTXBP1 encephalopathy\t\tHP:0001249\tOMIM:612164\tTAS\t\t\t\t\tP\tHPO:t',
    ].join('\n') + '\n');
    const options = { storeDir: dir, versions: [copy], annotations: join(files, 'eval.hpoa'), plotsDir: join(files, 'plots'), log: quiet };
    const calls: { phase: string; done: number; total: number; version: string }[] = [];
    const watched = await evaluateEmbeddings({ ...options, onProgress: (phase, done, total, v) => void calls.push({ phase, done, total, version: v }) });
    expect(await evaluateEmbeddings(options)).toEqual(watched);
    const [m] = watched.models;
    expect(m.diseaseRanking && 'all' in m.diseaseRanking && m.diseaseRanking.all.queries).toBe(2);
    const phases = [...new Set(calls.map((c) => c.phase))];
    expect(phases).toEqual(['embedding patients (phenotypes only)', 'embedding disease profiles', 'classification', 'separation', 'ontology', 'retrieval', 'disease ranking', 'plots']);
    for (const phase of phases) {
      const mine = calls.filter((c) => c.phase === phase);
      // One run per phase, done rising to a total that stays put.
      expect(calls.slice(calls.indexOf(mine[0]), calls.indexOf(mine[0]) + mine.length)).toEqual(mine);
      expect(mine.every((c, i) => c.total === mine[0].total && c.done > (i ? mine[i - 1].done : 0))).toBe(true);
      expect(mine[mine.length - 1].done).toBe(mine[0].total);
    }
    const total = (phase: string) => calls.find((c) => c.phase === phase)!.total;
    expect(calls.every((c) => c.version === copy)).toBe(true);
    expect(total('embedding patients (phenotypes only)')).toBe(5);
    expect(total('classification')).toBe(m.classification.length);
    expect(total('ontology')).toBe(m.ontology.pairs);
    // Validation P-B and P-E; test P-A, P-C and P-D three times: the methods side by side, `eval retrieval`'s figures, phenotypes alone.
    expect(total('retrieval')).toBe(2 + 3 * 3);
    expect(total('disease ranking')).toBe(2 + 3);
    expect(total('plots')).toBe(m.plots.length);
  }, 60_000);
});
