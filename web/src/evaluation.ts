// The evaluation of an embedded model, as `harmonia eval embeddings` saved it beside the model
// (GET /ui/evaluation): the zero-shot ROC curves of each (modality, finding) on test records with
// their AUROC, and publication-grouped retrieval of test patients by the embedding beside the
// classical default, the hybrid and the single-modality baselines.

import { api } from './api.js';
import { chart, COLOURS, htmlLegend } from './charts.js';
import { fill, h, table, type Child } from './dom.js';

interface RocCurve { modality: string; term: string; label?: string; auroc: number | null; records: number; positives: number; points: [number, number][] }
interface Metrics { method: string; queries: number; 'recall@1': number | null; 'recall@5': number | null; 'recall@10': number | null; mrr: number | null }
interface Interval { mean: number | null; low: number | null; high: number | null }
interface Task {
  modality: string; term: string; label?: string; records: number; positives: number; auroc: number | null;
  f1: { f1: number; threshold: number } | { unavailable: string };
  calibration: { ece: number } | { unavailable: string };
}
interface Retrieval {
  queries: number; skipped: Record<string, number>;
  embedding: Metrics; classical: Metrics; hybrid: (Metrics & { fusion: string; chosenOn: string }) | { unavailable: string };
  mrrDifference: Record<string, Interval>; singleModality: Metrics[];
}
interface Saved {
  version: string; evaluatedAt: string; notes: string[]; rocCurves: RocCurve[];
  model: { splits: Record<string, number>; classification: Task[]; retrieval: Retrieval | { unavailable: string } };
}
interface Answer { versions: string[]; latestModel?: string; evaluation?: Saved; command: string; note?: string }

const TITLE = 'Embedding evaluation';

export async function evaluationPage(root: HTMLElement, version?: string): Promise<void> {
  fill(root, h('h1', {}, TITLE), h('p', {}, 'Loading the evaluation…'));
  const answer = await api<Answer>(`/ui/evaluation${version ? `?version=${encodeURIComponent(version)}` : ''}`);
  const e = answer.evaluation;
  if (!e) {
    fill(root, h('h1', {}, TITLE),
      h('p', { class: 'empty' }, answer.latestModel
        ? `Model ${answer.latestModel} has not been evaluated yet. Evaluate it (docs/learning.md):`
        : 'No evaluation of an embedded model in this store yet. Train a model, embed the store and evaluate it (docs/learning.md):'),
      h('pre', {}, answer.command),
      answer.note ? h('p', { class: 'hint' }, answer.note) : null);
    return;
  }
  const chooser = answer.versions.length > 1
    ? h('p', {}, h('label', { for: 'eval-version' }, 'Model version'), ' ',
      h('select', { id: 'eval-version', onchange: (ev: Event) => { location.hash = `#/evaluation/${encodeURIComponent((ev.target as HTMLSelectElement).value)}`; } },
        answer.versions.map((v) => h('option', { value: v, selected: v === e.version }, v))))
    : null;
  const s = e.model.splits;
  fill(root, h('h1', {}, TITLE),
    h('p', { class: 'lede' }, `Model ${e.version}, evaluated ${e.evaluatedAt.slice(0, 16).replace('T', ' ')} UTC on its test split (${s.test ?? 0} of ${(s.train ?? 0) + (s.validation ?? 0) + (s.test ?? 0)} patients). `,
      'Refresh with ', h('code', {}, answer.command), '.'),
    chooser,
    classification(e),
    retrieval(e.model.retrieval));
}

