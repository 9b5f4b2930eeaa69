/**
 * The real CDC path: an UPDATE in PostgreSQL becomes a Debezium change event (Kafka Connect with the
 * Debezium PostgreSQL connector, streaming from a logical replication slot), and a kafkajs consumer
 * reads it with the WAL position of the change.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { kafkaClient } from '../../lib/kafka/client.js';
import { KafkaConnectClient } from '../../lib/kafka/connect-client.js';
import { parseLsn } from '../../lib/source/postgres/lsn.js';
import { pgClient } from '../helpers/pg.js';
import { stack } from '../helpers/stack.js';

const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const table = `it_cdc_${run}`;
const connector = `lltest-${run}`;
const slot = `lltest_slot_${run}`;
const publication = `lltest_pub_${run}`;
const prefix = `lltest${run}`;
const topic = `${prefix}.public.${table}`;

interface DebeziumEnvelope {
  payload: { op: string; before: Record<string, unknown> | null; after: Record<string, unknown> | null; source: { lsn: number; txId: number; table: string } };
}

describe('PostgreSQL UPDATE → Debezium → Kafka → kafkajs', () => {
  let db: pg.Client;
  const connect = new KafkaConnectClient(stack.connectUrl);

  before(async () => {
    db = await pgClient();
    await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, note text, amount numeric(10,2))`);
    await db.query(`ALTER TABLE ${table} REPLICA IDENTITY FULL`);
    await db.query(`INSERT INTO ${table} VALUES (1, 'before', 1.50)`);
  });

  after(async () => {
    await connect.delete(connector).catch(() => undefined);
    await db.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, [slot]).catch(() => undefined);
    await db.query(`DROP PUBLICATION IF EXISTS ${publication}`);
    await db.query(`DROP TABLE IF EXISTS ${table}`);
    await db.end();
  });

  test('the change event carries op u, before/after images and the change LSN', { timeout: 120_000 }, async () => {
    await connect.apply(connector, {
      'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
      'tasks.max': '1',
      'database.hostname': stack.pg.host,
      'database.port': String(stack.pg.port),
      'database.user': stack.pg.user,
      'database.password': stack.pg.password,
      'database.dbname': stack.pg.database,
      'plugin.name': 'pgoutput',
      'slot.name': slot,
      'publication.name': publication,
      'publication.autocreate.mode': 'filtered',
      'topic.prefix': prefix,
      'table.include.list': `public.${table}`,
      'snapshot.mode': 'no_data',
      'decimal.handling.mode': 'string',
    });
    await connect.waitUntilRunning(connector);
    // the slot is active once Debezium streams: changes after this point reach Kafka
    for (let i = 0; i < 60; i++) {
      const { rows } = await db.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      if (rows[0]?.active) break;
      await new Promise((r) => setTimeout(r, 500));
    }

    const lsnBefore = parseLsn((await db.query('SELECT pg_current_wal_insert_lsn() AS l')).rows[0].l);
    await db.query(`UPDATE ${table} SET note = 'after', amount = 2.25 WHERE id = 1`);
    const lsnAfter = parseLsn((await db.query('SELECT pg_current_wal_insert_lsn() AS l')).rows[0].l);

    const kafka = kafkaClient({ brokers: [stack.kafkaBroker], client_id: 'lakeloader-test', ssl: false });
    const consumer = kafka.consumer({ groupId: `lltest-${run}` });
    await consumer.connect();
    try {
      const event = await new Promise<DebeziumEnvelope>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no update event on ${topic} within 90s`)), 90_000);
        void (async () => {
          // the topic appears with the first event: retry the subscription until it exists
          for (;;) {
            try {
              await consumer.subscribe({ topic, fromBeginning: true });
              break;
            } catch {
              await new Promise((r) => setTimeout(r, 1000));
            }
          }
          await consumer.run({
            eachMessage: async ({ message }) => {
              if (!message.value) return;
              const envelope = JSON.parse(message.value.toString()) as DebeziumEnvelope;
              if (envelope.payload.op === 'u') {
                clearTimeout(timer);
                resolve(envelope);
              }
            },
          });
        })().catch(reject);
      });
      assert.equal(event.payload.source.table, table);
      assert.deepEqual(event.payload.before, { id: 1, note: 'before', amount: '1.50' });
      assert.deepEqual(event.payload.after, { id: 1, note: 'after', amount: '2.25' });
      const lsn = BigInt(event.payload.source.lsn);
      assert.ok(lsn >= lsnBefore && lsn <= lsnAfter, `event LSN ${lsn} within the UPDATE's WAL range [${lsnBefore}, ${lsnAfter}]`);
    } finally {
      await consumer.disconnect();
    }
  });
});
