import { createHash } from 'node:crypto';
import { DataFactory, type Quad, type Quad_Object } from 'n3';
import { durationToYears, gestationalToYears, normaliseFeatures, type TermIssue } from '../harmonize/index.js';
import { curieIri, patientGraph, patientIri, segment } from '../model/iri.js';
import { DCT, HX, HXG, HXR, PROV, RDF, RDFS, XSD } from '../model/namespaces.js';
import type { Ontology } from '../ontology/index.js';
import type { Origin } from '../sources/index.js';
import type { GenomicInterpretation, OntologyClass, Phenopacket, PhenotypicFeature, TimeElement } from '../sources/phenopacket.js';

const { namedNode, literal, quad } = DataFactory;

/** Shared entities (genes, diseases, publications) live in one graph so that no triple repeats across patient graphs. */
export const ENTITY_GRAPH = `${HXG}entities`;

export interface MappedPatient {
  id: string;
  graph: string;
  /** Triples owned by this patient: replaced as a whole when the phenopacket changes. */
  quads: Quad[];
  /** Label triples of shared entities, idempotent across patients. */
  shared: Quad[];
  issues: TermIssue[];
  /** sha256 of the canonical JSON; an unchanged phenopacket is skipped on re-ingest. */
  contentHash: string;
}

type Obj = Quad_Object;
// Predicates and datatypes are a small, fixed vocabulary: one NamedNode each for the whole process,
// instead of one per triple (fewer allocations, less garbage collection on large ingests).
const VOCAB = new Map<string, ReturnType<typeof namedNode>>();
const vocab = (iri: string) => {
  let n = VOCAB.get(iri);
  if (!n) VOCAB.set(iri, (n = namedNode(iri)));
  return n;
};
const xsd = (t: string) => vocab(XSD + t);
const str = (v: string): Obj => literal(v);
const int = (v: number): Obj => literal(String(v), xsd('integer'));
/** xsd:decimal has no exponent form: 1e-7 must be written 0.0000001. */
const decimalString = (v: number): string => (Number.isInteger(v) ? `${v}.0` : Math.abs(v) < 1e-6 || Math.abs(v) >= 1e21 ? v.toFixed(20).replace(/0+$/, '') : String(v));
const dec = (v: number): Obj => literal(decimalString(v), xsd('decimal'));
const bool = (v: boolean): Obj => literal(String(v), xsd('boolean'));
const iri = (v: string): Obj => namedNode(v);
const hx = (local: string) => namedNode(HX + local);

