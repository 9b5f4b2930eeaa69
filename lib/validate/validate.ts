/**
 * `lakeloader validate`: every table of a source beside its Iceberg table — row counts, with `--deep`
 * content fingerprints naming the differing keys — read from ONE consistent source snapshot whose WAL
 * position is compared with the position each Iceberg table has applied (`_cdc_status`), so CDC lag is
 * reported as "in flux" rather than as a false mismatch.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DuckDBConnection } from '@duckdb/node-api';
import { Piscina } from 'piscina';
import { icebergTableName } from '../bulk/bulk-load.js';
import { chunkSelects } from '../bulk/plan.js';
import { stagedSelect } from '../bulk/table-load.js';
import type { LakeloaderConfig } from '../config/load.js';
import { getSource, sourceNamespace } from '../config/load.js';
import type { PostgresSourceConfig } from '../config/schema.js';
import { ConfigError, errorMessage } from '../errors.js';
import { Lakehouse } from '../lakehouse/session.js';
import { duckdbType } from '../lakehouse/types.js';
import { logger } from '../log/logger.js';
import { pgClientConfig } from '../source/postgres/connection.js';
import type { ExtractChunkResult, ExtractChunkTask } from '../source/postgres/extract-chunk.js';
import { discoverTables, qualifiedName, tableSelected, type PgTable } from '../source/postgres/discovery.js';
import { mapSourceColumns, type ColumnMapping } from '../source/postgres/type-mapping.js';
import { CdcStatusStore, type CdcStatusRow } from '../state/cdc-status.js';
import {
  bucketCount, computeFingerprint, describeDifferences, diffRows, icebergRelation, mismatchedBuckets, projectRelation,
  type DifferenceSummary, type Fingerprint, type FingerprintColumn,
} from './fingerprint.js';
import { countIcebergRows, currentSnapshot, icebergColumnTypes, isStateTable, listIcebergTables, normalizeDuckdbType, type IcebergSnapshot } from './iceberg.js';
import { cdcGroupId, kafkaLag, topicFor } from './kafka-lag.js';
import { UNFINISHED_LOAD, appliedLsn, classifyDifference, lsnCompare, validateExitCode, type TableResult } from './positions.js';
import { countRows, openSourceSnapshot, slotInfo, sourceSlotName, type SlotInfo, type SourceSnapshot } from './source.js';

export interface ValidateOptions {
  source: string;
  /** SQL LIKE patterns on `table` or `schema.table`; empty: every table. */
  tableFilters: string[];
  /** Leave out tables that are empty on both sides (and match). */
  hideEmpty: boolean;
  /** Report tables present on one side only (default true). */
  checkMissing: boolean;
  /** Compare contents (fingerprints), not only counts. */
  deep: boolean;
  /** Seconds to wait for CDC to apply the source snapshot's position before judging a differing table; undefined: no wait. */
  waitForLsn?: number;
  /** Differing keys listed per table with --deep. */
  maxDifferences: number;
  /** Where --deep stages the source rows (removed afterwards). */
  stagingDir: string;
  /** Poll interval while waiting for CDC. */
  pollMs?: number;
}

export interface DeepReport {
  columns_compared: number;
  key: string[];
  schema_differences: string[];
  buckets: number;
  mismatched_buckets: number;
  differences: DifferenceSummary | null;
  seconds: number;
  /** Where the time went: source COPY to staging, Iceberg fingerprint (both at once), source fingerprint, naming the differences. */
  phases: { extract_s: number; iceberg_s: number; source_s: number; diff_s: number };
}

export interface ValidateTableRow {
  /** Source `schema.table`. */
  table: string;
  /** `namespace.table`, null when the Iceberg table does not exist. */
  iceberg_table: string | null;
  source_rows: number | null;
  iceberg_rows: number | null;
  /** iceberg_rows − source_rows. */
  difference: number | null;
  load_status: string | null;
  /** `_cdc_status` last_applied_lsn, else the bulk load's snapshot_lsn. */
  applied_lsn: string | null;
  /** Time of the Iceberg table's latest snapshot. */
  last_snapshot_at: string | null;
  result: TableResult;
  detail: string;
  deep?: DeepReport;
}

