export type SynonymScope = 'EXACT' | 'RELATED' | 'BROAD' | 'NARROW';

export interface Synonym {
  text: string;
  scope: SynonymScope;
  /** A synonym type such as `layperson` or `plural_form`, when the release says. */
  type?: string;
}

export interface Term {
  /** Primary CURIE, e.g. `HP:0001250`. */
  id: string;
  label: string;
  definition?: string;
  synonyms: Synonym[];
  altIds: string[];
  obsolete: boolean;
  replacedBy?: string;
  consider: string[];
  /** Cross-references as CURIEs (`UMLS:C0036572`, `MSH:D012640`, ...). */
  xrefs: string[];
  /** UMLS CUIs, from xrefs and from SSSOM mapping files. */
  umls: string[];
  parents: string[];
}

/** Parsed but not yet indexed: what each file reader produces. */
export interface OntologyData {
  name: string;
  version: string;
  terms: Term[];
}

export function newTerm(id: string): Term {
  return { id, label: '', synonyms: [], altIds: [], obsolete: false, consider: [], xrefs: [], umls: [], parents: [] };
}
