// The patient page: phenotypes (observed and excluded) with labels, diseases, genes and variants,
// records of other modalities with acquisition and features, provenance; similar patients with the
// matched term pairs and their most informative common ancestor; disease ranking.

import { api, ApiError, postJson, type UiConfig } from './api.js';
import { debounce, fill, h, patientLink, table, type Child } from './dom.js';

interface PatientRecord {
  id: string; iri: string; graph: string; sex?: string; age?: string; ageYears?: number;
  phenotypes: { id?: string; label: string; excluded: boolean; onset?: string; onsetClass?: { id: string; label?: string } }[];
  diseases: { id: string; label?: string; excluded: boolean }[];
  interpretations: { id?: string; status?: string; disease?: string }[];
  genes: { symbol?: string; id?: string }[];
  variants: Record<string, string>[];
  records: {
    id: string; modality?: string; format?: string; site?: string; finding?: { id: string; label?: string };
    acquisition: { name: string; value: string }[]; features: { name: string; value: string }[]; featureCount: number;
    steps: { step: string; version?: string; software?: string; parameters?: string }[]; sources: string[];
  }[];
  publications: { id: string; label?: string }[];
  provenance: { file?: string; entry?: string; line?: string; createdBy?: string; created?: string };
  issues: { kind?: string; path?: string; input?: string; message?: string }[];
}
interface TermRef { id: string; label?: string }
interface Similar { query: string; method: string; results: { patient: string; score: number; explanation?: { query: TermRef; match: TermRef; mica: TermRef & { ic: number }; similarity: number }[] }[] }
interface Diagnosis { method: string; results: { disease: string; label: string; score: number }[]; warnings?: string[] }

/** #/patients: find a patient by id. */
export function patientSearchPage(root: HTMLElement): void {
  const input = h('input', { type: 'search', id: 'patient-q', placeholder: 'PMID_23086397_Patient_4', size: 40, autocomplete: 'off' });
  const list = h('ul', { class: 'members', 'aria-live': 'polite' });
  const total = h('p', { class: 'hint', role: 'status' });
  const search = debounce(async () => {
    const r = await api<{ patients: string[]; total: number }>(`/ui/patients?q=${encodeURIComponent(input.value)}&limit=50`);
    total.textContent = `${r.total.toLocaleString('en')} patients${input.value ? ` with “${input.value}” in their id` : ''}${r.total > r.patients.length ? `; the first ${r.patients.length} are listed` : ''}.`;
    fill(list, r.patients.map((id) => h('li', {}, patientLink(id))));
  }, 200);
  input.addEventListener('input', search);
  fill(root, h('h1', {}, 'Patients'),
    h('form', { role: 'search', onsubmit: (e: Event) => e.preventDefault() }, h('label', { for: 'patient-q' }, 'Patient id contains'), ' ', input),
    total, list);
  search();
  input.focus();
}

