/**
 * The bulk load of one PostgreSQL source: discover, cut one consistent snapshot (slot + exported
 * snapshot), load tables in parallel with per-table retries, record everything in `_cdc_status` and
 * `_schema_changes`, and write the Debezium connector config that continues from the snapshot.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pRetry from 'p-retry';
import { Piscina } from 'piscina';
import type pg from 'pg';
import type { LakeloaderConfig } from '../config/load.js';
import { getSource, sourceNamespace } from '../config/load.js';
import type { PostgresSourceConfig } from '../config/schema.js';
import { ConfigError, DataError, JobError, errorMessage } from '../errors.js';
import { RestCatalogClient } from '../lakehouse/rest-catalog.js';
import { Lakehouse } from '../lakehouse/session.js';
import { logger } from '../log/logger.js';
import { connectPg, pgClientConfig } from '../source/postgres/connection.js';
import { discoverTables, qualifiedName, type PgTable, type SkippedObject } from '../source/postgres/discovery.js';
import { ensurePublication } from '../source/postgres/publication.js';
import { createLoadSnapshot, type LoadSnapshot } from '../source/postgres/snapshot.js';
import { mapSourceColumns, type ColumnMapping } from '../source/postgres/type-mapping.js';
import { CdcStatusStore, type CdcStatusRow } from '../state/cdc-status.js';
import { SchemaChangeStore, diffSchemas, type SchemaChange, type SchemaColumn } from '../state/schema-changes.js';
import { debeziumConnectorConfig } from './debezium-config.js';
import { planChunks } from './plan.js';
import { LoadProgress } from './progress.js';
import { checkStagedValues, commitTable, extractTable, icebergColumns, type TableLoadInput } from './table-load.js';
import { describeAdjustment, type ValueAdjustment } from './unrepresentable.js';

export interface BulkLoadOptions {
  source: string;
  tableFilters: string[];
  parallelWorkers?: number;
  parallelTables?: number;
  resume: boolean;
  dryRun: boolean;
  stagingDir: string;
  /** Where debezium_<source>.json is written. */
  outputConfigDir: string;
  /** Print plan/summary here (stdout by default). */
  out?: (text: string) => void;
  /**
   * Reload the selected tables even when completed, never touching the CDC slot (a temporary slot
   * gives the snapshot): how the CDC consumer resynchronises a table whose partitions changed.
   */
  reload?: boolean;
}

export interface TableResult {
  table: string;
  status: 'completed' | 'failed' | 'skipped' | 'already_loaded';
  rows: number;
  seconds: number;
  error?: string;
  /** Values the column policies clamped or nulled (counted, never silent). */
  adjustments?: ValueAdjustment[];
  /** Why CDC cannot follow the table (it is loaded, but not published). */
  notReplicated?: string;
}

export interface BulkLoadReport {
  snapshotLsn?: string;
  slotName?: string;
  results: TableResult[];
}

/** Iceberg table name of a source table: the table's name, prefixed `<schema>__` when the source loads several schemas. */
export function icebergTableName(t: { schema: string; name: string }, schemas: string[]): string {
  return schemas.length > 1 ? `${t.schema}__${t.name}` : t.name;
}

function extractWorkerFile(): string {
  const here = fileURLToPath(import.meta.url);
  return path.join(path.dirname(here), '..', 'source', 'postgres', `extract-chunk${path.extname(here)}`);
}

function schemaOf(mappings: ColumnMapping[]): SchemaColumn[] {
  return mappings.map((m) => ({ name: m.name, type: m.icebergType.replace(/\s/g, ''), nullable: m.nullable, source_type: m.sourceType }));
}

/** Runs `limit` of the tasks at a time, in order. */
async function runLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

