import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { reduceKeyed, type TableChange } from '../../lib/cdc/changes.js';
import { canPromote, planSchemaChange } from '../../lib/cdc/schema-evolution.js';
import { formatOffsets, parseOffsets, tableOfTopic } from '../../lib/cdc/table-state.js';
import { alreadyLoaded, parseSnapshot, visibleInSnapshot } from '../../lib/cdc/visibility.js';
import { formatLsn, parseLsn } from '../../lib/source/postgres/lsn.js';

const c = (id: string, v: string): TableChange => ({ op: 'c', before: null, after: { id, v }, key: { id } });
const u = (id: string, v: string, oldId = id): TableChange => ({ op: 'u', before: { id: oldId, v: 'old' }, after: { id, v }, key: { id } });
const d = (id: string): TableChange => ({ op: 'd', before: { id, v: null }, after: null, key: { id } });

describe('micro-batch reduction', () => {
  // an update of the small column only: Debezium leaves the unchanged TOASTed `big` out
  const small = (id: string, v: string, oldId = id): TableChange => ({ op: 'u', before: { id: oldId, v: 'old', big: null }, after: { id, v }, key: { id }, unavailable: ['big'] });
  const big = (id: string, value: string): TableChange => ({ op: 'u', before: null, after: { id, v: 'x', big: value }, key: { id } });

  test('an unsent TOASTed value comes from an earlier change of the same batch, which is newer than Iceberg', () => {
    const r = reduceKeyed([big('1', 'B2'), small('1', 'v3')], ['id']);
    assert.deepEqual(r.upserts[0]!.after, { id: '1', v: 'v3', big: 'B2' });
    assert.deepEqual(r.upserts[0]!.unavailable, []);
    assert.deepEqual(r.fillFrom, [null], 'nothing left to read from Iceberg');
  });

  test('without an earlier value in the batch, the current Iceberg row of the same key fills it', () => {
    const r = reduceKeyed([small('1', 'a'), small('1', 'b')], ['id']);
    assert.deepEqual(r.upserts[0]!.after, { id: '1', v: 'b' });
    assert.deepEqual(r.upserts[0]!.unavailable, ['big']);
    assert.deepEqual(r.fillFrom, [{ id: '1' }]);
  });

  test('after a key change the value comes from the old key (in the batch, or its Iceberg row)', () => {
    const inBatch = reduceKeyed([big('1', 'B1'), small('2', 'moved', '1')], ['id']);
    assert.deepEqual(inBatch.upserts.map((ch) => ch.after), [{ id: '2', v: 'moved', big: 'B1' }]);
    const fromIceberg = reduceKeyed([small('2', 'moved', '1'), small('2', 'again')], ['id']);
    assert.deepEqual(fromIceberg.fillFrom, [{ id: '1' }], 'the row was key 1 in Iceberg');
    assert.deepEqual(fromIceberg.deleteKeys.map((k) => k.id).sort(), ['1', '2']);
  });

  test('a key change as Debezium sends it (delete of the old key, create with __debezium.oldkey): values from the old row', () => {
    const del = (id: string): TableChange => ({ op: 'd', before: { id, v: null, big: null }, after: null, key: { id } });
    const create = (id: string, oldId: string): TableChange => ({ op: 'c', before: null, after: { id, v: 'moved' }, key: { id }, unavailable: ['big'], oldKey: { id: oldId } });
    const fromIceberg = reduceKeyed([del('1'), create('2', '1')], ['id']);
    assert.deepEqual(fromIceberg.fillFrom, [{ id: '1' }], 'read from key 1 before the transaction deletes it');
    const inBatch = reduceKeyed([big('1', 'B1'), del('1'), create('2', '1')], ['id']);
    assert.deepEqual(inBatch.upserts.map((ch) => ch.after), [{ id: '2', v: 'moved', big: 'B1' }]);
    const chained = reduceKeyed([del('1'), create('2', '1'), del('2'), create('3', '2')], ['id']);
    assert.deepEqual(chained.fillFrom, [{ id: '1' }]);
  });

  test('an earlier change that itself lacked the value passes the lack on', () => {
    const r = reduceKeyed([{ ...big('1', 'ignored'), after: { id: '1', v: 'x' }, unavailable: ['big'] }, small('1', 'y')], ['id']);
    assert.deepEqual(r.upserts[0]!.unavailable, ['big']);
    assert.deepEqual(r.fillFrom, [{ id: '1' }]);
  });

  test('the last change per key wins; deletes remove; every touched key is deleted first', () => {
    const r = reduceKeyed([c('1', 'a'), u('1', 'b'), c('2', 'x'), d('2'), c('3', 'y'), d('4')], ['id']);
    assert.equal(r.truncate, false);
    assert.deepEqual(r.upserts.map((ch) => ch.after), [{ id: '1', v: 'b' }, { id: '3', v: 'y' }]);
    assert.deepEqual(r.deleteKeys.map((k) => k.id).sort(), ['1', '2', '3', '4']);
  });

  test('a primary-key update deletes the old key and writes the new one', () => {
    const r = reduceKeyed([c('1', 'a'), u('9', 'a', '1')], ['id']);
    assert.deepEqual(r.upserts.map((ch) => ch.after), [{ id: '9', v: 'a' }]);
    assert.deepEqual(r.deleteKeys.map((k) => k.id).sort(), ['1', '9']);
  });

  test('delete then re-insert of a key ends as an upsert', () => {
    const r = reduceKeyed([d('5'), c('5', 'again')], ['id']);
    assert.deepEqual(r.upserts.map((ch) => ch.after?.v), ['again']);
  });

  test('truncate forgets earlier changes and empties the table', () => {
    const r = reduceKeyed([c('1', 'a'), { op: 't', before: null, after: null, key: null }, c('2', 'b')], ['id']);
    assert.equal(r.truncate, true);
    assert.deepEqual(r.upserts.map((ch) => ch.after?.id), ['2']);
  });

  test('composite keys; deletes under REPLICA IDENTITY DEFAULT take the key from the message key', () => {
    const r = reduceKeyed([
      { op: 'c', before: null, after: { a: '1', b: '2', v: 'x' }, key: { a: '1', b: '2' } },
      { op: 'd', before: null, after: null, key: { a: '1', b: '3' } },
    ], ['a', 'b']);
    assert.deepEqual(r.deleteKeys, [{ a: '1', b: '2' }, { a: '1', b: '3' }]);
  });
});

