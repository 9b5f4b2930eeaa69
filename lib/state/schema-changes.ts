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
  }

  async record(changes: SchemaChange[]): Promise<void> {
    if (changes.length === 0) return;
    const now = new Date().toISOString();
    await this.lakehouse.append(this.namespace, SCHEMA_CHANGES_TABLE, SCHEMA_CHANGES_COLUMNS, changes.map((c) => [
      c.table_name, now, c.change_type, c.column_name, c.schema_before, c.schema_after, c.iceberg_snapshot_id, c.notification_sent ?? false, c.notified_at ?? null,
    ]));
  }
}
