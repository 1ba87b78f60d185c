// The web interface's shell: landmarks, navigation and a hash router. Pages load their libraries
// on first use (the SPARQL editor and chart.js are separate chunks).

import { api, type UiConfig } from './api.js';
import { fill, h } from './dom.js';

const PAGES: [string, string][] = [['#/query', 'Query'], ['#/cohorts', 'Cohorts'], ['#/patients', 'Patients'], ['#/map', 'Embedding map'], ['#/evaluation', 'Evaluation']];

async function main(): Promise<void> {
  const config = await api<UiConfig>('/ui/config');
  const nav = h('nav', { 'aria-label': 'Main' }, h('ul', {}, PAGES.map(([href, text]) => h('li', {}, h('a', { href }, text)))));
  const main = h('main', { id: 'main', tabindex: -1 });
  document.body.replaceChildren(
    h('a', { class: 'skip', href: '#main', onclick: (e: Event) => { e.preventDefault(); main.focus(); } }, 'Skip to content'),
    h('header', {}, h('a', { class: 'brand', href: '#/query' }, 'Harmonia'), nav,
      h('span', { class: 'hint' }, `HPO ${config.hpoVersion} · ${config.terms.toLocaleString('en')} terms`)),
    main,
    h('footer', {}, 'Harmonia · SPARQL endpoint at ', h('code', {}, `${location.origin}/sparql`)));

  let drawn = '';
  const route = async (): Promise<void> => {
    const hash = location.hash || (new URLSearchParams(location.search).has('query') ? '#/query' : '#/query');
    if (hash === '#main') return;
    const [, page, ...rest] = hash.split('/');
    const key = `${page}/${rest.join('/')}`;
    if (key === drawn) return;
    drawn = key;
    for (const a of nav.querySelectorAll('a')) a.toggleAttribute('aria-current', a.getAttribute('href') === `#/${page}`);
    if (a11yTitle(page)) document.title = `${a11yTitle(page)} · Harmonia`;
    delete main.dataset.page;
    try {
      if (page === 'cohorts') (await import('./cohort.js')).cohortPage(main, config);
      else if (page === 'patients' && rest.length) await (await import('./patient.js')).patientPage(main, config, decodeURIComponent(rest.join('/')));
      else if (page === 'patients') (await import('./patient.js')).patientSearchPage(main);
      else if (page === 'map') await (await import('./map.js')).mapPage(main);
      else if (page === 'evaluation') await (await import('./evaluation.js')).evaluationPage(main, rest.length ? decodeURIComponent(rest.join('/')) : undefined);
      else (await import('./query.js')).queryPage(main, config);
    } catch (e) {
      fill(main, h('p', { class: 'error', role: 'alert' }, (e as Error).message));
    }
    main.dataset.page = page || 'query';
  };
  window.addEventListener('hashchange', () => void route());
  await route();
}

function a11yTitle(page: string | undefined): string | undefined {
  return PAGES.find(([href]) => href === `#/${page}`)?.[1] ?? 'Query';
}

void main().catch((e: unknown) => {
  document.body.textContent = `Harmonia could not start its interface: ${(e as Error).message}`;
});
