import { DataFactory, type Quad } from 'n3';
import { segment } from '../model/iri.js';
import { DCT, HX, HXG, HXR, RDF, XSD } from '../model/namespaces.js';
import type { GraphStore } from '../store/index.js';
import type { CohortDefinition } from './definition.js';
import { CohortNotFoundError } from './errors.js';
import { validateDefinition } from './parse.js';
import { stringLiteral } from './sparql.js';

const { namedNode, literal, quad } = DataFactory;

/** A cohort saved in the store: its own named graph with the definition, the HPO version, who and when. */
export interface SavedCohort {
  name: string;
  graph: string;
  definition: CohortDefinition;
  hpoVersion: string;
  createdBy: string;
  created: string;
}

export function cohortGraph(name: string): string {
  return `${HXG}cohort/${segment(name)}`;
}

export function cohortIri(name: string): string {
  return `${HXR}cohort/${segment(name)}`;
}

/** The triples of a saved cohort (the definition is kept verbatim as JSON, so it round-trips exactly). */
export function cohortQuads(definition: CohortDefinition, hpoVersion: string, createdBy: string, created: Date): Quad[] {
  const g = namedNode(cohortGraph(definition.name));
  const c = namedNode(cohortIri(definition.name));
  const add = (p: string, o: Quad['object']): Quad => quad(c, namedNode(p), o, g);
  const quads = [
    add(RDF + 'type', namedNode(HX + 'Cohort')),
    add(HX + 'name', literal(definition.name)),
    add(HX + 'definition', literal(JSON.stringify(definition), namedNode(RDF + 'JSON'))),
    add(HX + 'hpoVersion', literal(hpoVersion)),
    add(DCT + 'creator', literal(createdBy)),
    add(DCT + 'created', literal(created.toISOString(), namedNode(XSD + 'dateTime'))),
  ];
  if (definition.description) quads.push(add(DCT + 'description', literal(definition.description)));
  return quads;
}

/** Saves (or replaces) a named cohort in one atomic commit. */
export async function saveCohort(store: GraphStore, definition: CohortDefinition, hpoVersion: string, createdBy: string, created = new Date()): Promise<SavedCohort> {
  const quads = cohortQuads(definition, hpoVersion, createdBy, created);
  await store.commit({ replace: new Map([[cohortGraph(definition.name), quads]]), add: [], rejected: [], accepted: [] });
  return { name: definition.name, graph: cohortGraph(definition.name), definition, hpoVersion, createdBy, created: created.toISOString() };
}

/** Drops a saved cohort's graph; false when there was none. */
export async function deleteCohort(store: GraphStore, name: string): Promise<boolean> {
  if (!(await findCohort(store, name))) return false;
  await store.commit({ replace: new Map([[cohortGraph(name), []]]), add: [], rejected: [], accepted: [] });
  return true;
}

function query(filter: string): string {
  return `SELECT ?g ?name ?def ?hpo ?who ?when WHERE { GRAPH ?g {
  ?c a <${HX}Cohort> ; <${HX}name> ?name ; <${HX}definition> ?def ; <${HX}hpoVersion> ?hpo ; <${DCT}creator> ?who ; <${DCT}created> ?when .
  ${filter} } } ORDER BY ?name`;
}

function toSaved(r: Record<string, string | undefined>): SavedCohort {
  return {
    name: r.name!, graph: r.g!, definition: validateDefinition(JSON.parse(r.def!)),
    hpoVersion: r.hpo!, createdBy: r.who!, created: r.when!,
  };
}

export async function listCohorts(store: GraphStore): Promise<SavedCohort[]> {
  return (await store.select(query(''))).map(toSaved);
}

export async function findCohort(store: GraphStore, name: string): Promise<SavedCohort | undefined> {
  const [row] = await store.select(query(`FILTER(?name = ${stringLiteral(name)})`));
  return row ? toSaved(row) : undefined;
}

export async function getCohort(store: GraphStore, name: string): Promise<SavedCohort> {
  const found = await findCohort(store, name);
  if (!found) throw new CohortNotFoundError(name);
  return found;
}
