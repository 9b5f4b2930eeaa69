/**
 * The CDC consumer of one source: Debezium topics → micro-batches → one atomic Iceberg commit per
 * batch (data + `_cdc_status` positions and Kafka offsets + `_dead_letters`) → Kafka offset commit.
 * Offsets in Iceberg are the truth: on start the consumer seeks there, and ignores anything older, so a
 * crash between the Iceberg and the Kafka commit neither loses nor repeats a change.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import pRetry from 'p-retry';
import type { LakeloaderConfig } from '../config/load.js';
import { getSource, sourceNamespace } from '../config/load.js';
import type { PostgresSourceConfig } from '../config/schema.js';
import { ConfigError, JobError, errorMessage } from '../errors.js';
import { kafkaClient } from '../kafka/client.js';
import { RestCatalogClient } from '../lakehouse/rest-catalog.js';
import { Lakehouse } from '../lakehouse/session.js';
import { logger } from '../log/logger.js';
import { parseLsn, formatLsn } from '../source/postgres/lsn.js';
import { valuePolicyFor } from '../source/postgres/type-mapping.js';
import { CdcStatusStore, type CdcStatusRow } from '../state/cdc-status.js';
import { DEAD_LETTER_COLUMNS, DEAD_LETTERS_TABLE, type DeadLetter } from '../state/dead-letters.js';
import { SchemaChangeStore } from '../state/schema-changes.js';
import { applyMicroBatch, CHANGELOG_COLUMNS, type BatchResult, type PendingChange, type TableTarget } from './applier.js';
import { commitIsolating } from './batch-commit.js';
import { notifyAlert } from './notify.js';
import { debeziumConnectorConfig } from '../bulk/debezium-config.js';
import { AvroDecoder, registrySchemaSource } from './avro.js';
import { DecodeError, decodeChangeEvent, debeziumEncoding, jsonConverter, type DebeziumEncoding, type DecodedEvent, type MessageDecoder } from './debezium.js';
import { CdcMetrics, CounterTally } from './metrics.js';
import { SchemaEvolver } from './schema-evolver.js';
import type { TextRow } from './changes.js';
import { GeneratedColumns } from './generated-columns.js';
import { PartitionWatcher } from './partition-watcher.js';
import { runBulkLoad } from '../bulk/bulk-load.js';
import { SourceColumns } from './source-columns.js';
import { formatOffsets, icebergTableOf, tableStateFromStatus, type TableState } from './table-state.js';
import { debeziumTopic, sourceTopicPattern, TopicRouter } from './topics.js';
import { TableMaintainer } from '../maintenance/maintainer.js';
import { MaintenanceMetrics } from '../maintenance/metrics.js';
import { MaintenanceScheduler } from '../maintenance/scheduler.js';
import { SparkEngine } from '../maintenance/spark-engine.js';

export interface CdcOptions {
  source: string;
  batchSize?: number;
  /** MiB of Kafka messages per micro-batch at most. */
  maxBatchMib?: number;
  /** Seconds a micro-batch may wait to fill up. */
  triggerInterval?: number;
  /** Exit 0 once caught up and idle this many seconds. */
  exitWhenIdle?: number;
  metricsPort?: number;
  signal?: AbortSignal;
}

export interface CdcSummary {
  batches: number;
  consumed: number;
  applied: number;
  skipped: number;
  deadLetters: number;
}

interface Buffered { topic: string; partition: number; message: KafkaMessage }
/** `oldKey`: a create event's `__debezium.oldkey` header — the row's key before a primary-key change. */
type DecodeResult = { event: DecodedEvent; oldKey?: TextRow | null } | { error: string };
interface DecodedBatch { events: Buffered[]; results: DecodeResult[]; seconds: number }

const USABLE = new Set(['completed', 'cdc_only']);
/** How often partitioned tables' partitions are compared with those loaded. */
const PARTITION_CHECK_MS = 30_000;
/** kafkajs's seek to a partition's first retained message. */
const EARLIEST_OFFSET = '-2';
const SESSION_TIMEOUT_MS = 10_000;
const REBALANCE_TIMEOUT_MS = 20_000;
const HEARTBEAT_MS = 3000;
/** Events decoded between two yields to the event loop (~10 ms of work). */
const DECODE_SLICE = 1000;

