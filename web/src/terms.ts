// HPO term search as you type: an ARIA 1.2 combobox over GET /ui/terms (the ontology's ranked
// search of labels, synonyms, ids, alt_ids and UMLS CUIs). Arrow keys move, Enter picks, Escape closes.

import { api } from './api.js';
import { debounce, h, uid } from './dom.js';

export interface TermHit {
  id: string;
  label: string;
  matched: string;
  descendants: number;
  umls: string[];
}

const labels = new Map<string, string>();

/** A label seen in a search (or set by a page), for showing ids as names. */
export function termLabel(id: string): string | undefined {
  return labels.get(id);
}

export function rememberLabel(id: string, label: string | undefined): void {
  if (label) labels.set(id, label);
}

/** Labels of ids not seen yet, looked up once each through the same search (an id finds itself first). */
export async function lookUpLabels(ids: string[]): Promise<void> {
  await Promise.all([...new Set(ids)].filter((id) => id && !labels.has(id)).map(async (id) => {
    const { terms } = await api<{ terms: TermHit[] }>(`/ui/terms?q=${encodeURIComponent(id)}&limit=1`);
    if (terms[0]?.id === id) labels.set(id, terms[0].label);
  }));
}

export function termSearch(label: string, onPick: (hit: TermHit) => void, placeholder = 'Seizure, HP:0001250 or C0036572'): HTMLElement {
  const listId = uid('terms');
  const input = h('input', {
    type: 'search', role: 'combobox', 'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-controls': listId,
    autocomplete: 'off', placeholder, class: 'term-input',
  });
  input.id = uid('term');
  const list = h('ul', { role: 'listbox', id: listId, class: 'term-list', hidden: true, 'aria-label': `${label}: matching terms` });
  let hits: TermHit[] = [];
  let active = -1;
  let asked = '';

  const close = (): void => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  };
  const highlight = (i: number): void => {
    active = i;
    [...list.children].forEach((li, j) => li.setAttribute('aria-selected', String(j === i)));
    const li = list.children[i] as HTMLElement | undefined;
    if (li) {
      input.setAttribute('aria-activedescendant', li.id);
      li.scrollIntoView({ block: 'nearest' });
    }
  };
  const pick = (hit: TermHit): void => {
    rememberLabel(hit.id, hit.label);
    input.value = '';
    close();
    onPick(hit);
  };
  const show = (): void => {
    list.replaceChildren(...hits.map((hit, i) => {
      const li = h('li', { role: 'option', id: `${listId}-${i}`, 'aria-selected': 'false', 'data-id': hit.id },
        h('span', { class: 'term-label' }, hit.label), ' ', h('code', {}, hit.id),
        hit.matched && hit.matched !== hit.label ? h('small', {}, ` matched “${hit.matched}”`) : null,
        h('small', { class: 'term-size' }, hit.descendants > 1 ? ` ${hit.descendants} terms with descendants` : ' no descendants'));
      li.addEventListener('mousedown', (e) => e.preventDefault());
      li.addEventListener('click', () => pick(hit));
      return li;
    }));
    if (!hits.length) list.append(h('li', { class: 'term-none', role: 'option', 'aria-disabled': 'true' }, 'No matching term'));
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    active = -1;
  };
  const search = debounce(async () => {
    const q = input.value.trim();
    if (!q) return close();
    asked = q;
    const { terms } = await api<{ terms: TermHit[] }>(`/ui/terms?q=${encodeURIComponent(q)}&limit=12`);
    if (asked !== q || input.value.trim() !== q) return;
    hits = terms;
    show();
  }, 150);

  input.addEventListener('input', search);
  input.addEventListener('blur', () => setTimeout(close, 100));
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' && hits.length) {
      e.preventDefault();
      if (list.hidden) show();
      highlight(Math.min(active + 1, hits.length - 1));
    } else if (e.key === 'ArrowUp' && hits.length) {
      e.preventDefault();
      highlight(Math.max(active - 1, 0));
    } else if (e.key === 'Enter' && !list.hidden && hits.length) {
      e.preventDefault();
      pick(hits[Math.max(active, 0)]);
    } else if (e.key === 'Escape') {
      close();
    }
  });
  return h('span', { class: 'term-search' }, h('label', { for: input.id }, label), input, list);
}
