import type { DiagnoseResult, DiseaseResult } from './commands.js';
import type { TermEvidence } from './likelihood.js';

// `harmonia diagnose --report FILE.html`: one self-contained page (inline CSS, no scripts, no external
// resources) that a clinician can read: per query the ranked diseases with their post-test
// probability, the prior it is relative to, and the terms that argued for and against each disease.
// Every text from the input is escaped.

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;color:#1d2329;max-width:70em}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccd}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{text-align:left;vertical-align:top;padding:.3em .5em;border-bottom:1px solid #e3e6ea}
th{background:#f3f5f7}.num{text-align:right;white-space:nowrap}.for{color:#135f2a}.against{color:#8a1f11}
.bar{display:inline-block;height:.7em;background:#3a6ea5;vertical-align:middle;margin-right:.3em}
.note{color:#555;font-size:.9em}.err{color:#8a1f11}ul{margin:0;padding-left:1.1em}`;

function percent(p: number | undefined): string {
  if (p === undefined) return '';
  if (p < 0.001) return '&lt;0.1%';
  return `${(p * 100).toFixed(p < 0.1 ? 1 : 0)}%`;
}

function evidenceList(items: readonly TermEvidence[] | undefined, cls: string): string {
  if (!items?.length) return '<span class="note">none</span>';
  return `<ul class="${cls}">${items
    .map((e) => {
      const what = e.kind === 'excluded' ? 'absent: ' : e.kind === 'not-in-query' ? 'not reported: ' : '';
      const match = e.match && e.kind !== 'not-in-query' ? ` <span class="note">(disease: ${escapeHtml(e.match.label)}${e.match.frequency < 1 ? `, ${Math.round(e.match.frequency * 100)}% of patients` : ''})</span>` : '';
      return `<li>${what}${escapeHtml(e.label)} <span class="note">${escapeHtml(e.term)}</span> <b>${e.contribution > 0 ? '+' : ''}${e.contribution.toFixed(2)}</b>${match}</li>`;
    })
    .join('')}</ul>`;
}

function diseaseRow(r: DiseaseResult, rank: number): string {
  const bar = r.probability !== undefined ? `<span class="bar" style="width:${Math.max(1, Math.round(r.probability * 120))}px"></span>` : '';
  const missing = r.notInQuery?.count ? `<div class="note">${r.notInQuery.count} annotated features not in the query (total ${r.notInQuery.contribution.toFixed(2)})</div>` : '';
  return `<tr><td class="num">${rank}</td><td>${escapeHtml(r.label)}<div class="note">${escapeHtml(r.disease)}</div></td><td class="num">${bar}${percent(r.probability)}</td><td class="num">${r.score.toFixed(2)}</td><td>${evidenceList(r.for, 'for')}</td><td>${evidenceList(r.against, 'against')}${missing}</td></tr>`;
}

function querySection(a: DiagnoseResult | { query: string; error: string }): string {
  if ('error' in a) return `<h2>${escapeHtml(a.query)}</h2><p class="err">Could not rank: ${escapeHtml(a.error)}</p>`;
  const rows = a.results.map((r, i) => diseaseRow(r, i + 1)).join('');
  const genes = a.genes?.length
    ? `<h3>Genes</h3><table><tr><th class="num">#</th><th>gene</th><th class="num">probability</th><th>best-fitting disease</th></tr>${a.genes
        .map((g, i) => `<tr><td class="num">${i + 1}</td><td>${escapeHtml(g.gene)}</td><td class="num">${percent(g.probability)}</td><td>${escapeHtml(g.label)} <span class="note">${escapeHtml(g.disease)}</span></td></tr>`)
        .join('')}</table>`
    : '';
  const warnings = a.warnings?.length ? `<p class="note">Notes: ${a.warnings.map(escapeHtml).join('; ')}</p>` : '';
  return `<h2>${escapeHtml(a.query)}</h2>
<p>Method <b>${escapeHtml(a.method)}</b>. ${a.prior ? `Probabilities are post-test, relative to a prior ${escapeHtml(a.prior)}.` : 'This method gives scores, not probabilities.'}</p>
<table><tr><th class="num">#</th><th>disease</th><th class="num">probability</th><th class="num">log10 LR</th><th>argues for</th><th>argues against</th></tr>${rows}</table>${genes}${warnings}`;
}

/** The whole report for the answers of one `diagnose` run. */
export function diagnosisReportHtml(answers: readonly (DiagnoseResult | { query: string; error: string })[], meta: { annotations: string; generated?: string }): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Harmonia disease ranking</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>
<body><h1>Disease ranking</h1>
<p class="note">Annotations: ${escapeHtml(meta.annotations)}. Generated ${escapeHtml(meta.generated ?? new Date().toISOString())} by Harmonia.
Each contribution is a log10 likelihood ratio: +1 makes the disease ten times more likely, −1 ten times less.
Probabilities are calibrated on held-out diseases (docs/retrieval.md) and assume the patient has one of the ranked diseases.
A decision aid for research use, not a diagnosis.</p>
${answers.map(querySection).join('\n')}
</body></html>
`;
}
