import type { Request } from 'express';
import type { QueryKind } from '../query/index.js';
import { MEDIA_TYPES, type ResultFormat } from '../store/index.js';

/** The store's result formats plus the graph formats the server writes itself (from Oxigraph). */
export type ServerFormat = ResultFormat | 'rdfxml' | 'trig';

export const SERVER_MEDIA: Record<ServerFormat, string> = { ...MEDIA_TYPES, rdfxml: 'application/rdf+xml', trig: 'application/trig' };

/** Media types per kind of answer, in order of preference (the first is the default without Accept). */
export const BINDINGS: [string, ServerFormat][] = [
  ['application/sparql-results+json', 'json'],
  ['application/json', 'json'],
  ['application/sparql-results+xml', 'xml'],
  ['application/xml', 'xml'],
  ['text/csv', 'csv'],
  ['text/tab-separated-values', 'tsv'],
];
export const GRAPH: [string, ServerFormat][] = [
  ['text/turtle', 'turtle'],
  ['application/n-triples', 'ntriples'],
  ['application/rdf+xml', 'rdfxml'],
  ['application/ld+json', 'jsonld'],
  ['application/n-quads', 'nquads'],
  ['application/trig', 'trig'],
  ['application/json', 'jsonld'],
  ['application/xml', 'rdfxml'],
  ['text/plain', 'ntriples'],
];
/** `format=xml` and `format=json` name the XML and JSON form of whichever kind of answer the query has (as SPARQLWrapper sends them). */
const GRAPH_SHORT: Record<string, ServerFormat> = { xml: 'rdfxml', json: 'jsonld' };

export const SHORT: Record<string, ServerFormat> = {
  json: 'json', xml: 'xml', csv: 'csv', tsv: 'tsv', ttl: 'turtle', turtle: 'turtle', nt: 'ntriples', ntriples: 'ntriples',
  nq: 'nquads', nquads: 'nquads', jsonld: 'jsonld', rdfxml: 'rdfxml', rdf: 'rdfxml', trig: 'trig',
};

/** The format picked for each kind of answer; undefined where nothing acceptable exists. */
export interface FormatChoice {
  bindings?: ServerFormat;
  graph?: ServerFormat;
  /** What the client asked for, for the 406 message (`format=yaml` or `Accept: image/png`). */
  asked: string;
}

export const isGraphKind = (kind: QueryKind): boolean => kind === 'construct' || kind === 'describe';

/**
 * Negotiates both possible answers up front: the kind of a query is known only once it is parsed,
 * and parsing happens in the query worker, inside the time limit.
 */
export function negotiateFormats(req: Request): FormatChoice {
  const asked = typeof req.query.format === 'string' ? `format=${req.query.format}` : `Accept: ${req.headers.accept ?? '*/*'}`;
  return { bindings: pick(req, BINDINGS), graph: pick(req, GRAPH), asked };
}

export function pick(req: Request, table: [string, ServerFormat][]): ServerFormat | undefined {
  if (typeof req.query.format === 'string') {
    // An explicit format is a demand: one we do not have (for this kind of query) is refused, never replaced.
    const graphs = table.some(([, f]) => f === 'turtle');
    const explicit = (graphs ? GRAPH_SHORT[req.query.format] : undefined) ?? SHORT[req.query.format];
    return explicit && table.some(([, f]) => f === explicit) ? explicit : undefined;
  }
  if (!req.headers.accept) return table[0][1];
  const accepted = req.accepts(table.map(([m]) => m));
  return accepted ? table.find(([m]) => m === accepted)![1] : undefined;
}

/** The 406 text: what was asked and every format=… and media type that would have worked. */
export function notAcceptable(kind: QueryKind, asked: string): string {
  const table = isGraphKind(kind) ? GRAPH : BINDINGS;
  const short = isGraphKind(kind) ? { ...SHORT, ...GRAPH_SHORT } : SHORT;
  const formats = Object.entries(short).filter(([, f]) => table.some(([, t]) => t === f)).map(([k]) => k);
  const label = kind === 'unknown' ? 'this' : `${kind === 'ask' ? 'an' : 'a'} ${kind.toUpperCase()}`;
  return `no acceptable result format for ${label} query (${asked}); supported: format=${formats.join('|')} or Accept: ${[...new Set(table.map(([m]) => m))].join(', ')}`;
}
