import type { Ontology } from '../ontology/index.js';
import type { GraphStore } from '../store/index.js';
import { characterise, compareCohorts, type Characterisation, type Comparison } from './characterise.js';
import type { CompileOptions } from './compile.js';
import { evaluateCohort, prepareCohort, type Evaluation } from './evaluate.js';
import { explainCohort, type Explanation } from './explain.js';
import { memberRecords, membersCsv, membersZip, type ExportFormat } from './export.js';
import { deleteCohort, getCohort, listCohorts, saveCohort, type SavedCohort } from './repository.js';
import type { ResolvedCohort } from './resolve.js';

export interface ExportBody {
  contentType: string;
  filename: string;
  body: Buffer | string;
  /** For zips: how many members came from their source file and how many were rebuilt from the graph. */
  original?: number;
  rebuilt?: number;
}

/** Everything the CLI and the HTTP routes do with cohorts, over one store and its ontology. */
export class CohortService {
  constructor(
    readonly store: GraphStore,
    readonly ontology: Ontology,
    private readonly options: CompileOptions = {},
  ) {}

  /** Schema and semantic checks; throws CohortDefinitionError listing every problem. */
  prepare(doc: unknown): ResolvedCohort {
    return prepareCohort(doc, this.ontology);
  }

  evaluate(doc: unknown): Promise<Evaluation> {
    return evaluateCohort(this.store, this.ontology, this.prepare(doc), this.options);
  }

  explain(evaluation: Evaluation): Promise<Explanation[]> {
    return explainCohort(this.store, this.ontology, evaluation.cohort, evaluation.patients);
  }

  characterise(members: string[], limit?: number): Promise<Characterisation> {
    return characterise(this.store, this.ontology, members, limit);
  }

  compare(a: string[], b: string[], limit?: number): Promise<Comparison> {
    return compareCohorts(this.store, this.ontology, a, b, limit);
  }

  /** Checks the definition fully (so no unusable cohort is saved), then saves it. */
  async save(doc: unknown, createdBy: string): Promise<SavedCohort> {
    const cohort = this.prepare(doc);
    return saveCohort(this.store, cohort.definition, this.ontology.version, createdBy);
  }

  get(name: string): Promise<SavedCohort> {
    return getCohort(this.store, name);
  }

  list(): Promise<SavedCohort[]> {
    return listCohorts(this.store);
  }

  delete(name: string): Promise<boolean> {
    return deleteCohort(this.store, name);
  }

  /** A saved cohort evaluated now, on the current store and ontology. */
  async members(name: string): Promise<Evaluation> {
    return this.evaluate((await this.get(name)).definition);
  }

  async export(name: string, members: string[], format: ExportFormat): Promise<ExportBody> {
    if (format === 'zip') {
      const z = await membersZip(this.store, this.ontology, name, members);
      return { contentType: 'application/zip', filename: `${name}.zip`, body: z.zip, original: z.original, rebuilt: z.rebuilt };
    }
    const records = await memberRecords(this.store, members);
    if (format === 'csv') return { contentType: 'text/csv; charset=utf-8', filename: `${name}.csv`, body: membersCsv(records) };
    return { contentType: 'application/json', filename: `${name}.json`, body: JSON.stringify({ cohort: name, count: records.length, members: records }, null, 2) + '\n' };
  }
}
