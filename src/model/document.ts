// Bounds on a parsed JSON or YAML document, checked before any recursive code (a schema validator,
// a loader) walks it: a deep document overflows the stack, a YAML alias used inside its own anchor is
// a cycle, and aliases of aliases (a "billion laughs") make a few lines stand for millions of values.

export interface DocumentLimits {
  /** Levels of nested maps and lists. */
  maxDepth: number;
  /** Values in the document, each YAML alias counted every time it is used. */
  maxValues: number;
}

export const DEFAULT_DOCUMENT_LIMITS: DocumentLimits = { maxDepth: 64, maxValues: 100_000 };

/** Where a document breaks a bound (keys and list indexes from the root) and why. */
export interface DocumentProblem {
  path: (string | number)[];
  reason: string;
}

/** A UTF-16 surrogate that is not half of a pair (with the u flag, pairs are one code point). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The first bound the document breaks, or undefined. Numbers must be finite (JSON's 1e999 parses as
 * Infinity) and text valid Unicode (JSON's "\ud800" parses as a lone surrogate), in keys as well.
 */
export function documentProblem(doc: unknown, limits: Partial<DocumentLimits> = {}): DocumentProblem | undefined {
  const { maxDepth, maxValues } = { ...DEFAULT_DOCUMENT_LIMITS, ...limits };
  let values = 0;
  const onPath = new Set<object>();
  const path: (string | number)[] = [];
  const visit = (v: unknown): string | undefined => {
    if (++values > maxValues) return `more than ${maxValues} values (YAML aliases count each time they are used; limit maxValues)`;
    if (typeof v === 'number') return Number.isFinite(v) ? undefined : `${v} is not a finite number`;
    if (typeof v === 'string') return LONE_SURROGATE.test(v) ? 'contains an unpaired surrogate (not valid Unicode text)' : undefined;
    if (v === null || typeof v !== 'object') return undefined;
    if (onPath.has(v)) return 'refers to itself (a YAML alias used inside its own anchor)';
    if (path.length >= maxDepth) return `nested deeper than ${maxDepth} levels (limit maxDepth)`;
    onPath.add(v);
    const entries: [string | number, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
    for (const [k, x] of entries) {
      path.push(k);
      const why = typeof k === 'string' && LONE_SURROGATE.test(k) ? 'this key contains an unpaired surrogate (not valid Unicode text)' : visit(x);
      if (why) return why;
      path.pop();
    }
    onPath.delete(v);
    return undefined;
  };
  const reason = visit(doc);
  return reason ? { path, reason } : undefined;
}
