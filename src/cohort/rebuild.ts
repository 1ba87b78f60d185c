import { iriCurie, patientGraph, patientIri } from '../model/iri.js';
import { DCT, HX, RDFS } from '../model/namespaces.js';
import type { Ontology } from '../ontology/index.js';
import type { GraphStore } from '../store/index.js';
import { iriRef } from './sparql.js';

type Triples = Map<string, Map<string, string[]>>;

/** The triples of one patient graph, by subject then predicate. */
async function patientTriples(store: GraphStore, id: string): Promise<Triples> {
  const out: Triples = new Map();
  for (const r of await store.select(`SELECT ?s ?p ?o WHERE { GRAPH ${iriRef(patientGraph(id))} { ?s ?p ?o } }`)) {
    const bySubject = out.get(r.s!) ?? new Map<string, string[]>();
    const list = bySubject.get(r.p!) ?? [];
    list.push(r.o!);
    bySubject.set(r.p!, list);
    out.set(r.s!, bySubject);
  }
  return out;
}

async function geneSymbols(store: GraphStore, genes: string[]): Promise<Map<string, string>> {
  if (genes.length === 0) return new Map();
  const rows = await store.select(`SELECT ?g ?s WHERE { VALUES ?g { ${genes.map(iriRef).join(' ')} } ?g <${HX}symbol> ?s }`);
  return new Map(rows.map((r) => [r.g!, r.s!]));
}

const curie = (iri: string): string => iriCurie(iri) ?? iri;

/**
 * A phenopacket rebuilt from the graph, for members whose source file is gone. It holds what the
 * graph holds: subject (sex, age), phenotypic features (type, excluded, onset), diseases,
 * interpretations (gene, variant: HGVS, VCF coordinates, ACMG class) and publications; free text,
 * measurements and biosamples are not rebuilt.
 */
export async function rebuildPhenopacket(store: GraphStore, ontology: Ontology, id: string): Promise<Record<string, unknown>> {
  const t = await patientTriples(store, id);
  const P = patientIri(id);
  const get = (s: string, p: string): string[] => t.get(s)?.get(p) ?? [];
  const one = (s: string, p: string): string | undefined => get(s, p)[0];
  const age = (s: string, name: string) => {
    const iso = one(s, HX + name);
    const cls = one(s, HX + name + 'Class');
    if (iso) return { age: { iso8601duration: iso } };
    if (cls) return { ontologyClass: { id: curie(cls), label: ontology.label(curie(cls)) } };
    return undefined;
  };
  const features = get(P, HX + 'phenotypicFeature')
    .sort((a, b) => Number(a.split('/').pop()) - Number(b.split('/').pop()))
    .map((f) => {
      const type = one(f, HX + 'type');
      const typeId = type ? curie(type) : one(f, HX + 'reportedId') ?? 'unknown';
      return clean({ type: { id: typeId, label: one(f, RDFS + 'label') ?? ontology.label(typeId) }, excluded: one(f, HX + 'excluded') === 'true' || undefined, onset: age(f, 'onset') });
    });
  const diseases = get(P, HX + 'disease').map((d) => clean({ term: { id: curie(one(d, HX + 'term')!) }, excluded: one(d, HX + 'excluded') === 'true' || undefined, onset: age(d, 'onset') }));
  const variants = get(P, HX + 'hasVariant');
  const symbols = await geneSymbols(store, variants.flatMap((v) => get(v, HX + 'gene')));
  const genomicInterpretations = variants.map((v) => {
    const gene = one(v, HX + 'gene');
    const vcf = clean({ genomeAssembly: one(v, HX + 'assembly'), chrom: one(v, HX + 'chrom'), pos: num(one(v, HX + 'pos')), ref: one(v, HX + 'ref'), alt: one(v, HX + 'alt') });
    return clean({
      subjectOrBiosampleId: one(P, HX + 'subjectId') ?? id,
      interpretationStatus: one(v, HX + 'interpretationStatus'),
      variantInterpretation: clean({
        acmgPathogenicityClassification: one(v, HX + 'acmgClass'),
        variationDescriptor: clean({
          id: one(v, HX + 'variantId') ?? v,
          geneContext: gene ? clean({ valueId: iriCurie(gene), symbol: symbols.get(gene) }) : undefined,
          expressions: [...get(v, HX + 'hgvsC').map((value) => ({ syntax: 'hgvs.c', value })), ...get(v, HX + 'hgvsG').map((value) => ({ syntax: 'hgvs.g', value })), ...get(v, HX + 'hgvsP').map((value) => ({ syntax: 'hgvs.p', value }))],
          vcfRecord: Object.keys(vcf).length ? vcf : undefined,
          allelicState: one(v, HX + 'allelicState') ? { id: curie(one(v, HX + 'allelicState')!) } : undefined,
        }),
      }),
    });
  });
  const interpretations = get(P, HX + 'interpretation').map((i) => clean({
    id: one(i, HX + 'interpretationId') ?? i,
    progressStatus: one(i, HX + 'progressStatus') ?? 'UNKNOWN_PROGRESS',
    diagnosis: one(i, HX + 'diagnosedDisease') ? clean({ disease: { id: curie(one(i, HX + 'diagnosedDisease')!) }, genomicInterpretations: genomicInterpretations.length ? genomicInterpretations : undefined }) : undefined,
  }));
  return clean({
    id,
    subject: clean({ id: one(P, HX + 'subjectId'), sex: one(P, HX + 'sex'), timeAtLastEncounter: age(P, 'ageAtLastEncounter') }),
    phenotypicFeatures: features.length ? features : undefined,
    diseases: diseases.length ? diseases : undefined,
    interpretations: interpretations.length ? interpretations : undefined,
    metaData: clean({
      created: one(P, DCT + 'created'),
      createdBy: one(P, HX + 'createdBy') ?? 'harmonia (rebuilt from the knowledge graph)',
      phenopacketSchemaVersion: one(P, HX + 'phenopacketSchemaVersion') ?? '2.0',
      resources: [],
      externalReferences: get(P, HX + 'publication').map((p) => ({ id: curie(p) })),
    }),
  });
}

function num(v: string | undefined): number | undefined {
  return v === undefined ? undefined : Number(v);
}

/** Drops undefined fields so the JSON has only what the graph holds. */
function clean<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}