export async function runBulkLoad(config: LakeloaderConfig, options: BulkLoadOptions): Promise<BulkLoadReport> {
  const out = options.out ?? ((text: string) => process.stdout.write(text));
  const sourceConfig = getSource(config, options.source);
  if (sourceConfig.type !== 'postgres') {
    throw new ConfigError([`sources.yaml:sources.${options.source}.type: bulk load of '${sourceConfig.type}' sources is not available yet (PostgreSQL only)`]);
  }
  const source: PostgresSourceConfig = sourceConfig;
  const namespace = sourceNamespace(options.source, source);
  const slotName = source.slot_name ?? `lakeloader_${options.source}`.toLowerCase();
  const publicationName = source.publication_name ?? `lakeloader_${options.source}`.toLowerCase();
  const parallelWorkers = options.parallelWorkers ?? source.parallel_workers;
  const parallelTables = options.parallelTables ?? source.parallel_tables;
  const log = logger.child({ job: 'bulk-load', source: options.source });

  let control: pg.Client;
  try {
    control = await connectPg(source);
  } catch (err) {
    throw new JobError(`cannot connect to PostgreSQL source ${options.source} at ${source.connection.host}:${source.connection.port}/${source.connection.database}: ${errorMessage(err)}`, { cause: err });
  }
  let snapshot: LoadSnapshot | undefined;
  let pool: Piscina | undefined;
  try {
    const { tables, skipped, missingSchemas } = await discoverTables(control, source, options.tableFilters);
    if (missingSchemas.length > 0) {
      throw new JobError(`source ${options.source}: schema(s) ${missingSchemas.join(', ')} not found in database ${source.connection.database} (sources.yaml:sources.${options.source}.schemas)`);
    }
    const lakehouse = await Lakehouse.open(config.lakehouse);
    const status = new CdcStatusStore(lakehouse, namespace);
    const previous = (await status.exists()) ? await status.readAll() : new Map<string, CdcStatusRow>();
    const toLoad = tables.filter((t) => options.reload || !options.resume || previous.get(qualifiedName(t))?.load_status !== 'completed');

    if (options.dryRun) {
      out(renderPlan(tables, skipped, toLoad, previous, parallelTables, namespace, source.schemas));
      return { results: [] };
    }

    await lakehouse.ensureNamespace(namespace);
    await status.ensure();
    const schemaChanges = new SchemaChangeStore(lakehouse, namespace);
    await schemaChanges.ensure();
    const rest = new RestCatalogClient(config.lakehouse);

    const now = () => new Date().toISOString();
    for (const s of skipped) {
      await status.upsert(statusRow({ table_name: qualifiedName(s), iceberg_table: null, load_status: 'skipped', error: s.reason, updated_at: now() }));
    }
    const results: TableResult[] = tables.filter((t) => !toLoad.includes(t)).map((t) => ({
      table: qualifiedName(t), status: 'already_loaded', rows: previous.get(qualifiedName(t))?.rows_loaded ?? 0, seconds: 0,
    }));
    if (toLoad.length === 0) {
      log.info('every selected table is already loaded (use --no-resume to reload)');
      out(renderSummary(results));
      return { results };
    }

    // publication before slot: pgoutput resolves publications as of each change's position
    const refused = await ensurePublication(control, publicationName, tables.filter((t) => !t.notReplicable),
      { viaPartitionRoot: source.partitioned_tables === 'root' });
    const notReplicated = new Map(tables.flatMap((t) => {
      const reason = t.notReplicable ?? refused.get(qualifiedName(t));
      return reason ? [[qualifiedName(t), reason] as const] : [];
    }));
    for (const [table, reason] of notReplicated) log.warn(`${table} is loaded but not replicated by CDC: ${reason}`, { table });
    snapshot = await createLoadSnapshot(source, control, slotName, { recreateSlot: !options.reload && (!options.resume || !previous.size) });
    log.info('consistent snapshot taken', { lsn: snapshot.lsn, slot: slotName, snapshot: snapshot.snapshotName, created_slot: snapshot.createdSlot });

    pool = new Piscina({
      filename: extractWorkerFile(),
      maxThreads: Math.max(1, parallelWorkers * parallelTables),
      minThreads: 1,
      idleTimeout: 5_000,
    });
    const progress = new LoadProgress(toLoad.reduce((a, t) => a + t.estimatedRows, 0));
    const connection = pgClientConfig(source);
    const snap = snapshot;
    const workerPool = pool;

    await runLimited(toLoad, parallelWorkers, async (t) => {
      const name = qualifiedName(t);
      const tlog = log.child({ table: name });
      const icebergTable = icebergTableName(t, source.schemas);
      const started = Date.now();
      let attempts = previous.get(name)?.attempts ?? 0;
      const notReplicatedReason = notReplicated.get(name);
      const base = (): CdcStatusRow => statusRow({
        table_name: name, iceberg_table: `${namespace}.${icebergTable}`,
        key_columns: t.primaryKey.join(',') || null, key_source: t.keySource,
        snapshot_lsn: snap.lsn, snapshot_time: snap.snapshotTime.toISOString(), snapshot_xids: snap.visibleXids, slot_name: slotName,
        started_at: new Date(started).toISOString(), attempts, updated_at: now(),
        replication: notReplicatedReason ? 'not_replicated' : 'logical', replication_reason: notReplicatedReason ?? null,
        partitions: t.partitioned ? partitionList(t) : null,
      });
      progress.startTable(name, t.estimatedRows);
      try {
        const mappings = mapSourceColumns(source, name, t.columns);
        if (mappings.length === 0) throw new JobError(`table ${name} has no columns to load`);
        let adjustments: ValueAdjustment[] = [];
        const rows = await pRetry(async () => {
          attempts++;
          await status.upsert({ ...base(), load_status: 'running' });
          await prepareIcebergTable({ lakehouse, rest, schemaChanges, namespace, icebergTable, sourceName: name, mappings, key: t.primaryKey });
          const input: TableLoadInput = {
            sourceName: name, schema: t.schema, table: t.name, icebergTable, namespace, mappings,
            relations: t.relations, maxChunks: parallelTables, snapshotName: snap.snapshotName, connection,
            stagingDir: path.join(options.stagingDir, options.source),
          };
          const staged = await extractTable(input, workerPool, (r) => progress.update(name, r));
          tlog.debug('table extracted', { rows: staged.rows, bytes: staged.bytes, chunks: staged.files.length });
          adjustments = await checkStagedValues(lakehouse, input, staged);
          for (const a of adjustments) tlog.warn(`column ${a.column}: ${a.count} value(s) Iceberg cannot hold ${a.action} by policy ${a.policy}`, { column: a.column, count: a.count, example: a.example });
          const written = await commitTable(lakehouse, status, input, staged, { ...base(), load_status: 'completed', finished_at: now(), error: null });
          const snapshotId = await rest.currentSnapshotId(namespace, icebergTable);
          await status.upsert({ ...base(), load_status: 'completed', rows_loaded: written, finished_at: now(), iceberg_snapshot_id: snapshotId });
          await rm(path.join(input.stagingDir, `${t.schema}.${t.name}`), { recursive: true, force: true });
          return written;
        }, {
          retries: source.max_retries,
          factor: 2,
          minTimeout: source.retry_backoff * 1000,
          maxTimeout: source.retry_backoff * 1000 * 16,
          randomize: true,
          // a value Iceberg cannot hold fails every attempt alike
          shouldRetry: (err) => !(err instanceof DataError),
          onFailedAttempt: (err) => {
            tlog.warn(`attempt ${err.attemptNumber} failed: ${err.message}`, { retries_left: err.retriesLeft });
          },
        });
        progress.finishTable(name, rows);
        const seconds = (Date.now() - started) / 1000;
        tlog.info('table loaded', { rows, seconds: Number(seconds.toFixed(2)), rows_per_second: Math.round(rows / Math.max(seconds, 0.001)) });
        results.push({ table: name, status: 'completed', rows, seconds, ...(adjustments.length > 0 ? { adjustments } : {}), ...(notReplicatedReason ? { notReplicated: notReplicatedReason } : {}) });
      } catch (err) {
        tlog.error(`table failed: ${errorMessage(err)}`);
        await status.upsert({ ...base(), load_status: 'failed', error: errorMessage(err).slice(0, 2000), finished_at: now() }).catch(() => undefined);
        results.push({ table: name, status: 'failed', rows: 0, seconds: (Date.now() - started) / 1000, error: errorMessage(err), ...(notReplicatedReason ? { notReplicated: notReplicatedReason } : {}) });
      }
    });
    progress.stop();

    const connectorFile = path.join(options.outputConfigDir, `debezium_${options.source}.json`);
    await mkdir(options.outputConfigDir, { recursive: true });
    await writeFile(connectorFile, `${JSON.stringify(debeziumConnectorConfig(options.source, source, { slotName, publicationName }), null, 2)}\n`);
    log.info('Debezium connector config written', { file: connectorFile });

    results.sort((a, b) => a.table.localeCompare(b.table));
    out(renderSummary(results));
    return { snapshotLsn: snapshot.lsn, slotName, results };
  } finally {
    await pool?.destroy();
    await snapshot?.release();
    await control.end().catch(() => undefined);
  }
}

