// The cohort builder (ATLAS-like): concept sets, nested criteria groups, a live member count,
// the JSON definition and its compiled SPARQL side by side, save/load, members with explain,
// characterisation charts and the comparison of two cohorts.

import { api, ApiError, postJson, withToken, type Issue, type UiConfig } from './api.js';
import { bars } from './charts.js';
import {
  ACMG, AGE_UNITS, changeKind, childrenOf, cleanDefinition, criterionKind, defaultCriterion, emptyDefinition, freshSetId,
  GROUP_KINDS, isGroup, KIND_LABELS, LEAF_KINDS, MODALITIES, renameConceptSet, setField, setUses, SEXES, STATUSES, walk,
  type CohortDefinition, type Criterion, type Kind,
} from './cohort-model.js';
import { debounce, field, fill, h, patientLink, percent, pValue, select, table, type Child } from './dom.js';
import { lookUpLabels, termLabel, termSearch } from './terms.js';

interface Explanation { patient: string; matched: boolean; criteria: ExplainNode }
interface ExplainNode { path: string; criterion: string; matched: boolean; evidence?: { value: string; label?: string }[]; children?: ExplainNode[] }
interface TermStat { id: string; label?: string; count: number; fraction: number; otherCount: number; otherFraction: number; oddsRatio: number; p: number; q: number }
interface Tally { value: string; label?: string; count: number; fraction: number }
export interface Characterisation { count: number; sex: Record<string, number>; ageBands: Record<string, number>; topTerms: TermStat[]; enrichedTerms: TermStat[]; genes: Tally[]; diseases: Tally[]; testedTerms: number }
interface Comparison {
  a: { count: number; onlyA: number }; b: { count: number; onlyB: number }; both: number;
  sex: Record<string, [number, number]>; ageBands: Record<string, [number, number]>; terms: TermStat[];
  genes: { value: string; a: number; b: number }[]; diseases: { value: string; label?: string; a: number; b: number }[];
}
interface Saved { name: string; description?: string; createdBy?: string; created?: string }

const CURRENT = '\u0000current';

