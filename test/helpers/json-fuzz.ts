// Structure-aware mutations of parsed JSON/YAML documents and of their text, shared by the fuzz
// suites of document parsers (cohort definitions, YARRRML mappings). Every mutation is driven by the
// seeded generator it is given, so a run is repeated exactly from its seed, and says what it did.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface Spot {
  /** Keys and indexes from the root. */
  path: (string | number)[];
  parent: Json[] | { [k: string]: Json };
  key: string | number;
}

/**
 * A deep copy made in this realm: structuredClone builds its objects in Node's own realm, which
 * js-yaml's dump (under jest) does not take for plain objects. JSON is all these documents hold.
 */
export const clone = <T extends Json>(v: T): T => (v === undefined ? v : JSON.parse(JSON.stringify(v)));

export const pick = <T = Json>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];

/** Every value below the root, with where it sits. */
export function spots(v: Json, path: (string | number)[] = [], out: Spot[] = []): Spot[] {
  if (Array.isArray(v)) v.forEach((x, i) => (out.push({ path: [...path, i], parent: v, key: i }), spots(x, [...path, i], out)));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push({ path: [...path, k], parent: v, key: k }), spots(x, [...path, k], out);
  return out;
}

const get = (s: Spot): Json => (s.parent as Record<string | number, Json>)[s.key];
const set = (s: Spot, v: Json): void => void ((s.parent as Record<string | number, Json>)[s.key] = v);
export const showPath = (p: (string | number)[]): string => p.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('') || '(root)';

/** Text that parsers, templates, IRIs and property look-ups tend to get wrong. */
export const NASTY_STRINGS = [
  '', ' ', '\t', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'prototype',
  '$(', '$()', '$(x', '$(x))', '\\$(x)', ')', '~iri', 'x~lang', '~', 'a:', ':', 'http://', 'urn:', '_:b0', '<x>', 'a b',
  '[*]', '$', '$..x', "$['", '$[99999999999]', '.*', '%', '%zz', '\\', '"', "'", '{', '}', '[', '\u0000', '\u2028', '\ufeff',
  'x'.repeat(5000), '1e999', 'NaN', '-1', '0', 'true', 'null', '~', '.inf', 'HP:0000000', 'HP:9999999', 'C0000000',
];

/** A value of another JSON type, or the same type with an odd content. */
export function oddValue(v: Json, rnd: () => number): Json {
  if (typeof v === 'string') return pick<Json>(rnd, [5.5, -1, 0, 1e300, { a: 'b' }, ['x'], [], {}, true, null, pick(rnd, NASTY_STRINGS)]);
  if (typeof v === 'number') return pick<Json>(rnd, ['abc', '', { a: 1 }, true, [1], null, -1, 0, 0.5, 1e300, -1e300, 2 ** 53 + 1, 1e-320]);
  if (typeof v === 'boolean') return pick<Json>(rnd, ['yes', 'true', 1.5, 0, {}, null]);
  if (Array.isArray(v)) return pick(rnd, [5.5, 'x', { a: [] }, [], [[]], [null], null, v.length ? [v[0], v[0], v[0]] : [{}]]);
  if (v === null) return pick(rnd, ['x', 1, {}, []]);
  return pick(rnd, ['x', 5.5, [1], false, null, {}, [v]]);
}