/** `_cdc_status.partitions`: the leaf partitions read, as a sorted JSON array of schema.table (CDC compares it with the current ones). */
export function partitionList(t: Pick<PgTable, 'relations'>): string {
  return JSON.stringify(t.relations.map(qualifiedName).sort());
}

function statusRow(fields: Partial<CdcStatusRow> & Pick<CdcStatusRow, 'table_name' | 'updated_at'>): CdcStatusRow {
  return {
    iceberg_table: null, load_status: 'pending', key_columns: null, key_source: null, rows_loaded: null, snapshot_lsn: null,
    snapshot_time: null, snapshot_xids: null, slot_name: null, iceberg_snapshot_id: null, started_at: null, finished_at: null, attempts: 0, error: null,
    last_applied_lsn: null, last_event_at: null, events_applied: null, kafka_offsets: null, replication: null, replication_reason: null, partitions: null,
    ...fields,
  } as CdcStatusRow;
}

/** Creates the Iceberg table, or recreates it when the source schema changed (recorded in _schema_changes). */
/** Data files under this location carry bytes DuckDB cannot write deletes for. */
function unsafeLocation(location: string): boolean {
  return /[^\x21-\x7e]/.test(location);
}

async function prepareIcebergTable(ctx: {
  lakehouse: Lakehouse; rest: RestCatalogClient; schemaChanges: SchemaChangeStore; namespace: string; icebergTable: string;
  sourceName: string; mappings: ColumnMapping[]; key: string[];
}): Promise<void> {
  const { lakehouse, rest, namespace, icebergTable, mappings } = ctx;
  const desired = schemaOf(mappings);
  const changes: SchemaChange[] = [];
  if (await lakehouse.tableExists(namespace, icebergTable)) {
    const existing = (await rest.tableSchema(namespace, icebergTable)).map((c) => ({ name: c.name, type: c.type, nullable: !c.required }));
    const diff = diffSchemas(existing, desired.map(({ name, type, nullable }) => ({ name, type, nullable })));
    if (diff.length === 0 && !unsafeLocation(await rest.tableLocation(namespace, icebergTable))) return ensureKey(ctx);
    const before = JSON.stringify(existing);
    const after = JSON.stringify(desired);
    for (const d of diff) changes.push({ table_name: ctx.sourceName, ...d, schema_before: before, schema_after: after, iceberg_snapshot_id: null });
    // a reload replaces every row anyway: the new schema (or a location DuckDB can delete from, for
    // a table an older version placed under a non-ASCII path) is created fresh rather than altered
    await lakehouse.run(`DROP TABLE ${lakehouse.ref(namespace, icebergTable)}`);
  } else {
    changes.push({ table_name: ctx.sourceName, change_type: 'baseline', column_name: null, schema_before: null, schema_after: JSON.stringify(desired), iceberg_snapshot_id: null });
  }
  await lakehouse.createTable(namespace, icebergTable, icebergColumns(mappings));
  await ensureKey(ctx);
  await ctx.schemaChanges.record(changes);
}

