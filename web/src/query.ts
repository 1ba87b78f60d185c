// The SPARQL editor: YASQE (syntax highlighting, checking, Ctrl-Enter to run) and YASR (table with
// filter, paging and CSV download) from @zazuko/yasgui, on our /sparql endpoint. Our prefixes are
// pre-declared (added to a query that uses them without declaring them), the demo's example queries
// are one click away, IRIs in the table show as HPO labels, patient ids, gene symbols, and the URL
// carries the query: /?query=... opens the editor with it and runs it.

import Yasgui from '@zazuko/yasgui';
import { postJson, type UiConfig } from './api.js';
import { debounce, fill, h } from './dom.js';
import { EXAMPLES } from './examples.js';
import { missingPrefixes, withPrefixes } from './prefixes.js';

const { Yasqe, Yasr } = Yasgui;
type YasqeInstance = InstanceType<typeof Yasqe>;
type SparqlJson = { head?: { vars?: string[] }; results?: { bindings: Record<string, { type: string; value: string }>[] } };

const PATIENT = 'https://w3id.org/harmonia/resource/patient/';
const PLAIN = /^http:\/\/www\.w3\.org\/2001\/XMLSchema#(integer|decimal|double|float|boolean|string|int|long)$/;
const labels = new Map<string, { label: string; id?: string }>();

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** YASR's table, with a known IRI shown by its label (the IRI stays the link target and the tooltip). */
function registerLabelledTable(): void {
  const Table = Yasr.plugins.table as unknown as new (yasr: unknown) => object;
  type Binding = { value: string; datatype?: string; 'xml:lang'?: string };
  class LabelledTable extends (Table as new (yasr: unknown) => { getUriLinkFromBinding(b: Binding, p?: Record<string, string>): string; formatLiteral(b: Binding, p?: Record<string, string>): string }) {
    /** Numbers, booleans and plain strings as they read, without quotes and datatype. */
    override formatLiteral(binding: Binding, prefixes?: Record<string, string>): string {
      if (binding.datatype && !PLAIN.test(binding.datatype)) return super.formatLiteral(binding, prefixes);
      return escapeHtml(binding.value);
    }

    override getUriLinkFromBinding(binding: Binding, prefixes?: Record<string, string>): string {
      const known = labels.get(binding.value);
      if (!known) return super.getUriLinkFromBinding(binding, prefixes);
      const iri = escapeHtml(binding.value);
      const label = escapeHtml(known.label);
      if (binding.value.startsWith(PATIENT)) return `<a class='iri patient' href='#/patients/${escapeHtml(encodeURIComponent(known.label))}' title='${iri}'>${label}</a>`;
      return `<a class='iri' target='_blank' rel='noopener noreferrer' href='${iri}' title='${iri}'>${label}</a>${known.id ? ` <span class='curie'>${escapeHtml(known.id)}</span>` : ''}`;
    }
  }
  Yasr.registerPlugin('table', LabelledTable as never);
}

let registered = false;

export function queryPage(root: HTMLElement, config: UiConfig): void {
  if (!registered) {
    registerLabelledTable();
    registered = true;
  }
  const declared = Object.entries(config.prefixes).map(([p, iri]) => `PREFIX ${p}: <${iri}>`).join('\n');
  const fromUrl = new URLSearchParams(location.search).get('query');
  const editorHost = h('div', { class: 'editor' });
  const resultsHost = h('div', { class: 'yasr-host' });
  const status = h('p', { class: 'hint', role: 'status', 'aria-live': 'polite' });
  let yasqe: YasqeInstance | undefined;

  const run = (sparql: string): void => {
    yasqe!.setValue(sparql);
    void yasqe!.query().catch(() => undefined);
  };
  fill(root,
    h('h1', {}, 'Query'),
    h('p', { class: 'lede' }, 'SPARQL 1.1 over the whole graph. The prefixes ', Object.keys(config.prefixes).map((p, i) => [i ? ', ' : '', h('code', {}, `${p}:`)]),
      ' are pre-declared. Run with the ▶ button or Ctrl-Enter; Escape leaves the editor. The address of this page carries the query, to share it.'),
    h('nav', { class: 'examples', 'aria-label': 'Example queries' }, h('h2', {}, 'Examples'),
      h('ul', {}, EXAMPLES.map((q) => h('li', {}, h('button', { type: 'button', class: 'link', onclick: () => run(q.sparql) }, q.title))))),
    h('section', { 'aria-label': 'SPARQL editor' }, editorHost),
    status,
    h('section', { 'aria-label': 'Query results' }, resultsHost));

  yasqe = new Yasqe(editorHost, {
    persistenceId: null,
    consumeShareLink: null,
    createShareableLink: null as never,
    requestConfig: { endpoint: `${location.origin}/sparql`, method: 'POST', adjustQueryBeforeRequest: (y: YasqeInstance) => withPrefixes(y.getValue(), config.prefixes) } as never,
    editorHeight: '260px',
    resizeable: true,
  });
  yasqe.setValue(fromUrl !== null ? withPrefixes(fromUrl, config.prefixes) : `${declared}\n\nSELECT ?id ?sex WHERE {\n  ?p a hx:Patient ; hx:id ?id ; hx:sex ?sex .\n} LIMIT 10\n`);
  yasqe.getInputField().setAttribute('aria-label', 'SPARQL query');
  const yasr = new Yasr(resultsHost, { persistenceId: null, prefixes: config.prefixes, pluginOrder: ['table', 'response'], defaultPlugin: 'table' } as never);

  // Pre-declared: a prefix of ours used without its PREFIX line gets one, as the editor would flag it.
  yasqe.on('change', debounce(() => {
    const missing = missingPrefixes(yasqe!.getValue(), config.prefixes);
    if (Object.keys(missing).length) yasqe!.addPrefixes(missing);
  }, 800));
  yasqe.on('query', () => {
    status.textContent = 'Running…';
    history.replaceState(null, '', `/?query=${encodeURIComponent(yasqe!.getValue())}${location.hash}`);
  });
  yasqe.on('queryResponse', async (_y: unknown, response: unknown, duration: number) => {
    const rows = await labelIris(response);
    yasr.setResponse(response as never, duration);
    status.textContent = response instanceof Error ? 'The query failed: see the message below.' : `${rows === undefined ? 'Done' : `${rows.toLocaleString('en')} rows`} in ${duration} ms.`;
  });
  if (fromUrl) void yasqe.query().catch(() => undefined);
}

/** Looks up labels for the IRIs of a SELECT answer before the table is drawn; returns the row count. */
async function labelIris(response: unknown): Promise<number | undefined> {
  const content = (response as { content?: string } | undefined)?.content;
  if (response instanceof Error || typeof content !== 'string') return undefined;
  let json: SparqlJson;
  try {
    json = JSON.parse(content) as SparqlJson;
  } catch {
    return undefined;
  }
  const bindings = json.results?.bindings ?? [];
  const iris = new Set<string>();
  for (const b of bindings) for (const v of Object.values(b)) if (v.type === 'uri' && !labels.has(v.value)) iris.add(v.value);
  const ask = [...iris].slice(0, 5000);
  if (ask.length) {
    try {
      const r = await postJson<{ labels: Record<string, { label: string; id?: string }> }>('/ui/labels', { iris: ask });
      for (const [iri, label] of Object.entries(r.labels)) labels.set(iri, label);
    } catch {
      // Labels are a help: the table shows the IRIs without them.
    }
  }
  return bindings.length;
}
