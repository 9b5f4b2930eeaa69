/** Names derived from source identifiers: Debezium's topic names and Iceberg table locations. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { debeziumTopic, sanitizeTopicName, sourceTopicPattern, TopicRouter } from '../../lib/cdc/topics.js';
import { safeTableLocation } from '../../lib/lakehouse/location.js';

describe('Debezium topic names', () => {
  test('characters Kafka refuses become _, per UTF-16 unit as Debezium does', () => {
    assert.equal(sanitizeTopicName('app.public.données'), 'app.public.donn_es');
    assert.equal(sanitizeTopicName('app.my schema.Order Items'), 'app.my_schema.Order_Items');
    assert.equal(sanitizeTopicName('app.public.a.b-c_d'), 'app.public.a.b-c_d');
    assert.equal(sanitizeTopicName('app.public.🚀'), 'app.public.__', 'a surrogate pair is two units');
    assert.equal(sanitizeTopicName('x'.repeat(300)).length, 249);
  });

  test('the subscription pattern matches new tables of the sanitised schemas, dots included', () => {
    const re = sourceTopicPattern('app', ['public', 'my schema']);
    assert.ok(re.test(debeziumTopic('app', 'my schema.t')));
    assert.ok(re.test('app.public.a.b'));
    assert.ok(!re.test('app.other.t'));
    assert.ok(!re.test('app.public'));
  });

  test('the router predicts, then learns from events; colliding names are reported', () => {
    const router = new TopicRouter('app');
    router.register('public.a.b');
    router.register('public.données');
    assert.equal(router.tableOf('app.public.a.b'), 'public.a.b');
    assert.equal(router.tableOf('app.public.donn_es'), 'public.données');
    assert.equal(router.tableOf('app.public.plain'), 'public.plain', 'unknown topics fall back to splitting');
    router.register('public.donnèes');
    assert.deepEqual(router.sharedTopics().get('app.public.donn_es'), ['public.donnèes', 'public.données']);
    router.learn('app.public.x_y', 'public.x y');
    assert.equal(router.tableOf('app.public.x_y'), 'public.x y');
  });
});

describe('table locations', () => {
  test('a safe name keeps the catalog\'s location', () => {
    assert.equal(safeTableLocation('file:///w/bronze/app/orders', 'orders'), undefined);
  });

  test('other names get an ASCII location, unique per name', () => {
    const a = safeTableLocation('file:///w/bronze/app/données', 'données')!;
    assert.match(a, /^file:\/\/\/w\/bronze\/app\/donnees-[0-9a-f]{10}$/);
    const b = safeTableLocation('s3://wh/bronze/app/my table', 'my table')!;
    assert.match(b, /^s3:\/\/wh\/bronze\/app\/my_table-[0-9a-f]{10}$/);
    assert.notEqual(safeTableLocation('x/日本', '日本'), safeTableLocation('x/中国', '中国'));
    assert.match(safeTableLocation('x/日本', '日本')!, /^x\/table-[0-9a-f]{10}$/);
  });
});
