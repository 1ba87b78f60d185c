// The HTTP interface: SPARQL 1.1 Protocol, health, and the route groups of higher stages.
export { createApp, type RouteFactory } from './app.js';
export { startServer, InProcessExecutor, defaultWorkers, type RunningServer } from './serve.js';
export { WorkerPool, QueryTimeout, type ExecutorHealth } from './executor.js';
export { answerQuery, QueryFailure, type QueryRequest, type QueryAnswer } from './answer.js';
export { nestingDepth, MAX_NESTING } from './limits.js';
export { Metrics } from './observe.js';
export { DEFAULT_CONFIG, type ServerConfig, type ServerContext, type SparqlExecutor } from './context.js';
export { negotiate } from './sparql.js';
