import type { Ontology } from '../ontology/index.js';
import { DIAGNOSIS_METHODS, DiseaseModel } from './diagnose.js';
import { evaluateDiagnosisMetrics, evaluateRetrievalMetrics, type RankingMetrics } from './evaluate.js';
import type { Hpoa } from './hpoa.js';
import { icFromAnnotations, icFromProfiles } from './ic.js';
import { allMethodNames } from './method.js';
import { PatientIndex } from './patient-index.js';
import type { PatientProfile } from './profile.js';

// The quality table of docs/retrieval.md: every retrieval method (publication-grouped, IC from the
// annotations), the default with IC from the patients, the record-level number for contrast, and
// every disease-ranking method with and without genes.

export interface QualityReport {
  patients: number;
  /** Every k-th patient was a query. */
  querySample: number;
  retrieval: RankingMetrics[];
  retrievalPatientIc: RankingMetrics[];
  retrievalRecordLevel: RankingMetrics[];
  diagnosis: RankingMetrics[];
}

export function qualityReport(
  ontology: Ontology,
  profiles: readonly PatientProfile[],
  hpoa: Hpoa,
  options: { methods?: string[]; diseaseGenes?: Map<string, string[]>; querySample?: number; contrastMethods?: string[]; parts?: ('retrieval' | 'diagnosis')[]; log?: (s: string) => void } = {},
): QualityReport {
  const log = options.log ?? ((): void => {});
  // Every k-th patient is a query (all patients stay candidates): spreads queries over all cohorts.
  const every = options.querySample ?? 1;
  const queries = every > 1 ? profiles.filter((_, i) => i % every === 0) : profiles;
  const index = new PatientIndex(ontology, icFromAnnotations(ontology, hpoa), profiles);
  const parts = options.parts ?? ['retrieval', 'diagnosis'];
  const retrieval = (parts.includes('retrieval') ? options.methods ?? allMethodNames() : []).map((method) => {
    const m = evaluateRetrievalMetrics(index, queries, { method });
    log(JSON.stringify(m));
    return m;
  });
  const contrast = parts.includes('retrieval') ? options.contrastMethods ?? [] : [];
  const patientIndex = new PatientIndex(ontology, icFromProfiles(ontology, profiles), profiles);
  const retrievalPatientIc = contrast.map((method) => evaluateRetrievalMetrics(patientIndex, queries, { method }));
  const retrievalRecordLevel = contrast.map((method) => evaluateRetrievalMetrics(index, queries, { method, samePublication: false }));
  for (const m of [...retrievalPatientIc, ...retrievalRecordLevel]) log(JSON.stringify(m));
  const diagnosis: RankingMetrics[] = [];
  if (!parts.includes('diagnosis')) return { patients: profiles.length, querySample: every, retrieval, retrievalPatientIc, retrievalRecordLevel, diagnosis };
  const model = new DiseaseModel(ontology, hpoa, { diseaseGenes: options.diseaseGenes });
  for (const method of DIAGNOSIS_METHODS) {
    for (const genes of options.diseaseGenes ? [false, true] : [false]) {
      const m = evaluateDiagnosisMetrics(model, queries, { method, genes });
      log(JSON.stringify(m));
      diagnosis.push(m);
    }
  }
  // Ablation: the likelihood ratio without excluded features.
  const observedOnly = new DiseaseModel(ontology, hpoa, { excludedEvidence: false });
  const ablation = evaluateDiagnosisMetrics(observedOnly, queries, { method: 'lr' });
  diagnosis.push({ ...ablation, method: 'lr without excluded features' });
  log(JSON.stringify(ablation));
  return { patients: profiles.length, querySample: every, retrieval, retrievalPatientIc, retrievalRecordLevel, diagnosis };
}

/** The report as Markdown tables. */
export function qualityMarkdown(r: QualityReport): string {
  const row = (m: RankingMetrics): string => `| ${m.method} | ${m.queries} | ${m.skipped} | ${m.hit1.toFixed(3)} | ${m.hit10.toFixed(3)} | ${m.mrr.toFixed(3)} |`;
  const head = '| method | queries | skipped | hit@1 | hit@10 | MRR |\n|---|---:|---:|---:|---:|---:|';
  return [
    `Patient retrieval (publication-grouped, IC from annotations), ${r.patients} patients${r.querySample > 1 ? `, every ${r.querySample}th patient a query` : ''}:`,
    head,
    ...r.retrieval.map(row),
    '',
    'Contrast: IC from the patients themselves (publication-grouped):',
    head,
    ...r.retrievalPatientIc.map(row),
    '',
    'Contrast: record-level (only the query itself removed; inflated):',
    head,
    ...r.retrievalRecordLevel.map(row),
    '',
    'Disease ranking over all diseases of phenotype.hpoa:',
    head,
    ...r.diagnosis.map(row),
  ].join('\n');
}
