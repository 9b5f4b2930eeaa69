/** The PostgreSQL side of a validation: one consistent snapshot, its WAL position, and the CDC slot's state. */
import type pg from 'pg';
import type { PostgresSourceConfig } from '../config/schema.js';
import { JobError, errorMessage } from '../errors.js';
import { quoteIdent } from '../lakehouse/sql.js';
import { connectPg } from '../source/postgres/connection.js';

export interface SourceSnapshot {
  /** The connection holding the REPEATABLE READ snapshot; query it for counts and catalog reads. */
  client: pg.Client;
  /** WAL position when the snapshot was taken (text X/Y). */
  lsn: string;
  takenAt: string;
  /** Exported snapshot other connections can join (SET TRANSACTION SNAPSHOT). */
  snapshotName: string;
  /** Ends the snapshot transaction (no longer holding back VACUUM); the connection stays for slot queries. */
  endSnapshot(): Promise<void>;
  release(): Promise<void>;
}

export async function openSourceSnapshot(sourceName: string, source: PostgresSourceConfig): Promise<SourceSnapshot> {
  let client: pg.Client;
  try {
    client = await connectPg(source);
  } catch (err) {
    throw new JobError(`cannot connect to PostgreSQL source ${sourceName} at ${source.connection.host}:${source.connection.port}/${source.connection.database}: ${errorMessage(err)}`, { cause: err });
  }
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    // the snapshot is taken by this first statement; the WAL position is read in the same statement
    const { rows } = await client.query<{ lsn: string; taken_at: Date; snapshot: string }>(
      `SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS lsn,
              clock_timestamp() AS taken_at, pg_export_snapshot() AS snapshot`);
    const row = rows[0]!;
    return {
      client,
      lsn: row.lsn,
      takenAt: row.taken_at.toISOString(),
      snapshotName: row.snapshot,
      endSnapshot: async () => {
        await client.query('COMMIT');
      },
      release: async () => {
        await client.query('COMMIT').catch(() => undefined);
        await client.end().catch(() => undefined);
      },
    };
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new JobError(`cannot open a snapshot on source ${sourceName}: ${errorMessage(err)}`, { cause: err });
  }
}

export async function countRows(client: pg.Client, schema: string, table: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${quoteIdent(schema)}.${quoteIdent(table)}`);
  return Number(rows[0]!.n);
}

export interface SlotInfo {
  name: string;
  exists: boolean;
  active: boolean;
  confirmedFlushLsn: string | null;
  restartLsn: string | null;
}

export async function slotInfo(client: pg.Client, slotName: string): Promise<SlotInfo> {
  const { rows } = await client.query<{ active: boolean; confirmed: string | null; restart: string | null }>(
    'SELECT active, confirmed_flush_lsn::text AS confirmed, restart_lsn::text AS restart FROM pg_replication_slots WHERE slot_name = $1', [slotName]);
  const r = rows[0];
  return { name: slotName, exists: Boolean(r), active: r?.active ?? false, confirmedFlushLsn: r?.confirmed ?? null, restartLsn: r?.restart ?? null };
}

/** The slot the bulk load created for a source (sources.yaml slot_name, default lakeloader_<source>). */
export function sourceSlotName(sourceName: string, source: PostgresSourceConfig): string {
  return source.slot_name ?? `lakeloader_${sourceName}`.toLowerCase();
}
