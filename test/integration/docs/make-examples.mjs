#!/usr/bin/env node
// Writes examples/docs/: the small files the commands in README.md and docs/*.md name (hp.json,
// phenopackets.zip, records.tsv and its records, exome.vcf.gz, ...), all made up here: a 30-term
// HPO subset with real ids and labels, invented patients, synthetic signals and volumes. The docs
// test (commands.test.ts) copies them into its scratch directory, and checks that they are what this
// script writes (change them here, then run it):
//   node test/integration/docs/make-examples.mjs [OUT_DIR]      (default examples/docs)
// Node built-ins only, and deterministic: the same bytes on every run.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const OUT = process.argv[2] ?? join(ROOT, 'examples', 'docs');
// Everything but the folder's README.md (written by hand) is this script's output.
mkdirSync(OUT, { recursive: true });
for (const name of readdirSync(OUT)) if (name !== 'README.md') rmSync(join(OUT, name), { recursive: true, force: true });
const put = (path, data) => {
  mkdirSync(dirname(join(OUT, path)), { recursive: true });
  writeFileSync(join(OUT, path), data);
};
const gz = (data) => {
  const b = gzipSync(data, { level: 9 });
  b[9] = 3; // OS byte: Unix, whatever the machine, so the files stay byte-identical
  return b;
};

// A deterministic random stream (mulberry32), so the synthetic records are the same on every run.
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
  return { next, normal };
}

// ---------------------------------------------------------------- HPO subset (OBO Graphs JSON)
// [id, label, parents, UMLS CUIs]; the hierarchy is shortened (real ids and labels, fewer levels).
const TERMS = [
  ['HP:0000001', 'All', []],
  ['HP:0000118', 'Phenotypic abnormality', ['HP:0000001']],
  ['HP:0000707', 'Abnormality of the nervous system', ['HP:0000118']],
  ['HP:0001250', 'Seizure', ['HP:0000707'], ['C0036572']],
  ['HP:0002373', 'Febrile seizure (within the age range of 3 months to 6 years)', ['HP:0001250'], ['C0009952']],
  ['HP:0007359', 'Focal-onset seizure', ['HP:0001250']],
  ['HP:0002197', 'Generalized-onset seizure', ['HP:0001250']],
  ['HP:0010818', 'Generalized tonic seizure', ['HP:0002197']],
  ['HP:0011097', 'Epileptic spasm', ['HP:0001250']],
  ['HP:0012469', 'Infantile spasms', ['HP:0011097']],
  ['HP:0012759', 'Neurodevelopmental abnormality', ['HP:0000707']],
  ['HP:0001249', 'Intellectual disability', ['HP:0012759'], ['C3714756']],
  ['HP:0001263', 'Global developmental delay', ['HP:0012759'], ['C0557874']],
  ['HP:0001252', 'Hypotonia', ['HP:0000707']],
  ['HP:0000924', 'Abnormality of the skeletal system', ['HP:0000118']],
  ['HP:0000929', 'Abnormal skull morphology', ['HP:0000924']],
  ['HP:0001363', 'Craniosynostosis', ['HP:0000929'], ['C0010278']],
  ['HP:0000252', 'Microcephaly', ['HP:0000929'], ['C0025958']],
  ['HP:0040064', 'Abnormality of limbs', ['HP:0000118']],
  ['HP:0001156', 'Brachydactyly', ['HP:0040064'], ['C0221357']],
  ['HP:0011304', 'Broad thumb', ['HP:0040064']],
  ['HP:0010055', 'Broad hallux', ['HP:0040064']],
  ['HP:0001626', 'Abnormality of the cardiovascular system', ['HP:0000118']],
  ['HP:0011675', 'Arrhythmia', ['HP:0001626']],
  ['HP:0005110', 'Atrial fibrillation', ['HP:0011675'], ['C0004238']],
  ['HP:0000951', 'Abnormality of the skin', ['HP:0000118']],
  ['HP:0000957', 'Cafe-au-lait spot', ['HP:0000951'], ['C0221263']],
  ['HP:0009732', 'Plexiform neurofibroma', ['HP:0000951']],
  ['HP:0004322', 'Short stature', ['HP:0000924']],
  ['HP:0000729', 'Autistic behavior', ['HP:0000707']],
];
const iri = (id) => `http://purl.obolibrary.org/obo/${id.replace(':', '_')}`;
const hpo = {
  graphs: [{
    id: 'http://purl.obolibrary.org/obo/hp.json',
    meta: { version: 'http://purl.obolibrary.org/obo/hp/releases/2024-04-26/hp.json' },
    nodes: TERMS.map(([id, lbl, , cuis]) => ({ id: iri(id), lbl, type: 'CLASS', ...(cuis ? { meta: { xrefs: cuis.map((c) => ({ val: `UMLS:${c}` })) } } : {}) })),
    edges: TERMS.flatMap(([id, , parents]) => parents.map((p) => ({ sub: iri(id), pred: 'is_a', obj: iri(p) }))),
  }],
};
const hpoText = JSON.stringify(hpo, null, 1) + '\n';
put('hp.json', hpoText);
put('hp.json.gz', gz(hpoText));
const label = Object.fromEntries(TERMS.map(([id, l]) => [id, l]));

