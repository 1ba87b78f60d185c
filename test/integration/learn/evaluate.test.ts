import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { trapezoid } from '../../../src/cli/evaluation-file.js';
import { loadHarmonizationConfig } from '../../../src/harmonize/dispatch.js';
import { ensureOntology, ingestPhenopackets, ingestRecords } from '../../../src/ingest/index.js';
import { auroc, MODELS_DIR, splitOf } from '../../../src/learn/index.js';
import type { EmbeddingEvaluation } from '../../../src/learn/evaluate.js';
import { loadOntology, Ontology } from '../../../src/ontology/index.js';
import { buildRetrievalContext, evaluateRetrieval, loadHpoa, profilesFromStore } from '../../../src/retrieve/index.js';
import { readJsonDocuments, readManifest } from '../../../src/sources/index.js';
import type { SavedEvaluation } from '../../../src/server/evaluation.js';
import { ARRAYS_DIR, OxigraphStore } from '../../../src/store/index.js';
import { realFiles } from '../../helpers/real-store.js';
import { dataDir, repoRoot, tempDir } from '../../helpers/paths.js';

// The semi-synthetic cohort on real data, end to end: real PhysioNet 2017 ECGs (AF and normal, from
// two folders used as two sites) linked to real dev phenopackets (the cohorts where every one of the
// 34 patients observing atrial fibrillation, HP:0005110 or a descendant, is found, plus five others),
// a tiny model trained and embedded, then `harmonia eval embeddings`.

const data = dataDir();
const describeWithData = data ? describe : describe.skip;
if (!data) console.warn('eval embeddings integration tests skipped: no data directory (../shared/data or HARMONIA_DATA)');

const harmonia = (...args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'bin', 'harmonia'), ...args], { encoding: 'utf8', timeout: 150_000 });
const AF = 'HP:0005110';
const COHORTS = new Set(['LMNA', 'EMD', 'HCN4', 'KCNJ2', 'CORIN', 'SPINK5', 'RPGRIP1', 'TGFBR2', 'MPV17', 'ATP13A2']);
const PER_SITE = 40;
const FRACTIONS = { validation: 0.25, test: 0.25 };

/**
 * The real HPO cut down to the terms these phenopackets name and their ancestors (plus AF): the same
 * classes and edges where the cohort is, and every command loads and embeds ~10x fewer terms.
 */
function prunedHpo(full: Ontology, text: string): Ontology {
  const keep = new Set<string>();
  for (const id of new Set([...(text.match(/HP:\d{7}/g) ?? []), AF])) {
    const r = full.resolve(id);
    if (full.get(id)) keep.add(id);
    if ('id' in r && r.id) for (const a of full.ancestors(r.id)) keep.add(a);
  }
  const data = full.toData();
  return new Ontology({ ...data, terms: data.terms.filter((t) => keep.has(t.id)) });
}

interface Links {
  seed: number;
  findings: Record<string, { subjects: number; linked: number; carriers: number; publications: number }>;
  links: { subject: string; patient: string; publication: string; findings: string[] }[];
  simulated: string;
}

