/**
 * What CDC tests share: a source set up through bulk load and connector, the consumer run as users run
 * it (to catch up, or long-running in the background), a random keyed workload, and the checks that
 * Iceberg ends exactly where PostgreSQL and Kafka are.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before } from 'node:test';
import path from 'node:path';
import type pg from 'pg';
import { kafkaClient } from '../../lib/kafka/client.js';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { runCli } from './cli.js';
import { diffTable } from './compare.js';
import { testConfigDir, uniqueName } from './config.js';
import { dropTestSource, pgClient } from './pg.js';
import { readWithPyIceberg, stack } from './stack.js';

/** Deterministic pseudo-random numbers, so a failing workload can be replayed. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The config of a test source named like its schema (and topic prefix), loaded into lltest.<name>. */
export function cdcSourceConfig(name: string, cdc: Record<string, unknown> = {}, settings: Record<string, unknown> = {}): string {
  return testConfigDir({
    [name]: { schemas: [name], namespace: `lltest.${name}`, kafka: { cluster: 'local', topic_prefix: name }, cdc: { batch_size: 200, trigger_interval: 1, metrics_port: 0, ...cdc }, ...settings },
  });
}

/** `lakeloader <args…> --source <name>`, which must exit 0. */
export async function lakeloaderOk(configDir: string, name: string, ...args: string[]): Promise<string> {
  const r = await runCli(['--config', configDir, ...args, '--source', name]);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** A test source: the schema created by `ddl`, bulk-loaded, its connector applied. */
export async function createCdcSource(db: pg.Client, name: string, ddl: string, cdc: Record<string, unknown> = {}, settings: Record<string, unknown> = {}): Promise<string> {
  await db.query(`CREATE SCHEMA ${name}`);
  await db.query(ddl);
  const configDir = cdcSourceConfig(name, cdc, settings);
  await lakeloaderOk(configDir, name, 'bulk-load');
  await lakeloaderOk(configDir, name, 'connector', 'apply');
  return configDir;
}

/** Deletes the source's connector, then its slot, publication and schema. */
export async function removeCdcSource(db: pg.Client, configDir: string, name: string): Promise<void> {
  await runCli(['--config', configDir, 'connector', 'delete', '--source', name]).catch(() => undefined);
  await dropTestSource(db, name);
}

const cdcArgs = (configDir: string, source: string, extra: string[]) =>
  ['--config', configDir, 'cdc', '--source', source, '--metrics-port', '0', ...extra];

/** One `cdc --exit-when-idle 4` run; it must exit 0 (a run that never sees itself caught up is killed after 5 minutes). */
export async function cdcUntilIdle(configDir: string, source: string, extra: string[] = []): Promise<void> {
  const r = await runCli(cdcArgs(configDir, source, ['--exit-when-idle', '4', ...extra]), {}, undefined, { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr.split('\n').slice(-30).join('\n'));
}

/** Runs the consumer until `problem` finds none (Debezium needs a moment to publish every topic). */
export async function consumeUntil(configDir: string, source: string, problem: () => Promise<string | null>, attempts = 6): Promise<void> {
  let found: string | null = null;
  for (let i = 0; i < attempts; i++) {
    await cdcUntilIdle(configDir, source);
    found = await problem();
    if (!found) return;
  }
  assert.fail(`lakehouse never caught up: ${found}`);
}

/** The first difference between the source's tables (keyed by `id`) and their Iceberg tables, or null. */
export async function tablesDiffer(db: pg.Client, schema: string, namespace: string, tables: string[]): Promise<string | null> {
  for (const t of tables) {
    const diff = await diffTable(db, `${schema}.${t}`, 'id', await readWithPyIceberg(`${namespace}.${t}`));
    if (diff) return `${t}: ${diff}`;
  }
  return null;
}

/** Runs `cdc --exit-when-idle` until the tables equal PostgreSQL row for row. */
export function catchUp(db: pg.Client, configDir: string, source: string, schema: string, namespace: string, tables: string[]): Promise<void> {
  return consumeUntil(configDir, source, () => tablesDiffer(db, schema, namespace, tables));
}

/** A long-running `lakeloader cdc` (no --exit-when-idle) in the background, as a service runs it. */
export class BackgroundCdc {
  readonly child: ChildProcess;
  private output = '';
  readonly exited: Promise<number | null>;
  exitCode: number | null | undefined;
  /** Everything the consumer wrote, kept for a failing test's reader. */
  readonly logFile: string;

  /** `args`: the CLI arguments (default: `cdc --source <source>` with metrics off). */
  constructor(configDir: string, source: string, args: string[] = cdcArgs(configDir, source, [])) {
    this.child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'jobs', 'cli.js'), ...args], {
      cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.logFile = path.join(mkdtempSync(path.join(tmpdir(), 'lakeloader-test-cdc-')), 'cdc.log');
    const log = createWriteStream(this.logFile);
    const keep = (d: Buffer) => {
      log.write(d);
      this.output = (this.output + d.toString()).slice(-200_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => {
      log.end();
      resolve((this.exitCode = code));
    }));
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Whether the consumer has committed a micro-batch (its log says so). */
  get committed(): boolean {
    return this.output.includes('micro-batch committed');
  }

  /** The last lines the consumer wrote, for failure messages. */
  tail(lines = 40): string {
    return `${this.output.split('\n').slice(-lines).join('\n')}\n(whole log: ${this.logFile})`;
  }

  /** Log lines (JSON) matching a pattern. */
  logLines(pattern: RegExp): string[] {
    return this.output.split('\n').filter((l) => pattern.test(l));
  }

  kill(): Promise<number | null> {
    if (this.running) this.child.kill('SIGKILL');
    return this.exited;
  }

  /** SIGTERM: the consumer finishes its micro-batch and exits (0 when it was healthy). */
  stop(): Promise<number | null> {
    if (this.running) this.child.kill('SIGTERM');
    return this.exited;
  }
}

/**
 * Waits while a background consumer catches up with PostgreSQL on its own; fails if it exits or never
 * gets there.
 */
export async function backgroundCatchUp(cdc: BackgroundCdc, differ: () => Promise<string | null>, deadlineMs = 180_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  let diff: string | null = 'not compared yet';
  while (Date.now() < end) {
    assert.ok(cdc.running, `the consumer exited (code ${String(cdc.exitCode)}):\n${cdc.tail()}`);
    diff = await differ();
    if (!diff) return;
    await sleep(3000);
  }
  assert.fail(`the consumer never caught up: ${diff}\n${cdc.tail()}`);
}

/**
 * A random stream of single-statement changes on `<table>(id int PRIMARY KEY, balance bigint, note text)`
 * with keys 1..keys: 60% updates, 20% inserts of new keys (from firstNewKey), 20% deletes, at most `perSecond` a second
 * (unthrottled, PostgreSQL outruns one consumer), until stop() or `seconds`.
 */
export class KeyedWorkload {
  private stopped = false;
  statements = 0;
  readonly done: Promise<void>;

  constructor(db: pg.Client, table: string, options: { seed: number; keys: number; seconds?: number; perSecond?: number; firstNewKey?: number }) {
    const random = rng(options.seed);
    const started = Date.now();
    const end = options.seconds === undefined ? Infinity : started + options.seconds * 1000;
    const perSecond = options.perSecond ?? 200;
    let next = options.firstNewKey ?? 1_000_000;
    this.done = (async () => {
      while (!this.stopped && Date.now() < end) {
        const ahead = this.statements / perSecond * 1000 - (Date.now() - started);
        if (ahead > 0) await sleep(ahead);
        const id = 1 + Math.floor(random() * options.keys);
        const roll = random();
        if (roll < 0.6) await db.query(`UPDATE ${table} SET balance = balance + 1, note = 'u' WHERE id = $1`, [id]);
        else if (roll < 0.8) await db.query(`INSERT INTO ${table} VALUES ($1, 1, 'i')`, [next++]);
        else await db.query(`DELETE FROM ${table} WHERE id = $1`, [id]);
        this.statements++;
      }
    })();
  }

  stop(): Promise<void> {
    this.stopped = true;
    return this.done;
  }
}

/** DDL of the table KeyedWorkload writes, with `rows` rows to start with. */
export const keyedTableDdl = (table: string, rows: number) =>
  `CREATE TABLE ${table} (id int PRIMARY KEY, balance bigint NOT NULL, note text);
   INSERT INTO ${table} SELECT i, 0, 'start' FROM generate_series(1, ${rows}) i;`;

/** `_cdc_status` of the table holds the offset after the last event of its topic: nothing left, nothing beyond. */
export async function assertOffsetsAtEnd(namespace: string, table: string, topic: string): Promise<void> {
  const status = (await readWithPyIceberg(`${namespace}._cdc_status`)).rows.find((r) => r.table_name === table);
  assert.ok(status, `no _cdc_status row for ${table}`);
  const offsets = JSON.parse(String(status.kafka_offsets)) as { partitions: Record<string, string> };
  const admin = kafkaClient({ brokers: [stack.kafkaBroker], client_id: 'lltest', ssl: false }).admin();
  await admin.connect();
  try {
    const high = await admin.fetchTopicOffsets(topic);
    for (const p of high) assert.equal(offsets.partitions[String(p.partition)], p.high, `_cdc_status holds the offset after the last event of ${topic}/${p.partition}`);
  } finally {
    await admin.disconnect();
  }
}

/** A CDC test source for a describe block: created (bulk-load + connector apply) before its tests, removed after. */
export interface CdcTestSource {
  readonly schema: string;
  readonly namespace: string;
  readonly db: pg.Client;
  readonly configDir: string;
}

/** `settings`: more of the source's sources.yaml entry (e.g. `maintenance`). */
export function cdcTestSource(prefix: string, ddl: (schema: string) => string, settings: Record<string, unknown> = {}): CdcTestSource {
  const schema = uniqueName(prefix);
  let db: pg.Client | undefined;
  let configDir: string | undefined;
  before(async () => {
    db = await pgClient();
    configDir = await createCdcSource(db, schema, ddl(schema), {}, settings);
  });
  after(async () => {
    if (db && configDir) await removeCdcSource(db, configDir, schema);
    await db?.end();
  });
  return {
    schema,
    namespace: `lltest.${schema}`,
    get db() { return db!; },
    get configDir() { return configDir!; },
  };
}