// ---------------------------------------------------------------- diseases and annotations
const DISEASES = {
  'OMIM:101600': { label: 'Pfeiffer syndrome', gene: ['FGFR2', 'HGNC:3689', 2263], terms: ['HP:0001156', 'HP:0001363', 'HP:0011304', 'HP:0010055'] },
  'OMIM:612164': { label: 'Developmental and epileptic encephalopathy 4', gene: ['STXBP1', 'HGNC:11444', 6813], terms: ['HP:0001250', 'HP:0012469', 'HP:0010818', 'HP:0001263', 'HP:0001249', 'HP:0001252'] },
  'OMIM:162200': { label: 'Neurofibromatosis, type 1', gene: ['NF1', 'HGNC:7765', 4763], terms: ['HP:0000957', 'HP:0009732', 'HP:0004322', 'HP:0001249'] },
  'OMIM:607208': { label: 'Developmental and epileptic encephalopathy 6B', gene: ['SCN1A', 'HGNC:10585', 6323], terms: ['HP:0002373', 'HP:0007359', 'HP:0001249', 'HP:0000729'] },
  'ORPHA:1': { label: 'Microcephaly disorder', gene: null, terms: ['HP:0000252', 'HP:0001263'] },
};
const hpoa = [
  '#description: "HPO disease annotations for the examples in README.md and docs/ (invented subset)"',
  '#version: 2024-04-26',
  'database_id\tdisease_name\tqualifier\thpo_id\treference\tevidence\tonset\tfrequency\tsex\tmodifier\taspect\tbiocuration',
  ...Object.entries(DISEASES).flatMap(([d, x]) => x.terms.map((t, i) => `${d}\t${x.label}\t\t${t}\t${d}\tTAS\t\t${i === 0 ? '' : i % 2 ? '4/5' : '50%'}\t\t\tP\tHPO:examples[2024-04-26]`)),
].join('\n') + '\n';
put('phenotype.hpoa', hpoa);
put('phenotype.hpoa.gz', gz(hpoa));
put('genes_to_phenotype.txt', [
  '#Format: entrez-gene-id<tab>entrez-gene-symbol<tab>HPO-Term-ID<tab>HPO-Term-Name<tab>Frequency-Raw<tab>Frequency-HPO<tab>Additional Info from G-D source<tab>G-D source<tab>disease-ID for link',
  ...Object.entries(DISEASES).filter(([, x]) => x.gene).flatMap(([d, x]) => x.terms.map((t) => `${x.gene[2]}\t${x.gene[0]}\t${t}\t${label[t]}\t-\t\t-\tmim2gene\t${d}`)),
].join('\n') + '\n');

// ---------------------------------------------------------------- phenopackets
const VARIANTS = {
  FGFR2: { assembly: 'GRCh37', chrom: '10', pos: 123256215, ref: 'T', alt: 'G', hgvs: 'NM_000141.5:c.1019A>C' },
  STXBP1: { assembly: 'GRCh38', chrom: '9', pos: 127675931, ref: 'C', alt: 'T', hgvs: 'NM_003165.6:c.1162C>T' },
  NF1: { assembly: 'GRCh38', chrom: '17', pos: 31229108, ref: 'C', alt: 'T', hgvs: 'NM_000267.3:c.1381C>T' },
  SCN1A: { assembly: 'GRCh38', chrom: '2', pos: 166002604, ref: 'C', alt: 'T', hgvs: 'NM_001165963.4:c.4168G>A' },
};