export interface ValidateReport {
  source: string;
  namespace: string;
  /** WAL position of the source snapshot every count was read in. */
  source_lsn: string;
  source_snapshot_at: string;
  deep: boolean;
  slot: { name: string; exists: boolean; active: boolean; confirmed_flush_lsn: string | null };
  waited_seconds: number | null;
  tables: ValidateTableRow[];
  /** Matching tables empty on both sides left out by --hide-empty. */
  hidden: number;
  summary: Record<TableResult, number> & { tables: number };
  exit_code: number;
}

const CHANGELOG_SUFFIX = '_changelog';

export const VALIDATE_COLUMNS = ['table', 'iceberg_table', 'source_rows', 'iceberg_rows', 'difference', 'load_status', 'applied_lsn', 'last_snapshot_at', 'result', 'detail'] as const;

interface DeepState {
  columns: FingerprintColumn[];
  key: string[];
  buckets: number;
  schemaDiffs: string[];
  sourcePrint: Fingerprint;
  sourceRel: string;
  report: DeepReport;
}

interface Pair {
  name: string;
  pg?: PgTable;
  icebergTable?: string;
  status?: CdcStatusRow;
  sourceRows: number | null;
  snapshot: IcebergSnapshot | null;
  icebergRows: number | null;
  deep?: DeepState;
  /** Notes that are not about positions (e.g. not selected by config). */
  notes: string[];
  row?: ValidateTableRow;
}

function extractWorkerFile(): string {
  const here = fileURLToPath(import.meta.url);
  return path.join(path.dirname(here), '..', 'source', 'postgres', `extract-chunk${path.extname(here)}`);
}

function splitName(name: string): { schema: string; table: string } {
  const i = name.indexOf('.');
  return i < 0 ? { schema: '', table: name } : { schema: name.slice(0, i), table: name.slice(i + 1) };
}

/** Source `schema.table` of an Iceberg table no source table maps to: from _cdc_status, else from the naming rule. */
function sourceNameOf(icebergTable: string, namespace: string, schemas: string[], statuses: Map<string, CdcStatusRow>): string {
  for (const s of statuses.values()) if (s.iceberg_table === `${namespace}.${icebergTable}`) return s.table_name;
  if (schemas.length > 1) {
    const i = icebergTable.indexOf('__');
    if (i > 0) return `${icebergTable.slice(0, i)}.${icebergTable.slice(i + 2)}`;
  }
  return `${schemas[0]}.${icebergTable}`;
}

