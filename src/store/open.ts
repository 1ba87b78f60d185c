import { OxigraphStore, type OpenOptions } from './oxigraph.js';
import type { GraphStore } from './types.js';

/** A store location names a remote SPARQL store by URL scheme, anything else is a directory. */
export function isRemoteLocation(location: string): boolean {
  return /^sparql\+https?:\/\//i.test(location);
}

/**
 * Opens the store at `location`: a directory (the embedded Oxigraph store, the default) or
 * `sparql+http(s)://host/path` (a remote SPARQL 1.1 store). A URL of any other scheme is refused
 * rather than taken for a directory name.
 */
export async function openStore(location: string, options: OpenOptions = {}): Promise<GraphStore> {
  if (isRemoteLocation(location)) {
    const { RemoteStore } = await import('./remote.js');
    return RemoteStore.open(location, options);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new Error(`${location}: not a store location (give a directory, or sparql+http://host/path for a remote SPARQL store)`);
  }
  return OxigraphStore.open(location, options);
}

/** Any SPARQL 1.1 query endpoint, read only, holding a Harmonia store or not (`harmonia query --endpoint`). */
export async function openEndpoint(url: string): Promise<GraphStore> {
  const { RemoteStore } = await import('./remote.js');
  return RemoteStore.endpoint(url);
}