/** Maps one checked phenopacket to RDF: patient-owned triples in its own graph, shared labels apart. */
export function mapPhenopacket(pp: Phenopacket, ontology: Ontology | undefined, origin?: Origin): MappedPatient {
  const graph = namedNode(patientGraph(pp.id));
  const quads: Quad[] = [];
  const shared: Quad[] = [];
  const sharedGraph = namedNode(ENTITY_GRAPH);
  // Subjects repeat within a patient (its IRI alone heads dozens of triples): one node each.
  const subjects = new Map<string, ReturnType<typeof namedNode>>();
  const node = (iri: string) => {
    let n = subjects.get(iri);
    if (!n) subjects.set(iri, (n = namedNode(iri)));
    return n;
  };
  const add = (s: string, p: string, o: Obj): void => void quads.push(quad(node(s), vocab(p), o, graph));
  const share = (s: string, p: string, o: Obj): void => void shared.push(quad(node(s), vocab(p), o, sharedGraph));
  const P = patientIri(pp.id);
  const contentHash = createHash('sha256').update(JSON.stringify(pp)).digest('hex');

  add(P, RDF + 'type', iri(HX + 'Patient'));
  add(P, HX + 'id', str(pp.id));
  add(P, HX + 'contentHash', str(contentHash));
  const subject = pp.subject;
  if (subject) {
    if (subject.id) add(P, HX + 'subjectId', str(subject.id));
    for (const alt of subject.alternateIds ?? []) add(P, HX + 'alternateId', str(alt));
    add(P, HX + 'sex', str(subject.sex ?? 'UNKNOWN_SEX'));
    if (subject.karyotypicSex) add(P, HX + 'karyotypicSex', str(subject.karyotypicSex));
    if (subject.dateOfBirth) add(P, HX + 'dateOfBirth', literal(subject.dateOfBirth, xsd('dateTime')));
    if (subject.taxonomy?.id) add(P, HX + 'taxonomy', iri(curieIri(subject.taxonomy.id)));
    timeElement(add, P, 'ageAtLastEncounter', subject.timeAtLastEncounter);
    if (subject.vitalStatus?.status) {
      add(P, HX + 'vitalStatus', str(subject.vitalStatus.status));
      timeElement(add, P, 'timeOfDeath', subject.vitalStatus.timeOfDeath);
      if (subject.vitalStatus.causeOfDeath?.id) add(P, HX + 'causeOfDeath', iri(curieIri(subject.vitalStatus.causeOfDeath.id)));
    }
  }

  const { features, issues } = normaliseFeatures(pp, ontology);
  features.forEach((nf, i) => {
    const F = `${P}/feature/${i}`;
    add(P, HX + 'phenotypicFeature', iri(F));
    mapFeature(add, F, nf.feature, nf.id, nf.reportedId);
    if (nf.id?.startsWith('HP:') || (nf.id && !ontology)) {
      add(P, HX + (nf.feature.excluded ? 'excludedPhenotype' : 'hasPhenotype'), iri(curieIri(nf.id)));
    }
  });
  issues.forEach((issue, i) => {
    const I = `${P}/issue/${i}`;
    add(P, HX + 'issue', iri(I));
    add(I, RDF + 'type', iri(HX + 'DataIssue'));
    add(I, HX + 'issueKind', str(issue.kind));
    add(I, HX + 'jsonPath', str(issue.path));
    add(I, HX + 'reportedId', str(issue.input));
    add(I, RDFS + 'comment', str(issue.message));
  });

  (pp.diseases ?? []).forEach((d, i) => {
    const D = `${P}/disease/${i}`;
    add(P, HX + 'disease', iri(D));
    add(D, RDF + 'type', iri(HX + 'Disease'));
    add(D, HX + 'term', iri(curieIri(d.term.id)));
    add(D, HX + 'excluded', bool(d.excluded === true));
    timeElement(add, D, 'onset', d.onset);
    if (!d.excluded) add(P, HX + 'hasDisease', iri(curieIri(d.term.id)));
    describeTerm(share, d.term);
  });

  let variantNo = 0;
  (pp.interpretations ?? []).forEach((interp, i) => {
    const I = `${P}/interpretation/${i}`;
    add(P, HX + 'interpretation', iri(I));
    add(I, RDF + 'type', iri(HX + 'Interpretation'));
    if (interp.id) add(I, HX + 'interpretationId', str(interp.id));
    if (interp.progressStatus) add(I, HX + 'progressStatus', str(interp.progressStatus));
    const disease = interp.diagnosis?.disease;
    if (disease?.id) {
      add(I, HX + 'diagnosedDisease', iri(curieIri(disease.id)));
      add(P, HX + 'hasDisease', iri(curieIri(disease.id)));
      describeTerm(share, disease);
    }
    for (const gi of interp.diagnosis?.genomicInterpretations ?? []) {
      mapGenomicInterpretation(add, share, P, I, gi, variantNo++);
    }
  });

  (pp.measurements ?? []).forEach((m, i) => {
    const M = `${P}/measurement/${i}`;
    add(P, HX + 'measurement', iri(M));
    add(M, RDF + 'type', iri(HX + 'Measurement'));
    if (m.assay?.id) { add(M, HX + 'assay', iri(curieIri(m.assay.id))); describeTerm(share, m.assay); }
    if (m.description) add(M, DCT + 'description', str(m.description));
    const q = m.value?.quantity;
    if (q?.value !== undefined && Number.isFinite(Number(q.value))) add(M, HX + 'value', dec(Number(q.value)));
    if (q?.unit?.id) { add(M, HX + 'unit', iri(curieIri(q.unit.id))); describeTerm(share, q.unit); }
    if (m.value?.ontologyClass?.id) add(M, HX + 'valueClass', iri(curieIri(m.value.ontologyClass.id)));
    timeElement(add, M, 'timeObserved', m.timeObserved);
  });

  (pp.biosamples ?? []).forEach((b, i) => {
    const B = `${P}/biosample/${i}`;
    add(P, HX + 'biosample', iri(B));
    add(B, RDF + 'type', iri(HX + 'Biosample'));
    if (b.id) add(B, HX + 'biosampleId', str(b.id));
    if (b.sampledTissue?.id) add(B, HX + 'sampledTissue', iri(curieIri(b.sampledTissue.id)));
    if (b.sampleType?.id) add(B, HX + 'sampleType', iri(curieIri(b.sampleType.id)));
    if (b.histologicalDiagnosis?.id) add(B, HX + 'histologicalDiagnosis', iri(curieIri(b.histologicalDiagnosis.id)));
    (b.files ?? []).forEach((f, j) => mapFile(add, B, `${B}/file/${j}`, f));
  });
  (pp.files ?? []).forEach((f, i) => mapFile(add, P, `${P}/file/${i}`, f));

  const meta = pp.metaData;
  if (meta) {
    if (meta.created) add(P, DCT + 'created', literal(meta.created, xsd('dateTime')));
    if (meta.createdBy) add(P, HX + 'createdBy', str(meta.createdBy));
    if (meta.phenopacketSchemaVersion) add(P, HX + 'phenopacketSchemaVersion', str(meta.phenopacketSchemaVersion));
    for (const r of meta.resources ?? []) {
      if (!r.namespacePrefix) continue;
      const R = `${P}/resource/${segment(r.namespacePrefix)}`;
      add(P, HX + 'resource', iri(R));
      add(R, HX + 'namespacePrefix', str(r.namespacePrefix));
      if (r.version) add(R, HX + 'version', str(r.version));
      if (r.url) add(R, HX + 'url', str(r.url));
    }
    for (const ref of meta.externalReferences ?? []) {
      if (!ref.id) continue;
      const pub = curieIri(ref.id);
      add(P, HX + 'publication', iri(pub));
      add(P, DCT + 'source', iri(pub));
      share(pub, RDF + 'type', iri(HX + 'Publication'));
      share(pub, HX + 'curie', str(ref.id));
      if (ref.description) share(pub, RDFS + 'label', str(ref.description));
      if (ref.reference) share(pub, HX + 'url', str(ref.reference));
    }
  }
  if (origin) {
    const src = `${HXR}source/${createHash('sha1').update(origin.file + '!' + (origin.entry ?? '') + ':' + (origin.line ?? '')).digest('hex').slice(0, 16)}`;
    add(P, PROV + 'wasDerivedFrom', iri(src));
    add(src, HX + 'sourceFile', str(origin.file));
    if (origin.entry) add(src, HX + 'sourceEntry', str(origin.entry));
    if (origin.line) add(src, HX + 'sourceLine', int(origin.line));
  }
  return { id: pp.id, graph: graph.value, quads, shared, issues, contentHash };
}

