import { HX } from '../model/namespaces.js';
import { oboCurie } from '../model/iri.js';
import type { GraphStore } from '../store/index.js';
import type { PatientProfile } from './profile.js';

/** Every patient of a store as a retrieval profile, read with five flat queries (no per-patient round trips). */
export async function profilesFromStore(store: GraphStore): Promise<PatientProfile[]> {
  const byId = new Map<string, PatientProfile>();
  for await (const r of store.selectStream(`SELECT ?id WHERE { ?p a <${HX}Patient> ; <${HX}id> ?id } ORDER BY ?id`, { lexical: true })) {
    byId.set(r.id!, { id: r.id!, observed: [], excluded: [], diseases: [], genes: [], publications: [] });
  }
  const fill = async (where: string, field: 'observed' | 'excluded' | 'diseases' | 'genes' | 'publications', convert: (v: string) => string | undefined): Promise<void> => {
    for await (const r of store.selectStream(`SELECT DISTINCT ?id ?v WHERE { ?p <${HX}id> ?id . ${where} }`, { lexical: true })) {
      const v = convert(r.v!);
      if (v) byId.get(r.id!)?.[field].push(v);
    }
  };
  await fill(`?p <${HX}hasPhenotype> ?v`, 'observed', (v) => oboCurie(v));
  await fill(`?p <${HX}excludedPhenotype> ?v`, 'excluded', (v) => oboCurie(v));
  await fill(`?p <${HX}hasDisease> ?d . ?d <${HX}curie> ?v`, 'diseases', (v) => v);
  await fill(`?p <${HX}hasGene> ?g . ?g <${HX}symbol> ?v`, 'genes', (v) => v);
  await fill(`?p <${HX}publication> ?pub . ?pub <${HX}curie> ?v`, 'publications', (v) => v);
  for (const p of byId.values()) for (const list of [p.observed, p.excluded, p.diseases, p.genes, p.publications]) list.sort();
  return [...byId.values()];
}
