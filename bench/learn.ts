import * as tf from '@tensorflow/tfjs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BACKENDS, chooseBackend } from '../src/learn/backend.js';
import { mergeConfig, type LearnConfig } from '../src/learn/config.js';
import type { Dataset, RecordData } from '../src/learn/data.js';
import { geneVocabulary, variantToken } from '../src/learn/genotype.js';
import { Model } from '../src/learn/model.js';
import { batchLosses, totalLoss } from '../src/learn/objective.js';
import { Rng } from '../src/learn/random.js';
import { Sampler } from '../src/learn/sampler.js';
import { buildVocabulary } from '../src/learn/vocabulary.js';
import { peakRssMiB, round } from './util.js';

// Training steps per second of the --preset quick encoder shapes on every backend available here,
// each beside the same step on the cpu backend (the anchor) in the same run. Inputs are synthetic
// (random signals, random phenotype sets over an 18,000-term vocabulary): speed does not depend on them.

interface Row {
  measure: string;
  value: string;
  anchor: string;
  ratio: string;
}

function ecgData(n: number, rng: Rng): Dataset {
  const records: RecordData[] = Array.from({ length: n }, (_, i) => ({
    iri: `urn:r${i}`, id: `P${i}/ecg`, patient: `P${i}`, modality: 'ecg', finding: i % 2 ? 'HP:0005110' : undefined,
    sequences: [rng.normals(2500), rng.normals(2500)],
  }));
  return { patients: records.map((r, i) => ({ id: r.patient, iri: `urn:p${i}`, group: r.patient, observed: [], excluded: [], records: [i] })), records, skipped: [] };
}

/** Imaging records: one random volume each at the encoder's input shape. */
function volumeData(n: number, voxels: number, rng: Rng): Dataset {
  const records: RecordData[] = Array.from({ length: n }, (_, i) => ({
    iri: `urn:v${i}`, id: `P${i}/mri`, patient: `P${i}`, modality: 'mri', finding: i % 2 ? 'HP:0008221' : undefined, sequences: [rng.normals(voxels)],
  }));
  return { patients: records.map((r, i) => ({ id: r.patient, iri: `urn:p${i}`, group: r.patient, observed: [], excluded: [], records: [i] })), records, skipped: [] };
}

function phenotypeData(n: number, terms: string[], rng: Rng): Dataset {
  return {
    patients: Array.from({ length: n }, (_, i) => ({ id: `P${i}`, iri: `urn:p${i}`, group: `P${i}`, observed: Array.from({ length: 32 }, () => terms[rng.int(terms.length)]), excluded: [], records: [] })),
    records: [],
    skipped: [],
  };
}

/** Phenotyped patients who also carry 16 variants of 5,000 genes (random pathogenicity and zygosity). */
function genotypeData(n: number, terms: string[], rng: Rng): Dataset {
  const d = phenotypeData(n, terms, rng);
  const classes = ['PATHOGENIC', 'LIKELY_PATHOGENIC', 'UNCERTAIN_SIGNIFICANCE'];
  for (const p of d.patients) {
    p.variants = Array.from({ length: 16 }, () => variantToken({ gene: `G${rng.int(GENES)}`, acmgClass: classes[rng.int(3)], genotype: rng.next() < 0.5 ? '0/1' : '1/1' })!);
  }
  return d;
}

const GENES = 5_000;

/** Seconds per training step: 2 warm-up steps, then `timed` steps. */
function stepTime(config: LearnConfig, data: Dataset, vocabIds: string[], timed: number): number {
  const withGenes = data.patients.some((p) => p.variants?.length);
  const genes = withGenes ? geneVocabulary(Array.from({ length: GENES }, (_, i) => `G${i}`)) : undefined;
  const model = new Model(config, buildVocabulary(undefined, vocabIds), 1, genes);
  const sampler = new Sampler(model, data, () => true);
  const rng = new Rng(2);
  const opt = tf.train.adam(config.learningRate);
  const vars = model.trainable();
  const step = () => {
    const batch = sampler.next(rng);
    const { value, grads } = tf.variableGrads(() => totalLoss(model, batchLosses(model, batch)), vars);
    opt.applyGradients(vars.map((v) => ({ name: v.name, tensor: grads[v.name] ?? tf.zerosLike(v) })));
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };
  step();
  step();
  const t0 = performance.now();
  for (let i = 0; i < timed; i++) step();
  const s = (performance.now() - t0) / 1000 / timed;
  model.dispose();
  opt.dispose();
  return s;
}

