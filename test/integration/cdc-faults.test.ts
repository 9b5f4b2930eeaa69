/**
 * CDC through the faults a real deployment meets, on the real local stack: the Kafka broker and the
 * Iceberg REST catalog restarting under a running consumer, a bulk load taken while the source is
 * being written, and a table reloaded with `bulk-load --no-resume` under a consumer group that has
 * moved on. Each ends with Iceberg (read by pyiceberg) equal to PostgreSQL row for row.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import {
  BackgroundCdc, KeyedWorkload, assertOffsetsAtEnd, backgroundCatchUp, catchUp, cdcSourceConfig, cdcUntilIdle, createCdcSource, keyedTableDdl, lakeloaderOk,
  removeCdcSource, rng, sleep, tablesDiffer,
} from '../helpers/cdc.js';
import { uniqueName } from '../helpers/config.js';
import { pgClient } from '../helpers/pg.js';
import { outage, readWithPyIceberg } from '../helpers/stack.js';

describe('CDC through stack restarts', () => {
  let db: pg.Client;
  let writer: pg.Client;

  before(async () => {
    db = await pgClient();
    writer = await pgClient();
  });

  after(async () => {
    await writer.end();
    await db.end();
  });

  /** A source with one keyed table, a consumer running in the background and a workload on the table while `component` restarts. */
  async function restartMidStream(component: string, seed: number, downMs: number): Promise<void> {
    const name = uniqueName(`llrs${seed}`);
    const namespace = `lltest.${name}`;
    const configDir = await createCdcSource(db, name, keyedTableDdl(`${name}.acct`, 1000));
    const cdc = new BackgroundCdc(configDir, name);
    const workload = new KeyedWorkload(writer, `${name}.acct`, { seed, keys: 1000 });
    try {
      await sleep(8000);
      await outage(component, downMs);
      await sleep(8000);
      await workload.stop();
      await backgroundCatchUp(cdc, () => tablesDiffer(db, name, namespace, ['acct']));
      assert.equal(await cdc.stop(), 0, `the consumer stops cleanly after the restart:\n${cdc.tail()}`);
      await assertOffsetsAtEnd(namespace, `${name}.acct`, `${name}.${name}.acct`);
    } finally {
      await workload.stop();
      if (cdc.running) await cdc.kill();
      await removeCdcSource(db, configDir, name);
    }
  }

  test('Kafka broker restart mid-stream: the running consumer rides it out, without loss or duplicates', { timeout: 600_000 }, async () => {
    // down long enough for kafkajs's retries (~10 s) to run out in the consumer's own checks
    await restartMidStream('kafka', 11, 20_000);
  });

  test('Iceberg REST catalog restart mid-stream: commits retry until it is back, without loss or duplicates', { timeout: 600_000 }, async () => {
    await restartMidStream('iceberg_rest', 12, 15_000);
  });
});

/**
 * Writers on several tables while the bulk load runs: single changes, short transactions, updates of
 * ranges of rows the load is reading, key changes, deletes, and one writer that only runs long
 * transactions, so that some start before the load's snapshot and commit after it.
 */
class Writers {
  private stopped = false;
  readonly done: Promise<void>;
  transactions = 0;
  /** Transaction ids (pg_current_xact_id) of the committed long transactions. */
  readonly longXids: string[] = [];

  constructor(clients: pg.Client[], private readonly schema: string, seed: number) {
    this.done = Promise.all(clients.map((c, i) => this.write(c, i, rng(seed + i), i === clients.length - 1))).then(() => undefined);
  }

  stop(): Promise<void> {
    this.stopped = true;
    return this.done;
  }

  private async write(db: pg.Client, writer: number, random: () => number, longOnly: boolean): Promise<void> {
    const s = this.schema;
    let next = 10_000_000 * (writer + 1);
    const pick = (n: number) => 1 + Math.floor(random() * n);
    const change = async () => {
      const roll = random();
      if (roll < 0.15) await db.query(`INSERT INTO ${s}.orders VALUES ($1, $2, $3, 'new', now())`, [next++, pick(500), (random() * 1000).toFixed(2)]);
      else if (roll < 0.35) await db.query(`UPDATE ${s}.orders SET amount = amount + 1, status = $2, updated_at = now() WHERE id = $1`, [pick(20_000), random() < 0.1 ? null : `s${writer}`]);
      else if (roll < 0.4) await db.query(`UPDATE ${s}.orders SET id = $2 WHERE id = $1`, [pick(20_000), next++]);
      else if (roll < 0.45) await db.query(`DELETE FROM ${s}.orders WHERE id = $1`, [pick(20_000)]);
      else if (roll < 0.6) await db.query(`INSERT INTO ${s}.lines VALUES ($1, $2, $3, $4)`, [next++, pick(20_000), pick(9), `line ${writer}`]);
      else if (roll < 0.75) await db.query(`UPDATE ${s}.lines SET qty = qty + 1, note = NULL WHERE id = $1`, [pick(40_000)]);
      else if (roll < 0.8) await db.query(`DELETE FROM ${s}.lines WHERE id = $1`, [pick(40_000)]);
      else {
        // a transfer: two rows of one table in one transaction (or half of one, inside a longer one)
        const [a, b] = [pick(2000), pick(2000)];
        await db.query(`UPDATE ${s}.accounts SET balance = balance - 5 WHERE id = $1`, [a]);
        await db.query(`UPDATE ${s}.accounts SET balance = balance + 5 WHERE id = $1`, [b]);
      }
    };
    while (!this.stopped) {
      const roll = random();
      try {
        if (longOnly || roll < 0.05) {
          // long: changes spread over 1-3 s, straddling whatever snapshot is taken meanwhile
          await db.query('BEGIN');
          await change();
          const xid = (await db.query<{ x: string }>('SELECT pg_current_xact_id()::text AS x')).rows[0]!.x;
          const end = Date.now() + 1000 + random() * 2000;
          while (Date.now() < end) {
            await sleep(50 + random() * 250);
            await change();
          }
          await db.query('COMMIT');
          this.longXids.push(xid);
        } else if (roll < 0.15) {
          // rows in flight: a range the load's ctid chunks are reading
          const from = pick(20_000);
          await db.query(`UPDATE ${s}.orders SET amount = amount * 2, updated_at = now() WHERE id BETWEEN $1 AND $1 + 40`, [from]);
        } else if (roll < 0.5) {
          await db.query('BEGIN');
          for (let i = pick(5); i > 0; i--) await change();
          await db.query('COMMIT');
        } else {
          await change();
          await sleep(random() * 10);
        }
        this.transactions++;
      } catch (err) {
        await db.query('ROLLBACK').catch(() => undefined);
        // concurrent writers on the same rows deadlock now and then: PostgreSQL rolls one back
        if ((err as { code?: string }).code !== '40P01') throw err;
      }
    }
  }
}

