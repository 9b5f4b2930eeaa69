/** Text and JSON forms of a `lakeloader maintain` report. */
import { renderResult } from '../query/format.js';
import { actionNames, filesDeleted } from './maintainer.js';
import type { MaintainReport } from './run.js';

const COLUMNS = ['table', 'actions', 'data_files', 'delete_files', 'snapshots', 'files_deleted', 'seconds', 'outcome'];

export function renderMaintainReport(report: MaintainReport, format: 'table' | 'json'): string {
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  const done = new Map(report.reports.map((r) => [r.table, r]));
  const rows = report.plans.map((plan) => {
    const r = done.get(plan.table);
    const h = plan.health;
    const change = (before: number, after: number | undefined) => (after === undefined || report.dry_run ? String(before) : `${before} → ${after}`);
    const seconds = r?.result ? Object.values(r.result.durationsMs).reduce((a, b) => a + b, 0) / 1000 : null;
    return {
      table: plan.table,
      actions: actionNames(plan).join(', ') || '-',
      data_files: change(h.dataFiles, r?.after?.dataFiles),
      delete_files: change(h.deleteFiles, r?.after?.deleteFiles),
      snapshots: change(h.snapshots, r?.after?.snapshots),
      files_deleted: r?.result ? String(filesDeleted(r.result)) : '-',
      seconds: seconds === null ? '-' : seconds.toFixed(1),
      outcome: report.dry_run ? 'planned' : !r ? 'nothing to do' : r.error ? (r.rescheduled ? 'rescheduled (a concurrent commit won)' : 'failed') : 'ok',
    };
  });
  let text = `${report.dry_run ? 'dry run: what maintenance would do in' : 'maintenance of'} ${report.namespace} (source ${report.source})\n`;
  text += renderResult({ columns: COLUMNS, rows }, 'table');
  for (const plan of report.plans) if (plan.reasons.length > 0) text += `${plan.table}: ${plan.reasons.join('; ')}\n`;
  for (const r of report.reports) if (r.error) text += `${r.table} ${r.rescheduled ? 'rescheduled' : 'FAILED'}: ${r.error}\n`;
  return text;
}
