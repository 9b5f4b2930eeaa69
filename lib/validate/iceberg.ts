/** The Iceberg side of a validation: the namespace's tables, each one's current snapshot, row count and columns. */
import type { Lakehouse } from '../lakehouse/session.js';
import { quoteString } from '../lakehouse/sql.js';

/** Tables lakeloader keeps beside the data (`_cdc_status`, `_schema_changes`, `_dead_letters`, …) start with `_`. */
export function isStateTable(name: string): boolean {
  return name.startsWith('_');
}

export async function listIcebergTables(lakehouse: Lakehouse, namespace: string): Promise<string[]> {
  const rows = await lakehouse.query(
    `SELECT table_name FROM duckdb_tables() WHERE database_name = ${quoteString(lakehouse.alias)} AND schema_name = ${quoteString(namespace)} ORDER BY table_name`);
  return rows.map((r) => String(r.table_name));
}

export interface IcebergSnapshot {
  id: string;
  /** ISO time of the snapshot (Iceberg timestamp-ms, UTC). */
  at: string;
}

/** The table's latest snapshot (null for a table never written). */
export async function currentSnapshot(lakehouse: Lakehouse, namespace: string, table: string): Promise<IcebergSnapshot | null> {
  // the fully quoted reference, as a string: iceberg_snapshots resolves it in the attached catalog
  const name = lakehouse.ref(namespace, table);
  const rows = await lakehouse.query(
    `SELECT snapshot_id::VARCHAR AS id, strftime(timestamp_ms, '%Y-%m-%dT%H:%M:%S.%gZ') AS at FROM iceberg_snapshots(${quoteString(name)}) ORDER BY sequence_number DESC LIMIT 1`);
  const r = rows[0];
  return r ? { id: String(r.id), at: String(r.at) } : null;
}

export async function countIcebergRows(lakehouse: Lakehouse, namespace: string, table: string, snapshot: IcebergSnapshot | null): Promise<number> {
  if (!snapshot) return 0;
  const rows = await lakehouse.query(`SELECT count(*)::VARCHAR AS n FROM ${lakehouse.ref(namespace, table)} AT (VERSION => ${snapshot.id})`);
  return Number(rows[0]?.n ?? 0);
}

/** DuckDB's catalog spells some types long-hand (`TIMESTAMP WITH TIME ZONE`); compare them in the short form types.ts uses. */
export function normalizeDuckdbType(type: string): string {
  const t = type.trim().toUpperCase().replace(/\s+/g, ' ');
  const aliases: Record<string, string> = {
    'TIMESTAMP WITH TIME ZONE': 'TIMESTAMPTZ', 'TIME WITH TIME ZONE': 'TIMETZ', INT: 'INTEGER', INT4: 'INTEGER', INT8: 'BIGINT',
    LONG: 'BIGINT', REAL: 'FLOAT', FLOAT4: 'FLOAT', FLOAT8: 'DOUBLE', STRING: 'VARCHAR', TEXT: 'VARCHAR', BYTEA: 'BLOB', BOOL: 'BOOLEAN',
  };
  return aliases[t] ?? t.replace(/\s*,\s*/g, ',');
}

/** Column name → DuckDB type (normalized), in table order. */
export async function icebergColumnTypes(lakehouse: Lakehouse, namespace: string, table: string): Promise<Map<string, string>> {
  const rows = await lakehouse.query(
    `SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ${quoteString(lakehouse.alias)} ` +
    `AND schema_name = ${quoteString(namespace)} AND table_name = ${quoteString(table)} ORDER BY column_index`);
  return new Map(rows.map((r) => [String(r.column_name), normalizeDuckdbType(String(r.data_type))]));
}
