// Shared by the validate tests: both engines on the project's shapes, patient graphs built the way
// src/map builds them, and a comparison key that ignores message wording.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataFactory, type Quad, type Quad_Object } from 'n3';
import { ShapeValidator, type Violation } from '../../../src/validate/index.js';

const { namedNode, literal, blankNode, quad } = DataFactory;

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const SHAPES_FILE = join(REPO, 'shapes', 'harmonia.shacl.ttl');
export const HX = 'https://w3id.org/harmonia/vocab#';
export const XSD = 'http://www.w3.org/2001/XMLSchema#';
export const RDF = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#';
export const HP = 'http://purl.obolibrary.org/obo/HP_';
const R = 'https://w3id.org/harmonia/resource/patient/';

export const compiledEngine = (): ShapeValidator => ShapeValidator.fromFile(SHAPES_FILE, { engine: 'compiled' });
export const referenceEngine = (): ShapeValidator => ShapeValidator.fromFile(SHAPES_FILE, { engine: 'reference' });

/** What must agree between the engines: which node broke which constraint of which path. */
export function keys(violations: Violation[]): string[] {
  return [...new Set(violations.map((v) => `${v.focusNode} | ${v.path ?? '-'} | ${v.constraint} | ${v.value ?? '-'} | ${v.severity}`))].sort();
}

export const iri = (v: string): Quad_Object => namedNode(v);
export const str = (v: string): Quad_Object => literal(v);
export const typed = (v: string, t: string): Quad_Object => literal(v, namedNode(XSD + t));
export const bnode = (v: string): Quad_Object => blankNode(v);

/** A small deterministic PRNG so that generated graphs are the same on every run. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Builder of one patient graph, shaped like src/map's output. */
export class PatientGraph {
  readonly quads: Quad[] = [];
  readonly P: string;
  private readonly graph;

  constructor(readonly id: string) {
    this.P = R + id;
    this.graph = namedNode(`https://w3id.org/harmonia/graph/patient/${id}`);
  }

  add(s: string, p: string, o: Quad_Object): this {
    this.quads.push(quad(s.startsWith('_:') ? blankNode(s.slice(2)) : namedNode(s), namedNode(p), o, this.graph));
    return this;
  }

  hx(s: string, local: string, o: Quad_Object): this {
    return this.add(s, HX + local, o);
  }

  type(s: string, cls: string): this {
    return this.add(s, RDF + 'type', iri(HX + cls));
  }

  /** Drops the triples matching the predicate (and subject, when given). */
  without(predicateLocal: string, subject?: string): this {
    for (let i = this.quads.length - 1; i >= 0; i--) {
      const q = this.quads[i];
      if (q.predicate.value === HX + predicateLocal && (!subject || q.subject.value === subject)) this.quads.splice(i, 1);
    }
    return this;
  }

  feature(i: number, hpo: string, excluded = false): string {
    const F = `${this.P}/feature/${i}`;
    this.hx(this.P, 'phenotypicFeature', iri(F)).type(F, 'PhenotypicFeature');
    this.hx(F, 'type', iri(HP + hpo)).hx(F, 'excluded', typed(String(excluded), 'boolean'));
    this.hx(this.P, excluded ? 'excludedPhenotype' : 'hasPhenotype', iri(HP + hpo));
    return F;
  }

  disease(i: number, term: string): string {
    const D = `${this.P}/disease/${i}`;
    this.hx(this.P, 'disease', iri(D)).type(D, 'Disease');
    this.hx(D, 'term', iri(term)).hx(D, 'excluded', typed('false', 'boolean'));
    this.hx(this.P, 'hasDisease', iri(term));
    return D;
  }

  variant(i: number, pos: number): string {
    const I = `${this.P}/interpretation/${i}`;
    const G = `${I}/genomic/0`;
    const V = `${G}/variant`;
    this.hx(this.P, 'interpretation', iri(I)).type(I, 'Interpretation').hx(I, 'progressStatus', str('SOLVED'));
    this.hx(I, 'genomicInterpretation', iri(G)).type(G, 'GenomicInterpretation').hx(G, 'interpretationStatus', str('CAUSATIVE'));
    this.hx(G, 'variant', iri(V)).type(V, 'Variant').hx(this.P, 'hasVariant', iri(V));
    this.hx(V, 'chrom', str('chr1')).hx(V, 'pos', typed(String(pos), 'integer')).hx(V, 'ref', str('A')).hx(V, 'alt', str('G'));
    this.hx(V, 'assembly', str('GRCh38')).hx(V, 'gene', iri('http://identifiers.org/hgnc/1100')).hx(V, 'acmgClass', str('PATHOGENIC'));
    return V;
  }
}

/** A conforming patient with a few of everything (`full`: always a disease and a variant). */
export function validPatient(id: string, random = rng(1), full = false): PatientGraph {
  const g = new PatientGraph(id);
  g.type(g.P, 'Patient').hx(g.P, 'id', str(id)).hx(g.P, 'sex', str(['FEMALE', 'MALE', 'OTHER_SEX', 'UNKNOWN_SEX'][Math.floor(random() * 4)]));
  g.hx(g.P, 'ageAtLastEncounter', typed('P3Y2M', 'duration')).hx(g.P, 'ageAtLastEncounterYears', typed((random() * 80).toFixed(2), 'decimal'));
  const features = 1 + Math.floor(random() * 6);
  for (let i = 0; i < features; i++) g.feature(i, String(1000000 + Math.floor(random() * 999999)).padStart(7, '0'), random() < 0.2);
  if (full || random() < 0.7) g.disease(0, `https://omim.org/entry/${100000 + Math.floor(random() * 99999)}`);
  if (full || random() < 0.6) g.variant(0, 1 + Math.floor(random() * 1e8));
  if (random() < 0.3) {
    const M = `${g.P}/measurement/0`;
    g.hx(g.P, 'measurement', iri(M)).type(M, 'Measurement').hx(M, 'value', typed('3.5', 'decimal')).hx(M, 'assay', iri('http://loinc.org/1234-5'));
  }
  if (random() < 0.3) g.hx(g.P, 'publication', iri('https://pubmed.ncbi.nlm.nih.gov/123'));
  return g;
}