/** A Phenopacket v2 of an invented patient: features (a leading - marks an excluded one), a diagnosis, its causal variant. */
function phenopacket(id, { sex, age, pmid, disease, features, files }) {
  const d = DISEASES[disease];
  const gene = d.gene;
  const v = gene ? VARIANTS[gene[0]] : undefined;
  return {
    id,
    subject: { id: `${id}-subject`, sex, timeAtLastEncounter: { age: { iso8601duration: age } } },
    phenotypicFeatures: features.map((f) => (f.startsWith('-') ? { type: { id: f.slice(1), label: label[f.slice(1)] }, excluded: true } : { type: { id: f, label: label[f] } })),
    diseases: [{ term: { id: disease, label: d.label } }],
    ...(gene ? {
      interpretations: [{
        id: `${id}-interpretation`,
        progressStatus: 'SOLVED',
        diagnosis: {
          disease: { id: disease, label: d.label },
          genomicInterpretations: [{
            subjectOrBiosampleId: `${id}-subject`,
            interpretationStatus: 'CAUSATIVE',
            variantInterpretation: {
              acmgPathogenicityClassification: 'PATHOGENIC',
              variationDescriptor: {
                id: `${id}-variant`,
                geneContext: { valueId: gene[1], symbol: gene[0] },
                expressions: [{ syntax: 'hgvs.c', value: v.hgvs }],
                vcfRecord: { genomeAssembly: v.assembly, chrom: v.chrom, pos: v.pos, ref: v.ref, alt: v.alt },
                allelicState: { id: 'GENO:0000135', label: 'heterozygous' },
              },
            },
          }],
        },
      }],
    } : {}),
    ...(files ? { files } : {}),
    metaData: {
      created: '2024-05-01T00:00:00Z',
      createdBy: 'harmonia examples',
      phenopacketSchemaVersion: '2.0',
      resources: [{ id: 'hp', name: 'human phenotype ontology', url: 'http://purl.obolibrary.org/obo/hp.owl', version: '2024-04-26', namespacePrefix: 'HP', iriPrefix: 'http://purl.obolibrary.org/obo/HP_' }],
      externalReferences: [{ id: `PMID:${pmid}`, reference: `https://pubmed.ncbi.nlm.nih.gov/${pmid}`, description: 'invented publication of the examples' }],
    },
  };
}

const PFEIFFER = ['HP:0001156', 'HP:0001363', 'HP:0011304', 'HP:0010055'];
// Three patients with atrial fibrillation in three publications (and none of them a subject of records.tsv):
// `harmonia simulate-links` links the three AF ECGs of records.tsv to them.
const PATIENTS = [
  phenopacket('PMID_1_Patient_1', { sex: 'FEMALE', age: 'P4Y', pmid: 1, disease: 'OMIM:101600', features: PFEIFFER }),
  phenopacket('PMID_1_Patient_2', { sex: 'MALE', age: 'P2Y6M', pmid: 1, disease: 'OMIM:101600', features: ['HP:0001156', 'HP:0001363', 'HP:0011304', 'HP:0005110'] }),
  phenopacket('PMID_2_Patient_1', { sex: 'FEMALE', age: 'P9Y', pmid: 2, disease: 'OMIM:101600', features: ['HP:0001363', 'HP:0010055', 'HP:0004322', 'HP:0005110'] }),
  phenopacket('PMID_3_Patient_1', { sex: 'FEMALE', age: 'P5Y', pmid: 3, disease: 'OMIM:612164', features: ['HP:0010818', 'HP:0012469', 'HP:0001263', '-HP:0001249'] }),
  phenopacket('PMID_3_Patient_2', { sex: 'FEMALE', age: 'P12Y', pmid: 3, disease: 'OMIM:612164', features: ['HP:0007359', 'HP:0001249', 'HP:0001252'] }),
  phenopacket('PMID_4_Patient_1', { sex: 'MALE', age: 'P1Y', pmid: 4, disease: 'OMIM:612164', features: ['HP:0011097', 'HP:0001263', 'HP:0001252'] }),
  // The id docs/retrieval.md and docs/neo4j.md use for "one patient of the store".
  phenopacket('PMID_23086397_Patient_4', { sex: 'FEMALE', age: 'P10Y', pmid: 23086397, disease: 'OMIM:612164', features: ['HP:0001250', 'HP:0001249', 'HP:0001263'] }),
  phenopacket('PMID_5_Patient_1', { sex: 'FEMALE', age: 'P15Y', pmid: 5, disease: 'OMIM:162200', features: ['HP:0000957', 'HP:0009732'] }),
  phenopacket('PMID_6_Patient_1', { sex: 'MALE', age: 'P8Y', pmid: 6, disease: 'OMIM:162200', features: ['HP:0000957', 'HP:0001249', 'HP:0004322'] }),
  phenopacket('PMID_7_Patient_1', { sex: 'FEMALE', age: 'P3Y', pmid: 7, disease: 'OMIM:607208', features: ['HP:0002373', 'HP:0007359', '-HP:0001263'] }),
  phenopacket('PMID_8_Patient_1', { sex: 'MALE', age: 'P6Y', pmid: 8, disease: 'OMIM:607208', features: ['HP:0002373', 'HP:0001249', 'HP:0000729'] }),
];
const json = (x) => JSON.stringify(x, null, 1) + '\n';

