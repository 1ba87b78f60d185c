import * as tf from '@tensorflow/tfjs';
import {
  batchLosses, buildVocabulary, chooseBackend, embedPatients, geneProfiles, mapUmlsTerms, mergeConfig, Model, Rng, Sampler, totalLoss,
  type Dataset, type LearnConfig, type PatientData,
} from '../../../src/learn/index.js';
import {
  consequenceOf, geneToken, geneVocabulary, haplotypeOf, maskingUnits, maskTokens, pathogenicityOf, selectTokens, variantToken, zygosityOf,
  type VariantToken,
} from '../../../src/learn/genotype.js';
import { genotypeBatch } from '../../../src/learn/encode.js';
import { loadOntology } from '../../../src/ontology/index.js';
import { miniHpo } from '../../helpers/paths.js';

const quiet = () => undefined;
const ontology = loadOntology(miniHpo);
const vocab = buildVocabulary(ontology, []);

const tiny = (extra: Record<string, unknown> = {}): LearnConfig =>
  mergeConfig({
    name: 'unit-genotype', dim: 16, phenotype: { batch: 8, maxTerms: 4, attention: 8 }, signals: {}, imaging: null,
    genotype: { maxVariants: 6, dModel: 16, layers: 1, heads: 2, mlp: 16, batch: 8 },
    termPairs: 8, negatives: 2, learningRate: 0.02, ...extra,
  });

const v = (gene: string, extra: Partial<VariantToken> = {}): VariantToken => ({ ...geneToken(gene), pathogenicity: 'pathogenic', zygosity: 'heterozygous', consequence: 'missense', ...extra });

/** Toy patients: a gene per "disease", each disease its own terms; some patients carry a second, incidental gene. */
function toyGenotypes(n = 24): Dataset {
  const diseases = [
    { gene: 'FGFR2', terms: ['HP:0002373', 'HP:0001249'] },
    { gene: 'SCN1A', terms: ['HP:0011097'] },
    { gene: 'NF1', terms: ['HP:0000252'] },
  ];
  const patients: PatientData[] = Array.from({ length: n }, (_, i) => {
    const d = diseases[i % 3];
    const variants = [v(d.gene), ...(i % 4 === 0 ? [v('TTN', { pathogenicity: 'uncertain' })] : [])];
    return { id: `P${i}`, iri: `urn:p${i}`, group: `P${i}`, observed: d.terms, excluded: [], records: [], variants };
  });
  return { patients, records: [], skipped: [] };
}

beforeAll(async () => {
  await chooseBackend('cpu', quiet);
});

