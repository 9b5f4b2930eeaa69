/** `_maintenance_runs`: one row per table per maintenance run (automatic or `lakeloader maintain`), append-only. */
import type { Lakehouse } from '../lakehouse/session.js';
import type { ColumnSpec } from '../lakehouse/types.js';

export const MAINTENANCE_RUNS_TABLE = '_maintenance_runs';

export interface MaintenanceRunRow {
  run_id: string;
  table_name: string;
  /** `auto` (the CDC consumer), `manual` (`lakeloader maintain`), `bulk-load` (after a load). */
  trigger: string;
  started_at: string;
  finished_at: string;
  /** Comma-separated: rewrite, expire, orphans, trim_metadata. */
  actions: string;
  reasons: string;
  data_files_before: number;
  data_files_after: number;
  delete_files_before: number;
  delete_files_after: number;
  snapshots_before: number;
  snapshots_after: number;
  /** Files the engine deleted: expired snapshots' files and orphans. */
  files_deleted: number;
  /** The engine's own counts, as JSON. */
  details: string;
  error: string | null;
}

export const MAINTENANCE_RUNS_COLUMNS: ColumnSpec[] = [
  { name: 'run_id', type: 'string', nullable: false },
  { name: 'table_name', type: 'string', nullable: false },
  { name: 'trigger', type: 'string', nullable: false },
  { name: 'started_at', type: 'timestamptz', nullable: false },
  { name: 'finished_at', type: 'timestamptz', nullable: false },
  { name: 'actions', type: 'string', nullable: false },
  { name: 'reasons', type: 'string' },
  { name: 'data_files_before', type: 'long' },
  { name: 'data_files_after', type: 'long' },
  { name: 'delete_files_before', type: 'long' },
  { name: 'delete_files_after', type: 'long' },
  { name: 'snapshots_before', type: 'long' },
  { name: 'snapshots_after', type: 'long' },
  { name: 'files_deleted', type: 'long' },
  { name: 'details', type: 'string' },
  { name: 'error', type: 'string' },
];

export class MaintenanceRunStore {
  constructor(private readonly lakehouse: Lakehouse, readonly namespace: string) {}

  async ensure(): Promise<void> {
    await this.lakehouse.createTable(this.namespace, MAINTENANCE_RUNS_TABLE, MAINTENANCE_RUNS_COLUMNS, { ifNotExists: true });
  }

  async record(rows: MaintenanceRunRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.lakehouse.append(this.namespace, MAINTENANCE_RUNS_TABLE, MAINTENANCE_RUNS_COLUMNS,
      rows.map((r) => MAINTENANCE_RUNS_COLUMNS.map((c) => r[c.name as keyof MaintenanceRunRow])));
  }

  /** The latest run of each table. */
  async latest(): Promise<MaintenanceRunRow[]> {
    const ref = this.lakehouse.ref(this.namespace, MAINTENANCE_RUNS_TABLE);
    const rows = await this.lakehouse.query(
      `SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER (PARTITION BY table_name ORDER BY finished_at DESC) AS rn FROM ${ref}) WHERE rn = 1 ORDER BY table_name`);
    return rows.map((r) => Object.fromEntries(MAINTENANCE_RUNS_COLUMNS.map((c) => [c.name, normalise(r[c.name])])) as unknown as MaintenanceRunRow);
  }
}

function normalise(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value !== null && typeof value === 'object' && 'toString' in value) return String(value);
  return value;
}