export class CdcConsumer {
  private readonly log;
  private readonly source: PostgresSourceConfig;
  private readonly namespace: string;
  private readonly prefix: string;
  private readonly metrics = new CdcMetrics();
  private readonly tables = new Map<string, TableState>();
  private buffer: Buffered[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private lastMessageAt = Date.now();
  private stopping = false;
  private failure: Error | undefined;
  readonly summary: CdcSummary = { batches: 0, consumed: 0, applied: 0, skipped: 0, deadLetters: 0 };
  private lakehouse!: Lakehouse;
  private status!: CdcStatusStore;
  private evolver!: SchemaEvolver;
  private consumer?: Consumer;
  /** Column types from PostgreSQL for events without schemas. */
  private readonly sourceColumns: SourceColumns;
  private readonly partitionWatcher: PartitionWatcher;
  /** Generated columns, which change events lack: computed by the source for each changed row. */
  private readonly generated: GeneratedColumns;
  /** Avro events (the schema registry's wire format), when the cluster has a schema_registry. */
  private readonly avro: AvroDecoder | undefined;
  /** JSON, or Avro when a message is in the registry's wire format. */
  private readonly messageDecoder: MessageDecoder;
  /** How the connector we generate encodes values (decimal/binary/interval modes). */
  private readonly encoding: DebeziumEncoding;

  constructor(private readonly config: LakeloaderConfig, private readonly options: CdcOptions) {
    const source = getSource(config, options.source);
    if (source.type !== 'postgres') throw new ConfigError([`sources.yaml:sources.${options.source}.type: CDC of '${source.type}' sources is not available yet`]);
    if (!source.kafka) throw new ConfigError([`sources.yaml:sources.${options.source}.kafka: required for CDC (cluster and topic_prefix)`]);
    this.source = source;
    this.namespace = sourceNamespace(options.source, source);
    this.prefix = source.kafka.topic_prefix;
    this.router = new TopicRouter(this.prefix);
    this.log = logger.child({ job: 'cdc', source: options.source });
    this.encoding = debeziumEncoding(connectorSettings(config, options.source, source));
    this.sourceColumns = new SourceColumns(source, this.log);
    this.generated = new GeneratedColumns(source, this.log);
    this.partitionWatcher = new PartitionWatcher(source);
    const clusterName = source.kafka.cluster;
    const registry = config.kafkaClusters[clusterName]?.schema_registry;
    const avro = registry ? new AvroDecoder(registrySchemaSource(registry)) : undefined;
    this.avro = avro;
    this.messageDecoder = {
      decode(bytes, meta, exact) {
        const id = AvroDecoder.schemaId(bytes);
        if (id === undefined) return jsonConverter.decode(bytes, meta, exact);
        if (!avro) throw new Error(`an Avro message (schema id ${id}) but kafka_clusters.yaml:clusters.${clusterName}.schema_registry is not set`);
        return avro.decode(bytes);
      },
    };
  }

  private readonly router: TopicRouter;
  /** `<schema>.<table>` of a Debezium topic (null for other topics). */
  private tableOf(topic: string): string | null {
    return this.router.tableOf(topic);
  }

  /** Bytes of the Kafka messages in the buffer, against cdc.max_batch_mib. */
  private bufferBytes = 0;

  private get batchBytes(): number {
    return (this.options.maxBatchMib ?? this.source.cdc.max_batch_mib) * 1024 * 1024;
  }

  private get batchSize(): number {
    return this.options.batchSize ?? this.source.cdc.batch_size;
  }

  async run(): Promise<CdcSummary> {
    const cluster = this.config.kafkaClusters[this.source.kafka!.cluster]!;
    this.lakehouse = await Lakehouse.open(this.config.lakehouse);
    await this.lakehouse.ensureNamespace(this.namespace);
    this.status = new CdcStatusStore(this.lakehouse, this.namespace);
    await this.status.ensure();
    const schemaChanges = new SchemaChangeStore(this.lakehouse, this.namespace);
    await schemaChanges.ensure();
    await this.lakehouse.createTable(this.namespace, DEAD_LETTERS_TABLE, DEAD_LETTER_COLUMNS, { ifNotExists: true });
    const rest = new RestCatalogClient(this.config.lakehouse);
    await pRetry(() => this.generated.refresh(true), { retries: 4, minTimeout: 1000 }).catch((err) => {
      throw new JobError(`CDC reads the source's catalog for generated columns, which change events lack: ${errorMessage(err)} (sources.yaml:sources.${this.options.source}.connection)`, { cause: err });
    });
    this.evolver = new SchemaEvolver({
      lakehouse: this.lakehouse, rest, schemaChanges, namespace: this.namespace, sourceName: this.options.source,
      source: this.source, metrics: this.metrics, status: this.status, generatedColumns: (table) => this.generated.columnsOf(table),
    });
    await this.loadTables(rest);
    this.maintenance = this.maintenanceScheduler(rest);
    await this.metrics.listen(this.options.metricsPort ?? this.source.cdc.metrics_port);

    const kafka = kafkaClient(cluster);
    const admin = kafka.admin();
    await admin.connect();
    const groupId = this.source.cdc.group_id ?? `lakeloader-cdc-${this.options.source}`;
    const pattern = sourceTopicPattern(this.prefix, this.source.schemas);
    const timer = setInterval(() => void this.flushIfDue(), 250);
    const onAbort = () => void this.stop('signal');
    this.options.signal?.addEventListener('abort', onAbort);
    try {
      while (!this.stopping) {
        try {
          const topics = (await admin.listTopics()).filter((t) => pattern.test(t));
          if (topics.length > 0) await this.consume(kafka, groupId, topics, pattern);
          else if (this.idleDone()) break;
          else await sleep(1000);
        } catch (err) {
          // a broker restart or network cut: wait for Kafka rather than exit (Iceberg holds the position)
          if (!isKafkaUnavailable(err)) throw err;
          this.log.warn(`Kafka is unavailable, retrying in 2s: ${errorMessage(err)}`);
          await sleep(2000);
        }
      }
      await this.flushNow();
      if (this.failure) throw this.failure;
      return this.summary;
    } finally {
      clearInterval(timer);
      this.options.signal?.removeEventListener('abort', onAbort);
      await this.consumer?.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      await this.sourceColumns.close();
      await this.generated.close();
      await this.partitionWatcher.close();
      await this.maintenance?.close();
      await this.metrics.close();
    }
  }

  private maintenance: MaintenanceScheduler | undefined;

  /** Automatic table maintenance between micro-batches (sources.yaml maintenance.enabled, on by default). */
  private maintenanceScheduler(rest: RestCatalogClient): MaintenanceScheduler | undefined {
    const policy = this.source.maintenance;
    if (!policy.enabled) {
      this.log.info('automatic table maintenance is off (maintenance.enabled: false): schedule `lakeloader maintain`');
      return undefined;
    }
    const sourceNames = new Map([...this.tables].map(([name, t]) => [t.icebergTable, name]));
    const log = this.log.child({ component: 'maintenance' });
    const metrics = new MaintenanceMetrics(this.metrics.registry);
    const maintainer = new TableMaintainer({ rest, lakehouse: this.lakehouse, namespace: this.namespace, policy, log, metrics, sourceNames });
    return new MaintenanceScheduler(maintainer, policy, () => new SparkEngine(this.config.lakehouse, policy.spark), log, metrics);
  }

  private async loadTables(rest: RestCatalogClient): Promise<void> {
    const statuses = await this.status.readAll();
    for (const status of statuses.values()) {
      if (!status.iceberg_table) continue;
      const state = tableStateFromStatus(status, [], this.namespace);
      if (await this.lakehouse.tableExists(this.namespace, state.icebergTable)) {
        state.columns = tableStateFromStatus(status, await rest.tableSchema(this.namespace, state.icebergTable), this.namespace).columns;
      } else if (state.mode === 'changelog') {
        const base = await rest.tableSchema(this.namespace, icebergTableOf(status, this.namespace));
        state.columns = tableStateFromStatus(status, base, this.namespace).columns;
        await this.lakehouse.createTable(this.namespace, state.icebergTable, [...state.columns, ...CHANGELOG_COLUMNS]);
        state.columns = [...state.columns, ...CHANGELOG_COLUMNS];
      }
      if (state.status.load_status === 'blocked') {
        // blocked by an apply error in an earlier run: try again (a fix may have been deployed since)
        this.log.warn(`table ${status.table_name} was blocked (${status.error ?? 'unknown error'}): trying it again`, { table: status.table_name });
        state.status = { ...state.status, load_status: state.status.snapshot_lsn ? 'completed' : 'cdc_only' };
      }
      // never committed: the topic Debezium will name (a table's first commit records the real one)
      state.topic ??= debeziumTopic(this.prefix, status.table_name);
      this.router.register(status.table_name, state.topic);
      this.tables.set(status.table_name, state);
      if (state.status.last_applied_lsn) this.metrics.lastAppliedLsn.set({ table: status.table_name }, Number(parseLsn(state.status.last_applied_lsn)));
    }
    for (const [topic, tables] of this.router.sharedTopics()) {
      this.log.warn(`tables ${tables.join(', ')} share Debezium topic ${topic} (their names differ only in characters Kafka refuses): each event is applied to the table its source block names`, { topic });
    }
    this.log.info(`CDC for ${this.tables.size} tables of ${this.namespace}`, {
      tables: Object.fromEntries([...this.tables].map(([n, t]) => [n, `${t.status.load_status}/${t.mode}`])),
    });
  }

  /** One consumer session on a fixed topic list; resolves when stopping or when new topics appear. */
  private async consume(kafka: ReturnType<typeof kafkaClient>, groupId: string, topics: string[], pattern: RegExp): Promise<void> {
    // A SIGKILLed consumer stays in the group until its session times out, and a rebalance waits for it:
    // a short session lets a restarted consumer in soon, and keeps its SyncGroup below kafkajs's 30 s
    // request timeout (else it times out, rejoins, and leaves one more dead member behind). onBatch
    // heartbeats while it waits for a long micro-batch, so a slow commit keeps the membership.
    const consumer = kafka.consumer({ groupId, sessionTimeout: SESSION_TIMEOUT_MS, rebalanceTimeout: REBALANCE_TIMEOUT_MS, heartbeatInterval: HEARTBEAT_MS, maxBytesPerPartition: 8 * 1024 * 1024 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      // Iceberg holds the committed position: start there whatever Kafka's group offsets say
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        for (const partition of partitions) consumer.seek({ topic, partition, offset: this.startOffset(topic, partition) });
      }
      this.metrics.ready = true;
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      // kafkajs restarts itself after retriable errors (a broker away); any other crash stops the job
      if (!payload.restart) this.failure ??= new JobError(`the Kafka consumer stopped: ${errorMessage(payload.error)}`);
    });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (payload) => this.onBatch(payload) });
    const admin = kafka.admin();
    await admin.connect();
    let topicsCheckedAt = Date.now();
    try {
      while (!this.stopping) {
        await sleep(500);
        if (this.failure) {
          await this.stop('failure');
          continue;
        }
        try {
          if (this.idleDone() && (await this.caughtUp(admin, groupId, topics))) {
            // caught up: partitions attached or detached meanwhile are part of being current
            this.partitionsCheckedAt = 0;
            this.flushIfDue();
            await this.flushing;
            await this.stop('idle');
          }
          else if (Date.now() - topicsCheckedAt > 15_000) {
            topicsCheckedAt = Date.now();
            // kafkajs fixes a subscription at start: new tables' topics need a new session
            if ((await admin.listTopics()).some((t) => pattern.test(t) && !topics.includes(t))) {
              this.log.info('new Debezium topics appeared: resubscribing');
              break;
            }
          }
        } catch (err) {
          // the broker is away; the consumer reconnects by itself (kafkajs), these checks on the next round
          if (!isKafkaUnavailable(err)) throw err;
          this.log.warn(`Kafka is unavailable: ${errorMessage(err)}`);
        }
      }
    } finally {
      await admin.disconnect().catch(() => undefined);
      await consumer.stop().catch(() => undefined);
      await this.flushNow();
      await consumer.disconnect().catch(() => undefined);
      this.consumer = undefined;
    }
  }

  /**
   * Where a partition is read from: the position Iceberg holds for its table(s), or the topic's
   * beginning for a table without one — never the group's latest offset, which would skip changes
   * made before the first commit (the bulk load's snapshot filter drops what the load already holds).
   */
  private startOffset(topic: string, partition: number): string {
    const owners = [...this.tables.values()].filter((t) => t.topic === topic);
    const offsets = owners.map((t) => t.offsets.get(partition));
    if (owners.length === 0 || offsets.some((o) => o === undefined)) return EARLIEST_OFFSET;
    return (offsets as bigint[]).reduce((a, b) => (b < a ? b : a)).toString();
  }

  /** Buffers the fetched messages (what Iceberg already holds is dropped when the batch applies) and cuts full micro-batches. */
  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    // offsets are resolved before every wait and at the end, not per message (kafkajs does work per call)
    let unresolved: string | undefined;
    const resolve = () => {
      if (unresolved !== undefined) resolveOffset(unresolved);
      unresolved = undefined;
    };
    for (const message of batch.messages) {
      if (!isRunning() || isStale() || this.stopping) break;
      this.buffer.push({ topic: batch.topic, partition: batch.partition, message });
      this.bufferBytes += (message.value?.length ?? 0) + (message.key?.length ?? 0);
      unresolved = message.offset;
      if (this.buffer.length >= this.batchSize || this.bufferBytes >= this.batchBytes) {
        resolve();
        this.lastMessageAt = Date.now();
        // pipelined: one micro-batch applies while the next is fetched and decoded; never more than two
        await this.untilOneInFlight(heartbeat);
        void this.flushNow();
        await heartbeat();
      }
    }
    resolve();
    if (batch.messages.length > 0) this.lastMessageAt = Date.now();
  }

  /** Waits until at most one micro-batch is in flight, heartbeating meanwhile: a commit retrying for a minute keeps the group membership. */
  private async untilOneInFlight(heartbeat: () => Promise<void>): Promise<void> {
    while (this.inFlight.length >= 2) {
      await Promise.race([this.inFlight[0], sleep(HEARTBEAT_MS)]);
      await heartbeat();
    }
  }

  private flushIfDue(): void {
    const age = this.bufferAge();
    if (this.inFlight.length > 0) return; // the buffer keeps filling while a micro-batch applies: it goes next, whole
    if (Date.now() - this.partitionsCheckedAt >= PARTITION_CHECK_MS && !this.failure) {
      this.partitionsCheckedAt = Date.now();
      // between micro-batches, in their order: a reload never interleaves with a batch's commit
      this.flushing = this.flushing.then(() => this.checkPartitions()).catch((err) => {
        this.log.warn(`partition check failed, trying again later: ${errorMessage(err)}`);
      });
    }
    const maintenance = this.failure ? undefined : this.maintenance?.poll();
    if (maintenance) {
      // between micro-batches, like a reload: the consumer holds still while the engine rewrites
      this.flushing = this.flushing.then(maintenance);
    }
    const interval = (this.options.triggerInterval ?? this.source.cdc.trigger_interval) * 1000;
    if (this.buffer.length > 0 && Date.now() - this.lastMessageAt >= Math.min(interval, 500)) void this.flushNow();
    else if (this.buffer.length > 0 && age >= interval) void this.flushNow();
  }

  private partitionsCheckedAt = 0;

  /** Partitions attached or detached since a partitioned table was loaded: reload it, or just note new empty ones. */
  private async checkPartitions(): Promise<void> {
    const watched = new Map<string, string[]>();
    for (const [name, t] of this.tables) {
      if (t.status.partitions && USABLE.has(t.status.load_status)) watched.set(name, JSON.parse(t.status.partitions) as string[]);
    }
    for (const change of await this.partitionWatcher.check(watched)) {
      const state = this.tables.get(change.table)!;
      this.log.info(`partitions of ${change.table} changed (new: ${change.added.join(', ') || '-'}; gone: ${change.removed.join(', ') || '-'})${change.reload ? ': rows moved without change events, reloading the table' : ''}`, { table: change.table });
      if (change.reload) await this.reloadTable(change.table);
      else {
        state.status = { ...state.status, partitions: change.current, updated_at: new Date().toISOString() };
        await this.status.upsert(state.status);
      }
    }
  }

  /**
   * Reloads one table at a fresh snapshot while the consumer holds still: the bulk load's exact cut
   * (a temporary slot), after which the table's snapshot filter skips what the reload already holds.
   */
  private async reloadTable(name: string): Promise<void> {
    const like = name.replace(/[\\%_]/g, '\\$&');
    const report = await runBulkLoad(this.config, {
      source: this.options.source, tableFilters: [like], resume: true, reload: true, dryRun: false,
      stagingDir: path.resolve(process.env.LAKELOADER_STAGING_DIR ?? path.join('checkpoints', 'staging')),
      outputConfigDir: this.config.dir, out: (text) => this.log.info(text.trim()),
    });
    const rows = await this.status.readAll();
    const rest = new RestCatalogClient(this.config.lakehouse);
    for (const result of report.results) {
      const row = rows.get(result.table);
      const previous = this.tables.get(result.table);
      if (!row || !previous || !row.iceberg_table) continue;
      const state = tableStateFromStatus(row, await rest.tableSchema(this.namespace, previous.icebergTable), this.namespace);
      // the stream goes on from where it is: keep the position (the new snapshot filter drops what the reload holds)
      state.offsets = previous.offsets;
      state.topic = previous.topic;
      this.tables.set(result.table, state);
      this.evolver.forget(result.table);
      this.log.info(`table ${result.table} reloaded: ${result.status}, ${result.rows} rows`, { table: result.table });
    }
  }

  private firstBufferedAt = 0;
  private bufferAge(): number {
    if (this.buffer.length === 0) this.firstBufferedAt = 0;
    else if (this.firstBufferedAt === 0) this.firstBufferedAt = Date.now();
    return this.firstBufferedAt ? Date.now() - this.firstBufferedAt : 0;
  }

  /** Micro-batches cut and not yet committed, oldest first. */
  private readonly inFlight: Promise<void>[] = [];

  /**
   * Cuts a micro-batch from the buffer. Decoding starts now (while the previous batch is still being
   * written by DuckDB's threads); applying is serialised, in arrival order.
   */
  flushNow(): Promise<void> {
    if (this.buffer.length > 0 && !this.failure) {
      const { events, held } = splitKeyChanges(this.buffer);
      this.buffer = held;
      this.bufferBytes = held.reduce((n, b) => n + (b.message.value?.length ?? 0) + (b.message.key?.length ?? 0), 0);
      this.firstBufferedAt = held.length > 0 ? Date.now() : 0;
      if (events.length === 0) return this.flushing;
      const decoded = this.decodeEvents(events);
      decoded.catch(() => undefined); // its failure surfaces where it is awaited, below
      const done = this.flushing.then(async () => {
        try {
          if (!this.failure) await this.applyEvents(await decoded);
        } catch (err) {
          this.failure = err instanceof Error ? err : new Error(String(err));
          this.log.error(`micro-batch failed: ${errorMessage(err)}`);
          this.metrics.ready = false;
        } finally {
          this.inFlight.shift();
        }
      });
      this.inFlight.push(done);
      this.flushing = done;
    }
    return this.flushing;
  }

  /** Decodes a micro-batch's messages; events without schemas get their column types from PostgreSQL first. */
  private async decodeEvents(events: Buffered[]): Promise<DecodedBatch> {
    const started = process.hrtime.bigint();
    // tables whose messages carry no schema (JsonConverter schemas.enable=false) need the catalog's column types
    const schemaless = new Set<string>();
    for (const { topic, message } of events) {
      const table = this.tableOf(topic);
      if (table && !schemaless.has(table) && !carriesSchema(message.value)) schemaless.add(table);
    }
    await this.sourceColumns.refresh([...schemaless]);
    await this.generated.refresh();
    await this.avro?.prefetch(events.flatMap(({ message }) => [message.key, message.value]));
    const results: DecodeResult[] = [];
    for (const [index, { topic, partition, message }] of events.entries()) {
      // yield now and then: the previous batch's DuckDB statements continue on this thread between slices
      if (index % DECODE_SLICE === DECODE_SLICE - 1) await new Promise((r) => setImmediate(r));
      const tableName = this.tableOf(topic);
      try {
        const knownColumns = tableName ? this.sourceColumns.columns(tableName) : undefined;
        const meta = { topic, partition, offset: message.offset };
        const options = { encoding: this.encoding, keyDecoder: this.messageDecoder, valueDecoder: this.messageDecoder, ...(knownColumns ? { knownColumns } : {}) };
        const event = decodeChangeEvent(message.key, message.value, meta, options);
        const oldKeyHeader = headerBytes(message, OLD_KEY_HEADER);
        // a primary-key change arrives as a delete of the old key and a create of the new one, linked by headers
        const oldKey = oldKeyHeader ? (decodeChangeEvent(oldKeyHeader, null, meta, options) as { key: TextRow | null }).key : undefined;
        results.push(oldKey === undefined ? { event } : { event, oldKey });
      } catch (err) {
        results.push({ error: err instanceof DecodeError ? err.message : `cannot decode: ${errorMessage(err)}` });
      }
    }
    return { events, results, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  }

  private idleDone(): boolean {
    const idle = this.options.exitWhenIdle;
    return idle !== undefined && this.buffer.length === 0 && Date.now() - this.lastMessageAt >= idle * 1000;
  }

  /**
   * Caught up when every partition's position reaches its high watermark. The position is Iceberg's
   * offset, or the group's committed one when that is further: a table reset by `bulk-load
   * --no-resume` has no offsets in Iceberg while the group still resumes from its own.
   */
  private async caughtUp(admin: ReturnType<ReturnType<typeof kafkaClient>['admin']>, groupId: string, topics: string[]): Promise<boolean> {
    await this.flushing;
    const committed = new Map<string, bigint>();
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId, topics })) {
      for (const p of partitions) if (Number(p.offset) >= 0) committed.set(`${topic}/${p.partition}`, BigInt(p.offset));
    }
    for (const topic of topics) {
      const table = this.tables.get(this.tableOf(topic) ?? '');
      // a table CDC does not apply (failed load, blocked) keeps its events in Kafka: nothing to wait for
      if (table && !USABLE.has(table.status.load_status)) continue;
      for (const p of await admin.fetchTopicOffsets(topic)) {
        const high = BigInt(p.high);
        const inIceberg = table?.topic === topic ? table.offsets.get(p.partition) ?? 0n : 0n;
        const inGroup = committed.get(`${topic}/${p.partition}`) ?? 0n;
        const at = inIceberg > inGroup ? inIceberg : inGroup;
        this.metrics.lag.set({ topic, partition: String(p.partition) }, Number(high - at));
        if (high > at && high > BigInt(p.low)) return false;
      }
    }
    return true;
  }

  /**
   * A table whose changes fail on their own (the rest of the batch committed): it stops, with the
   * reason in `_cdc_status` and an alert; its events stay in Kafka. A restart tries it again.
   */
  private async blockTable(name: string, error: string): Promise<void> {
    const state = this.tables.get(name)!;
    state.status = { ...state.status, load_status: 'blocked', error: `CDC apply failed: ${error}`.slice(0, 2000), updated_at: new Date().toISOString() };
    this.metrics.tablesBlocked.set({ table: name }, 1);
    await notifyAlert({ source: this.options.source, table: name, event: 'table_blocked', detail: `CDC stopped for this table, its events are kept in Kafka: ${error}` }, this.source.notifications);
    await pRetry(() => this.status.upsert(state.status), { retries: 5, minTimeout: 500 })
      .catch((err) => this.log.error(`cannot record ${name} as blocked in _cdc_status: ${errorMessage(err)}`));
  }

  async stop(reason: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info(`stopping (${reason}): finishing the current micro-batch`);
    await this.flushNow();
  }

  /** Filter, evolve schemas, apply and commit one decoded micro-batch. */
  private async applyEvents({ events, results, seconds: decodeSeconds }: DecodedBatch): Promise<void> {
    const started = process.hrtime.bigint();
    const byTable = new Map<string, PendingChange[]>();
    const deadLetters: DeadLetter[] = [];
    const touched = new Map<string, { topic: string; offsets: Map<number, bigint>; lsn: bigint | null; tsMs: number; skipped: number }>();
    const blockedTables = new Set<string>();
    let skipped = 0;
    const tally = new CounterTally(); // added to the metrics once the batch is committed

    const lastOffset = new Map<string, bigint>();
    for (const [index, { topic, partition, message }] of events.entries()) {
      const result = results[index]!;
      // the event's source block names its table; the topic (sanitised by Debezium) only predicts it
      const eventTable = 'event' in result && result.event.kind === 'change' ? `${result.event.schema}.${result.event.table}` : null;
      if (eventTable) this.router.learn(topic, eventTable);
      const tableName = eventTable ?? this.tableOf(topic);
      // a rebalance may deliver messages again: anything at or below what this batch already holds, or
      // below what Iceberg already has, was seen before and must not overwrite newer changes
      const offset = BigInt(message.offset);
      const partitionKey = `${topic}/${partition}`;
      const held = lastOffset.get(partitionKey);
      const state = tableName ? this.tables.get(tableName) : undefined;
      const committed = state?.topic === topic ? state.offsets.get(partition) : undefined;
      if ((held !== undefined && offset <= held) || (committed !== undefined && offset < committed)) {
        tally.add(this.metrics.skipped, { table: tableName ?? topic, reason: 'redelivered' });
        continue;
      }
      lastOffset.set(partitionKey, offset);
      const mark = (lsn: bigint | null, tsMs: number) => {
        const t = touched.get(tableName ?? topic) ?? { topic, offsets: new Map(), lsn: null, tsMs: 0, skipped: 0 };
        t.offsets.set(partition, offset + 1n);
        if (lsn !== null && (t.lsn === null || lsn > t.lsn)) t.lsn = lsn;
        t.tsMs = Math.max(t.tsMs, tsMs);
        touched.set(tableName ?? topic, t);
        return t;
      };
      if (state && !USABLE.has(state.status.load_status)) {
        blockedTables.add(tableName!);
        continue;
      }
      if ('error' in result) {
        deadLetters.push({ table_name: tableName, topic, partition, offset: message.offset, key: message.key, value: message.value, error: result.error });
        tally.add(this.metrics.deadLettered, { table: tableName ?? topic });
        mark(null, 0);
        continue;
      }
      const decoded = result.event;
      this.summary.consumed++;
      if (decoded.kind === 'tombstone') {
        tally.add(this.metrics.skipped, { table: tableName ?? topic, reason: 'tombstone' });
        mark(null, 0);
        continue;
      }
      const name = `${decoded.schema}.${decoded.table}`;
      tally.add(this.metrics.consumed, { table: name, op: decoded.op });
      const target = this.tables.get(name) ?? (await this.evolver.createCdcOnlyTable(name, decoded, this.tables));
      if (!target) {
        deadLetters.push({ table_name: name, topic, partition, offset: message.offset, key: message.key, value: message.value, error: `table ${name} is not in ${this.namespace} and the event carries no schema to create it from (enable schemas in the JSON converter)` });
        tally.add(this.metrics.deadLettered, { table: name });
        mark(null, 0);
        continue;
      }
      if (!USABLE.has(target.status.load_status)) {
        blockedTables.add(name);
        continue;
      }
      const t = mark(decoded.lsn, decoded.tsMs);
      if (target.alreadyLoaded({ lsn: decoded.lsn, txId: decoded.txId })) {
        tally.add(this.metrics.skipped, { table: name, reason: 'in_bulk_load' });
        t.skipped++;
        skipped++;
        continue;
      }
      const evolved = await this.evolver.evolve(target, decoded);
      if (!evolved) {
        blockedTables.add(name);
        continue;
      }
      const list = byTable.get(name) ?? [];
      list.push({
        op: decoded.op, before: decoded.before, after: decoded.after, key: decoded.key, lsn: decoded.lsn, tsMs: decoded.tsMs,
        ...('oldKey' in result && result.oldKey ? { oldKey: result.oldKey } : {}),
        ...(decoded.unavailableColumns.length > 0 ? { unavailable: decoded.unavailableColumns } : {}),
        origin: { topic, partition, offset: message.offset, key: message.key, value: message.value },
      });
      byTable.set(name, list);
    }
    for (const name of blockedTables) {
      // a blocked table keeps its events: nothing of it applies and its offsets stay where they were
      touched.delete(name);
      byTable.delete(name);
    }

    const targets: TableTarget[] = [...byTable].map(([name, changes]) => {
      const s = this.tables.get(name)!;
      const fillGenerated = this.generated.has(name) ? (rows: TextRow[]) => this.generated.fill(name, rows) : undefined;
      const policyOf = (column: string) => valuePolicyFor(this.source, name, column);
      return { sourceTable: name, icebergTable: s.icebergTable, mode: s.mode, keyColumns: s.keyColumns, columns: s.columns, changes, fillGenerated, policyOf };
    });
    const now = new Date().toISOString();
    const nextStatus = (applied: Map<string, number>): CdcStatusRow[] => [...touched].flatMap(([name, t]) => {
      const s = this.tables.get(name);
      if (!s) return [];
      const offsets = new Map(s.offsets);
      for (const [p, o] of t.offsets) offsets.set(p, o);
      const lastLsn = t.lsn !== null && (!s.status.last_applied_lsn || t.lsn > parseLsn(s.status.last_applied_lsn)) ? formatLsn(t.lsn) : s.status.last_applied_lsn;
      return [{
        ...s.status,
        last_applied_lsn: lastLsn,
        last_event_at: t.tsMs > 0 ? new Date(t.tsMs).toISOString() : s.status.last_event_at,
        events_applied: Number(s.status.events_applied ?? 0) + (applied.get(name) ?? 0),
        kafka_offsets: formatOffsets(t.topic, offsets),
        updated_at: now,
      }];
    });

    const prepareSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const committed = new Map<string, CdcStatusRow>();
    const tableNames = [...touched.keys()].filter((name) => this.tables.has(name));
    // one unit of commit: the whole batch (null), one table ([name]), or the dead letters of no known table ([])
    const commitUnit = async (unit: string[] | null): Promise<BatchResult> => {
      const rest = unit !== null && unit.length === 0;
      const inUnit = (name: string | null) => (rest ? !tableNames.includes(name ?? '') : unit === null || unit.includes(name ?? ''));
      const unitDeadLetters = deadLetters.filter((d) => inUnit(d.table_name));
      if (rest && unitDeadLetters.length === 0) return { applied: new Map(), deadLetters: [], phases: {} };
      let rows: CdcStatusRow[] = [];
      const unitTargets = rest ? [] : targets.filter((t) => inUnit(t.sourceTable));
      const r = await applyMicroBatch(this.lakehouse, this.namespace, this.status, unitTargets, (applied) => (rows = rest ? [] : nextStatus(applied).filter((row) => inUnit(row.table_name))), unitDeadLetters);
      for (const row of rows) committed.set(row.table_name, row);
      return r;
    };
    const { result, blocked } = await commitIsolating({
      commit: commitUnit,
      tables: tableNames,
      healthy: () => this.status.readAll().then(() => true),
      onRetry: (message) => {
        this.metrics.commitRetries.inc();
        this.log.warn(`micro-batch commit failed, retrying: ${message}`);
      },
    });
    for (const [name, error] of blocked) {
      touched.delete(name);
      await this.blockTable(name, error);
    }

    // committed in Iceberg: now the in-memory state, then Kafka
    for (const row of committed.values()) {
      const s = this.tables.get(row.table_name)!;
      s.status = row;
      const t = touched.get(row.table_name)!;
      s.topic = t.topic;
      for (const [p, o] of t.offsets) s.offsets.set(p, o);
      if (row.last_applied_lsn) this.metrics.lastAppliedLsn.set({ table: row.table_name }, Number(parseLsn(row.last_applied_lsn)));
    }
    const commits = [...touched.values()].flatMap((t) => [...t.offsets].map(([partition, offset]) => ({ topic: t.topic, partition, offset: offset.toString() })));
    if (commits.length > 0) await this.consumer?.commitOffsets(commits).catch((err) => this.log.warn(`Kafka offset commit failed (Iceberg holds the position): ${errorMessage(err)}`));

    let applied = 0;
    for (const [name, n] of result.applied) {
      applied += n;
      for (const ch of byTable.get(name) ?? []) tally.add(this.metrics.applied, { table: name, op: ch.op });
    }
    tally.flush();
    this.summary.batches++;
    this.maintenance?.noteCommit();
    this.summary.applied += applied;
    this.summary.skipped += skipped;
    this.summary.deadLetters += result.deadLetters.length;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.metrics.batchSeconds.observe(seconds);
    this.metrics.batchEvents.observe(events.length);
    const phases = Object.fromEntries(Object.entries({ decode: decodeSeconds, prepare: prepareSeconds, ...result.phases }).map(([k, v]) => [k, Number(v.toFixed(3))]));
    this.log.info('micro-batch committed', { events: events.length, applied, skipped, dead_letters: result.deadLetters.length, tables: targets.length, seconds: Number(seconds.toFixed(3)), phases });

    const ratio = this.source.cdc.max_dead_letter_ratio;
    const total = this.summary.consumed + this.summary.deadLetters;
    if (total >= 100 && this.summary.deadLetters / total > ratio) {
      throw new JobError(`dead letters are ${(100 * this.summary.deadLetters / total).toFixed(1)}% of consumed events, above max_dead_letter_ratio ${ratio} (sources.yaml:sources.${this.options.source}.cdc.max_dead_letter_ratio); inspect ${this.namespace}._dead_letters`);
    }
  }
}

