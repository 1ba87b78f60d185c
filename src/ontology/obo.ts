import { umlsFromXrefs } from './obographs.js';
import { newTerm, type OntologyData, type SynonymScope, type Term } from './term.js';

// Reader for OBO 1.4 flat files (`hp.obo`).

function unquote(value: string): { text: string; rest: string } {
  // A quoted string with backslash escapes, followed by the rest of the tag value.
  if (!value.startsWith('"')) return { text: value, rest: '' };
  let text = '';
  let i = 1;
  for (; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && i + 1 < value.length) text += value[++i];
    else if (c === '"') break;
    else text += c;
  }
  return { text, rest: value.slice(i + 1).trim() };
}

function stripComment(value: string): string {
  // `is_a: HP:0000001 ! All`: the part after an unescaped `!` is a comment.
  const i = value.search(/(^|[^\\])!/);
  return (i < 0 ? value : value.slice(0, i + (value[i] === '!' ? 0 : 1))).trim();
}

export function parseObo(text: string, source = 'OBO file'): OntologyData {
  let version = 'unknown';
  let ontology = 'hp';
  const terms: Term[] = [];
  let term: Term | undefined;
  let inTerm = false;
  let sawStanzaOrHeader = false;
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trim();
    if (!line) continue;
    if (line.startsWith('[')) {
      sawStanzaOrHeader = true;
      inTerm = line === '[Term]';
      term = undefined;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const tag = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (!inTerm) {
      if (tag === 'format-version') sawStanzaOrHeader = true;
      if (tag === 'data-version') version = value.match(/releases\/([^/]+)/)?.[1] ?? value;
      if (tag === 'ontology') ontology = value;
      continue;
    }
    if (tag === 'id') {
      term = newTerm(value);
      terms.push(term);
      continue;
    }
    if (!term) throw new Error(`${source}: line ${n + 1}: tag '${tag}' before the stanza's id`);
    switch (tag) {
      case 'name': term.label = value; break;
      case 'def': term.definition = unquote(value).text; break;
      case 'synonym': {
        const { text: syn, rest } = unquote(value);
        const [scope, maybeType] = rest.split(/\s+/);
        const type = maybeType && !maybeType.startsWith('[') ? maybeType : undefined;
        const s = { text: syn, scope: (['EXACT', 'RELATED', 'BROAD', 'NARROW'].includes(scope) ? scope : 'RELATED') as SynonymScope };
        term.synonyms.push(type ? { ...s, type } : s);
        break;
      }
      case 'alt_id': term.altIds.push(stripComment(value)); break;
      case 'is_a': term.parents.push(stripComment(value).split(/\s+/)[0]); break;
      case 'is_obsolete': term.obsolete = value === 'true'; break;
      case 'replaced_by': term.replacedBy = stripComment(value); break;
      case 'consider': term.consider.push(stripComment(value)); break;
      case 'xref': term.xrefs.push(stripComment(value).split(/\s+/)[0]); break;
    }
  }
  if (!sawStanzaOrHeader) throw new Error(`${source}: not an OBO 1.4 file (no header and no [Term] stanza)`);
  for (const t of terms) t.umls = umlsFromXrefs(t.xrefs);
  const prefix = ontology.toUpperCase() + ':';
  return { name: ontology, version, terms: terms.filter((t) => t.id.startsWith(prefix)) };
}
