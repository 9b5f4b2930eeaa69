/**
 * The real CDC path end to end: PostgreSQL → (bulk load) → Debezium on Kafka Connect → Kafka →
 * lakeloader cdc → Iceberg, read back with pyiceberg and compared with PostgreSQL row by row.
 * Covers a random workload (inserts, updates incl. key changes, deletes, NULLs), a table that exists
 * only in CDC, a table without a key, malformed messages, schema changes with a webhook, and a
 * consumer SIGKILLed again and again during a workload.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { kafkaClient } from '../../lib/kafka/client.js';
import {
  BackgroundCdc, KeyedWorkload, assertOffsetsAtEnd, catchUp as catchUpTables, consumeUntil as consumeSourceUntil, createCdcSource, keyedTableDdl, removeCdcSource, rng, sleep,
} from '../helpers/cdc.js';
import { runCli } from '../helpers/cli.js';
import { diffTable } from '../helpers/compare.js';
import { testConfigDir, uniqueName } from '../helpers/config.js';
import { dropTestSource, pgClient } from '../helpers/pg.js';
import { readWithPyIceberg, stack } from '../helpers/stack.js';

// the same suite for both JsonConverter settings: with schemas the events type themselves; without,
// the consumer types them from the PostgreSQL catalog
for (const schemasEnable of [true, false]) describe(`CDC end to end, JSON ${schemasEnable ? 'with' : 'without'} schemas`, () => {
  const schema = uniqueName(schemasEnable ? 'llcdc' : 'llcdcnos');
  const source = schema;
  const namespace = `lltest.${schema}`;
  const prefix = schema;
  let db: pg.Client;
  let configDir: string;
  let webhook: http.Server;
  const webhookCalls: Record<string, unknown>[] = [];

  const consumeUntil = (problem: () => Promise<string | null>) => consumeSourceUntil(configDir, source, problem);
  /** Runs the consumer until the tables equal PostgreSQL. */
  const catchUp = (tables: string[]) => catchUpTables(db, configDir, source, schema, namespace, tables);

  before(async () => {
    webhook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        webhookCalls.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', () => r()));
    const port = (webhook.address() as AddressInfo).port;
    db = await pgClient();
    await db.query(`CREATE SCHEMA ${schema}`);
    await db.query(`
      CREATE TABLE ${schema}.items (id int PRIMARY KEY, name text, price numeric(10,2), qty int, weight double precision,
        active boolean, seen_at timestamptz, born date, tags text[], payload jsonb, blob bytea, uid uuid);
      ALTER TABLE ${schema}.items REPLICA IDENTITY FULL;
      INSERT INTO ${schema}.items SELECT i, 'item ' || i, i * 1.25, i, i / 3.0, i % 2 = 0, timestamptz '2024-01-01 00:00+00' + i * interval '1 hour',
        date '2024-01-01' + i, ARRAY['t' || i], jsonb_build_object('i', i), decode(md5(i::text), 'hex'), md5(i::text)::uuid FROM generate_series(1, 200) i;
      CREATE TABLE ${schema}.events (id int, note text);
      INSERT INTO ${schema}.events VALUES (1, 'before the load');
      CREATE TABLE ${schema}.docs (id int PRIMARY KEY, title text, body text);
      INSERT INTO ${schema}.docs SELECT i, 'doc ' || i, (SELECT string_agg(md5(random()::text || i || j), '') FROM generate_series(1, 400) j) FROM generate_series(1, 5) i;`);
    configDir = testConfigDir({
      [source]: {
        schemas: [schema], namespace, kafka: { cluster: 'local', topic_prefix: prefix, schemas_enable: schemasEnable },
        cdc: { batch_size: 500, trigger_interval: 1, metrics_port: 0, max_dead_letter_ratio: 0.5 },
        notifications: { webhooks: [`http://127.0.0.1:${port}/hook`] },
      },
    });
    const load = await runCli(['--config', configDir, 'bulk-load', '--source', source]);
    assert.equal(load.code, 0, load.stdout + load.stderr);
    const apply = await runCli(['--config', configDir, 'connector', 'apply', '--source', source]);
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    assert.match(apply.stdout, /RUNNING/);
  });

  after(async () => {
    await runCli(['--config', configDir, 'connector', 'delete', '--source', source]).catch(() => undefined);
    await dropTestSource(db, source);
    await db.end();
    webhook.close();
  });

  test('a random workload of inserts, updates (incl. key changes), deletes and NULLs arrives exactly', { timeout: 300_000 }, async () => {
    const random = rng(42);
    let next = 1000;
    for (let i = 0; i < 600; i++) {
      const roll = random();
      const id = 1 + Math.floor(random() * 200);
      if (roll < 0.35) {
        await db.query(`INSERT INTO ${schema}.items VALUES ($1, $2, $3, $4, $5, $6, now(), current_date, ARRAY['x', NULL], '{"n": null}', '\\x00ff', gen_random_uuid())`,
          [next++, random() < 0.2 ? null : `new ${i} ✓`, (random() * 1000).toFixed(2), Math.floor(random() * 100), random() * 10, random() < 0.5]);
      } else if (roll < 0.75) {
        await db.query(`UPDATE ${schema}.items SET price = $2, qty = NULL, name = name || '!' WHERE id = $1`, [id, (random() * 1000).toFixed(2)]);
      } else if (roll < 0.85) {
        await db.query(`UPDATE ${schema}.items SET id = $2 WHERE id = $1`, [id, next++]); // primary-key change
      } else {
        await db.query(`DELETE FROM ${schema}.items WHERE id = $1`, [id]);
      }
    }
    await db.query(`BEGIN; UPDATE ${schema}.items SET weight = 'NaN' WHERE id % 7 = 0; DELETE FROM ${schema}.items WHERE id % 11 = 0; COMMIT`);
    await db.query(`INSERT INTO ${schema}.events VALUES (2, 'after the load'), (3, NULL)`);
    await catchUp(['items']);

    const status = await readWithPyIceberg(`${namespace}._cdc_status`);
    const items = status.rows.find((r) => r.table_name === `${schema}.items`)!;
    assert.equal(items.load_status, 'completed');
    assert.match(String(items.kafka_offsets), new RegExp(`"topic":"${prefix}\\.${schema}\\.items"`));
    assert.match(String(items.last_applied_lsn), /^[0-9A-F]+\/[0-9A-F]+$/);
    assert.ok(Number(items.events_applied) > 600);
  });

  test('a table without a key gets its changes in an append-only changelog table', { timeout: 180_000 }, async () => {
    await consumeUntil(async () => {
      const rows = (await readWithPyIceberg(`${namespace}.events_changelog`)).rows.length;
      return rows === 2 ? null : `${rows} changelog rows`;
    });
    const log = await readWithPyIceberg(`${namespace}.events_changelog`, { orderBy: 'id' });
    assert.deepEqual(log.rows.map((r) => [r.id, r.note, r._op]), [['2', 'after the load', 'c'], ['3', null, 'c']]);
    assert.equal((await readWithPyIceberg(`${namespace}.events`)).rows.length, 1, 'the bulk-loaded rows stay as loaded');
  });

  test('a table created after the load appears through CDC (cdc_only)', { timeout: 180_000 }, async () => {
    await db.query(`CREATE TABLE ${schema}.late (id bigint PRIMARY KEY, label varchar(10), amount numeric(8,3))`);
    await db.query(`ALTER PUBLICATION lakeloader_${source} ADD TABLE ${schema}.late`);
    await db.query(`INSERT INTO ${schema}.late VALUES (1, 'one', 1.5), (2, NULL, -2.125); UPDATE ${schema}.late SET label = 'two' WHERE id = 2`);
    // the connector's include list names the loaded tables: widen it to the schema
    const apply = await runCli(['--config', configDir, 'connector', 'apply', '--source', source]);
    assert.equal(apply.code, 0, apply.stderr);
    await catchUp(['late']);
    const status = await readWithPyIceberg(`${namespace}._cdc_status`);
    assert.equal(status.rows.find((r) => r.table_name === `${schema}.late`)?.load_status, 'cdc_only');
    const late = await readWithPyIceberg(`${namespace}.late`);
    assert.deepEqual(Object.fromEntries(late.schema.map((f) => [f.name, f.type])), { id: 'long', label: 'string', amount: 'decimal(8, 3)' });
    assert.deepEqual(late.identifier_fields, ['id']);
  });

  test('unchanged TOASTed values (not sent by Debezium) keep their value', { timeout: 180_000 }, async () => {
    await db.query(`UPDATE ${schema}.docs SET title = 'retitled' WHERE id <= 3`);
    await catchUp(['docs']);
    const docs = await readWithPyIceberg(`${namespace}.docs`, { orderBy: 'id' });
    assert.ok(docs.rows.every((r) => String(r.body).length === 12_800), 'bodies intact');
    assert.deepEqual(docs.rows.map((r) => r.title), ['retitled', 'retitled', 'retitled', 'doc 4', 'doc 5']);
  });

  test('micro-batches are cut at --max-batch-mib, so large rows cannot exhaust memory', { timeout: 180_000 }, async () => {
    await db.query(`INSERT INTO ${schema}.docs SELECT i, 'big ' || i, repeat(md5(i::text), 200) FROM generate_series(100, 159) i`); // 6.4 KB rows
    const logs: string[] = [];
    let diff: string | null = 'not run';
    for (let i = 0; i < 6 && diff; i++) {
      const r = await runCli(['--config', configDir, '--log-format', 'json', 'cdc', '--source', source, '--exit-when-idle', '4', '--metrics-port', '0', '--max-batch-mib', '0.05']);
      assert.equal(r.code, 0, r.stderr);
      logs.push(r.stderr);
      diff = await diffTable(db, `${schema}.docs`, 'id', await readWithPyIceberg(`${namespace}.docs`));
    }
    assert.equal(diff, null);
    const sizes = logs.join('\n').split('\n').filter((l) => l.includes('"micro-batch committed"')).map((l) => (JSON.parse(l) as { events: number }).events);
    // 0.05 MiB holds at most 8 of these messages (plus the one that crosses the limit); batch_size alone would allow 500
    assert.ok(sizes.length >= 5 && Math.max(...sizes) <= 12, `micro-batch sizes ${sizes.join(', ')}`);
  });

  test('malformed messages go to _dead_letters and the consumer keeps going', { timeout: 180_000 }, async () => {
    const producer = kafkaClient({ brokers: [stack.kafkaBroker], client_id: 'lltest', ssl: false }).producer();
    await producer.connect();
    await producer.send({ topic: `${prefix}.${schema}.items`, messages: [{ key: '{"id": 1}', value: 'this is not json' }, { key: null, value: '{"payload": {"op": "x"}}' }] });
    await producer.disconnect();
    await db.query(`UPDATE ${schema}.items SET name = 'after garbage' WHERE id = (SELECT min(id) FROM ${schema}.items)`);
    await catchUp(['items']);
    const dead = await readWithPyIceberg(`${namespace}._dead_letters`);
    assert.equal(dead.rows.length, 2);
    for (const d of dead.rows) {
      assert.equal(d.topic, `${prefix}.${schema}.items`);
      assert.match(String(d.error), /offset \d+/);
    }
    assert.equal(Buffer.from(String(dead.rows.find((d) => String(d.value).startsWith('7468'))?.value), 'hex').toString(), 'this is not json', 'the message is kept whole');
  });

  test('schema changes: add column, widen int→bigint, drop column, and an incompatible change', { timeout: 240_000 }, async () => {
    await db.query(`ALTER TABLE ${schema}.items ADD COLUMN color text`);
    await db.query(`ALTER TABLE ${schema}.items ALTER COLUMN qty TYPE bigint`);
    await db.query(`ALTER TABLE ${schema}.items DROP COLUMN weight`);
    await db.query(`UPDATE ${schema}.items SET color = 'red', qty = 9000000000 WHERE id IN (SELECT id FROM ${schema}.items ORDER BY id LIMIT 3)`);
    await consumeUntil(async () => {
      const red = (await readWithPyIceberg(`${namespace}.items`)).rows.filter((r) => r.color === 'red');
      return red.length === 3 && red.every((r) => r.qty === '9000000000') ? null : `${red.length} red rows`;
    });
    const lake = await readWithPyIceberg(`${namespace}.items`);
    const types = Object.fromEntries(lake.schema.map((f) => [f.name, f.type]));
    assert.equal(types.color, 'string');
    assert.equal(types.qty, 'long');
    assert.equal(types.weight, 'double', 'a dropped column is kept');
    assert.ok(lake.rows.filter((r) => r.color === 'red').every((r) => r.weight === null), 'and written as NULL from then on');
    const changes = await readWithPyIceberg(`${namespace}._schema_changes`);
    const kinds = changes.rows.filter((r) => r.table_name === `${schema}.items` && r.change_type !== 'baseline').map((r) => `${r.change_type}:${r.column_name}`).sort();
    assert.deepEqual(kinds, ['column_added:color', 'column_dropped:weight', 'type_widened:qty']);
    assert.ok(changes.rows.filter((r) => r.change_type === 'column_added').every((r) => r.notification_sent === true));
    assert.ok(webhookCalls.some((c) => c.change_type === 'column_added' && c.column_name === 'color' && c.table === `${schema}.items`));

    // boolean → text: Iceberg cannot promote; the table stops, the others continue
    await db.query(`ALTER TABLE ${schema}.items ALTER COLUMN active TYPE text`);
    await db.query(`UPDATE ${schema}.items SET active = 'maybe' WHERE id = (SELECT min(id) FROM ${schema}.items)`);
    await db.query(`INSERT INTO ${schema}.late VALUES (3, 'three', 3)`);
    await consumeUntil(async () => {
      const status = await readWithPyIceberg(`${namespace}._cdc_status`);
      const state = status.rows.find((r) => r.table_name === `${schema}.items`)?.load_status;
      return state === 'blocked_schema' ? null : `items is ${String(state)}`;
    });
    const changes2 = await readWithPyIceberg(`${namespace}._schema_changes`);
    assert.ok(changes2.rows.some((r) => r.change_type === 'incompatible' && r.column_name === 'active'));
    assert.ok(webhookCalls.some((c) => c.change_type === 'incompatible'));
    await catchUp(['late']); // the other tables go on
    const items = await readWithPyIceberg(`${namespace}.items`);
    assert.equal(items.schema.find((f) => f.name === 'active')?.type, 'boolean', 'the blocked table keeps its schema');
    assert.ok(items.rows.every((row) => row.active === null || typeof row.active === 'boolean'), 'and none of its later events');
    const r = await runCli(['--config', configDir, 'status', '--source', source]);
    assert.equal(r.code, 1, 'status reports the blocked table with a non-zero exit');
    assert.match(r.stdout, /blocked_schema/);
  });
});

