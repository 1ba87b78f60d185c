// A tiny element builder: text is always set as text (never parsed as HTML), so data from the
// store cannot inject markup.

export type Child = Node | string | number | null | undefined | false | Child[];
type Listener = (e: Event) => void;
export type Attrs = Record<string, string | number | boolean | Listener | undefined | null>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' && 'value' in el) (el as HTMLInputElement).value = String(v);
    else if (k === 'checked' && 'checked' in el) (el as HTMLInputElement).checked = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces the element's content. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

let ids = 0;
/** A unique element id, for label/for and aria-* references. */
export function uid(prefix = 'id'): string {
  return `${prefix}-${++ids}`;
}

/** A labelled form control: <label for> + the control, in one wrapper. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  control.id ||= uid('f');
  const l = h('label', { for: control.id }, label);
  return h('span', { class: 'field' }, l, control, hint ? h('small', { class: 'hint' }, hint) : null);
}

export function select(options: [string, string][], value: string | undefined, onchange: (v: string) => void, attrs: Attrs = {}): HTMLSelectElement {
  const s = h('select', attrs, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
  s.addEventListener('change', () => onchange(s.value));
  return s;
}

export function table(head: string[], rows: Child[][], caption?: string, attrs: Attrs = {}): HTMLTableElement {
  return h('table', attrs,
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c))))));
}

export function debounce<A extends unknown[]>(fn: (...a: A) => void, ms: number): (...a: A) => void {
  let t: ReturnType<typeof setTimeout> | undefined;
  return (...a: A) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...a), ms);
  };
}

export function percent(f: number): string {
  return `${(f * 100).toFixed(f < 0.1 ? 1 : 0)}%`;
}

/** A p- or q-value the way papers print them: 3 significant digits, scientific when small. */
export function pValue(p: number): string {
  return p < 1e-3 ? p.toExponential(1) : p.toPrecision(2);
}

export function patientLink(id: string): HTMLAnchorElement {
  return h('a', { href: `#/patients/${encodeURIComponent(id)}` }, id);
}
