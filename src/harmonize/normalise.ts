import type { Ontology } from '../ontology/index.js';
import type { Phenopacket, PhenotypicFeature } from '../sources/phenopacket.js';

/** A note on a patient about a term that had to be changed or could not be used. */
export interface TermIssue {
  path: string;
  input: string;
  kind: 'alt_id' | 'replaced' | 'obsolete' | 'unknown';
  /** The primary id used instead, for alt_id and replaced. */
  resolved?: string;
  message: string;
}

/** A feature after normalisation: `id` is the current HPO id, undefined when it could not be resolved. */
export interface NormalisedFeature {
  feature: PhenotypicFeature;
  path: string;
  id?: string;
  reportedId: string;
}

/**
 * Resolves every HPO id of a phenopacket's phenotypic features against the loaded ontology: an alt_id
 * becomes its primary id, an obsolete id its replacement where the release gives one. Unknown and
 * unreplaceable obsolete ids are reported on the patient, never a reason to drop the patient.
 */
export function normaliseFeatures(pp: Phenopacket, ontology: Ontology | undefined): { features: NormalisedFeature[]; issues: TermIssue[] } {
  const features: NormalisedFeature[] = [];
  const issues: TermIssue[] = [];
  const visit = (list: PhenotypicFeature[] | undefined, base: string): void => {
    (list ?? []).forEach((feature, i) => {
      const path = `${base}[${i}].type.id`;
      const reportedId = feature.type.id.trim();
      if (!ontology || !reportedId.startsWith('HP:')) {
        features.push({ feature, path, id: reportedId, reportedId });
        return;
      }
      const r = ontology.resolve(reportedId);
      switch (r.status) {
        case 'primary':
          features.push({ feature, path, id: r.id, reportedId });
          break;
        case 'alt_id':
          features.push({ feature, path, id: r.id, reportedId });
          issues.push({ path, input: reportedId, kind: 'alt_id', resolved: r.id, message: `${reportedId} is an alternative id of ${r.id}; used ${r.id}` });
          break;
        case 'replaced':
          features.push({ feature, path, id: r.id, reportedId });
          issues.push({ path, input: reportedId, kind: 'replaced', resolved: r.id, message: `${reportedId} is obsolete in HPO ${ontology.version}; replaced by ${r.id}` });
          break;
        case 'obsolete':
          features.push({ feature, path, reportedId });
          issues.push({
            path, input: reportedId, kind: 'obsolete',
            message: `${reportedId} is obsolete in HPO ${ontology.version} with no replacement${r.consider.length ? ` (consider ${r.consider.join(', ')})` : ''}; feature kept without an HPO class`,
          });
          break;
        case 'unknown':
          features.push({ feature, path, reportedId });
          issues.push({ path, input: reportedId, kind: 'unknown', message: `${reportedId} is not a term of HPO ${ontology.version}; feature kept without an HPO class` });
          break;
      }
    });
  };
  visit(pp.phenotypicFeatures, '$.phenotypicFeatures');
  return { features, issues };
}
