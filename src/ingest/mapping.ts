import type { Quad } from 'n3';
import { HXG } from '../model/index.js';
import { loadMapping, runMapping } from '../map/yarrrml/index.js';
import type { GraphStore, QuarantineEntry } from '../store/index.js';
import { ShapeValidator } from '../validate/index.js';
import type { IngestSummary } from './ingest.js';

const PATIENT_GRAPH = `${HXG}patient/`;

/**
 * Runs a YARRRML mapping and stores its output: each patient graph it produces is validated and
 * replaces that patient's earlier graph; rows the mapping could not use go to quarantine.
 */
export async function ingestMapping(store: GraphStore, mappingFile: string, options: { sources?: Record<string, string>; validator?: ShapeValidator } = {}): Promise<IngestSummary> {
  const started = performance.now();
  const { quads, problems } = await runMapping(loadMapping(mappingFile), { sources: options.sources });
  const byGraph = new Map<string, Quad[]>();
  const add: Quad[] = [];
  for (const q of quads) {
    const g = q.graph.value;
    if (g.startsWith(PATIENT_GRAPH)) {
      const list = byGraph.get(g) ?? [];
      list.push(q);
      byGraph.set(g, list);
    } else {
      add.push(q);
    }
  }
  const graphs = [...byGraph.keys()];
  const validator = options.validator ?? ShapeValidator.fromFile();
  // A patient graph the validator throws on is quarantined alone; the others are judged as usual.
  const { violations, failed } = await validator.validateEach(graphs.map((g) => byGraph.get(g)!));
  const at = new Date().toISOString();
  // A row stored without one bad field is accepted with a note; a row that could not be mapped at all is rejected.
  const rejected: QuarantineEntry[] = problems.filter((p) => !p.dropped).map((p) => ({ file: p.file, line: p.row, stage: 'map', reasons: [{ path: p.column, message: p.reason }], at }));
  const dropped = problems.filter((p) => p.dropped);
  const replace = new Map<string, Quad[]>();
  const accepted: string[] = [];
  graphs.forEach((g, i) => {
    const id = decodeURIComponent(g.slice(PATIENT_GRAPH.length));
    const v = violations.get(i);
    const f = failed.get(i);
    if (f) rejected.push({ id, file: mappingFile, stage: 'validate', reasons: [{ message: f }], record: undefined, at });
    else if (v) rejected.push({ id, file: mappingFile, stage: 'validate', reasons: v.map((x) => ({ path: x.path, message: x.message, focusNode: x.focusNode, value: x.value })), record: undefined, at });
    else {
      replace.set(g, byGraph.get(g)!);
      accepted.push(id);
    }
  });
  await store.commit({ replace, add, rejected, accepted });
  return {
    read: graphs.length + problems.length - dropped.length,
    accepted: accepted.length,
    rejected: rejected.length,
    unchanged: 0,
    replaced: 0,
    termIssues: 0,
    notes: dropped.length,
    rejections: [
      ...rejected.map((r) => ({ id: r.id, file: r.file, line: r.line, stage: r.stage, reason: r.reasons.map((x) => (x.path ? `${x.path}: ` : '') + x.message).join('; ') })),
      ...dropped.map((p) => ({ file: p.file, line: p.row, stage: 'note', reason: `${p.column ? `${p.column}: ` : ''}${p.reason}; the row was stored without this field` })),
    ],
    triplesAdded: quads.length,
    storeTriples: await store.size(),
    seconds: Math.round((performance.now() - started) / 10) / 100,
  };
}
