/**
 * Schema changes seen in change events, applied to Iceberg before the data that needs them:
 * ADD COLUMN, safe promotions, dropped columns kept (NULL from now on), incompatible changes block the
 * table. New tables arriving only through CDC are created from the event schema. Every change is
 * recorded in `_schema_changes` and announced (log + webhooks).
 */
import type { PostgresSourceConfig } from '../config/schema.js';
import type { RestCatalogClient } from '../lakehouse/rest-catalog.js';
import type { Lakehouse } from '../lakehouse/session.js';
import { quoteIdent } from '../lakehouse/sql.js';
import { duckdbType, type ColumnSpec, type IcebergPrimitive } from '../lakehouse/types.js';
import { logger } from '../log/logger.js';
import { formatLsn, parseLsn } from '../source/postgres/lsn.js';
import { mapPgColumn, valuePolicyFor, type PgColumn } from '../source/postgres/type-mapping.js';
import type { CdcStatusRow, CdcStatusStore } from '../state/cdc-status.js';
import type { SchemaChange, SchemaChangeStore } from '../state/schema-changes.js';
import { icebergTableName } from '../bulk/bulk-load.js';
import { CHANGELOG_COLUMNS } from './applier.js';
import { pgColumnFromDebezium, type DecodedChange } from './debezium.js';
import type { CdcMetrics } from './metrics.js';
import { notifySchemaChange } from './notify.js';
import { planIsEmpty, planSchemaChange, type EventColumnType } from './schema-evolution.js';
import { alreadyLoaded } from './visibility.js';
import type { TableState } from './table-state.js';

export interface EvolverContext {
  lakehouse: Lakehouse;
  rest: RestCatalogClient;
  schemaChanges: SchemaChangeStore;
  status: CdcStatusStore;
  namespace: string;
  sourceName: string;
  source: PostgresSourceConfig;
  metrics: CdcMetrics;
  /** The table's generated columns: change events never carry them (PostgreSQL < 18 does not publish them). */
  generatedColumns?: (table: string) => readonly PgColumn[];
}

const META = new Set(CHANGELOG_COLUMNS.map((c) => c.name));

export class SchemaEvolver {
  /** Last event schema seen per table: most events repeat it, so the comparison runs once per schema. */
  private readonly seen = new Map<string, string>();
  /** The columns array of the last event schema found compatible, per table (identity check, no stringify). */
  private readonly seenColumns = new Map<string, readonly unknown[]>();
  /** Dropped columns already announced, so a restart does not announce them again. */
  private readonly announcedDrops = new Set<string>();
  private dropsLoaded = false;
  /**
   * Per table, the LSN of the event that showed its latest schema change. An event before it (read
   * again after a restart) predates the table's current schema: nothing may be inferred from it.
   */
  private readonly schemaLsn = new Map<string, bigint>();
  /** Changes already recorded (table, type, column, LSN): an event replayed after a crash records nothing twice. */
  private readonly recorded = new Set<string>();
  private historyLoaded = false;

  constructor(private readonly ctx: EvolverContext) {}

  /** The event's columns, and the table's generated columns it cannot carry. */
  private eventColumns(table: string, decoded: DecodedChange): EventColumnType[] {
    const sent = new Set(decoded.columns.map((c) => c.name));
    const generated = (this.ctx.generatedColumns?.(table) ?? []).filter((c) => !sent.has(c.name));
    return [...decoded.columns.map(pgColumnFromDebezium), ...generated].map((pg) => {
      const mapping = mapPgColumn(pg, this.ctx.source.column_types[`${table}.${pg.name}`], valuePolicyFor(this.ctx.source, table, pg.name));
      return { name: pg.name, type: mapping.icebergType, sourceType: mapping.sourceType };
    });
  }

  private async loadAnnouncedDrops(): Promise<void> {
    if (this.dropsLoaded) return;
    this.dropsLoaded = true;
    const rows = await this.ctx.lakehouse.query(
      `SELECT table_name, column_name FROM ${this.ctx.lakehouse.ref(this.ctx.namespace, '_schema_changes')} WHERE change_type = 'column_dropped'`,
    );
    for (const r of rows) this.announcedDrops.add(`${String(r.table_name)}.${String(r.column_name)}`);
  }

  private async loadHistory(): Promise<void> {
    if (this.historyLoaded) return;
    for (const c of await this.ctx.schemaChanges.readCdcChanges()) this.remember(c.table_name, c.change_type, c.column_name, parseLsn(c.source_lsn));
    this.historyLoaded = true;
  }