export function cohortPage(root: HTMLElement, config: UiConfig, initial?: CohortDefinition): void {
  let def: CohortDefinition = initial ?? emptyDefinition();
  let explained: { key: string; list: Explanation[] } | undefined;

  const count = h('p', { class: 'count', role: 'status', 'aria-live': 'polite' }, 'Add criteria to count patients.');
  const issues = h('ul', { class: 'issues', 'aria-live': 'polite' });
  const json = h('textarea', { class: 'json', spellcheck: 'false', rows: 18, 'aria-describedby': 'json-help' });
  const jsonStatus = h('p', { id: 'json-help', class: 'hint' }, 'Edit the JSON and press Apply, or build it with the form.');
  const sparql = h('pre', { class: 'sparql', tabindex: 0, 'aria-label': 'Compiled SPARQL' });
  const setsBox = h('div', { class: 'sets' });
  const criteriaBox = h('div', { class: 'criteria' });
  const results = h('div', { class: 'results', 'aria-live': 'polite' });
  const savedSelect = h('select', { 'aria-label': 'Saved cohorts' });
  const compareA = h('select', {});
  const compareB = h('select', {});
  const compareOut = h('div', { class: 'results', 'aria-live': 'polite' });
  const message = h('p', { class: 'message', role: 'status' });
  const name = h('input', { value: def.name, required: true, pattern: '[A-Za-z0-9][A-Za-z0-9._-]{0,127}', size: 28 });
  const description = h('input', { value: def.description ?? '', size: 50 });

  const body = (): CohortDefinition => cleanDefinition(def);

  const refreshCount = debounce(async () => {
    const sent = JSON.stringify(body());
    if (childrenOf(def.criteria)?.length === 0) {
      delete count.dataset.count;
      fill(count, 'Add a criterion to count patients.');
      fill(issues);
      sparql.textContent = '';
      return;
    }
    try {
      const r = await postJson<{ count: number; sparql: string }>('/cohorts?countOnly=true', body());
      if (JSON.stringify(body()) !== sent) return;
      fill(count, h('strong', {}, r.count.toLocaleString('en')), r.count === 1 ? ' patient matches' : ' patients match');
      count.dataset.count = String(r.count);
      fill(issues);
      sparql.textContent = r.sparql;
    } catch (e) {
      if (JSON.stringify(body()) !== sent) return;
      delete count.dataset.count;
      fill(count, 'Not countable yet:');
      fill(issues, (e instanceof ApiError && e.issues.length ? e.issues : [{ path: '', message: (e as Error).message }]).map((i: Issue) => h('li', {}, i.path ? h('code', {}, i.path) : null, ' ', i.message)));
    }
  }, 250);

  /** Any edit: the JSON panel follows, the count is refreshed. */
  const changed = (): void => {
    json.value = JSON.stringify(body(), null, 2);
    explained = undefined;
    refreshCount();
  };
  /** A structural edit (added or removed parts): the form is drawn again. */
  const redraw = (): void => {
    name.value = def.name;
    description.value = def.description ?? '';
    fill(setsBox, conceptSets());
    fill(criteriaBox, criterion(def.criteria, '/criteria', undefined));
    changed();
    // Ids typed into the JSON or loaded have no label yet: look them up once, then draw again.
    const unlabelled = conceptIds().filter((id) => !termLabel(id));
    if (unlabelled.length) void lookUpLabels(unlabelled).then(() => { if (unlabelled.some((id) => termLabel(id))) redraw(); });
  };
  const conceptIds = (): string[] => [
    ...(def.conceptSets ?? []).flatMap((s) => s.items.map((i) => i.concept)),
    ...[...walk(def.criteria)].flatMap((c) => ('phenotype' in c && c.phenotype.concept ? [c.phenotype.concept] : [])),
  ];

  name.addEventListener('input', () => { def.name = name.value.trim(); changed(); });
  description.addEventListener('input', () => { setField(def, 'description', description.value.trim()); changed(); });

  // ---- concept sets
  const conceptSets = (): Child => [
    (def.conceptSets ?? []).map((set, si) => h('fieldset', { class: 'set' },
      h('legend', {}, `Concept set ${si + 1}`),
      field('Id', idInput(set.id, (to) => { renameConceptSet(def, set.id, to); changed(); })),
      field('Name', textInput(set.name ?? '', (v) => { setField(set, 'name', v); changed(); }, 30)),
      set.items.length ? table(['Term', 'Include descendants', 'Exclude', ''], set.items.map((item, ii) => [
        h('span', {}, termLabel(item.concept) ?? '', ' ', h('code', {}, item.concept)),
        checkbox(`Include descendants of ${item.concept}`, item.includeDescendants ?? true, (v) => { item.includeDescendants = v; changed(); }),
        checkbox(`Exclude ${item.concept}`, item.isExcluded ?? false, (v) => { setField(item, 'isExcluded', v || undefined); changed(); }),
        h('button', { type: 'button', class: 'link', onclick: () => { set.items.splice(ii, 1); redraw(); } }, 'Remove'),
      ]), undefined, { class: 'items' }) : h('p', { class: 'hint' }, 'No terms yet: search for one below.'),
      termSearch(`Add a term to ${set.id}`, (hit) => { set.items.push({ concept: hit.id, includeDescendants: true }); redraw(); }),
      h('button', {
        type: 'button', class: 'link', onclick: () => {
          const uses = setUses(def, set.id);
          if (uses && !confirm(`${uses} criteria use concept set ${set.id}. Remove it anyway?`)) return;
          def.conceptSets!.splice(si, 1);
          redraw();
        },
      }, `Remove concept set ${set.id}`))),
    h('button', { type: 'button', onclick: () => { (def.conceptSets ??= []).push({ id: freshSetId(def), items: [] }); redraw(); } }, 'Add concept set'),
  ];

  // ---- criteria
  const criterion = (c: Criterion, path: string, parent: Criterion[] | undefined): HTMLElement => {
    const kind = criterionKind(c);
    const kinds: [string, string][] = [...GROUP_KINDS, ...LEAF_KINDS].map((k) => [k, KIND_LABELS[k]]);
    const kindSelect = select(kinds, kind, (k) => { changeKind(c, k as Kind, def); redraw(); }, { 'aria-label': `Kind of criterion ${path}`, class: 'kind' });
    const remove = parent ? h('button', { type: 'button', class: 'link', 'aria-label': `Remove criterion ${path}`, onclick: () => { parent.splice(parent.indexOf(c), 1); redraw(); } }, 'Remove') : null;
    if (isGroup(kind)) {
      const children = childrenOf(c)!;
      const childPath = 'atLeast' in c ? `${path}/atLeast/of` : `${path}/${kind}`;
      return h('fieldset', { class: `group group-${kind}`, 'data-path': path },
        h('legend', {}, kindSelect, 'atLeast' in c ? field('n', numberInput(c.atLeast.n, (v) => { c.atLeast.n = v ?? 1; changed(); }, 1)) : null, remove),
        children.length ? h('ol', {}, children.map((child, i) => h('li', {}, criterion(child, `${childPath}/${i}`, children)))) : h('p', { class: 'hint' }, 'Empty group: add a criterion.'),
        h('div', { class: 'add' },
          h('button', { type: 'button', onclick: () => { children.push(defaultCriterion('phenotype', def)); redraw(); } }, 'Add criterion'),
          h('button', { type: 'button', onclick: () => { children.push({ any: [] }); redraw(); } }, 'Add group')));
    }
    return h('div', { class: `leaf leaf-${kind}`, 'data-path': path }, kindSelect, leafFields(c), remove);
  };

  const leafFields = (c: Criterion): Child => {
    if ('phenotype' in c) {
      const p = c.phenotype;
      const sets: [string, string][] = (def.conceptSets ?? []).map((s) => [s.id, `concept set ${s.id}`]);
      const source = select([...sets, ['', 'a single term']], p.conceptSet ?? '', (v) => {
        delete p.conceptSet; delete p.concept; delete p.includeDescendants;
        if (v) p.conceptSet = v;
        redraw();
      }, {});
      return [
        field('Terms from', source),
        p.conceptSet === undefined ? [
          p.concept ? h('span', { class: 'chosen' }, termLabel(p.concept) ?? '', ' ', h('code', {}, p.concept)) : null,
          termSearch(p.concept ? 'Change term' : 'Term', (hit) => { p.concept = hit.id; redraw(); }),
          checkbox('with descendants', p.includeDescendants ?? true, (v) => { setField(p, 'includeDescendants', v ? undefined : false); changed(); }, true),
        ] : null,
        field('Status', select(STATUSES.map((s) => [s, { observed: 'observed', excluded: 'explicitly excluded', notRecorded: 'not recorded' }[s]]), p.status ?? 'observed', (v) => { p.status = v as typeof p.status; changed(); })),
      ];
    }
    if ('gene' in c) {
      const g = c.gene;
      return field('Gene symbol or HGNC id', textInput(g.id ?? g.symbol ?? '', (v) => {
        delete g.id; delete g.symbol;
        if (/^HGNC:\d+$/i.test(v)) g.id = v.toUpperCase(); else g.symbol = v;
        changed();
      }, 14, 'STXBP1'));
    }
    if ('variant' in c) {
      const v = c.variant;
      const text = (label: string, key: 'chrom' | 'ref' | 'alt' | 'hgvs', size: number, placeholder?: string) =>
        field(label, textInput(v[key] ?? '', (x) => { setField(v, key, x); changed(); }, size, placeholder));
      return [
        field('Gene', textInput(v.gene?.symbol ?? v.gene?.id ?? '', (x) => { setField(v, 'gene', x ? (/^HGNC:\d+$/i.test(x) ? { id: x.toUpperCase() } : { symbol: x }) : undefined); changed(); }, 10)),
        text('Chromosome', 'chrom', 4), field('Position', numberInput(v.pos, (x) => { setField(v, 'pos', x); changed(); }, 1)),
        text('Ref', 'ref', 4), text('Alt', 'alt', 4),
        field('Assembly', select([['', 'any'], ['GRCh37', 'GRCh37'], ['GRCh38', 'GRCh38']], v.assembly ?? '', (x) => { setField(v, 'assembly', x); changed(); })),
        text('HGVS', 'hgvs', 24, 'NM_003165.6:c.1162C>T'),
        field('ACMG class', select([['', 'any'], ...ACMG.map((a) => [a, a.toLowerCase().replace(/_/g, ' ')] as [string, string])], typeof v.acmgClass === 'string' ? v.acmgClass : '', (x) => { setField(v, 'acmgClass', x); changed(); })),
      ];
    }
    if ('disease' in c) {
      const value = typeof c.disease === 'string' ? c.disease : c.disease.id;
      return field('Disease id', textInput(value, (x) => { c.disease = x; changed(); }, 16, 'OMIM:612164'));
    }
    if ('sex' in c) return field('Sex', select(SEXES.map((s) => [s, s.toLowerCase().replace('_', ' ')]), c.sex, (x) => { c.sex = x as typeof c.sex; changed(); }));
    if ('age' in c || 'onset' in c) {
      const range = 'age' in c ? c.age : c.onset;
      return [
        'onset' in c ? field('Of terms from', select([['', 'any observed feature'], ...(def.conceptSets ?? []).map((s) => [s.id, `concept set ${s.id}`] as [string, string])], c.onset.conceptSet ?? '', (x) => { setField(c.onset, 'conceptSet', x); changed(); })) : null,
        field('From', numberInput(range.min, (x) => { setField(range, 'min', x); changed(); }, 0, 'any')),
        field('to', numberInput(range.max, (x) => { setField(range, 'max', x); changed(); }, 0, 'any')),
        field('Unit', select(AGE_UNITS.map((u) => [u, u]), range.unit ?? 'years', (x) => { range.unit = x as typeof range.unit; changed(); })),
        h('small', { class: 'hint' }, 'age' in c ? 'at the last encounter, both ends included' : 'age at onset, both ends included'),
      ];
    }
    if ('modality' in c) return field('Has a record of', select(MODALITIES.map((m) => [m, m.toUpperCase()]), c.modality, (x) => { c.modality = x as typeof c.modality; changed(); }));
    if ('site' in c) return field('Site', textInput(c.site, (x) => { c.site = x; changed(); }, 16, 'site-A'));
    if ('publication' in c) {
      const value = typeof c.publication === 'string' ? c.publication : c.publication.id;
      return field('Publication', textInput(value, (x) => { c.publication = x; changed(); }, 16, 'PMID:36515542'));
    }
    return null;
  };

  // ---- JSON panel
  const apply = h('button', {
    type: 'button', onclick: () => {
      try {
        const parsed = JSON.parse(json.value) as CohortDefinition;
        if (!parsed || typeof parsed !== 'object' || !parsed.criteria) throw new Error('a definition needs "name" and "criteria"');
        def = { conceptSets: [], ...parsed };
        jsonStatus.textContent = 'Applied.';
        redraw();
      } catch (e) {
        jsonStatus.textContent = `Not applied: ${(e as Error).message}`;
      }
    },
  }, 'Apply JSON');

  // ---- actions
  const members = async (): Promise<void> => {
    fill(results, h('p', {}, 'Finding members…'));
    const r = await postJson<{ count: number; patients: string[] }>('/cohorts', body());
    const explain = h('div', { class: 'explain', 'aria-live': 'polite' });
    fill(results, h('h3', {}, `${r.count.toLocaleString('en')} ${r.count === 1 ? 'member' : 'members'}`),
      h('ul', { class: 'members' }, r.patients.slice(0, 500).map((id) => h('li', {}, patientLink(id), ' ',
        h('button', { type: 'button', class: 'link', 'aria-label': `Explain ${id}`, onclick: () => void explainMember(id, explain) }, 'explain')))),
      r.count > 500 ? h('p', { class: 'hint' }, `The first 500 of ${r.count} are listed.`) : null,
      explain);
  };
  const explainMember = async (id: string, out: HTMLElement): Promise<void> => {
    const key = JSON.stringify(body());
    if (explained?.key !== key) {
      fill(out, 'Explaining…');
      const r = await postJson<{ explanations: Explanation[] }>('/cohorts?explain=true', body());
      explained = { key, list: r.explanations };
    }
    const e = explained.list.find((x) => x.patient === id);
    fill(out, h('h3', {}, `Why ${id} is a member`), e ? explainTree(e.criteria) : h('p', {}, 'No explanation returned.'));
  };
  const characterise = async (): Promise<void> => {
    fill(results, h('p', {}, 'Characterising…'));
    const r = await postJson<{ characterisation: Characterisation }>('/cohorts?characterise=true&limit=15', body());
    fill(results, characterisationView(r.characterisation, def.name));
  };
  const save = async (): Promise<void> => {
    const saved = await withToken((headers) => api<{ name: string; created: string }>(`/cohorts/${encodeURIComponent(def.name)}`, {
      method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body()),
    }), askToken);
    message.textContent = `Saved ${saved.name}.`;
    await listSaved();
  };
  const load = async (): Promise<void> => {
    if (!savedSelect.value) return;
    const r = await api<{ definition: CohortDefinition }>(`/cohorts/${encodeURIComponent(savedSelect.value)}`);
    def = { conceptSets: [], ...r.definition };
    message.textContent = `Loaded ${def.name}.`;
    redraw();
  };
  const listSaved = async (): Promise<void> => {
    const { cohorts } = await api<{ cohorts: Saved[] }>('/cohorts');
    const opts = cohorts.map((c) => h('option', { value: c.name }, c.name + (c.description ? ` — ${c.description}` : '')));
    savedSelect.replaceChildren(h('option', { value: '' }, cohorts.length ? 'Choose a saved cohort' : 'No saved cohorts'), ...opts);
    for (const [s, i] of [[compareA, 0], [compareB, 1]] as const) {
      const keep = s.value;
      s.replaceChildren(h('option', { value: CURRENT }, 'the definition being edited'), ...cohorts.map((c) => h('option', { value: c.name }, c.name)));
      s.value = keep && [...s.options].some((o) => o.value === keep) ? keep : (cohorts[i]?.name ?? CURRENT);
    }
  };
  const compare = async (): Promise<void> => {
    const pick = (v: string) => (v === CURRENT ? body() : v);
    fill(compareOut, h('p', {}, 'Comparing…'));
    const r = await postJson<{ a: string; b: string; comparison: Comparison }>('/cohorts/compare?limit=15', { a: pick(compareA.value), b: pick(compareB.value) });
    fill(compareOut, comparisonView(r.a, r.b, r.comparison));
  };
  const guarded = (fn: () => Promise<void>, out: HTMLElement) => () => void fn().catch((e: unknown) => {
    fill(out, h('p', { class: 'error', role: 'alert' }, (e as Error).message),
      e instanceof ApiError && e.issues.length ? h('ul', {}, e.issues.map((i) => h('li', {}, h('code', {}, i.path), ' ', i.message))) : null);
  });

  fill(root,
    h('h1', {}, 'Cohort builder'),
    h('p', { class: 'lede' }, `Concept sets of HPO ${config.hpoVersion} terms and criteria on patients. The count updates as you edit.`),
    h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Saved cohorts' },
      savedSelect, h('button', { type: 'button', onclick: guarded(load, message) }, 'Load'),
      h('button', { type: 'button', onclick: () => { def = emptyDefinition(); redraw(); } }, 'New'),
      h('button', { type: 'button', class: 'primary', onclick: guarded(save, message) }, 'Save'),
      config.writes ? null : h('small', { class: 'hint' }, 'This server takes no writes (started without an update token): saving will be refused.'),
      message),
    h('div', { class: 'builder' },
      h('form', { class: 'definition', 'aria-label': 'Cohort definition', onsubmit: (e: Event) => e.preventDefault() },
        h('div', { class: 'row' }, field('Name', name), field('Description', description)),
        h('h2', {}, 'Concept sets'), setsBox,
        h('h2', {}, 'Criteria'), criteriaBox),
      h('aside', { class: 'side', 'aria-label': 'Count and compiled query' },
        h('h2', {}, 'Members'), count, issues,
        h('div', { class: 'actions' },
          h('button', { type: 'button', onclick: guarded(members, results) }, 'Show members'),
          h('button', { type: 'button', onclick: guarded(characterise, results) }, 'Characterise')))),
    h('div', { class: 'side-by-side' },
      h('section', { 'aria-labelledby': 'json-h' }, h('h2', { id: 'json-h' }, 'Definition (JSON)'), json, apply, jsonStatus),
      h('section', { 'aria-labelledby': 'sparql-h' }, h('h2', { id: 'sparql-h' }, 'Compiled SPARQL'), sparql)),
    h('section', { 'aria-labelledby': 'results-h' }, h('h2', { id: 'results-h' }, 'Results'), results),
    h('section', { 'aria-labelledby': 'compare-h' }, h('h2', { id: 'compare-h' }, 'Compare two cohorts'),
      h('div', { class: 'row' }, field('Cohort A', compareA), field('Cohort B', compareB),
        h('button', { type: 'button', onclick: guarded(compare, compareOut) }, 'Compare')),
      compareOut),
    tokenDialog);
  redraw();
  void listSaved().catch(() => undefined);
}

