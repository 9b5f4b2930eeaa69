/** Text, JSON and CSV forms of the validate and status reports (tables through lib/query/format). */
import { renderResult, type OutputFormat } from '../query/format.js';
import type { StatusReport } from './status.js';
import { VALIDATE_COLUMNS, type ValidateReport } from './validate.js';

const RESULT_LABEL: Record<string, string> = {
  ok: 'ok', mismatch: 'mismatched', in_flux: 'in flux', not_replicated: 'not replicated by CDC', missing_in_iceberg: 'missing in Iceberg', missing_in_source: 'missing in source', error: 'failed to compare',
};

export function renderValidateReport(report: ValidateReport, format: OutputFormat): string {
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  const rows = report.tables.map((t) => Object.fromEntries(VALIDATE_COLUMNS.map((c) => [c, t[c]])));
  if (format === 'csv') return renderResult({ columns: [...VALIDATE_COLUMNS], rows }, 'csv');

  const slot = report.slot.exists ? `slot ${report.slot.name} ${report.slot.active ? 'streaming' : 'not streaming'}` : `no slot ${report.slot.name}`;
  let text = `source ${report.source} at LSN ${report.source_lsn} (snapshot ${report.source_snapshot_at}), Iceberg namespace ${report.namespace}, ${slot}` +
    `${report.deep ? ', contents compared (--deep)' : ''}${report.waited_seconds !== null ? `, waited ${report.waited_seconds}s for CDC` : ''}\n`;
  text += renderResult({ columns: [...VALIDATE_COLUMNS], rows }, 'table');
  const notOk = report.tables.filter((t) => t.result !== 'ok' && t.detail);
  for (const t of notOk) text += `${t.table} (${RESULT_LABEL[t.result]}): ${t.detail}\n`;
  const s = report.summary;
  const counts = (['ok', 'mismatch', 'in_flux', 'not_replicated', 'missing_in_iceberg', 'missing_in_source', 'error'] as const)
    .filter((k) => s[k] > 0).map((k) => `${s[k]} ${RESULT_LABEL[k]}`);
  text += `${s.tables} table${s.tables === 1 ? '' : 's'}: ${counts.join(', ') || 'none'}${report.hidden ? ` (${report.hidden} empty hidden)` : ''}\n`;
  return text;
}

function bytes(n: number | null): string {
  if (n === null) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

export function renderStatusReport(report: StatusReport, format: 'table' | 'json'): string {
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  const lines: string[] = [];
  lines.push(`source ${report.source} → Iceberg namespace ${report.namespace}`);
  if (!report.loaded) {
    lines.push('  not loaded yet: the namespace has no _cdc_status (run lakeloader bulk-load)');
  } else {
    const order = ['completed', 'cdc_only', 'running', 'pending', 'failed', 'blocked_schema', 'blocked', 'skipped'];
    const rank = (s: string) => (order.includes(s) ? order.indexOf(s) : order.length);
    const statuses = Object.entries(report.tables.by_status).sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
    lines.push(`tables: ${report.tables.total} (${statuses.map(([k, v]) => `${v} ${k}`).join(', ') || 'none'}), ${report.rows_loaded} rows loaded`);
  }
  for (const p of report.problems) lines.push(`  ${p.load_status.toUpperCase()} ${p.table}: ${(p.error ?? 'no error recorded').split('\n')[0]}`);

  const c = report.cdc;
  if (c.source_lsn) {
    lines.push(`CDC: source at ${c.source_lsn}; lowest applied ${c.min_applied_lsn ?? 'none'}${c.min_applied_table ? ` (${c.min_applied_table})` : ''}` +
      `${c.lsn_distance_bytes !== null ? `, ${bytes(c.lsn_distance_bytes)} of WAL behind` : ''}; ${c.events_applied} events applied` +
      `${c.last_event_at ? `, last at ${c.last_event_at}` : ''}`);
  } else {
    lines.push(`CDC: source position unknown (${c.source_error ?? 'not a PostgreSQL source'}); lowest applied ${c.min_applied_lsn ?? 'none'}`);
  }
  if (c.slot) {
    lines.push(c.slot.exists
      ? `  slot ${c.slot.name}: ${c.slot.active ? 'streaming' : 'not streaming (no connector attached)'}, confirmed ${c.slot.confirmed_flush_lsn ?? '?'}` +
        `${c.slot.behind_bytes !== null ? ` (${bytes(c.slot.behind_bytes)} behind)` : ''}`
      : `  slot ${c.slot.name}: does not exist`);
  }
  if ('configured' in c.kafka) {
    lines.push('  Kafka: no kafka cluster configured for this source');
  } else if (!c.kafka.reachable) {
    lines.push(`  Kafka ${c.kafka.cluster}: unreachable (${c.kafka.error ?? 'no answer'})`);
  } else {
    const k = c.kafka;
    const uncommitted = k.topics.filter((t) => !t.committed).length;
    lines.push(`  Kafka ${k.cluster}, group ${k.group}: lag ${k.total_lag ?? '?'} message(s) over ${k.topics.length} topic(s)` +
      `${uncommitted ? `, ${uncommitted} never consumed` : ''}${k.missing_topics.length ? `, ${k.missing_topics.length} topic(s) not created yet` : ''}` +
      `${k.error ? ` (partial: ${k.error})` : ''}`);
    for (const t of k.topics.filter((x) => x.lag > 0).sort((a, b) => b.lag - a.lag).slice(0, 5)) lines.push(`    ${t.topic}: ${t.lag}`);
  }
  if (report.schema_changes.length > 0) {
    lines.push('schema changes (latest):');
    for (const s of report.schema_changes) lines.push(`  ${s.change_timestamp} ${s.table_name} ${s.change_type}${s.column_name ? ` ${s.column_name}` : ''}`);
  } else {
    lines.push('schema changes: none since the load');
  }
  lines.push(`dead letters: ${report.dead_letters === null ? 'none (no _dead_letters table)' : report.dead_letters}`);
  const m = report.maintenance;
  if (!m) lines.push('maintenance: never ran (automatic in `lakeloader cdc` unless maintenance.enabled is false; or `lakeloader maintain`)');
  else {
    lines.push(`maintenance: ${m.enabled ? 'automatic' : 'external (maintenance.enabled: false)'}; ${m.tables_maintained} table(s) maintained, last at ${m.last_run_at ?? '?'}` +
      `${m.failed.length ? `; ${m.failed.length} failed` : ''}`);
    for (const f of m.failed) lines.push(`  FAILED ${f.table} at ${f.finished_at}: ${f.error.split('\n')[0]}`);
  }
  lines.push(report.exit_code === 0 ? 'status: ok' : `status: ${report.problems.length} table(s) failed or blocked`);
  return `${lines.join('\n')}\n`;
}
