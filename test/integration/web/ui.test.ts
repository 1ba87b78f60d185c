import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { MODELS_DIR } from '../../../src/learn/vectors.js';
import { cohortRoutes } from '../../../src/server/cohorts.js';
import type { SavedEvaluation } from '../../../src/server/evaluation.js';
import { startServer, type RunningServer } from '../../../src/server/index.js';
import { retrievalRoutes } from '../../../src/server/retrieval.js';
import { normalised, type CohortDefinition } from '../../../web/src/cohort-model.js';
import { repoRoot, tempDir } from '../../helpers/paths.js';
import { FIXTURES, tinyStore } from '../../unit/cohort/helpers.js';

// The web interface in headless Chromium (Debian's chromium, installed by .ci/run), on the five
// fixture patients of the cohort tests, with one ECG record, patient embeddings and tiny disease
// annotations added so that every page has something to show (and, midway, a saved evaluation).

const CHROMIUM = process.env.HARMONIA_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`web ui.test: no Chromium at ${CHROMIUM} (apt-get install chromium); the browser tests are skipped`);
const maybe = haveChromium ? describe : describe.skip;

const HX = 'https://w3id.org/harmonia/vocab#';
const HXR = 'https://w3id.org/harmonia/resource/';
const TOKEN = 'ui-test-token';
/** Polls `read` until `check` passes (the page updates asynchronously), failing with the last error after 15 s. */
async function eventually<T>(read: () => Promise<T> | T, check: (v: T) => void, timeoutMs = 15000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      check(await read());
      return;
    } catch (e) {
      if (Date.now() > end) throw e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const example = JSON.parse(readFileSync(join(FIXTURES, 'seizure-not-febrile-scn1a.json'), 'utf8')) as CohortDefinition;

/** web/dist, rebuilt when a source under web/ is newer than the built page. */
function ensureBuilt(): void {
  const page = join(repoRoot, 'web', 'dist', 'index.html');
  const newest = (dir: string): number => Math.max(...readdirSync(dir).map((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? newest(p) : statSync(p).mtimeMs;
  }));
  const sources = Math.max(newest(join(repoRoot, 'web', 'src')), statSync(join(repoRoot, 'web', 'build.mjs')).mtimeMs, statSync(join(repoRoot, 'web', 'index.html')).mtimeMs);
  if (!existsSync(page) || statSync(page).mtimeMs < sources) execFileSync(process.execPath, [join(repoRoot, 'web', 'build.mjs')], { stdio: 'pipe' });
}

/** One ECG record of P-A, in the shape the record ingestion writes (docs/model.md). */
const RECORD = `PREFIX hx: <${HX}> PREFIX prov: <http://www.w3.org/ns/prov#>
INSERT DATA { GRAPH <https://w3id.org/harmonia/graph/record/P-A/ecg-test> {
  <${HXR}patient/P-A> hx:hasRecord <${HXR}record/P-A/ecg-test> .
  <${HXR}record/P-A/ecg-test> a hx:Record, hx:SignalRecording ; hx:recordId "P-A/ecg-test" ; hx:patient <${HXR}patient/P-A> ;
    hx:modality "ecg" ; hx:format "wfdb" ; hx:site "site-A" ; hx:finding <http://purl.obolibrary.org/obo/HP_0001250> ;
    hx:acquisitionParameter [ hx:name "samplingRate" ; hx:value 300.0 ] , [ hx:name "leads" ; hx:value "I" ] ;
    hx:feature [ hx:name "cvRR" ; hx:value 0.19 ] , [ hx:name "heartRate" ; hx:value 71.5 ] ;
    hx:harmonizationStep [ hx:step "ecg.bandpass" ; hx:stepVersion "1" ; hx:stepIndex 1 ; hx:software "harmonia test" ] ;
    prov:wasDerivedFrom [ hx:sourceFile "records/A00001.mat" ] .
} }`;

/** Patient embeddings of a model "ui-test" (unit vectors, as harmonia embed writes them). */
function embeddings(): string {
  const ids = ['P-A', 'P-B', 'P-C', 'P-D', 'P-E'];
  const triples = ids.map((id, i) => {
    const v = new Float32Array(8).map((_, j) => Math.cos(i + j * 0.7));
    const n = Math.hypot(...v);
    const b64 = Buffer.from(v.map((x) => x / n).buffer).toString('base64');
    const e = `<${HXR}embedding/ui-test/patient/${id}>`;
    return `<${HXR}patient/${id}> hx:embedding ${e} . ${e} a hx:Embedding ; hx:embeddingOf <${HXR}patient/${id}> ; hx:embeddingKind "patient" ;
      hx:modelVersion "ui-test" ; hx:dimension 8 ; hx:vector "${b64}"^^hx:float32Base64 .`;
  });
  return `PREFIX hx: <${HX}> INSERT DATA { GRAPH <https://w3id.org/harmonia/graph/embeddings/ui-test> { ${triples.join('\n')} } }`;
}

/** An evaluation as harmonia eval embeddings saves it (two tasks, the retrieval figures). */
function savedEvaluation(): SavedEvaluation {
  const metrics = (method: string, r1: number, r5: number, r10: number, mrr: number) => ({ method, queries: 40, 'recall@1': r1, 'recall@5': r5, 'recall@10': r10, mrr });
  const task = (modality: string, term: string, label: string, auroc: number) => ({
    modality, term, label, records: 12, positives: 4, auroc, validation: { records: 10, positives: 3, auroc: 0.7 },
    f1: { threshold: 0.31, validationF1: 0.6, f1: 0.6667, precision: 0.5, recall: 1 },
    calibration: { method: 'platt' as const, a: 1, b: 0, ece: 0.12, brier: 0.2, bins: [] },
  });
  return {
    version: 'ui-test', evaluatedAt: '2025-01-02T03:04:05.000Z', store: 'STORE', definitions: {}, notes: [],
    rocCurves: [
      { modality: 'ecg', term: 'HP:0001250', label: 'Seizure', auroc: 0.8125, records: 12, positives: 4, points: [[0, 0], [0, 0.5], [0.25, 0.75], [0.5, 1], [1, 1]] },
      { modality: 'eeg', term: 'HP:0007359', label: 'Focal-onset seizure', auroc: 0.65, records: 12, positives: 4, points: [[0, 0], [0.25, 0.25], [0.5, 0.75], [1, 1]] },
    ],
    model: {
      version: 'ui-test', losses: null, splits: { train: 3, validation: 1, test: 1 },
      classification: [task('ecg', 'HP:0001250', 'Seizure', 0.8125), task('eeg', 'HP:0007359', 'Focal-onset seizure', 0.65)],
      retrieval: {
        split: 'test', queries: 40, skipped: { 'no diagnosis': 2 },
        embedding: metrics('embedding', 0.25, 0.5, 0.6, 0.33),
        classical: { ...metrics('phenodigm-resnik', 0.2, 0.45, 0.55, 0.28), evaluateRetrieval: {} as never },
        hybrid: { ...metrics('hybrid:rrf', 0.3, 0.55, 0.65, 0.36), fusion: 'rrf(embedding, phenodigm-resnik)', chosenOn: '30 validation-split patients, best MRR' },
        mrrDifference: { 'embedding - classical': { mean: 0.05, low: -0.02, high: 0.12 }, 'hybrid - classical': { mean: 0.08, low: 0.01, high: 0.15 } },
        singleModality: [metrics('embedding:phenotype', 0.15, 0.4, 0.5, 0.24)],
      },
      separation: [], ontology: { pairs: 0, spearman: null, pearson: null }, plots: [],
    },
  };
}

const HPOA = `#description: "ui test annotations"
database_id\tdisease_name\tqualifier\thpo_id\treference\tevidence\tonset\tfrequency\tsex\tmodifier\taspect\tbiocuration
OMIM:607208\tDevelopmental and epileptic encephalopathy 6B\t\tHP:0007359\tOMIM:607208\tTAS\t\t\t\t\tP\tHPO:test[2024-01-01]
OMIM:607208\tDevelopmental and epileptic encephalopathy 6B\t\tHP:0001250\tOMIM:607208\tTAS\t\t\t\t\tP\tHPO:test[2024-01-01]
OMIM:100002\tIntellectual disability disorder\t\tHP:0001249\tOMIM:100002\tTAS\t\t\t\t\tP\tHPO:test[2024-01-01]
`;

maybe('the web interface in Chromium', () => {
  let fixture: Awaited<ReturnType<typeof tinyStore>>;
  let annotations: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const offsite: string[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    ensureBuilt();
    fixture = await tinyStore();
    await fixture.store.update(RECORD);
    await fixture.store.update(embeddings());
    await fixture.store.close();
    annotations = tempDir('harmonia-ui-hpoa-');
    const hpoa = join(annotations.path, 'phenotype.hpoa');
    writeFileSync(hpoa, HPOA);
    server = await startServer(fixture.dir, { port: 0, updateToken: TOKEN, annotations: hpoa }, [cohortRoutes, retrievalRoutes]);
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    page.setDefaultTimeout(20000);
    page.on('request', (r) => { if (!r.url().startsWith(server.url) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) offsite.push(r.url()); });
    page.on('pageerror', (e) => errors.push(e.message));
  }, 120000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await fixture?.cleanup();
    annotations?.remove();
  });
  afterEach(() => {
    // Everything comes from this server (no CDN), and no script error happened on the way.
    expect(offsite).toEqual([]);
    expect(errors).toEqual([]);
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const api = async (path: string, init?: RequestInit): Promise<any> => (await fetch(server.url + path, init)).json();

  test('query: an example runs from the editor, the table shows labels, the URL carries the query, CSV downloads', async () => {
    await page.goto(`${server.url}/`);
    await page.getByRole('button', { name: 'The ten most frequent diagnoses' }).click();
    await eventually(() => page.url(), (v) => expect(v).toContain('?query='));
    const sparql = new URL(page.url()).searchParams.get('query')!;
    const answer = await api(`/sparql?query=${encodeURIComponent(sparql)}`);
    const rows = page.locator('.yasr tbody tr');
    await eventually(() => rows.count(), (v) => expect(v).toBe(answer.results.bindings.length));
    // The disease IRI shows as its label with the CURIE beside it; the count is the API's.
    const dee = answer.results.bindings.find((b: Record<string, { value: string }>) => b.disease.value === 'https://omim.org/entry/607208');
    const cells = await rows.filter({ hasText: 'OMIM:607208' }).locator('td').allInnerTexts();
    expect(cells[1]).toMatch(/^Developmental and epileptic encephalopathy 6B\s+OMIM:607208$/);
    expect(cells.at(-1)).toBe(dee.patients.value);
    expect(page.url()).toContain('?query=');

    // A shared URL opens the editor with the query and runs it; our prefixes need no declaration.
    const shared = 'SELECT ?p ?term WHERE { ?p hx:hasPhenotype ?term } ORDER BY ?p ?term';
    const all = await api(`/sparql?query=${encodeURIComponent(`PREFIX hx: <${HX}> ${shared}`)}`);
    await page.goto(`${server.url}/?query=${encodeURIComponent(shared)}`);
    await eventually(() => page.locator('.yasr tbody tr').count(), (v) => expect(v).toBe(all.results.bindings.length));
    const first = await page.locator('.yasr tbody tr').first().locator('td').allInnerTexts();
    expect(first[1]).toBe('P-A');
    expect(first[2]).toContain('Focal-onset seizure');
    expect(await page.locator('.CodeMirror').innerText()).toContain('PREFIX hx:');
    const download = page.waitForEvent('download');
    await page.locator('.yasr_downloadIcon').click();
    const csv = readFileSync((await (await download).path())!, 'utf8');
    expect(csv.split(/\r?\n/)[0]).toMatch(/^"?p"?,"?term"?$/);
    expect(csv.split(/\r?\n/)[1]).toBe(`"${HXR}patient/P-A","http://purl.obolibrary.org/obo/HP_0007359"`);
  });

  test('cohort: the issue-3 example built by clicking and typing has the API\'s members, explained, characterised, saved, compared', async () => {
    await page.goto(`${server.url}/#/cohorts`);
    const form = page.getByRole('form', { name: 'Cohort definition' });
    await form.getByRole('textbox', { name: 'Name' }).fill(example.name);
    await page.getByRole('button', { name: 'Add concept set' }).click();
    await form.getByRole('textbox', { name: 'Id' }).fill('seizure');
    await form.getByRole('textbox', { name: 'Id' }).press('Tab');
    const pickTerm = async (box: string, typed: string, id: string) => {
      await page.getByRole('combobox', { name: box }).fill(typed);
      await page.getByRole('option', { name: new RegExp(id) }).click();
    };
    await pickTerm('Add a term to', 'seiz', 'HP:0001250');
    // By keyboard: a UMLS CUI finds the febrile seizure term; ArrowDown and Enter pick it.
    const box = page.getByRole('combobox', { name: 'Add a term to' });
    await box.fill('C0009952');
    await page.getByRole('option', { name: /HP:0002373/ }).waitFor();
    await box.press('ArrowDown');
    expect(await box.getAttribute('aria-activedescendant')).toBeTruthy();
    await box.press('Enter');
    await page.getByRole('checkbox', { name: 'Exclude HP:0002373' }).check();

    const root = page.locator('fieldset[data-path="/criteria"]');
    const add = (group: typeof root) => group.getByRole('button', { name: 'Add criterion' }).last().click();
    const kind = (path: string, k: string) => page.getByRole('combobox', { name: `Kind of criterion ${path}`, exact: true }).selectOption(k);
    await add(root);
    await add(root);
    await kind('/criteria/all/1', 'gene');
    await page.locator('[data-path="/criteria/all/1"]').getByRole('textbox').fill('SCN1A');
    await add(root);
    await kind('/criteria/all/2', 'sex');
    await page.locator('[data-path="/criteria/all/2"]').getByRole('combobox', { name: 'Sex' }).selectOption('FEMALE');
    await root.getByRole('button', { name: 'Add group' }).last().click();
    await kind('/criteria/all/3', 'none');
    const none = page.locator('fieldset[data-path="/criteria/all/3"]');
    await none.getByRole('button', { name: 'Add criterion' }).click();
    const leaf = page.locator('[data-path="/criteria/all/3/none/0"]');
    await leaf.getByRole('combobox', { name: 'Terms from' }).selectOption('');
    await page.locator('[data-path="/criteria/all/3/none/0"]').getByRole('combobox', { name: 'Term', exact: true }).fill('Intellectual');
    await page.getByRole('option', { name: /HP:0001249/ }).click();

    // The form's definition is the example's, and the live count is the API's.
    const expected = await api('/cohorts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(example) });
    expect(expected.patients).toEqual(['P-A']);
    await eventually(() => page.locator('.count').getAttribute('data-count'), (v) => expect(v).toBe(String(expected.count)));
    expect(normalised(JSON.parse(await page.locator('textarea.json').inputValue()))).toEqual(normalised(example));
    expect(await page.locator('pre.sparql').innerText()).toContain('hx:symbol "SCN1A"');

    await page.getByRole('button', { name: 'Show members' }).click();
    await eventually(() => page.locator('ul.members li a').allInnerTexts(), (v) => expect(v).toEqual(expected.patients));
    await page.getByRole('button', { name: 'Explain P-A' }).click();
    const tree = page.locator('.explain > ul.tree');
    await eventually(() => tree.innerText(), (v) => expect(v).toContain('gene SCN1A'));
    expect(await tree.innerText()).toContain('Focal-onset seizure');

    await page.getByRole('button', { name: 'Characterise' }).click();
    await eventually(() => page.locator('.characterisation canvas').count(), (v) => expect(v).toBeGreaterThanOrEqual(4));
    expect(await page.locator('.characterisation h3').innerText()).toContain(': 1 patient');

    // Saving asks for the token (the server answers 401 without it), then the cohort is listed.
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByLabel('Token', { exact: true }).fill(TOKEN);
    await page.getByRole('button', { name: 'Save with this token' }).click();
    await eventually(() => page.locator('.toolbar .message').innerText(), (v) => expect(v).toBe(`Saved ${example.name}.`));
    expect((await api('/cohorts')).cohorts.map((c: { name: string }) => c.name)).toEqual([example.name]);

    await page.getByRole('combobox', { name: 'Cohort A' }).selectOption(example.name);
    await page.getByRole('combobox', { name: 'Cohort B' }).selectOption({ label: 'the definition being edited' });
    await page.getByRole('button', { name: 'Compare' }).click();
    await eventually(() => page.locator('.comparison table').first().innerText(), (v) => expect(v).toContain('In both'));

    // Loading the saved cohort brings the same definition back into the form.
    await page.getByRole('button', { name: 'New' }).click();
    await page.getByRole('combobox', { name: 'Saved cohorts' }).selectOption(example.name);
    await page.getByRole('button', { name: 'Load' }).click();
    await eventually(async () => normalised(JSON.parse(await page.locator('textarea.json').inputValue())), (v) => expect(v).toEqual(normalised(example)));
  });

  test('patient: phenotypes, genes, the ECG record, provenance, similar patients with explanations, disease ranking', async () => {
    await page.goto(`${server.url}/#/patients/P-A`);
    await eventually(() => page.locator('table.observed').innerText(), (v) => expect(v).toContain('Focal-onset seizure'));
    const text = (await page.locator('main').textContent())!;
    for (const s of ['SCN1A', 'NM_001165963.4:c.4000G>A', 'samplingRate', 'cvRR', 'site-A', 'ecg.bandpass', 'patients.jsonl', 'records/A00001.mat']) expect(text).toContain(s);

    const similar = await api('/patients/P-A/similar?top=10&explain=true');
    await eventually(() => page.locator('ol.similar > li summary a').allInnerTexts(), (v) => expect(v).toEqual(similar.results.map((r: { patient: string }) => r.patient)));
    expect(await page.locator('ol.similar table.pairs').first().innerText()).toContain(similar.results[0].explanation[0].mica.label);
    await eventually(() => page.locator('table.diagnosis tbody tr').first().innerText(), (v) => expect(v).toContain('OMIM:607208'));

    await page.locator('ol.similar > li summary a').first().click();
    await eventually(() => page.locator('h1').innerText(), (v) => expect(v).toBe(`Patient ${similar.results[0].patient}`));
  });

  test('embedding map and patient search', async () => {
    await page.goto(`${server.url}/#/map`);
    await eventually(() => page.locator('main .lede').innerText(), (v) => expect(v).toContain('5 patients, model ui-test'));
    expect(await page.locator('main canvas').count()).toBe(1);
    // Landmarks and the skip link, for keyboard and screen-reader users.
    expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allInnerTexts()).toEqual(['Query', 'Cohorts', 'Patients', 'Embedding map', 'Evaluation']);
    await page.reload();
    await page.locator('main .lede').waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate('document.activeElement?.id')).toBe('main');
    await page.goto(`${server.url}/#/patients`);
    await page.getByRole('searchbox', { name: 'Patient id contains' }).fill('p-c');
    await eventually(() => page.locator('ul.members a').allInnerTexts(), (v) => expect(v).toEqual(['P-C']));
  });

  test('evaluation: the empty state names the command; a saved evaluation shows ROC curves with the AUROC in the legend, and the retrieval table', async () => {
    await page.goto(`${server.url}/#/evaluation`);
    await eventually(() => page.locator('main p.empty').innerText(), (v) => expect(v).toContain('No evaluation of an embedded model in this store yet'));
    expect(await page.locator('main pre').innerText()).toContain('harmonia eval embeddings --store STORE');
    expect(await page.locator('main canvas').count()).toBe(0);

    // What harmonia eval embeddings saves beside the model (src/cli/evaluation-file.ts).
    const dir = join(fixture.dir, MODELS_DIR, 'ui-test');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'evaluation.json'), JSON.stringify(savedEvaluation()));
    await page.reload();
    const legend = page.getByRole('list', { name: 'ROC curves' });
    await eventually(() => legend.getByRole('button').allInnerTexts(), (v) => expect(v).toEqual(['ecg Seizure (HP:0001250), AUROC 0.813', 'eeg Focal-onset seizure (HP:0007359), AUROC 0.650', 'chance']));
    const canvas = page.locator('figure.roc canvas');
    expect(await canvas.count()).toBe(1);
    expect(await canvas.getAttribute('aria-label')).toContain('ecg Seizure (HP:0001250) AUROC 0.813');
    expect((await canvas.boundingBox())!.height).toBeGreaterThan(300);
    // A legend entry is a button: it hides and shows its curve.
    await legend.getByRole('button', { name: /^eeg/ }).click();
    expect(await legend.getByRole('button', { name: /^eeg/ }).getAttribute('aria-pressed')).toBe('false');
    expect(await page.locator('table.classification tbody tr').first().locator('td').allInnerTexts()).toEqual(['ecg', 'Seizure HP:0001250', '12', '4', '0.813', '0.667 (≥ 0.310)', '0.120']);
    const rows = await page.locator('table.retrieval tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows).toEqual([
      ['embedding', 'embedding', '40', '0.250', '0.500', '0.600', '0.330', '+0.050 (−0.020 to +0.120)'],
      ['classical', 'phenodigm-resnik', '40', '0.200', '0.450', '0.550', '0.280', ''],
      ['hybrid', 'hybrid:rrf', '40', '0.300', '0.550', '0.650', '0.360', '+0.080 (+0.010 to +0.150)'],
      ['single modality', 'embedding:phenotype', '40', '0.150', '0.400', '0.500', '0.240', ''],
    ]);
    expect(await page.locator('main .lede').innerText()).toContain('Model ui-test');
  });
});
