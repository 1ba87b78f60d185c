import { XSD } from '../../model/namespaces.js';

// Literals with an xsd datatype are checked and written in their canonical form, so "12", "12.0"
// and "012" from different exports become the same triple ("12.0"^^xsd:decimal) in the graph.
// A value that is not in the datatype's lexical space is an error for that row, never a bad triple.

type Canon = (value: string) => string | undefined;

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;
const INTEGER = /^([+-]?)(\d+)$/;
const DOUBLE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?INF|NaN)$/;
const DATE = /^(-?\d{4,})-(\d{2})-(\d{2})(Z|[+-]\d{2}:\d{2})?$/;
const DATETIME = /^(-?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

function decimal(value: string): string | undefined {
  const m = DECIMAL.exec(value);
  if (!m || (!m[2] && !m[3])) return undefined;
  const whole = m[2].replace(/^0+/, '') || '0';
  const frac = (m[3] ?? '').replace(/0+$/, '') || '0';
  const zero = whole === '0' && frac === '0';
  return `${m[1] === '-' && !zero ? '-' : ''}${whole}.${frac}`;
}

function integer(value: string, min?: bigint): string | undefined {
  const m = INTEGER.exec(value);
  if (!m) return undefined;
  const n = BigInt(m[1] + m[2]);
  return min !== undefined && n < min ? undefined : n.toString();
}

function boolean(value: string): string | undefined {
  if (value === 'true' || value === '1') return 'true';
  if (value === 'false' || value === '0') return 'false';
  return undefined;
}

function validDate(y: string, m: string, d: string): boolean {
  const month = Number(m);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1) return false;
  const days = new Date(Date.UTC(2000, month, 0)).getUTCDate(); // 2000 is a leap year: Feb has 29
  const leap = Number(y) % 4 === 0 && (Number(y) % 100 !== 0 || Number(y) % 400 === 0);
  return day <= (month === 2 && !leap ? 28 : days);
}

const CANON: Record<string, Canon> = {
  [XSD + 'decimal']: decimal,
  [XSD + 'integer']: (v) => integer(v),
  [XSD + 'int']: (v) => integer(v),
  [XSD + 'long']: (v) => integer(v),
  [XSD + 'nonNegativeInteger']: (v) => integer(v, 0n),
  [XSD + 'positiveInteger']: (v) => integer(v, 1n),
  [XSD + 'boolean']: boolean,
  [XSD + 'double']: (v) => (DOUBLE.test(v) ? v : undefined),
  [XSD + 'float']: (v) => (DOUBLE.test(v) ? v : undefined),
  [XSD + 'date']: (v) => {
    const m = DATE.exec(v);
    return m && validDate(m[1], m[2], m[3]) ? v : undefined;
  },
  [XSD + 'dateTime']: (v) => {
    const m = DATETIME.exec(v);
    return m && validDate(m[1], m[2], m[3]) && Number(m[4]) < 24 && Number(m[5]) < 60 && Number(m[6]) < 60 ? v : undefined;
  },
};

/** The canonical lexical form, or undefined when `value` is not a valid `datatype`. Unknown datatypes pass as is. */
export function canonicalLiteral(value: string, datatype: string): string | undefined {
  const canon = CANON[datatype];
  return canon ? canon(value) : value;
}

export const shortDatatype = (iri: string): string => (iri.startsWith(XSD) ? 'xsd:' + iri.slice(XSD.length) : iri);