  private remember(table: string, type: string, column: string | null, lsn: bigint): void {
    this.recorded.add(JSON.stringify([table, type, column, lsn.toString()]));
    if (lsn > (this.schemaLsn.get(table) ?? -1n)) this.schemaLsn.set(table, lsn);
  }

  /** Records (and announces) the changes an event at `lsn` showed, each once whatever restarts happen. */
  private async record(table: string, changes: Omit<SchemaChange, 'table_name' | 'schema_before' | 'schema_after' | 'iceberg_snapshot_id'>[], before: unknown, after: unknown, icebergTable: string, lsn: bigint | null): Promise<void> {
    if (lsn !== null) {
      await this.loadHistory();
      changes = changes.filter((c) => !this.recorded.has(JSON.stringify([table, c.change_type, c.column_name, lsn.toString()])));
    }
    const snapshotId = await this.ctx.rest.currentSnapshotId(this.ctx.namespace, icebergTable).catch(() => null);
    const rows: SchemaChange[] = [];
    for (const c of changes) {
      const notice = {
        source: this.ctx.sourceName, table, change_type: c.change_type, column_name: c.column_name,
        detail: describe(c.change_type, c.column_name), schema_before: JSON.stringify(before), schema_after: JSON.stringify(after),
      };
      const sent = await notifySchemaChange(notice, this.ctx.source.notifications);
      rows.push({
        table_name: table, change_type: c.change_type, column_name: c.column_name, schema_before: notice.schema_before, schema_after: notice.schema_after,
        iceberg_snapshot_id: snapshotId, notification_sent: sent, notified_at: sent ? new Date().toISOString() : null, source_lsn: lsn === null ? null : formatLsn(lsn),
      });
      this.ctx.metrics.schemaChanges.inc({ table, change_type: c.change_type });
    }
    await this.ctx.schemaChanges.record(rows);
    if (lsn !== null) for (const c of changes) this.remember(table, c.change_type, c.column_name, lsn);
  }

  /** Forgets what was compared for a table whose Iceberg table was replaced (a reload). */
  forget(table: string): void {
    this.seen.delete(table);
    this.seenColumns.delete(table);
  }

  /** Brings the Iceberg table in line with the event's schema; false when the table is (now) blocked. */
  async evolve(state: TableState, decoded: DecodedChange): Promise<boolean> {
    if (decoded.columns.length === 0) return true; // a truncate carries no row: nothing to compare
    // the decoder hands out one columns array per distinct event schema: same array, same schema
    if (this.seenColumns.get(state.sourceTable) === decoded.columns) return true;
    const signature = JSON.stringify(decoded.columns.map((c) => [c.name, c.debeziumType, c.logicalName, c.parameters]));
    if (this.seen.get(state.sourceTable) === signature) {
      this.seenColumns.set(state.sourceTable, decoded.columns);
      return true;
    }
    await this.loadHistory();
    const since = this.schemaLsn.get(state.sourceTable);
    if (since !== undefined && decoded.lsn < since) return true; // older than the table's current schema
    const event = this.eventColumns(state.sourceTable, decoded);
    const current = state.columns.filter((c) => !META.has(c.name));
    const plan = planSchemaChange(current, event);
    await this.loadAnnouncedDrops();
    plan.dropped = plan.dropped.filter((c) => !this.announcedDrops.has(`${state.sourceTable}.${c}`));
    if (planIsEmpty(plan)) {
      this.seen.set(state.sourceTable, signature);
      this.seenColumns.set(state.sourceTable, decoded.columns);
      return true;
    }
    const before = current;
    const { lakehouse, namespace } = this.ctx;
    const ref = lakehouse.ref(namespace, state.icebergTable);
    if (plan.incompatible.length > 0) {
      const detail = plan.incompatible.map((c) => `${c.name}: ${c.from} → ${c.to}`).join(', ');
      logger.error(`incompatible schema change in ${state.sourceTable} (${detail}): table blocked, its events are kept in Kafka until resolved`, { table: state.sourceTable });
      state.status = { ...state.status, load_status: 'blocked_schema', error: `incompatible schema change: ${detail}`, updated_at: new Date().toISOString() };
      await this.ctx.status.upsert(state.status);
      await this.record(state.sourceTable, plan.incompatible.map((c) => ({ change_type: 'incompatible' as const, column_name: c.name })), before, event, state.icebergTable, decoded.lsn);
      return false;
    }
    // recorded first: a crash before the ALTERs replays this event, which then alters without recording twice
    await this.record(state.sourceTable, [
      ...plan.add.map((c) => ({ change_type: 'column_added' as const, column_name: c.name })),
      ...plan.widen.map((c) => ({ change_type: 'type_widened' as const, column_name: c.name })),
      ...plan.dropped.map((c) => ({ change_type: 'column_dropped' as const, column_name: c })),
    ], before, event, state.icebergTable, decoded.lsn);
    for (const c of plan.add) {
      await lakehouse.run(`ALTER TABLE ${ref} ADD COLUMN ${quoteIdent(c.name)} ${duckdbType(c.type as IcebergPrimitive)}`);
      state.columns.push({ name: c.name, type: c.type as IcebergPrimitive });
    }
    for (const w of plan.widen) {
      await lakehouse.run(`ALTER TABLE ${ref} ALTER COLUMN ${quoteIdent(w.name)} TYPE ${duckdbType(w.to as IcebergPrimitive)}`);
      const col = state.columns.find((c) => c.name === w.name);
      if (col) col.type = w.to as IcebergPrimitive;
    }
    for (const d of plan.dropped) this.announcedDrops.add(`${state.sourceTable}.${d}`);
    this.seen.set(state.sourceTable, signature);
    this.seenColumns.set(state.sourceTable, decoded.columns);
    return true;
  }

