/**
 * Avro-encoded Debezium events (the schema registry's wire format) decode to exactly the rows the
 * JSON events give. No Confluent-compatible registry or Kafka Connect AvroConverter can be installed
 * here (neither is on Maven Central or PyPI), so the captured JSON events are re-encoded the way
 * Confluent's AvroData maps Connect schemas and values, and the registry is an in-memory map.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AvroDecoder, connectSchema, type AvroSchema } from '../../lib/cdc/avro.js';
import { debeziumEncoding, decodeChangeEvent, DecodeError, type ConnectSchema } from '../../lib/cdc/debezium.js';
import { avroEncoder } from '../helpers/avro-encoding.js';
import { change, decode, fixture, type Fixture, type FixtureEvent } from '../helpers/debezium-fixtures.js';

function avroDecode(f: Fixture, e: FixtureEvent, encode: (m: string | null) => Buffer | null, decoder: AvroDecoder) {
  const value = e.valuePayload === null ? null : encode(`{"schema":${f.schemas[e.valueSchema!]},"payload":${e.valuePayload}}`);
  const key = encode(e.key);
  return { key, value, decodeIt: () => decodeChangeEvent(key, value, { topic: e.topic, partition: e.partition, offset: e.offset }, { encoding: debeziumEncoding(f.connectorConfig), valueDecoder: decoder, keyDecoder: decoder }) };
}

describe('Avro events through a schema registry', () => {
  test('every captured event decodes to the same rows as its JSON form', async () => {
    let total = 0;
    for (const file of ['all-types.current-config.json', 'all-types.recommended-config.json', 'keyed.current-config.json', 'toast.current-config.json']) {
      const f = fixture(file);
      const registry = new Map<number, string>();
      const encode = avroEncoder(registry);
      const decoder = new AvroDecoder({ schema: (id) => Promise.resolve(registry.get(id) ?? Promise.reject(new Error(`no schema ${id}`))) });
      const cases = f.events.map((e) => ({ e, ...avroDecode(f, e, encode, decoder) }));
      await decoder.prefetch(cases.flatMap((c) => [c.key, c.value]));
      let compared = 0;
      for (const { e, decodeIt } of cases) {
        let json;
        try {
          json = decode(f, e);
        } catch {
          assert.throws(decodeIt, DecodeError, `${file} ${e.op}@${e.offset}: fails in JSON, fails in Avro`);
          continue;
        }
        const avro = decodeIt();
        if (json.kind === 'tombstone') {
          assert.deepEqual(avro, json);
          continue;
        }
        const a = change(avro);
        const j = change(json);
        assert.deepEqual({ before: a.before, after: a.after, key: a.key, lsn: a.lsn, txId: a.txId, unavailable: a.unavailableColumns }, { before: j.before, after: j.after, key: j.key, lsn: j.lsn, txId: j.txId, unavailable: j.unavailableColumns }, `${file} ${e.op}@${e.offset}`);
        compared++;
      }
      assert.ok(compared > 0, `${file}: no event compared`);
      total += compared;
    }
    assert.ok(total > 20, `${total} events compared`);
  });

  test('a schema the registry cannot give fails only its messages, naming the schema', async () => {
    const decoder = new AvroDecoder({ schema: () => Promise.reject(new Error('HTTP 404 Schema 7 not found')) });
    const message = Buffer.from([0, 0, 0, 0, 7, 1, 2]);
    await decoder.prefetch([message]);
    assert.throws(() => decodeChangeEvent(null, message, { topic: 't', partition: 0, offset: '5' }, { valueDecoder: decoder }), /offset 5.*Avro schema 7 is not available: HTTP 404/);
    assert.throws(() => decodeChangeEvent(null, Buffer.from('{"op":"c"}'), { topic: 't', partition: 0, offset: '6' }, { valueDecoder: decoder }), /wire format/);
  });

  test('the Connect schema comes back from AvroData\'s annotations', () => {
    const s: ConnectSchema = connectSchema(['null', { type: 'bytes', 'connect.name': 'org.apache.kafka.connect.data.Decimal', 'connect.parameters': { scale: '2' } }] as AvroSchema);
    assert.deepEqual(s, { type: 'bytes', optional: true, parameters: { scale: '2' }, name: 'org.apache.kafka.connect.data.Decimal' });
    assert.equal(connectSchema({ type: 'int', 'connect.type': 'int16' }).type, 'int16');
    assert.throws(() => connectSchema(['string', 'long'] as AvroSchema), /not an optional value/);
  });
});