export async function runValidate(config: LakeloaderConfig, options: ValidateOptions): Promise<ValidateReport> {
  const sourceConfig = getSource(config, options.source);
  if (sourceConfig.type !== 'postgres') {
    throw new ConfigError([`sources.yaml:sources.${options.source}.type: validation of '${sourceConfig.type}' sources is not available yet (PostgreSQL only)`]);
  }
  const source: PostgresSourceConfig = sourceConfig;
  const namespace = sourceNamespace(options.source, source);
  const log = logger.child({ job: 'validate', source: options.source });
  const slotName = sourceSlotName(options.source, source);
  const stagingDir = path.join(options.stagingDir, `validate-${options.source}-${process.pid}`);

  const snap = await openSourceSnapshot(options.source, source);
  let pool: Piscina | undefined;
  let conn: DuckDBConnection | undefined;
  try {
    log.info('source snapshot taken', { lsn: snap.lsn });
    const { tables, missingSchemas } = await discoverTables(snap.client, source, options.tableFilters);
    if (missingSchemas.length > 0) log.warn(`schema(s) ${missingSchemas.join(', ')} not found in database ${source.connection.database}`);

    const lakehouse = await Lakehouse.open(config.lakehouse);
    const icebergTables = await listIcebergTables(lakehouse, namespace);
    const statusStore = new CdcStatusStore(lakehouse, namespace);
    const statuses = icebergTables.includes('_cdc_status') ? await statusStore.readAll() : new Map<string, CdcStatusRow>();
    let slot = await slotInfo(snap.client, slotName);

    // pair every source table with its Iceberg table, then the Iceberg tables no source table claims
    const present = new Set(icebergTables);
    const pairs: Pair[] = [];
    const claimed = new Set<string>();
    for (const t of tables) {
      const name = qualifiedName(t);
      const ice = icebergTableName(t, source.schemas);
      claimed.add(ice);
      pairs.push({ name, pg: t, ...(present.has(ice) ? { icebergTable: ice } : {}), ...(statuses.has(name) ? { status: statuses.get(name)! } : {}), sourceRows: null, snapshot: null, icebergRows: null, notes: [] });
    }
    for (const ice of icebergTables) {
      if (claimed.has(ice) || isStateTable(ice)) continue;
      // tables without a key get their CDC changes appended to <table>_changelog, beside the loaded table
      if (ice.endsWith(CHANGELOG_SUFFIX) && claimed.has(ice.slice(0, -CHANGELOG_SUFFIX.length))) continue;
      const name = sourceNameOf(ice, namespace, source.schemas, statuses);
      const { schema, table } = splitName(name);
      if (options.tableFilters.length > 0 && !options.tableFilters.some((f) => tableSelected(schema, table, [f], []))) continue;
      const notes = source.schemas.includes(schema) && !tableSelected(schema, table, source.include_tables, source.exclude_tables)
        ? ['not selected by include_tables/exclude_tables'] : [];
      pairs.push({ name, icebergTable: ice, ...(statuses.has(name) ? { status: statuses.get(name)! } : {}), sourceRows: null, snapshot: null, icebergRows: null, notes });
    }
    for (const p of pairs) {
      if (p.pg && p.icebergTable && present.has(`${p.icebergTable}${CHANGELOG_SUFFIX}`)) {
        p.notes.push(`no key: CDC appends this table's changes to ${p.icebergTable}${CHANGELOG_SUFFIX}, ${p.icebergTable} keeps the bulk-loaded rows`);
      }
    }
    const compared = pairs.filter((p) => p.pg && p.icebergTable);
    const deepPairs = options.deep ? compared.filter((p) => !UNFINISHED_LOAD.has(p.status?.load_status ?? '')) : [];
    const reported = options.checkMissing ? pairs : compared;

    // counts: the source inside the snapshot, Iceberg at each table's current snapshot, side by side
    await Promise.all([
      (async () => {
        for (const p of reported) if (p.pg && !deepPairs.includes(p)) p.sourceRows = await countRows(snap.client, p.pg.schema, p.pg.name);
      })(),
      (async () => {
        for (const p of reported) {
          if (!p.icebergTable) continue;
          p.snapshot = await currentSnapshot(lakehouse, namespace, p.icebergTable);
          p.icebergRows = await countIcebergRows(lakehouse, namespace, p.icebergTable, p.snapshot);
        }
      })(),
    ]);

    if (deepPairs.length > 0) {
      pool = new Piscina({ filename: extractWorkerFile(), maxThreads: Math.max(1, source.parallel_tables), minThreads: 1, idleTimeout: 5_000 });
      // a worker that dies is reported by the task it was running; without a listener it would crash the process
      pool.on('error', (err: unknown) => log.error(`extract worker failed: ${errorMessage(err)}`));
      conn = await lakehouse.connect();
      for (const p of deepPairs) {
        try {
          p.deep = await deepCompare(p, { lakehouse, conn, pool, snap, source, namespace, stagingDir, maxDifferences: options.maxDifferences });
          log.info('deep compare done', { table: p.name, rows: p.sourceRows, seconds: p.deep.report.seconds, mismatched_buckets: p.deep.report.mismatched_buckets, ...p.deep.report.phases });
        } catch (err) {
          p.notes.push(`deep compare failed: ${errorMessage(err)}`);
          log.error(`deep compare of ${p.name} failed: ${errorMessage(err)}`, { table: p.name });
        }
      }
    }

    // everything the source side says is read: release the snapshot (a long wait must not hold back VACUUM)
    await snap.endSnapshot();
    const facts = new FactsCache(config, options.source, source, snap.lsn, slotName);
    facts.slot = slot;
    await facts.prime(compared.filter((p) => p.sourceRows !== p.icebergRows || Boolean(p.deep?.report.mismatched_buckets)));
    for (const p of reported) p.row = await judge(p, snap.lsn, namespace, facts, options.deep);

    let waited: number | null = null;
    if (options.waitForLsn !== undefined) {
      const started = Date.now();
      const pending: Pair[] = [];
      for (const p of compared) if (await isWaitable(p, snap.lsn, facts)) pending.push(p);
      if (pending.length > 0) {
        log.info(`waiting up to ${options.waitForLsn}s for CDC to apply up to ${snap.lsn} on ${pending.length} table(s)`);
        const deadline = started + options.waitForLsn * 1000;
        const seen = new Map(pending.map((p) => [p, appliedLsn(p.status)]));
        while (pending.length > 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, Math.min(options.pollMs ?? 2000, Math.max(0, deadline - Date.now()))));
          const fresh = await statusStore.readAll();
          slot = await slotInfo(snap.client, slotName);
          facts.reset(slot);
          await facts.prime(pending);
          for (const p of [...pending]) {
            const status = fresh.get(p.name);
            if (status) p.status = status;
            const applied = appliedLsn(p.status);
            const reached = (applied !== null && lsnCompare(applied, snap.lsn) >= 0) || (await facts.caughtUp(p));
            if (applied === seen.get(p) && !reached) continue;
            seen.set(p, applied);
            await recheckIceberg(p, { lakehouse, namespace, conn, maxDifferences: options.maxDifferences });
            p.row = await judge(p, snap.lsn, namespace, facts, options.deep);
            if (p.row.result === 'ok' || reached) pending.splice(pending.indexOf(p), 1);
          }
        }
        for (const p of pending) {
          p.row = { ...p.row!, result: 'in_flux', detail: `${p.row!.detail}; waited ${options.waitForLsn}s: CDC did not apply up to ${snap.lsn} (lakehouse at ${appliedLsn(p.status) ?? 'unknown'}, slot ${slotName} ${slot.active ? 'active' : 'not streaming'})` };
        }
      }
      waited = Math.round((Date.now() - started) / 100) / 10;
    }

    const all = reported.map((p) => p.row!).sort((a, b) => a.table.localeCompare(b.table));
    const visible = options.hideEmpty ? all.filter((r) => !(r.result === 'ok' && !r.source_rows && !r.iceberg_rows)) : all;
    const summary = { tables: all.length, ok: 0, mismatch: 0, in_flux: 0, not_replicated: 0, missing_in_iceberg: 0, missing_in_source: 0, error: 0 };
    for (const r of all) summary[r.result]++;
    return {
      source: options.source,
      namespace,
      source_lsn: snap.lsn,
      source_snapshot_at: snap.takenAt,
      deep: options.deep,
      slot: { name: slot.name, exists: slot.exists, active: slot.active, confirmed_flush_lsn: slot.confirmedFlushLsn },
      waited_seconds: waited,
      tables: visible,
      hidden: all.length - visible.length,
      summary,
      exit_code: validateExitCode(all.map((r) => r.result)),
    };
  } finally {
    conn?.closeSync();
    await pool?.destroy();
    await snap.release();
    await rm(stagingDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** What the positions say about a table, looked up lazily (Kafka only when a table's verdict depends on it). */
class FactsCache {
  slot: SlotInfo | undefined;
  /** topic → the consumer group has consumed all of it */
  private consumed = new Map<string, boolean>();
  private kafkaDown = false;

  constructor(
    private readonly config: LakeloaderConfig, private readonly sourceName: string, private readonly source: PostgresSourceConfig,
    private readonly sourceLsn: string, readonly slotName: string,
  ) {}

  reset(slot: SlotInfo): void {
    this.slot = slot;
    this.consumed.clear();
    this.kafkaDown = false;
  }

  private slotPastSource(): boolean {
    const confirmed = this.slot?.confirmedFlushLsn;
    return Boolean(confirmed && lsnCompare(confirmed, this.sourceLsn) >= 0 && this.source.kafka && !this.kafkaDown);
  }

  /** One Kafka round trip for the topics of all these tables (when the slot makes their lag decisive). */
  async prime(pairs: Pair[]): Promise<void> {
    if (!this.slotPastSource()) return;
    const topics = pairs.map((p) => topicFor(this.source, this.sourceName, p.name)).filter((t) => !this.consumed.has(t));
    if (topics.length > 0) await this.lookUp(topics);
  }

  private async lookUp(topics: string[]): Promise<void> {
    const kafka = this.source.kafka!;
    const cluster = this.config.kafkaClusters[kafka.cluster];
    if (!cluster) {
      this.kafkaDown = true;
      return;
    }
    const report = await kafkaLag(kafka.cluster, cluster, cdcGroupId(this.sourceName, this.source), topics, 5000);
    if (!report.reachable) {
      this.kafkaDown = true;
      return;
    }
    for (const t of report.missing_topics) this.consumed.set(t, true); // never created: no change to consume
    for (const t of report.topics) this.consumed.set(t.topic, t.lag === 0 && t.committed);
  }

  /**
   * CDC has applied everything of this table up to the source position even if the table had no event
   * since: Debezium confirmed the slot past that position (so every earlier change is in Kafka) and the
   * consumer group has consumed every message of the table's topic (or the topic never existed).
   */
  async caughtUp(p: Pair): Promise<boolean> {
    if (!this.slotPastSource()) return false;
    const topic = topicFor(this.source, this.sourceName, p.name);
    if (!this.consumed.has(topic)) await this.lookUp([topic]);
    return this.consumed.get(topic) ?? false;
  }
}

/** A differing table worth waiting for: loaded, behind the source position, not yet proven caught up. */
async function isWaitable(p: Pair, sourceLsn: string, facts: FactsCache): Promise<boolean> {
  if (!p.row || p.row.result === 'ok' || p.row.result === 'error' || p.row.result === 'not_replicated' || UNFINISHED_LOAD.has(p.status?.load_status ?? '')) return false;
  const applied = appliedLsn(p.status);
  if (applied === null || lsnCompare(applied, sourceLsn) >= 0) return false;
  return !(await facts.caughtUp(p));
}

async function judge(p: Pair, sourceLsn: string, namespace: string, facts: FactsCache, deep: boolean): Promise<ValidateTableRow> {
  const base = {
    table: p.name,
    iceberg_table: p.icebergTable ? `${namespace}.${p.icebergTable}` : null,
    source_rows: p.pg ? p.sourceRows : null,
    iceberg_rows: p.icebergTable ? p.icebergRows : null,
    difference: p.pg && p.icebergTable && p.sourceRows !== null && p.icebergRows !== null ? p.icebergRows - p.sourceRows : null,
    load_status: p.status?.load_status ?? null,
    applied_lsn: appliedLsn(p.status),
    last_snapshot_at: p.snapshot?.at ?? null,
    ...(p.deep ? { deep: p.deep.report } : {}),
  };
  const notes = [...p.notes];
  if (!p.pg) return { ...base, result: 'missing_in_source', detail: ['table is in Iceberg but not in the source', ...notes].join('; ') };
  if (!p.icebergTable) return { ...base, result: 'missing_in_iceberg', detail: ['table is in the source but not in Iceberg', ...notes].join('; ') };
  const failedDeep = deep && !p.deep && notes.some((n) => n.startsWith('deep compare failed'));
  if (failedDeep) return { ...base, result: 'error', detail: notes.join('; ') };

  const parts: string[] = [];
  if (p.sourceRows !== p.icebergRows) parts.push(`${Math.abs((p.icebergRows ?? 0) - (p.sourceRows ?? 0))} row(s) ${(p.icebergRows ?? 0) > (p.sourceRows ?? 0) ? 'more' : 'fewer'} in Iceberg`);
  if (p.deep) {
    if (p.deep.schemaDiffs.length > 0) parts.push(`schema: ${p.deep.schemaDiffs.join(', ')}`);
    if (p.deep.report.differences) parts.push(describeDifferences(p.deep.report.differences));
  } else if (deep && UNFINISHED_LOAD.has(p.status?.load_status ?? '')) {
    notes.push('contents not compared (load not completed)');
  }
  if (parts.length === 0 && !(deep && !p.deep)) {
    if (p.status?.replication === 'not_replicated') notes.push(`not replicated by CDC (${p.status.replication_reason ?? 'no reason recorded'}): equal as long as the table does not change`);
    return { ...base, result: 'ok', detail: notes.join('; ') };
  }

  const verdict = classifyDifference({
    sourceLsn,
    applied: appliedLsn(p.status),
    loadStatus: p.status?.load_status ?? null,
    replication: p.status?.replication ?? null,
    replicationReason: p.status?.replication_reason ?? null,
    streaming: facts.slot?.active ?? false,
    caughtUp: await facts.caughtUp(p),
    slotName: facts.slotName,
  });
  return { ...base, result: verdict.result, detail: [...parts, verdict.note, ...notes].join('; ') };
}

interface DeepContext {
  lakehouse: Lakehouse;
  conn: DuckDBConnection;
  pool: Piscina;
  snap: SourceSnapshot;
  source: PostgresSourceConfig;
  namespace: string;
  stagingDir: string;
  maxDifferences: number;
}

/** Fingerprints both sides of one table (the Iceberg side while the source streams to staging) and names what differs. */
async function deepCompare(p: Pair, ctx: DeepContext): Promise<DeepState> {
  const started = Date.now();
  const t = p.pg!;
  const mappings: ColumnMapping[] = mapSourceColumns(ctx.source, p.name, t.columns);
  const iceTypes = await icebergColumnTypes(ctx.lakehouse, ctx.namespace, p.icebergTable!);
  const schemaDiffs: string[] = [];
  const columns: FingerprintColumn[] = [];
  for (const m of mappings) {
    const want = normalizeDuckdbType(duckdbType(m.icebergType));
    const have = iceTypes.get(m.name);
    if (!have) schemaDiffs.push(`column ${m.name} not in Iceberg`);
    else if (have !== want) schemaDiffs.push(`column ${m.name} is ${have} in Iceberg, ${want} from the source`);
    else columns.push({ name: m.name, duckdbType: want });
  }
  for (const name of iceTypes.keys()) if (!mappings.some((m) => m.name === name)) schemaDiffs.push(`column ${name} only in Iceberg`);
  if (columns.length === 0) throw new Error('no column has the same type on both sides');
  // the key identifies rows only if every key column is compared; otherwise compare rows as a multiset
  const key = t.primaryKey.every((k) => columns.some((c) => c.name === k)) ? t.primaryKey : [];
  const buckets = bucketCount(Math.max(t.estimatedRows, p.icebergRows ?? 0));
  const ref = ctx.lakehouse.ref(ctx.namespace, p.icebergTable!);

  // Pipelined: PostgreSQL streams the table in ctid chunks (worker threads) into staging files while
  // DuckDB fingerprints the Iceberg side, then each chunk as soon as it lands. Bucket prints are sums,
  // so per-chunk prints add up to the table's.
  const secondsSince = (t: number) => Math.round((Date.now() - t) / 100) / 10;
  let duck: Promise<unknown> = Promise.resolve();
  const onDuck = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = duck.then(fn, fn);
    duck = next.catch(() => undefined);
    return next;
  };
  let icebergS = 0;
  let sourceS = 0;
  const icebergPrintP = onDuck(() => computeFingerprint(ctx.conn, icebergRelation(ref, columns, p.snapshot?.id ?? null), columns, key, buckets))
    .finally(() => (icebergS = secondsSince(started)));
  const sourcePrint: Fingerprint = new Map();
  const selects = chunkSelects(mappings.map((m) => m.pgSelect).join(', '), t.relations, ctx.source.parallel_tables * CHUNKS_PER_WORKER);
  const dir = path.join(ctx.stagingDir, `${t.schema}.${t.name}`);
  await rm(dir, { recursive: true, force: true });
  const chunkPrints: Promise<unknown>[] = [];
  const extractStarted = Date.now();
  const extracted = Promise.all(selects.map(async (selectSql, i) => {
    const task: ExtractChunkTask = {
      connection: pgClientConfig(ctx.source), snapshotName: ctx.snap.snapshotName,
      selectSql, outputFile: path.join(dir, `chunk-${String(i).padStart(4, '0')}.csv`),
    };
    const result = (await ctx.pool.run(task)) as ExtractChunkResult;
    if (result.rows > 0) {
      const print = onDuck(async () => {
        const t0 = Date.now();
        addPrint(sourcePrint, await computeFingerprint(ctx.conn, projectRelation(stagedSelect(mappings, [task.outputFile]), columns), columns, key, buckets));
        sourceS += (Date.now() - t0) / 1000;
      });
      print.catch(() => undefined); // awaited below; never an unhandled rejection if extraction fails first
      chunkPrints.push(print);
    }
    return { file: task.outputFile, rows: result.rows };
  }));
  const [chunks, icebergPrint] = await settleBoth(extracted, icebergPrintP);
  const extractS = secondsSince(extractStarted);
  await Promise.all(chunkPrints);
  const files = chunks.filter((c) => c.rows > 0).map((c) => c.file);
  const sourceRows = chunks.reduce((a, c) => a + c.rows, 0);
  const sourceRel = files.length === 0 ? emptyRelation(columns) : projectRelation(stagedSelect(mappings, files), columns);
  p.sourceRows = sourceRows;
  const bad = mismatchedBuckets(sourcePrint, icebergPrint);
  const diffStarted = Date.now();
  const differences = bad.length === 0 ? null : await diffRows(ctx.conn, {
    sourceRel, icebergRel: icebergRelation(ref, columns, p.snapshot?.id ?? null), columns, key, buckets, only: bad, limit: ctx.maxDifferences,
  });
  return {
    columns, key, buckets, schemaDiffs, sourcePrint, sourceRel,
    report: {
      columns_compared: columns.length, key, schema_differences: schemaDiffs, buckets, mismatched_buckets: bad.length, differences,
      seconds: secondsSince(started),
      phases: { extract_s: extractS, iceberg_s: icebergS, source_s: Math.round(sourceS * 10) / 10, diff_s: bad.length === 0 ? 0 : secondsSince(diffStarted) },
    },
  };
}

/** After CDC moved: the Iceberg side again (count, and fingerprint against the kept source one). */
async function recheckIceberg(p: Pair, ctx: { lakehouse: Lakehouse; namespace: string; conn: DuckDBConnection | undefined; maxDifferences: number }): Promise<void> {
  p.snapshot = await currentSnapshot(ctx.lakehouse, ctx.namespace, p.icebergTable!);
  p.icebergRows = await countIcebergRows(ctx.lakehouse, ctx.namespace, p.icebergTable!, p.snapshot);
  const d = p.deep;
  if (!d || !ctx.conn) return;
  const started = Date.now();
  const icebergRel = icebergRelation(ctx.lakehouse.ref(ctx.namespace, p.icebergTable!), d.columns, p.snapshot?.id ?? null);
  const icebergPrint = await computeFingerprint(ctx.conn, icebergRel, d.columns, d.key, d.buckets);
  const bad = mismatchedBuckets(d.sourcePrint, icebergPrint);
  const differences = bad.length === 0 ? null : await diffRows(ctx.conn, {
    sourceRel: d.sourceRel, icebergRel, columns: d.columns, key: d.key, buckets: d.buckets, only: bad, limit: ctx.maxDifferences,
  });
  d.report = { ...d.report, mismatched_buckets: bad.length, differences, seconds: d.report.seconds + Math.round((Date.now() - started) / 100) / 10 };
}

/** Chunks per extraction worker: small enough that DuckDB fingerprints early chunks while later ones stream. */
const CHUNKS_PER_WORKER = 4;

function addPrint(into: Fingerprint, add: Fingerprint): void {
  for (const [b, v] of add) {
    const cur = into.get(b);
    into.set(b, cur ? { n: cur.n + v.n, s: (BigInt(cur.s) + BigInt(v.s)).toString() } : v);
  }
}

function emptyRelation(columns: FingerprintColumn[]): string {
  return `SELECT ${columns.map((c) => `CAST(NULL AS ${c.duckdbType}) AS "${c.name.replace(/"/g, '""')}"`).join(', ')} WHERE false`;
}

/** Both promises run to the end (no orphan left running); the first failure is thrown after both settle. */
async function settleBoth<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [x, y] = await Promise.allSettled([a, b]);
  if (x.status === 'rejected') throw x.reason;
  if (y.status === 'rejected') throw y.reason;
  return [x.value, y.value];
}
