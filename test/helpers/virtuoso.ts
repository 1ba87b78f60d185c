// The Virtuoso launcher lives with the benchmarks (bench/ is compiled; test/ is not) and serves both.
export { startVirtuoso, VIRTUOSO_BINARY, type Virtuoso } from '../../bench/virtuoso.js';