describe('CDC crash safety', () => {
  const crashSchema = uniqueName('llcrash');
  const crashNamespace = `lltest.${crashSchema}`;
  let db: pg.Client;
  let writer: pg.Client;
  let configDir: string;

  before(async () => {
    db = await pgClient();
    writer = await pgClient();
    configDir = await createCdcSource(db, crashSchema, keyedTableDdl(`${crashSchema}.acct`, 2000));
  });

  after(async () => {
    await removeCdcSource(db, configDir, crashSchema);
    await writer.end();
    await db.end();
  });

  test('SIGKILLed every 10-20 s and restarted during a three-minute workload: final state exact, no duplicate keys', { timeout: 900_000 }, async () => {
    const random = rng(7);
    const workload = new KeyedWorkload(writer, `${crashSchema}.acct`, { seed: 7, keys: 2000, seconds: 165 });
    let running = true;
    void workload.done.finally(() => (running = false));
    let kills = 0;
    try {
      while (running) {
        const cdc = new BackgroundCdc(configDir, crashSchema);
        await sleep(10_000 + Math.floor(random() * 10_000));
        await cdc.kill();
        kills++;
      }
    } finally {
      await workload.stop();
    }
    assert.ok(kills >= 8, `killed ${kills} times`);
    await catchUpTables(db, configDir, crashSchema, crashSchema, crashNamespace, ['acct']);
    await assertOffsetsAtEnd(crashNamespace, `${crashSchema}.acct`, `${crashSchema}.${crashSchema}.acct`);
  });
});
