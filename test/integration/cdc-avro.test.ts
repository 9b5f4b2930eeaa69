/**
 * Avro CDC through Kafka: the captured Debezium events of every PostgreSQL type, produced once as JSON
 * and once in Avro (the schema registry's wire format), consumed by two `lakeloader cdc` runs into two
 * namespaces: both Iceberg tables, read back with pyiceberg, must be equal. The registry is a small
 * HTTP server in this test (mock registry): no Confluent-compatible schema registry or AvroConverter
 * can be installed here (neither is on Maven Central or PyPI).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { kafkaClient } from '../../lib/kafka/client.js';
import { avroEncoder } from '../helpers/avro-encoding.js';
import { runCli } from '../helpers/cli.js';
import { testConfigDir, uniqueName } from '../helpers/config.js';
import { fixture, valueBytes } from '../helpers/debezium-fixtures.js';
import { readWithPyIceberg, stack } from '../helpers/stack.js';

describe('CDC of Avro events through a schema registry (mock registry)', () => {
  const name = uniqueName('llavro');
  const f = fixture('all-types.current-config.json');
  const [schema, table] = f.table.split('.') as [string, string];
  const registry = new Map<number, string>();
  const requests: string[] = [];
  let server: http.Server;
  let configDir: string;

  before(async () => {
    server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      const id = /^\/schemas\/ids\/(\d+)$/.exec(req.url ?? '')?.[1];
      const found = id ? registry.get(Number(id)) : undefined;
      if (!found) res.writeHead(404, { 'content-type': 'application/json' }).end('{"error_code":40403,"message":"Schema not found"}');
      else res.writeHead(200, { 'content-type': 'application/vnd.schemaregistry.v1+json' }).end(JSON.stringify({ schema: found }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const source = (format: string, cluster: string) => ({
      schemas: [schema], namespace: `lltest.${name}_${format}`, kafka: { cluster, topic_prefix: `${name}_${format}` },
      cdc: { batch_size: 500, trigger_interval: 1, metrics_port: 0, max_dead_letter_ratio: 1 },
    });
    configDir = testConfigDir({ [`${name}_json`]: source('json', 'local'), [`${name}_avro`]: source('avro', 'avro') });
    const cluster = { brokers: [stack.kafkaBroker], client_id: 'lltest', ssl: false };
    writeFileSync(path.join(configDir, 'kafka_clusters.yaml'), stringify({
      clusters: { local: cluster, avro: { ...cluster, schema_registry: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` } } },
    }));

    const encode = avroEncoder(registry);
    const producer = kafkaClient({ brokers: [stack.kafkaBroker], client_id: 'lltest', ssl: false }).producer();
    await producer.connect();
    const json = f.events.map((e) => ({ key: e.key === null ? null : Buffer.from(e.key), value: valueBytes(f, e) }));
    const avro = f.events.map((e) => ({ key: encode(e.key), value: encode(e.valuePayload === null ? null : valueBytes(f, e)!.toString()) }));
    // a few at a time: each JSON message repeats its schema, and a request must stay under the broker's 1 MiB
    for (let i = 0; i < f.events.length; i += 5) {
      await producer.send({ topic: `${name}_json.${f.table}`, messages: json.slice(i, i + 5) });
      await producer.send({ topic: `${name}_avro.${f.table}`, messages: avro.slice(i, i + 5) });
    }
    await producer.disconnect();
  });

  after(() => {
    server.close();
  });

  test('the same events in Avro and in JSON give the same Iceberg table, every type', { timeout: 240_000 }, async () => {
    for (const format of ['json', 'avro']) {
      const r = await runCli(['--config', configDir, 'cdc', '--source', `${name}_${format}`, '--exit-when-idle', '4', '--metrics-port', '0']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
    const fromJson = await readWithPyIceberg(`lltest.${name}_json.${table}`, { orderBy: 'id' });
    const fromAvro = await readWithPyIceberg(`lltest.${name}_avro.${table}`, { orderBy: 'id' });
    assert.ok(fromJson.rows.length > 10, `${fromJson.rows.length} rows from JSON`);
    assert.deepEqual(fromAvro.schema, fromJson.schema);
    assert.deepEqual(fromAvro.rows, fromJson.rows);
    assert.ok(requests.every((u) => u.startsWith('/schemas/ids/')) && requests.length >= 2, `registry requests: ${requests.join(', ')}`);
    const status = await readWithPyIceberg(`lltest.${name}_avro._cdc_status`);
    assert.equal(status.rows.find((row) => row.table_name === f.table)?.load_status, 'cdc_only');
  });
});
