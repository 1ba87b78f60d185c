import type { Row } from './types.js';

// SPARQL 1.1 query results (W3C JSON, XML, CSV, TSV), read from a remote store and written again by
// us, so that every backend answers in exactly the W3C formats whatever its own quirks (Virtuoso's
// TSV is CSV-quoted with raw newlines; it returns xsd:boolean literals as "1" and "0").

export interface Term {
  type: 'uri' | 'literal' | 'bnode' | 'typed-literal';
  value: string;
  datatype?: string;
  'xml:lang'?: string;
}

export type Binding = Record<string, Term>;

const XSD = 'http://www.w3.org/2001/XMLSchema#';

/**
 * Datatypes a server cannot keep as written, stored under a stand-in and restored on every read.
 * Virtuoso turns xsd:duration into a whole number of months ("P10Y" becomes 120, "P2M3D" loses its days).
 */
export const STAND_IN_DATATYPES: Record<string, string> = {
  [`${XSD}duration`]: 'https://w3id.org/harmonia/vocab#xsdDuration',
};
const RESTORED = Object.fromEntries(Object.entries(STAND_IN_DATATYPES).map(([a, b]) => [b, a]));

/** The datatype as the user wrote it, for one a server kept under its stand-in. */
export function restoredDatatype(datatype: string): string {
  return RESTORED[datatype] ?? datatype;
}

/** Repairs what servers get wrong: booleans stored as 0/1, the old `typed-literal` type. */
export function normaliseTerm(t: Term): Term {
  if (t.type === 'typed-literal') t = { ...t, type: 'literal' };
  if (t.datatype && RESTORED[t.datatype]) t = { ...t, datatype: RESTORED[t.datatype] };
  if (t.datatype === `${XSD}boolean` && (t.value === '1' || t.value === '0')) t = { ...t, value: t.value === '1' ? 'true' : 'false' };
  if (t.datatype === `${XSD}string`) t = { type: 'literal', value: t.value };
  return t;
}

export function plainRow(b: Binding): Row {
  const out: Row = {};
  for (const k in b) out[k] = normaliseTerm(b[k]).value;
  return out;
}

/**
 * Reads the `bindings` of a SPARQL JSON result as they arrive: each binding object is cut out of the
 * text by tracking string and brace state, then parsed alone, so no answer is held whole.
 */
export async function* streamJsonBindings(chunks: AsyncIterable<string>, onHead?: (vars: string[]) => void): AsyncGenerator<Binding> {
  let buf = '';
  let state: 'head' | 'array' | 'done' = 'head';
  let i = 0;
  for await (const chunk of chunks) {
    buf += chunk;
    if (state === 'head') {
      const m = /"bindings"\s*:\s*\[/.exec(buf);
      if (!m) continue;
      const head = /"vars"\s*:\s*(\[[^\]]*\])/.exec(buf.slice(0, m.index));
      if (head) onHead?.(JSON.parse(head[1]));
      i = m.index + m[0].length;
      state = 'array';
    }
    // Scan for complete top-level objects in the bindings array.
    let start = -1;
    let depth = 0;
    let inString = false;
    let consumed = i;
    for (let j = i; j < buf.length; j++) {
      const c = buf.charCodeAt(j);
      if (inString) {
        if (c === 92) j++; // backslash: skip the escaped character
        else if (c === 34) inString = false;
        continue;
      }
      if (c === 34) inString = true;
      else if (c === 123) {
        if (depth++ === 0) start = j;
      } else if (c === 125) {
        if (--depth === 0) {
          yield JSON.parse(buf.slice(start, j + 1)) as Binding;
          consumed = j + 1;
        }
      } else if (c === 93 && depth === 0) {
        state = 'done';
        break;
      }
    }
    if (state === 'done') return;
    buf = buf.slice(start >= 0 && depth > 0 ? start : consumed);
    i = 0;
  }
  if (state === 'head') throw new Error('not a SPARQL JSON result (no "bindings" array)');
  // The answer stopped inside the array: a cut connection or an aborted query, never a complete result.
  throw new Error('the SPARQL JSON result ended before its bindings array did (connection cut or query aborted)');
}

/**
 * Reads a SPARQL CSV result (RFC 4180: quoted fields with doubled quotes, line breaks inside quotes,
 * `\n` or `\r\n` rows) row by row as it arrives. CSV keeps only lexical forms: an unquoted empty
 * field is unbound, a quoted one the empty string (Virtuoso writes `""`; a server that writes the
 * empty string unquoted makes it read as unbound).
 */