  /** A table that appears only in CDC: create it from the event schema and track it as `cdc_only`. */
  async createCdcOnlyTable(name: string, decoded: DecodedChange, tables: Map<string, TableState>): Promise<TableState | null> {
    if (decoded.columns.length === 0) return null;
    const keyColumns = decoded.key ? Object.keys(decoded.key) : [];
    const mode = keyColumns.length > 0 ? 'keyed' : 'changelog';
    const base = icebergTableName({ schema: decoded.schema, name: decoded.table }, this.ctx.source.schemas);
    const icebergTable = mode === 'keyed' ? base : `${base}_changelog`;
    const event = this.eventColumns(name, decoded);
    const columns: ColumnSpec[] = event.map((c) => ({ name: c.name, type: c.type as IcebergPrimitive, nullable: !keyColumns.includes(c.name) }));
    const all = mode === 'keyed' ? columns : [...columns, ...CHANGELOG_COLUMNS];
    await this.ctx.lakehouse.createTable(this.ctx.namespace, icebergTable, all, { ifNotExists: true });
    if (mode === 'keyed') await this.ctx.rest.setIdentifierFields(this.ctx.namespace, icebergTable, keyColumns);
    const now = new Date().toISOString();
    const status: CdcStatusRow = {
      table_name: name, iceberg_table: `${this.ctx.namespace}.${base}`, load_status: 'cdc_only', key_columns: keyColumns.join(',') || null,
      key_source: mode === 'keyed' ? 'primary_key' : 'none', rows_loaded: null, snapshot_lsn: null, snapshot_time: null, snapshot_xids: null,
      slot_name: null, iceberg_snapshot_id: null, started_at: now, finished_at: null, attempts: 0, error: null, last_applied_lsn: null,
      last_event_at: null, events_applied: 0, kafka_offsets: null, updated_at: now,
    };
    await this.ctx.status.upsert(status);
    await this.record(name, [{ change_type: 'table_created', column_name: null }], null, event, icebergTable, decoded.lsn);
    const state: TableState = {
      sourceTable: name, icebergTable, mode, keyColumns, columns: all.map((c) => ({ name: c.name, type: c.type })), status,
      offsets: new Map(), topic: null, alreadyLoaded: alreadyLoaded({ snapshotLsn: null, snapshotXids: null }),
    };
    tables.set(name, state);
    this.seen.set(name, JSON.stringify(decoded.columns.map((c) => [c.name, c.debeziumType, c.logicalName, c.parameters])));
    logger.info(`new table ${name} created from its change events (cdc_only, ${mode})`, { table: name });
    return state;
  }
}

function describe(type: string, column: string | null): string {
  switch (type) {
    case 'column_added': return `column ${column} added to the Iceberg table`;
    case 'type_widened': return `column ${column} promoted to a wider type`;
    case 'column_dropped': return `column ${column} no longer in the source; kept in Iceberg, NULL from now on`;
    case 'incompatible': return `column ${column} changed incompatibly; table blocked until resolved`;
    case 'table_created': return 'table created from CDC events (not bulk-loaded)';
    default: return type;
  }
}
