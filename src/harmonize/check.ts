import type { Phenopacket } from '../sources/phenopacket.js';

export interface Problem {
  /** JSON path of the offending value, e.g. `$.phenotypicFeatures[3].type.id`. */
  path: string;
  reason: string;
}

type Json = unknown;
const isObj = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Structural check of a phenopacket before it is mapped: the fields the graph needs must be present
 * and of the right JSON type. Returns every problem found (not only the first), each with its JSON path.
 */
export function checkPhenopacket(json: Json): Problem[] {
  const problems: Problem[] = [];
  const bad = (path: string, reason: string): void => void problems.push({ path, reason });
  if (!isObj(json)) return [{ path: '$', reason: 'a phenopacket must be a JSON object' }];
  if (typeof json.id !== 'string' || !json.id.trim()) bad('$.id', 'missing or empty phenopacket id (a non-empty string is required)');
  const subject = json.subject;
  if (subject === undefined) bad('$.subject', 'missing subject (the individual the phenopacket describes)');
  else if (!isObj(subject)) bad('$.subject', 'subject must be an object');
  else {
    if (subject.id !== undefined && typeof subject.id !== 'string') bad('$.subject.id', 'must be a string');
    if (subject.sex !== undefined && typeof subject.sex !== 'string') bad('$.subject.sex', 'must be a string such as "FEMALE"');
    checkTime(subject.timeAtLastEncounter, '$.subject.timeAtLastEncounter', bad);
  }
  checkArray(json.phenotypicFeatures, '$.phenotypicFeatures', bad, (f, p) => checkFeature(f, p, bad));
  checkArray(json.diseases, '$.diseases', bad, (d, p) => {
    if (!isObj(d)) return bad(p, 'must be an object');
    checkClass(d.term, `${p}.term`, bad, true);
    if (d.excluded !== undefined && typeof d.excluded !== 'boolean') bad(`${p}.excluded`, 'must be true or false');
    checkTime(d.onset, `${p}.onset`, bad);
  });
  checkArray(json.interpretations, '$.interpretations', bad, (i, p) => {
    if (!isObj(i)) return bad(p, 'must be an object');
    const dx = i.diagnosis;
    if (dx === undefined) return;
    if (!isObj(dx)) return bad(`${p}.diagnosis`, 'must be an object');
    if (dx.disease !== undefined) checkClass(dx.disease, `${p}.diagnosis.disease`, bad, true);
    checkArray(dx.genomicInterpretations, `${p}.diagnosis.genomicInterpretations`, bad, (g, gp) => checkGenomic(g, gp, bad));
  });
  checkArray(json.biosamples, '$.biosamples', bad, (b, p) => {
    if (!isObj(b)) return bad(p, 'must be an object');
    checkArray(b.phenotypicFeatures, `${p}.phenotypicFeatures`, bad, (f, fp) => checkFeature(f, fp, bad));
  });
  checkArray(json.measurements, '$.measurements', bad, (m, p) => void (isObj(m) || bad(p, 'must be an object')));
  checkArray(json.files, '$.files', bad, (f, p) => void (isObj(f) || bad(p, 'must be an object')));
  if (json.metaData !== undefined) {
    if (!isObj(json.metaData)) bad('$.metaData', 'must be an object');
    else checkArray(json.metaData.externalReferences, '$.metaData.externalReferences', bad, (r, p) => void (isObj(r) || bad(p, 'must be an object')));
  }
  return problems;
}

function checkArray(v: Json, path: string, bad: (p: string, r: string) => void, each: (item: Json, path: string) => void): void {
  if (v === undefined) return;
  if (!Array.isArray(v)) return bad(path, `must be an array, got ${typeName(v)}`);
  v.forEach((item, i) => each(item, `${path}[${i}]`));
}

function checkClass(v: Json, path: string, bad: (p: string, r: string) => void, required: boolean): void {
  if (v === undefined) return required ? bad(path, 'missing ontology class {id, label}') : undefined;
  if (!isObj(v)) return bad(path, `must be an ontology class object {id, label}, got ${typeName(v)}`);
  if (typeof v.id !== 'string' || !v.id.trim()) bad(`${path}.id`, 'missing or non-string ontology class id');
  if (v.label !== undefined && typeof v.label !== 'string') bad(`${path}.label`, 'must be a string');
}

function checkFeature(f: Json, path: string, bad: (p: string, r: string) => void): void {
  if (!isObj(f)) return bad(path, 'must be an object');
  checkClass(f.type, `${path}.type`, bad, true);
  if (f.excluded !== undefined && typeof f.excluded !== 'boolean') bad(`${path}.excluded`, `must be true or false, got ${typeName(f.excluded)}`);
  if (f.severity !== undefined) checkClass(f.severity, `${path}.severity`, bad, false);
  checkArray(f.modifiers, `${path}.modifiers`, bad, (m, p) => checkClass(m, p, bad, true));
  checkTime(f.onset, `${path}.onset`, bad);
}

function checkTime(t: Json, path: string, bad: (p: string, r: string) => void): void {
  if (t === undefined) return;
  if (!isObj(t)) return bad(path, 'must be a time element object');
  if (t.age !== undefined) {
    const iso = isObj(t.age) ? t.age.iso8601duration : undefined;
    if (typeof iso !== 'string' || !/^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$/.test(iso))
      bad(`${path}.age.iso8601duration`, `not an ISO 8601 duration such as "P6Y3M": ${JSON.stringify(iso)}`);
  }
  if (t.ontologyClass !== undefined) checkClass(t.ontologyClass, `${path}.ontologyClass`, bad, true);
}

function checkGenomic(g: Json, path: string, bad: (p: string, r: string) => void): void {
  if (!isObj(g)) return bad(path, 'must be an object');
  const vi = g.variantInterpretation;
  if (vi === undefined) return;
  if (!isObj(vi)) return bad(`${path}.variantInterpretation`, 'must be an object');
  const vd = vi.variationDescriptor;
  if (vd === undefined) return;
  if (!isObj(vd)) return bad(`${path}.variantInterpretation.variationDescriptor`, 'must be an object');
  const vp = `${path}.variantInterpretation.variationDescriptor`;
  checkArray(vd.expressions, `${vp}.expressions`, bad, (e, p) => {
    if (!isObj(e) || typeof e.syntax !== 'string' || typeof e.value !== 'string') bad(p, 'an expression needs string syntax and value');
  });
  const vcf = vd.vcfRecord;
  if (vcf !== undefined) {
    if (!isObj(vcf)) return bad(`${vp}.vcfRecord`, 'must be an object');
    const pos = vcf.pos;
    if (pos !== undefined && !(Number.isInteger(Number(pos)) && Number(pos) > 0)) bad(`${vp}.vcfRecord.pos`, `must be a positive integer, got ${JSON.stringify(pos)}`);
  }
}

function typeName(v: Json): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

/** Narrows after a clean check; the check above guarantees the fields the mapper reads. */
export function asPhenopacket(json: Json): Phenopacket {
  return json as Phenopacket;
}