/** #/patients/{id} */
export async function patientPage(root: HTMLElement, config: UiConfig, id: string): Promise<void> {
  fill(root, h('p', {}, `Loading ${id}…`));
  let p: PatientRecord;
  try {
    p = await api<PatientRecord>(`/ui/patients/${encodeURIComponent(id)}`);
  } catch (e) {
    fill(root, h('h1', {}, id), h('p', { class: 'error', role: 'alert' }, (e as Error).message), h('p', {}, h('a', { href: '#/patients' }, 'Find a patient')));
    return;
  }
  const similar = h('div', { 'aria-live': 'polite' }, 'Finding similar patients…');
  const diseases = h('div', { 'aria-live': 'polite' }, config.diagnose ? 'Ranking diseases…' : '');
  const observed = p.phenotypes.filter((x) => !x.excluded);
  const excluded = p.phenotypes.filter((x) => x.excluded);
  const term = (t: { id?: string; label: string }) => h('span', {}, t.label, ' ', t.id ? h('code', {}, t.id) : null);
  const triples = `SELECT ?s ?p ?o WHERE { GRAPH <${p.graph}> { ?s ?p ?o } }`;

  fill(root,
    h('h1', {}, 'Patient ', h('code', {}, p.id)),
    h('dl', { class: 'facts' },
      dt('Sex', p.sex ?? 'not recorded'), dt('Age at last encounter', p.age ? `${p.age}${p.ageYears !== undefined ? ` (${p.ageYears} years)` : ''}` : 'not recorded'),
      dt('Observed phenotypes', String(observed.length)), dt('Excluded phenotypes', String(excluded.length)), dt('Records', String(p.records.length))),
    h('p', {}, h('a', { href: `/?query=${encodeURIComponent(triples)}` }, 'Open this patient’s graph in the query editor')),
    h('div', { class: 'columns' }, section('Phenotypes',
      table(['Observed', 'Onset'], observed.map((x) => [term(x), onset(x)]), `Observed (${observed.length})`, { class: 'phenotypes observed' }),
      excluded.length ? table(['Explicitly excluded', 'Onset'], excluded.map((x) => [term(x), onset(x)]), `Excluded (${excluded.length})`, { class: 'phenotypes excluded' }) : h('p', { class: 'hint' }, 'No phenotype explicitly excluded.')),
    section('Diseases and genes',
      p.diseases.length ? table(['Disease', 'Id', 'Stated'], p.diseases.map((d) => [d.label ?? '', h('code', {}, d.id), d.excluded ? 'excluded' : 'present']), undefined, { class: 'diseases' }) : h('p', { class: 'hint' }, 'No disease recorded.'),
      p.interpretations.length ? table(['Interpretation', 'Status', 'Diagnosis'], p.interpretations.map((i) => [i.id ?? '', i.status ?? '', i.disease ? h('code', {}, i.disease) : ''])) : null,
      p.genes.length ? h('p', {}, 'Genes: ', p.genes.map((g, i) => [i ? ', ' : '', h('strong', {}, g.symbol ?? ''), g.id ? [' ', h('code', {}, g.id)] : null])) : h('p', { class: 'hint' }, 'No gene recorded.'),
      p.variants.length ? table(['Gene', 'Variant', 'Position', 'Class', 'Zygosity / state'], p.variants.map((v) => [
        v.gene ?? '', lines(v.hgvs ?? v.variantId ?? ''), v.chrom ? `${v.assembly ?? ''} chr${v.chrom}:${v.pos ?? '?'} ${v.ref ?? ''}>${v.alt ?? ''}` : '',
        v.acmgClass ?? v.clinvarSignificance ?? '', v.zygosity ?? v.genotype ?? (v.allelicState ? (ALLELIC[v.allelicState] ?? v.allelicState) : '')]), 'Variants', { class: 'variants' }) : null)),
    section('Records of other modalities',
      p.records.length ? p.records.map(recordView) : h('p', { class: 'hint' }, 'No record of another modality (VCF, MRI, EEG, ECG, OCT, expression) for this patient.')),
    section('Provenance',
      h('dl', { class: 'facts' },
        dt('Source file', p.provenance.file ?? 'unknown'), p.provenance.entry ? dt('Archive entry', p.provenance.entry) : null,
        p.provenance.line ? dt('Line', p.provenance.line) : null, p.provenance.createdBy ? dt('Phenopacket created by', p.provenance.createdBy) : null,
        p.provenance.created ? dt('Created', p.provenance.created) : null, dt('Named graph', h('code', {}, p.graph))),
      p.publications.length ? h('p', {}, 'Publications: ', p.publications.map((x, i) => [i ? '; ' : '', x.label ? `${x.label} ` : '', h('code', {}, x.id)])) : null,
      p.issues.length ? table(['Data issue', 'Where', 'Id', 'Note'], p.issues.map((i) => [i.kind ?? '', i.path ?? '', i.input ?? '', i.message ?? '']), 'Term notes from ingestion') : null),
    h('div', { class: 'columns' }, section('Similar patients', similar), section('Disease ranking', diseases)));

  void api<Similar>(`/patients/${encodeURIComponent(p.id)}/similar?top=10&explain=true`).then((s) => fill(similar, similarView(s)), (e: unknown) => fill(similar, problem(e)));
  if (!config.diagnose) {
    fill(diseases, h('p', { class: 'hint' }, 'Disease ranking needs the server to be started with --annotations phenotype.hpoa.'));
  } else {
    const hpo = [...observed.flatMap((x) => (x.id ? [x.id] : [])), ...excluded.flatMap((x) => (x.id ? [`-${x.id}`] : []))];
    void postJson<Diagnosis>('/diagnose', { hpo, top: 10, genes: true }).then((d) => fill(diseases,
      table(['Rank', 'Disease', 'Score'], d.results.map((r, i) => [String(i + 1), h('span', {}, r.label, ' ', h('code', {}, r.disease)), r.score.toFixed(2)]),
        `Diseases of phenotype.hpoa ranked for this patient's phenotypes and genes (method ${d.method})`, { class: 'diagnosis' })), (e: unknown) => fill(diseases, problem(e)));
  }
}

