import { DataFactory, type Quad } from 'n3';
import { combatStep } from '../harmonize/combat.js';
import type { SiteCorrectionConfig } from '../harmonize/dispatch.js';
import { segment } from '../model/iri.js';
import { HX, HXG, PROV, RDF, XSD } from '../model/namespaces.js';
import type { Modality } from '../sources/manifest.js';
import type { GraphStore } from '../store/index.js';

const { namedNode, literal, quad } = DataFactory;

/** The graph holding one modality's site-corrected features and the ComBat run that made them. */
export const siteCorrectionGraph = (modality: string): string => `${HXG}combat/${segment(modality)}`;

export interface SiteCorrectionReport {
  modality: string;
  records: number;
  sites: Record<string, number>;
  features: number;
  /** Why records or the whole modality were left out. */
  skipped: string[];
  covariates: string[];
  method: string;
  ms: number;
}

interface StoredRecord {
  iri: string;
  site?: string;
  label?: string;
  features: Map<string, number>;
}

async function storedRecords(store: GraphStore, modality: Modality): Promise<StoredRecord[]> {
  const byIri = new Map<string, StoredRecord>();
  const m = JSON.stringify(modality);
  for await (const r of store.selectStream(`SELECT ?r ?site ?label WHERE { ?r a <${HX}Record> ; <${HX}modality> ${m} . OPTIONAL { ?r <${HX}site> ?site } OPTIONAL { ?r <${HX}finding> ?label } }`)) {
    if (!byIri.has(r.r!)) byIri.set(r.r!, { iri: r.r!, site: r.site, label: r.label, features: new Map() });
  }
  // Features of the records' own graphs only: earlier corrections (combat.*) are not corrected again.
  for await (const r of store.selectStream(`SELECT ?r ?n ?v WHERE { GRAPH ?g { ?r <${HX}modality> ${m} ; <${HX}feature> ?f . ?f <${HX}name> ?n ; <${HX}value> ?v } }`)) {
    const v = Number(r.v);
    if (Number.isFinite(v)) byIri.get(r.r!)?.features.set(r.n!, v);
  }
  return [...byIri.values()].sort((a, b) => a.iri.localeCompare(b.iri));
}

/**
 * ComBat across sites on the stored features of one modality: records are the samples, sites the
 * batches, record labels a covariate to preserve. Only features every included record has, and that
 * vary, are corrected. The corrected values are written as `combat.<feature>` features in a graph of
 * their own (replaced on every run) together with a prov:Activity holding the parameters and the
 * fitted estimates, so the uncorrected features stay as they were.
 */
export async function correctSites(store: GraphStore, modality: Modality, config: SiteCorrectionConfig, software: string): Promise<SiteCorrectionReport> {
  const started = performance.now();
  const report: SiteCorrectionReport = { modality, records: 0, sites: {}, features: 0, skipped: [], covariates: [], method: config.empiricalBayes === false ? 'location/scale, no empirical Bayes' : config.nonparametric ? 'nonparametric' : 'parametric', ms: 0 };
  const all = await storedRecords(store, modality);
  const bySite = new Map<string, StoredRecord[]>();
  for (const r of all) {
    if (!r.site) continue;
    bySite.set(r.site, [...(bySite.get(r.site) ?? []), r]);
  }
  const unsited = all.filter((r) => !r.site).length;
  if (unsited) report.skipped.push(`${unsited} records without a site`);
  for (const [site, list] of bySite) {
    if (list.length < config.minRecordsPerSite) {
      report.skipped.push(`site ${site}: ${list.length} record(s), fewer than ${config.minRecordsPerSite}`);
      bySite.delete(site);
    }
  }
  const records = [...bySite.values()].flat();
  const finish = async (quads: Quad[]): Promise<SiteCorrectionReport> => {
    await store.commit({ replace: new Map([[siteCorrectionGraph(modality), quads]]), add: [], rejected: [], accepted: [] });
    report.ms = Math.round(performance.now() - started);
    return report;
  };
  if (bySite.size < 2) {
    report.skipped.push(`${bySite.size} site(s) with enough records: nothing to correct`);
    return finish([]);
  }
  const names = [...records[0].features.keys()].filter((n) => records.every((r) => r.features.has(n))).sort();
  const varying = names.filter((n) => new Set(records.map((r) => r.features.get(n))).size > 1);
  if (varying.length < names.length) report.skipped.push(`${names.length - varying.length} constant features left out`);
  if (varying.length === 0) {
    report.skipped.push('no feature that every record has and that varies');
    return finish([]);
  }
  const data = new Float64Array(varying.length * records.length);
  varying.forEach((n, i) => records.forEach((r, j) => (data[i * records.length + j] = r.features.get(n)!)));
  const batch = records.map((r) => r.site!);
  const labels = records.map((r) => r.label ?? 'none');
  const covariates = config.covariates.includes('label') && new Set(labels).size > 1 ? [{ name: 'label', values: labels, categorical: true }] : [];
  report.covariates = covariates.map((c) => c.name);
  const refBatch = config.refSite ?? undefined;
  const run1 = (cov: typeof covariates) => combatStep({ data, features: varying.length, samples: records.length }, batch, { covariates: cov, meanOnly: config.meanOnly, nonparametric: config.nonparametric, empiricalBayes: config.empiricalBayes, refBatch, featureIds: varying }, `${modality}.combat`);
  let result: ReturnType<typeof run1>;
  try {
    result = run1(covariates);
  } catch (e) {
    // Labels that coincide with sites cannot be told apart from them: correct without the covariate, and say so.
    if (!covariates.length) throw e;
    report.skipped.push(`label not kept as a covariate: ${(e as Error).message}`);
    report.covariates = [];
    result = run1([]);
  }
  report.skipped.push(...result.messages);
  const g = namedNode(siteCorrectionGraph(modality));
  const run = `${siteCorrectionGraph(modality)}#run`;
  const quads: Quad[] = [];
  const add = (s: string, p: string, o: Quad['object']) => void quads.push(quad(namedNode(s), namedNode(p), o, g));
  add(run, RDF + 'type', namedNode(PROV + 'Activity'));
  add(run, HX + 'step', literal(result.provenance.step));
  add(run, HX + 'stepVersion', literal(result.provenance.version));
  add(run, HX + 'software', literal(software));
  add(run, HX + 'parameters', literal(JSON.stringify({ ...result.provenance.parameters, features: varying, batch: undefined, sites: Object.fromEntries([...bySite].map(([s, l]) => [s, l.length])) }), namedNode(RDF + 'JSON')));
  if (result.provenance.input) add(run, HX + 'inputChecksum', literal(result.provenance.input));
  if (result.provenance.output) add(run, HX + 'outputChecksum', literal(result.provenance.output));
  records.forEach((r, j) => {
    add(run, PROV + 'used', namedNode(r.iri));
    add(r.iri, HX + 'harmonizationStep', namedNode(run));
    varying.forEach((n, i) => {
      const F = `${r.iri}#feature/combat.${segment(n)}`;
      add(r.iri, HX + 'feature', namedNode(F));
      add(F, HX + 'name', literal(`combat.${n}`));
      add(F, HX + 'value', literal(String(result.value[i * records.length + j]), namedNode(XSD + 'double')));
      add(F, PROV + 'wasGeneratedBy', namedNode(run));
    });
  });
  report.records = records.length;
  report.features = varying.length;
  report.sites = Object.fromEntries([...bySite].map(([s, l]) => [s, l.length]));
  return finish(quads);
}
