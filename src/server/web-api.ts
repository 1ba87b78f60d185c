import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { iriCurie, oboCurie, patientGraph } from '../model/iri.js';
import { HX, HXR, OBO, PREFIXES, PROV, RDFS } from '../model/namespaces.js';
import type { Ontology } from '../ontology/index.js';
import type { GraphStore, Row } from '../store/index.js';
import type { ServerContext } from './context.js';
import { readEvaluation } from './evaluation.js';
import { sendJobFailure } from './jobs-http.js';

/** What the page helpers read: run as jobs where the store is (a query worker, see jobs.ts). */
export interface StoreView {
  store: GraphStore;
  ontology: Ontology;
}

// JSON the web interface needs beyond the public APIs: its configuration, term search, labels for
// query results, a patient's record on one page, the embedding map and the saved evaluation of the
// embeddings. Read-only, under /ui/.

const { sqrt, abs } = Math;
const PREFIX = `PREFIX hx: <${HX}> PREFIX rdfs: <${RDFS}> PREFIX prov: <${PROV}>\n`;
/** Most IRIs one labels request may ask about. */
export const MAX_LABELS = 5000;
/** Most features listed per record (a VCF has one gene-burden feature per gene). */
export const MAX_FEATURES = 200;

type Handler = (req: Request, res: Response) => Promise<void> | void;

export function webApiRoutes(ctx: ServerContext): Router {
  const router = express.Router();
  const wrap = (h: Handler) => (req: Request, res: Response, next: NextFunction): void => {
    Promise.resolve().then(() => h(req, res)).catch((e: unknown) => sendJobFailure(res, e, next));
  };
  const job = ctx.executor.job.bind(ctx.executor);
  const limit = ctx.config.timeoutMs;

  router.get('/ui/config', (_req, res) => {
    res.json({
      hpoVersion: ctx.ontology.version,
      terms: ctx.ontology.size,
      writes: Boolean(ctx.config.updateToken),
      diagnose: Boolean(ctx.config.annotations),
      prefixes: PREFIXES,
    });
  });
  router.get('/ui/terms', (req, res) => void res.json({ terms: searchTerms(ctx, stringParam(req.query.q, 'q', 200), limitParam(req.query.limit, 10, 50)) }));
  router.post('/ui/labels', express.json({ limit: ctx.config.maxBodyBytes }), wrap(async (req, res) => {
    const iris = (req.body as { iris?: unknown } | undefined)?.iris;
    if (!Array.isArray(iris) || iris.some((i) => typeof i !== 'string')) throw badRequest('give {"iris": [IRI, ...]}');
    if (iris.length > MAX_LABELS) throw badRequest(`at most ${MAX_LABELS} IRIs per request, got ${iris.length}`);
    res.json({ labels: await job('ui.labels', { iris: iris as string[] }, limit) });
  }));
  router.get('/ui/patients', wrap(async (req, res) => {
    res.json(await job('ui.patients', { q: stringParam(req.query.q ?? '', 'q', 200), limit: limitParam(req.query.limit, 20, 200) }, limit));
  }));
  router.get('/ui/patients/:id', wrap(async (req, res) => void res.json(await job('ui.patient', { id: String(req.params.id) }, limit))));
  router.get('/ui/embeddings', wrap(async (req, res) => {
    const version = req.query.version === undefined ? undefined : stringParam(req.query.version, 'version', 200);
    res.json(await job('ui.embeddings', { version }, limit));
  }));
  // A file beside the model (harmonia eval embeddings writes it), not in the graph: no worker needed.
  router.get('/ui/evaluation', wrap(async (req, res) => {
    const version = req.query.version === undefined ? undefined : stringParam(req.query.version, 'version', 200);
    res.json(await readEvaluation(ctx.store.location, version));
  }));
  return router;
}

function badRequest(message: string): Error {
  return Object.assign(new Error(message), { status: 400 });
}

function stringParam(v: unknown, name: string, max: number): string {
  if (typeof v !== 'string') throw badRequest(`give one ${name} parameter`);
  if (v.length > max) throw badRequest(`${name} is longer than ${max} characters`);
  return v;
}

function limitParam(v: unknown, fallback: number, max: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw badRequest(`limit ${JSON.stringify(v)}: give a whole number from 1 to ${max}`);
  return n;
}

