import { cohortRoutes } from '../server/cohorts.js';
import { retrievalRoutes } from '../server/retrieval.js';
import type { RouteFactory } from '../server/index.js';

/** Route groups of the stages above the store, registered on every server the CLI starts. */
export function extraRoutes(): RouteFactory[] {
  return [cohortRoutes, retrievalRoutes];
}
