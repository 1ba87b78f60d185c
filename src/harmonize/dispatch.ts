import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { load as loadYaml, JSON_SCHEMA } from 'js-yaml';
import { InputError } from '../model/errors.js';
import { readBonn } from '../sources/bonn.js';
import { readDicomWaveform } from '../sources/dicom-waveform.js';
import { readEdf } from '../sources/edf.js';
import { readExpressionMatrix, type ExpressionMatrix } from '../sources/expression.js';
import { readMaf, type MafDocument } from '../sources/maf.js';
import type { Modality, RecordEntry } from '../sources/manifest.js';
import { readMat4Signal } from '../sources/mat.js';
import { readMriVolume } from '../sources/imaging.js';
import { readOct } from '../sources/oct.js';
import type { SignalRecording } from '../sources/signal-recording.js';
import { readWfdb } from '../sources/wfdb.js';
import { DEFAULT_ECG_CONFIG, DEFAULT_PPG_CONFIG, harmonizeEcg, harmonizePpg, type EcgConfig, type PpgConfig } from './ecg.js';
import { DEFAULT_EEG_CONFIG, harmonizeEeg, type EegConfig } from './eeg.js';
import { DEFAULT_EXPRESSION_CONFIG, harmonizeExpression, type ExpressionConfig, type ExpressionHarmonized } from './expression.js';
import {
  DEFAULT_GENOMIC_CONFIG, genomicConfig, harmonizeMaf, harmonizeVcf, loadGenomicReferences,
  type CalledVariant as GenomicCall, type GenomicConfig, type GenomicReferences, type MafSampleResult,
} from './genomic.js';
import { DEFAULT_MRI_CONFIG, harmonizeMri, referenceLandmarks, type MriConfig } from './mri.js';
import { DEFAULT_OCT_CONFIG, harmonizeOct, type OctConfig } from './oct.js';
import { runStep } from './provenance.js';
import type { CalledVariant, HarmonizedRecord } from './record.js';

/** How records are kept in the graph (beyond each modality's own steps). */
export interface RecordsConfig {
  /** Called variants as graph nodes: only those ClinVar (likely) pathogenic or rare ('flagged'), or every filtered one ('all'). */
  variantsInGraph: 'flagged' | 'all';
}

/** Site correction of stored features (`harmonia harmonize`): ComBat per modality, sites as batches. */
export interface SiteCorrectionConfig {
  /** Modalities whose record features are corrected. */
  modalities: Modality[];
  /** Record fields kept as biological covariates: `label` (the record's finding; records without one form their own level). */
  covariates: 'label'[];
  meanOnly: boolean;
  nonparametric: boolean;
  /** false: each site's own location/scale, no empirical Bayes pooling (better for a few correlated features; see the EEG report). */
  empiricalBayes: boolean;
  /** A site left unchanged, the others moved onto it; null for none. */
  refSite: string | null;
  /** Sites with fewer records than this are left out of the fit (and their records uncorrected). */
  minRecordsPerSite: number;
}

export const DEFAULT_SITE_CORRECTION: SiteCorrectionConfig = {
  modalities: ['ecg', 'ppg', 'eeg', 'mri', 'oct', 'expression'], covariates: ['label'], meanOnly: false, nonparametric: false, empiricalBayes: true, refSite: null, minRecordsPerSite: 2,
};

/** The one versioned harmonisation config: a section per modality (docs/harmonization.md). */
export interface HarmonizationConfig {
  version: 1;
  /** Relative reference paths (gene BED, ClinVar, MRI templates) resolve against this folder. */
  referenceDir: string;
  records: RecordsConfig;
  genomic: GenomicConfig;
  mri: MriConfig;
  oct: OctConfig;
  eeg: EegConfig;
  ecg: EcgConfig;
  ppg: PpgConfig;
  expression: ExpressionConfig;
  combat: SiteCorrectionConfig;
}

export const DEFAULT_RECORDS_CONFIG: RecordsConfig = { variantsInGraph: 'flagged' };

export function defaultHarmonizationConfig(referenceDir = process.cwd()): HarmonizationConfig {
  return {
    version: 1, referenceDir, records: { ...DEFAULT_RECORDS_CONFIG },
    genomic: DEFAULT_GENOMIC_CONFIG, mri: DEFAULT_MRI_CONFIG, oct: DEFAULT_OCT_CONFIG, eeg: DEFAULT_EEG_CONFIG,
    ecg: DEFAULT_ECG_CONFIG, ppg: DEFAULT_PPG_CONFIG, expression: DEFAULT_EXPRESSION_CONFIG, combat: DEFAULT_SITE_CORRECTION,
  };
}

const SECTIONS = ['version', 'referenceDir', 'records', 'genomic', 'mri', 'oct', 'eeg', 'ecg', 'ppg', 'expression', 'combat'] as const;

