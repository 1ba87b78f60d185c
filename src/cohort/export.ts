import { resolveSourceFile } from '../ingest/source-paths.js';
import { HX, PROV } from '../model/namespaces.js';
import type { Ontology } from '../ontology/index.js';
import { readJsonDocuments } from '../sources/index.js';
import type { GraphStore } from '../store/index.js';
import { storeFacts } from './characterise.js';
import { rebuildPhenopacket } from './rebuild.js';
import { writeZip } from './zip.js';

export type ExportFormat = 'json' | 'csv' | 'zip';

/** One exported member: the facts the graph holds about the patient, flat. */
export interface MemberRecord {
  id: string;
  sex: string;
  ageYears?: number;
  diseases: string[];
  genes: string[];
  observedTerms: string[];
}

export async function memberRecords(store: GraphStore, members: string[]): Promise<MemberRecord[]> {
  const facts = await storeFacts(store);
  return members.map((id) => {
    const f = facts.patients.get(id);
    return {
      id, sex: f?.sex ?? 'UNKNOWN_SEX', ageYears: f?.age, diseases: [...new Set(f?.diseases ?? [])].sort(),
      genes: [...new Set(f?.genes ?? [])].sort(), observedTerms: [...new Set(f?.terms ?? [])].sort(),
    };
  });
}

function csvCell(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** CSV with one row a member; list cells are `;`-separated. */
export function membersCsv(records: MemberRecord[]): string {
  const lines = ['id,sex,age_years,diseases,genes,observed_hpo_terms'];
  for (const r of records) {
    lines.push([r.id, r.sex, r.ageYears === undefined ? '' : String(r.ageYears), r.diseases.join(';'), r.genes.join(';'), r.observedTerms.join(';')].map(csvCell).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

export interface ZipExport {
  zip: Buffer;
  /** Members exported as the original record, read again from the source file named in the provenance. */
  original: number;
  /** Members whose source file is gone: phenopacket JSON rebuilt from the graph (the fields it holds). */
  rebuilt: number;
}

/**
 * Phenopackets of the members in one zip. The store keeps no copy of the input JSON, so the
 * original record is read again from the file and entry recorded in prov:wasDerivedFrom when that
 * file still exists; otherwise the phenopacket is rebuilt from the patient's graph (see docs/cohorts.md).
 */
export async function membersZip(store: GraphStore, ontology: Ontology, name: string, members: string[]): Promise<ZipExport> {
  const originals = await readOriginals(store, members);
  const entries: { name: string; data: string }[] = [];
  const manifest: { id: string; file: string; origin: 'source' | 'rebuilt' }[] = [];
  for (const id of members) {
    const file = `${name}/${id.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;
    const json = originals.get(id) ?? (await rebuildPhenopacket(store, ontology, id));
    entries.push({ name: file, data: JSON.stringify(json, null, 2) + '\n' });
    manifest.push({ id, file, origin: originals.has(id) ? 'source' : 'rebuilt' });
  }
  entries.push({ name: `${name}/manifest.json`, data: JSON.stringify({ cohort: name, count: members.length, members: manifest }, null, 2) + '\n' });
  return { zip: writeZip(entries), original: originals.size, rebuilt: members.length - originals.size };
}

async function readOriginals(store: GraphStore, members: string[]): Promise<Map<string, unknown>> {
  const wanted = new Set(members);
  const byFile = new Map<string, Map<string, string>>();
  const rows = await store.select(`SELECT ?id ?file ?entry ?line WHERE {
  ?p a <${HX}Patient> ; <${HX}id> ?id ; <${PROV}wasDerivedFrom> ?s . ?s <${HX}sourceFile> ?file .
  OPTIONAL { ?s <${HX}sourceEntry> ?entry } OPTIONAL { ?s <${HX}sourceLine> ?line } }`);
  const meta = await store.meta();
  for (const r of rows) {
    // hx:sourceFile is relative to the ingest root (kept in the store's metadata) unless ingested with --absolute-paths.
    const file = wanted.has(r.id!) ? resolveSourceFile(r.file!, meta) : undefined;
    if (!file) continue;
    const m = byFile.get(file) ?? new Map<string, string>();
    m.set(`${r.entry ?? ''}:${r.line ?? ''}`, r.id!);
    byFile.set(file, m);
  }
  const out = new Map<string, unknown>();
  for (const [file, entries] of byFile) {
    for await (const rec of readJsonDocuments([file])) {
      const id = entries.get(`${rec.origin.entry ?? ''}:${rec.origin.line ?? ''}`);
      // The file may have changed since ingest: only a record with the same id is taken as the original.
      if (id && (rec.json as { id?: unknown } | undefined)?.id === id) out.set(id, rec.json);
    }
  }
  return out;
}