type Add = (s: string, p: string, o: Obj) => void;

function mapFeature(add: Add, F: string, f: PhenotypicFeature, id: string | undefined, reportedId: string): void {
  add(F, RDF + 'type', iri(HX + 'PhenotypicFeature'));
  if (id) add(F, HX + 'type', iri(curieIri(id)));
  if (reportedId !== id) add(F, HX + 'reportedId', str(reportedId));
  if (f.type.label) add(F, RDFS + 'label', str(f.type.label));
  add(F, HX + 'excluded', bool(f.excluded === true));
  if (f.description) add(F, DCT + 'description', str(f.description));
  if (f.severity?.id) add(F, HX + 'severity', iri(curieIri(f.severity.id)));
  for (const m of f.modifiers ?? []) add(F, HX + 'modifier', iri(curieIri(m.id)));
  for (const e of f.evidence ?? []) {
    if (e.evidenceCode?.id) add(F, HX + 'evidence', iri(curieIri(e.evidenceCode.id)));
    if (e.reference?.id) add(F, DCT + 'source', iri(curieIri(e.reference.id)));
  }
  timeElement(add, F, 'onset', f.onset);
  timeElement(add, F, 'resolution', f.resolution);
}

/** A time element as the most queryable form: ISO duration plus decimal years, or an onset class. */
function timeElement(add: Add, S: string, name: string, t: TimeElement | undefined): void {
  if (!t) return;
  if (t.age?.iso8601duration) {
    add(S, HX + name, literal(t.age.iso8601duration, xsd('duration')));
    const years = durationToYears(t.age.iso8601duration);
    if (years !== undefined) add(S, HX + name + 'Years', dec(years));
  } else if (t.gestationalAge?.weeks !== undefined) {
    add(S, HX + name + 'GestationalWeeks', int(t.gestationalAge.weeks));
    add(S, HX + name + 'Years', dec(gestationalToYears(t.gestationalAge.weeks, t.gestationalAge.days)));
  } else if (t.ageRange?.start?.age?.iso8601duration) {
    const lo = durationToYears(t.ageRange.start.age.iso8601duration);
    if (lo !== undefined) add(S, HX + name + 'Years', dec(lo));
  } else if (t.timestamp) {
    add(S, HX + name + 'Timestamp', literal(t.timestamp, xsd('dateTime')));
  }
  if (t.ontologyClass?.id) add(S, HX + name + 'Class', iri(curieIri(t.ontologyClass.id)));
}

