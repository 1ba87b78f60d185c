import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ingestPhenopackets } from '../../../src/ingest/index.js';
import {
  DATA_STATEMENTS, MIRROR_MODEL, READ_MIRROR, READ_PATIENTS, READ_RECORDS, constraintStatements, dropVectorIndexStatement,
  indexStatements, mirrorStore, parseVector, vectorIndexStatement, type CypherStatement,
} from '../../../src/mirror/index.js';
import { HX, patientGraph } from '../../../src/model/index.js';
import type { OxigraphStore } from '../../../src/store/index.js';
import { FIXTURES } from '../cohort/helpers.js';
import { cypherParameters, cypherProblems } from './cypher-check.js';
import { FakeNeo4j } from './fake-neo4j.js';
import { addEmbeddings, mirrorFixture, patientIri } from './helpers.js';

let fx: Awaited<ReturnType<typeof mirrorFixture>>;
const seen: CypherStatement[] = [];
const mirror = async (neo: FakeNeo4j, options: Parameters<typeof mirrorStore>[2] = {}) => {
  const from = neo.calls.length;
  const summary = await mirrorStore(fx.store, neo, { batch: 3, ...options });
  for (const c of neo.calls.slice(from)) seen.push(...c.statements);
  return { summary, rows: neo.rowsByKind(from), calls: neo.calls.slice(from) };
};
const H = `PREFIX hx: <${HX}> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX owl: <http://www.w3.org/2002/07/owl#>`;
const count = async (store: OxigraphStore, where: string): Promise<number> => Number((await store.select(`${H} SELECT (COUNT(*) AS ?n) WHERE { ${where} }`))[0].n);

beforeAll(async () => {
  fx = await mirrorFixture();
}, 60_000);
afterAll(async () => fx?.cleanup());

