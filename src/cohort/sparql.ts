// The only way definition values reach SPARQL: each helper checks its input before writing it out.

const IRI_SAFE = /^[^\s<>"{}|^`\\]+$/;

export function iriRef(iri: string): string {
  if (!IRI_SAFE.test(iri)) throw new Error(`refusing to write an unsafe IRI into SPARQL: ${JSON.stringify(iri)}`);
  return `<${iri}>`;
}

/** An HPO CURIE as `obo:HP_0001250`; only well-formed HPO ids pass. */
export function hpoTerm(id: string): string {
  if (!/^HP:\d{7}$/.test(id)) throw new Error(`not an HPO id: ${JSON.stringify(id)}`);
  return `obo:HP_${id.slice(3)}`;
}

/** A string literal with SPARQL escapes (ECHAR) for quotes, backslashes and line breaks. */
export function stringLiteral(s: string): string {
  return '"' + s.replace(/[\\"]/g, (c) => '\\' + c).replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t') + '"';
}

export function numberLiteral(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`not a finite number: ${n}`);
  return Number.isInteger(n) ? `${n}.0` : String(n).includes('e') ? n.toExponential() : String(n);
}

/** `VALUES ?v { a b c }`, wrapped so a long list stays readable. */
export function valuesBlock(variable: string, items: string[], indent: string): string {
  if (items.length <= 8) return `VALUES ${variable} { ${items.join(' ')} }`;
  const lines: string[] = [];
  for (let i = 0; i < items.length; i += 8) lines.push(`${indent}  ${items.slice(i, i + 8).join(' ')}`);
  return `VALUES ${variable} {\n${lines.join('\n')}\n${indent}}`;
}