function textInput(value: string, oninput: (v: string) => void, size: number, placeholder?: string): HTMLInputElement {
  const i = h('input', { value, size, placeholder });
  i.addEventListener('input', () => oninput(i.value.trim()));
  return i;
}

function numberInput(value: number | undefined, oninput: (v: number | undefined) => void, min: number, placeholder?: string): HTMLInputElement {
  const i = h('input', { type: 'number', value: value ?? '', min, step: 'any', class: 'num', placeholder });
  i.addEventListener('input', () => oninput(i.value === '' ? undefined : Number(i.value)));
  return i;
}

function idInput(value: string, onchange: (v: string) => void): HTMLInputElement {
  const i = h('input', { value, size: 14, pattern: '[A-Za-z0-9][A-Za-z0-9._-]*' });
  i.addEventListener('change', () => { if (i.value.trim()) onchange(i.value.trim()); });
  return i;
}

function checkbox(label: string, checked: boolean, onchange: (v: boolean) => void, visibleLabel = false): HTMLElement {
  const c = h('input', { type: 'checkbox', checked, 'aria-label': visibleLabel ? undefined : label });
  c.addEventListener('change', () => onchange(c.checked));
  return visibleLabel ? h('label', { class: 'check' }, c, ` ${label}`) : c;
}

