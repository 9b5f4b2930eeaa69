/**
 * validate --deep fingerprints on an in-memory DuckDB (no catalog): equal tables give equal bucket
 * prints whatever the row order; one changed value, a missing, an extra and a duplicated key are
 * each named; tables without a key compare as multisets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import {
  bucketCount, bucketFingerprintSql, computeFingerprint, describeDifferences, diffRows, formatKey, icebergRelation, mismatchedBuckets,
  projectRelation, totalRows, type FingerprintColumn,
} from '../../lib/validate/fingerprint.js';

const columns: FingerprintColumn[] = [
  { name: 'id', duckdbType: 'BIGINT' },
  { name: 'name', duckdbType: 'VARCHAR' },
  { name: 'amount', duckdbType: 'DECIMAL(12,2)' },
  { name: 'at', duckdbType: 'TIMESTAMPTZ' },
];

describe('fingerprint SQL', () => {
  test('bucket counts grow with the table, within bounds', () => {
    assert.equal(bucketCount(0), 16);
    assert.equal(bucketCount(1_000_000), 1024);
    assert.equal(bucketCount(5_000_000), 8192);
    assert.equal(bucketCount(1e12), 16_384);
  });

  test('relations quote names and pin the Iceberg snapshot', () => {
    assert.equal(icebergRelation('"lake"."ns"."t"', [{ name: 'we"ird', duckdbType: 'INTEGER' }], '123'),
      'SELECT CAST("we""ird" AS INTEGER) AS "we""ird" FROM "lake"."ns"."t" AT (VERSION => 123)');
    assert.equal(icebergRelation('"t"', [{ name: 'a', duckdbType: 'INTEGER' }], null), 'SELECT CAST("a" AS INTEGER) AS "a" FROM "t"');
    assert.equal(projectRelation('SELECT 1 AS a, 2 AS b', [{ name: 'b', duckdbType: 'INTEGER' }]), 'SELECT "b" FROM (SELECT 1 AS a, 2 AS b)');
    assert.match(bucketFingerprintSql('SELECT * FROM t', columns, ['id'], 64), /hash\("id"\) % 64/);
    assert.match(bucketFingerprintSql('SELECT * FROM t', columns, [], 64), /hash\("id", "name", "amount", "at"\) % 64/);
    assert.match(bucketFingerprintSql('SELECT * FROM t', [{ name: 'x', duckdbType: 'DOUBLE' }], ['x'], 8), /sum\(hash\(CAST\("x" AS VARCHAR\)\)\)/);
  });

  test('mismatched buckets: one side only, other count, other sum', () => {
    const a = new Map([[1, { n: 2, s: '10' }], [2, { n: 1, s: '5' }], [3, { n: 1, s: '7' }]]);
    const b = new Map([[1, { n: 2, s: '10' }], [2, { n: 1, s: '6' }], [4, { n: 1, s: '7' }]]);
    assert.deepEqual(mismatchedBuckets(a, b), [2, 3, 4]);
    assert.deepEqual(mismatchedBuckets(a, a), []);
    assert.equal(totalRows(a), 4);
  });

  test('keys and differences read as people write them', () => {
    assert.equal(formatKey({ id: 42 }), 'id=42');
    assert.equal(formatKey({ a: 1, b: 'x', c: null }), '(a=1, b=x, c=NULL)');
    assert.equal(formatKey(null), '(no key)');
    assert.equal(describeDifferences({
      missing_in_iceberg: 1, extra_in_iceberg: 0, changed: 1, duplicate_in_iceberg: 0, truncated: true,
      listed: [{ kind: 'changed', key: { id: 3 }, columns: ['amount'] }, { kind: 'missing_in_iceberg', key: { id: 9 } }],
    }), '1 changed, 1 missing in Iceberg: changed id=3 [amount]; missing id=9; …');
  });
});

describe('fingerprints on DuckDB', () => {
  let instance: DuckDBInstance;
  let conn: DuckDBConnection;
  const rel = (t: string) => `SELECT id, name, amount, "at" FROM ${t}`;

  before(async () => {
    instance = await DuckDBInstance.create(':memory:');
    conn = await instance.connect();
    await conn.run(`CREATE TABLE src AS SELECT i::BIGINT AS id, 'n' || i AS name, (i * 1.25)::DECIMAL(12,2) AS amount,
      TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i) AS "at" FROM range(1, 20001) t(i)`);
  });

  after(() => {
    conn.closeSync();
  });

  test('the same rows in another order have the same fingerprint', async () => {
    await conn.run('CREATE OR REPLACE TABLE ice AS SELECT * FROM src ORDER BY hash(id)');
    const buckets = bucketCount(20_000);
    const s = await computeFingerprint(conn, rel('src'), columns, ['id'], buckets);
    const i = await computeFingerprint(conn, rel('ice'), columns, ['id'], buckets);
    assert.equal(totalRows(s), 20_000);
    assert.deepEqual(mismatchedBuckets(s, i), []);
  });

  test('a changed value, a missing, an extra and a duplicated key are named', async () => {
    await conn.run(`CREATE OR REPLACE TABLE ice AS SELECT * FROM src WHERE id <> 77;
      UPDATE ice SET amount = amount + 0.01 WHERE id = 4242;
      UPDATE ice SET name = NULL WHERE id = 9;
      INSERT INTO ice VALUES (20001, 'extra', 1.00, NULL);
      INSERT INTO ice SELECT * FROM src WHERE id = 500;`);
    const buckets = bucketCount(20_000);
    const s = await computeFingerprint(conn, rel('src'), columns, ['id'], buckets);
    const i = await computeFingerprint(conn, rel('ice'), columns, ['id'], buckets);
    const bad = mismatchedBuckets(s, i);
    assert.ok(bad.length >= 1 && bad.length <= 5, `few buckets differ (${bad.length})`);
    const d = await diffRows(conn, { sourceRel: rel('src'), icebergRel: rel('ice'), columns, key: ['id'], buckets, only: bad, limit: 10 });
    assert.equal(d.changed, 2);
    assert.equal(d.missing_in_iceberg, 1);
    assert.equal(d.extra_in_iceberg, 1);
    assert.equal(d.duplicate_in_iceberg, 1);
    assert.deepEqual(d.listed.map((x) => [x.kind, formatKey(x.key), x.columns ?? x.rows]), [
      ['changed', 'id=9', ['name']],
      ['missing_in_iceberg', 'id=77', undefined],
      ['duplicate_in_iceberg', 'id=500', 2],
      ['changed', 'id=4242', ['amount']],
      ['extra_in_iceberg', 'id=20001', undefined],
    ]);
    assert.equal(d.truncated, false);
    const limited = await diffRows(conn, { sourceRel: rel('src'), icebergRel: rel('ice'), columns, key: ['id'], buckets, only: bad, limit: 2 });
    assert.equal(limited.listed.length, 2);
    assert.equal(limited.truncated, true);
  });

  test('a composite key is named whole', async () => {
    const cols: FingerprintColumn[] = [{ name: 'a', duckdbType: 'INTEGER' }, { name: 'b', duckdbType: 'VARCHAR' }, { name: 'v', duckdbType: 'INTEGER' }];
    await conn.run(`CREATE OR REPLACE TABLE ck1 AS SELECT (i % 100)::INTEGER AS a, 'k' || (i // 100) AS b, i::INTEGER AS v FROM range(0, 5000) t(i);
      CREATE OR REPLACE TABLE ck2 AS SELECT * FROM ck1; UPDATE ck2 SET v = -1 WHERE a = 7 AND b = 'k3';`);
    const r = (t: string) => `SELECT a, b, v FROM ${t}`;
    const s = await computeFingerprint(conn, r('ck1'), cols, ['a', 'b'], 64);
    const i = await computeFingerprint(conn, r('ck2'), cols, ['a', 'b'], 64);
    const d = await diffRows(conn, { sourceRel: r('ck1'), icebergRel: r('ck2'), columns: cols, key: ['a', 'b'], buckets: 64, only: mismatchedBuckets(s, i), limit: 5 });
    assert.deepEqual(d.listed, [{ kind: 'changed', key: { a: 7, b: 'k3' }, columns: ['v'] }]);
  });

  test('-0 and 0 differ (hash() alone follows SQL equality); NaN equals NaN', async () => {
    const cols: FingerprintColumn[] = [{ name: 'id', duckdbType: 'INTEGER' }, { name: 'f', duckdbType: 'DOUBLE' }, { name: 'r', duckdbType: 'FLOAT' }];
    const r = (t: string) => `SELECT id, f, r FROM ${t}`;
    await conn.run(`CREATE OR REPLACE TABLE z1 AS SELECT * FROM (VALUES (1, -0.0::DOUBLE, 'NaN'::FLOAT), (2, 'NaN'::DOUBLE, -0.0::FLOAT)) v(id, f, r);
      CREATE OR REPLACE TABLE z2 AS SELECT * FROM (VALUES (1, 0.0::DOUBLE, 'NaN'::FLOAT), (2, 'NaN'::DOUBLE, -0.0::FLOAT)) v(id, f, r);`);
    const s = await computeFingerprint(conn, r('z1'), cols, ['id'], 16);
    const i = await computeFingerprint(conn, r('z2'), cols, ['id'], 16);
    const d = await diffRows(conn, { sourceRel: r('z1'), icebergRel: r('z2'), columns: cols, key: ['id'], buckets: 16, only: mismatchedBuckets(s, i), limit: 5 });
    assert.deepEqual(d.listed, [{ kind: 'changed', key: { id: 1 }, columns: ['f'] }]);
  });

  test('tables without a key compare as multisets of rows', async () => {
    const cols: FingerprintColumn[] = [{ name: 'kind', duckdbType: 'VARCHAR' }, { name: 'n', duckdbType: 'INTEGER' }];
    await conn.run(`CREATE OR REPLACE TABLE nk1 AS SELECT 'k' || (i % 10) AS kind, (i % 3)::INTEGER AS n FROM range(0, 300) t(i);
      CREATE OR REPLACE TABLE nk2 AS SELECT * FROM nk1 ORDER BY random();`);
    const r = (t: string) => `SELECT kind, n FROM ${t}`;
    assert.deepEqual(mismatchedBuckets(await computeFingerprint(conn, r('nk1'), cols, [], 16), await computeFingerprint(conn, r('nk2'), cols, [], 16)), []);
    // one duplicate fewer, one new row: the counts per identical row say so
    await conn.run(`DELETE FROM nk2 WHERE rowid = (SELECT min(rowid) FROM nk2 WHERE kind = 'k1' AND n = 1); INSERT INTO nk2 VALUES ('new', 5);`);
    const s = await computeFingerprint(conn, r('nk1'), cols, [], 16);
    const i = await computeFingerprint(conn, r('nk2'), cols, [], 16);
    const d = await diffRows(conn, { sourceRel: r('nk1'), icebergRel: r('nk2'), columns: cols, key: [], buckets: 16, only: mismatchedBuckets(s, i), limit: 10 });
    assert.equal(d.missing_in_iceberg, 1);
    assert.equal(d.extra_in_iceberg, 1);
    assert.deepEqual(d.listed.map((x) => x.kind).sort(), ['extra_in_iceberg', 'missing_in_iceberg']);
  });
});
