/**
 * What the consumer knows about each source table between micro-batches: where it is (Kafka offsets,
 * applied LSN), how to write it (Iceberg columns, key, mode) and whether it may be written at all.
 */
import type { IcebergPrimitive } from '../lakehouse/types.js';
import { isIcebergPrimitive } from '../lakehouse/types.js';
import type { CdcStatusRow } from '../state/cdc-status.js';
import { alreadyLoaded } from './visibility.js';

export interface TableState {
  sourceTable: string;
  icebergTable: string;
  mode: 'keyed' | 'changelog';
  keyColumns: string[];
  columns: { name: string; type: IcebergPrimitive }[];
  status: CdcStatusRow;
  /** Next offset to read per partition of the table's topic (what is committed with the data). */
  offsets: Map<number, bigint>;
  topic: string | null;
  /** True when the change is already in the bulk load. */
  alreadyLoaded: (e: { lsn: bigint; txId: bigint | null }) => boolean;
}

/** `{"topic": "...", "partitions": {"0": "42"}}` as stored in _cdc_status.kafka_offsets. */
export function parseOffsets(text: string | null): { topic: string | null; offsets: Map<number, bigint> } {
  if (!text) return { topic: null, offsets: new Map() };
  const parsed = JSON.parse(text) as { topic?: string; partitions?: Record<string, string> };
  return {
    topic: parsed.topic ?? null,
    offsets: new Map(Object.entries(parsed.partitions ?? {}).map(([p, o]) => [Number(p), BigInt(o)])),
  };
}

export function formatOffsets(topic: string | null, offsets: Map<number, bigint>): string | null {
  if (!topic || offsets.size === 0) return null;
  return JSON.stringify({ topic, partitions: Object.fromEntries([...offsets].sort(([a], [b]) => a - b).map(([p, o]) => [String(p), o.toString()])) });
}

/** The Iceberg table of a `_cdc_status` row: `iceberg_table` without the namespace (table names may hold dots). */
export function icebergTableOf(status: Pick<CdcStatusRow, 'iceberg_table'>, namespace: string): string {
  const full = status.iceberg_table!;
  return full.startsWith(`${namespace}.`) ? full.slice(namespace.length + 1) : full.split('.').pop()!;
}

export function tableStateFromStatus(status: CdcStatusRow, columns: { name: string; type: string }[], namespace: string): TableState {
  const base = icebergTableOf(status, namespace);
  const { topic, offsets } = parseOffsets(status.kafka_offsets);
  const keyColumns = status.key_columns ? status.key_columns.split(',') : [];
  const mode = status.key_source === 'none' || keyColumns.length === 0 ? 'changelog' : 'keyed';
  return {
    sourceTable: status.table_name,
    icebergTable: mode === 'changelog' ? changelogTableName(base) : base,
    mode,
    keyColumns,
    columns: columns.filter((c) => isIcebergPrimitive(c.type)).map((c) => ({ name: c.name, type: c.type as IcebergPrimitive })),
    status,
    offsets,
    topic,
    alreadyLoaded: alreadyLoaded({ snapshotLsn: status.snapshot_lsn, snapshotXids: status.snapshot_xids }),
  };
}

/** Tables without a key get their changes appended to `<table>_changelog` (op, lsn, source time). */
export function changelogTableName(icebergTable: string): string {
  return `${icebergTable}_changelog`;
}

/** `<prefix>.<schema>.<table>` → `schema.table` */
export function tableOfTopic(topic: string, prefix: string): string | null {
  if (!topic.startsWith(`${prefix}.`)) return null;
  const rest = topic.slice(prefix.length + 1);
  return rest.split('.').length === 2 ? rest : null;
}
