/**
 * `lakeloader status`: a source at a glance — tables by load status, rows loaded, CDC lag (Kafka
 * consumer lag and WAL distance, when reachable), the latest schema changes and dead letters.
 * Unreachable PostgreSQL or Kafka is reported, not fatal; the exit code says whether any table is
 * failed or blocked.
 */
import type { LakeloaderConfig } from '../config/load.js';
import { getSource, sourceNamespace } from '../config/load.js';
import { errorMessage } from '../errors.js';
import { Lakehouse } from '../lakehouse/session.js';
import { logger } from '../log/logger.js';
import { connectPg } from '../source/postgres/connection.js';
import { CDC_STATUS_TABLE, CdcStatusStore, type CdcStatusRow } from '../state/cdc-status.js';
import { DEAD_LETTERS_TABLE } from '../state/dead-letters.js';
import { MAINTENANCE_RUNS_TABLE, MaintenanceRunStore } from '../state/maintenance-runs.js';
import { SCHEMA_CHANGES_TABLE } from '../state/schema-changes.js';
import { listIcebergTables } from './iceberg.js';
import { cdcGroupId, kafkaLag, topicFor, type KafkaLagReport } from './kafka-lag.js';
import { appliedLsn, lsnDistance, minLsn } from './positions.js';
import { slotInfo, sourceSlotName } from './source.js';

/** Load states that make `status` exit non-zero. */
export const PROBLEM_STATUSES = new Set(['failed', 'blocked_schema', 'blocked']);

/** Tables CDC keeps up to date (their position counts for the lag). */
const REPLICATED_STATUSES = new Set(['completed', 'cdc_only', 'blocked_schema', 'blocked']);
const followedByCdc = (s: CdcStatusRow) => REPLICATED_STATUSES.has(s.load_status) && s.replication !== 'not_replicated';

export interface StatusReport {
  source: string;
  namespace: string;
  /** False when the namespace has no _cdc_status yet (never loaded). */
  loaded: boolean;
  tables: { total: number; by_status: Record<string, number> };
  rows_loaded: number;
  /** Failed or blocked tables, with their error. */
  problems: { table: string; load_status: string; error: string | null; updated_at: string | null }[];
  cdc: {
    source_lsn: string | null;
    /** Why the source position is unknown (PostgreSQL unreachable…). */
    source_error?: string;
    min_applied_lsn: string | null;
    min_applied_table: string | null;
    /** WAL bytes from the lowest applied position to the source's current position (an upper bound of the lag: quiet tables keep old positions). */
    lsn_distance_bytes: number | null;
    events_applied: number;
    last_event_at: string | null;
    slot: { name: string; exists: boolean; active: boolean; confirmed_flush_lsn: string | null; behind_bytes: number | null } | null;
    kafka: KafkaLagReport | { configured: false };
  };
  schema_changes: { table_name: string; change_timestamp: string; change_type: string; column_name: string | null }[];
  /** Rows in _dead_letters; null when the table does not exist. */
  dead_letters: number | null;
  /** The latest maintenance run of each table (`_maintenance_runs`); null when maintenance never ran. */
  maintenance: {
    enabled: boolean;
    tables_maintained: number;
    last_run_at: string | null;
    /** Tables whose latest run failed. */
    failed: { table: string; finished_at: string; error: string }[];
    latest: { table: string; trigger: string; finished_at: string; actions: string; delete_files_after: number; snapshots_after: number }[];
  } | null;
  exit_code: number;
}

export interface StatusOptions {
  source: string;
  /** Timeout of the Kafka lag lookup. */
  kafkaTimeoutMs?: number;
}