function explainTree(n: ExplainNode): HTMLElement {
  return h('ul', { class: 'tree' }, h('li', { class: n.matched ? 'yes' : 'no' },
    h('span', { class: 'mark', 'aria-label': n.matched ? 'matched' : 'not matched' }, n.matched ? '✓' : '✗'), ' ', n.criterion, ' ', h('code', {}, n.path),
    n.evidence?.length ? h('div', { class: 'evidence' }, 'because of ', n.evidence.map((e, i) => [i ? ', ' : '', e.label ? `${e.label} ` : '', h('code', {}, e.value)])) : null,
    n.children?.map(explainTree)));
}

const askToken = (retry: boolean): Promise<string | undefined> => {
  tokenInput.value = '';
  tokenNote.textContent = retry ? 'That token was refused. Try again:' : 'This server needs its update token to save cohorts (harmonia demo prints it at start).';
  tokenDialog.showModal();
  tokenInput.focus();
  return new Promise((resolve) => {
    tokenDialog.addEventListener('close', () => resolve(tokenDialog.returnValue === 'ok' && tokenInput.value ? tokenInput.value : undefined), { once: true });
  });
};
const tokenInput = h('input', { type: 'password', id: 'token', autocomplete: 'off', size: 32 });
const tokenNote = h('p', { id: 'token-note' });
const tokenDialog = h('dialog', { 'aria-labelledby': 'token-h', 'aria-describedby': 'token-note' },
  h('form', { method: 'dialog' },
    h('h2', { id: 'token-h' }, 'Update token'), tokenNote,
    h('label', { for: 'token' }, 'Token'), ' ', tokenInput,
    h('div', { class: 'actions' }, h('button', { value: 'ok', class: 'primary' }, 'Save with this token'), h('button', { value: 'cancel', formnovalidate: true }, 'Cancel'))));

