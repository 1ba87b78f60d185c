import type { Ontology } from '../ontology/index.js';
import type { Hpoa } from './hpoa.js';
import type { PatientProfile } from './profile.js';

/**
 * Information content of every ontology term, IC(t) = -ln(p(t)), where p(t) is the fraction of
 * corpus items (diseases or patients) annotated with t or a descendant of t. Terms no item uses get
 * the count 1 (the IC of a term seen once) so they stay finite and never below their ancestors.
 */
export interface InformationContent {
  /** Dense by ontology index. */
  readonly values: Float64Array;
  /** Per-term annotated item counts after propagation (for the likelihood-ratio background). */
  readonly counts: Float64Array;
  readonly corpusSize: number;
  readonly source: string;
}

/** Counts items per term after closing each item's term set under is_a. */
function fromTermSets(ontology: Ontology, sets: Iterable<readonly string[]>, source: string): InformationContent {
  const counts = new Float64Array(ontology.size);
  const stamp = new Int32Array(ontology.size).fill(-1);
  let n = 0;
  for (const terms of sets) {
    let any = false;
    for (const id of terms) {
      const i = ontology.indexOf(id);
      if (i < 0) continue;
      any = true;
      // Stamp each ancestor once per item so an item counts once per term.
      for (const a of ontology.ancestorIndices(i)) {
        if (stamp[a] !== n) {
          stamp[a] = n;
          counts[a]++;
        }
      }
    }
    if (any) n++;
  }
  if (n === 0) throw new Error(`${source}: no item with a known term: cannot compute information content`);
  const values = new Float64Array(ontology.size);
  for (let i = 0; i < values.length; i++) values[i] = Math.log(n / Math.max(counts[i], 1));
  return { values, counts, corpusSize: n, source };
}

/** IC from disease annotations (observed, non-NOT phenotypes). */
export function icFromAnnotations(ontology: Ontology, hpoa: Hpoa): InformationContent {
  const sets = [...hpoa.diseases.values()].map((d) => d.terms.filter((t) => !t.excluded).map((t) => t.id));
  return fromTermSets(ontology, sets, `annotations ${hpoa.file} (${hpoa.version})`);
}

/** IC from a patient corpus (observed phenotypes). */
export function icFromProfiles(ontology: Ontology, profiles: readonly PatientProfile[]): InformationContent {
  return fromTermSets(ontology, profiles.map((p) => p.observed), `${profiles.length} patients`);
}