const WITH_SCHEMA = Buffer.from('{"schema"');
/** Debezium's headers on the two events of a primary-key change (delete of the old key, create of the new). */
const OLD_KEY_HEADER = '__debezium.oldkey';
const NEW_KEY_HEADER = '__debezium.newkey';
/** A key change's second half is waited for this long at most before a batch is cut anyway. */
const KEY_CHANGE_WAIT_MS = 30_000;

function headerBytes(message: KafkaMessage, name: string): Buffer | undefined {
  const value = message.headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : Buffer.isBuffer(first) ? first : Buffer.from(first);
}

/**
 * Cuts a micro-batch off the buffer, holding back a primary-key change whose create has not arrived
 * yet (a partition's trailing delete with `__debezium.newkey`, and its tombstone): the create's
 * unchanged TOASTed values come from the old row, which that delete removes, so the two must commit
 * together (what is held is not committed, so a stop re-reads it next time). After 30 s nothing is held.
 */
export function splitKeyChanges<T extends { topic: string; partition: number; message: KafkaMessage }>(buffer: T[], now = Date.now()): { events: T[]; held: T[] } {
  const holdFrom = new Map<string, number>();
  const seen = new Set<string>();
  for (let i = buffer.length - 1; i >= 0; i--) {
    const { topic, partition, message } = buffer[i]!;
    const p = `${topic}/${partition}`;
    if (seen.has(p)) continue;
    if (message.value === null || message.value.length === 0) continue; // a tombstone: look at what precedes it
    seen.add(p);
    if (headerBytes(message, NEW_KEY_HEADER) && now - Number(message.timestamp) < KEY_CHANGE_WAIT_MS) holdFrom.set(p, i);
  }
  if (holdFrom.size === 0) return { events: buffer, held: [] };
  const events: T[] = [];
  const held: T[] = [];
  buffer.forEach((b, i) => {
    const from = holdFrom.get(`${b.topic}/${b.partition}`);
    (from !== undefined && i >= from ? held : events).push(b);
  });
  return { events, held };
}