describe('bulk-load position filter', () => {
  test('transactions visible to the snapshot are skipped, in-progress and later ones applied', () => {
    const snap = parseSnapshot('100:105:101,103');
    assert.equal(visibleInSnapshot(99n, snap), true);
    assert.equal(visibleInSnapshot(102n, snap), true);
    assert.equal(visibleInSnapshot(101n, snap), false, 'in progress at snapshot time: commits later, must apply');
    assert.equal(visibleInSnapshot(105n, snap), false);
    assert.equal(visibleInSnapshot(200n, snap), false);
  });

  test('64-bit snapshot ids compare with 32-bit Debezium transaction ids across wraparound', () => {
    const epoch1 = (1n << 32n);
    const snap = parseSnapshot(`${epoch1 + 10n}:${epoch1 + 20n}:`);
    assert.equal(visibleInSnapshot(15n, snap), true);
    assert.equal(visibleInSnapshot(25n, snap), false);
    assert.equal(visibleInSnapshot(0xfffffff0n, snap), true, 'just before the wrap: older');
  });

  test('without recorded visibility the LSN decides; without a position everything applies', () => {
    const byLsn = alreadyLoaded({ snapshotLsn: '0/100', snapshotXids: null });
    assert.equal(byLsn({ lsn: 0x100n, txId: 1n }), true);
    assert.equal(byLsn({ lsn: 0x101n, txId: 1n }), false);
    assert.equal(alreadyLoaded({ snapshotLsn: null, snapshotXids: null })({ lsn: 1n, txId: 1n }), false);
  });

  test('LSN text form round-trips', () => {
    assert.equal(parseLsn('16/B374D848'), 0x16b374d848n);
    assert.equal(formatLsn(0x16b374d848n), '16/B374D848');
    assert.throws(() => parseLsn('nonsense'), /invalid PostgreSQL LSN/);
  });
});

