// Shapes of what validation returns, shared by both engines.

/** One violation of a W3C SHACL validation report, flattened for JSON and the quarantine. */
export interface Violation {
  focusNode: string;
  path?: string;
  message: string;
  severity: string;
  value?: string;
  sourceShape?: string;
  constraint?: string;
}

export interface ValidationResult {
  conforms: boolean;
  violations: Violation[];
}