function classification(e: Saved): HTMLElement {
  const tasks = e.model.classification;
  const body: Child[] = [];
  if (!tasks.length) body.push(h('p', {}, 'No zero-shot classification task: no embedded record of the test split has a finding the model has a term embedding for.'));
  else {
    const name = (c: { modality: string; term: string; label?: string }) => `${c.modality} ${c.label ?? c.term} (${c.term})`;
    const legend = h('ul', { class: 'legend', 'aria-label': 'ROC curves' });
    const datasets = e.rocCurves.map((c, i) => ({
      label: `${name(c)}, AUROC ${fixed(c.auroc)}`, data: c.points.map(([x, y]) => ({ x, y })),
      showLine: true, pointRadius: 0, borderWidth: 2, borderColor: COLOURS[i % COLOURS.length], backgroundColor: COLOURS[i % COLOURS.length],
    }));
    const chance = { label: 'chance', data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], showLine: true, pointRadius: 0, borderWidth: 1, borderDash: [5, 4], borderColor: '#adb5bd', backgroundColor: '#adb5bd' };
    const axis = (text: string) => ({ min: 0, max: 1, title: { display: true, text } });
    if (e.rocCurves.length)
      body.push(h('figure', { class: 'roc' }, h('figcaption', {}, 'ROC curves, test records'), chart({
        type: 'scatter',
        data: { datasets: [...datasets, chance] },
        options: {
          scales: { x: axis('false positive rate'), y: axis('true positive rate') },
          plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => `${c.dataset.label}: FPR ${fixed((c.raw as { x: number }).x, 3)}, TPR ${fixed((c.raw as { y: number }).y, 3)}` } } },
        },
        plugins: [htmlLegend(legend)],
      }, `ROC curves of ${e.rocCurves.length} zero-shot classification task${e.rocCurves.length === 1 ? '' : 's'}: ${e.rocCurves.map((c) => `${name(c)} AUROC ${fixed(c.auroc)}`).join('; ')}`, 420), legend));
    body.push(table(['modality', 'finding', 'test records', 'with the finding', 'AUROC', 'F1 (threshold from validation)', 'ECE (Platt)'],
      tasks.map((t) => [t.modality, `${t.label ?? ''} ${t.term}`.trim(), t.records, t.positives, fixed(t.auroc),
        'f1' in t.f1 ? `${fixed(t.f1.f1)} (≥ ${fixed(t.f1.threshold, 3)})` : t.f1.unavailable,
        'ece' in t.calibration ? fixed(t.calibration.ece) : t.calibration.unavailable]),
      'Zero-shot classification: cosine of the record embedding to the term embedding', { class: 'classification' }));
    for (const n of e.notes) body.push(h('p', { class: 'hint' }, n));
  }
  return h('section', { 'aria-labelledby': 'eval-classification' }, h('h2', { id: 'eval-classification' }, 'Zero-shot classification'), body);
}

function retrieval(r: Retrieval | { unavailable: string }): HTMLElement {
  const head = h('h2', { id: 'eval-retrieval' }, 'Retrieval of similar patients');
  if ('unavailable' in r) return h('section', { 'aria-labelledby': 'eval-retrieval' }, head, h('p', {}, r.unavailable));
  const diff = (key: string) => {
    const d = r.mrrDifference[key];
    return d && d.mean !== null ? `${signed(d.mean)} (${signed(d.low)} to ${signed(d.high)})` : '–';
  };
  const row = (kind: string, m: Metrics, vsClassical: string): Child[] => [kind, m.method, m.queries, fixed(m['recall@1']), fixed(m['recall@5']), fixed(m['recall@10']), fixed(m.mrr), vsClassical];
  const rows: Child[][] = [
    row('embedding', r.embedding, diff('embedding - classical')),
    row('classical', r.classical, ''),
    'unavailable' in r.hybrid ? ['hybrid', r.hybrid.unavailable, '', '', '', '', '', ''] : row('hybrid', r.hybrid, diff('hybrid - classical')),
    ...r.singleModality.map((m) => row('single modality', m, '')),
  ];
  const skipped = Object.entries(r.skipped).map(([why, n]) => `${n} ${why}`).join(', ');
  return h('section', { 'aria-labelledby': 'eval-retrieval' }, head,
    h('p', { class: 'hint' }, `${r.queries} test patients as queries; candidates exclude the query's publications; relevant = shares a diagnosis.${skipped ? ` Not queries: ${skipped}.` : ''}`),
    table(['', 'method', 'queries', 'recall@1', 'recall@5', 'recall@10', 'MRR', 'MRR − classical (95 % CI)'], rows, 'Recall@K and MRR on test patients, grouped by publication', { class: 'retrieval' }));
}

function fixed(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined ? '–' : x.toFixed(digits);
}

function signed(x: number | null): string {
  return x === null ? '–' : `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;
}