export async function benchLearn(): Promise<{ title: string; rows: Row[]; peakRssMiB: number; notes: string[] }> {
  const rng = new Rng(1);
  const terms = Array.from({ length: 18_000 }, (_, i) => `HP:${String(i).padStart(7, '0')}`);
  const quickEcg = mergeConfig({ preset: 'quick', signals: { ecg: {}, eeg: null }, imaging: {}, losses: { crossModal: 0, alignment: 1, ontology: 0 } });
  const quickEeg = mergeConfig({ preset: 'quick', signals: { ecg: null, eeg: {} }, imaging: {}, losses: { crossModal: 0, alignment: 1, ontology: 0 } });
  const quickMri = mergeConfig({ preset: 'quick', signals: {}, imaging: { mri: {} }, losses: { crossModal: 0, alignment: 1, ontology: 0 } });
  const quickPheno = mergeConfig({ preset: 'quick', signals: {}, imaging: {}, losses: { views: 0, crossModal: 0, reconstruction: 0 } });
  const quickGeno = mergeConfig({ preset: 'quick', signals: {}, imaging: {}, losses: { views: 0, reconstruction: 0 } });
  const shapes: { name: string; config: LearnConfig; data: Dataset; vocab: string[] }[] = [
    { name: 'ECG encoder, batch 32 x 2 views of 2,500 samples, 50 patches, 2 layers x 4 heads, d 64, masked reconstruction', config: quickEcg, data: ecgData(128, rng), vocab: ['HP:0005110'] },
    { name: 'EEG encoder, batch 32 x 2 views of 512 samples, 32 patches, 2 layers x 4 heads, d 64, masked reconstruction', config: quickEeg, data: { ...ecgData(0, rng), records: ecgData(128, rng).records.map((r) => ({ ...r, modality: 'eeg' as const, sequences: [rng.normals(512), rng.normals(512)] })) }, vocab: ['HP:0005110'] },
    { name: 'MRI encoder, batch 16 x 2 views of 32^3 voxels, 64 patches of 8^3, 2 layers x 4 heads, d 64, 40% of the second view masked + reconstruction', config: quickMri, data: volumeData(64, 32 ** 3, rng), vocab: ['HP:0008221'] },
    { name: 'phenotype encoder, 18,000 x 128 term table, batch 128 x 32 terms, alignment + ontology losses', config: quickPheno, data: phenotypeData(1000, terms, rng), vocab: terms },
    { name: 'phenotype + genomic encoders: the above plus 64 genotypes x 16 variant tokens over 5,000 genes, 1 layer x 4 heads, d 64; cross-modal, alignment, ontology and masked-variant losses', config: quickGeno, data: genotypeData(1000, terms, rng), vocab: terms },
  ];
  // The EEG shape's patients must point at its records.
  shapes[1].data.patients = shapes[1].data.records.map((r, i) => ({ id: r.patient, iri: `urn:p${i}`, group: r.patient, observed: [], excluded: [], records: [i] }));
  const rows: Row[] = [];
  const notes: string[] = [];
  const quiet = (l: string) => notes.push(l.replace(/^learn: /, ''));
  const times = new Map<string, Map<string, number>>();
  const order = [...BACKENDS].reverse(); // cpu first: the anchor
  for (const backend of order) {
    try {
      await chooseBackend(backend, quiet);
    } catch (e) {
      notes.push((e as Error).message);
      continue;
    }
    const before = peakRssMiB();
    for (const s of shapes) {
      const t = stepTime(s.config, s.data, s.vocab, backend === 'cpu' ? 2 : 8);
      if (!times.has(s.name)) times.set(s.name, new Map());
      times.get(s.name)!.set(backend, t);
    }
    notes.push(`${backend}: process peak RSS ${peakRssMiB()} MiB after its runs (${before} MiB before)`);
  }
  for (const s of shapes) {
    const t = times.get(s.name)!;
    const cpu = t.get('cpu');
    for (const [backend, sec] of t) {
      rows.push({
        measure: `${s.name} (${backend})`,
        value: `${round(sec * 1000, 0)} ms/step (${round(1 / sec, 2)} steps/s)`,
        anchor: cpu !== undefined ? `cpu ${round(cpu * 1000, 0)} ms/step` : '-',
        ratio: cpu !== undefined ? `${round(cpu / sec, 2)}x faster` : '-',
      });
    }
  }
  notes.push('wasm runs single-threaded in Node (no multithreading support reported); node and node-gpu appear only where @tensorflow/tfjs-node(-gpu) and libtensorflow are installed.');
  return { title: 'Learning: training steps per backend (quick preset shapes)', rows, peakRssMiB: peakRssMiB(), notes };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  benchLearn()
    .then((r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'))
    .catch((e: Error) => {
      process.stderr.write(`bench/learn: ${e.message}\n`);
      process.exit(1);
    });
}