/** A zip of the given entries, deflated, with fixed timestamps (APPNOTE 4.3: local headers, central directory, end record). */
function zip(entries) {
  const locals = [];
  const central = [];
  let offset = 0;
  for (const [name, text] of entries) {
    const data = Buffer.from(text);
    const packed = deflateRawSync(data, { level: 9 });
    const n = Buffer.from(name);
    const crc = crc32(data);
    const head = Buffer.alloc(30);
    head.writeUInt32LE(0x04034b50, 0);
    head.writeUInt16LE(20, 4);
    head.writeUInt16LE(8, 8); // deflate
    head.writeUInt16LE(0x6000, 10); // 12:00
    head.writeUInt16LE(0x58a1, 12); // 2024-05-01
    head.writeUInt32LE(crc, 14);
    head.writeUInt32LE(packed.length, 18);
    head.writeUInt32LE(data.length, 22);
    head.writeUInt16LE(n.length, 26);
    locals.push(head, n, packed);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(20, 4);
    dir.writeUInt16LE(20, 6);
    head.copy(dir, 8, 6, 30); // flags, method, time, date, crc, sizes, name length
    dir.writeUInt32LE(offset, 42);
    central.push(dir, n);
    offset += 30 + n.length + packed.length;
  }
  const size = central.reduce((s, b) => s + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(size, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...central, end]);
}

// README.md: `ingest ... phenopackets.zip more/ cohort.jsonl`; cohorts as in phenopacket-store (<cohort>/<id>.json).
const cohortOf = (p) => DISEASES[p.diseases[0].term.id].gene?.[0] ?? 'other';
put('phenopackets.zip', zip(PATIENTS.map((p) => [`${cohortOf(p)}/${p.id}.json`, json(p)])));
put('more/PMID_9_Patient_1.json', json(phenopacket('PMID_9_Patient_1', { sex: 'MALE', age: 'P7Y', pmid: 9, disease: 'OMIM:101600', features: ['HP:0001156', 'HP:0011304', 'HP:0010055', 'HP:0005110'] })));
put('more/PMID_9_Patient_2.json', json(phenopacket('PMID_9_Patient_2', { sex: 'FEMALE', age: 'P3Y', pmid: 9, disease: 'ORPHA:1', features: ['HP:0000252', 'HP:0001263'] })));
// docs/retrieval.md's queries: new patients (not in the store) and one phenopacket with its causal gene.
put('new-patients.zip', zip([
  ['PMID_20_Patient_1.json', json(phenopacket('PMID_20_Patient_1', { sex: 'MALE', age: 'P1Y6M', pmid: 20, disease: 'OMIM:101600', features: ['HP:0001363', 'HP:0011304', 'HP:0010055'] }))],
  ['PMID_20_Patient_2.json', json(phenopacket('PMID_20_Patient_2', { sex: 'FEMALE', age: 'P9Y', pmid: 20, disease: 'OMIM:162200', features: ['HP:0000957', 'HP:0004322', '-HP:0001249'] }))],
]));
put('patient.json', json(phenopacket('PMID_21_Patient_1', { sex: 'FEMALE', age: 'P3Y', pmid: 21, disease: 'OMIM:101600', features: ['HP:0001156', 'HP:0001363', 'HP:0011304'] })));
// A site's own export, one phenopacket a line, with short ids (P1 is the patient of README's knn query).
put('cohort.jsonl', [
  phenopacket('P1', { sex: 'FEMALE', age: 'P6Y', pmid: 10, disease: 'OMIM:612164', features: ['HP:0001250', 'HP:0001263', '-HP:0002373'] }),
  phenopacket('P2', { sex: 'MALE', age: 'P11Y', pmid: 10, disease: 'OMIM:162200', features: ['HP:0000957', 'HP:0004322'] }),
  phenopacket('P3', { sex: 'FEMALE', age: 'P2Y', pmid: 10, disease: 'OMIM:607208', features: ['HP:0002373', 'HP:0007359'] }),
].map((p) => JSON.stringify(p)).join('\n') + '\n');
// docs/ingest.md: `ingest --hpo hp.json.gz phenopackets/ cohort.zip more.jsonl`; docs/harmonization.md:
// `ingest phenopackets/`, whose `files` entries that exist become records (one here, one elsewhere).
put('phenopackets/PMID_11_Patient_1.json', json(phenopacket('PMID_11_Patient_1', {
  sex: 'FEMALE', age: 'P40Y', pmid: 11, disease: 'OMIM:162200', features: ['HP:0000957', 'HP:0009732'],
  files: [
    { uri: '../records/ecg/ecg-07.hea', fileAttributes: { modality: 'ecg' } },
    { uri: 'file:///data/not-here/PMID_11_Patient_1_T1w.nii.gz', fileAttributes: { modality: 'mri' } },
  ],
})));
put('phenopackets/PMID_11_Patient_2.json', json(phenopacket('PMID_11_Patient_2', { sex: 'MALE', age: 'P33Y', pmid: 11, disease: 'OMIM:162200', features: ['HP:0000957', 'HP:0004322'] })));
put('cohort.zip', zip([
  ['stxbp1/PMID_12_Patient_1.json', json(phenopacket('PMID_12_Patient_1', { sex: 'FEMALE', age: 'P2Y', pmid: 12, disease: 'OMIM:612164', features: ['HP:0012469', 'HP:0001252'] }))],
  ['scn1a/PMID_12_Patient_2.json', json(phenopacket('PMID_12_Patient_2', { sex: 'MALE', age: 'P4Y', pmid: 12, disease: 'OMIM:607208', features: ['HP:0002373', 'HP:0000729'] }))],
]));
// The second line has no subject: it is rejected and kept in the quarantine (docs/ingest.md).
const broken = phenopacket('PMID_13_Patient_2', { sex: 'MALE', age: 'P1Y', pmid: 13, disease: 'ORPHA:1', features: ['HP:0000252'] });
delete broken.subject;
put('more.jsonl', [
  JSON.stringify(phenopacket('PMID_13_Patient_1', { sex: 'FEMALE', age: 'P5Y', pmid: 13, disease: 'OMIM:101600', features: ['HP:0001363', 'HP:0001156'] })),
  JSON.stringify(broken),
].join('\n') + '\n');

