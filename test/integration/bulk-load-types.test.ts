/**
 * Bulk load of a schema with every PostgreSQL type a real schema uses (NULLs, unicode, huge numerics,
 * edge timestamps), read back through pyiceberg and compared value by value with PostgreSQL.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { runCli } from '../helpers/cli.js';
import { testConfigDir, uniqueName } from '../helpers/config.js';
import { dropTestSource, pgClient } from '../helpers/pg.js';
import { actualValue, expectedValue } from '../helpers/compare.js';
import { readWithPyIceberg } from '../helpers/stack.js';
import { EXACT_TEXT_SETTINGS } from '../../lib/source/postgres/type-mapping.js';

const schema = uniqueName('lltypes');
const source = schema;
const namespace = `lltest.${schema}`;

const DDL = `
CREATE TYPE ${schema}.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN ${schema}.positive_int AS integer CHECK (VALUE > 0);
CREATE TABLE ${schema}.all_types (
  id bigint PRIMARY KEY,
  c_smallint smallint, c_int integer, c_bigint bigint,
  c_numeric numeric, c_numeric_10_2 numeric(10,2), c_numeric_38_10 numeric(38,10), c_numeric_50_5 numeric(50,5),
  c_money money, c_real real, c_double double precision, c_bool boolean,
  c_char char(5), c_varchar varchar(20), c_text text, c_bytea bytea,
  c_date date, c_time time, c_timetz timetz, c_timestamp timestamp, c_timestamptz timestamptz, c_ts3 timestamp(3),
  c_interval interval, c_uuid uuid, c_json json, c_jsonb jsonb,
  c_inet inet, c_cidr cidr, c_macaddr macaddr, c_mood ${schema}.mood, c_domain ${schema}.positive_int,
  c_int_array integer[], c_text_array text[], c_bit bit(4), c_varbit varbit, c_xml xml, c_tsvector tsvector,
  c_point point, c_box box, c_polygon polygon, c_int4range int4range
);
INSERT INTO ${schema}.all_types VALUES
 (1, 32767, 2147483647, 9223372036854775807,
  123456789012345678901234567890.123456789, 12345678.90, 1234567890123456789012345678.0123456789, 123456789012345678901234567890123456789012345.12345,
  '1234.56', 3.4028235e38, 1.7976931348623157e308, true,
  'ab', 'ünïcödé 日本', 'text with ''quotes'', "double", \\ backslash, newline
and comma,', '\\x00ff10',
  '2024-02-29', '23:59:59.999999', '12:00:00+05:30', '2024-02-29 23:59:59.999999', '2024-02-29 23:59:59.999999+02', '2000-01-01 00:00:00.123',
  '1 year 2 months 3 days 04:05:06.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2.5, "x"]}', '{"b": {"c": null}}',
  '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03', 'happy', 42,
  '{1,2,NULL}', '{"a b","c,d",NULL}', B'1010', B'101', '<a>x</a>', 'a fat cat',
  '(1.5,2)', '((0,0),(1,1))', '((0,0),(1,0),(0,1))', '[1,10)'),
 (2, -32768, -2147483648, -9223372036854775808,
  -0.000000000000000000001, -0.01, 0.0000001000, 0,
  '-0.01', 'NaN', '-Infinity', false,
  '', '', '', '\\x',
  '0001-01-01', '00:00:00', '00:00:00-12', '1900-01-01 00:00:00', '1970-01-01 00:00:00+00', '1999-12-31 23:59:59.999',
  '-1 days', '00000000-0000-0000-0000-000000000000', '[]', '{}',
  '::1', '::/0', 'ff:ff:ff:ff:ff:ff', 'sad', 1,
  '{}', '{}', B'0000', B'', '<r/>', '',
  '(0,0)', '((0,0),(0,0))', '((0,0),(0,0),(0,0))', 'empty'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'Infinity', 'NaN', NULL,
  NULL, NULL, NULL, NULL, '9999-12-31', NULL, NULL, '9999-12-31 23:59:59.999999', '2262-04-11 23:47:16.854775+00', NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
CREATE TABLE ${schema}.no_key (a int, b text);
INSERT INTO ${schema}.no_key SELECT i, 'row ' || i FROM generate_series(1, 1000) i;
CREATE TABLE ${schema}.empty_table (id int PRIMARY KEY, v text);
CREATE VIEW ${schema}.a_view AS SELECT id FROM ${schema}.all_types;
`;

/** Iceberg type each column must get (docs/type-mapping.md). */
const EXPECTED_TYPES: Record<string, string> = {
  id: 'long', c_smallint: 'int', c_int: 'int', c_bigint: 'long', c_numeric: 'string', c_numeric_10_2: 'decimal(10, 2)',
  c_numeric_38_10: 'decimal(38, 10)', c_numeric_50_5: 'string', c_money: 'decimal(38, 2)', c_real: 'float', c_double: 'double',
  c_bool: 'boolean', c_char: 'string', c_varchar: 'string', c_text: 'string', c_bytea: 'binary', c_date: 'date', c_time: 'time',
  c_timetz: 'string', c_timestamp: 'timestamp', c_timestamptz: 'timestamptz', c_ts3: 'timestamp', c_interval: 'string', c_uuid: 'uuid',
  c_json: 'string', c_jsonb: 'string', c_inet: 'string', c_cidr: 'string', c_macaddr: 'string', c_mood: 'string', c_domain: 'int',
  c_int_array: 'string', c_text_array: 'string', c_bit: 'string', c_varbit: 'string', c_xml: 'string', c_tsvector: 'string',
  c_point: 'string', c_box: 'string', c_polygon: 'string', c_int4range: 'string',
};

