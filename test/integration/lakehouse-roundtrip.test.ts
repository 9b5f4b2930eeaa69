/**
 * Through lib/lakehouse: namespace, table with every Iceberg primitive type we map to, rows with edge
 * values and NULLs; then pyiceberg (an independent engine) reads them back from the same REST catalog
 * and every value is compared. On the local-filesystem warehouse and on the S3 (MinIO) warehouse.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { lakehouseFileSchema } from '../../lib/config/schema.js';
import { Lakehouse } from '../../lib/lakehouse/session.js';
import type { ColumnSpec } from '../../lib/lakehouse/types.js';
import { readWithPyIceberg, stack } from '../helpers/stack.js';

const columns: ColumnSpec[] = [
  { name: 'id', type: 'long', nullable: false },
  { name: 'c_bool', type: 'boolean' },
  { name: 'c_int', type: 'int' },
  { name: 'c_long', type: 'long' },
  { name: 'c_float', type: 'float' },
  { name: 'c_double', type: 'double' },
  { name: 'c_dec', type: 'decimal(10,2)' },
  { name: 'c_dec_huge', type: 'decimal(38,10)' },
  { name: 'c_date', type: 'date' },
  { name: 'c_time', type: 'time' },
  { name: 'c_ts', type: 'timestamp' },
  { name: 'c_tstz', type: 'timestamptz' },
  { name: 'c_text', type: 'string' },
  { name: 'c_uuid', type: 'uuid' },
  { name: 'c_bin', type: 'binary' },
];

const rows: unknown[][] = [
  [1n, true, 2147483647, 9223372036854775807n, 1.5, 0.1, '12345678.90', '1234567890123456789012345678.0123456789',
    '2024-02-29', '12:34:56.123456', '2024-02-29 23:59:59.999999', '2024-02-29T23:59:59.999999Z',
    'plain ascii', '123e4567-e89b-12d3-a456-426614174000', new Uint8Array([0, 1, 2, 255])],
  [2n, false, -2147483648, -9223372036854775808n, -0.25, Number.NaN, '-0.01', '-9999999999999999999999999999.9999999999',
    '0001-01-01', '00:00:00', '1970-01-01 00:00:00', '1900-01-01T00:00:00Z',
    'ünïcödé — 日本語テキスト with emoji 🚀 and more than sixteen bytes', '00000000-0000-0000-0000-000000000000', new Uint8Array([])],
  [3n, null, null, null, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, null, null,
    '9999-12-31', '23:59:59.999999', '9999-12-31 23:59:59.999999', '2262-04-11T23:47:16.854775Z',
    "quote ' and \"double\" and \\ backslash\nnewline", null, null],
  [4n, null, null, null, null, null, null, null, null, null, null, null, null, null, null],
];

/** What pyiceberg returns for each row, in read_table.py's canonical encoding. */
const expected = [
  { id: '1', c_bool: true, c_int: '2147483647', c_long: '9223372036854775807', c_float: 1.5, c_double: 0.1, c_dec: '12345678.90',
    c_dec_huge: '1234567890123456789012345678.0123456789', c_date: '2024-02-29', c_time: '12:34:56.123456',
    c_ts: '2024-02-29T23:59:59.999999', c_tstz: '2024-02-29T23:59:59.999999+00:00', c_text: 'plain ascii',
    c_uuid: '123e4567-e89b-12d3-a456-426614174000', c_bin: '000102ff' },
  { id: '2', c_bool: false, c_int: '-2147483648', c_long: '-9223372036854775808', c_float: -0.25, c_double: 'NaN', c_dec: '-0.01',
    c_dec_huge: '-9999999999999999999999999999.9999999999', c_date: '0001-01-01', c_time: '00:00:00',
    c_ts: '1970-01-01T00:00:00', c_tstz: '1900-01-01T00:00:00+00:00',
    c_text: 'ünïcödé — 日本語テキスト with emoji 🚀 and more than sixteen bytes', c_uuid: '00000000-0000-0000-0000-000000000000', c_bin: '' },
  { id: '3', c_bool: null, c_int: null, c_long: null, c_float: 'Infinity', c_double: '-Infinity', c_dec: null, c_dec_huge: null,
    c_date: '9999-12-31', c_time: '23:59:59.999999', c_ts: '9999-12-31T23:59:59.999999', c_tstz: '2262-04-11T23:47:16.854775+00:00',
    c_text: "quote ' and \"double\" and \\ backslash\nnewline", c_uuid: null, c_bin: null },
  { id: '4', c_bool: null, c_int: null, c_long: null, c_float: null, c_double: null, c_dec: null, c_dec_huge: null, c_date: null,
    c_time: null, c_ts: null, c_tstz: null, c_text: null, c_uuid: null, c_bin: null },
];