// ---------------------------------------------------------------- cohort definitions (docs/cohorts.md)
put('stxbp1.yaml', `# Women with a non-febrile seizure and STXBP1, without intellectual disability (docs/cohorts.md)
name: stxbp1
description: Women with a non-febrile seizure, STXBP1, without intellectual disability
conceptSets:
  - id: seizure
    items:
      - { concept: HP:0001250, includeDescendants: true }
      - { concept: HP:0002373, includeDescendants: true, isExcluded: true }
criteria:
  all:
    - phenotype: { conceptSet: seizure, status: observed }
    - gene: { symbol: STXBP1 }
    - sex: FEMALE
    - none:
        - phenotype: { concept: HP:0001249, status: observed }
`);
put('nf1.yaml', `# Patients with NF1 (docs/cohorts.md: the comparison cohort of --characterise --compare)
name: nf1
criteria:
  gene: { symbol: NF1 }
`);
put('seizure.yaml', `# Patients with an observed seizure of any kind (docs/federation.md: evaluated at every site)
name: seizure
criteria:
  phenotype: { concept: HP:0001250, status: observed }
`);
put('my-cohort.yaml', `# A cohort of README.md: a seizure or developmental delay, aged 1 to 18
name: my-cohort
criteria:
  all:
    - any:
        - phenotype: { concept: HP:0001250, status: observed }
        - phenotype: { concept: HP:0001263, status: observed }
    - age: { min: 1, max: 18 }
`);

// ---------------------------------------------------------------- records of other modalities
/** A WFDB record (format 16, one ECG lead, 250 Hz, 12 s): P-QRS-T beats, regular, or irregular without P waves (atrial fibrillation). */
function wfdbEcg(name, seed, af) {
  const r = rng(seed);
  const fs = 250;
  const n = fs * 12;
  const x = new Float64Array(n);
  const wave = (t0, amp, width) => {
    for (let i = Math.max(0, Math.floor((t0 - 4 * width) * fs)); i < Math.min(n, Math.ceil((t0 + 4 * width) * fs)); i++) x[i] += amp * Math.exp(-(((i / fs - t0) / width) ** 2) / 2);
  };
  for (let t = 0.3; t < 12; t += af ? 0.45 + 0.5 * r.next() : 0.8 + 0.04 * r.normal()) {
    if (!af) wave(t - 0.16, 0.12, 0.02);
    wave(t - 0.025, -0.1, 0.008);
    wave(t, 1.1, 0.01);
    wave(t + 0.025, -0.2, 0.008);
    wave(t + 0.25, 0.3, 0.04);
  }
  const digital = Int16Array.from(x, (v, i) => Math.round((v + 0.02 * r.normal() + (af ? 0.03 * Math.sin(i * 0.9) : 0)) * 200));
  const checksum = digital.reduce((s, v) => (s + v) & 0xffff, 0);
  const signed = checksum > 32767 ? checksum - 65536 : checksum;
  put(`records/ecg/${name}.dat`, Buffer.from(digital.buffer));
  put(`records/ecg/${name}.hea`, `${name} 1 ${fs} ${n}\n${name}.dat 16 200/mV 16 0 ${digital[0]} ${signed} 0 II\n`);
}

