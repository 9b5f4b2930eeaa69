/** The shape of the three config files, validated with zod. Values may arrive as strings after `${VAR}` substitution, hence coercion. */
import ms from 'ms';
import { z } from 'zod';

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().positive();
const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, 'must be a plain identifier (letters, digits, _)');

const tlsSchema = z.union([
  bool,
  z.object({
    ca: z.string().optional(),
    cert: z.string().optional(),
    key: z.string().optional(),
    reject_unauthorized: bool.default(true),
  }).strict(),
]);

/** A duration as `ms` writes it (`90s`, `30m`, `1h`, `3d`), kept as milliseconds. */
const duration = z.union([z.number().nonnegative(), z.string()]).transform((value, ctx) => {
  const millis = typeof value === 'number' ? value * 1000 : ms(value as ms.StringValue);
  if (typeof millis !== 'number' || !Number.isFinite(millis) || millis < 0) {
    ctx.addIssue({ code: 'custom', message: `must be a duration such as 30s, 15m, 1h or 3d (a number means seconds), not ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return millis;
});

/**
 * Iceberg table maintenance of a source's tables (bronze and state tables). The CDC consumer runs it by
 * itself between micro-batches when a table crosses a threshold; `lakeloader maintain` runs it once.
 */
export const maintenanceSchema = z.object({
  /** false: the consumer never maintains tables (leave it to `lakeloader maintain` on a schedule). */
  enabled: bool.default(true),
  /** How often the consumer looks at its tables' health. */
  check_interval: duration.prefault('1m'),
  /** Rewrite a table's data files once it has this many live delete files (DuckDB reads every one at each scan). */
  max_delete_files: positiveInt.default(32),
  /** ... or once this many data files were added since its last rewrite (each micro-batch adds one). */
  max_new_data_files: positiveInt.default(32),
  /** Size the rewrite bin-packs data files toward. */
  target_file_size_mb: positiveInt.default(128),
  /** Snapshot retention: a snapshot is expired once it is older than retain_for and not among the newest retain_last. */
  retain_last: positiveInt.default(20),
  retain_for: duration.prefault('1h'),
  /**
   * The consumer expires a table's snapshots once this many are past the retention (and whenever it rewrites
   * the table anyway): expiry one snapshot at a time would start the engine at every check.
   */
  max_expirable_snapshots: positiveInt.default(50),
  /** Orphan files (written by commits that never landed) are removed once older than this, at most every orphan_interval. */
  orphan_min_age: duration.prefault('3d').refine((ms) => ms >= 86_400_000, {
    message: 'must be at least 24h: a shorter window could delete the files of a commit still in flight (Spark\'s remove_orphan_files refuses it too)',
  }),
  orphan_interval: duration.prefault('1d'),
  /** metadata.json versions the catalog keeps per table (write.metadata.previous-versions-max). */
  metadata_versions: positiveInt.default(20),
  /** The engine doing the rewriting and expiry: Spark's Iceberg procedures. */
  spark: z.object({
    /** Any Spark master: local[N] runs in a child process of lakeloader, spark://… or k8s://… on a cluster. */
    master: z.string().default('local[2]'),
    driver_memory: z.string().regex(/^\d+[kmgt]?$/i, 'must be a JVM memory size such as 2g').default('2g'),
    /**
     * The consumer keeps the engine between cycles for this long (a busy source maintains every few minutes:
     * a JVM start costs more than the work), then lets its memory go. 0: a new engine per cycle.
     */
    keep_alive: duration.prefault('5m'),
    /** The Python with pyspark (`make up` installs one); relative paths resolve from lakeloader's directory. */
    python: z.string().default('.stack/spark-venv/bin/python'),
    /** Directory holding iceberg-spark-runtime and iceberg-aws-bundle jars. */
    jars: z.string().default('.stack/spark/jars'),
    /** Extra Spark configuration (spark.* keys). */
    conf: z.record(z.string().regex(/^spark\./, 'must be a spark.* key'), z.string()).default({}),
  }).strict().prefault({}),
}).strict();

const valuePolicy = z.enum(['fail', 'clamp', 'null', 'text'], { error: 'must be one of fail, clamp, null, text' });

const sourceCommon = {
  schemas: z.array(z.string().min(1)).min(1).default(['public']),
  /** SQL LIKE patterns on `schema.table` or `table`. */
  include_tables: z.array(z.string()).default(['%']),
  exclude_tables: z.array(z.string()).default([]),
  /** Iceberg namespace of the bronze tables; default `bronze.<source>`. */
  namespace: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, 'must be dot-separated identifiers, e.g. bronze.mydb').optional(),
  /** Chunks read in parallel within one table. */
  parallel_tables: positiveInt.default(4),
  /** Tables loaded at once (worker threads). */
  parallel_workers: positiveInt.default(2),
  /** Rows per fetch / per staged batch. */
  batch_size: positiveInt.default(100_000),
  max_retries: z.coerce.number().int().min(0).default(3),
  /** Base seconds of the exponential backoff between retries (jitter added). */
  retry_backoff: z.coerce.number().positive().default(2),
  /** Primary keys for tables without one (or to override), keyed by `schema.table`. */
  primary_keys: z.record(z.string(), z.array(z.string().min(1)).min(1)).default({}),
  /** Per-column Iceberg type overrides keyed by `schema.table.column`; `string` keeps the source's exact text (e.g. timestamps holding ±infinity). */
  column_types: z.record(z.string(), z.literal('string')).default({}),
  /**
   * Values an Iceberg type cannot hold (±infinity or years outside 1..9999 in dates and timestamps,
   * NaN in numeric(p,s)): fail the table, clamp them (counted and reported), make them NULL (counted),
   * or keep such columns as exact text. Default clamp: nothing is lost silently.
   */
  unrepresentable_values: valuePolicy.default('clamp'),
  /** Per-column overrides of unrepresentable_values, keyed by `schema.table.column`. */
  unrepresentable_columns: z.record(z.string(), valuePolicy).superRefine((columns, ctx) => {
    for (const key of Object.keys(columns)) {
      if (!/^[^.]+\.[^.]+\.[^.]+$/.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'must be schema.table.column' });
    }
  }).default({}),
  /**
   * Declaratively partitioned tables: `root` loads each partitioned table as one Iceberg table (all
   * its partitions' rows; CDC through the root), `leaves` loads every leaf partition as its own table.
   */
  partitioned_tables: z.enum(['root', 'leaves']).default('root'),
  kafka: z.object({
    cluster: z.string().min(1),
    topic_prefix: z.string().min(1),
    /**
     * The JsonConverter's schemas.enable for the connector we generate. true: every message carries
     * its schema (~10x the bytes). false: payload only, ~10x less to move and parse; CDC then types
     * values from the PostgreSQL catalog, which it reads at each micro-batch.
     */
    schemas_enable: z.boolean().default(true),
  }).strict().optional(),
  cdc: z.object({
    /** Events per micro-batch (one Iceberg commit). */
    batch_size: positiveInt.default(10_000),
    /** A micro-batch is also cut at this many MiB of Kafka messages: large rows must not exhaust memory. */
    max_batch_mib: z.coerce.number().positive().default(128),
    /** Max seconds a micro-batch waits to fill up. */
    trigger_interval: z.coerce.number().positive().default(5),
    /** Fail the consumer when dead letters exceed this share of consumed events (after 100 events). */
    max_dead_letter_ratio: z.coerce.number().min(0).max(1).default(0.01),
    /** Consumer group; default lakeloader-cdc-<source>. */
    group_id: z.string().min(1).optional(),
    /** Port of /metrics, /health and /ready (0 = off). */
    metrics_port: z.coerce.number().int().min(0).max(65535).default(9464),
  }).strict().default({ batch_size: 10_000, max_batch_mib: 128, trigger_interval: 5, max_dead_letter_ratio: 0.01, metrics_port: 9464 }),
  maintenance: maintenanceSchema.prefault({}),
  /** Where schema changes are announced (besides the log and _schema_changes). */
  notifications: z.object({
    /** Generic webhooks: POST of a JSON document per change. */
    webhooks: z.array(z.url()).default([]),
    /** Slack-compatible incoming webhooks: POST {text}. */
    slack_webhooks: z.array(z.url()).default([]),
  }).strict().default({ webhooks: [], slack_webhooks: [] }),
};

export const postgresSourceSchema = z.object({
  type: z.literal('postgres'),
  connection: z.object({
    host: z.string().min(1),
    port: port.default(5432),
    database: z.string().min(1),
    user: z.string().min(1),
    password: z.string().optional(),
    ssl: tlsSchema.default(false),
  }).strict(),
  /** Logical replication slot / publication the bulk load creates for CDC; default lakeloader_<source>. */
  slot_name: identifier.optional(),
  publication_name: identifier.optional(),
  ...sourceCommon,
}).strict();

export const oracleSourceSchema = z.object({
  type: z.literal('oracle'),
  connection: z.object({
    host: z.string().min(1),
    port: port.default(1521),
    service_name: z.string().min(1),
    user: z.string().min(1),
    password: z.string().optional(),
  }).strict(),
  /** What to do with Oracle LONG columns, which cannot be read in ranges. */
  long_columns: z.enum(['exclude', 'skip_table', 'error']).default('exclude'),
  ...sourceCommon,
}).strict();

export const sourceSchema = z.discriminatedUnion('type', [postgresSourceSchema, oracleSourceSchema]);

export const sourcesFileSchema = z.object({
  sources: z.record(identifier, sourceSchema),
}).strict();

export const kafkaClusterSchema = z.object({
  brokers: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'must be host:port')).min(1),
  client_id: z.string().default('lakeloader'),
  ssl: tlsSchema.default(false),
  sasl: z.object({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
    username: z.string().min(1),
    password: z.string().min(1),
  }).strict().optional(),
  schema_registry: z.object({
    url: z.url(),
    username: z.string().optional(),
    password: z.string().optional(),
  }).strict().optional(),
  /** Kafka Connect REST API, for `lakeloader connector`. */
  connect_url: z.url().optional(),
}).strict();

export const kafkaClustersFileSchema = z.object({
  clusters: z.record(identifier, kafkaClusterSchema),
}).strict();

const catalogAuthSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }).strict(),
  z.object({ type: z.literal('bearer'), token: z.string().min(1) }).strict(),
  z.object({
    type: z.literal('oauth2'),
    client_id: z.string().min(1),
    client_secret: z.string().min(1),
    oauth2_server_uri: z.url().optional(),
    scope: z.string().optional(),
  }).strict(),
]);

const storageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('local') }).strict(),
  z.object({
    type: z.literal('s3'),
    endpoint: z.string().optional(),
    region: z.string().default('us-east-1'),
    access_key_id: z.string().optional(),
    secret_access_key: z.string().optional(),
    path_style: bool.default(false),
    use_ssl: bool.default(true),
  }).strict(),
]);

export const lakehouseFileSchema = z.object({
  catalog: z.object({
    /** Name the catalog is attached under in DuckDB (and in `lakeloader sql`). */
    alias: identifier.default('lake'),
    uri: z.url(),
    warehouse: z.string().default(''),
    auth: catalogAuthSchema.default({ type: 'none' }),
    /**
     * true only for a catalog that applies a multi-table commit atomically even when another writer commits
     * to one of its tables meanwhile. Apache Iceberg's reference REST server does not (it drops that
     * table's change and reports success), so by default `lakeloader maintain` refuses to commit beside a
     * running CDC consumer, which maintains its own tables between micro-batches.
     */
    atomic_multi_table_commits: bool.default(false),
  }).strict(),
  storage: storageSchema.default({ type: 'local' }),
  duckdb: z.object({
    /** Local extension repository (laid out as <dir>/v<version>/<platform>/<name>.duckdb_extension). */
    extension_directory: z.string().default('.stack/duckdb/extensions'),
    memory_limit: z.string().optional(),
    threads: positiveInt.optional(),
  }).strict().default({ extension_directory: '.stack/duckdb/extensions' }),
}).strict();

export type SourcesFile = z.infer<typeof sourcesFileSchema>;
export type SourceConfig = z.infer<typeof sourceSchema>;
export type PostgresSourceConfig = z.infer<typeof postgresSourceSchema>;
export type OracleSourceConfig = z.infer<typeof oracleSourceSchema>;
export type KafkaClusterConfig = z.infer<typeof kafkaClusterSchema>;
export type LakehouseConfig = z.infer<typeof lakehouseFileSchema>;
export type MaintenanceConfig = z.infer<typeof maintenanceSchema>;