/** One structural change somewhere in the document (it is changed in place and returned). */
export function mutateTree(doc: Json, rnd: () => number): { doc: Json; how: string } {
  const all = spots(doc);
  if (all.length === 0) return { doc: pick(rnd, [{}, [], 'x', 1]), how: 'replaced the whole document' };
  const at = pick(rnd, all);
  const where = showPath(at.path);
  switch (Math.floor(rnd() * 8)) {
    case 0: {
      set(at, oddValue(get(at), rnd));
      return { doc, how: `odd value at ${where}` };
    }
    case 1: {
      const text = pick(rnd, NASTY_STRINGS);
      set(at, text);
      return { doc, how: `nasty string ${JSON.stringify(text.slice(0, 20))} at ${where}` };
    }
    case 2: {
      if (Array.isArray(at.parent)) at.parent.splice(at.key as number, 1);
      else delete at.parent[at.key as string];
      return { doc, how: `deleted ${where}` };
    }
    case 3: {
      // A key added or renamed, often one that names a property of every JS object.
      const objects = all.filter((s) => get(s) && typeof get(s) === 'object' && !Array.isArray(get(s)));
      const target = (objects.length ? get(pick(rnd, objects)) : doc) as { [k: string]: Json };
      if (!target || typeof target !== 'object' || Array.isArray(target)) return { doc, how: 'no object to add a key to' };
      const key = pick(rnd, ['__proto__', 'constructor', 'toString', 'valueOf', 'x_unknown', '', ' ', '$(x)']);
      const keys = Object.keys(target);
      if (keys.length && rnd() < 0.5) {
        const old = pick(rnd, keys);
        const value = target[old];
        delete target[old];
        Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
        return { doc, how: `renamed key ${old} to ${JSON.stringify(key)}` };
      }
      Object.defineProperty(target, key, { value: oddValue('x', rnd), enumerable: true, writable: true, configurable: true });
      return { doc, how: `added key ${JSON.stringify(key)}` };
    }
    case 4: {
      // Type confusion between structures: the value of another place moved here.
      const other = pick(rnd, all);
      set(at, clone(get(other)));
      return { doc, how: `value of ${showPath(other.path)} copied to ${where}` };
    }
    case 5: {
      set(at, [get(at)]);
      return { doc, how: `wrapped ${where} in a list` };
    }
    case 6: {
      const v = get(at);
      set(at, Array.isArray(v) ? [] : v && typeof v === 'object' ? {} : v);
      return { doc, how: `emptied ${where}` };
    }
    default: {
      const v = get(at);
      if (Array.isArray(v) && v.length) {
        for (let i = 0; i < 1 + Math.floor(rnd() * 50); i++) v.push(clone(pick(rnd, v)));
        return { doc, how: `grew the list at ${where}` };
      }
      set(at, oddValue(v, rnd));
      return { doc, how: `odd value at ${where}` };
    }
  }
}

/** One change to the text: truncated, junk inserted, characters replaced, a line dropped or doubled, a BOM. */
export function mutateText(text: string, rnd: () => number): { text: string; how: string } {
  const at = Math.floor(rnd() * Math.max(1, text.length));
  switch (Math.floor(rnd() * 5)) {
    case 0:
      return { text: text.slice(0, at), how: `truncated at ${at}` };
    case 1: {
      const junk = pick(rnd, ['\u0000', '\uffff', '"', "'", ':', '- ', '{', '[', ']', '}', '&a ', '*a ', '!!binary ', '!!js/function ', '? ', '|', '>', '\t', '\n', '\n  ', '#', '%YAML 1.1\n', '---\n', '...\n', '\\u', '\\ud800', '1e999']);
      return { text: text.slice(0, at) + junk + text.slice(at), how: `inserted ${JSON.stringify(junk)} at ${at}` };
    }
    case 2: {
      const chars = [...text];
      for (let k = 0; k < 1 + Math.floor(rnd() * 6); k++) chars[Math.floor(rnd() * chars.length)] = String.fromCharCode(Math.floor(rnd() * 128));
      return { text: chars.join(''), how: 'replaced characters' };
    }
    case 3: {
      const lines = text.split('\n');
      const i = Math.floor(rnd() * lines.length);
      if (rnd() < 0.5) lines.splice(i, 1);
      else lines.splice(i, 0, lines[i]);
      return { text: lines.join('\n'), how: `dropped or doubled line ${i + 1}` };
    }
    default:
      return { text: '\ufeff' + text, how: 'a UTF-8 byte order mark in front' };
  }
}
