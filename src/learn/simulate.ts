import { dirname, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { InputError } from '../model/errors.js';
import type { Ontology } from '../ontology/index.js';
import { profilesFromStore } from '../retrieve/index.js';
import { readManifest, type RecordEntry } from '../sources/index.js';
import { openStore, writeAtomic } from '../store/index.js';
import { hash32, Rng } from './random.js';

// The semi-synthetic cohort of the reference paper (which linked TCGA, ADNI and UK Biobank records
// to patients): real signal/image records with a finding are linked to real phenopacket patients
// who carry that phenotype, records without a finding to patients who do not. Only the link is
// simulated: the recordings, their findings and the patients' phenotypes are all real.

export const SIMULATED_LINKS =
  'Simulated: which patient a record belongs to. The records (signals, images) are real recordings with their real findings, and the ' +
  'patients are real published phenopackets with their real phenotypes, but a record and the patient it is linked to were never the ' +
  'same person: each original record subject was assigned to a phenopacket patient who carries the record\'s finding (observed, the ' +
  'term or a descendant), or, for a record without a finding, to a patient who carries none of the findings used for that modality.';

/** The root of HPO and its phenotypic-abnormality branch with the organ-system classes below it: too broad to mean "may carry the finding". */
const PHENOTYPIC_ABNORMALITY = 'HP:0000118';
const ROOT = 'HP:0000001';

/** Modalities whose files hold several subjects, selected by `sample` (default: the patient id, which the link changes). */
const SAMPLE_MODALITIES = new Set(['vcf', 'maf', 'expression']);

export interface LinkCandidate {
  id: string;
  /** The split unit: the smallest publication CURIE, else `patient:<id>` (as src/learn/data.ts). */
  group: string;
  observed: readonly string[];
}

export interface LinkSubject {
  /** The manifest's original patient (subject) id. */
  id: string;
  modalities: string[];
  /** The findings (HPO ids) of its records, sorted; empty for a subject without a finding. */
  findings: string[];
  records: number;
}

export interface LinkOptions {
  seed: number;
  /** Most subjects of one modality linked to the same patient (1: no reuse). */
  maxPerPatient: number;
  /** When too few patients qualify: refuse (one error) or link what can be and leave the rest out, reported. */
  onShortage: 'refuse' | 'cap';
}

export interface Link {
  subject: string;
  patient: string;
  /** The patient's publication (the split unit). */
  publication: string;
  findings: string[];
  modalities: string[];
  records: number;
}

export interface Shortage {
  /** The findings (or, for subjects without one, `none (<modality>)`) that ran out of patients. */
  need: string;
  subjects: number;
  linked: number;
  qualifying: number;
  publications: number;
}

export interface LinkPlan {
  links: Link[];
  unlinked: { subject: string; findings: string[]; modalities: string[]; reason: string }[];
  /** Per finding: the qualifying patients and how many subjects were linked. */
  findings: Record<string, { label?: string; subjects: number; linked: number; carriers: number; publications: number; linkedPublications: number }>;
  /** Per modality, for subjects without a finding: the terms a linked patient must not carry. */
  withoutFinding: Record<string, { avoided: string[]; subjects: number; linked: number; candidates: number }>;
  shortages: Shortage[];
}

/** Does the patient observe the term or one of its descendants? */
const carries = (ontology: Ontology, c: LinkCandidate, term: string) => c.observed.some((t) => ontology.isA(t, term));

/**
 * The terms a patient linked to a record *without* a finding must not observe: each finding of that
 * modality, its descendants, and its ancestors below the organ-system level (a patient annotated only
 * "Arrhythmia" may well have atrial fibrillation; "Abnormality of the cardiovascular system" says too
 * little to count).
 */
export function avoidedTerms(ontology: Ontology, findings: readonly string[]): Set<string> {
  const broad = new Set([ROOT, PHENOTYPIC_ABNORMALITY, ...ontology.children(PHENOTYPIC_ABNORMALITY)]);
  const out = new Set<string>();
  for (const f of findings) {
    for (const d of ontology.descendants(f)) out.add(d);
    for (const a of ontology.ancestors(f, false)) if (!broad.has(a)) out.add(a);
  }
  return out;
}

/**
 * Candidates in a seeded order that alternates between publications (one patient of each, then a
 * second of each, ...), so a finding's records spread over as many publications as there are: the
 * split by publication then decides where they go, not the luck of one large paper.
 */
function interleaved(candidates: readonly LinkCandidate[], rng: Rng): LinkCandidate[] {
  const byGroup = new Map<string, LinkCandidate[]>();
  for (const c of [...candidates].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const list = byGroup.get(c.group) ?? [];
    list.push(c);
    byGroup.set(c.group, list);
  }
  const groups = rng.sample([...byGroup.keys()].sort(), byGroup.size).map((g) => rng.sample(byGroup.get(g)!, byGroup.get(g)!.length));
  const out: LinkCandidate[] = [];
  for (let round = 0; out.length < candidates.length; round++) for (const g of groups) if (round < g.length) out.push(g[round]);
  return out;
}

/**
 * Plans the links: subjects with findings first (each finding set's rarest first), each to the
 * least-used qualifying patient in the interleaved order, at most `maxPerPatient` subjects of one
 * modality per patient; then subjects without a finding. Deterministic for a seed.
 */
export function planLinks(subjects: readonly LinkSubject[], candidates: readonly LinkCandidate[], ontology: Ontology, options: LinkOptions): LinkPlan {
  const rng = new Rng(hash32(`simulate-links\u0000${options.seed}`));
  const order = interleaved(candidates, rng);
  const uses = new Map<string, number>(); // `${patient}\u0000${modality}` -> subjects linked
  const used = (c: LinkCandidate, mods: readonly string[]) => max(mods.map((m) => uses.get(`${c.id}\u0000${m}`) ?? 0));
  const plan: LinkPlan = { links: [], unlinked: [], findings: {}, withoutFinding: {}, shortages: [] };
  const shuffled = rng.sample([...subjects].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)), subjects.length);
  const findingsOf = new Map<string, Set<string>>(); // modality -> findings used
  for (const s of subjects) for (const m of s.modalities) for (const f of s.findings) (findingsOf.get(m) ?? findingsOf.set(m, new Set()).get(m)!).add(f);
  // One pool per need: a finding set, or "no finding" per modality set.
  const needs = new Map<string, { subjects: LinkSubject[]; pool: LinkCandidate[]; findings: string[]; modalities: string[] }>();
  for (const s of shuffled) {
    const key = s.findings.length ? s.findings.join('+') : `none (${s.modalities.join('+')})`;
    let need = needs.get(key);
    if (!need) {
      const avoided = s.findings.length ? undefined : avoidedTerms(ontology, s.modalities.flatMap((m) => [...(findingsOf.get(m) ?? [])]));
      const pool = s.findings.length
        ? order.filter((c) => s.findings.every((f) => carries(ontology, c, f)))
        : order.filter((c) => !c.observed.some((t) => avoided!.has(t)));
      needs.set(key, (need = { subjects: [], pool, findings: s.findings, modalities: s.modalities }));
      if (avoided) for (const m of s.modalities) plan.withoutFinding[m] = { avoided: [...avoided].sort(), subjects: 0, linked: 0, candidates: pool.length };
    }
    need.subjects.push(s);
  }
  const ranked = [...needs.entries()].sort(([ka, a], [kb, b]) => Number(!a.findings.length) - Number(!b.findings.length) || a.pool.length - b.pool.length || (ka < kb ? -1 : 1));
  for (const [key, need] of ranked) {
    let linked = 0;
    for (const s of need.subjects) {
      let best: LinkCandidate | undefined;
      let bestUse = options.maxPerPatient;
      for (const c of need.pool) {
        const u = used(c, s.modalities);
        if (u < bestUse) {
          best = c;
          bestUse = u;
          if (u === 0) break;
        }
      }
      if (!best) {
        plan.unlinked.push({ subject: s.id, findings: s.findings, modalities: s.modalities, reason: `no patient left for ${key} (at most ${options.maxPerPatient} subject(s) of a modality per patient)` });
        continue;
      }
      for (const m of s.modalities) uses.set(`${best.id}\u0000${m}`, (uses.get(`${best.id}\u0000${m}`) ?? 0) + 1);
      plan.links.push({ subject: s.id, patient: best.id, publication: best.group, findings: s.findings, modalities: s.modalities, records: s.records });
      linked++;
    }
    const publications = new Set(need.pool.map((c) => c.group)).size;
    if (linked < need.subjects.length) plan.shortages.push({ need: key, subjects: need.subjects.length, linked, qualifying: need.pool.length, publications });
    if (need.findings.length) {
      const linkedPubs = new Set(plan.links.filter((l) => l.findings.join('+') === key).map((l) => l.publication)).size;
      for (const f of need.findings) {
        const e = (plan.findings[f] ??= { label: ontology.label(f), subjects: 0, linked: 0, carriers: order.filter((c) => carries(ontology, c, f)).length, publications: 0, linkedPublications: 0 });
        e.subjects += need.subjects.length;
        e.linked += linked;
        e.publications = new Set(order.filter((c) => carries(ontology, c, f)).map((c) => c.group)).size;
        e.linkedPublications += linkedPubs;
      }
    } else
      for (const m of need.modalities) {
        plan.withoutFinding[m].subjects += need.subjects.length;
        plan.withoutFinding[m].linked += linked;
      }
  }
  plan.links.sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
  return plan;
}