const BAND_ORDER = ['<1', '1-4', '5-11', '12-17', '18-39', '40-64', '>=65', 'unknown'];

/** The characterisation: sex, age bands, enriched terms with q-values, genes, diseases. */
export function characterisationView(c: Characterisation, name: string): HTMLElement {
  const sexes = Object.keys(c.sex);
  const bands = BAND_ORDER.filter((b) => c.ageBands[b] !== undefined);
  const terms = (c.enrichedTerms.length ? c.enrichedTerms : c.topTerms).slice(0, 15);
  const termName = (t: TermStat) => `${t.label ?? t.id}`;
  return h('div', { class: 'characterisation' },
    h('h3', {}, `${name}: ${c.count.toLocaleString('en')} ${c.count === 1 ? 'patient' : 'patients'}`),
    h('div', { class: 'charts' },
      h('figure', {}, h('figcaption', {}, 'Sex'), bars(sexes, [{ label: 'patients', data: sexes.map((s) => c.sex[s]) }], `Sex: ${sexes.map((s) => `${s} ${c.sex[s]}`).join(', ')}`)),
      h('figure', {}, h('figcaption', {}, 'Age at last encounter (years)'), bars(bands, [{ label: 'patients', data: bands.map((b) => c.ageBands[b]) }], `Age bands: ${bands.map((b) => `${b} ${c.ageBands[b]}`).join(', ')}`))),
    h('figure', { class: 'wide' },
      h('figcaption', {}, c.enrichedTerms.length ? `HPO terms enriched against the rest of the store (q < 0.05, Fisher's exact test, Benjamini-Hochberg over ${c.testedTerms} terms)` : 'Most frequent HPO terms (none enriched at q < 0.05)'),
      bars(terms.map(termName), [{ label: 'in the cohort', data: terms.map((t) => t.fraction) }, { label: 'in the rest', data: terms.map((t) => t.otherFraction) }],
        `Terms: ${terms.slice(0, 5).map((t) => `${termName(t)} ${percent(t.fraction)} versus ${percent(t.otherFraction)}`).join('; ')}`, { horizontal: true, percent: true }),
      table(['Term', 'In the cohort', 'In the rest', 'Odds ratio', 'q'], terms.map((t) => [
        h('span', {}, termName(t), ' ', h('code', {}, t.id)), `${t.count} (${percent(t.fraction)})`, `${t.otherCount} (${percent(t.otherFraction)})`,
        Number.isFinite(t.oddsRatio) ? t.oddsRatio.toFixed(1) : '∞', pValue(t.q)]), undefined, { class: 'terms' })),
    h('div', { class: 'charts' },
      tallyFigure('Genes', c.genes), tallyFigure('Diseases', c.diseases)));
}