async function ensureKey(ctx: { rest: RestCatalogClient; namespace: string; icebergTable: string; sourceName: string; mappings: ColumnMapping[]; key: string[] }): Promise<void> {
  if (ctx.key.length === 0) return;
  const nullable = ctx.key.filter((k) => ctx.mappings.find((m) => m.name === k)?.nullable !== false);
  if (nullable.length > 0) {
    logger.warn(`key of ${ctx.sourceName} includes nullable column(s) ${nullable.join(', ')}: not declared as Iceberg identifier fields`, { table: ctx.sourceName });
    return;
  }
  await ctx.rest.setIdentifierFields(ctx.namespace, ctx.icebergTable, ctx.key);
}

function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}

export function renderSummary(results: TableResult[]): string {
  const rows = results.map((r) => [
    r.table, String(r.rows), r.seconds.toFixed(1), r.seconds > 0 ? String(Math.round(r.rows / r.seconds)) : '-', r.status, r.notReplicated ? 'not_replicated' : '',
  ]);
  const total = results.reduce((a, r) => a + r.rows, 0);
  const failed = results.filter((r) => r.status === 'failed');
  let text = `\n${formatTable(['table', 'rows', 'seconds', 'rows/s', 'status', 'cdc'], rows)}`;
  text += `${results.length} tables, ${total} rows, ${failed.length} failed\n`;
  for (const f of failed) text += `  ${f.table}: ${f.error}\n`;
  for (const r of results) for (const a of r.adjustments ?? []) text += `  ${r.table}.${describeAdjustment(a)}\n`;
  for (const r of results) if (r.notReplicated) text += `  ${r.table}: not replicated by CDC: ${r.notReplicated}\n`;
  return text;
}