const max = (xs: number[]) => xs.reduce((m, x) => (x > m ? x : m), 0);

/** The original subjects of a manifest's records, with their modalities and findings. */
export function subjectsOf(entries: readonly RecordEntry[]): LinkSubject[] {
  const by = new Map<string, { modalities: Set<string>; findings: Set<string>; records: number }>();
  for (const e of entries) {
    const s = by.get(e.patient) ?? { modalities: new Set<string>(), findings: new Set<string>(), records: 0 };
    s.modalities.add(e.modality);
    if (e.label) s.findings.add(e.label);
    s.records++;
    by.set(e.patient, s);
  }
  return [...by.entries()].map(([id, s]) => ({ id, modalities: [...s.modalities].sort(), findings: [...s.findings].sort(), records: s.records }));
}

function shortageMessage(s: Shortage, plan: LinkPlan, options: LinkOptions): string {
  const label = plan.findings[s.need]?.label;
  const who = s.need.startsWith('none') ? `patients carrying none of that modality's findings` : `patients carry it (observed, or a descendant)`;
  return `${s.need}${label ? ` (${label})` : ''}: ${s.subjects} record subjects but ${s.qualifying} ${who} in ${s.publications} publications; ` +
    `${s.linked} can be linked with --max-per-patient ${options.maxPerPatient}`;
}

