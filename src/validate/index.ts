// The validate stage: SHACL shapes from shapes/ applied to each record before it is stored.
export {
  ShapeValidator,
  defaultShapesDir,
  type EngineName,
  type ShapeValidatorOptions,
  type BatchValidation,
  type Violation,
  type ValidationResult,
} from './shacl.js';
export { compileShapes, Unsupported } from './compile.js';
