/**
 * `_cdc_status`: one row per source table, in the source's Iceberg namespace, so status commits in the
 * same Iceberg transaction as the data it describes and any engine can query it.
 */
import type { Lakehouse, LakehouseTx, Row } from '../lakehouse/session.js';
import { quoteIdent, quoteString } from '../lakehouse/sql.js';
import type { ColumnSpec } from '../lakehouse/types.js';

export const CDC_STATUS_TABLE = '_cdc_status';

export type LoadStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'cdc_only' | 'blocked_schema' | 'blocked';

/**
 * Whether CDC can follow a table: `logical` (its changes reach Debezium through the publication) or
 * `not_replicated` (loaded once; logical decoding never sees its changes, e.g. an UNLOGGED table, or
 * the publication refused it), with the reason in `replication_reason`.
 */
export type Replication = 'logical' | 'not_replicated';

export interface CdcStatusRow {
  table_name: string;
  iceberg_table: string | null;
  load_status: LoadStatus;
  key_columns: string | null;
  key_source: string | null;
  rows_loaded: number | null;
  snapshot_lsn: string | null;
  snapshot_time: string | null;
  /** pg_current_snapshot() of the load (xmin:xmax:xip…): which transactions the loaded rows include. */
  snapshot_xids: string | null;
  slot_name: string | null;
  iceberg_snapshot_id: string | null;
  started_at: string | null;
  finished_at: string | null;
  attempts: number;
  error: string | null;
  last_applied_lsn: string | null;
  last_event_at: string | null;
  events_applied: number | null;
  kafka_offsets: string | null;
  updated_at: string;
  /** null in rows written before this column existed: read as `logical`. */
  replication?: Replication | null;
  replication_reason?: string | null;
  /** Partitioned tables: the leaf partitions (JSON array of schema.table) the load read. */
  partitions?: string | null;
}

export const CDC_STATUS_COLUMNS: ColumnSpec[] = [
  { name: 'table_name', type: 'string', nullable: false, comment: 'source schema.table' },
  { name: 'iceberg_table', type: 'string' },
  { name: 'load_status', type: 'string', nullable: false },
  { name: 'key_columns', type: 'string' },
  { name: 'key_source', type: 'string' },
  { name: 'rows_loaded', type: 'long' },
  { name: 'snapshot_lsn', type: 'string' },
  { name: 'snapshot_time', type: 'timestamptz' },
  { name: 'snapshot_xids', type: 'string', comment: 'pg_current_snapshot() of the load' },
  { name: 'slot_name', type: 'string' },
  { name: 'iceberg_snapshot_id', type: 'long' },
  { name: 'started_at', type: 'timestamptz' },
  { name: 'finished_at', type: 'timestamptz' },
  { name: 'attempts', type: 'int' },
  { name: 'error', type: 'string' },
  { name: 'last_applied_lsn', type: 'string' },
  { name: 'last_event_at', type: 'timestamptz' },
  { name: 'events_applied', type: 'long' },
  { name: 'kafka_offsets', type: 'string' },
  { name: 'updated_at', type: 'timestamptz', nullable: false },
  { name: 'replication', type: 'string', comment: 'logical | not_replicated' },
  { name: 'replication_reason', type: 'string' },
  { name: 'partitions', type: 'string', comment: 'leaf partitions of a partitioned table (JSON)' },
];

export class CdcStatusStore {
  constructor(private readonly lakehouse: Lakehouse, readonly namespace: string) {}

  get ref(): string {
    return this.lakehouse.ref(this.namespace, CDC_STATUS_TABLE);
  }

  async ensure(): Promise<void> {
    await this.lakehouse.createTable(this.namespace, CDC_STATUS_TABLE, CDC_STATUS_COLUMNS, { ifNotExists: true });
    await this.lakehouse.addMissingColumns(this.namespace, CDC_STATUS_TABLE, CDC_STATUS_COLUMNS);
  }

  async exists(): Promise<boolean> {
    return this.lakehouse.tableExists(this.namespace, CDC_STATUS_TABLE);
  }

  async readAll(): Promise<Map<string, CdcStatusRow>> {
    const rows = (await this.lakehouse.query(`SELECT * FROM ${this.ref}`)) as Row[];
    return new Map(rows.map((r) => {
      const row = r as unknown as CdcStatusRow;
      return [row.table_name, { ...row, attempts: Number(row.attempts ?? 0), rows_loaded: row.rows_loaded === null ? null : Number(row.rows_loaded) }];
    }));
  }

  /** Statements replacing one table's row; run them inside the transaction that commits the data. */
  upsertStatements(row: CdcStatusRow): string[] {
    const values = CDC_STATUS_COLUMNS.map((c) => {
      const v = row[c.name as keyof CdcStatusRow];
      return v === null || v === undefined ? 'NULL' : typeof v === 'number' ? String(v) : quoteString(String(v));
    });
    const types = CDC_STATUS_COLUMNS.map((c) => c.type === 'timestamptz' ? 'TIMESTAMPTZ' : c.type === 'long' ? 'BIGINT' : c.type === 'int' ? 'INTEGER' : 'VARCHAR');
    return [
      `DELETE FROM ${this.ref} WHERE table_name = ${quoteString(row.table_name)}`,
      `INSERT INTO ${this.ref} (${CDC_STATUS_COLUMNS.map((c) => quoteIdent(c.name)).join(', ')}) VALUES (${values.map((v, i) => `CAST(${v} AS ${types[i]})`).join(', ')})`,
    ];
  }

  async upsert(row: CdcStatusRow, tx?: LakehouseTx): Promise<void> {
    const run = async (t: LakehouseTx) => {
      for (const s of this.upsertStatements(row)) await t.run(s);
    };
    if (tx) await run(tx);
    else await this.lakehouse.transaction(run);
  }
}
