/**
 * Spark's Iceberg procedures as the maintenance engine: one `driver.py` child process (a Spark
 * driver, `local[N]` or any master), kept by the consumer while cycles come often, spoken to in JSON lines. It is started
 * first, while the consumer goes on; only the procedures themselves run with the consumer paused.
 * Credentials travel on the child's stdin, never in its arguments or logs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { LakehouseConfig, MaintenanceConfig } from '../config/schema.js';
import { JobError } from '../errors.js';
import { logger } from '../log/logger.js';
import { PROJECT_ROOT } from '../paths.js';
import type { EngineTableRequest, EngineTableResult, MaintenanceEngine } from './engine.js';

const DRIVER = path.join(PROJECT_ROOT, 'lib', 'maintenance', 'spark', 'driver.py');
const JARS = ['iceberg-spark-runtime-3.5_2.12-1.10.1.jar', 'iceberg-aws-bundle-1.10.1.jar'];
/** A JVM, a Spark session and the catalog connection: well under this on 2 cores. */
const START_TIMEOUT_MS = 180_000;

type Reply = { event: 'ready'; spark_version: string; startup_ms: number } | { event: 'result'; id: number; result: WireResult }
  | { event: 'done'; id: number } | { event: 'fatal'; error: string };

interface WireResult { table: string; error?: string; actions?: Record<string, Record<string, number>>; durations_ms?: Record<string, number> }

/** The settings the driver needs: the catalog, the warehouse's S3 credentials, Spark's own. */
export function sparkDriverSettings(lakehouse: LakehouseConfig, spark: MaintenanceConfig['spark']): Record<string, unknown> {
  const auth = lakehouse.catalog.auth;
  const storage = lakehouse.storage;
  return {
    catalog: {
      uri: lakehouse.catalog.uri,
      warehouse: lakehouse.catalog.warehouse,
      ...(auth.type === 'bearer' ? { token: auth.token } : {}),
      ...(auth.type === 'oauth2' ? { credential: `${auth.client_id}:${auth.client_secret}`, oauth2_server_uri: auth.oauth2_server_uri ?? null, scope: auth.scope ?? null } : {}),
    },
    s3: storage.type === 's3'
      ? { endpoint: storage.endpoint ?? null, region: storage.region, access_key_id: storage.access_key_id ?? null, secret_access_key: storage.secret_access_key ?? null, path_style: storage.path_style }
      : null,
    spark: { master: spark.master, driver_memory: spark.driver_memory, conf: spark.conf, jars: JARS.map((j) => path.resolve(PROJECT_ROOT, spark.jars, j)) },
  };
}

export class SparkEngine implements MaintenanceEngine {
  readonly name = 'spark';
  private child: ChildProcess | undefined;
  private stdin: Writable | undefined;
  private ready: Promise<void> | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, { results: EngineTableResult[]; resolve: (r: EngineTableResult[]) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;
  private readonly log = logger.child({ component: 'maintenance', engine: 'spark' });

  constructor(private readonly lakehouse: LakehouseConfig, private readonly spark: MaintenanceConfig['spark']) {}

  get alive(): boolean {
    return this.failure === undefined && (this.child === undefined || this.child.exitCode === null);
  }

  async start(warm: { namespace: string; table: string }[] = []): Promise<void> {
    this.ready ??= this.launch();
    await this.ready;
    if (warm.length > 0) await this.request({ warm, tables: [] });
  }

  private launch(): Promise<void> {
    const python = path.resolve(PROJECT_ROOT, this.spark.python);
    const settings = sparkDriverSettings(this.lakehouse, this.spark);
    const missing = [python, ...(settings.spark as { jars: string[] }).jars].filter((f) => !existsSync(f));
    if (missing.length > 0) {
      return Promise.reject(new JobError(`the Spark maintenance engine is not installed: missing ${missing.join(', ')} (run 'make up', or scripts/stack/stack.sh install spark; sources.yaml maintenance.spark.python / .jars)`));
    }
    // replies come on fd 3: Spark and its JVM own stdout and stderr
    const child = spawn(python, [DRIVER], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env: { ...process.env, PYSPARK_PYTHON: python } });
    this.child = child;
    this.stdin = child.stdin!;
    this.stdin.on('error', (err) => this.log.debug(`driver stdin: ${err.message}`)); // it exited: 'exit' reports why
    const stderr: string[] = [];
    readline.createInterface({ input: child.stdout! }).on('line', (line) => this.log.debug(line));
    readline.createInterface({ input: child.stderr! }).on('line', (line) => {
      stderr.push(line);
      if (stderr.length > 40) stderr.shift();
      this.log.debug(line);
    });
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new JobError(`Spark did not start within ${START_TIMEOUT_MS / 1000}s: ${stderr.slice(-5).join(' | ')}`)), START_TIMEOUT_MS);
      const fail = (err: Error) => {
        clearTimeout(timer);
        this.failure ??= err;
        for (const w of this.waiting.values()) w.reject(err);
        this.waiting.clear();
        reject(err);
      };
      child.on('error', (err) => fail(new JobError(`cannot start the Spark driver ${python}: ${err.message}`)));
      child.on('exit', (code, signal) => fail(new JobError(`the Spark driver exited (${signal ?? `code ${code}`}): ${stderr.slice(-8).join(' | ')}`)));
      readline.createInterface({ input: child.stdio[3] as Readable }).on('line', (line) => {
        const reply = JSON.parse(line) as Reply;
        if (reply.event === 'ready') {
          clearTimeout(timer);
          this.log.info(`Spark ${reply.spark_version} ready in ${(reply.startup_ms / 1000).toFixed(1)}s (${this.spark.master})`);
          resolve();
        } else if (reply.event === 'fatal') {
          fail(new JobError(`the Spark driver failed: ${reply.error}`));
        } else if (reply.event === 'result') {
          const r = reply.result;
          this.waiting.get(reply.id)?.results.push({ table: r.table, ...(r.error ? { error: r.error } : {}), actions: r.actions ?? {}, durationsMs: r.durations_ms ?? {} });
        } else if (reply.event === 'done') {
          const w = this.waiting.get(reply.id);
          this.waiting.delete(reply.id);
          w?.resolve(w.results);
        }
      });
      this.stdin!.write(`${JSON.stringify(settings)}\n`);
    });
  }

  async run(tables: EngineTableRequest[]): Promise<EngineTableResult[]> {
    await this.start();
    const wire = tables.map((t) => ({
      namespace: t.namespace, table: t.table,
      rewrite: t.rewrite ? { target_file_size_bytes: t.rewrite.targetFileSizeBytes } : null,
      rewrite_manifests: Boolean(t.rewriteManifests),
      expire: t.expire ? { older_than_ms: t.expire.olderThanMs, retain_last: t.expire.retainLast } : null,
      remove_orphans: t.removeOrphans ? { older_than_ms: t.removeOrphans.olderThanMs } : null,
    }));
    return this.request({ tables: wire });
  }

  private request(body: Record<string, unknown>): Promise<EngineTableResult[]> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { results: [], resolve, reject });
      this.stdin!.write(`${JSON.stringify({ id, ...body })}\n`);
    });
  }

  async close(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.stdin?.end(); // the driver stops its session and exits at end of input
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(killer);
  }
}