/** EDF (plain, not EDF+): channels of EEG at 128 Hz in 1 s data records; alpha rhythm, or 3 Hz spike-and-wave for a seizure. */
function edfEeg(seed, seconds, labels, seizure) {
  const r = rng(seed);
  const fs = 128;
  const pad = (s, n) => String(s).slice(0, n).padEnd(n, ' ');
  const ns = labels.length;
  const head = Buffer.alloc(256 * (ns + 1), ' ');
  head.write(pad('0', 8), 0, 'latin1');
  head.write(pad('X X X X', 80), 8, 'latin1');
  head.write(pad('Startdate 01-MAY-2024 X X harmonia-examples', 80), 88, 'latin1');
  head.write('01.05.24', 168, 'latin1');
  head.write('10.00.00', 176, 'latin1');
  head.write(pad(256 * (ns + 1), 8), 184, 'latin1');
  head.write(pad(seconds, 8), 236, 'latin1');
  head.write(pad(1, 8), 244, 'latin1');
  head.write(pad(ns, 4), 252, 'latin1');
  const fields = [[16, (l) => l], [80, () => 'AgAgCl electrode'], [8, () => 'uV'], [8, () => -500], [8, () => 500], [8, () => -32768], [8, () => 32767], [80, () => 'HP:0.1Hz LP:70Hz'], [8, () => fs], [32, () => '']];
  let at = 256;
  for (const [w, f] of fields) for (const l of labels) {
    head.write(pad(f(l), w), at, 'latin1');
    at += w;
  }
  const scale = 65535 / 1000;
  const records = [];
  for (let s = 0; s < seconds; s++) {
    const rec = Buffer.alloc(ns * fs * 2);
    for (let c = 0; c < ns; c++) for (let i = 0; i < fs; i++) {
      const t = s + i / fs;
      const uv = seizure
        ? 150 * Math.sin(2 * Math.PI * 3 * t) + 120 * Math.exp(-((((t * 3) % 1) - 0.1) ** 2) / 0.002) + 10 * r.normal()
        : 25 * Math.sin(2 * Math.PI * 10 * t + c) + 8 * Math.sin(2 * Math.PI * 4.5 * t) + 6 * r.normal();
      rec.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round((uv + 500) * scale - 32768))), 2 * (c * fs + i));
    }
    records.push(rec);
  }
  return Buffer.concat([head, ...records]);
}

/** NIfTI-1 (.nii.gz), int16, 1 mm voxels, RAS sform: a bright ellipsoid ("brain") in a dark field. */
function niftiVolume(seed, [nx, ny, nz], radii) {
  const r = rng(seed);
  const h = Buffer.alloc(352);
  h.writeInt32LE(348, 0);
  [3, nx, ny, nz, 1, 1, 1, 1].forEach((d, i) => h.writeInt16LE(d, 40 + 2 * i));
  h.writeInt16LE(4, 70); // int16
  h.writeInt16LE(16, 72);
  [1, 1, 1, 1, 0, 0, 0, 0].forEach((p, i) => h.writeFloatLE(p, 76 + 4 * i));
  h.writeFloatLE(352, 108);
  h.writeFloatLE(1, 112);
  h[123] = 2 | 8; // mm, s
  h.writeInt16LE(1, 252);
  h.writeInt16LE(1, 254);
  h.writeFloatLE(1, 256 + 12); // quatern_d = 0, b = c = 0: identity rotation
  [[1, 0, 0, -nx / 2], [0, 1, 0, -ny / 2], [0, 0, 1, -nz / 2]].forEach((row, k) => row.forEach((v, i) => h.writeFloatLE(v, 280 + 16 * k + 4 * i)));
  h.write('n+1\0', 344, 'latin1');
  const data = Buffer.alloc(nx * ny * nz * 2);
  let o = 0;
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
    const d = ((x - nx / 2) / radii[0]) ** 2 + ((y - ny / 2) / radii[1]) ** 2 + ((z - nz / 2) / radii[2]) ** 2;
    data.writeInt16LE(Math.round((d < 1 ? 600 + 200 * Math.cos(3 * d) : 20) + 6 * r.normal()), 2 * o++);
  }
  return gz(Buffer.concat([h, data]));
}

