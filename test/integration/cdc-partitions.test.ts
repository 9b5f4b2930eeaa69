/**
 * A partitioned table through the README's flow: one bronze table for the parent, kept current by CDC
 * through rows moving between partitions, a partition created later, one attached with rows and one
 * detached (neither of the last two is a row change in the WAL).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { catchUp, cdcTestSource } from '../helpers/cdc.js';
import { readWithPyIceberg } from '../helpers/stack.js';

describe('CDC of a partitioned table', () => {
  const source = cdcTestSource('llpart', (schema) => `
      CREATE TABLE ${schema}.measures (id int, region text, v int, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
      CREATE TABLE ${schema}.measures_eu PARTITION OF ${schema}.measures FOR VALUES IN ('eu');
      CREATE TABLE ${schema}.measures_us PARTITION OF ${schema}.measures FOR VALUES IN ('us');
      INSERT INTO ${schema}.measures SELECT i, CASE WHEN i % 2 = 0 THEN 'eu' ELSE 'us' END, i FROM generate_series(1, 100) i;`);
  const { schema, namespace } = source;

  test('the parent is one table; leaves are listed in _cdc_status, not loaded apart', async () => {
    const status = (await readWithPyIceberg(`${namespace}._cdc_status`)).rows;
    const parent = status.find((r) => r.table_name === `${schema}.measures`)!;
    assert.equal(parent.load_status, 'completed');
    assert.deepEqual(JSON.parse(String(parent.partitions)), [`${schema}.measures_eu`, `${schema}.measures_us`]);
    assert.equal((await readWithPyIceberg(`${namespace}.measures`)).rows.length, 100);
  });

  test('moves between partitions, a new partition, an attached and a detached one: Iceberg equals the parent', async () => {
    await source.db.query(`UPDATE ${schema}.measures SET region = 'eu', v = v + 1000 WHERE region = 'us' AND id % 5 = 0`);
    await source.db.query(`CREATE TABLE ${schema}.measures_asia PARTITION OF ${schema}.measures FOR VALUES IN ('asia')`);
    await source.db.query(`INSERT INTO ${schema}.measures SELECT i, 'asia', i FROM generate_series(101, 120) i`);
    await source.db.query(`UPDATE ${schema}.measures SET region = 'asia' WHERE region = 'eu' AND id % 7 = 0`);
    await catchUp(source.db, source.configDir, schema, schema, namespace, ['measures']);

    await source.db.query(`CREATE TABLE ${schema}.measures_sa (LIKE ${schema}.measures INCLUDING ALL)`);
    await source.db.query(`INSERT INTO ${schema}.measures_sa SELECT i, 'sa', i FROM generate_series(200, 230) i`);
    await source.db.query(`ALTER TABLE ${schema}.measures ATTACH PARTITION ${schema}.measures_sa FOR VALUES IN ('sa')`);
    await source.db.query(`ALTER TABLE ${schema}.measures DETACH PARTITION ${schema}.measures_us`);
    await source.db.query(`UPDATE ${schema}.measures SET v = -v WHERE id % 3 = 0`);
    await catchUp(source.db, source.configDir, schema, schema, namespace, ['measures']);
    const parent = (await readWithPyIceberg(`${namespace}._cdc_status`)).rows.find((r) => r.table_name === `${schema}.measures`)!;
    assert.deepEqual(JSON.parse(String(parent.partitions)), [`${schema}.measures_asia`, `${schema}.measures_eu`, `${schema}.measures_sa`]);

    // changes after the reload still arrive, exactly once
    await source.db.query(`UPDATE ${schema}.measures SET v = v + 1 WHERE region = 'sa'`);
    await source.db.query(`DELETE FROM ${schema}.measures WHERE region = 'asia' AND id > 110`);
    await catchUp(source.db, source.configDir, schema, schema, namespace, ['measures']);
  });
});
