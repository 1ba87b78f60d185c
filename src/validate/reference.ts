// The reference engine: rdf-validate-shacl over an N3 store, complete but slow (~5 ms a patient).
import { Store as N3Store, type Quad } from 'n3';
import SHACLValidator from 'rdf-validate-shacl';
import type { Violation } from './types.js';

export class ReferenceEngine {
  private readonly validator: SHACLValidator;

  constructor(shapes: Quad[]) {
    this.validator = new SHACLValidator(new N3Store(shapes) as never);
  }

  /** Violations of all records validated together as one data graph (graph names ignored). */
  async violations(records: Quad[][]): Promise<Violation[]> {
    const data = new N3Store();
    for (const quads of records) for (const q of quads) data.addQuad(q.subject, q.predicate, q.object);
    const report = await this.validator.validate(data as never);
    return report.results.map((r) => ({
      focusNode: r.focusNode?.value ?? '',
      path: r.path?.value,
      message: r.message.map((m) => m.value).join('; ') || `violates ${r.sourceConstraintComponent?.value ?? 'a constraint'}`,
      severity: (r.severity?.value ?? '').split('#').pop() ?? 'Violation',
      value: r.value?.value,
      sourceShape: r.sourceShape?.value,
      constraint: r.sourceConstraintComponent?.value.split('#').pop(),
    }));
  }
}
