import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureOntology } from '../../../src/ingest/index.js';
import { loadOntology, type Ontology } from '../../../src/ontology/index.js';
import {
  buildDiagnosisContext,
  DiagnosisEvaluation,
  diagnose,
  evaluateHeldOut,
  loadGenesToPhenotype,
  loadHpoa,
  loadProfiles,
  profileFromHpoList,
  type DiagnosisContext,
  type Hpoa,
  type PatientProfile,
} from '../../../src/retrieve/index.js';
import { OxigraphStore } from '../../../src/store/index.js';
import { repoRoot } from '../../helpers/paths.js';
import { describeWithData, files } from './data.js';

const run = promisify(execFile);
const PFEIFFER = ['HP:0001156', 'HP:0001363', 'HP:0011304', 'HP:0010055'];

let ontology: Ontology;
let hpoa: Hpoa;
let profiles: PatientProfile[];
let ctx: DiagnosisContext;

describeWithData('bayes-lr and leave-disease-out evaluation on the real annotations', () => {
  beforeAll(async () => {
    ontology = loadOntology(files.hpo);
    hpoa = loadHpoa(files.hpoa, ontology);
    ({ profiles } = await loadProfiles([files.phenopackets], ontology));
    ctx = buildDiagnosisContext(ontology, hpoa, loadGenesToPhenotype(files.genes));
  }, 120_000);

  test('Pfeiffer profile: a readable answer, first with FGFR2 given, FGFR2 among the top genes', () => {
    const query = profileFromHpoList(PFEIFFER, ontology, 'pfeiffer').profile;
    const a = diagnose(ctx, query, { top: 20, rank: 'genes' });
    expect(a.method).toBe('bayes-lr');
    // The OMIM, ORPHA and DECIPHER entries of one disease count once: about 11,600 of the 12,604 ids.
    expect(a.prior).toMatch(/^uniform over 11\d\d\d diseases \(126\d\d ids; equivalent OMIM, ORPHA and DECIPHER ids count once\)/);
    const pfeiffer = a.results.find((r) => r.disease === 'OMIM:101600')!;
    expect(pfeiffer).toBeDefined();
    expect(pfeiffer.for!.map((e) => e.term)).toEqual(expect.arrayContaining(['HP:0011304']));
    expect(pfeiffer.equivalents).toEqual(['ORPHA:710']);
    // A gene holds the summed posterior of its diseases: FGFR2's craniosynostoses put it first (first when measured).
    expect(a.genes!.slice(0, 3).map((g) => g.gene)).toContain('FGFR2');
    expect(a.results[0].disease).toBe('OMIM:101600');
    const withGene = diagnose(ctx, { ...query, genes: ['FGFR2'] }, { genes: true, top: 3 });
    expect(withGene.results[0].disease).toBe('OMIM:101600');
    expect(withGene.prior).toMatch(/diseases of FGFR2/);
    // FGFR2 has 16 diseases, several craniosynostoses with broad thumbs: Pfeiffer gets a modest share, above the prior.
    expect(withGene.results[0].probability).toBeGreaterThan(1 / 16);
  });

  test('leave-disease-out drops the curated rows of the diagnoses and bayes-lr beats Resnik BMA on a sample', () => {
    const sample = profiles.filter((_, i) => i % 60 === 0);
    const ev = new DiagnosisEvaluation(ontology, hpoa, profiles, 'leave-disease-out', {});
    const bayes = evaluateHeldOut(ev, sample, { method: 'bayes-lr', split: 'test' });
    const resnik = evaluateHeldOut(ev, sample, { method: 'resnik-bma', split: 'test' });
    expect(bayes.queries).toBeGreaterThan(30);
    expect(bayes.heldOutAnnotations!.rowsDropped).toBeGreaterThan(100);
    expect(bayes.mrr).toBeGreaterThan(resnik.mrr);
    expect(bayes.hit1).toBeGreaterThan(resnik.hit1);
    expect(bayes.calibration!.bins.reduce((s, b) => s + b.count, 0)).toBe(bayes.queries * 10);
  }, 60_000);

  test('CLI: diagnose --json --report writes a self-contained HTML report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'harmonia-diagnose-'));
    try {
      const store = await OxigraphStore.open(join(dir, 'store'), { create: true, write: true });
      await ensureOntology(store, ontology);
      await store.close();
      const report = join(dir, 'report.html');
      const { stdout } = await run(join(repoRoot, 'bin', 'harmonia'), ['diagnose', '--store', join(dir, 'store'), '--annotations', files.hpoa, '--hpo', PFEIFFER.join(','), '--genes', 'FGFR2', '--top', '3', '--json', '--report', report], { maxBuffer: 1 << 24 });
      const answer = JSON.parse(stdout.trim());
      expect(answer.method).toBe('bayes-lr+genes');
      expect(answer.results).toHaveLength(3);
      expect(answer.results[0]).toMatchObject({ disease: 'OMIM:101600', label: 'Pfeiffer syndrome' });
      expect(answer.results[0].probability).toBeGreaterThan(0);
      const html = readFileSync(report, 'utf8');
      expect(html).toContain('Pfeiffer syndrome');
      expect(html).not.toMatch(/<script|\bsrc=|https?:\/\//);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