describe('bulk load: every PostgreSQL type, compared with pyiceberg row by row', () => {
  let db: pg.Client;
  let configDir: string;

  before(async () => {
    db = await pgClient();
    await db.query(`CREATE SCHEMA ${schema}`);
    await db.query(DDL);
    await db.query(`ANALYZE ${schema}.all_types`);
    configDir = testConfigDir({ [source]: { schemas: [schema], namespace, parallel_tables: 2 } });
  });

  after(async () => {
    await dropTestSource(db, source);
    await db.end();
  });

  test('loads every table and prints the summary (exit 0)', { timeout: 180_000 }, async () => {
    const r = await runCli(['--config', configDir, 'bulk-load', '--source', source]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`${schema}\\.all_types\\s+3\\s+.*completed`));
    assert.match(r.stdout, new RegExp(`${schema}\\.no_key\\s+1000\\s+.*completed`));
    assert.match(r.stdout, new RegExp(`${schema}\\.empty_table\\s+0\\s+.*completed`));
  });

  test('every value of every type equals PostgreSQL', async () => {
    const read = await readWithPyIceberg(`${namespace}.all_types`, { orderBy: 'id' });
    assert.deepEqual(Object.fromEntries(read.schema.map((f) => [f.name, f.type])), EXPECTED_TYPES);
    assert.deepEqual(read.identifier_fields, ['id']);
    for (const s of EXACT_TEXT_SETTINGS) await db.query(s);
    const columns = Object.keys(EXPECTED_TYPES);
    // text output as COPY writes it: char(n) keeps its padding (a ::text cast would strip it)
    const select = columns.map((c) => (c === 'c_money' ? `${c}::numeric(38,2)::text` : c === 'c_char' ? c : c === 'c_timetz' ? `(${c} AT TIME ZONE 'UTC')::text` : `${c}::text`)).join(', ');
    const { rows: source } = await db.query({ text: `SELECT ${select} FROM ${schema}.all_types ORDER BY id`, rowMode: 'array' });
    assert.equal(read.rows.length, source.length);
    source.forEach((pgRow: (string | null)[], r) => {
      columns.forEach((c, i) => {
        const type = EXPECTED_TYPES[c]!.replace(/ /g, '');
        assert.deepEqual(actualValue(read.rows[r]![c], type), expectedValue(pgRow[i]!, type), `row ${r + 1} column ${c} (${type})`);
      });
    });
  });

  test('a table without a key and an empty table load too', async () => {
    const noKey = await readWithPyIceberg(`${namespace}.no_key`, { orderBy: 'a' });
    assert.equal(noKey.rows.length, 1000);
    assert.deepEqual(noKey.rows[999], { a: '1000', b: 'row 1000' });
    assert.deepEqual(noKey.identifier_fields, []);
    assert.equal((await readWithPyIceberg(`${namespace}.empty_table`)).rows.length, 0);
  });

  test('_cdc_status records each table, the snapshot LSN of the slot, and the view as skipped', async () => {
    const status = await readWithPyIceberg(`${namespace}._cdc_status`, { orderBy: 'table_name' });
    const byTable = Object.fromEntries(status.rows.map((r) => [r.table_name, r]));
    const slot = (await db.query('SELECT confirmed_flush_lsn::text AS lsn, restart_lsn::text FROM pg_replication_slots WHERE slot_name = $1', [`lakeloader_${source}`])).rows[0];
    assert.ok(slot, 'the bulk load created the CDC replication slot');
    const allTypes = byTable[`${schema}.all_types`]!;
    assert.equal(allTypes.load_status, 'completed');
    assert.equal(allTypes.rows_loaded, '3');
    assert.equal(allTypes.key_columns, 'id');
    assert.equal(allTypes.snapshot_lsn, slot.lsn, 'snapshot LSN is the slot\'s consistent point');
    assert.equal(allTypes.slot_name, `lakeloader_${source}`);
    assert.match(String(allTypes.iceberg_snapshot_id), /^-?\d+$/);
    assert.equal(allTypes.attempts, '1');
    assert.equal(byTable[`${schema}.no_key`]!.key_source, 'none');
    assert.equal(byTable[`${schema}.a_view`]!.load_status, 'skipped');
    assert.match(String(byTable[`${schema}.a_view`]!.error), /view/);
  });

  test('_schema_changes holds a baseline per table; the Debezium config continues from the slot', async () => {
    const changes = await readWithPyIceberg(`${namespace}._schema_changes`);
    const baselines = changes.rows.filter((r) => r.change_type === 'baseline').map((r) => r.table_name).sort();
    assert.deepEqual(baselines, [`${schema}.all_types`, `${schema}.empty_table`, `${schema}.no_key`]);
    const schemaAfter = JSON.parse(String(changes.rows.find((r) => r.table_name === `${schema}.all_types`)!.schema_after)) as { name: string; source_type: string }[];
    assert.equal(schemaAfter.find((c) => c.name === 'c_mood')?.source_type, `${schema}.mood`);
    const connector = JSON.parse(readFileSync(path.join(configDir, `debezium_${source}.json`), 'utf8')) as { config: Record<string, string> };
    assert.equal(connector.config['slot.name'], `lakeloader_${source}`);
    assert.equal(connector.config['snapshot.mode'], 'no_data');
    assert.equal(connector.config['publication.name'], `lakeloader_${source}`);
    assert.equal(connector.config['table.include.list'], `${schema}\\..*`);
    const pub = await db.query('SELECT tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1', [`lakeloader_${source}`]);
    assert.deepEqual(pub.rows.map((r) => r.tablename), ['all_types', 'empty_table', 'no_key']);
  });
});