const expectedSchema = [
  ['id', 'long'], ['c_bool', 'boolean'], ['c_int', 'int'], ['c_long', 'long'], ['c_float', 'float'], ['c_double', 'double'],
  ['c_dec', 'decimal(10, 2)'], ['c_dec_huge', 'decimal(38, 10)'], ['c_date', 'date'], ['c_time', 'time'], ['c_ts', 'timestamp'],
  ['c_tstz', 'timestamptz'], ['c_text', 'string'], ['c_uuid', 'uuid'], ['c_bin', 'binary'],
];

const warehouses = [
  {
    name: 'local filesystem warehouse',
    s3: false,
    config: { catalog: { uri: stack.restUri }, duckdb: { extension_directory: stack.extensionDir } },
  },
  {
    name: 'S3 (MinIO) warehouse',
    s3: true,
    config: {
      catalog: { uri: stack.restS3Uri, alias: 'lake_s3' },
      storage: { type: 's3', endpoint: stack.s3.endpoint, access_key_id: stack.s3.accessKeyId, secret_access_key: stack.s3.secretAccessKey, path_style: true, use_ssl: false },
      duckdb: { extension_directory: stack.extensionDir },
    },
  },
];

const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

for (const warehouse of warehouses) {
  describe(`lakehouse round trip through pyiceberg: ${warehouse.name}`, () => {
    const namespace = `lltest.roundtrip_${runId}`;
    const table = 'all_types';
    let lakehouse: Lakehouse;

    after(async () => {
      await lakehouse?.run(`DROP TABLE IF EXISTS ${lakehouse.ref(namespace, table)}`).catch(() => undefined);
    });

    test('creates a nested namespace and a table of every primitive type, appends rows', async () => {
      lakehouse = await Lakehouse.open(lakehouseFileSchema.parse(warehouse.config));
      await lakehouse.ensureNamespace(namespace);
      await lakehouse.ensureNamespace(namespace); // idempotent
      await lakehouse.createTable(namespace, table, columns);
      assert.equal(await lakehouse.tableExists(namespace, table), true);
      assert.equal(await lakehouse.append(namespace, table, columns, rows), rows.length);
    });

    test('pyiceberg reads back the same schema and every value', async () => {
      const read = await readWithPyIceberg(`${namespace}.${table}`, { s3: warehouse.s3, orderBy: 'id' });
      assert.deepEqual(read.schema.map((f) => [f.name, f.type]), expectedSchema);
      assert.equal(read.schema[0]?.required, true, 'NOT NULL column is required in Iceberg');
      assert.equal(read.rows.length, expected.length);
      read.rows.forEach((row, i) => {
        for (const [column, value] of Object.entries(expected[i]!)) {
          assert.deepEqual(row[column], value, `row id=${i + 1} column ${column}`);
        }
      });
    });

    test('a transaction touching two tables commits both atomically, or neither on error', async () => {
      const other = 'second';
      await lakehouse.createTable(namespace, other, [{ name: 'id', type: 'long' }]);
      await lakehouse.transaction(async (tx) => {
        await tx.run(`INSERT INTO ${tx.ref(namespace, other)} VALUES (1)`);
        await tx.run(`DELETE FROM ${tx.ref(namespace, table)} WHERE id = 4`);
      });
      await assert.rejects(
        lakehouse.transaction(async (tx) => {
          await tx.run(`INSERT INTO ${tx.ref(namespace, other)} VALUES (2)`);
          await tx.run(`INSERT INTO ${tx.ref(namespace, table)} (id) VALUES (NULL)`); // violates NOT NULL
        }),
      );
      const second = await readWithPyIceberg(`${namespace}.${other}`, { s3: warehouse.s3 });
      assert.deepEqual(second.rows, [{ id: '1' }]);
      const main = await readWithPyIceberg(`${namespace}.${table}`, { s3: warehouse.s3, orderBy: 'id' });
      assert.deepEqual(main.rows.map((r) => r.id), ['1', '2', '3']);
      await lakehouse.run(`DROP TABLE ${lakehouse.ref(namespace, other)}`);
    });

    test('tables named with non-ASCII letters, spaces, quotes and dots take deletes (their location is safe ASCII)', async () => {
      for (const name of ['données', 'my "odd" table', 'Straße.日本']) {
        await lakehouse.createTable(namespace, name, [{ name: 'id', type: 'long', nullable: false }, { name: 'v', type: 'string' }]);
        const ref = lakehouse.ref(namespace, name);
        await lakehouse.run(`INSERT INTO ${ref} VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
        await lakehouse.transaction(async (tx) => {
          await tx.run(`DELETE FROM ${ref} WHERE id = 2`);
          await tx.run(`INSERT INTO ${ref} VALUES (4, 'd')`);
        });
        const read = await readWithPyIceberg(name, { namespace, s3: warehouse.s3, orderBy: 'id' });
        assert.deepEqual(read.rows, [{ id: '1', v: 'a' }, { id: '3', v: 'c' }, { id: '4', v: 'd' }], name);
        await lakehouse.run(`DROP TABLE ${ref}`);
      }
    });
  });
}
