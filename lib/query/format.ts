/** Result rendering shared by `sql`, `validate` and `status`: aligned table, JSON or CSV. */
export type OutputFormat = 'table' | 'json' | 'csv';

export interface ResultSet {
  columns: string[];
  rows: Record<string, unknown>[];
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = cellText(value);
  return /[",\r\n]/.test(text) || text === '' ? `"${text.replace(/"/g, '""')}"` : text;
}

export function renderResult(result: ResultSet, format: OutputFormat): string {
  if (format === 'json') return `${JSON.stringify(result.rows, null, 2)}\n`;
  if (format === 'csv') {
    return [result.columns.map(csvCell).join(','), ...result.rows.map((r) => result.columns.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
  }
  const cells = result.rows.map((r) => result.columns.map((c) => (r[c] === null || r[c] === undefined ? 'NULL' : cellText(r[c]).replace(/\n/g, '\\n'))));
  const widths = result.columns.map((c, i) => Math.min(60, Math.max(c.length, ...cells.map((row) => row[i]!.length))));
  const fit = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  const lines = [
    result.columns.map((c, i) => fit(c, widths[i]!)).join(' │ '),
    widths.map((w) => '─'.repeat(w)).join('─┼─'),
    ...cells.map((row) => row.map((v, i) => fit(v, widths[i]!)).join(' │ ')),
  ];
  return `${lines.join('\n')}\n(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})\n`;
}
