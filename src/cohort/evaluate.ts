import type { Ontology } from '../ontology/index.js';
import type { GraphStore } from '../store/index.js';
import { compileCohort, type CompileOptions } from './compile.js';
import { cardinalities } from './estimate.js';
import type { CohortDefinition } from './definition.js';
import type { DefinitionIssue } from './errors.js';
import { validateDefinition } from './parse.js';
import { resolveDefinition, type ResolvedCohort } from './resolve.js';

/** The answer of `harmonia cohort --json` and `POST /cohorts`. */
export interface CohortResult {
  count: number;
  /** Phenopacket ids of the members, sorted. */
  patients: string[];
  sparql: string;
}

export interface Evaluation extends CohortResult {
  cohort: ResolvedCohort;
  warnings: DefinitionIssue[];
  ms: number;
}

/** Schema check, semantic check and expansion in one step, from a parsed document. */
export function prepareCohort(doc: unknown, ontology: Ontology): ResolvedCohort {
  return resolveDefinition(validateDefinition(doc), ontology);
}

/** Compiles and runs a cohort on the store (union default graph). */
export async function evaluateCohort(store: GraphStore, ontology: Ontology, definition: CohortDefinition | ResolvedCohort, options: CompileOptions = {}): Promise<Evaluation> {
  const started = performance.now();
  const cohort = 'root' in definition ? definition : resolveDefinition(definition, ontology);
  const sparql = compileCohort(cohort, { cardinalities: await cardinalities(store), ...options });
  const patients = [...new Set((await store.select(sparql, { lexical: true })).map((r) => r.id!))].sort();
  return { count: patients.length, patients, sparql, cohort, warnings: cohort.warnings, ms: performance.now() - started };
}

/** The public JSON shape: exactly count, patients and sparql. */
export function toResult(e: Evaluation): CohortResult {
  return { count: e.count, patients: e.patients, sparql: e.sparql };
}