/** The allelic states of GENO that phenopackets use. */
const ALLELIC: Record<string, string> = {
  'GENO:0000135': 'heterozygous', 'GENO:0000136': 'homozygous', 'GENO:0000134': 'hemizygous',
  'GENO:0000402': 'compound heterozygous', 'GENO:0000137': 'unspecified zygosity',
};

/** Several values ("a; b") one per line. */
function lines(v: string): Child {
  return v.split('; ').map((x, i) => [i ? h('br') : null, x]);
}

function onset(x: PatientRecord['phenotypes'][number]): string {
  return [x.onset, x.onsetClass ? (x.onsetClass.label ?? x.onsetClass.id) : undefined].filter(Boolean).join(', ');
}

function dt(term: string, value: Child): Child {
  return [h('dt', {}, term), h('dd', {}, value)];
}

function section(title: string, ...content: Child[]): HTMLElement {
  const id = `s-${title.toLowerCase().replace(/[^a-z]+/g, '-')}`;
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), content);
}

function problem(e: unknown): HTMLElement {
  return h('p', { class: e instanceof ApiError && e.status === 503 ? 'hint' : 'error' }, (e as Error).message);
}

function recordView(r: PatientRecord['records'][number]): HTMLElement {
  return h('article', { class: 'record' },
    h('h3', {}, `${(r.modality ?? 'record').toUpperCase()} `, h('code', {}, r.id)),
    h('dl', { class: 'facts' }, r.format ? dt('Format', r.format) : null, r.site ? dt('Site', r.site) : null,
      r.finding ? dt('Finding', [r.finding.label ?? '', ' ', h('code', {}, r.finding.id)]) : null,
      r.sources.length ? dt('Source', r.sources.join(', ')) : null),
    h('div', { class: 'charts' },
      r.acquisition.length ? table(['Acquisition parameter', 'Value'], r.acquisition.map((a) => [a.name, a.value]), undefined, { class: 'acquisition' }) : h('p', { class: 'hint' }, 'No acquisition parameters recorded.'),
      r.features.length ? table(['Harmonized feature', 'Value'], r.features.map((f) => [f.name, formatNumber(f.value)]), r.featureCount > r.features.length ? `The first ${r.features.length} of ${r.featureCount} features` : undefined, { class: 'features' }) : h('p', { class: 'hint' }, 'No harmonized features.')),
    r.steps.length ? h('details', {}, h('summary', {}, `Harmonization: ${r.steps.length} steps`),
      h('ol', {}, r.steps.map((s) => h('li', {}, h('code', {}, s.step), s.version ? ` v${s.version}` : '', s.software ? ` (${s.software})` : '', s.parameters ? h('pre', {}, s.parameters) : null)))) : null);
}

function formatNumber(v: string): string {
  const n = Number(v);
  return Number.isFinite(n) && !Number.isInteger(n) ? n.toPrecision(4) : v;
}

function similarView(s: Similar): HTMLElement {
  if (!s.results.length) return h('p', { class: 'hint' }, 'No similar patient found.');
  const pairLabel = (t: TermRef) => h('span', {}, t.label ?? t.id, ' ', h('code', {}, t.id));
  return h('div', {},
    h('p', { class: 'hint' }, `Method ${s.method}: each of this patient's terms is matched to the other patient's most similar term; their most informative common ancestor (MICA) and its information content say why.`),
    h('ol', { class: 'similar' }, s.results.map((r, i) => h('li', {},
      h('details', { open: i === 0 }, h('summary', {}, patientLink(r.patient), ` score ${r.score.toFixed(3)}`),
        r.explanation?.length ? table(['This patient', 'Their term', 'Common ancestor (MICA)', 'IC', 'Similarity'], r.explanation.map((m) => [
          pairLabel(m.query), pairLabel(m.match), pairLabel(m.mica), m.mica.ic.toFixed(2), m.similarity.toFixed(2)]), undefined, { class: 'pairs' }) : null)))));
}
