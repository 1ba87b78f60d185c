import { HX } from '../model/namespaces.js';
import { oboCurie } from '../model/iri.js';
import type { GraphStore } from '../store/index.js';
import type { PatientProfile } from './profile.js';

/** Every patient of a store as a retrieval profile, read with five flat queries (no per-patient round trips). */
export function profilesFromStore(store: GraphStore): PatientProfile[] {
  const byId = new Map<string, PatientProfile>();
  for (const r of store.select(`SELECT ?id WHERE { ?p a <${HX}Patient> ; <${HX}id> ?id } ORDER BY ?id`)) {
    byId.set(r.id!, { id: r.id!, observed: [], excluded: [], diseases: [], genes: [], publications: [] });
  }
  const fill = (where: string, field: keyof Omit<PatientProfile, 'id'>, convert: (v: string) => string | undefined): void => {
    for (const r of store.select(`SELECT DISTINCT ?id ?v WHERE { ?p <${HX}id> ?id . ${where} }`)) {
      const v = convert(r.v!);
      if (v) byId.get(r.id!)?.[field].push(v);
    }
  };
  fill(`?p <${HX}hasPhenotype> ?v`, 'observed', (v) => oboCurie(v));
  fill(`?p <${HX}excludedPhenotype> ?v`, 'excluded', (v) => oboCurie(v));
  fill(`?p <${HX}hasDisease> ?d . ?d <${HX}curie> ?v`, 'diseases', (v) => v);
  fill(`?p <${HX}hasGene> ?g . ?g <${HX}symbol> ?v`, 'genes', (v) => v);
  fill(`?p <${HX}publication> ?pub . ?pub <${HX}curie> ?v`, 'publications', (v) => v);
  for (const p of byId.values()) for (const list of [p.observed, p.excluded, p.diseases, p.genes, p.publications]) list.sort();
  return [...byId.values()];
}
