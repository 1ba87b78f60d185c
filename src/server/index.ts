// The HTTP interface: SPARQL 1.1 Protocol, health, and the route groups of higher stages.
export { createApp, type RouteFactory } from './app.js';
export { startServer, InProcessExecutor, type RunningServer } from './serve.js';
export { DEFAULT_CONFIG, type ServerConfig, type ServerContext, type SparqlExecutor } from './context.js';
export { negotiate } from './sparql.js';
