// Reader for SSSOM mapping sets (TSV with a commented YAML header), as recent HPO releases publish
// their UMLS mappings. Returns HPO id -> UMLS CUIs for rows that map between the two.

export function parseSssomUmls(text: string, source = 'SSSOM file'): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const lines = text.split(/\r?\n/).filter((l) => l && !l.startsWith('#'));
  if (lines.length === 0) return out;
  const header = lines[0].split('\t');
  const subj = header.indexOf('subject_id');
  const obj = header.indexOf('object_id');
  if (subj < 0 || obj < 0) throw new Error(`${source}: SSSOM header lacks subject_id/object_id columns`);
  const pred = header.indexOf('predicate_id');
  for (let i = 1; i < lines.length; i++) {
    const cols = lines[i].split('\t');
    const predicate = pred >= 0 ? cols[pred] : 'skos:exactMatch';
    if (predicate && /^(owl|rdfs):/.test(predicate) && !/equivalent/i.test(predicate)) continue;
    let hp = cols[subj];
    let other = cols[obj];
    if (!hp?.startsWith('HP:')) [hp, other] = [other, hp];
    if (!hp?.startsWith('HP:')) continue;
    const m = other?.match(/^UMLS(?:_CUI)?:(C\d{7})$/i) ?? other?.match(/umls\/concept\/(C\d{7})$/);
    if (!m) continue;
    const list = out.get(hp) ?? [];
    if (!list.includes(m[1].toUpperCase())) list.push(m[1].toUpperCase());
    out.set(hp, list);
  }
  return out;
}
