import { createHash } from 'node:crypto';
import { HX, OBO, OWL, RDF, RDFS, XSD, iriCurie, oboCurie } from '../model/index.js';
import type { GraphStore, Row } from '../store/index.js';

// Reads the store, through SPARQL SELECTs only (so embedded and remote stores behave the same), into
// the units the mirror writes: one per patient graph, one per record graph, and the ontology.

/** A Neo4j property value: a scalar or a homogeneous list of scalars (Neo4j has no map properties). */
export type Scalar = string | number | boolean | bigint;
export type PropValue = Scalar | Scalar[];
export type Props = Record<string, PropValue>;

export interface PhenotypeEdge {
  term: string;
  excluded: boolean;
  /** Earliest onset in years of the features with this term and status. */
  onsetYears?: number;
  /** Onset classes (HPO CURIEs) of those features. */
  onsetClasses?: string[];
}

export interface GeneRef {
  /** HGNC symbol; the gene's CURIE or IRI when the graph has no symbol. */
  symbol: string;
  id?: string;
}

export interface VariantUnit {
  iri: string;
  props: Props;
  genes: GeneRef[];
}

export interface Embedding {
  vector: number[];
  model?: string;
}

/** What the mirror writes for one patient graph. */
export interface PatientUnit {
  id: string;
  iri: string;
  props: Props;
  phenotypes: PhenotypeEdge[];
  diseases: { id: string; iri: string; label?: string }[];
  genes: GeneRef[];
  variants: VariantUnit[];
  embedding?: Embedding;
  /** Fingerprint of everything above: the mirror's watermark for this patient. */
  hash: string;
}

/** What the mirror writes for one record graph (plus ComBat features attached to the record). */
export interface RecordUnit {
  id: string;
  iri: string;
  patient: string;
  props: Props;
  findings: string[];
  variants: VariantUnit[];
  embedding?: Embedding;
  hash: string;
}

export interface TermUnit {
  id: string;
  label?: string;
  obsolete: boolean;
  umlsCuis: string[];
  parents: string[];
  embedding?: Embedding;
}

export interface OntologyUnit {
  terms: TermUnit[];
  hash: string;
}

/** The mapping of the graph to Neo4j: part of every fingerprint, so a new mapping re-sends everything. */
export const MIRROR_MODEL = 'harmonia-neo4j-1';

const HP_PREFIX = `${OBO}HP_`;
const INTEGER_TYPES = new Set(['integer', 'int', 'long', 'short', 'byte', 'nonNegativeInteger', 'positiveInteger', 'negativeInteger', 'nonPositiveInteger', 'unsignedInt', 'unsignedLong', 'unsignedShort']);
const FLOAT_TYPES = new Set(['double', 'float', 'decimal']);

