import { HXG, HXR, OBO } from './namespaces.js';

// Stable IRIs: derived only from identifiers in the data, so re-ingesting a file mints the same IRIs.

/** Percent-encodes everything outside the unreserved set, so any id becomes one safe IRI path segment. */
export function segment(id: string): string {
  return encodeURIComponent(id).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

export function patientIri(phenopacketId: string): string {
  return `${HXR}patient/${segment(phenopacketId)}`;
}

export function patientGraph(phenopacketId: string): string {
  return `${HXG}patient/${segment(phenopacketId)}`;
}

export const ONTOLOGY_GRAPH = `${HXG}hpo`;
export const VOCAB_GRAPH = `${HXG}vocab`;

/** `HP:0001250` -> `http://purl.obolibrary.org/obo/HP_0001250`; any `PREFIX:local` CURIE works. */
export function oboIri(curie: string): string {
  return OBO + curie.replace(':', '_');
}

/** The inverse of oboIri, or undefined when the IRI is not an OBO PURL. */
export function oboCurie(iri: string): string | undefined {
  if (!iri.startsWith(OBO)) return undefined;
  const local = iri.slice(OBO.length);
  const i = local.indexOf('_');
  return i > 0 ? `${local.slice(0, i)}:${local.slice(i + 1)}` : undefined;
}

/** Disease, gene and other external ids get resolvable IRIs where a registry is known. */
const CURIE_BASES: Record<string, string> = {
  OMIM: 'https://omim.org/entry/',
  ORPHA: 'https://www.orpha.net/ORDO/Orphanet_',
  DECIPHER: 'https://www.deciphergenomics.org/syndrome/',
  HGNC: 'https://identifiers.org/hgnc:',
  PMID: 'https://pubmed.ncbi.nlm.nih.gov/',
  UMLS: 'https://uts.nlm.nih.gov/uts/umls/concept/',
  NCBIGene: 'https://www.ncbi.nlm.nih.gov/gene/',
  ENSEMBL: 'https://identifiers.org/ensembl:',
};
const OBO_PREFIXES = new Set(['HP', 'MONDO', 'GENO', 'NCIT', 'UBERON', 'SO', 'PATO', 'LOINC', 'MAXO', 'CHEBI', 'UO', 'NCBITaxon']);

export function curieIri(curie: string): string {
  const i = curie.indexOf(':');
  if (i <= 0) return `${HXR}term/${segment(curie)}`;
  const prefix = curie.slice(0, i);
  const local = curie.slice(i + 1);
  if (OBO_PREFIXES.has(prefix)) return `${OBO}${prefix}_${segment(local)}`;
  const base = CURIE_BASES[prefix];
  if (base) return base + segment(local);
  return `${HXR}term/${segment(prefix)}/${segment(local)}`;
}

/** Inverse of curieIri for the registries above; undefined otherwise. */
export function iriCurie(iri: string): string | undefined {
  const obo = oboCurie(iri);
  if (obo) return obo;
  for (const [prefix, base] of Object.entries(CURIE_BASES)) {
    if (iri.startsWith(base)) return `${prefix}:${decodeURIComponent(iri.slice(base.length))}`;
  }
  return undefined;
}