/** A JsonConverter message with schemas.enable=true starts with its schema; an Avro one names it in the registry. */
function carriesSchema(value: Buffer | null): boolean {
  if (!value || value.length === 0 || AvroDecoder.schemaId(value) !== undefined) return true;
  return value.length > WITH_SCHEMA.length && value.compare(WITH_SCHEMA, 0, WITH_SCHEMA.length, 0, WITH_SCHEMA.length) === 0;
}

/** The connector's settings as deployed from config/debezium_<source>.json (or as bulk-load would generate them). */
function connectorSettings(config: LakeloaderConfig, name: string, source: PostgresSourceConfig): Record<string, string> {
  const file = path.join(config.dir, `debezium_${name}.json`);
  if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { config: Record<string, string> }).config;
  return debeziumConnectorConfig(name, source, { slotName: '', publicationName: '' }).config;
}

/** Kafka is away (broker restarting, connection refused…): the same test kafkajs uses to restart its consumer. */
function isKafkaUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  let cause: unknown = err;
  while (cause instanceof Error && cause.cause) cause = cause.cause;
  return err.name === 'KafkaJSNumberOfRetriesExceeded' || (cause as { retriable?: unknown }).retriable === true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function runCdc(config: LakeloaderConfig, options: CdcOptions): Promise<CdcSummary> {
  return new CdcConsumer(config, options).run();
}