export interface SimulateOptions {
  storeDir: string;
  manifest: string;
  out: string;
  seed?: number;
  maxPerPatient?: number;
  cap?: boolean;
}

export interface SimulateSummary {
  out: string;
  sidecar: string;
  subjects: number;
  linked: number;
  unlinked: number;
  records: number;
  patients: number;
  findings: LinkPlan['findings'];
  shortages: string[];
}

function tsvCell(v: string | undefined, what: string): string {
  if (v && /[\t\r\n]/.test(v)) throw new InputError(`${what}: ${JSON.stringify(v)} holds a tab or a line break, which a TSV manifest cannot carry`);
  return v ?? '';
}

/**
 * `harmonia simulate-links`: reads a record manifest, links each original subject to a phenopacket
 * patient of the store (see planLinks), writes the manifest with the linked patient in its `patient`
 * column (paths made absolute; `sample` keeps the original subject where a file holds several) and
 * `<out>.links.json` with every link, the rule, the seed and the statement of what is simulated.
 */
export async function simulateLinks(options: SimulateOptions): Promise<SimulateSummary> {
  const seed = options.seed ?? 1;
  const maxPerPatient = options.maxPerPatient ?? 1;
  if (!Number.isInteger(maxPerPatient) || maxPerPatient < 1) throw new InputError(`--max-per-patient ${maxPerPatient}: expected a positive integer`);
  const { entries, problems } = readManifest(options.manifest);
  if (problems.length) throw new InputError(`${options.manifest}: ${problems.length} bad row(s), e.g. line ${problems[0].line}: ${problems[0].field ? problems[0].field + ': ' : ''}${problems[0].reason}`);
  if (!entries.length) throw new InputError(`${options.manifest}: no records`);
  const store = await openStore(options.storeDir);
  let ontology: Ontology | undefined;
  let profiles;
  try {
    ontology = await store.ontology();
    if (!ontology) throw new InputError(`${options.storeDir}: the store has no ontology (ingest with --hpo first): descendants of a finding cannot be found`);
    profiles = await profilesFromStore(store);
  } finally {
    await store.close();
  }
  const subjects = subjectsOf(entries);
  for (const s of subjects) for (const f of s.findings) if (!ontology.has(f)) throw new InputError(`${options.manifest}: label ${f} (subject ${s.id}) is not a current term of the store's ontology`);
  const subjectIds = new Set(subjects.map((s) => s.id));
  // Only phenopacket patients with at least one observed phenotype: a record-only patient (a stub) says nothing about what it carries.
  const candidates: LinkCandidate[] = profiles
    .filter((p) => p.observed.length > 0 && !subjectIds.has(p.id))
    .map((p) => ({ id: p.id, group: p.publications[0] ?? `patient:${p.id}`, observed: p.observed }));
  const linkOptions: LinkOptions = { seed, maxPerPatient, onShortage: options.cap ? 'cap' : 'refuse' };
  const plan = planLinks(subjects, candidates, ontology, linkOptions);
  const shortages = plan.shortages.map((s) => shortageMessage(s, plan, linkOptions));
  if (shortages.length && !options.cap)
    throw new InputError(`not enough patients to link every record subject without reuse beyond --max-per-patient ${maxPerPatient}: ${shortages.join('; ')}. Raise --max-per-patient (one patient then stands for several subjects) or pass --cap (links what it can and leaves the rest out, listed in the sidecar)`);
  const patientOf = new Map(plan.links.map((l) => [l.subject, l.patient]));
  const withSample = entries.some((e) => e.sample !== undefined || SAMPLE_MODALITIES.has(e.modality));
  const header = ['patient', 'modality', 'path', 'site', 'label', ...(withSample ? ['sample'] : [])];
  const lines = [header.join('\t')];
  let records = 0;
  for (const e of entries) {
    const patient = patientOf.get(e.patient);
    if (!patient) continue;
    records++;
    const sample = e.sample ?? (SAMPLE_MODALITIES.has(e.modality) ? e.patient : undefined);
    const where = `${e.origin.file}:${e.origin.line ?? '?'}`;
    lines.push([patient, e.modality, tsvCell(e.path, where), tsvCell(e.site, where), e.label ?? '', ...(withSample ? [tsvCell(sample, where)] : [])].join('\t'));
  }
  const out = resolve(options.out);
  mkdirSync(dirname(out), { recursive: true });
  writeAtomic(out, [lines.join('\n') + '\n']);
  const sidecar = `${out}.links.json`;
  const document = {
    simulated: SIMULATED_LINKS,
    seed,
    maxPerPatient,
    onShortage: linkOptions.onShortage,
    manifest: resolve(options.manifest),
    store: resolve(options.storeDir),
    ontology: `${ontology.name} ${ontology.version}`,
    rule: {
      withFinding: 'a patient observing the finding or one of its descendants (an excluded term never counts)',
      withoutFinding: 'a patient observing none of the findings used for that modality, their descendants, or their ancestors below the organ-system level (see withoutFinding.*.avoided); a term merely not mentioned counts as absent, explicitly excluded ones too',
      candidates: 'patients of the store with at least one observed phenotype, none of them a subject of the manifest',
      reuse: `at most ${maxPerPatient} subject(s) of one modality per patient; the least-used qualifying patient is taken, alternating between publications`,
      splits: 'all records of one original subject go to one patient, so to one publication and one split (harmonia train splits by publication)',
    },
    findings: plan.findings,
    withoutFinding: plan.withoutFinding,
    shortages,
    links: plan.links,
    unlinked: plan.unlinked,
  };
  writeAtomic(sidecar, [JSON.stringify(document, null, 2) + '\n']);
  return {
    out, sidecar, subjects: subjects.length, linked: plan.links.length, unlinked: plan.unlinked.length, records,
    patients: new Set(plan.links.map((l) => l.patient)).size, findings: plan.findings, shortages,
  };
}