/** A SPARQL string literal: every character that could end or escape it is escaped. */
export function literal(s: string): string {
  return `"${s.replace(/[\\"\n\r\t]/g, (c) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!)}"`;
}

const SAFE_IRI = /^[a-z][a-z0-9+.-]*:[^\s<>"{}|^`\\]*$/i;

export interface TermHit {
  id: string;
  label: string;
  /** The label, synonym, id or CUI that matched. */
  matched: string;
  /** Terms in the subtree, the term itself included. */
  descendants: number;
  umls: string[];
}

/** The ontology's ranked search (labels, synonyms, ids, alt_ids, UMLS CUIs), with subtree sizes. */
function searchTerms(ctx: ServerContext, q: string, limit: number): TermHit[] {
  return ctx.ontology.search(q, limit).map((h) => ({
    id: h.id, label: h.label, matched: h.matched,
    descendants: ctx.ontology.descendants(h.id).length,
    umls: ctx.ontology.umls(h.id),
  }));
}

/** How an IRI is shown: a label, and the id beside it (a CURIE) where there is one. */
export interface Label {
  label: string;
  id?: string;
}

/**
 * Display labels for the IRIs of a query result: HPO terms from the loaded ontology, patients by
 * their phenopacket id, genes by symbol, other entities by rdfs:label; with their CURIE.
 */
export async function labels(ctx: StoreView, iris: string[]): Promise<Record<string, Label>> {
  const out: Record<string, Label> = {};
  const ask: string[] = [];
  for (const iri of new Set(iris)) {
    const curie = iri.startsWith(OBO) ? oboCurie(iri) : undefined;
    const term = curie ? ctx.ontology.label(curie) : undefined;
    if (term) out[iri] = { label: term, id: curie };
    else if (SAFE_IRI.test(iri)) ask.push(iri);
  }
  for (let i = 0; i < ask.length; i += 500) {
    const values = ask.slice(i, i + 500).map((s) => `<${s}>`).join(' ');
    const rows = await ctx.store.select(`${PREFIX}SELECT ?s ?id ?symbol ?label ?curie WHERE { VALUES ?s { ${values} }
      OPTIONAL { ?s hx:id ?id } OPTIONAL { ?s hx:symbol ?symbol } OPTIONAL { ?s rdfs:label ?label } OPTIONAL { ?s hx:curie ?curie } }`);
    for (const r of rows) {
      const text = r.id ?? r.symbol ?? r.label;
      const id = r.curie ?? iriCurie(r.s!);
      if (text && out[r.s!] === undefined) out[r.s!] = { label: text, ...(id && id !== text ? { id } : {}) };
    }
  }
  return out;
}

/** Patients whose id contains `q` (case-insensitive), in id order, and how many there are in all. */
export async function findPatients(ctx: StoreView, q: string, limit: number): Promise<{ patients: string[]; total: number }> {
  const filter = q.trim() ? `FILTER(CONTAINS(LCASE(?id), ${literal(q.trim().toLowerCase())}))` : '';
  const rows = await ctx.store.select(`${PREFIX}SELECT ?id WHERE { ?p a hx:Patient ; hx:id ?id . ${filter} } ORDER BY ?id LIMIT ${limit}`);
  const [count] = await ctx.store.select(`${PREFIX}SELECT (COUNT(?p) AS ?n) WHERE { ?p a hx:Patient ; hx:id ?id . ${filter} }`);
  return { patients: rows.map((r) => r.id!), total: Number(count?.n ?? 0) };
}

export interface PatientRecord {
  id: string;
  iri: string;
  graph: string;
  sex?: string;
  age?: string;
  ageYears?: number;
  phenotypes: { id?: string; label: string; excluded: boolean; onset?: string; onsetClass?: { id: string; label?: string } }[];
  diseases: { id: string; label?: string; excluded: boolean }[];
  interpretations: { id?: string; status?: string; disease?: string }[];
  genes: { symbol?: string; id?: string }[];
  variants: Record<string, string>[];
  records: {
    id: string; modality?: string; format?: string; site?: string; finding?: { id: string; label?: string };
    acquisition: { name: string; value: string }[];
    features: { name: string; value: string }[];
    featureCount: number;
    steps: { step: string; version?: string; software?: string; parameters?: string }[];
    sources: string[];
  }[];
  publications: { id: string; label?: string }[];
  provenance: { file?: string; entry?: string; line?: string; createdBy?: string; created?: string };
  issues: { kind?: string; path?: string; input?: string; message?: string }[];
}

/** One patient on one page: everything the graph holds about it, labels from the ontology. */
export async function patientRecord(ctx: StoreView, id: string): Promise<PatientRecord> {
  const P = `?p hx:id ${literal(id)} .`;
  const q = (body: string): Promise<Row[]> => ctx.store.select(`${PREFIX}SELECT * WHERE { ${P} ${body} }`);
  const [head] = await q(`OPTIONAL { ?p hx:sex ?sex } OPTIONAL { ?p hx:ageAtLastEncounter ?age } OPTIONAL { ?p hx:ageAtLastEncounterYears ?years }
    OPTIONAL { ?p hx:createdBy ?createdBy } OPTIONAL { ?p <http://purl.org/dc/terms/created> ?created }`);
  if (!head) throw Object.assign(new Error(`unknown patient '${id}'`), { status: 404 });
  const [features, diseases, interpretations, genes, variants, publications, sources, issues] = await Promise.all([
    q(`?p hx:phenotypicFeature ?f . OPTIONAL { ?f hx:type ?type } OPTIONAL { ?f rdfs:label ?label } OPTIONAL { ?f hx:excluded ?excluded }
       OPTIONAL { ?f hx:onset ?onset } OPTIONAL { ?f hx:onsetClass ?onsetClass }`),
    q(`?p hx:disease ?n . ?n hx:term ?d . OPTIONAL { ?n hx:excluded ?excluded } OPTIONAL { ?d rdfs:label ?label }`),
    q(`?p hx:interpretation ?i . OPTIONAL { ?i hx:interpretationId ?iid } OPTIONAL { ?i hx:progressStatus ?status } OPTIONAL { ?i hx:diagnosedDisease ?d }`),
    q(`?p hx:hasGene ?g . OPTIONAL { ?g hx:symbol ?symbol } OPTIONAL { ?g hx:curie ?curie }`),
    q(`?p hx:hasVariant ?v . ?v ?k ?value . FILTER(STRSTARTS(STR(?k), STR(hx:))) OPTIONAL { ?value hx:symbol ?symbol }`),
    q(`?p hx:publication ?pub . OPTIONAL { ?pub hx:curie ?curie } OPTIONAL { ?pub rdfs:label ?label }`),
    q(`?p prov:wasDerivedFrom ?s . OPTIONAL { ?s hx:sourceFile ?file } OPTIONAL { ?s hx:sourceEntry ?entry } OPTIONAL { ?s hx:sourceLine ?line }`),
    q(`?p hx:issue ?x . OPTIONAL { ?x hx:issueKind ?kind } OPTIONAL { ?x hx:jsonPath ?path } OPTIONAL { ?x hx:reportedId ?input } OPTIONAL { ?x rdfs:comment ?message }`),
  ]);
  const term = (iri: string | undefined) => {
    const curie = iri ? (oboCurie(iri) ?? iriCurie(iri) ?? iri) : undefined;
    return curie ? { id: curie, label: ctx.ontology.label(curie) } : undefined;
  };
  const source = sources[0];
  return {
    id, iri: head.p!, graph: patientGraph(id),
    sex: head.sex, age: head.age, ageYears: head.years === undefined ? undefined : Number(head.years),
    phenotypes: features.map((f) => {
      const t = term(f.type);
      return { id: t?.id, label: t?.label ?? f.label ?? t?.id ?? '(unknown term)', excluded: f.excluded === 'true', onset: f.onset, onsetClass: term(f.onsetClass) };
    }).sort((a, b) => Number(a.excluded) - Number(b.excluded) || a.label.localeCompare(b.label)),
    diseases: unique(diseases.map((d) => ({ id: iriCurie(d.d!) ?? d.d!, label: d.label, excluded: d.excluded === 'true' })), (d) => `${d.id}|${d.excluded}`),
    interpretations: interpretations.map((i) => ({ id: i.iid, status: i.status, disease: i.d ? (iriCurie(i.d) ?? i.d) : undefined })),
    genes: unique(genes.map((g) => ({ symbol: g.symbol, id: g.curie ?? iriCurie(g.g!) })), (g) => `${g.symbol}|${g.id}`),
    variants: variantRows(variants),
    records: await patientFiles(ctx, P),
    publications: unique(publications.map((p) => ({ id: p.curie ?? iriCurie(p.pub!) ?? p.pub!, label: p.label })), (p) => p.id),
    provenance: { file: source?.file, entry: source?.entry, line: source?.line, createdBy: head.createdBy, created: head.created },
    issues: issues.map((i) => ({ kind: i.kind, path: i.path, input: i.input, message: i.message })),
  };
}

function unique<T>(items: T[], key: (t: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const t of items) if (!seen.has(key(t))) seen.set(key(t), t);
  return [...seen.values()];
}

/** One object per variant, its hx: properties by local name (several values joined with "; "). */
function variantRows(rows: Row[]): Record<string, string>[] {
  const byVariant = new Map<string, Record<string, string>>();
  for (const r of rows) {
    const v = byVariant.get(r.v!) ?? {};
    const key = r.k!.slice(HX.length);
    const value = key === 'gene' ? (r.symbol ?? iriCurie(r.value!) ?? r.value!) : (oboCurie(r.value!) ?? r.value!);
    v[key] = v[key] && !v[key].split('; ').includes(value) ? `${v[key]}; ${value}` : value;
    byVariant.set(r.v!, v);
  }
  return [...byVariant.values()];
}

/** Records of other modalities: what was measured, how (acquisition), what came out (features), from what. */
async function patientFiles(ctx: StoreView, P: string): Promise<PatientRecord['records']> {
  const q = (body: string): Promise<Row[]> => ctx.store.select(`${PREFIX}SELECT * WHERE { ${P} ?p hx:hasRecord ?r . ${body} }`);
  const [heads, acquisition, features, steps, sources] = await Promise.all([
    q(`OPTIONAL { ?r hx:recordId ?id } OPTIONAL { ?r hx:modality ?modality } OPTIONAL { ?r hx:format ?format } OPTIONAL { ?r hx:site ?site } OPTIONAL { ?r hx:finding ?finding }`),
    q(`?r hx:acquisitionParameter ?a . ?a hx:name ?name ; hx:value ?value`),
    q(`?r hx:feature ?x . ?x hx:name ?name ; hx:value ?value`),
    q(`?r hx:harmonizationStep ?a . ?a hx:step ?step . OPTIONAL { ?a hx:stepIndex ?index } OPTIONAL { ?a hx:stepVersion ?version } OPTIONAL { ?a hx:software ?software } OPTIONAL { ?a hx:parameters ?parameters }`),
    q(`?r prov:wasDerivedFrom ?s . ?s hx:sourceFile ?file`),
  ]);
  const of = (rows: Row[], r: string) => rows.filter((x) => x.r === r);
  const named = (rows: Row[]) => rows.map((x) => ({ name: x.name!, value: x.value! })).sort((a, b) => a.name.localeCompare(b.name));
  return unique(heads, (h) => h.r!).map((h) => {
    const all = named(of(features, h.r!));
    const finding = h.finding ? oboCurie(h.finding) : undefined;
    return {
      id: h.id ?? h.r!, modality: h.modality, format: h.format, site: h.site,
      finding: finding ? { id: finding, label: ctx.ontology.label(finding) } : undefined,
      acquisition: named(of(acquisition, h.r!)),
      features: all.slice(0, MAX_FEATURES), featureCount: all.length,
      steps: of(steps, h.r!).sort((a, b) => Number(a.index ?? 0) - Number(b.index ?? 0))
        .map((s) => ({ step: s.step!, version: s.version, software: s.software, parameters: s.parameters })),
      sources: [...new Set(of(sources, h.r!).map((s) => s.file!))],
    };
  }).sort((a, b) => a.id.localeCompare(b.id));
}

export interface EmbeddingMap {
  version?: string;
  versions: string[];
  points: { id: string; x: number; y: number; sex?: string }[];
  /** Share of the variance the two axes explain. */
  explained: [number, number];
}

/** The PCA map of patient embeddings, computed once per store generation and model version. */
export class PcaCache {
  private cached?: { key: string; map: EmbeddingMap };

  async get(ctx: StoreView, version?: string): Promise<EmbeddingMap> {
    const generation = await ctx.store.generation();
    const rows = await ctx.store.select(`${PREFIX}SELECT ?v (COUNT(?e) AS ?n) WHERE { ?e a hx:Embedding ; hx:embeddingKind "patient" ; hx:modelVersion ?v } GROUP BY ?v ORDER BY ?v`);
    const versions = rows.map((r) => r.v!);
    const chosen = version ?? versions.at(-1);
    if (version !== undefined && !versions.includes(version)) throw Object.assign(new Error(`no patient embeddings of model version '${version}' (have: ${versions.join(', ') || 'none'})`), { status: 404 });
    if (!chosen) return { versions, points: [], explained: [0, 0] };
    const key = `${generation}|${chosen}`;
    if (this.cached?.key === key) return this.cached.map;
    const vectors = await ctx.store.select(`${PREFIX}SELECT ?id ?vector ?sex WHERE { ?e a hx:Embedding ; hx:embeddingKind "patient" ; hx:modelVersion ${literal(chosen)} ;
      hx:embeddingOf ?p ; hx:vector ?vector . ?p hx:id ?id . OPTIONAL { ?p hx:sex ?sex } } ORDER BY ?id`);
    const { coordinates, explained } = pca2(vectors.map((r) => decodeFloat32(r.vector!)));
    const map: EmbeddingMap = { version: chosen, versions, explained, points: vectors.map((r, i) => ({ id: r.id!, x: coordinates[i][0], y: coordinates[i][1], sex: r.sex })) };
    this.cached = { key, map };
    return map;
  }
}

/** hx:float32Base64: little-endian IEEE 754 float32 values, base64. */
export function decodeFloat32(base64: string): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength >> 2);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/**
 * The first two principal components of the rows (centred), by power iteration on the covariance
 * with deflation: d x d work per step, which for embeddings (d ~ 128) is far below the n x d input.
 * Signs are fixed so that the largest |loading| of each axis is positive (a stable picture).
 */
