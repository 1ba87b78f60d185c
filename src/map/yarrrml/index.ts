// Declarative YARRRML mappings for users' own CSV / JSON exports (see docs/mappings.md).
export { loadMapping } from './load.js';
export { runMapping, type RunOptions, type RunResult } from './run.js';
export { MappingError, type Mapping, type Problem } from './model.js';
