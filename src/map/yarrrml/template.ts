import type { Part } from './model.js';

/**
 * Splits `hxr:patient/$(patient_id)` into text and references. Parentheses inside a reference
 * are balanced, so a column called `age (years)` can be written `$(age (years))`; `\$(` is a literal `$(`.
 */
export function parseTemplate(source: string): Part[] {
  const parts: Part[] = [];
  let text = '';
  let i = 0;
  while (i < source.length) {
    if (source.startsWith('\\$(', i)) {
      text += '$(';
      i += 3;
    } else if (source.startsWith('$(', i)) {
      const end = closingParen(source, i + 2);
      if (end < 0) throw new Error(`unclosed reference in '${source}'`);
      const ref = source.slice(i + 2, end).trim();
      if (!ref) throw new Error(`empty reference $() in '${source}'`);
      if (text) parts.push({ text });
      text = '';
      parts.push({ ref });
      i = end + 1;
    } else {
      text += source[i++];
    }
  }
  if (text || parts.length === 0) parts.push({ text });
  return parts;
}

function closingParen(s: string, from: number): number {
  let depth = 1;
  for (let i = from; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')' && --depth === 0) return i;
  }
  return -1;
}

export const references = (parts: Part[]): string[] => parts.flatMap((p) => ('ref' in p ? [p.ref] : []));

export const isConstant = (parts: Part[]): boolean => parts.every((p) => 'text' in p);

export const constantText = (parts: Part[]): string => parts.map((p) => ('text' in p ? p.text : '')).join('');