const ECGS = [
  ['ecg-01', 'PMID_3_Patient_1', 'site-A', false], ['ecg-02', 'PMID_3_Patient_2', 'site-A', true], ['ecg-03', 'PMID_4_Patient_1', 'site-A', false],
  ['ecg-04', 'PMID_7_Patient_1', 'site-B', true], ['ecg-05', 'PMID_8_Patient_1', 'site-B', false], ['ecg-06', 'P3', 'site-B', true],
  ['ecg-07', 'PMID_11_Patient_1', 'site-B', false],
];
ECGS.forEach(([name, , , af], i) => wfdbEcg(name, 100 + i, af));
put('records/eeg/eeg-01.edf', edfEeg(201, 30, ['Fz', 'Cz'], false));
put('records/eeg/eeg-02.edf', edfEeg(202, 30, ['Fz', 'Cz'], true));
put('records/mri/mri-01.nii.gz', niftiVolume(301, [32, 36, 32], [11, 14, 10]));
put('records/mri/mri-02.nii.gz', niftiVolume(302, [32, 36, 32], [12, 13, 11]));
put('records/oct/oct-01.nii.gz', readFileSync(join(ROOT, 'test', 'fixtures', 'imaging', 'oct-small.nii.gz')));
put('records/tumour.maf', readFileSync(join(ROOT, 'test', 'fixtures', 'genomic', 'mini.maf')));

// An exome-like VCF (GRCh37, one sample): Pfeiffer syndrome's causal FGFR2 variant among common and low-quality calls.
const vcf = [
  '##fileformat=VCFv4.2',
  '##reference=GRCh37',
  '##contig=<ID=2,length=243199373>', '##contig=<ID=9,length=141213431>', '##contig=<ID=10,length=135534747>', '##contig=<ID=17,length=81195210>',
  '##INFO=<ID=DP,Number=1,Type=Integer,Description="Combined depth">',
  '##INFO=<ID=gnomAD_AF,Number=A,Type=Float,Description="gnomAD allele frequency">',
  '##FILTER=<ID=PASS,Description="All filters passed">',
  '##FILTER=<ID=LowQual,Description="Low quality">',
  '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
  '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">',
  '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">',
  '#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tPATIENT-1',
  '2\t166848646\t.\tG\tA\t80\tPASS\tDP=40;gnomAD_AF=0.21\tGT:DP:GQ\t0/1:40:99',
  '9\t130430500\t.\tA\tG\t75\tPASS\tDP=35;gnomAD_AF=0.35\tGT:DP:GQ\t1/1:35:99',
  '10\t123256215\t.\tT\tG\t90\tPASS\tDP=52\tGT:DP:GQ\t0/1:52:99',
  '10\t123279677\t.\tC\tT\t12\tLowQual\tDP=6\tGT:DP:GQ\t0/1:6:15',
  '17\t29560000\t.\tG\tT\t66\tPASS\tDP=31;gnomAD_AF=0.0002\tGT:DP:GQ\t0/1:31:90',
].join('\n') + '\n';
put('exome.vcf.gz', gz(vcf));

// The reference files the default genomic harmonisation names, under the data directory's layout
// (the test points HARMONIA_DATA at its scratch copy): gene coordinates and a ClinVar extract.
put('genomics/genes/crt_genes_GRCh37.bed', [
  '2\t166845670\t166984524\tENSG00000144285\tSCN1A', '9\t130374485\t130454995\tENSG00000136854\tSTXBP1',
  '10\t123237843\t123357972\tENSG00000066468\tFGFR2', '13\t28577410\t28674729\tENSG00000122025\tFLT3',
  '2\t25455844\t25565459\tENSG00000119772\tDNMT3A', '5\t170814707\t170838141\tENSG00000181163\tNPM1',
  '17\t29421944\t29709134\tENSG00000196712\tNF1',
].join('\n') + '\n');
put('genomics/genes/mendelics_genes_GRCh38.bed', [
  'chr2\t166002600\t166128013\tENSG00000144285\tSCN1A', 'chr9\t127587000\t127696000\tENSG00000136854\tSTXBP1',
  'chr10\t121478330\t121598458\tENSG00000066468\tFGFR2', 'chr17\t31094927\t31382116\tENSG00000196712\tNF1',
].join('\n') + '\n');
put('genomics/exomiser/clinvar-test.vcf.gz', gz([
  '##fileformat=VCFv4.1', '##source=ClinVar', '##reference=GRCh37',
  '##INFO=<ID=CLNSIG,Number=.,Type=String,Description="Clinical significance">',
  '##INFO=<ID=GENEINFO,Number=1,Type=String,Description="Gene(s)">',
  '#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO',
  '2\t166848646\t1001\tG\tA\t.\t.\tCLNSIG=Benign;GENEINFO=SCN1A:6323',
  '10\t123256215\t1002\tT\tG\t.\t.\tCLNSIG=Pathogenic;GENEINFO=FGFR2:2263',
].join('\n') + '\n'));