/** Merges section by section, one level deep below the section (`{ eeg: { bandpass: { low: 1 } } }` keeps the rest of bandpass). */
function merge<T>(base: T, over: unknown, path: string, file: string): T {
  if (over === undefined) return base;
  if (base === null || typeof base !== 'object' || Array.isArray(base)) return over as T;
  if (over === null || typeof over !== 'object' || Array.isArray(over)) throw new InputError(`expected an object`, file, undefined, path);
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) {
    if (!(k in out)) throw new InputError(`unknown setting (known: ${Object.keys(out).join(', ')})`, file, undefined, `${path}.${k}`);
    out[k] = out[k] !== null && typeof out[k] === 'object' && !Array.isArray(out[k]) && v !== null ? merge(out[k], v, `${path}.${k}`, file) : v;
  }
  return out as T;
}

/**
 * The defaults, with a JSON or YAML config file's settings over them; unknown settings are refused by
 * name. Relative reference paths resolve against the file's `referenceDir`, else `referenceDir` (the
 * data directory).
 */
export function loadHarmonizationConfig(file?: string, referenceDir?: string): HarmonizationConfig {
  const base = defaultHarmonizationConfig(referenceDir);
  if (!file) return base;
  let doc: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    doc = /\.ya?ml$/i.test(file) ? loadYaml(text, { schema: JSON_SCHEMA }) : JSON.parse(text);
  } catch (e) {
    throw new InputError(`cannot read the harmonisation config: ${(e as Error).message.split('\n')[0]}`, file);
  }
  if (!doc || typeof doc !== 'object') throw new InputError('a harmonisation config is an object with sections per modality', file);
  for (const k of Object.keys(doc)) if (!(SECTIONS as readonly string[]).includes(k)) throw new InputError(`unknown section (known: ${SECTIONS.join(', ')})`, file, undefined, k);
  const d = doc as Record<string, unknown>;
  if (d.version !== undefined && d.version !== 1) throw new InputError(`config version ${String(d.version)} is not supported (1)`, file, undefined, 'version');
  const out = { ...base } as Record<string, unknown>;
  for (const k of SECTIONS) if (k !== 'version' && k !== 'referenceDir') out[k] = merge(base[k], d[k], k, file);
  out.referenceDir = typeof d.referenceDir === 'string' ? resolve(dirname(file), d.referenceDir) : base.referenceDir;
  out.genomic = genomicConfig(out.genomic as GenomicConfig);
  return out as unknown as HarmonizationConfig;
}

const SECTION_OF: Record<Modality, keyof HarmonizationConfig> = { vcf: 'genomic', maf: 'genomic', mri: 'mri', oct: 'oct', eeg: 'eeg', ecg: 'ecg', ppg: 'ppg', expression: 'expression' };

/** The settings one modality's records depend on, as text: a change re-harmonizes them on the next ingest. */
export function modalityConfigText(config: HarmonizationConfig, modality: Modality): string {
  return JSON.stringify([config[SECTION_OF[modality]], modality === 'vcf' || modality === 'maf' ? config.records : null]);
}

/** What harmonising one ingest run shares between records: references, and files holding many samples. */
export class HarmonizeContext {
  private references?: Promise<GenomicReferences>;
  private landmarks?: Promise<number[]>;
  private readonly matrices = new Map<string, { matrix: ExpressionMatrix; harmonized: ExpressionHarmonized }>();
  private readonly mafs = new Map<string, Promise<{ doc: MafDocument; samples: MafSampleResult[] }>>();

  constructor(readonly config: HarmonizationConfig) {}

  genomicReferences(): Promise<GenomicReferences> {
    this.references ??= loadGenomicReferences(this.config.genomic.references, this.config.referenceDir).catch((e: Error) => {
      throw new Error(`${e.message} (reference files resolve against ${this.config.referenceDir}: set HARMONIA_DATA, or genomic.references / referenceDir in --config)`);
    });
    return this.references;
  }

  mriLandmarks(): Promise<number[]> | undefined {
    const h = this.config.mri.histogramMatching;
    if (!h.enabled || !h.reference) return undefined;
    const ref = isAbsolute(h.reference) ? h.reference : join(this.config.referenceDir, h.reference);
    this.landmarks ??= referenceLandmarks(ref, this.config.mri);
    return this.landmarks;
  }

  expression(file: string): { matrix: ExpressionMatrix; harmonized: ExpressionHarmonized } {
    let m = this.matrices.get(file);
    if (!m) {
      const matrix = readExpressionMatrix(file);
      m = { matrix, harmonized: harmonizeExpression(matrix, this.config.expression) };
      this.matrices.set(file, m);
    }
    return m;
  }