describe('variant tokens', () => {
  test('pathogenicity from ACMG classes and ClinVar significances on one scale', () => {
    expect(pathogenicityOf('PATHOGENIC')).toBe('pathogenic');
    expect(pathogenicityOf('LIKELY_PATHOGENIC')).toBe('likely_pathogenic');
    expect(pathogenicityOf(undefined, 'Pathogenic/Likely_pathogenic')).toBe('likely_pathogenic');
    expect(pathogenicityOf(undefined, 'Conflicting_interpretations_of_pathogenicity')).toBe('uncertain');
    expect(pathogenicityOf(undefined, 'Likely_benign')).toBe('likely_benign');
    expect(pathogenicityOf('UNCERTAIN_SIGNIFICANCE')).toBe('uncertain');
    expect(pathogenicityOf()).toBe('unknown');
  });

  test('zygosity from the stated value, a GENO allelic state, or the genotype', () => {
    expect(zygosityOf(undefined, 'http://purl.obolibrary.org/obo/GENO_0000136')).toBe('homozygous');
    expect(zygosityOf(undefined, 'GENO:0000402')).toBe('heterozygous');
    expect(zygosityOf(undefined, undefined, '0/1')).toBe('heterozygous');
    expect(zygosityOf(undefined, undefined, '1|1')).toBe('homozygous');
    expect(zygosityOf(undefined, undefined, '1')).toBe('hemizygous');
    expect(zygosityOf('hemizygous', 'GENO:0000135')).toBe('hemizygous');
    expect(zygosityOf()).toBe('unknown');
  });

  test('consequence from MAF or SO terms, else read off HGVS', () => {
    expect(consequenceOf('Missense_Mutation')).toBe('missense');
    expect(consequenceOf('Frame_Shift_Del')).toBe('frameshift');
    expect(consequenceOf('stop_gained')).toBe('nonsense');
    expect(consequenceOf(undefined, 'NP_000132.3:p.(Cys342Tyr)')).toBe('missense');
    expect(consequenceOf(undefined, 'NP_000132.3:p.Arg203Ter')).toBe('nonsense');
    expect(consequenceOf(undefined, 'NP_000132.3:p.Gln56ProfsTer12')).toBe('frameshift');
    expect(consequenceOf(undefined, 'NP_000132.3:p.Leu20=')).toBe('synonymous');
    expect(consequenceOf(undefined, undefined, 'NM_000141.5:c.940-2A>G')).toBe('splice');
    expect(consequenceOf()).toBe('unknown');
  });

  test('haplotype only for phased genotypes', () => {
    expect(haplotypeOf('0|1')).toBe('second');
    expect(haplotypeOf('1|0')).toBe('first');
    expect(haplotypeOf('1|1')).toBe('both');
    expect(haplotypeOf('0/1')).toBe('unphased');
    expect(haplotypeOf()).toBe('unphased');
    expect(variantToken({ acmgClass: 'PATHOGENIC' })).toBeUndefined();
    expect(variantToken({ gene: 'fgfr2', genotype: '0|1', clinvar: 'Pathogenic' })).toEqual({ gene: 'FGFR2', pathogenicity: 'pathogenic', zygosity: 'heterozygous', consequence: 'unknown', haplotype: 'second' });
  });

  test('the likeliest-damaging tokens are kept first, duplicates once', () => {
    const tokens = [v('A', { pathogenicity: 'benign' }), v('B', { pathogenicity: 'uncertain', consequence: 'frameshift' }), v('C'), v('C'), v('D', { pathogenicity: 'uncertain' })];
    expect(selectTokens(tokens, 3).map((t) => t.gene)).toEqual(['C', 'B', 'D']);
  });
});

describe('haplotype-aware masking', () => {
  test('a gene is one unit when phase is unknown; its haplotypes are units when every variant of it is phased', () => {
    const unphased = [v('A'), v('A'), v('B')];
    expect([...maskingUnits(unphased)]).toEqual([0, 0, 1]);
    const compoundHet = [v('A', { haplotype: 'first' }), v('A', { haplotype: 'second' }), v('A', { haplotype: 'first' })];
    expect([...maskingUnits(compoundHet)]).toEqual([0, 1, 0]);
    // One unphased variant of the gene: cis and trans cannot be told apart, so the gene is one unit again.
    expect([...maskingUnits([v('A', { haplotype: 'first' }), v('A', { haplotype: 'second' }), v('A')])]).toEqual([0, 0, 0]);
  });

  test('whole units are masked, one always stays visible, a single unit is never masked', () => {
    const rng = new Rng(4);
    const tokens = [v('A', { haplotype: 'first' }), v('A', { haplotype: 'first' }), v('A', { haplotype: 'second' }), v('B'), v('B')];
    for (let k = 0; k < 50; k++) {
      const m = maskTokens(tokens, 0.9, rng);
      expect(m[0]).toBe(m[1]);
      expect(m[3]).toBe(m[4]);
      const units = new Set([m[0] ? -1 : 0, m[2] ? -1 : 1, m[3] ? -1 : 2].filter((u) => u >= 0));
      expect(units.size).toBeGreaterThanOrEqual(1);
      expect(m.some((x) => x === 1)).toBe(true);
    }
    expect([...maskTokens([v('A'), v('A')], 0.9, rng)]).toEqual([0, 0]);
    // With the patient's phenotypes as context a single unit can be masked: the gene is predicted from them.
    expect([...maskTokens([v('A'), v('A')], 0.9, rng, true)]).toEqual([1, 1]);
  });
});

