// The JSONPath forms mappings use in practice: `$`, `$.a.b`, `$.a[*]`, `$[*]`, `$['odd key']`,
// `$.a[0]`, `.*`. Filters, slices and recursive descent are rejected at load time, not guessed at.

export type Step = { key: string } | { index: number } | { all: true };

const STEP = /^(?:\.([A-Za-z_$@\-][\w$@\-]*)|\.\*|\[\*\]|\[(\d+)\]|\[(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\])/;

/** Parses an absolute path (`$...`); throws with the offending position otherwise. */
export function parseJsonPath(path: string): Step[] {
  if (!path.startsWith('$')) throw new Error(`JSONPath '${path}' must start with $`);
  return parseSteps(path.slice(1), path);
}

/** A reference inside a record: `name`, `a.b`, `a[*].b`, `['odd key']`; a leading `$.` or `@.` is allowed. */
export function parseReference(ref: string): Step[] {
  const body = ref.replace(/^[$@]/, '');
  return parseSteps(body.startsWith('[') || body.startsWith('.') || body === '' ? body : '.' + body, ref);
}

function parseSteps(rest: string, whole: string): Step[] {
  const steps: Step[] = [];
  while (rest) {
    const m = STEP.exec(rest);
    if (!m) throw new Error(`unsupported JSONPath syntax at '${rest}' in '${whole}'`);
    if (m[1] !== undefined) steps.push({ key: m[1] });
    else if (m[2] !== undefined) steps.push({ index: Number(m[2]) });
    else if (m[3] !== undefined || m[4] !== undefined) steps.push({ key: (m[3] ?? m[4]).replace(/\\(.)/g, '$1') });
    else steps.push({ all: true });
    rest = rest.slice(m[0].length);
  }
  return steps;
}

/** Every node the path selects under `root`, in document order. Missing keys select nothing. */
export function select(root: unknown, steps: Step[]): unknown[] {
  let nodes: unknown[] = [root];
  for (const step of steps) nodes = nodes.flatMap((n) => apply(n, step));
  return nodes;
}

function apply(node: unknown, step: Step): unknown[] {
  if (node === null || typeof node !== 'object') return [];
  if ('all' in step) return Array.isArray(node) ? node : Object.values(node);
  if ('index' in step) return Array.isArray(node) && step.index < node.length ? [node[step.index]] : [];
  const value = (node as Record<string, unknown>)[step.key];
  return value === undefined || Array.isArray(node) ? [] : [value];
}
