/**
 * The consistent cut of a bulk load: a logical replication slot created with an exported snapshot.
 * Its consistent point is exactly the LSN the snapshot shows, and CDC (Debezium on that slot) continues
 * from exactly there. The snapshot lives as long as the replication connection stays idle and open.
 */
import pg from 'pg';
import type { PostgresSourceConfig } from '../../config/schema.js';
import { JobError, errorMessage } from '../../errors.js';
import { quoteIdent } from '../../lakehouse/sql.js';
import { pgClientConfig } from './connection.js';

export interface LoadSnapshot {
  snapshotName: string;
  /** LSN of the snapshot (text form X/Y). */
  lsn: string;
  snapshotTime: Date;
  /** pg_current_snapshot() seen by the snapshot: decides exactly which transactions' changes CDC must still apply. */
  visibleXids: string;
  slotName: string;
  /** True when this load created the CDC slot (false: a temporary slot only provided the snapshot). */
  createdSlot: boolean;
  release(): Promise<void>;
}

interface SlotRow { slot_name: string; consistent_point: string; snapshot_name: string }

export async function slotState(client: pg.Client, slotName: string): Promise<{ exists: boolean; active: boolean; confirmedLsn: string | null }> {
  const { rows } = await client.query<{ active: boolean; confirmed_flush_lsn: string | null }>(
    'SELECT active, confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1', [slotName]);
  return { exists: rows.length > 0, active: rows[0]?.active ?? false, confirmedLsn: rows[0]?.confirmed_flush_lsn ?? null };
}

export async function createLoadSnapshot(
  source: PostgresSourceConfig,
  control: pg.Client,
  slotName: string,
  options: { recreateSlot: boolean },
): Promise<LoadSnapshot> {
  const state = await slotState(control, slotName);
  if (state.exists && options.recreateSlot) {
    if (state.active) {
      throw new JobError(`replication slot ${slotName} is in use (a Debezium connector streams from it): stop the connector before reloading everything with --no-resume`);
    }
    await control.query('SELECT pg_drop_replication_slot($1)', [slotName]);
  }
  const createSlot = !state.exists || options.recreateSlot;
  // A reload of some tables, with the CDC slot already there, still needs an exact snapshot LSN:
  // a temporary slot gives it and disappears with the connection.
  const snapshotSlot = createSlot ? slotName : `${slotName.slice(0, 40)}_tmp_${process.pid}_${Date.now() % 1e6}`;
  const replication = new pg.Client(pgClientConfig(source, { replication: 'database' } as pg.ClientConfig));
  try {
    await replication.connect();
    const { rows } = await replication.query<SlotRow>(
      `CREATE_REPLICATION_SLOT ${quoteIdent(snapshotSlot)} ${createSlot ? '' : 'TEMPORARY '}LOGICAL pgoutput EXPORT_SNAPSHOT`,
    );
    const row = rows[0];
    if (!row) throw new Error('CREATE_REPLICATION_SLOT returned no row');
    const snapshotTime = (await control.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0]!.now;
    const visibleXids = await snapshotVisibility(source, row.snapshot_name);
    return {
      snapshotName: row.snapshot_name,
      lsn: row.consistent_point,
      snapshotTime,
      visibleXids,
      slotName,
      createdSlot: createSlot,
      release: () => replication.end().catch(() => undefined),
    };
  } catch (err) {
    await replication.end().catch(() => undefined);
    throw new JobError(`cannot create replication slot ${snapshotSlot} with an exported snapshot: ${errorMessage(err)} (the role needs REPLICATION and wal_level=logical)`, { cause: err });
  }
}

/** Joins the exported snapshot once to read which transaction ids it sees. */
async function snapshotVisibility(source: PostgresSourceConfig, snapshotName: string): Promise<string> {
  const client = new pg.Client(pgClientConfig(source));
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`SET TRANSACTION SNAPSHOT '${snapshotName.replace(/'/g, "''")}'`);
    const { rows } = await client.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s');
    await client.query('COMMIT');
    return rows[0]!.s;
  } finally {
    await client.end().catch(() => undefined);
  }
}