describe('genomic encoder', () => {
  const data = toyGenotypes();
  const genes = geneVocabulary(data.patients.flatMap((p) => p.variants!.map((x) => x.gene)));
  const profiles = geneProfiles(data, vocab.index, () => true);

  test('unit vectors; padding changes nothing; an unknown gene reads the unknown row', () => {
    const model = new Model(tiny(), vocab, 1, genes, profiles);
    expect(model.modalities()).toEqual(['phenotype', 'genotype']);
    const one = genotypeBatch(model, [[v('FGFR2')]]).batch;
    const padded = genotypeBatch(model, [[v('FGFR2')], [v('NF1'), v('TTN'), v('SCN1A')]]).batch;
    expect(padded.width).toBe(3);
    const a = model.encodeGenotypes(one).z.arraySync()[0];
    const b = model.encodeGenotypes(padded).z.arraySync();
    a.forEach((x, i) => expect(b[0][i]).toBeCloseTo(x, 5));
    expect(Math.hypot(...b[1])).toBeCloseTo(1, 5);
    expect(genotypeBatch(model, [[v('NOTAGENE')]]).batch.genes[0]).toBe(0);
    model.dispose();
  });

  test('a gene row starts near the terms its carriers show', () => {
    const model = new Model(tiny({ dim: 256 }), vocab, 2, genes, profiles);
    const table = model.v('genes').arraySync() as number[][];
    const terms = model.v('terms').arraySync() as number[][];
    const cos = (x: number[], y: number[]) => x.reduce((s, a, i) => s + a * y[i], 0) / Math.hypot(...x) / Math.hypot(...y);
    const scn1a = table[genes.index.get('SCN1A')!];
    const own = terms[vocab.index.get('HP:0011097')!];
    const other = terms[vocab.index.get('HP:0000252')!];
    expect(cos(scn1a, own)).toBeGreaterThan(0.9);
    expect(cos(scn1a, own)).toBeGreaterThan(cos(scn1a, other) + 0.3);
    model.dispose();
  });

  test('training: masked-variant, cross-modal and alignment losses all present and the total falls; the genotype joins the fused patient', () => {
    const config = tiny();
    const model = new Model(config, vocab, 3, genes, profiles);
    const sampler = new Sampler(model, data, () => true);
    const rng = new Rng(3);
    const first = batchLosses(model, sampler.next(rng));
    expect(Object.keys(first).sort()).toEqual(['alignment', 'crossModal', 'maskedVariants', 'ontology']);
    const opt = tf.train.adam(config.learningRate);
    const losses: number[] = [];
    for (let s = 0; s < 40; s++) {
      const batch = sampler.next(rng);
      const { value, grads } = tf.variableGrads(() => totalLoss(model, batchLosses(model, batch)), model.trainable());
      opt.applyGradients(model.trainable().map((x) => ({ name: x.name, tensor: grads[x.name] ?? tf.zerosLike(x) })));
      losses.push(value.arraySync() as number);
      tf.dispose([value, ...Object.values(grads)]);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b) / xs.length;
    expect(mean(losses.slice(-5))).toBeLessThan(0.8 * mean(losses.slice(0, 5)));
    // A patient with a genotype only is embedded; with both modalities the vector differs from phenotype alone.
    const p = data.patients[1];
    const both = embedPatients(model, { patients: [p], records: [], skipped: [] }, []).get(p.id)!;
    const phenoOnly = embedPatients(model, { patients: [{ ...p, variants: [] }], records: [], skipped: [] }, []).get(p.id)!;
    const genoOnly = embedPatients(model, { patients: [{ ...p, observed: [] }], records: [], skipped: [] }, []).get(p.id)!;
    expect(genoOnly).toBeDefined();
    expect(Math.max(...both.map((x, i) => Math.abs(x - phenoOnly[i])))).toBeGreaterThan(1e-3);
    // Cross-modal: a SCN1A genotype is nearer a SCN1A patient's phenotype than an NF1 patient's.
    const phen = (q: PatientData) => embedPatients(model, { patients: [{ ...q, variants: [] }], records: [], skipped: [] }, []).get(q.id)!;
    const dot = (x: Float32Array, y: Float32Array) => x.reduce((s, a, i) => s + a * y[i], 0);
    expect(dot(genoOnly, phen(data.patients[4]))).toBeGreaterThan(dot(genoOnly, phen(data.patients[2])));
    model.dispose();
    opt.dispose();
  }, 60_000);

  test('masked variants with phenotype context: one-gene genotypes are masked and their gene is learned from the phenotypes', () => {
    const single: Dataset = { ...data, patients: data.patients.map((p) => ({ ...p, variants: p.variants!.slice(0, 1) })) };
    const config = tiny({ losses: { crossModal: 0, alignment: 0, ontology: 0, maskedVariants: 1 } });
    const model = new Model(config, vocab, 5, genes, profiles);
    const sampler = new Sampler(model, single, () => true);
    const rng = new Rng(5);
    const opt = tf.train.adam(0.03);
    const losses: number[] = [];
    for (let s = 0; s < 40; s++) {
      const batch = sampler.next(rng);
      expect(Array.from(batch.genotype!.phenotypeRow!).every((r) => r >= 0)).toBe(true);
      const { value, grads } = tf.variableGrads(() => totalLoss(model, batchLosses(model, batch)), model.trainable());
      opt.applyGradients(model.trainable().map((x) => ({ name: x.name, tensor: grads[x.name] ?? tf.zerosLike(x) })));
      losses.push(value.arraySync() as number);
      tf.dispose([value, ...Object.values(grads)]);
    }
    // Chance is ln(genes): the phenotypes tell the three genes apart.
    const tail = losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(tail).toBeLessThan(0.5 * Math.log(genes.ids.length));
    model.dispose();
    opt.dispose();
  }, 60_000);

  test('switched off: no genotype config, no encoder; maskedVariants 0, no mask head', () => {
    const none = new Model(tiny({ genotype: null }), vocab, 1, genes, profiles);
    expect(none.modalities()).toEqual(['phenotype']);
    none.dispose();
    const noMask = new Model(tiny({ losses: { maskedVariants: 0 } }), vocab, 1, genes, profiles);
    expect(noMask.predictsVariants).toBe(false);
    expect(noMask.vars.has('geno.pred.w')).toBe(false);
    const parts = batchLosses(noMask, new Sampler(noMask, data, () => true).next(new Rng(1)));
    expect(parts.maskedVariants).toBeUndefined();
    noMask.dispose();
    expect(() => tiny({ genotype: { heads: 3 } })).toThrow(/genotype.heads: dModel 64 is not a multiple of 3 heads/);
  });
});

describe('UMLS synonyms mapped to the same terms', () => {
  test('a CUI the ontology maps reads its HPO term; one it does not map is left out and reported', () => {
    const d: Dataset = {
      patients: [{ id: 'P', iri: 'urn:p', group: 'P', observed: ['UMLS:C0036572', 'HP:0001250', 'UMLS:C9999999'], excluded: ['UMLS:C0009952'], records: [0] }],
      records: [{ iri: 'urn:r', id: 'P/r', patient: 'P', modality: 'eeg', finding: 'UMLS:C0036572', sequences: [] }],
      skipped: [],
    };
    const r = mapUmlsTerms(d, ontology);
    expect(r).toEqual({ mapped: 3, unmapped: ['UMLS:C9999999'] });
    expect(d.patients[0].observed).toEqual(['HP:0001250']);
    expect(d.patients[0].excluded).toEqual([ontology.byUmls('C0009952')[0]]);
    expect(d.records[0].finding).toBe('HP:0001250');
  });
});
