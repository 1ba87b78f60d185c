import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadHarmonizationConfig } from '../../../src/harmonize/dispatch.js';
import { ensureOntology, ingestRecords } from '../../../src/ingest/index.js';
import { auroc, decodeVector, embeddingGraph, MODELS_DIR, type ModelCard } from '../../../src/learn/index.js';
import { HX } from '../../../src/model/index.js';
import { loadOntology } from '../../../src/ontology/index.js';
import { readManifest } from '../../../src/sources/index.js';
import { ARRAYS_DIR, OxigraphStore } from '../../../src/store/index.js';
import { dataDir, miniHpo, repoRoot, tempDir } from '../../helpers/paths.js';
import { writeAdrenalVolumes, type AdrenalRecord } from './medmnist.js';

const data = dataDir();
const describeWithData = data ? describe : describe.skip;
if (!data) console.warn('learning integration tests skipped: no data directory (../shared/data or HARMONIA_DATA)');

const harmonia = (...args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'bin', 'harmonia'), ...args], { encoding: 'utf8', timeout: 120_000 });

describeWithData('train, embed and zero-shot classify on the real PhysioNet 2017 AF and normal ECGs', () => {
  const dir = tempDir();
  const storeDir = join(dir.path, 'store');
  let card: ModelCard;
  beforeAll(async () => {
    // The 400 AF (A) and normal (N) records of the subset, each its own subject; AF records carry HP:0005110.
    const D = data!;
    const rows = readFileSync(join(D, 'ecg/physionet2017/REFERENCE-subset.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
    const manifest = join(dir.path, 'manifest.tsv');
    writeFileSync(manifest, ['patient\tmodality\tpath\tsite\tlabel', ...rows.filter(([, l]) => l === 'A' || l === 'N').map(([id, l]) => `PN17-${id}\tecg\t${D}/ecg/physionet2017/records/${id}.mat\tphysionet2017\t${l === 'A' ? 'HP:0005110' : ''}`)].join('\n') + '\n');
    const store = await OxigraphStore.open(storeDir, { create: true, write: true });
    await ensureOntology(store, loadOntology(miniHpo));
    const { entries, problems } = readManifest(manifest);
    const s = await ingestRecords(store, entries, problems, { config: loadHarmonizationConfig(undefined, D), arraysDir: join(storeDir, ARRAYS_DIR), arraysBase: storeDir, software: 'harmonia test' });
    expect(s.records).toEqual({ ecg: 400 });
    await store.close();
    writeFileSync(join(dir.path, 'tiny.yml'), [
      'name: tiny', 'dim: 32', 'phenotype: { batch: 8, maxTerms: 8, attention: 16 }',
      'signals:', '  ecg: { downsample: 5, patch: 10, dModel: 32, layers: 1, heads: 2, mlp: 64, batch: 32 }', '  eeg: null',
      'epochs: 3', 'stepsPerEpoch: 25', 'patience: 3', 'termPairs: 16', 'negatives: 8', 'learningRate: 0.003',
    ].join('\n') + '\n');
  }, 120_000);
  afterAll(() => dir.remove());

  test('harmonia train: progress on stderr, checkpoints and a model card with subject splits', () => {
    const r = harmonia('train', '--store', storeDir, '--config', join(dir.path, 'tiny.yml'), '--seed', '11');
    expect(r.stderr).toMatch(/learn: backend wasm \(tfjs 4\.22\.0, simd true/);
    expect(r.stderr).toMatch(/learn: epoch 3\/3 total [\d.]+ views [\d.]+ alignment [\d.]+ .*\| validation [\d.]+.*\| [\d.]+ steps\/s \| ETA/);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { version: string };
    card = JSON.parse(readFileSync(join(storeDir, MODELS_DIR, out.version, 'model-card.json'), 'utf8')) as ModelCard;
    expect(card).toMatchObject({ seed: 11, backend: { name: 'wasm' }, losses: { enabled: ['crossModal', 'views', 'alignment', 'ontology', 'reconstruction', 'maskedVariants'] }, time: { steps: 75 } });
    expect(card.splits.records.train + card.splits.records.validation + card.splits.records.test).toBe(400);
    expect(card.splits.records.test).toBeGreaterThan(50);
    expect(card.history).toHaveLength(3);
  }, 120_000);

  test('harmonia train --resume of a finished run keeps its result', () => {
    const r = harmonia('train', '--store', storeDir, '--config', join(dir.path, 'tiny.yml'), '--seed', '11', '--resume');
    expect(r.stderr).toMatch(/resuming tiny-s11-\w+ after epoch 3 \(75 steps\)/);
    expect(JSON.parse(r.stdout).test).toEqual(card.metrics.test);
  }, 120_000);

  test('harmonia embed and classify: held-out AF records score higher for HP:0005110 than normal ones', async () => {
    const e = harmonia('embed', '--store', storeDir);
    expect(e.status).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ version: card.version, dimension: 32, patients: 400, records: { ecg: 400 } });
    const c = harmonia('classify', '--store', storeDir, '--modality', 'ecg', '--term', 'HP:0005110', '--json');
    expect(c.status).toBe(0);
    const lines = c.stdout.trim().split('\n').map((l) => JSON.parse(l) as { record: string; patient: string; score: number });
    expect(lines).toHaveLength(400);
    expect(Object.keys(lines[0])).toEqual(['record', 'patient', 'score']);
    const splits = JSON.parse(readFileSync(join(storeDir, MODELS_DIR, card.version, 'splits.json'), 'utf8')) as Record<string, string>;
    const labels = new Map(readFileSync(join(data!, 'ecg/physionet2017/REFERENCE-subset.csv'), 'utf8').trim().split('\n').map((l) => l.split(',')).map(([id, l]) => [`PN17-${id}`, l]));
    const test = lines.filter((l) => splits[l.patient] === 'test');
    const value = auroc(test.map((l) => l.score), test.map((l) => labels.get(l.patient) === 'A'));
    console.log(`zero-shot AF vs normal AUROC on ${test.length} held-out records (tiny config): ${value.toFixed(3)}`);
    // Chance is 0.5; with ~80 held-out records one standard error is about 0.06.
    expect(value).toBeGreaterThan(0.6);
    // The same number the model card computed from the model itself.
    expect(value).toBeCloseTo(card.metrics.test[0].auroc, 2);
    // The vectors are in the graph, in the model's own graph, decodable and unit length.
    const store = await OxigraphStore.open(storeDir);
    const rows = await store.select(`SELECT ?kind (COUNT(?e) AS ?n) WHERE { GRAPH <${embeddingGraph(card.version)}> { ?e a <${HX}Embedding> ; <${HX}embeddingKind> ?kind ; <${HX}dimension> 32 ; <${HX}modelVersion> "${card.version}" } } GROUP BY ?kind ORDER BY ?kind`);
    expect(rows.map((r) => [r.kind, r.n])).toEqual([['patient', '400'], ['record', '400'], ['term', '9']]);
    const [v] = await store.select(`SELECT ?v WHERE { ?t <${HX}embedding> ?e . ?e <${HX}vector> ?v FILTER(?t = <http://purl.obolibrary.org/obo/HP_0005110>) }`);
    expect(decodeVector(v.v!).reduce((s, x) => s + x * x, 0)).toBeCloseTo(1, 4);
    await store.close();
  }, 120_000);

  test('bad input: one clear error', () => {
    expect(harmonia('classify', '--store', storeDir, '--modality', 'ecg', '--term', 'AF').stderr).toMatch(/--term AF: expected an HPO id/);
    expect(harmonia('train', '--store', storeDir, '--preset', 'fast').stderr).toMatch(/--preset fast: expected quick or full/);
    expect(harmonia('classify', '--store', storeDir, '--modality', 'eeg', '--term', 'HP:0001250').stderr).toMatch(/--modality eeg: no record embeddings of that modality/);
  }, 60_000);
});

describeWithData('train, embed and zero-shot classify on the real AdrenalMNIST3D volumes (hyperplasia vs normal), MedMNIST test split held out', () => {
  const dir = tempDir();
  const storeDir = join(dir.path, 'store');
  let volumes: AdrenalRecord[];
  let card: ModelCard;
  beforeAll(async () => {
    // Every volume of the three MedMNIST splits (1,188 train, 98 validation, 298 test).
    const D = data!;
    volumes = await writeAdrenalVolumes(join(D, 'mri/medmnist3d/adrenalmnist3d.npz'), dir.path, { train: 1188, val: 98, test: 298 });
    const manifest = join(dir.path, 'manifest.tsv');
    writeFileSync(manifest, ['patient\tmodality\tpath\tsite\tlabel', ...volumes.map((v) => `${v.patient}\tmri\t${v.path}\tadrenalmnist3d\t${v.hyperplasia ? 'HP:0008221' : ''}`)].join('\n') + '\n');
    // The volumes are binary shape masks (0/255), not intensity images: kept at their 28^3 grid,
    // neither clipped nor z-scored (a constant foreground cannot be z-scored).
    const harmonization = join(dir.path, 'harmonization.json');
    writeFileSync(harmonization, JSON.stringify({ mri: { resample: null, clip: null, normalize: 'none' } }));
    const store = await OxigraphStore.open(storeDir, { create: true, write: true });
    await ensureOntology(store, loadOntology(miniHpo));
    const { entries, problems } = readManifest(manifest);
    const s = await ingestRecords(store, entries, problems, { config: loadHarmonizationConfig(harmonization, D), arraysDir: join(storeDir, ARRAYS_DIR), arraysBase: storeDir, software: 'harmonia test' });
    expect(s.records).toEqual({ mri: volumes.length });
    await store.close();
    // 64 patches of 7^3 per volume; 4 x 20 steps of 16 volumes (two views each). Learning rate and
    // mask ratio chosen on the validation split (docs/learning.md).
    writeFileSync(join(dir.path, 'tiny.yml'), [
      'name: adrenal', 'dim: 32', 'phenotype: { batch: 8, maxTerms: 8, attention: 16 }',
      'signals: {}', 'imaging:', '  mri: { shape: [28, 28, 28], patch: [7, 7, 7], dModel: 32, layers: 1, heads: 2, mlp: 64, batch: 16 }', '  oct: null',
      'epochs: 4', 'stepsPerEpoch: 20', 'patience: 4', 'termPairs: 16', 'negatives: 8', 'learningRate: 0.005', 'maskRatio: 0.25',
      "split: { assign: { train: '^AMN3D-train-', validation: '^AMN3D-val-', test: '^AMN3D-test-' } }",
    ].join('\n') + '\n');
  }, 180_000);
  afterAll(() => dir.remove());

  test('harmonia train: the MedMNIST split is honoured and held-out hyperplasia volumes score higher for HP:0008221', () => {
    const started = Date.now();
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'harmonia'), 'train', '--store', storeDir, '--config', join(dir.path, 'tiny.yml'), '--seed', '3'], { encoding: 'utf8', timeout: 400_000 });
    expect(r.stderr).toMatch(/learn: epoch 4\/4 total [\d.]+ views [\d.]+ alignment [\d.]+ .*reconstruction [\d.]+ \| validation/);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { version: string };
    card = JSON.parse(readFileSync(join(storeDir, MODELS_DIR, out.version, 'model-card.json'), 'utf8')) as ModelCard;
    expect(card.splits.records).toEqual({ train: 1188, validation: 98, test: 298 });
    expect(card.losses.enabled).toContain('reconstruction');
    const [task] = card.metrics.test;
    expect(task).toMatchObject({ modality: 'mri', term: 'HP:0008221', records: 298, positives: volumes.filter((v) => v.split === 'test' && v.hyperplasia).length });
    console.log(`zero-shot adrenal hyperplasia vs normal AUROC on the ${task.records} AdrenalMNIST3D test volumes (tiny config, ${card.time.steps} steps, ${card.time.seconds} s training, ${Math.round((Date.now() - started) / 1000)} s in all): ${task.auroc.toFixed(3)}; validation ${card.metrics.validation[0]?.auroc.toFixed(3)}; reconstruction loss per epoch ${card.history.map((h) => h.losses.reconstruction).join(', ')}`);
    // Chance is 0.5; with 69 positives among 298 one standard error is about 0.035.
    expect(task.auroc).toBeGreaterThan(0.6);
    // The self-supervised loss fell during training.
    expect(card.history[card.history.length - 1].losses.reconstruction!).toBeLessThan(card.history[0].losses.reconstruction!);
  }, 420_000);

  test('harmonia embed and classify --modality mri give the model card\'s test AUROC', () => {
    const e = harmonia('embed', '--store', storeDir);
    expect(e.status).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ version: card.version, records: { mri: volumes.length } });
    const c = harmonia('classify', '--store', storeDir, '--modality', 'mri', '--term', 'HP:0008221', '--json');
    expect(c.status).toBe(0);
    const lines = c.stdout.trim().split('\n').map((l) => JSON.parse(l) as { record: string; patient: string; score: number });
    expect(lines).toHaveLength(volumes.length);
    const label = new Map(volumes.map((v) => [v.patient, v]));
    const test = lines.filter((l) => label.get(l.patient)!.split === 'test');
    expect(auroc(test.map((l) => l.score), test.map((l) => label.get(l.patient)!.hyperplasia))).toBeCloseTo(card.metrics.test[0].auroc, 2);
  }, 120_000);
});