describe('the Neo4j mirror, against a recording stand-in for the server', () => {
  const neo = new FakeNeo4j();

  test('a first mirror sends exactly the rows an independent SPARQL count finds, per label and relationship type', async () => {
    const { summary, rows } = await mirror(neo);
    const s = fx.store;
    const sparql = {
      patients: await count(s, `SELECT DISTINCT ?p WHERE { ?p a <${HX}Patient> }`),
      phenotypes: await count(s, `SELECT DISTINCT ?c WHERE { ?c a owl:Class . FILTER(STRSTARTS(STR(?c), "http://purl.obolibrary.org/obo/HP_")) }`),
      isA: await count(s, `SELECT DISTINCT ?c ?d WHERE { ?c rdfs:subClassOf ?d . FILTER(STRSTARTS(STR(?c), "http://purl.obolibrary.org/obo/HP_") && STRSTARTS(STR(?d), "http://purl.obolibrary.org/obo/HP_")) }`),
      hasPhenotype: await count(s, `SELECT DISTINCT ?p ?c ?x WHERE { { ?p hx:hasPhenotype ?c BIND(1 AS ?x) } UNION { ?p hx:excludedPhenotype ?c BIND(2 AS ?x) } }`),
      excluded: await count(s, `SELECT DISTINCT ?p ?c WHERE { ?p hx:excludedPhenotype ?c }`),
      hasDisease: await count(s, `SELECT DISTINCT ?p ?d WHERE { ?p hx:hasDisease ?d }`),
      hasGene: await count(s, `SELECT DISTINCT ?p ?g WHERE { ?p hx:hasGene ?g }`),
      variants: await count(s, `SELECT DISTINCT ?p ?v WHERE { ?p hx:hasVariant ?v }`),
      variantGenes: await count(s, `SELECT DISTINCT ?v ?g WHERE { ?p hx:hasVariant ?v . ?v hx:gene ?g }`),
      records: await count(s, `SELECT DISTINCT ?r WHERE { ?r a hx:Record }`),
      findings: await count(s, `SELECT DISTINCT ?r ?f WHERE { ?r hx:finding ?f }`),
      features: await count(s, `SELECT DISTINCT ?r ?n WHERE { ?r hx:feature ?f . ?f hx:name ?n }`),
      acquisition: await count(s, `SELECT DISTINCT ?r ?n WHERE { ?r hx:acquisitionParameter ?a . ?a hx:name ?n }`),
    };
    expect(sparql).toMatchObject({ patients: 5, records: 2, findings: 1 });
    expect(sparql.excluded).toBeGreaterThan(0);
    expect(rows.patients).toHaveLength(sparql.patients);
    expect(rows.phenotypes).toHaveLength(sparql.phenotypes);
    expect(rows['is-a']).toHaveLength(sparql.isA);
    expect(rows['has-phenotype']).toHaveLength(sparql.hasPhenotype);
    expect(rows['has-phenotype'].filter((r) => r.excluded === true)).toHaveLength(sparql.excluded);
    expect(rows['has-disease']).toHaveLength(sparql.hasDisease);
    expect(rows['has-gene']).toHaveLength(sparql.hasGene);
    expect(rows['patient-variants']).toHaveLength(sparql.variants);
    expect(rows['in-gene']).toHaveLength(sparql.variantGenes);
    expect(rows.records).toHaveLength(sparql.records);
    expect(rows['has-finding']).toHaveLength(sparql.findings);
    const recordProps = rows.records.map((r) => Object.keys(r.props as object));
    expect(recordProps.flat().filter((k) => k.startsWith('feature.'))).toHaveLength(sparql.features);
    expect(recordProps.flat().filter((k) => k.startsWith('acq.'))).toHaveLength(sparql.acquisition);
    expect(summary).toMatchObject({ upToDate: false, patients: { inStore: 5, sent: 5, unchanged: 0, deleted: 0 }, records: { inStore: 2, sent: 2, deleted: 0 } });
    // What the stand-in holds afterwards: the same counts as nodes and relationships.
    expect(neo.count('Patient')).toBe(5);
    expect(neo.count('Record')).toBe(2);
    expect(neo.relsOf('HAS_PHENOTYPE')).toHaveLength(sparql.hasPhenotype);
    expect(neo.relsOf('IS_A')).toHaveLength(sparql.isA);
    expect(neo.relsOf('HAS_RECORD')).toHaveLength(2);
  });

  test('values keep their types: integers as Neo4j integers, ages and features as floats, JSON lists as lists', async () => {
    const pa = neo.nodes.get('Patient:P-A')!;
    expect(pa).toMatchObject({ id: 'P-A', sex: 'FEMALE', ageYears: 10, age: 'P10Y' });
    expect(pa.harmoniaHash).toMatch(/^[0-9a-f]{32}$/);
    const variant = [...neo.nodes.values()].find((n) => n.variantId === 'P-A-var')!;
    expect(variant).toMatchObject({ chrom: '2', pos: 166848646n, ref: 'G', alt: 'A', assembly: 'GRCh38', acmgClass: 'PATHOGENIC', allelicState: 'GENO:0000135' });
    expect(neo.relsOf('IN_GENE', `Variant:${variant.iri}`).map((r) => r.to)).toEqual(['Gene:SCN1A']);
    expect(neo.nodes.get('Gene:SCN1A')).toEqual({ symbol: 'SCN1A', id: 'HGNC:10585' });
    expect(neo.nodes.get('Disease:OMIM:607208')).toMatchObject({ label: 'Developmental and epileptic encephalopathy 6B' });
    const eeg = [...neo.nodes.values()].find((n) => n.modality === 'eeg')!;
    expect(eeg).toMatchObject({ site: 'site-A', format: 'bonn', kind: 'SignalRecording', finding: 'HP:0001250', samplingRate: 173.61, patientId: 'P-A', 'acq.channelLabels': ['EEG'], 'acq.seizure': true });
    expect(typeof eeg['feature.relPower_alpha']).toBe('number');
    expect(neo.relsOf('HAS_FINDING').map((r) => r.to)).toEqual(['Phenotype:HP:0001250']);
    expect(neo.nodes.get('Phenotype:HP:0001250')).toMatchObject({ label: 'Seizure', umlsCuis: ['C0036572'], obsolete: false });
    const pc = neo.relsOf('HAS_PHENOTYPE', 'Patient:P-C').find((r) => r.to === 'Phenotype:HP:0001250')!;
    expect(pc.props).toEqual({ excluded: false, onsetYears: 2 });
    const pb = neo.relsOf('HAS_PHENOTYPE', 'Patient:P-B').find((r) => r.props.excluded === true)!;
    expect(pb.to).toBe('Phenotype:HP:0001249');
  });

  test('idempotent: a second full run sends the same MERGEs and leaves the same graph; an incremental run with no change sends nothing', async () => {
    const before = neo.snapshot();
    const first = neo.writes.filter((s) => s.kind !== 'mirror');
    const { rows } = await mirror(neo, { full: true });
    expect(neo.snapshot()).toBe(before);
    const again = neo.writes.slice(first.length + 1).filter((s) => s.kind !== 'mirror');
    expect(again.map((s) => [s.kind, s.params])).toEqual(first.map((s) => [s.kind, s.params]));
    expect(rows.patients).toHaveLength(5);
    const quiet = await mirror(neo);
    expect(quiet.summary.upToDate).toBe(true);
    expect(quiet.calls.filter((c) => c.mode === 'write')).toEqual([]);
    expect(quiet.calls.map((c) => c.statements[0].kind)).toEqual(['read-mirror']);
  });

  test('a store change that touches no patient or record sends no patient or record rows', async () => {
    await fx.store.update(`INSERT DATA { GRAPH <https://w3id.org/harmonia/graph/unrelated> { <urn:x> <urn:y> "z" } }`);
    const { summary, rows } = await mirror(neo);
    expect(summary).toMatchObject({ upToDate: false, ontology: { sent: false }, patients: { sent: 0, unchanged: 5 }, records: { sent: 0, unchanged: 2 } });
    expect(Object.keys(rows).sort()).toEqual(['constraint', 'index', 'mirror']);
  });

  test('a changed patient is re-sent alone, and what it lost is pruned', async () => {
    const pb = JSON.parse(readFileSync(join(FIXTURES, 'patients.jsonl'), 'utf8').split('\n')[1]);
    pb.phenotypicFeatures = [{ type: { id: 'HP:0001263', label: 'Global developmental delay' } }];
    pb.interpretations = [];
    const file = join(fx.dir, 'inputs', 'p-b.json');
    writeFileSync(file, JSON.stringify(pb));
    expect((await ingestPhenopackets(fx.store, [file])).accepted).toBe(1);
    const { summary, rows } = await mirror(neo);
    expect(summary.patients).toEqual({ inStore: 5, sent: 1, unchanged: 4, deleted: 0 });
    expect(rows.patients.map((r) => r.id)).toEqual(['P-B']);
    expect(rows['has-phenotype']).toEqual([{ patient: 'P-B', term: 'HP:0001263', excluded: false, onsetYears: null, onsetClasses: null }]);
    expect(neo.relsOf('HAS_PHENOTYPE', 'Patient:P-B').map((r) => r.to)).toEqual(['Phenotype:HP:0001263']);
    expect(neo.relsOf('HAS_VARIANT', 'Patient:P-B')).toEqual([]);
    expect(neo.relsOf('HAS_GENE', 'Patient:P-B')).toEqual([]);
    expect([...neo.nodes.values()].some((n) => n.variantId === 'P-B-var')).toBe(false);
  });

  test('a deleted patient and a deleted record are DETACH DELETEd, with what only they held', async () => {
    const record = [...neo.nodes.values()].find((n) => n.modality === 'expression')!;
    const ids = (await fx.store.select(`SELECT ?g WHERE { GRAPH ?g { ?r <${HX}recordId> ${JSON.stringify(record.id)} } }`)).map((r) => r.g!);
    await fx.store.commit({ replace: new Map([[patientGraph('P-E'), []], ...ids.map((g) => [g, []] as [string, never[]])]), add: [], rejected: [], accepted: [] });
    const { summary, rows } = await mirror(neo);
    expect(summary.patients.deleted).toBe(1);
    expect(summary.records.deleted).toBe(1);
    expect(rows['delete-patients']).toEqual(['P-E']);
    expect(rows['delete-records']).toEqual([record.id]);
    expect(neo.nodes.has('Patient:P-E')).toBe(false);
    expect(neo.nodes.has(`Record:${record.id}`)).toBe(false);
    expect([...neo.nodes.values()].some((n) => String(n.variantId ?? '').startsWith('P-E'))).toBe(false);
    expect(neo.relsOf('HAS_RECORD')).toHaveLength(1);
  });

  test('the graph after these incremental runs equals a fresh full mirror of the same store', async () => {
    const fresh = new FakeNeo4j();
    await mirror(fresh);
    expect(fresh.snapshot().replace(/"generation":"[^"]*"/, '')).toBe(neo.snapshot().replace(/"generation":"[^"]*"/, ''));
  });

  test('variants called in a record belong to the record: CALLED_VARIANT and HAS_VARIANT, pruned with the record, not with the patient', async () => {
    const eeg = [...neo.nodes.values()].find((n) => n.modality === 'eeg')!;
    const [{ r, g }] = await fx.store.select(`SELECT ?r ?g WHERE { GRAPH ?g { ?r <${HX}recordId> ${JSON.stringify(eeg.id)} } }`);
    const v = `${r}#variant/1-2000-C-T`;
    const gene = 'https://w3id.org/harmonia/resource/gene/GENEA';
    await fx.store.update(`INSERT DATA { GRAPH <${g}> { <${r}> <${HX}calledVariant> <${v}> . <${patientIri('P-A')}> <${HX}hasVariant> <${v}> .
      <${v}> a <${HX}Variant> ; <${HX}chrom> "1" ; <${HX}pos> 2000 ; <${HX}ref> "C" ; <${HX}alt> "T" ; <${HX}rare> true ; <${HX}gene> <${gene}> . }
      GRAPH <https://w3id.org/harmonia/graph/entities> { <${gene}> <${HX}symbol> "GENEA" } }`);
    const { summary, rows } = await mirror(neo);
    expect(summary.records.sent).toBe(1);
    expect(summary.patients.sent).toBe(0);
    expect(rows['called-variants']).toEqual([{ patient: 'P-A', record: eeg.id, iri: v, props: { iri: v, recordId: eeg.id, chrom: '1', pos: 2000n, ref: 'C', alt: 'T', rare: true } }]);
    expect(rows['in-gene']).toEqual([{ variant: v, symbol: 'GENEA', id: null }]);
    expect(neo.relsOf('CALLED_VARIANT').map((x) => x.to)).toEqual([`Variant:${v}`]);
    expect(neo.relsOf('HAS_VARIANT', 'Patient:P-A').map((x) => x.to).sort()).toEqual([`Variant:${patientIri('P-A')}/variant/0`, `Variant:${v}`]);
    await fx.store.update(`DELETE DATA { GRAPH <${g}> { <${r}> <${HX}calledVariant> <${v}> . <${patientIri('P-A')}> <${HX}hasVariant> <${v}> } }`);
    const after = await mirror(neo);
    expect(after.rows['prune-called-variants']).toEqual([{ id: eeg.id, keep: [] }]);
    expect(neo.nodes.has(`Variant:${v}`)).toBe(false);
    expect(neo.nodes.has('Gene:GENEA')).toBe(false); // An orphan once its variant is gone.
    expect(neo.relsOf('HAS_VARIANT', 'Patient:P-A')).toHaveLength(1);
  });

  test('embeddings become an `embedding` list property and a cosine vector index, only when present', async () => {
    expect(seen.some((s) => s.kind === 'vector-index')).toBe(false);
    const floats = Buffer.alloc(16);
    [0.5, -1, 0.25, 2].forEach((x, i) => floats.writeFloatLE(x, i * 4));
    await addEmbeddings(fx.store, [
      { subject: patientIri('P-A'), vector: [0.1, 0.2, 0.3, 0.4] },
      { subject: patientIri('P-C'), vector: floats.toString('base64') },
    ]);
    const { summary, rows } = await mirror(neo);
    expect(summary.patients.sent).toBe(2);
    expect(summary.vectorIndexes).toEqual({ Patient: 4 });
    expect(neo.nodes.get('Patient:P-A')).toMatchObject({ embedding: [0.1, 0.2, 0.3, 0.4], embeddingModel: 'test-model' });
    expect(neo.nodes.get('Patient:P-C')!.embedding).toEqual([0.5, -1, 0.25, 2]);
    expect(Object.keys(rows)).toContain('vector-index');
    const index = seen.filter((s) => s.kind === 'vector-index').at(-1)!;
    expect(index.cypher).toBe("CREATE VECTOR INDEX harmonia_patient_embedding IF NOT EXISTS FOR (n:Patient) ON (n.embedding) OPTIONS {indexConfig: {`vector.dimensions`: 4, `vector.similarity_function`: 'cosine'}}");
    await addEmbeddings(fx.store, [{ subject: patientIri('P-D'), vector: [1, 2, 3], model: 'test-model' }]);
    await expect(mirrorStore(fx.store, neo, {})).rejects.toThrow(/3 dimensions among Patient embeddings of 4/);
    expect(() => parseVector('[1, "a"]')).toThrow(/finite numbers/);
    expect(() => vectorIndexStatement('Patient', 0)).toThrow(/1 to 4096/);
  });

  test('every statement sent, and every statement the mirror can send, passes Neo4j\'s own Cypher parser with exactly its parameters', () => {
    const templates: CypherStatement[] = [
      ...constraintStatements(), ...indexStatements(), vectorIndexStatement('Record', 384), dropVectorIndexStatement('Phenotype'),
      { kind: 'read-mirror', cypher: READ_MIRROR, params: { id: 'x' } },
      { kind: 'read-patients', cypher: READ_PATIENTS, params: {} },
      { kind: 'read-records', cypher: READ_RECORDS, params: {} },
      ...Object.entries(DATA_STATEMENTS).map(([kind, cypher]) => ({ kind, cypher, params: Object.fromEntries(cypherParameters(cypher).map((p) => [p, []])) }) as CypherStatement),
    ];
    const kinds = new Set(seen.map((s) => s.kind));
    for (const k of Object.keys(DATA_STATEMENTS)) expect(kinds).toContain(k);
    const distinct = new Map<string, CypherStatement>();
    for (const s of [...seen, ...templates]) distinct.set(s.cypher, s);
    expect(distinct.size).toBeGreaterThan(35);
    const problems: string[] = [];
    for (const s of distinct.values()) {
      for (const p of cypherProblems(s.cypher, {}, s.params)) problems.push(`${s.kind}: ${p}\n${s.cypher}`);
      // The parameters given are exactly those the statement uses.
      expect([s.kind, Object.keys(s.params).sort()]).toEqual([s.kind, cypherParameters(s.cypher)]);
    }
    expect(problems).toEqual([]);
    // And the checker does find errors.
    expect(cypherProblems('UNWIND $rows AS row MERGE (p:Patient {id: row.id} SET p = row.props', {}, { rows: [] })).not.toEqual([]);
    expect(cypherProblems('MERGE (p:Patient {id: 1}) SET p = row.props')).toEqual(expect.arrayContaining([expect.stringMatching(/Variable `row` not defined/)]));
  }, 60_000);

  test('row shapes: every row of a statement has the same keys, covering every row.x the Cypher reads; properties are Neo4j values', () => {
    const scalar = (v: unknown): boolean => ['string', 'number', 'boolean', 'bigint'].includes(typeof v);
    const propertyValue = (v: unknown): boolean => scalar(v) || (Array.isArray(v) && v.length > 0 && v.every(scalar) && new Set(v.map((x) => typeof x)).size === 1);
    for (const s of seen) {
      const rows = s.params.rows as Record<string, unknown>[] | undefined;
      if (!rows) continue;
      const read = [...new Set([...s.cypher.matchAll(/\brow\.(\w+)/g)].map((m) => m[1]))].sort();
      for (const r of rows) {
        expect([s.kind, Object.keys(r).sort()]).toEqual([s.kind, read]);
        for (const [k, v] of Object.entries(r)) {
          if (k === 'props') for (const [pk, pv] of Object.entries(v as object)) expect([s.kind, pk, propertyValue(pv)]).toEqual([s.kind, pk, true]);
          else if (k === 'keep' || k === 'onsetClasses') expect(v === null || (Array.isArray(v) && v.every((x) => typeof x === 'string'))).toBe(true);
          else expect([s.kind, k, v === null || scalar(v)]).toEqual([s.kind, k, true]);
        }
      }
    }
    const mirrorNode = seen.filter((s) => s.kind === 'mirror').at(-1)!;
    expect(mirrorNode.params.props).toMatchObject({ model: MIRROR_MODEL, store: fx.store.location, patients: 4, records: 1 });
  });
});