export async function runStatus(config: LakeloaderConfig, options: StatusOptions): Promise<StatusReport> {
  const source = getSource(config, options.source);
  const namespace = sourceNamespace(options.source, source);
  const log = logger.child({ job: 'status', source: options.source });
  const lakehouse = await Lakehouse.open(config.lakehouse);
  const tables = new Set(await listIcebergTables(lakehouse, namespace));
  const statuses = tables.has(CDC_STATUS_TABLE) ? [...(await new CdcStatusStore(lakehouse, namespace).readAll()).values()] : [];

  const byStatus: Record<string, number> = {};
  for (const s of statuses) byStatus[s.load_status] = (byStatus[s.load_status] ?? 0) + 1;
  const problems = statuses.filter((s) => PROBLEM_STATUSES.has(s.load_status))
    .sort((a, b) => a.table_name.localeCompare(b.table_name))
    .map((s) => ({ table: s.table_name, load_status: s.load_status, error: s.error, updated_at: s.updated_at ?? null }));

  const replicated = statuses.filter((s) => followedByCdc(s) && appliedLsn(s));
  const minApplied = minLsn(replicated.map((s) => appliedLsn(s)));
  const minTable = replicated.find((s) => appliedLsn(s) && minApplied && appliedLsn(s)!.toUpperCase() === minApplied)?.table_name ?? null;
  const lastEvent = statuses.map((s) => s.last_event_at).filter((v): v is string => Boolean(v)).sort().at(-1) ?? null;

  const cdc: StatusReport['cdc'] = {
    source_lsn: null,
    min_applied_lsn: minApplied,
    min_applied_table: minTable,
    lsn_distance_bytes: null,
    events_applied: statuses.reduce((a, s) => a + Number(s.events_applied ?? 0), 0),
    last_event_at: lastEvent,
    slot: null,
    kafka: { configured: false },
  };

  if (source.type === 'postgres') {
    try {
      const client = await connectPg(source, { connectionTimeoutMillis: 5000 });
      try {
        const { rows } = await client.query<{ lsn: string }>(
          'SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS lsn');
        cdc.source_lsn = rows[0]!.lsn;
        const slot = await slotInfo(client, sourceSlotName(options.source, source));
        cdc.slot = {
          name: slot.name, exists: slot.exists, active: slot.active, confirmed_flush_lsn: slot.confirmedFlushLsn,
          behind_bytes: slot.confirmedFlushLsn ? Number(lsnDistance(slot.confirmedFlushLsn, cdc.source_lsn)) : null,
        };
        if (minApplied) cdc.lsn_distance_bytes = Number(lsnDistance(minApplied, cdc.source_lsn));
      } finally {
        await client.end().catch(() => undefined);
      }
    } catch (err) {
      cdc.source_error = `PostgreSQL ${source.connection.host}:${source.connection.port}/${source.connection.database} unreachable: ${errorMessage(err)}`;
      log.warn(cdc.source_error);
    }
  }

  if (source.kafka) {
    const cluster = config.kafkaClusters[source.kafka.cluster];
    if (cluster) {
      const topics = statuses.filter(followedByCdc).map((s) => topicFor(source, options.source, s.table_name)).sort();
      cdc.kafka = await kafkaLag(source.kafka.cluster, cluster, cdcGroupId(options.source, source), topics, options.kafkaTimeoutMs ?? 10_000);
    }
  }

  const schemaChanges = tables.has(SCHEMA_CHANGES_TABLE)
    ? (await lakehouse.query(
      `SELECT table_name, strftime(change_timestamp AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ') AS change_timestamp, change_type, column_name ` +
      `FROM ${lakehouse.ref(namespace, SCHEMA_CHANGES_TABLE)} WHERE change_type <> 'baseline' ORDER BY change_timestamp DESC, table_name LIMIT 5`,
    )).map((r) => ({ table_name: String(r.table_name), change_timestamp: String(r.change_timestamp), change_type: String(r.change_type), column_name: r.column_name === null ? null : String(r.column_name) }))
    : [];
  const deadLetters = tables.has(DEAD_LETTERS_TABLE)
    ? Number((await lakehouse.query(`SELECT count(*)::VARCHAR AS n FROM ${lakehouse.ref(namespace, DEAD_LETTERS_TABLE)}`))[0]?.n ?? 0)
    : null;

  let maintenance: StatusReport['maintenance'] = null;
  if (tables.has(MAINTENANCE_RUNS_TABLE)) {
    const latest = await new MaintenanceRunStore(lakehouse, namespace).latest();
    maintenance = {
      enabled: source.maintenance.enabled,
      tables_maintained: latest.length,
      last_run_at: latest.map((r) => r.finished_at).sort().at(-1) ?? null,
      failed: latest.filter((r) => r.error && !/rescheduled/.test(r.error)).map((r) => ({ table: r.table_name, finished_at: r.finished_at, error: r.error! })),
      latest: latest.map((r) => ({ table: r.table_name, trigger: r.trigger, finished_at: r.finished_at, actions: r.actions, delete_files_after: r.delete_files_after, snapshots_after: r.snapshots_after })),
    };
  }

  return {
    source: options.source,
    namespace,
    loaded: tables.has(CDC_STATUS_TABLE),
    tables: { total: statuses.length, by_status: byStatus },
    rows_loaded: statuses.reduce((a, s: CdcStatusRow) => a + Number(s.rows_loaded ?? 0), 0),
    problems,
    cdc,
    schema_changes: schemaChanges,
    dead_letters: deadLetters,
    maintenance,
    exit_code: problems.length > 0 ? 1 : 0,
  };
}