function tallyFigure(title: string, tally: Tally[]): HTMLElement {
  const top = tally.slice(0, 10);
  if (!top.length) return h('figure', {}, h('figcaption', {}, title), h('p', { class: 'hint' }, `No ${title.toLowerCase()} recorded.`));
  return h('figure', {}, h('figcaption', {}, title),
    bars(top.map((t) => t.label ? `${t.label} (${t.value})` : t.value), [{ label: 'share of the cohort', data: top.map((t) => t.fraction) }],
      `${title}: ${top.slice(0, 5).map((t) => `${t.label ?? t.value} ${percent(t.fraction)}`).join(', ')}`, { horizontal: true, percent: true }));
}

function comparisonView(a: string, b: string, c: Comparison): HTMLElement {
  const sexes = Object.keys(c.sex);
  const bands = BAND_ORDER.filter((x) => c.ageBands[x] !== undefined);
  const terms = c.terms.slice(0, 15);
  const frac = (n: number, of: number) => (of ? n / of : 0);
  return h('div', { class: 'comparison' },
    table(['', a, b], [
      ['Patients', String(c.a.count), String(c.b.count)],
      ['Only in this cohort', String(c.a.onlyA), String(c.b.onlyB)],
      ['In both', String(c.both), String(c.both)],
    ], 'Sizes and overlap'),
    h('div', { class: 'charts' },
      h('figure', {}, h('figcaption', {}, 'Sex'), bars(sexes, [{ label: a, data: sexes.map((s) => c.sex[s][0]) }, { label: b, data: sexes.map((s) => c.sex[s][1]) }], `Sex, ${a} versus ${b}`)),
      h('figure', {}, h('figcaption', {}, 'Age bands'), bars(bands, [{ label: a, data: bands.map((x) => c.ageBands[x][0]) }, { label: b, data: bands.map((x) => c.ageBands[x][1]) }], `Age bands, ${a} versus ${b}`))),
    h('figure', { class: 'wide' }, h('figcaption', {}, `HPO terms that differ most (Fisher ${a} versus ${b}; read the q-values as a ranking when the cohorts overlap)`),
      bars(terms.map((t) => t.label ?? t.id), [{ label: a, data: terms.map((t) => t.fraction) }, { label: b, data: terms.map((t) => t.otherFraction) }], `Terms, ${a} versus ${b}`, { horizontal: true, percent: true }),
      table(['Term', a, b, 'q'], terms.map((t) => [h('span', {}, t.label ?? t.id, ' ', h('code', {}, t.id)), `${t.count} (${percent(t.fraction)})`, `${t.otherCount} (${percent(t.otherFraction)})`, pValue(t.q)]), undefined, { class: 'terms' })),
    h('div', { class: 'charts' },
      table(['Gene', a, b], c.genes.slice(0, 10).map((g) => [g.value, `${g.a} (${percent(frac(g.a, c.a.count))})`, `${g.b} (${percent(frac(g.b, c.b.count))})`]), 'Genes'),
      table(['Disease', a, b], c.diseases.slice(0, 10).map((d) => [d.label ? `${d.label} (${d.value})` : d.value, `${d.a} (${percent(frac(d.a, c.a.count))})`, `${d.b} (${percent(frac(d.b, c.b.count))})`]), 'Diseases')));
}