export function pca2(rows: Float32Array[]): { coordinates: [number, number][]; explained: [number, number] } {
  const n = rows.length;
  const d = rows[0]?.length ?? 0;
  if (n === 0 || d === 0) return { coordinates: rows.map(() => [0, 0]), explained: [0, 0] };
  const mean = new Float64Array(d);
  for (const r of rows) for (let j = 0; j < d; j++) mean[j] += r[j] / n;
  const cov = new Float64Array(d * d);
  const x = new Float64Array(d);
  for (const r of rows) {
    for (let j = 0; j < d; j++) x[j] = r[j] - mean[j];
    for (let a = 0; a < d; a++) {
      const xa = x[a];
      if (xa === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b] += xa * x[b];
    }
  }
  for (let a = 0; a < d; a++) for (let b = a; b < d; b++) cov[b * d + a] = cov[a * d + b] /= n;
  let total = 0;
  for (let a = 0; a < d; a++) total += cov[a * d + a];
  const axes: Float64Array[] = [];
  const values: number[] = [];
  for (let k = 0; k < 2; k++) {
    const [v, lambda] = topEigen(cov, d);
    axes.push(v);
    values.push(lambda);
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) cov[a * d + b] -= lambda * v[a] * v[b];
  }
  const coordinates = rows.map((r) => axes.map((v) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += (r[j] - mean[j]) * v[j];
    return s;
  }) as [number, number]);
  return { coordinates, explained: [total > 0 ? values[0] / total : 0, total > 0 ? values[1] / total : 0] };
}

function topEigen(m: Float64Array, d: number): [Float64Array, number] {
  let v = new Float64Array(d).map((_, i) => 1 / sqrt(d) + i * 1e-3);
  let lambda = 0;
  for (let it = 0; it < 500; it++) {
    const w = new Float64Array(d);
    for (let a = 0; a < d; a++) {
      let s = 0;
      for (let b = 0; b < d; b++) s += m[a * d + b] * v[b];
      w[a] = s;
    }
    let norm = 0;
    for (let a = 0; a < d; a++) norm += w[a] * w[a];
    norm = sqrt(norm);
    if (norm === 0) return [v, 0];
    let change = 0;
    for (let a = 0; a < d; a++) {
      w[a] /= norm;
      change += abs(w[a] - v[a]);
    }
    v = w;
    lambda = norm;
    if (change < 1e-10) break;
  }
  let big = 0;
  for (let a = 0; a < d; a++) if (abs(v[a]) > abs(v[big])) big = a;
  if (v[big] < 0) for (let a = 0; a < d; a++) v[a] = -v[a];
  return [v, lambda];
}
