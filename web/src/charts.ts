// Charts with chart.js (only the controllers used are bundled). Every chart is a canvas with
// role="img" and a text summary, next to a table with the same numbers: screen readers and
// people who want the exact values read the table.

import {
  BarController, BarElement, CategoryScale, Chart, Legend, LineElement, LinearScale, PointElement, ScatterController, Tooltip,
  type ChartConfiguration, type Plugin,
} from 'chart.js';
import { fill, h } from './dom.js';

// LineElement: scatter datasets with showLine (the ROC curves of the evaluation page).
Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip, ScatterController, PointElement, LineElement);

export const COLOURS = ['#1f6feb', '#d9480f', '#2f9e44', '#ae3ec9', '#f08c00', '#0c8599', '#868e96'];

const live = new WeakMap<HTMLCanvasElement, Chart>();

export function chart(config: ChartConfiguration, summary: string, height = 220): HTMLElement {
  const canvas = h('canvas', { role: 'img', 'aria-label': summary });
  const box = h('div', { class: 'chart', style: `height:${height}px` }, canvas);
  // Drawn once the box is in the document (chart.js measures its parent).
  requestAnimationFrame(() => {
    if (!canvas.isConnected) return;
    live.get(canvas)?.destroy();
    live.set(canvas, new Chart(canvas, { ...config, options: { maintainAspectRatio: false, animation: false, ...(config.options ?? {}) } }));
  });
  return box;
}

/**
 * The chart's legend as an HTML list in `list` (give the chart `legend: { display: false }`): its
 * text is read by screen readers, and each entry is a button that shows or hides its dataset.
 */
export function htmlLegend(list: HTMLElement): Plugin {
  return {
    id: 'htmlLegend',
    afterUpdate(c: Chart) {
      const items = c.options.plugins?.legend?.labels?.generateLabels?.(c) ?? [];
      fill(list, items.map((item) => h('li', {}, h('button', {
        type: 'button', 'aria-pressed': String(!item.hidden),
        onclick: () => {
          c.setDatasetVisibility(item.datasetIndex!, !c.isDatasetVisible(item.datasetIndex!));
          c.update();
        },
      }, h('span', { class: 'swatch', style: `background:${String(item.strokeStyle)}`, 'aria-hidden': 'true' }), item.text))));
    },
  };
}

/** Vertical bars, one dataset per series (a cohort, or cohorts A and B side by side). */
export function bars(labels: string[], series: { label: string; data: number[] }[], summary: string, options: { horizontal?: boolean; percent?: boolean; height?: number } = {}): HTMLElement {
  const axis = options.percent ? { ticks: { callback: (v: string | number) => `${Math.round(Number(v) * 100)}%` }, max: 1, min: 0 } : { beginAtZero: true, ticks: { precision: 0 } };
  return chart({
    type: 'bar',
    data: { labels: labels.map(shorten), datasets: series.map((s, i) => ({ label: s.label, data: s.data, backgroundColor: COLOURS[i % COLOURS.length] })) },
    options: {
      indexAxis: options.horizontal ? 'y' : 'x',
      scales: options.horizontal ? { x: axis } : { y: axis },
      plugins: {
        legend: { display: series.length > 1 },
        tooltip: { callbacks: { title: (items) => labels[items[0]?.dataIndex ?? 0] ?? '', ...(options.percent ? { label: (c) => `${c.dataset.label}: ${(Number(c.raw) * 100).toFixed(1)}%` } : {}) } },
      },
    },
  } as ChartConfiguration, summary, options.height ?? (options.horizontal ? Math.max(160, labels.length * 26 * Math.max(1, series.length * 0.7)) : 220));
}

/** Axis labels stay readable: long names are cut (the tooltip shows them whole). */
function shorten(label: string): string {
  return label.length > 42 ? `${label.slice(0, 40)}…` : label;
}

export { Chart };
