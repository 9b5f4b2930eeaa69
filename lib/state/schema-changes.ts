/** `_schema_changes`: the audit trail of every table's schema — a baseline at load, then each difference. */
import type { Lakehouse } from '../lakehouse/session.js';
import type { ColumnSpec } from '../lakehouse/types.js';

export const SCHEMA_CHANGES_TABLE = '_schema_changes';

export type SchemaChangeType = 'baseline' | 'column_added' | 'column_dropped' | 'type_changed' | 'type_widened' | 'nullability_changed' | 'table_created' | 'incompatible';

export interface SchemaChange {
  table_name: string;
  change_type: SchemaChangeType;
  column_name: string | null;
  schema_before: string | null;
  schema_after: string | null;
  iceberg_snapshot_id: string | null;
  notification_sent?: boolean;
  notified_at?: string | null;
  /** LSN of the change event that showed the difference (CDC); null for bulk-load rows. */
  source_lsn?: string | null;
}

export const SCHEMA_CHANGES_COLUMNS: ColumnSpec[] = [
  { name: 'table_name', type: 'string', nullable: false },
  { name: 'change_timestamp', type: 'timestamptz', nullable: false },
  { name: 'change_type', type: 'string', nullable: false },
  { name: 'column_name', type: 'string' },
  { name: 'schema_before', type: 'string' },
  { name: 'schema_after', type: 'string' },
  { name: 'iceberg_snapshot_id', type: 'long' },
  { name: 'notification_sent', type: 'boolean' },
  { name: 'notified_at', type: 'timestamptz' },
  { name: 'source_lsn', type: 'string', comment: 'LSN of the change event that showed the difference (CDC)' },
];

export interface SchemaColumn { name: string; type: string; nullable: boolean; source_type?: string }

/** Column-level differences between two schemas, in a stable order. */
export function diffSchemas(before: SchemaColumn[], after: SchemaColumn[]): { change_type: SchemaChangeType; column_name: string }[] {
  const changes: { change_type: SchemaChangeType; column_name: string }[] = [];
  const old = new Map(before.map((c) => [c.name, c]));
  const cur = new Map(after.map((c) => [c.name, c]));
  for (const c of after) {
    const o = old.get(c.name);
    if (!o) changes.push({ change_type: 'column_added', column_name: c.name });
    else if (o.type !== c.type) changes.push({ change_type: 'type_changed', column_name: c.name });
    else if (o.nullable !== c.nullable) changes.push({ change_type: 'nullability_changed', column_name: c.name });
  }
  for (const o of before) if (!cur.has(o.name)) changes.push({ change_type: 'column_dropped', column_name: o.name });
  return changes;
}

export class SchemaChangeStore {
  constructor(private readonly lakehouse: Lakehouse, readonly namespace: string) {}

  async ensure(): Promise<void> {
    await this.lakehouse.createTable(this.namespace, SCHEMA_CHANGES_TABLE, SCHEMA_CHANGES_COLUMNS, { ifNotExists: true });
    await this.lakehouse.addMissingColumns(this.namespace, SCHEMA_CHANGES_TABLE, SCHEMA_CHANGES_COLUMNS);
  }

  /** Changes CDC recorded, with the position of the event that showed each. */
  async readCdcChanges(): Promise<{ table_name: string; change_type: SchemaChangeType; column_name: string | null; source_lsn: string }[]> {
    const rows = await this.lakehouse.query(
      `SELECT table_name, change_type, column_name, source_lsn FROM ${this.lakehouse.ref(this.namespace, SCHEMA_CHANGES_TABLE)} WHERE source_lsn IS NOT NULL`,
    );
    return rows.map((r) => ({ table_name: String(r.table_name), change_type: r.change_type as SchemaChangeType, column_name: r.column_name === null ? null : String(r.column_name), source_lsn: String(r.source_lsn) }));
  }

  async record(changes: SchemaChange[]): Promise<void> {
    if (changes.length === 0) return;
    const now = new Date().toISOString();
    await this.lakehouse.append(this.namespace, SCHEMA_CHANGES_TABLE, SCHEMA_CHANGES_COLUMNS, changes.map((c) => [
      c.table_name, now, c.change_type, c.column_name, c.schema_before, c.schema_after, c.iceberg_snapshot_id, c.notification_sent ?? false, c.notified_at ?? null, c.source_lsn ?? null,
    ]));
  }
}