describeWithData('simulate-links and eval embeddings on real ECGs and real phenopackets', () => {
  const dir = tempDir();
  const storeDir = join(dir.path, 'store');
  const linked = join(dir.path, 'linked.tsv');
  const plots = join(dir.path, 'plots');
  let links: Links;
  let seed = 0;
  let version: string;
  let evaluation: EmbeddingEvaluation;

  beforeAll(async () => {
    const D = data!;
    const { hpo, phenopackets } = realFiles(D);
    const lines: string[] = [];
    for await (const r of readJsonDocuments([phenopackets])) if (COHORTS.has((r.origin.entry ?? '').split('/')[0])) lines.push(JSON.stringify(r.json));
    writeFileSync(join(dir.path, 'patients.jsonl'), lines.join('\n') + '\n');
    const store = await OxigraphStore.open(storeDir, { create: true, write: true });
    await ensureOntology(store, prunedHpo(loadOntology(hpo), lines.join('\n')));
    const s = await ingestPhenopackets(store, [join(dir.path, 'patients.jsonl')]);
    expect(s.accepted).toBe(502);
    await store.close();
    // 40 AF and 40 normal records from each folder; each record is its own subject.
    const pick = (folder: string, table: string, label: string) =>
      readFileSync(join(D, 'ecg', folder, table), 'utf8').trim().split(/\r?\n/).map((l) => l.split(',')).filter(([, l]) => l === label).slice(0, PER_SITE)
        .map(([id]) => `${folder}-${id}\tecg\t${D}/ecg/${folder}/records/${id}.mat\t${folder}\t${label === 'A' ? AF : ''}`);
    writeFileSync(join(dir.path, 'records.tsv'), ['patient\tmodality\tpath\tsite\tlabel',
      ...pick('physionet2017', 'REFERENCE-subset.csv', 'A'), ...pick('physionet2017', 'REFERENCE-subset.csv', 'N'),
      ...pick('physionet2017-train', 'REFERENCE.csv', 'A'), ...pick('physionet2017-train', 'REFERENCE.csv', 'N')].join('\n') + '\n');
  }, 120_000);
  afterAll(() => dir.remove());

  test('simulate-links refuses to reuse patients silently: 80 AF subjects, 34 carriers', () => {
    const r = harmonia('simulate-links', '--store', storeDir, '--manifest', join(dir.path, 'records.tsv'), '--out', join(dir.path, 'refused.tsv'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/HP:0005110 \(Atrial fibrillation\): 80 record subjects but 34 patients carry it \(observed, or a descendant\) in \d+ publications; 34 can be linked with --max-per-patient 1/);
    expect(existsSync(join(dir.path, 'refused.tsv'))).toBe(false);
  }, 60_000);

  test('simulate-links --max-per-patient 3: AF records to real AF patients, normal ones to patients without it', async () => {
    const r = harmonia('simulate-links', '--store', storeDir, '--manifest', join(dir.path, 'records.tsv'), '--out', linked, '--seed', '5', '--max-per-patient', '3');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ subjects: 160, linked: 160, unlinked: 0, records: 160 });
    links = JSON.parse(readFileSync(`${linked}.links.json`, 'utf8')) as Links;
    expect(links.findings[AF]).toMatchObject({ subjects: 80, linked: 80, carriers: 34 });
    // Checked against the store: each AF subject's patient observes AF or a descendant, no normal subject's does.
    const store = await OxigraphStore.open(storeDir);
    const ontology = (await store.ontology())!;
    const profiles = new Map((await profilesFromStore(store)).map((p) => [p.id, p]));
    await store.close();
    const carries = (id: string) => profiles.get(id)!.observed.some((t) => ontology.isA(t, AF));
    const uses = new Map<string, number>();
    for (const l of links.links) {
      expect(carries(l.patient)).toBe(l.findings.includes(AF));
      expect(l.publication).toBe(profiles.get(l.patient)!.publications[0]);
      uses.set(l.patient, (uses.get(l.patient) ?? 0) + 1);
    }
    expect(Math.max(...uses.values())).toBeLessThanOrEqual(3);
    // The manifest: the same rows, the patient column replaced.
    const { entries, problems } = readManifest(linked);
    expect(problems).toEqual([]);
    const original = readManifest(join(dir.path, 'records.tsv')).entries;
    const patientOf = new Map(links.links.map((l) => [l.subject, l.patient]));
    expect(entries.map((e) => [e.patient, e.path, e.site, e.label])).toEqual(original.map((e) => [patientOf.get(e.patient), e.path, e.site, e.label]));
  }, 90_000);

  test('train and embed a tiny model on the linked records, splits by publication', async () => {
    const store = await OxigraphStore.open(storeDir, { write: true });
    const { entries, problems } = readManifest(linked);
    const s = await ingestRecords(store, entries, problems, { config: loadHarmonizationConfig(undefined, data!), arraysDir: join(storeDir, ARRAYS_DIR), arraysBase: storeDir, software: 'harmonia test' });
    expect(s).toMatchObject({ records: { ecg: 160 }, patientsCreated: 0 });
    await store.close();
    // A seed whose publication split puts AF-linked publications in validation and in test (chosen before training, from the links alone).
    const afPubs = [...new Set(links.links.filter((l) => l.findings.includes(AF)).map((l) => l.publication))];
    const afRecordsIn = (sd: number, split: string) => links.links.filter((l) => l.findings.includes(AF) && splitOf(l.publication, sd, FRACTIONS) === split).length;
    seed = [...Array(200).keys()].map((i) => i + 1).find((sd) => afRecordsIn(sd, 'validation') >= 8 && afRecordsIn(sd, 'test') >= 8)!;
    expect(seed).toBeDefined();
    expect(afPubs.length).toBeGreaterThanOrEqual(5);
    writeFileSync(join(dir.path, 'tiny.yml'), [
      'name: tiny', 'dim: 32', 'phenotype: { batch: 16, maxTerms: 8, attention: 16 }',
      'signals:', '  ecg: { downsample: 5, patch: 10, dModel: 32, layers: 1, heads: 2, mlp: 64, batch: 32 }', '  eeg: null', 'imaging: null',
      'epochs: 3', 'stepsPerEpoch: 20', 'patience: 3', 'termPairs: 16', 'negatives: 8', 'learningRate: 0.003',
      `split: { validation: ${FRACTIONS.validation}, test: ${FRACTIONS.test} }`,
    ].join('\n') + '\n');
    const t = harmonia('train', '--store', storeDir, '--config', join(dir.path, 'tiny.yml'), '--seed', String(seed));
    expect(t.status).toBe(0);
    version = (JSON.parse(t.stdout) as { version: string }).version;
    const splits = JSON.parse(readFileSync(join(storeDir, MODELS_DIR, version, 'splits.json'), 'utf8')) as Record<string, string>;
    // Every linked patient's split is its publication's: the link kept the grouping.
    for (const l of links.links) expect(splits[l.patient]).toBe(splitOf(l.publication, seed, FRACTIONS));
    const e = harmonia('embed', '--store', storeDir);
    expect(e.status).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ version, records: { ecg: 160 } });
  }, 150_000);

  test('harmonia eval embeddings --json --plots: zero-shot AF, retrieval beside the classical default, separation, PNGs', async () => {
    const r = harmonia('eval', 'embeddings', '--store', storeDir, '--json', '--plots', plots, '--annotations', join(data!, 'annotations', 'phenotype.hpoa.gz'));
    expect(r.status).toBe(0);
    evaluation = JSON.parse(r.stdout) as EmbeddingEvaluation;
    expect(evaluation.models).toHaveLength(1);
    const m = evaluation.models[0];
    expect(m.version).toBe(version);
    expect(m.losses?.enabled).toContain('crossModal');
    const splits = JSON.parse(readFileSync(join(storeDir, MODELS_DIR, version, 'splits.json'), 'utf8')) as Record<string, string>;
    // Classification: the AF task, its test positives exactly the AF records linked to test patients.
    const [task] = m.classification;
    expect(task).toMatchObject({ modality: 'ecg', term: AF, label: 'Atrial fibrillation', records: links.links.filter((l) => splits[l.patient] === 'test').length });
    expect(task.positives).toBe(links.links.filter((l) => l.findings.includes(AF) && splits[l.patient] === 'test').length);
    // The same AUROC as computed here from `harmonia classify` and splits.json.
    const c = harmonia('classify', '--store', storeDir, '--modality', 'ecg', '--term', AF, '--json');
    const rows = c.stdout.trim().split('\n').map((l) => JSON.parse(l) as { record: string; patient: string; score: number });
    const afSubjects = new Set(links.links.filter((l) => l.findings.includes(AF)).map((l) => l.patient));
    const byPatient = new Map<string, number>();
    for (const l of links.links) byPatient.set(l.patient, (byPatient.get(l.patient) ?? 0) + 1);
    const test = rows.filter((x) => splits[x.patient] === 'test');
    expect(test).toHaveLength(task.records);
    // A patient linked to AF records carries only AF records (AF carriers never receive normal ones).
    expect(task.auroc).toBeCloseTo(auroc(test.map((x) => x.score), test.map((x) => afSubjects.has(x.patient))), 3);
    console.log(`eval embeddings (tiny model, seed ${seed}): AF test AUROC ${task.auroc} on ${task.records} records (${task.positives} AF); F1 ${JSON.stringify(task.f1)}; ECE ${JSON.stringify((task.calibration as { ece?: number }).ece)}`);
    expect(task.auroc!).toBeGreaterThan(0.5);
    expect('threshold' in task.f1).toBe(true);
    if ('threshold' in task.f1) {
      expect(task.f1.f1).toBeGreaterThan(0);
      expect(task.f1.f1).toBeLessThanOrEqual(1);
    }
    expect('ece' in task.calibration).toBe(true);
    if ('ece' in task.calibration) {
      expect(task.calibration.ece).toBeGreaterThanOrEqual(0);
      expect(task.calibration.ece).toBeLessThan(0.5);
      expect(task.calibration.bins.reduce((s, b) => s + b.count, 0)).toBe(task.records);
    }
    // Retrieval: the classical figures equal harmonia eval retrieval's on the same queries.
    expect('embedding' in m.retrieval).toBe(true);
    if ('embedding' in m.retrieval) {
      const ret = m.retrieval;
      console.log(`retrieval on ${ret.queries} test queries: ${JSON.stringify({ embedding: ret.embedding, classical: { ...ret.classical, evaluateRetrieval: undefined }, hybrid: ret.hybrid })}`);
      expect(ret.embedding.queries).toBe(ret.queries);
      expect(ret.classical.queries).toBe(ret.queries);
      const store = await OxigraphStore.open(storeDir);
      const ontology = (await store.ontology())!;
      const profiles = await profilesFromStore(store);
      await store.close();
      const queries = profiles.filter((p) => splits[p.id] === 'test');
      // eval embeddings was given --annotations: the classical IC comes from them, as `similar --annotations`.
      const official = evaluateRetrieval(buildRetrievalContext(ontology, profiles, { annotations: loadHpoa(join(data!, 'annotations', 'phenotype.hpoa.gz'), ontology) }), queries);
      expect(official.queries).toBe(ret.queries);
      expect([ret.classical['recall@1'], ret.classical['recall@10'], ret.classical.mrr]).toEqual([official.hit1, official.hit10, official.mrr]);
      expect(ret.classical['recall@5']!).toBeGreaterThanOrEqual(ret.classical['recall@1']!);
      expect(ret.classical['recall@10']!).toBeGreaterThanOrEqual(ret.classical['recall@5']!);
      expect('fusion' in ret.hybrid).toBe(true);
      // Single-modality baselines: the same test queries, each patient re-embedded from one modality.
      console.log(`single-modality retrieval: ${JSON.stringify(ret.singleModality)}`);
      expect(ret.singleModality.map((x) => x.method)).toEqual(['embedding:phenotype', 'embedding:genotype']);
      expect(ret.singleModality[0].queries).toBe(ret.queries);
      expect(ret.singleModality[1].queries).toBeGreaterThan(0);
    }
    // Zero-shot disease ranking of test patients from their phenotypes, seen and unseen diseases apart.
    const dr = m.diseaseRanking!;
    expect('all' in dr).toBe(true);
    if ('all' in dr) {
      console.log(`zero-shot disease ranking: ${JSON.stringify({ diseases: dr.diseases, all: dr.all, unseen: dr.unseen, fusion: dr.fusion })}`);
      expect(dr.all.queries).toBeGreaterThan(10);
      expect(dr.seen.queries + dr.unseen.queries).toBe(dr.all.queries);
      expect(dr.all.classical.mrr).toBeGreaterThan(0.05);
      // Far above chance (1 / diseases) even for a tiny model.
      expect(dr.all.embedding.mrr).toBeGreaterThan(20 / dr.diseases);
    }
    // Separation: two sites, two findings, on test records.
    const sep = m.separation.find((x) => x.of === 'records')!;
    expect(sep).toMatchObject({ modality: 'ecg', points: task.records, groups: { site: 2, disease: 2 } });
    expect(sep.knn.siteChance).toBeGreaterThanOrEqual(0.5);
    console.log(`separation: ${JSON.stringify(m.separation)}; ontology ${JSON.stringify(m.ontology)}`);
    expect(m.ontology.pairs).toBeGreaterThan(300);
    expect(m.ontology.spearman).not.toBeNull();
    // Plots: real PNGs.
    expect(m.plots.map((p) => p.slice(plots.length + 1))).toEqual(expect.arrayContaining([
      `${version}.roc.png`, `${version}.reliability.png`, `${version}.map-ecg-records-by-finding.png`, `${version}.map-ecg-records-by-site.png`, `${version}.ontology-distance.png`,
    ]));
    for (const p of m.plots) {
      const png = readFileSync(p);
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([720, 520]);
      const idat = png.indexOf('IDAT');
      expect(inflateSync(png.subarray(idat + 4, idat + 4 + png.readUInt32BE(idat - 4))).length).toBe(520 * (720 * 4 + 1));
    }
    // Saved beside the model for the web interface: the printed entry, and each task's ROC curve, its area the AUROC.
    const saved = JSON.parse(readFileSync(join(storeDir, MODELS_DIR, version, 'evaluation.json'), 'utf8')) as SavedEvaluation;
    expect(saved.model).toEqual(m);
    expect(saved.notes).toEqual([]);
    expect(saved.rocCurves.map((c) => [c.modality, c.term, c.auroc, c.records])).toEqual(m.classification.map((t) => [t.modality, t.term, t.auroc, t.records]));
    expect(trapezoid(saved.rocCurves[0].points)).toBeCloseTo(task.auroc!, 3);
  }, 150_000);

  test('--models: two versions side by side (a copy of the model: the same figures); bad input is one clear error', () => {
    // A trained ablation would be the real use; a copy of the same weights, embedded under its own version, must score the same.
    const copy = `${version}-copy`;
    cpSync(join(storeDir, MODELS_DIR, version), join(storeDir, MODELS_DIR, copy), { recursive: true });
    expect(harmonia('embed', '--store', storeDir, '--model', copy).status).toBe(0);
    const r = harmonia('eval', 'embeddings', '--store', storeDir, '--models', `${version},${copy}`);
    expect(r.status).toBe(0);
    const both = JSON.parse(r.stdout) as EmbeddingEvaluation;
    expect(both.models.map((m) => m.version)).toEqual([version, copy]);
    const [a, b] = both.models;
    expect(b.classification).toEqual(a.classification);
    expect(b.retrieval).toEqual(a.retrieval);
    expect(b.separation).toEqual(a.separation);
    expect(a.classification).toEqual(evaluation.models[0].classification);
    expect(harmonia('eval', 'embeddings', '--store', storeDir, '--models', `${version},${version}`).stderr).toMatch(/--models: a version is named twice/);
    expect(harmonia('eval', 'embeddings', '--store', storeDir, '--model', 'nope').stderr).toMatch(/nope: no such model version/);
    expect(harmonia('eval', 'embeddings', '--store', storeDir, '--model', version, '--models', version).stderr).toMatch(/give --model VERSION or --models/);
  }, 120_000);
});
