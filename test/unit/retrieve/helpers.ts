import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOntology, type Ontology } from '../../../src/ontology/index.js';
import type { PatientProfile } from '../../../src/retrieve/index.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'retrieve');

export function tinyOntology(): Ontology {
  return loadOntology(join(FIXTURES, 'tiny.obo'));
}

export function profile(id: string, observed: string[], extra: Partial<PatientProfile> = {}): PatientProfile {
  return { id, observed, excluded: [], diseases: [], genes: [], publications: [], ...extra };
}

/** Fixture patients: two craniosynostosis+hand patients from one paper, a neuro pair, a mixed one. */
export function tinyPatients(): PatientProfile[] {
  return [
    profile('P1', ['HP:0001363', 'HP:0011304'], { diseases: ['OMIM:100001'], publications: ['PMID:1'], genes: ['FGFR2'] }),
    profile('P2', ['HP:0001363', 'HP:0001156'], { diseases: ['OMIM:100001'], publications: ['PMID:1'], excluded: ['HP:0001250'] }),
    profile('P3', ['HP:0001363', 'HP:0001156', 'HP:0011304'], { diseases: ['OMIM:100001'], publications: ['PMID:2'] }),
    profile('P4', ['HP:0001250', 'HP:0001249'], { diseases: ['OMIM:100002'], publications: ['PMID:3'], excluded: ['HP:0001155'] }),
    profile('P5', ['HP:0001250', 'HP:0002360'], { diseases: ['OMIM:100002'], publications: ['PMID:4'] }),
    profile('P6', ['HP:0001156', 'HP:0001250'], { diseases: ['ORPHA:3'], publications: ['PMID:5'] }),
  ];
}