describe('bulk load under writes', () => {
  test('bulk load while writes are happening, then CDC: exact final state (nothing lost, nothing twice)', { timeout: 600_000 }, async () => {
    const name = uniqueName('llbulkw');
    const namespace = `lltest.${name}`;
    const tables = ['orders', 'lines', 'accounts'];
    const db = await pgClient();
    const clients = await Promise.all([1, 2, 3, 4].map(() => pgClient()));
    const configDir = cdcSourceConfig(name, { batch_size: 1000 });
    let writers: Writers | undefined;
    try {
      await db.query(`CREATE SCHEMA ${name}`);
      await db.query(`
        CREATE TABLE ${name}.orders (id int PRIMARY KEY, customer int, amount numeric(14,2), status text, updated_at timestamptz);
        INSERT INTO ${name}.orders SELECT i, i % 500, i * 0.5, 'open', timestamptz '2024-01-01 00:00+00' + i * interval '1 minute' FROM generate_series(1, 20000) i;
        CREATE TABLE ${name}.lines (id bigint PRIMARY KEY, order_id int, qty int, note text);
        INSERT INTO ${name}.lines SELECT i, 1 + i % 20000, i % 9, repeat('x', 100) FROM generate_series(1, 40000) i;
        CREATE TABLE ${name}.accounts (id int PRIMARY KEY, balance bigint NOT NULL);
        INSERT INTO ${name}.accounts SELECT i, 1000 FROM generate_series(1, 2000) i;`);
      writers = new Writers(clients, name, 21);
      await sleep(2000);
      await lakeloaderOk(configDir, name, 'bulk-load', '--parallel-tables', '4');
      await sleep(2000);
      await lakeloaderOk(configDir, name, 'connector', 'apply');
      await sleep(5000);
      await writers.stop();
      assert.ok(writers.transactions > 100, `${writers.transactions} write transactions`);
      const status = (await readWithPyIceberg(`${namespace}._cdc_status`)).rows.filter((r) => tables.some((t) => r.table_name === `${name}.${t}`));
      assert.equal(status.length, tables.length);
      const inProgress = String(status[0]!.snapshot_xids).split(':')[2]!.split(',');
      assert.ok(writers.longXids.some((x) => inProgress.includes(x)), `a long transaction straddles the snapshot ${String(status[0]!.snapshot_xids)}`);
      const { rows } = await db.query<{ total: string }>(`SELECT sum(balance)::text AS total FROM ${name}.accounts`);
      assert.equal(rows[0]!.total, '2000000', 'transfers kept the money');
      await catchUp(db, configDir, name, name, namespace, tables);
    } finally {
      await writers?.stop().catch(() => undefined);
      await removeCdcSource(db, configDir, name);
      await Promise.all(clients.map((c) => c.end()));
      await db.end();
    }
  });
});

describe('reloaded table', () => {
  test('cdc --exit-when-idle exits 0 when a reloaded table has no offsets in _cdc_status but the consumer group has committed some', { timeout: 600_000 }, async () => {
    const name = uniqueName('llreload');
    const namespace = `lltest.${name}`;
    const db = await pgClient();
    const writer = await pgClient();
    let configDir: string | undefined;
    try {
      configDir = await createCdcSource(db, name, keyedTableDdl(`${name}.acct`, 500));
      await new KeyedWorkload(writer, `${name}.acct`, { seed: 31, keys: 500, seconds: 3 }).done;
      await catchUp(db, configDir, name, name, namespace, ['acct']); // the group commits its offsets

      // a full reload: the slot is recreated, so its connector must go first
      await lakeloaderOk(configDir, name, 'connector', 'delete');
      await lakeloaderOk(configDir, name, 'bulk-load', '--no-resume');
      const status = (await readWithPyIceberg(`${namespace}._cdc_status`)).rows.find((r) => r.table_name === `${name}.acct`);
      assert.equal(status?.kafka_offsets, null, 'the reload leaves the table without Kafka offsets');
      await lakeloaderOk(configDir, name, 'connector', 'apply');

      await cdcUntilIdle(configDir, name); // nothing new for the table: caught up by the group's offsets
      assert.equal(await tablesDiffer(db, name, namespace, ['acct']), null);
      await new KeyedWorkload(writer, `${name}.acct`, { seed: 32, keys: 500, seconds: 3, firstNewKey: 2_000_000 }).done;
      await catchUp(db, configDir, name, name, namespace, ['acct']);
    } finally {
      if (configDir) await removeCdcSource(db, configDir, name);
      await writer.end();
      await db.end();
    }
  });
});