  maf(file: string): Promise<{ doc: MafDocument; samples: MafSampleResult[] }> {
    let m = this.mafs.get(file);
    if (!m) {
      m = (async () => {
        const doc = await readMaf(file);
        return { doc, samples: harmonizeMaf(doc, await this.genomicReferences(), this.config.genomic) };
      })();
      this.mafs.set(file, m);
    }
    return m;
  }
}

/** Reads and harmonizes one record with the configured steps, choosing the reader by modality and file. */
export async function harmonizeEntry(entry: RecordEntry, context: HarmonizeContext): Promise<HarmonizedRecord> {
  switch (entry.modality) {
    case 'vcf':
      return vcfRecord(entry, context);
    case 'maf':
      return mafRecord(entry, context);
    case 'mri':
      return mriRecord(entry, context);
    case 'oct': {
      const vol = await readOct(entry.path);
      const h = harmonizeOct(vol, context.config.oct);
      return { modality: 'oct', format: vol.format, acquisition: vol.acquisition, features: h.features, arrays: h.arrays, provenance: h.provenance };
    }
    case 'eeg': {
      const rec = readSignal(entry, 'eeg');
      const h = harmonizeEeg(rec, context.config.eeg);
      return signalRecord(entry, rec, h);
    }
    case 'ecg': {
      const rec = readSignal(entry, 'ecg');
      return signalRecord(entry, rec, harmonizeEcg(rec, context.config.ecg));
    }
    case 'ppg': {
      const rec = readSignal(entry, 'ppg');
      return signalRecord(entry, rec, harmonizePpg(rec, context.config.ppg));
    }
    case 'expression':
      return expressionRecord(entry, context);
  }
}

function signalRecord(entry: RecordEntry, rec: SignalRecording, h: { features: Record<string, number>; arrays: HarmonizedRecord['arrays']; provenance: HarmonizedRecord['provenance'] }): HarmonizedRecord {
  const acquisition: HarmonizedRecord['acquisition'] = { ...rec.acquisition };
  if (rec.startTime) acquisition.startTime = rec.startTime;
  if (rec.corrections.length) acquisition.corrections = rec.corrections;
  if (rec.warnings.length) acquisition.warnings = rec.warnings;
  return { modality: entry.modality, format: rec.format, acquisition, features: h.features, arrays: h.arrays, provenance: h.provenance };
}

/** The signal readers by file: EDF/BDF, WFDB header, MATLAB v4 (PhysioNet 2017), DICOM waveform, Bonn text. */
function readSignal(entry: RecordEntry, modality: 'eeg' | 'ecg' | 'ppg'): SignalRecording {
  const p = entry.path;
  const ext = extname(p).toLowerCase();
  if (ext === '.edf' || ext === '.bdf') return readEdf(p);
  if (ext === '.hea') return readWfdb(p.slice(0, -4));
  if (ext === '.dat' && existsSync(p.slice(0, -4) + '.hea')) return readWfdb(p.slice(0, -4));
  if (ext === '.mat') return existsSync(p.slice(0, -4) + '.hea') ? readWfdb(p.slice(0, -4)) : readMat4Signal(p);
  if (ext === '.dcm') return readDicomWaveform(p);
  if (ext === '.txt' && modality === 'eeg') return readBonn(p);
  throw new InputError(`no ${modality.toUpperCase()} reader for '${ext || basename(p)}' files (EDF/BDF, WFDB .hea, MATLAB v4 .mat, DICOM waveform .dcm${modality === 'eeg' ? ', Bonn .txt' : ''})`, p, entry.origin.line ? `line ${entry.origin.line}` : undefined, 'path');
}

async function mriRecord(entry: RecordEntry, context: HarmonizeContext): Promise<HarmonizedRecord> {
  // A NIfTI file, one DICOM file, a folder of slices, or a DICOMDIR (the sample column picks a series UID).
  const volume = await readMriVolume(entry.path, entry.sample ? { seriesInstanceUid: entry.sample } : {});
  const landmarks = await context.mriLandmarks();
  const h = harmonizeMri(volume, context.config.mri, { ...(landmarks ? { referenceLandmarks: landmarks } : {}), file: entry.path });
  const acquisition = { ...volume.acquisition };
  return { modality: 'mri', format: volume.format === 'dicom' ? 'dicom' : String(acquisition.format ?? 'nifti'), acquisition, features: h.features, arrays: h.arrays, provenance: h.provenance };
}

const ZYGOSITY: Record<string, CalledVariant['zygosity']> = { heterozygous: 'heterozygous', homozygous: 'homozygous', hemizygous: 'hemizygous' };
const ACMG = new Set(['PATHOGENIC', 'LIKELY_PATHOGENIC', 'UNCERTAIN_SIGNIFICANCE', 'LIKELY_BENIGN', 'BENIGN']);