describe('schema evolution plan', () => {
  test('added, widened, dropped and incompatible columns', () => {
    const plan = planSchemaChange(
      [{ name: 'id', type: 'long' }, { name: 'n', type: 'int' }, { name: 'price', type: 'decimal(10,2)' }, { name: 'gone', type: 'string' }, { name: 'flag', type: 'boolean' }],
      [{ name: 'id', type: 'long', sourceType: 'bigint' }, { name: 'n', type: 'long', sourceType: 'bigint' }, { name: 'price', type: 'decimal(12,2)', sourceType: 'numeric(12,2)' },
        { name: 'flag', type: 'string', sourceType: 'text' }, { name: 'extra', type: 'string', sourceType: 'text' }],
    );
    assert.deepEqual(plan.add.map((c) => c.name), ['extra']);
    assert.deepEqual(plan.widen, [{ name: 'n', from: 'int', to: 'long' }, { name: 'price', from: 'decimal(10,2)', to: 'decimal(12,2)' }]);
    assert.deepEqual(plan.dropped, ['gone']);
    assert.deepEqual(plan.incompatible, [{ name: 'flag', from: 'boolean', to: 'string' }]);
  });

  test('promotions Iceberg allows', () => {
    assert.equal(canPromote('int', 'long'), true);
    assert.equal(canPromote('float', 'double'), true);
    assert.equal(canPromote('decimal(10, 2)', 'decimal(20,2)'), true);
    assert.equal(canPromote('decimal(10,2)', 'decimal(20,3)'), false);
    assert.equal(canPromote('long', 'int'), false);
  });

  test('a narrower source type still fits the wider Iceberg column', () => {
    const plan = planSchemaChange([{ name: 'n', type: 'long' }], [{ name: 'n', type: 'int', sourceType: 'integer' }]);
    assert.deepEqual(plan, { add: [], widen: [], dropped: [], incompatible: [] });
  });
});

describe('consumer positions', () => {
  test('Kafka offsets stored in _cdc_status round-trip', () => {
    const text = formatOffsets('p.public.t', new Map([[1, 42n], [0, 7n]]));
    assert.equal(text, '{"topic":"p.public.t","partitions":{"0":"7","1":"42"}}');
    assert.deepEqual(parseOffsets(text), { topic: 'p.public.t', offsets: new Map([[0, 7n], [1, 42n]]) });
    assert.deepEqual(parseOffsets(null), { topic: null, offsets: new Map() });
  });

  test('topics map to source tables', () => {
    assert.equal(tableOfTopic('shop.public.orders', 'shop'), 'public.orders');
    assert.equal(tableOfTopic('shop.orders', 'shop'), null);
    assert.equal(tableOfTopic('other.public.orders', 'shop'), null);
  });
});

describe('micro-batch cuts', () => {
  test('a trailing delete of a key change (and its tombstone) waits for its create', async () => {
    const { splitKeyChanges } = await import('../../lib/cdc/consumer.js');
    const now = Date.now();
    const msg = (offset: string, value: string | null, headers: Record<string, Buffer> = {}) => ({ topic: 't', partition: 0, message: { offset, key: null, value: value === null ? null : Buffer.from(value), headers, timestamp: String(now), attributes: 0 } });
    const other = { ...msg('9', 'x'), topic: 'u' };
    const buffer = [msg('1', 'a'), msg('2', 'del', { '__debezium.newkey': Buffer.from('{}') }), msg('3', null), other];
    const { events, held } = splitKeyChanges(buffer, now);
    assert.deepEqual(events.map((e) => e.message.offset), ['1', '9']);
    assert.deepEqual(held.map((e) => e.message.offset), ['2', '3']);
    assert.equal(splitKeyChanges([...buffer, msg('4', 'create')], now).held.length, 0, 'complete: nothing held');
    assert.equal(splitKeyChanges(buffer, now + 31_000).held.length, 0, 'not forever');
  });
});

describe('partition changes', () => {
  test('a new empty leaf needs nothing; a new leaf with rows or a detached one reloads', async () => {
    const { comparePartitions } = await import('../../lib/cdc/partition-watcher.js');
    assert.equal(comparePartitions('s.t', ['s.a', 's.b'], ['s.b', 's.a'], new Set()), null);
    assert.deepEqual(comparePartitions('s.t', ['s.a'], ['s.a', 's.c'], new Set()), { table: 's.t', added: ['s.c'], removed: [], current: '["s.a","s.c"]', reload: false });
    assert.equal(comparePartitions('s.t', ['s.a'], ['s.a', 's.c'], new Set(['s.c']))?.reload, true, 'attached with rows');
    assert.equal(comparePartitions('s.t', ['s.a', 's.b'], ['s.a'], new Set())?.reload, true, 'detached');
  });
});