// Expression: 40 genes x 12 samples in 3 processing batches (additive and multiplicative batch effects), cancer vs normal.
const exprSamples = Array.from({ length: 12 }, (_, i) => ({ id: `S${String(i + 1).padStart(2, '0')}`, batch: `b${(i % 3) + 1}`, cancer: i % 2 ? 'Cancer' : 'Normal' }));
{
  const r = rng(401);
  const rows = ['gene\t' + exprSamples.map((s) => s.id).join('\t')];
  for (let g = 0; g < 40; g++) {
    const base = 6 + 4 * r.next();
    rows.push(`GENE${g + 1}\t` + exprSamples.map((s, i) => {
      const b = i % 3;
      return (base + (s.cancer === 'Cancer' && g < 8 ? 1.5 : 0) + [0, 0.8, -0.5][b] + [0.3, 0.6, 0.4][b] * r.normal()).toFixed(3);
    }).join('\t'));
  }
  put('expr.tsv.gz', gz(rows.join('\n') + '\n'));
  put('samples.tsv', ['sample\tbatch\tcancer', ...exprSamples.map((s) => `${s.id}\t${s.batch}\t${s.cancer}`)].join('\n') + '\n');
}

// records.tsv: one row per record (README.md, docs/harmonization.md); paths relative to this file.
put('records.tsv', [
  'patient\tmodality\tpath\tsite\tlabel\tsample',
  ...ECGS.slice(0, 6).map(([name, patient, site, af]) => `${patient}\tecg\trecords/ecg/${name}.hea\t${site}\t${af ? 'HP:0005110' : ''}\t`),
  'PMID_3_Patient_1\teeg\trecords/eeg/eeg-02.edf\tsite-A\tHP:0001250\t',
  'PMID_7_Patient_1\teeg\trecords/eeg/eeg-01.edf\tsite-B\t\t',
  'PMID_5_Patient_1\tmri\trecords/mri/mri-01.nii.gz\tsite-A\t\t',
  'PMID_6_Patient_1\tmri\trecords/mri/mri-02.nii.gz\tsite-B\t\t',
  'PMID_6_Patient_1\toct\trecords/oct/oct-01.nii.gz\tsite-B\t\t',
  'PMID_1_Patient_1\tvcf\texome.vcf.gz\tsite-A\t\tPATIENT-1',
  'TCGA-AB-0001\tmaf\trecords/tumour.maf\tsite-C\t\tTCGA-AB-0001',
  'P2\texpression\texpr.tsv.gz\tsite-A\t\tS01',
  'P3\texpression\texpr.tsv.gz\tsite-B\t\tS02',
].join('\n') + '\n');

// A BIDS dataset (docs/harmonization.md): one subject, a T1w volume and a resting EEG, with sidecars.
put('my-bids-dataset/dataset_description.json', json({ Name: 'Harmonia example dataset', BIDSVersion: '1.9.0', DatasetType: 'raw' }));
put('my-bids-dataset/participants.tsv', 'participant_id\tsex\tage\tsite\nsub-01\tF\t34\tsite-C\n');
put('my-bids-dataset/sub-01/anat/sub-01_T1w.nii.gz', niftiVolume(501, [32, 36, 32], [11, 14, 9]));
put('my-bids-dataset/sub-01/anat/sub-01_T1w.json', json({ MagneticFieldStrength: 3, RepetitionTime: 2.3, EchoTime: 0.00298, FlipAngle: 9, Manufacturer: 'Example' }));
put('my-bids-dataset/sub-01/eeg/sub-01_task-rest_eeg.edf', edfEeg(502, 30, ['Fz', 'Cz', 'Pz'], false));
put('my-bids-dataset/sub-01/eeg/sub-01_task-rest_eeg.json', json({ TaskName: 'rest', SamplingFrequency: 128, PowerLineFrequency: 50, EEGReference: 'Cz', SoftwareFilters: 'n/a' }));

// A second site's export for docs/mappings.md (`--source clinical=exports/site2.csv`): the columns of mappings/examples/clinical.csv.
put('exports/site2.csv', [
  'patient_id,sex,age_years,phenotype_code,status,site',
  'L101,F,7,SZ01,present,Lille', 'L101,F,7,ID02,absent,Lille', 'L102,M,15,MIC,present,Lille', 'L103,U,3,HYP01,present,Lille',
].join('\n') + '\n');

// The small training configuration of docs/ui.md, which the docs test trains with instead of README's
// `--preset quick` (7 minutes on this store): the same encoders, small, 3 epochs of 20 steps.
put('tiny.yml', ['name: tiny', 'dim: 32', 'phenotype: { batch: 16, maxTerms: 8, attention: 16 }', 'signals:',
  '  ecg: { downsample: 5, patch: 10, dModel: 32, layers: 1, heads: 2, mlp: 64, batch: 8 }', '  eeg: null', 'imaging: null',
  'epochs: 3', 'stepsPerEpoch: 20', 'patience: 3', 'termPairs: 16', 'negatives: 8', 'learningRate: 0.003',
  'split: { validation: 0.25, test: 0.25 }'].join('\n') + '\n');
