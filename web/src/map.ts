// The embedding map: patients' stored embeddings (harmonia embed) projected on their first two
// principal components by the server (GET /ui/embeddings), coloured by sex, with a saved cohort's
// members highlighted. Clicking a point opens the patient.

import { api } from './api.js';
import { Chart, chart, COLOURS } from './charts.js';
import { fill, h, percent } from './dom.js';

interface EmbeddingMap { version?: string; versions: string[]; points: { id: string; x: number; y: number; sex?: string }[]; explained: [number, number] }

export async function mapPage(root: HTMLElement): Promise<void> {
  fill(root, h('h1', {}, 'Embedding map'), h('p', {}, 'Loading embeddings…'));
  const map = await api<EmbeddingMap>('/ui/embeddings');
  if (!map.points.length) {
    fill(root, h('h1', {}, 'Embedding map'),
      h('p', {}, 'No patient embeddings in this store yet. Train a model and embed the patients (docs/learning.md):'),
      h('pre', {}, 'harmonia train --store STORE --preset quick && harmonia embed --store STORE'));
    return;
  }
  const cohort = h('select', { id: 'map-cohort' }, h('option', { value: '' }, 'none'));
  const note = h('p', { class: 'hint', role: 'status' });
  const holder = h('div', {});
  const draw = (members: Set<string>): void => {
    const groups = new Map<string, { x: number; y: number; id: string }[]>();
    for (const p of map.points) {
      const key = members.size ? (members.has(p.id) ? 'cohort member' : 'other patients') : (p.sex ?? 'UNKNOWN_SEX');
      groups.set(key, [...(groups.get(key) ?? []), { x: p.x, y: p.y, id: p.id }]);
    }
    const keys = [...groups.keys()].sort((a, b) => (a === 'other patients' ? -1 : b === 'other patients' ? 1 : a.localeCompare(b)));
    fill(holder, chart({
      type: 'scatter',
      data: { datasets: keys.map((k, i) => ({ label: k, data: groups.get(k)!, pointRadius: 2.5, backgroundColor: k === 'other patients' ? '#ced4da' : COLOURS[i % COLOURS.length] })) },
      options: {
        scales: { x: { title: { display: true, text: `PC 1 (${percent(map.explained[0])} of variance)` } }, y: { title: { display: true, text: `PC 2 (${percent(map.explained[1])})` } } },
        plugins: { tooltip: { callbacks: { label: (c) => (c.raw as { id: string }).id } } },
        onClick: (_e, elements, c: Chart) => {
          const el = elements[0];
          if (!el) return;
          const point = c.data.datasets[el.datasetIndex].data[el.index] as unknown as { id: string };
          location.hash = `#/patients/${encodeURIComponent(point.id)}`;
        },
      },
    }, `Scatter plot of ${map.points.length} patient embeddings on two principal components`, 520));
  };
  cohort.addEventListener('change', async () => {
    if (!cohort.value) return draw(new Set());
    const r = await api<{ patients: string[] }>(`/cohorts/${encodeURIComponent(cohort.value)}/members`);
    note.textContent = `${r.patients.length} members of ${cohort.value} highlighted.`;
    draw(new Set(r.patients));
  });
  fill(root, h('h1', {}, 'Embedding map'),
    h('p', { class: 'lede' }, `${map.points.length.toLocaleString('en')} patients, model ${map.version}; the two axes explain ${percent(map.explained[0] + map.explained[1])} of the variance. Click a point to open the patient.`),
    h('p', {}, h('label', { for: 'map-cohort' }, 'Highlight a saved cohort'), ' ', cohort), note, holder);
  draw(new Set());
  const { cohorts } = await api<{ cohorts: { name: string }[] }>('/cohorts');
  cohort.append(...cohorts.map((c) => h('option', { value: c.name }, c.name)));
}