function mapGenomicInterpretation(add: Add, share: Add, P: string, I: string, gi: GenomicInterpretation, n: number): void {
  const G = `${P}/genomicInterpretation/${n}`;
  add(I, HX + 'genomicInterpretation', iri(G));
  add(G, RDF + 'type', iri(HX + 'GenomicInterpretation'));
  if (gi.interpretationStatus) add(G, HX + 'interpretationStatus', str(gi.interpretationStatus));
  if (gi.gene?.symbol || gi.gene?.valueId) add(P, HX + 'hasGene', iri(gene(share, gi.gene)));
  const vi = gi.variantInterpretation;
  const vd = vi?.variationDescriptor;
  if (!vi || !vd) return;
  const V = `${P}/variant/${n}`;
  add(G, HX + 'variant', iri(V));
  add(P, HX + 'hasVariant', iri(V));
  add(V, RDF + 'type', iri(HX + 'Variant'));
  if (vd.id) add(V, HX + 'variantId', str(vd.id));
  if (vd.label) add(V, RDFS + 'label', str(vd.label));
  if (vi.acmgPathogenicityClassification) add(V, HX + 'acmgClass', str(vi.acmgPathogenicityClassification));
  if (gi.interpretationStatus) add(V, HX + 'interpretationStatus', str(gi.interpretationStatus));
  if (vd.geneContext?.symbol || vd.geneContext?.valueId) {
    const g = gene(share, vd.geneContext);
    add(V, HX + 'gene', iri(g));
    add(P, HX + 'hasGene', iri(g));
  }
  for (const e of vd.expressions ?? []) {
    add(V, HX + 'hgvs', str(e.value));
    const syntax = e.syntax.toLowerCase();
    if (syntax === 'hgvs.c' || syntax === 'hgvs.g' || syntax === 'hgvs.p') add(V, HX + (syntax === 'hgvs.c' ? 'hgvsC' : syntax === 'hgvs.g' ? 'hgvsG' : 'hgvsP'), str(e.value));
  }
  const vcf = vd.vcfRecord;
  if (vcf) {
    if (vcf.genomeAssembly) add(V, HX + 'assembly', str(normaliseAssembly(vcf.genomeAssembly)));
    if (vcf.chrom) add(V, HX + 'chrom', str(String(vcf.chrom).replace(/^chr/i, '')));
    if (vcf.pos !== undefined) add(V, HX + 'pos', int(Number(vcf.pos)));
    if (vcf.ref) add(V, HX + 'ref', str(vcf.ref));
    if (vcf.alt) add(V, HX + 'alt', str(vcf.alt));
  }
  if (vd.allelicState?.id) add(V, HX + 'allelicState', iri(curieIri(vd.allelicState.id)));
  if (vd.structuralType?.id) add(V, HX + 'structuralType', iri(curieIri(vd.structuralType.id)));
  if (vd.moleculeContext) add(V, HX + 'moleculeContext', str(vd.moleculeContext));
}

/** hg19/GRCh37 and hg38/GRCh38 are spelt many ways; the graph uses the GRC names. */
export function normaliseAssembly(a: string): string {
  const s = a.toLowerCase();
  if (s === 'hg19' || s === 'grch37' || s === 'b37') return 'GRCh37';
  if (s === 'hg38' || s === 'grch38' || s === 'b38') return 'GRCh38';
  return a;
}

function gene(share: Add, g: { valueId?: string; symbol?: string }): string {
  const id = g.valueId && g.valueId.includes(':') ? g.valueId : undefined;
  const G = id ? curieIri(id) : `${HXR}gene/${segment(g.symbol ?? g.valueId ?? 'unknown')}`;
  share(G, RDF + 'type', iri(HX + 'Gene'));
  if (g.symbol) share(G, HX + 'symbol', str(g.symbol));
  if (id) share(G, HX + 'curie', str(id));
  return G;
}

function describeTerm(share: Add, t: OntologyClass): void {
  const T = curieIri(t.id);
  share(T, HX + 'curie', str(t.id));
  if (t.label) share(T, RDFS + 'label', str(t.label));
}

function mapFile(add: Add, owner: string, F: string, f: { uri?: string; fileAttributes?: Record<string, string> }): void {
  add(owner, HX + 'file', iri(F));
  add(F, RDF + 'type', iri(HX + 'File'));
  if (f.uri) add(F, HX + 'uri', str(f.uri));
  for (const [k, v] of Object.entries(f.fileAttributes ?? {})) {
    add(F, HX + 'fileAttribute', str(`${k}=${v}`));
    if (k === 'fileFormat' || k === 'htsFormat') add(F, HX + 'fileFormat', str(v));
  }
}