function renderPlan(tables: PgTable[], skipped: SkippedObject[], toLoad: PgTable[], previous: Map<string, CdcStatusRow>, parallelTables: number, namespace: string, schemas: string[]): string {
  // the publication's own refusals are known only once it is altered: show those of the last load
  const notReplicated = (t: PgTable) => t.notReplicable ??
    (previous.get(qualifiedName(t))?.replication === 'not_replicated' ? `${previous.get(qualifiedName(t))?.replication_reason ?? 'unknown'} (at the last load)` : undefined);
  const rows = tables.map((t) => [
    qualifiedName(t), `${namespace}.${icebergTableName(t, schemas)}`, String(t.estimatedRows), String(planChunks(t.relations, parallelTables).length),
    t.primaryKey.join(',') || '-', previous.get(qualifiedName(t))?.load_status ?? 'new', toLoad.includes(t) ? 'load' : 'skip (completed)',
    notReplicated(t) ? 'not_replicated' : 'logical',
  ]);
  let text = `Bulk load plan (dry run): ${toLoad.length} of ${tables.length} tables to load\n`;
  text += formatTable(['table', 'iceberg table', 'est. rows', 'chunks', 'key', 'status', 'action', 'cdc'], rows);
  for (const t of tables) if (t.partitioned) text += `${qualifiedName(t)}: partitioned, ${t.relations.length} leaf partition(s) loaded as one table\n`;
  for (const t of tables) if (notReplicated(t)) text += `not replicated by CDC ${qualifiedName(t)}: ${notReplicated(t)}\n`;
  for (const s of skipped) text += `skipped ${s.schema}.${s.name}: ${s.reason}\n`;
  return text;
}
