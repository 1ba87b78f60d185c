import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parseObo } from './obo.js';
import { parseOboGraphs } from './obographs.js';
import { Ontology } from './ontology.js';
import { parseSssomUmls } from './sssom.js';

/** Reads a file, gunzipping it when it is gzip (by magic number, not by name). */
export function readMaybeGzip(file: string): string {
  const buf = readFileSync(file);
  return (buf[0] === 0x1f && buf[1] === 0x8b ? gunzipSync(buf) : buf).toString('utf8');
}

/** Loads HPO (or another OBO ontology) from `.json`, `.json.gz`, `.obo` or `.obo.gz`. */
export function loadOntology(file: string, options: { sssom?: string[] } = {}): Ontology {
  let text: string;
  try {
    text = readMaybeGzip(file);
  } catch (e) {
    throw new Error(`${file}: cannot read ontology: ${(e as Error).message}`);
  }
  const trimmed = text.trimStart();
  let data;
  if (trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`${file}: invalid JSON: ${(e as Error).message}`);
    }
    data = parseOboGraphs(json, file);
  } else {
    data = parseObo(text, file);
  }
  if (data.terms.length === 0) throw new Error(`${file}: no ${data.name.toUpperCase()} terms found`);
  const ontology = new Ontology(data);
  for (const s of options.sssom ?? []) ontology.addUmlsMappings(parseSssomUmls(readMaybeGzip(s), s));
  return ontology;
}
