// Lexical checks for the datatypes the compiled engine supports, and the numeric reading of
// literals that range constraints compare. Datatypes in the XSD/RDF namespaces that are not listed
// here make the compiler refuse (see isKnownDatatype), so a shape using them falls back to
// rdf-validate-shacl instead of being checked more loosely.

export const XSD = 'http://www.w3.org/2001/XMLSchema#';
export const RDF = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#';

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)$/;
const FLOAT = /^([+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|INF|-INF|NaN)$/;
const BOOLEAN = /^(true|false|1|0)$/;
// xsd:duration: at least one component; T must be followed by at least one time component.
const DURATION = /^-?P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;
const YEAR = '-?([1-9]\\d{3,}|0\\d{3})';
const TZ = '(Z|[+-]\\d{2}:\\d{2})';
const DATE = new RegExp(`^${YEAR}-\\d{2}-\\d{2}${TZ}?$`);
const DATE_TIME = new RegExp(`^${YEAR}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?${TZ}?$`);
const DATE_TIME_STAMP = new RegExp(`^${YEAR}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?${TZ}$`);
const NO_CONTROL = /^[^\n\r\t]*$/;

/** Inclusive BigInt bounds of the derived integer types (undefined: unbounded on that side). */
const INTEGER_RANGES: Record<string, [bigint | undefined, bigint | undefined]> = {
  integer: [undefined, undefined],
  nonNegativeInteger: [0n, undefined],
  positiveInteger: [1n, undefined],
  nonPositiveInteger: [undefined, 0n],
  negativeInteger: [undefined, -1n],
  long: [-(2n ** 63n), 2n ** 63n - 1n],
  int: [-(2n ** 31n), 2n ** 31n - 1n],
  short: [-32768n, 32767n],
  byte: [-128n, 127n],
  unsignedLong: [0n, 2n ** 64n - 1n],
  unsignedInt: [0n, 2n ** 32n - 1n],
  unsignedShort: [0n, 65535n],
  unsignedByte: [0n, 255n],
};

const FLOATING = new Set([`${XSD}decimal`, `${XSD}float`, `${XSD}double`]);
const INTEGERS = new Set(Object.keys(INTEGER_RANGES).map((t) => XSD + t));

function integerIn(range: [bigint | undefined, bigint | undefined]): (v: string) => boolean {
  const [lo, hi] = range;
  return (v) => {
    if (!INTEGER.test(v)) return false;
    if (lo === undefined && hi === undefined) return true;
    const n = BigInt(v);
    return (lo === undefined || n >= lo) && (hi === undefined || n <= hi);
  };
}

const CHECKS = new Map<string, (lexical: string) => boolean>([
  [`${XSD}string`, () => true],
  [`${XSD}anySimpleType`, () => true],
  [`${XSD}anyAtomicType`, () => true],
  [`${XSD}normalizedString`, (v) => NO_CONTROL.test(v)],
  [`${XSD}token`, (v) => NO_CONTROL.test(v) && !v.startsWith(' ') && !v.endsWith(' ') && !v.includes('  ')],
  [`${XSD}boolean`, (v) => BOOLEAN.test(v)],
  [`${XSD}decimal`, (v) => DECIMAL.test(v)],
  [`${XSD}float`, (v) => FLOAT.test(v)],
  [`${XSD}double`, (v) => FLOAT.test(v)],
  [`${XSD}duration`, (v) => DURATION.test(v)],
  [`${XSD}date`, (v) => DATE.test(v)],
  [`${XSD}dateTime`, (v) => DATE_TIME.test(v)],
  [`${XSD}dateTimeStamp`, (v) => DATE_TIME_STAMP.test(v)],
  [`${XSD}anyURI`, (v) => !/[\ufffe\uffff]/.test(v)],
  [`${RDF}langString`, () => true],
  ...Object.entries(INTEGER_RANGES).map(([t, r]): [string, (v: string) => boolean] => [XSD + t, integerIn(r)]),
]);

// Namespaces whose datatypes rdf-validate-shacl checks lexically: one of these that we do not
// implement must not be treated as "any lexical form is fine".
const CHECKED_NAMESPACES = [XSD, RDF, 'http://www.w3.org/ns/csvw#'];

/** Whether the compiled engine can check this datatype exactly as the reference does. */
export function isKnownDatatype(iri: string): boolean {
  return CHECKS.has(iri) || !CHECKED_NAMESPACES.some((ns) => iri.startsWith(ns));
}

/** The lexical check of a datatype; datatypes outside the checked namespaces accept any form. */
export function lexicalCheck(iri: string): (lexical: string) => boolean {
  return CHECKS.get(iri) ?? (() => true);
}

/**
 * A literal's number for range comparisons, NaN when it is not a numeric literal. Integers read
 * with parseInt and the others with parseFloat, as the reference's rdf-literal does, so that
 * incomparable values fail range checks in both engines.
 */
export function numericValue(value: string, datatype: string): number {
  if (INTEGERS.has(datatype)) return parseInt(value, 10);
  if (FLOATING.has(datatype)) return parseFloat(value);
  return NaN;
}

export function isNumericDatatype(iri: string): boolean {
  return INTEGERS.has(iri) || FLOATING.has(iri);
}
