import { oboCurie } from '../model/iri.js';
import { HX } from '../model/namespaces.js';
import type { GraphStore } from '../store/index.js';

/** One record as `harmonia features` prints it. */
export interface RecordFeatures {
  record: string;
  patient: string;
  site: string | null;
  label: string | null;
  acquisition: Record<string, unknown>;
  features: Record<string, number>;
}

const lit = (s: string): string => JSON.stringify(s);

/** A stored acquisition value back to what the reader reported (arrays were stored as JSON). */
function acquisitionValue(v: string, datatype: 'number' | 'boolean' | 'string'): unknown {
  if (datatype === 'number') return Number(v);
  if (datatype === 'boolean') return v === 'true';
  if (v.startsWith('[')) {
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  }
  return v;
}

/**
 * Every record of a modality with its patient, site, label, acquisition parameters and harmonized
 * features, read with three flat queries (no per-record round trips), sorted by record id.
 */
export async function recordFeatures(store: GraphStore, modality: string): Promise<RecordFeatures[]> {
  const byId = new Map<string, RecordFeatures>();
  const iriToId = new Map<string, string>();
  for await (const r of store.selectStream(`SELECT ?r ?id ?pid ?site ?finding WHERE {
    ?r a <${HX}Record> ; <${HX}recordId> ?id ; <${HX}modality> ${lit(modality)} ; <${HX}patient> ?p . ?p <${HX}id> ?pid .
    OPTIONAL { ?r <${HX}site> ?site } OPTIONAL { ?r <${HX}finding> ?finding } }`)) {
    iriToId.set(r.r!, r.id!);
    const prev = byId.get(r.id!);
    if (prev) {
      if (r.finding && !prev.label) prev.label = oboCurie(r.finding) ?? r.finding;
      continue;
    }
    byId.set(r.id!, { record: r.id!, patient: r.pid!, site: r.site ?? null, label: r.finding ? oboCurie(r.finding) ?? r.finding : null, acquisition: {}, features: {} });
  }
  for await (const r of store.selectStream(`SELECT ?r ?n ?v (DATATYPE(?v) AS ?t) WHERE {
    ?r <${HX}modality> ${lit(modality)} ; <${HX}acquisitionParameter> ?a . ?a <${HX}name> ?n ; <${HX}value> ?v }`)) {
    const rec = byId.get(iriToId.get(r.r!) ?? '');
    if (!rec) continue;
    const kind = /#(double|decimal|integer|float)$/.test(r.t ?? '') ? 'number' : /#boolean$/.test(r.t ?? '') ? 'boolean' : 'string';
    rec.acquisition[r.n!] = acquisitionValue(r.v!, kind);
  }
  for await (const r of store.selectStream(`SELECT ?r ?n ?v WHERE {
    ?r <${HX}modality> ${lit(modality)} ; <${HX}feature> ?f . ?f <${HX}name> ?n ; <${HX}value> ?v }`)) {
    const rec = byId.get(iriToId.get(r.r!) ?? '');
    if (rec) rec.features[r.n!] = Number(r.v);
  }
  return [...byId.values()].sort((a, b) => a.record.localeCompare(b.record));
}

/** Records per modality, every modality listed (0 where none). */
export async function recordCounts(store: Pick<GraphStore, 'select'>, modalities: readonly string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = Object.fromEntries(modalities.map((m) => [m, 0]));
  for (const r of await store.select(`SELECT ?m (COUNT(DISTINCT ?r) AS ?n) WHERE { ?r a <${HX}Record> ; <${HX}modality> ?m } GROUP BY ?m`)) out[r.m!] = Number(r.n);
  return out;
}