export async function* streamCsvRows(chunks: AsyncIterable<string>): AsyncGenerator<Row> {
  let vars: string[] | undefined;
  let fields: (string | undefined)[] = [];
  let field = '';
  let quoted = false;
  let inQuotes = false;
  let pendingQuote = false; // a quote inside quotes: closes the field unless the next one is a quote
  let pendingCr = false;
  const endField = (): void => {
    fields.push(quoted || field !== '' ? field : undefined);
    field = '';
    quoted = false;
  };
  const endRow = (): Row | undefined => {
    endField();
    const row = fields;
    fields = [];
    if (!vars) {
      vars = row.map((v) => v ?? '');
      return undefined;
    }
    if (row.length === 1 && row[0] === undefined && vars.length !== 1) return undefined; // blank line
    if (row.length !== vars.length) throw new Error(`SPARQL CSV result: a row of ${row.length} fields under ${vars.length} variables`);
    const out: Row = {};
    for (let k = 0; k < row.length; k++) if (row[k] !== undefined) out[vars[k]] = row[k];
    return out;
  };
  for await (const chunk of chunks) {
    let from = 0;
    for (let j = 0; j < chunk.length; j++) {
      const c = chunk.charCodeAt(j);
      if (inQuotes) {
        if (pendingQuote) {
          pendingQuote = false;
          if (c === 34) {
            field += '"';
            from = j + 1;
            continue;
          }
          inQuotes = false; // the quote closed the field: read c as outside quotes below
        } else {
          if (c === 34) {
            field += chunk.slice(from, j);
            pendingQuote = true;
          }
          continue;
        }
      }
      if (pendingCr && c !== 10) throw new Error('SPARQL CSV result: a carriage return outside quotes not followed by a line feed');
      pendingCr = false;
      if (c === 34) {
        if (field !== '' || quoted) throw new Error('SPARQL CSV result: a quote inside an unquoted field');
        inQuotes = quoted = true;
        from = j + 1;
      } else if (c === 44) {
        endField();
      } else if (c === 13) {
        pendingCr = true;
      } else if (c === 10) {
        const row = endRow();
        if (row) yield row;
      } else {
        field += chunk[j];
      }
      from = j + 1;
    }
    if (inQuotes && !pendingQuote) field += chunk.slice(from);
  }
  if (inQuotes && !pendingQuote) throw new Error('SPARQL CSV result: the answer ended inside a quoted field (connection cut)');
  if (pendingQuote) inQuotes = false;
  if (field !== '' || quoted || fields.length) {
    const row = endRow();
    if (row) yield row;
  }
  if (!vars) throw new Error('not a SPARQL CSV result (no header row)');
}

export function parseJsonResult(text: string): { vars: string[]; bindings: Binding[] } | { boolean: boolean } {
  const doc = JSON.parse(text) as { head?: { vars?: string[] }; boolean?: boolean; results?: { bindings: Binding[] } };
  if (typeof doc.boolean === 'boolean') return { boolean: doc.boolean };
  if (!doc.results) throw new Error('not a SPARQL JSON result');
  return { vars: doc.head?.vars ?? [], bindings: doc.results.bindings };
}

const xmlEscape = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** A term in N-Triples syntax (TSV results use it). */
export function ntriplesTerm(t: Term): string {
  if (t.type === 'uri') return `<${t.value}>`;
  if (t.type === 'bnode') return `_:${t.value}`;
  const lex = `"${t.value.replace(/[\\"\n\r\t]/g, (c) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!)}"`;
  if (t['xml:lang']) return `${lex}@${t['xml:lang']}`;
  return t.datatype ? `${lex}^^<${t.datatype}>` : lex;
}

function csvCell(t: Term | undefined): string {
  if (!t) return '';
  const v = t.type === 'bnode' ? `_:${t.value}` : t.value;
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function jsonTerm(t: Term): Term {
  const out: Term = { type: t.type, value: t.value };
  if (t.datatype) out.datatype = t.datatype;
  if (t['xml:lang']) out['xml:lang'] = t['xml:lang'];
  return out;
}

export function writeBindings(vars: string[], rows: Binding[], format: 'json' | 'xml' | 'csv' | 'tsv'): string {
  const terms = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, t]) => [k, normaliseTerm(t)])) as Binding);
  switch (format) {
    case 'json':
      return JSON.stringify({ head: { vars }, results: { bindings: terms.map((r) => Object.fromEntries(Object.entries(r).map(([k, t]) => [k, jsonTerm(t)]))) } });
    case 'csv':
      return [vars.join(','), ...terms.map((r) => vars.map((v) => csvCell(r[v])).join(','))].join('\r\n') + '\r\n';
    case 'tsv':
      return [vars.map((v) => `?${v}`).join('\t'), ...terms.map((r) => vars.map((v) => (r[v] ? ntriplesTerm(r[v]) : '')).join('\t'))].join('\n') + '\n';
    case 'xml': {
      const cell = (k: string, t: Term): string => {
        if (t.type === 'uri') return `<binding name="${xmlEscape(k)}"><uri>${xmlEscape(t.value)}</uri></binding>`;
        if (t.type === 'bnode') return `<binding name="${xmlEscape(k)}"><bnode>${xmlEscape(t.value)}</bnode></binding>`;
        const attr = t['xml:lang'] ? ` xml:lang="${xmlEscape(t['xml:lang'])}"` : t.datatype ? ` datatype="${xmlEscape(t.datatype)}"` : '';
        return `<binding name="${xmlEscape(k)}"><literal${attr}>${xmlEscape(t.value)}</literal></binding>`;
      };
      const body = terms.map((r) => `<result>${Object.entries(r).map(([k, t]) => cell(k, t)).join('')}</result>`).join('\n');
      return `<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>${vars.map((v) => `<variable name="${xmlEscape(v)}"/>`).join('')}</head><results>\n${body}\n</results></sparql>\n`;
    }
  }
}

export function writeBoolean(value: boolean, format: 'json' | 'xml' | 'csv' | 'tsv'): string {
  if (format === 'json') return JSON.stringify({ head: {}, boolean: value });
  if (format === 'xml') return `<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head/><boolean>${value}</boolean></sparql>\n`;
  return `${format === 'csv' ? '_askResult' : '?_askResult'}\n${value}\n`;
}
