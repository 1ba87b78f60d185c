/** One problem in a cohort definition, located by a JSON pointer (`/criteria/all/2/gene/symbol`). */
export interface DefinitionIssue {
  path: string;
  message: string;
}

/** A definition that cannot be evaluated; every problem found is listed, each with its location. */
export class CohortDefinitionError extends Error {
  readonly status = 400;
  constructor(readonly issues: DefinitionIssue[]) {
    super(issues.map((i) => `${i.path || '/'}: ${i.message}`).join('; '));
    this.name = 'CohortDefinitionError';
  }
}

/** A named cohort that is not saved in the store. */
export class CohortNotFoundError extends Error {
  readonly status = 404;
  constructor(readonly cohort: string) {
    super(`no saved cohort named ${cohort}`);
    this.name = 'CohortNotFoundError';
  }
}