function toVariant(c: GenomicCall): CalledVariant {
  return {
    chrom: c.chrom, pos: c.pos, ref: c.ref, alt: c.alt, assembly: c.assembly ?? undefined, gene: c.gene ?? undefined,
    genotype: c.genotype ?? undefined, zygosity: ZYGOSITY[c.zygosity] ?? 'unknown',
    clinvar: c.clinvar?.significance, acmgClass: c.clinvar && ACMG.has(c.clinvar.class) ? c.clinvar.class : undefined,
    consequence: c.classification ?? undefined, rare: c.rare,
  };
}

function keptVariants(calls: GenomicCall[], config: RecordsConfig): CalledVariant[] {
  const flagged = (c: GenomicCall): boolean => c.rare || c.clinvar?.class === 'PATHOGENIC' || c.clinvar?.class === 'LIKELY_PATHOGENIC';
  const seen = new Set<string>();
  const out: CalledVariant[] = [];
  for (const c of calls) {
    if (config.variantsInGraph === 'flagged' && !flagged(c)) continue;
    const key = `${c.chrom}-${c.pos}-${c.ref}-${c.alt}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(toVariant(c));
  }
  return out;
}

async function vcfRecord(entry: RecordEntry, context: HarmonizeContext): Promise<HarmonizedRecord> {
  const config = { ...context.config.genomic, sample: entry.sample ?? context.config.genomic.sample };
  const r = await harmonizeVcf(entry.path, await context.genomicReferences(), config);
  const acquisition: HarmonizedRecord['acquisition'] = { ...r.acquisition };
  if (r.warnings.length) acquisition.warnings = r.warnings;
  return { modality: 'vcf', format: 'vcf', acquisition, features: r.features, arrays: r.arrays, provenance: r.provenance, variants: keptVariants(r.calls, context.config.records) };
}

async function mafRecord(entry: RecordEntry, context: HarmonizeContext): Promise<HarmonizedRecord> {
  const { samples } = await context.maf(entry.path);
  const wanted = entry.sample ?? entry.patient;
  // TCGA barcodes extend the patient's (TCGA-AB-2802 -> TCGA-AB-2802-03B-...): a prefix, if only one sample has it.
  const prefixed = samples.filter((x) => x.sample.startsWith(`${wanted}-`));
  if (!samples.some((x) => x.sample === wanted) && prefixed.length > 1) throw new InputError(`'${wanted}' begins ${prefixed.length} tumour sample barcodes (${prefixed.slice(0, 3).map((x) => x.sample).join(', ')}...); give the sample column in the manifest`, entry.path, entry.origin.line ? `line ${entry.origin.line}` : undefined, 'sample');
  const s = samples.find((x) => x.sample === wanted) ?? prefixed[0];
  if (!s) throw new InputError(`no tumour sample '${wanted}' (Tumor_Sample_Barcode) in this MAF; give the sample column in the manifest`, entry.path, entry.origin.line ? `line ${entry.origin.line}` : undefined, 'sample');
  const acquisition: HarmonizedRecord['acquisition'] = { ...s.acquisition };
  return { modality: 'maf', format: 'maf', acquisition, features: s.features, arrays: s.arrays, provenance: s.provenance, variants: keptVariants(s.calls, { variantsInGraph: 'all' }) };
}

/** One sample of a harmonized expression matrix: its column as the array, summary numbers as features. */
function expressionRecord(entry: RecordEntry, context: HarmonizeContext): HarmonizedRecord {
  const { matrix, harmonized } = context.expression(entry.path);
  const wanted = entry.sample ?? entry.patient;
  const j = harmonized.sampleIds.indexOf(wanted);
  if (j < 0) throw new InputError(`no sample column '${wanted}' in this matrix; give the sample column in the manifest`, entry.path, entry.origin.line ? `line ${entry.origin.line}` : undefined, 'sample');
  const full = harmonized.arrays.expression;
  const [features, samples] = full.shape;
  const column = runStep('expression.sample-column', '1', full.data as Float64Array, { sample: wanted, column: j }, (data, p) => {
    const out = new Float32Array(features);
    for (let i = 0; i < features; i++) out[i] = data[i * samples + p.column];
    return out;
  });
  const values = Float64Array.from(column.value).sort();
  const mean = values.reduce((a, b) => a + b, 0) / (values.length || 1);
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values.length - 1));
  return {
    modality: 'expression', format: matrix.format, acquisition: { ...matrix.acquisition, sample: wanted, featuresKept: features, scale: harmonized.scale },
    features: { 'expression.mean': mean, 'expression.sd': sd, 'expression.median': values[Math.floor(values.length / 2)] ?? NaN, 'expression.features': features },
    arrays: { expression: { data: column.value, shape: [features] } },
    provenance: [...harmonized.provenance, column.provenance],
  };
}