/** An IRI as a SPARQL term; refuses what could break out of `<...>`. */
export function iriTerm(iri: string): string {
  if (/[\s<>"{}|^`\\]/.test(iri)) throw new Error(`${iri}: not an IRI the mirror can query`);
  return `<${iri}>`;
}

/** A literal's lexical form as the Neo4j value its datatype says. */
export function literalValue(value: string, datatype: string | undefined): Scalar {
  const local = datatype?.startsWith(XSD) ? datatype.slice(XSD.length) : '';
  if (INTEGER_TYPES.has(local) && /^[+-]?\d+$/.test(value)) return BigInt(value);
  if (FLOAT_TYPES.has(local) && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  if (local === 'boolean') return value === 'true' || value === '1';
  return value;
}

/** Acquisition parameters stored as JSON arrays become lists when they are homogeneous scalars. */
function jsonList(value: Scalar): PropValue {
  if (typeof value !== 'string' || !value.startsWith('[')) return value;
  try {
    const parsed = JSON.parse(value) as unknown;
    if (!Array.isArray(parsed) || parsed.length === 0) return value;
    const kinds = new Set(parsed.map((x) => typeof x));
    if (kinds.size === 1 && ['string', 'number', 'boolean'].includes([...kinds][0])) return parsed as Scalar[];
  } catch {
    // Not JSON after all: keep the text.
  }
  return value;
}

/** Several values of one property become a sorted list of one type (text when the types differ). */
function addProp(props: Props, key: string, value: PropValue): void {
  const prev = props[key];
  if (prev === undefined) {
    props[key] = value;
    return;
  }
  const all = [...(Array.isArray(prev) ? prev : [prev]), ...(Array.isArray(value) ? value : [value])];
  const sameType = new Set(all.map((x) => typeof x)).size === 1;
  const list = (sameType ? all : all.map(String)) as Scalar[];
  props[key] = [...new Map(list.map((x) => [`${typeof x}:${String(x)}`, x])).values()].sort(compareScalars);
}

function compareScalars(a: Scalar, b: Scalar): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

/** Order-independent JSON (sorted keys, bigints marked): the input of every fingerprint. */
export function canonical(value: unknown): string {
  if (typeof value === 'bigint') return `"${value}n"`;
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function fingerprint(value: unknown): string {
  return createHash('sha256').update(MIRROR_MODEL).update(canonical(value)).digest('hex').slice(0, 32);
}

/** A vector literal: a JSON array of numbers, or base64 of little-endian float32 values. */
export function parseVector(text: string): number[] {
  const t = text.trim();
  if (t.startsWith('[')) {
    const v = JSON.parse(t) as unknown;
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new Error('an embedding vector must be a non-empty array of finite numbers');
    return v as number[];
  }
  const bytes = Buffer.from(t, 'base64');
  if (bytes.length === 0 || bytes.length % 4 !== 0) throw new Error('an embedding vector in base64 must hold little-endian float32 values');
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i += 4) out.push(bytes.readFloatLE(i));
  return out;
}

/** What the readers need to know once per run. */
export interface ReadOptions {
  /** Whether the store has any hx:embedding (hasEmbeddings); when false no embedding queries are sent. */
  embeddings: boolean;
  /** The model whose embeddings are mirrored, when the store holds several. */
  embeddingModel?: string;
}

/** Whether any subject of the store has an embedding (one cheap query per run). */
export async function hasEmbeddings(store: GraphStore): Promise<boolean> {
  return store.ask(`ASK { ?s <${HX}embedding> ?e . ?e <${HX}vector> ?v }`);
}

const curie = (iri: string): string => iriCurie(iri) ?? iri;
const values = (name: string, iris: string[]): string => `VALUES ?${name} { ${iris.map(iriTerm).join(' ')} }`;
const hxLocal = (iri: string): string | undefined => (iri.startsWith(HX) ? iri.slice(HX.length) : undefined);

async function rows(store: GraphStore, sparql: string): Promise<Row[]> {
  const out: Row[] = [];
  for await (const r of store.selectStream(sparql)) out.push(r);
  return out;
}

function group<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Every patient of the store: its id and IRI, sorted by id. */
export async function listPatients(store: GraphStore): Promise<{ id: string; iri: string }[]> {
  const out = new Map<string, string>();
  for await (const r of store.selectStream(`SELECT ?p ?id WHERE { ?p a <${HX}Patient> ; <${HX}id> ?id }`, { lexical: true })) out.set(r.id!, r.p!);
  return [...out].map(([id, iri]) => ({ id, iri })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Every record of the store: its id, IRI and patient id, sorted by id. */
export async function listRecords(store: GraphStore): Promise<{ id: string; iri: string; patient: string }[]> {
  const out = new Map<string, { id: string; iri: string; patient: string }>();
  for await (const r of store.selectStream(`SELECT ?r ?id ?pid WHERE { ?r a <${HX}Record> ; <${HX}recordId> ?id ; <${HX}patient> ?p . ?p <${HX}id> ?pid }`, { lexical: true })) {
    out.set(r.id!, { id: r.id!, iri: r.r!, patient: r.pid! });
  }
  return [...out.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Genes by IRI: symbol (or CURIE) and CURIE, from the entity graph. */
function geneRef(iri: string, symbol?: string, id?: string): GeneRef {
  return { symbol: symbol ?? id ?? curie(iri), ...(id ? { id } : {}) };
}

/** Variants (literal properties, IRI properties as CURIEs, genes) of the subjects in `owners`, by owner IRI. */
async function readVariants(store: GraphStore, owners: string[], link: string, ownVariantsOnly: boolean, recordId?: Map<string, string>): Promise<Map<string, VariantUnit[]>> {
  const byOwner = new Map<string, Map<string, VariantUnit>>();
  const unit = (owner: string, v: string): VariantUnit => {
    let m = byOwner.get(owner);
    if (!m) byOwner.set(owner, (m = new Map()));
    let u = m.get(v);
    if (!u) m.set(v, (u = { iri: v, props: { iri: v, ...(recordId ? { recordId: recordId.get(owner)! } : {}) }, genes: [] }));
    return u;
  };
  const own = ownVariantsOnly ? `FILTER NOT EXISTS { ?rec <${HX}calledVariant> ?v }` : '';
  for (const r of await rows(store, `SELECT ?o ?v ?pred ?x (DATATYPE(?x) AS ?t) WHERE { ${values('o', owners)} ?o <${link}> ?v . ${own} ?v ?pred ?x . FILTER(?pred != <${HX}gene> && ?pred != <${RDF}type>) }`)) {
    const key = hxLocal(r.pred!);
    if (!key) continue;
    const u = unit(r.o!, r.v!);
    // DATATYPE is bound for every literal (xsd:string for plain ones) and unbound for IRIs.
    addProp(u.props, key, r.t !== undefined ? literalValue(r.x!, r.t) : curie(r.x!));
  }
  for (const r of await rows(store, `SELECT ?o ?v ?g ?symbol ?id WHERE { ${values('o', owners)} ?o <${link}> ?v . ${own} ?v <${HX}gene> ?g . OPTIONAL { ?g <${HX}symbol> ?symbol } OPTIONAL { ?g <${HX}curie> ?id } }`)) {
    const u = unit(r.o!, r.v!);
    const g = geneRef(r.g!, r.symbol, r.id);
    if (!u.genes.some((x) => x.symbol === g.symbol)) u.genes.push(g);
  }
  const out = new Map<string, VariantUnit[]>();
  for (const [owner, m] of byOwner) {
    out.set(owner, [...m.values()].sort((a, b) => (a.iri < b.iri ? -1 : 1)).map((u) => ({ ...u, genes: u.genes.sort((a, b) => (a.symbol < b.symbol ? -1 : 1)) })));
  }
  return out;
}

/**
 * Embeddings of the given subjects, read from `?s hx:embedding ?e . ?e hx:vector ?v ; hx:modelVersion ?m` (as `harmonia embed` writes them).
 * With several models on one subject, `model` picks one; without it that is an error naming them.
 */
async function readEmbeddings(store: GraphStore, subjects: string[], options: ReadOptions): Promise<Map<string, Embedding>> {
  if (!options.embeddings || subjects.length === 0) return new Map();
  const model = options.embeddingModel;
  const found = new Map<string, Embedding[]>();
  const filter = model ? `FILTER(?m = ${JSON.stringify(model)})` : '';
  for (const r of await rows(store, `SELECT ?s ?vec ?m WHERE { ${values('s', subjects)} ?s <${HX}embedding> ?e . ?e <${HX}vector> ?vec . OPTIONAL { ?e <${HX}modelVersion> ?m } ${filter} }`)) {
    let vector: number[];
    try {
      vector = parseVector(r.vec!);
    } catch (e) {
      throw new Error(`${r.s}: ${(e as Error).message}`);
    }
    group(found, r.s!, { vector, ...(r.m ? { model: r.m } : {}) });
  }
  const out = new Map<string, Embedding>();
  for (const [s, list] of found) {
    const models = [...new Set(list.map((e) => e.model ?? '(none)'))];
    if (models.length > 1) throw new Error(`${s} has embeddings of several models (${models.join(', ')}): choose one with --embedding-model`);
    if (list.length > 1) throw new Error(`${s} has ${list.length} embeddings of model ${models[0]}: expected one`);
    out.set(s, list[0]);
  }
  return out;
}

function embeddingProps(e: Embedding | undefined): Props {
  return e ? { embedding: e.vector, ...(e.model ? { embeddingModel: e.model } : {}) } : {};
}

/** Full units for a batch of patients (as listed by listPatients). */
export async function readPatients(store: GraphStore, batch: { id: string; iri: string }[], options: ReadOptions): Promise<PatientUnit[]> {
  const iris = batch.map((p) => p.iri);
  const props = new Map<string, Props>(batch.map((p) => [p.iri, { id: p.id }]));
  const SCALARS: Record<string, string> = { sex: 'sex', ageAtLastEncounterYears: 'ageYears', ageAtLastEncounter: 'age', createdFrom: 'createdFrom' };
  // A UNION of bound predicates: with `?p ?pred ?x . VALUES ?pred {…}` Oxigraph took 50 times longer.
  const scalars = Object.keys(SCALARS).map((k) => `{ ?p <${HX}${k}> ?x BIND(<${HX}${k}> AS ?pred) }`).join(' UNION ');
  for (const r of await rows(store, `SELECT ?p ?pred ?x (DATATYPE(?x) AS ?t) WHERE { ${values('p', iris)} ${scalars} }`)) {
    addProp(props.get(r.p!)!, SCALARS[hxLocal(r.pred!)!], literalValue(r.x!, r.t));
  }
  const phenotypes = new Map<string, Map<string, PhenotypeEdge>>();
  const edge = (p: string, term: string, excluded: boolean): PhenotypeEdge => {
    let m = phenotypes.get(p);
    if (!m) phenotypes.set(p, (m = new Map()));
    const key = `${term}|${excluded}`;
    let e = m.get(key);
    if (!e) m.set(key, (e = { term, excluded }));
    return e;
  };
  for (const r of await rows(store, `SELECT ?p ?c ?status WHERE { ${values('p', iris)} { ?p <${HX}hasPhenotype> ?c BIND("observed" AS ?status) } UNION { ?p <${HX}excludedPhenotype> ?c BIND("excluded" AS ?status) } }`)) {
    edge(r.p!, curie(r.c!), r.status === 'excluded');
  }
  // Onsets of the detailed features, added to the edge of the same term and status when there is one.
  for (const r of await rows(store, `SELECT ?p ?c ?ex ?years ?class WHERE { ${values('p', iris)} ?p <${HX}phenotypicFeature> ?f . ?f <${HX}type> ?c ; <${HX}excluded> ?ex . OPTIONAL { ?f <${HX}onsetYears> ?years } OPTIONAL { ?f <${HX}onsetClass> ?class } FILTER(BOUND(?years) || BOUND(?class)) }`)) {
    const e = phenotypes.get(r.p!)?.get(`${curie(r.c!)}|${r.ex === 'true' || r.ex === '1'}`);
    if (!e) continue;
    if (r.years !== undefined && Number.isFinite(Number(r.years))) e.onsetYears = Math.min(e.onsetYears ?? Infinity, Number(r.years));
    if (r.class) e.onsetClasses = [...new Set([...(e.onsetClasses ?? []), curie(r.class)])].sort();
  }
  const diseases = new Map<string, Map<string, { id: string; iri: string; label?: string }>>();
  for (const r of await rows(store, `SELECT ?p ?d ?id ?label WHERE { ${values('p', iris)} ?p <${HX}hasDisease> ?d . OPTIONAL { ?d <${HX}curie> ?id } OPTIONAL { ?d <${RDFS}label> ?label } }`)) {
    let m = diseases.get(r.p!);
    if (!m) diseases.set(r.p!, (m = new Map()));
    const prev = m.get(r.d!);
    const label = prev?.label !== undefined && r.label !== undefined ? (prev.label < r.label ? prev.label : r.label) : prev?.label ?? r.label;
    m.set(r.d!, { id: r.id ?? curie(r.d!), iri: r.d!, ...(label !== undefined ? { label } : {}) });
  }
  const genes = new Map<string, Map<string, GeneRef>>();
  for (const r of await rows(store, `SELECT ?p ?g ?symbol ?id WHERE { ${values('p', iris)} ?p <${HX}hasGene> ?g . OPTIONAL { ?g <${HX}symbol> ?symbol } OPTIONAL { ?g <${HX}curie> ?id } }`)) {
    let m = genes.get(r.p!);
    if (!m) genes.set(r.p!, (m = new Map()));
    const g = geneRef(r.g!, r.symbol, r.id);
    m.set(g.symbol, { ...m.get(g.symbol), ...g });
  }
  const variants = await readVariants(store, iris, `${HX}hasVariant`, true);
  const embeddings = await readEmbeddings(store, iris, options);
  return batch.map(({ id, iri }) => {
    const unit = {
      id, iri,
      props: { ...props.get(iri)!, ...embeddingProps(embeddings.get(iri)) },
      phenotypes: [...(phenotypes.get(iri)?.values() ?? [])].sort((a, b) => (`${a.term}|${a.excluded}` < `${b.term}|${b.excluded}` ? -1 : 1)),
      diseases: [...(diseases.get(iri)?.values() ?? [])].sort((a, b) => (a.id < b.id ? -1 : 1)),
      genes: [...(genes.get(iri)?.values() ?? [])].sort((a, b) => (a.symbol < b.symbol ? -1 : 1)),
      variants: variants.get(iri) ?? [],
      ...(embeddings.has(iri) ? { embedding: embeddings.get(iri) } : {}),
    };
    return { ...unit, hash: fingerprint(unit) };
  });
}

/** Record properties that are bookkeeping, or written as relationships, rather than node properties. */
const RECORD_SKIP = new Set(['recordId', 'contentHash', 'patient', 'finding', 'hasRecord', 'calledVariant', 'acquisitionParameter', 'feature', 'harmonizedArray', 'harmonizationStep', 'embedding']);

/** Full units for a batch of records (as listed by listRecords). */
export async function readRecords(store: GraphStore, batch: { id: string; iri: string; patient: string }[], options: ReadOptions): Promise<RecordUnit[]> {
  const iris = batch.map((r) => r.iri);
  const props = new Map<string, Props>(batch.map((r) => [r.iri, { id: r.id }]));
  const findings = new Map<string, Set<string>>();
  for (const r of await rows(store, `SELECT ?r ?pred ?x (DATATYPE(?x) AS ?t) WHERE { ${values('r', iris)} ?r ?pred ?x . FILTER(isLiteral(?x) || ?pred = <${HX}finding> || ?pred = <${RDF}type>) }`)) {
    const p = props.get(r.r!)!;
    if (r.pred === `${RDF}type`) {
      const kind = hxLocal(r.x!);
      if (kind && kind !== 'Record') addProp(p, 'kind', kind);
      continue;
    }
    if (r.pred === `${HX}finding`) {
      const set = findings.get(r.r!) ?? new Set<string>();
      findings.set(r.r!, set.add(curie(r.x!)));
      continue;
    }
    const key = hxLocal(r.pred!);
    if (key && !RECORD_SKIP.has(key)) addProp(p, key, literalValue(r.x!, r.t));
  }
  for (const r of await rows(store, `SELECT ?r ?n ?x (DATATYPE(?x) AS ?t) WHERE { ${values('r', iris)} ?r <${HX}acquisitionParameter> ?a . ?a <${HX}name> ?n ; <${HX}value> ?x }`)) {
    addProp(props.get(r.r!)!, `acq.${r.n}`, jsonList(literalValue(r.x!, r.t)));
  }
  for (const r of await rows(store, `SELECT ?r ?n ?x (DATATYPE(?x) AS ?t) WHERE { ${values('r', iris)} ?r <${HX}feature> ?f . ?f <${HX}name> ?n ; <${HX}value> ?x }`)) {
    addProp(props.get(r.r!)!, `feature.${r.n}`, literalValue(r.x!, r.t));
  }
  const recordIds = new Map(batch.map((r) => [r.iri, r.id]));
  const variants = await readVariants(store, iris, `${HX}calledVariant`, false, recordIds);
  const embeddings = await readEmbeddings(store, iris, options);
  return batch.map(({ id, iri, patient }) => {
    const found = [...(findings.get(iri) ?? [])].sort();
    const unit = {
      id, iri, patient,
      props: { ...props.get(iri)!, patientId: patient, ...(found.length ? { finding: found[0] } : {}), ...embeddingProps(embeddings.get(iri)) },
      findings: found,
      variants: variants.get(iri) ?? [],
      ...(embeddings.has(iri) ? { embedding: embeddings.get(iri) } : {}),
    };
    return { ...unit, hash: fingerprint(unit) };
  });
}

/** The HPO terms of the store (labels, obsolete flags, UMLS CUIs, is_a parents, embeddings). */
export async function readOntology(store: GraphStore, options: ReadOptions): Promise<OntologyUnit> {
  const terms = new Map<string, TermUnit>();
  const term = (iri: string): TermUnit | undefined => {
    if (!iri.startsWith(HP_PREFIX)) return undefined;
    let t = terms.get(iri);
    if (!t) terms.set(iri, (t = { id: oboCurie(iri)!, obsolete: false, umlsCuis: [], parents: [] }));
    return t;
  };
  const hp = `FILTER(STRSTARTS(STR(?c), ${JSON.stringify(HP_PREFIX)}))`;
  for await (const r of store.selectStream(`SELECT ?c ?label WHERE { ?c a <${OWL}Class> . ${hp} OPTIONAL { ?c <${RDFS}label> ?label } }`)) {
    const t = term(r.c!)!;
    if (r.label !== undefined && (t.label === undefined || r.label < t.label)) t.label = r.label;
  }
  for await (const r of store.selectStream(`SELECT ?c WHERE { ?c <${OWL}deprecated> ?d . ${hp} FILTER(STR(?d) = "true" || STR(?d) = "1") }`)) term(r.c!)!.obsolete = true;
  for await (const r of store.selectStream(`SELECT ?c ?cui WHERE { ?c <${HX}umlsCui> ?cui . ${hp} }`)) term(r.c!)!.umlsCuis.push(r.cui!);
  for await (const r of store.selectStream(`SELECT ?c ?parent WHERE { ?c <${RDFS}subClassOf> ?parent . ${hp} FILTER(STRSTARTS(STR(?parent), ${JSON.stringify(HP_PREFIX)})) }`)) {
    term(r.c!)!.parents.push(oboCurie(r.parent!)!);
    term(r.parent!);
  }
  const all = [...terms.entries()];
  const embeddings = new Map<string, Embedding>();
  for (let i = 0; options.embeddings && i < all.length; i += 2000) {
    for (const [s, e] of await readEmbeddings(store, all.slice(i, i + 2000).map(([iri]) => iri), options)) embeddings.set(s, e);
  }
  const list = all.map(([iri, t]) => ({
    ...t, umlsCuis: [...new Set(t.umlsCuis)].sort(), parents: [...new Set(t.parents)].sort(),
    ...(embeddings.has(iri) ? { embedding: embeddings.get(iri) } : {}),
  })).sort((a, b) => (a.id < b.id ? -1 : 1));
  return { terms: list, hash: fingerprint(list) };
}
