// Screenshots of each page of the web interface for docs/ui.md, taken in headless Chromium from a
// running server (`npm run demo`, or `harmonia serve --store ... --annotations ...`):
//
//   node web/screenshots.mjs [--url http://127.0.0.1:3000] [--out docs/ui] [--patient ID] [--token TOKEN] [--chromium PATH]
//
// Writes query.png, cohort.png, cohort-json-sparql.png, cohort-characterisation.png, cohort-compare.png (with --token: the
// two compared cohorts are saved for it and deleted after), patient.png, patient-similar.png, patient-diseases.png, map.png, evaluation.png
// (the map and the evaluation need a store with embeddings and `harmonia eval embeddings`: docs/ui.md says how).

import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const base = (args.url ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
const out = resolve(args.out ?? join(root, 'docs', 'ui'));
const executablePath = args.chromium ?? process.env.HARMONIA_CHROMIUM ?? '/usr/bin/chromium';

/** The worked example of docs/cohorts.md (STXBP1: the dev phenopackets have no SCN1A patient). */
const STXBP1 = {
  name: 'seizure-not-febrile-stxbp1',
  description: 'Women with a non-febrile seizure, STXBP1, without intellectual disability',
  conceptSets: [{ id: 'seizure', items: [{ concept: 'HP:0001250', includeDescendants: true }, { concept: 'HP:0002373', includeDescendants: true, isExcluded: true }] }],
  criteria: { all: [
    { phenotype: { conceptSet: 'seizure', status: 'observed' } },
    { gene: { symbol: 'STXBP1' } },
    { sex: 'FEMALE' },
    { none: [{ phenotype: { concept: 'HP:0001249', status: 'observed' } }] },
  ] },
};
const QUERY = `PREFIX hx: <https://w3id.org/harmonia/vocab#>
SELECT ?patient ?term (COUNT(*) AS ?n) WHERE {
  ?p hx:id ?patient ; hx:hasGene [ hx:symbol "STXBP1" ] ; hx:hasPhenotype ?term .
} GROUP BY ?patient ?term ORDER BY ?patient LIMIT 20`;

async function until(page, fn, what, timeout = 60000) {
  try {
    await page.waitForFunction(fn, undefined, { timeout, polling: 200 });
  } catch {
    throw new Error(`timed out waiting for ${what}`);
  }
}

const saved = [];
async function call(method, name, body) {
  const r = await fetch(`${base}/cohorts/${encodeURIComponent(name)}`, {
    method, headers: { authorization: `Bearer ${args.token}`, 'content-type': 'application/json', 'x-harmonia-user': 'screenshots' }, body: body ? JSON.stringify(body) : undefined,
  });
  if (!r.ok) throw new Error(`${method} /cohorts/${name}: ${r.status} ${await r.text()}`);
}

async function main() {
  const health = await fetch(`${base}/ui/config`).catch(() => undefined);
  if (!health?.ok) throw new Error(`no Harmonia server with the web interface at ${base} (start npm run demo, or give --url)`);
  mkdirSync(out, { recursive: true });
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 }, deviceScaleFactor: 1 });
  page.setDefaultTimeout(60000);
  const shot = async (name, locator) => {
    const file = join(out, `${name}.png`);
    await (locator ?? page).screenshot({ path: file, ...(locator ? {} : { fullPage: false }) });
    process.stdout.write(`${file}\n`);
  };
  try {
    await page.goto(`${base}/?query=${encodeURIComponent(QUERY)}`);
    await page.locator('.yasr tbody tr').first().waitFor();
    await shot('query');

    await page.goto(`${base}/#/cohorts`);
    await page.locator('textarea.json').fill(JSON.stringify(STXBP1, null, 2));
    await page.getByRole('button', { name: 'Apply JSON' }).click();
    await until(page, () => document.querySelector('.count')?.dataset.count !== undefined, 'the live count');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('cohort');
    await shot('cohort-json-sparql', page.locator('.side-by-side'));
    await page.getByRole('button', { name: 'Characterise' }).click();
    await page.locator('.characterisation canvas').first().waitFor();
    await page.waitForTimeout(500);
    await shot('cohort-characterisation', page.locator('.characterisation'));

    // Compare the example with the same definition for male patients: both saved for the
    // screenshot (needs --token) and deleted afterwards.
    if (args.token) {
      const male = { ...STXBP1, name: 'stxbp1-male-example', description: 'Men with a non-febrile seizure, STXBP1, without intellectual disability', criteria: { all: STXBP1.criteria.all.map((c) => ('sex' in c ? { sex: 'MALE' } : c)) } };
      for (const d of [STXBP1, male]) await call('PUT', d.name, d);
      saved.push(STXBP1.name, male.name);
      await page.reload();
      await page.getByRole('combobox', { name: 'Cohort A' }).locator(`option[value="${STXBP1.name}"]`).waitFor({ state: 'attached' });
      await page.getByRole('combobox', { name: 'Cohort A' }).selectOption(STXBP1.name);
      await page.getByRole('combobox', { name: 'Cohort B' }).selectOption(male.name);
      await page.getByRole('button', { name: 'Compare' }).click();
      await page.locator('.comparison canvas').first().waitFor();
      await page.waitForTimeout(500);
      await shot('cohort-compare', page.locator('section[aria-labelledby="compare-h"]'));
    } else {
      process.stdout.write('no --token: the comparison screenshot (two saved cohorts) is skipped\n');
    }

    const patient = args.patient ?? (await (await fetch(`${base}/ui/patients?q=PMID_23086397_Patient_4&limit=1`)).json()).patients[0]
      ?? (await (await fetch(`${base}/ui/patients?limit=1`)).json()).patients[0];
    await page.goto(`${base}/#/patients/${encodeURIComponent(patient)}`);
    await page.locator('table.observed').waitFor();
    await until(page, () => !document.querySelector('#s-similar-patients')?.parentElement?.textContent?.includes('Finding'), 'similar patients');
    await until(page, () => !document.querySelector('#s-disease-ranking')?.parentElement?.textContent?.includes('Ranking'), 'the disease ranking', 300000);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('patient');
    await shot('patient-diseases', page.locator('section[aria-labelledby="s-disease-ranking"]'));
    await page.locator('section[aria-labelledby="s-similar-patients"]').scrollIntoViewIfNeeded();
    await shot('patient-similar', page.locator('section[aria-labelledby="s-similar-patients"]'));

    await page.goto(`${base}/#/map`);
    await until(page, () => document.querySelector('main')?.dataset.page === 'map', 'the embedding map');
    await page.waitForTimeout(800);
    await shot('map');

    await page.goto(`${base}/#/evaluation`);
    await until(page, () => document.querySelector('main')?.dataset.page === 'evaluation', 'the evaluation page');
    await page.waitForTimeout(800);
    await shot('evaluation', page.locator('main'));
  } finally {
    for (const name of saved) await call('DELETE', name).catch(() => undefined);
    await browser.close();
  }
}

main().catch((e) => {
  process.stderr.write(`screenshots: ${e.message}\n`);
  process.exit(1);
});
