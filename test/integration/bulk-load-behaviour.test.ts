/**
 * bulk-load behaviour against the real stack: table filter, dry run, resume and --no-resume, a failing
 * table among good ones (a value Iceberg cannot hold under policy fail, not retried), the other value
 * policies (text, null, the default clamp), an unreachable database and a missing schema.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { runCli } from '../helpers/cli.js';
import { testConfigDir, uniqueName } from '../helpers/config.js';
import { dropTestSource, pgClient } from '../helpers/pg.js';
import { readWithPyIceberg } from '../helpers/stack.js';

const schema = uniqueName('llbehave');
const source = schema;
const namespace = `lltest.${schema}`;

describe('bulk-load options and failures', () => {
  let db: pg.Client;
  let configDir: string;

  before(async () => {
    db = await pgClient();
    await db.query(`CREATE SCHEMA ${schema}`);
    await db.query(`
      CREATE TABLE ${schema}.sales_a (id int PRIMARY KEY, amount numeric(10,2));
      INSERT INTO ${schema}.sales_a SELECT i, i * 1.5 FROM generate_series(1, 500) i;
      CREATE TABLE ${schema}.sales_b (id int PRIMARY KEY, amount numeric(10,2));
      INSERT INTO ${schema}.sales_b SELECT i, i * 2.5 FROM generate_series(1, 300) i;
      CREATE TABLE ${schema}.events (id int PRIMARY KEY, valid_until timestamptz);
      INSERT INTO ${schema}.events VALUES (1, '2030-01-01 00:00:00+00'), (2, 'infinity'), (3, NULL), (4, '-infinity');
      ANALYZE;`);
    configDir = testConfigDir({ [source]: { schemas: [schema], namespace } });
  });

  after(async () => {
    await dropTestSource(db, source);
    await db.end();
  });

  test('--dry-run prints the plan and writes nothing', async () => {
    const r = await runCli(['--config', configDir, 'bulk-load', '--source', source, '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Bulk load plan \(dry run\): 3 of 3 tables to load/);
    assert.match(r.stdout, new RegExp(`${schema}\\.sales_a\\s+${namespace}\\.sales_a\\s+500\\s+1\\s+id\\s+new\\s+load`));
    const slots = await db.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [`lakeloader_${source}`]);
    assert.equal(slots.rowCount, 0, 'a dry run creates no slot');
  });

  test('--table-filter loads only matching tables', async () => {
    const r = await runCli(['--config', configDir, 'bulk-load', '--source', source, '--table-filter', 'sales_a']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1 tables, 500 rows, 0 failed/);
    assert.equal((await readWithPyIceberg(`${namespace}.sales_a`)).rows.length, 500);
  });

  test('a failing table does not stop the others; a `fail` value stops its table at once, without retries', async () => {
    // retries would take >= 2 + 4 + 8 s here: the value is deterministic, so there must be none
    const failing = testConfigDir({ [source]: { schemas: [schema], namespace, max_retries: 3, retry_backoff: 2, unrepresentable_columns: { [`${schema}.events.valid_until`]: 'fail' } } });
    const r = await runCli(['--config', failing, 'bulk-load', '--source', source]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, new RegExp(`${schema}\\.sales_a\\s+500\\s+.*already_loaded`), 'resume skips the completed table');
    assert.match(r.stdout, new RegExp(`${schema}\\.sales_b\\s+300\\s+.*completed`));
    assert.match(r.stdout, new RegExp(`${schema}\\.events\\s+0\\s+.*failed`));
    assert.match(r.stdout, new RegExp(`column valid_until \\(timestamp with time zone\\) of ${schema}\\.events holds '-?infinity' \\(2 such value\\(s\\)\\), which Iceberg timestamptz cannot store; set sources\\.yaml unrepresentable_columns`));
    const status = await readWithPyIceberg(`${namespace}._cdc_status`);
    const events = status.rows.find((row) => row.table_name === `${schema}.events`)!;
    assert.equal(events.load_status, 'failed');
    assert.equal(Number(events.attempts), 1, 'no retry of a deterministic data error');
    assert.ok(Date.parse(String(events.finished_at)) - Date.parse(String(events.started_at)) < 5000, 'failed in < 5 s');
    assert.match(String(events.error), /valid_until/);
    assert.equal((await readWithPyIceberg(`${namespace}.events`)).rows.length, 0, 'no partial table is visible');
  });

  test('policy text: a rerun keeps the column as exact text and loads only the failed table', async () => {
    const fixed = testConfigDir({ [source]: { schemas: [schema], namespace, unrepresentable_columns: { [`${schema}.events.valid_until`]: 'text' } } });
    const r = await runCli(['--config', fixed, 'bulk-load', '--source', source]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`${schema}\\.events\\s+4\\s+.*completed`));
    assert.match(r.stdout, new RegExp(`${schema}\\.sales_b\\s+300\\s+.*already_loaded`));
    const events = await readWithPyIceberg(`${namespace}.events`, { orderBy: 'id' });
    assert.equal(events.schema.find((c) => c.name === 'valid_until')!.type, 'string');
    assert.deepEqual(events.rows.map((row) => row.valid_until), ['2030-01-01 00:00:00+00', 'infinity', null, '-infinity']);
    const changes = await readWithPyIceberg(`${namespace}._schema_changes`);
    assert.ok(changes.rows.some((c) => c.table_name === `${schema}.events` && c.change_type === 'type_changed' && c.column_name === 'valid_until'),
      'the changed Iceberg type of the reloaded table is audited');
  });

  test('policy null: such values become NULL, counted in the summary', async () => {
    const nulls = testConfigDir({ [source]: { schemas: [schema], namespace, unrepresentable_values: 'null' } });
    const r = await runCli(['--config', nulls, 'bulk-load', '--source', source, '--no-resume', '--table-filter', 'events']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`  ${schema}\\.events\\.valid_until: 2 value\\(s\\) nulled \\(e\\.g\\. '-?infinity', policy null\\)`));
    const events = await readWithPyIceberg(`${namespace}.events`, { orderBy: 'id' });
    assert.equal(events.schema.find((c) => c.name === 'valid_until')!.type, 'timestamptz');
    assert.deepEqual(events.rows.map((row) => row.valid_until), ['2030-01-01T00:00:00+00:00', null, null, null]);
  });

  test('default policy clamp: ±infinity to the latest/earliest value every engine reads, counted in the summary and the log', async () => {
    const r = await runCli(['--config', configDir, 'bulk-load', '--source', source, '--no-resume', '--table-filter', 'events']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`  ${schema}\\.events\\.valid_until: 2 value\\(s\\) clamped \\(e\\.g\\. '-?infinity', policy clamp\\)`));
    assert.match(r.stderr, /column valid_until: 2 value\(s\) Iceberg cannot hold clamped by policy clamp/);
    const events = await readWithPyIceberg(`${namespace}.events`, { orderBy: 'id' });
    assert.deepEqual(events.rows.map((row) => row.valid_until),
      ['2030-01-01T00:00:00+00:00', '9999-12-31T23:59:59.999999+00:00', null, '0001-01-01T00:00:00+00:00']);
  });

  test('--no-resume reloads everything without duplicating rows', async () => {
    await db.query(`INSERT INTO ${schema}.sales_a VALUES (501, 1.00)`);
    const r = await runCli(['--config', configDir, 'bulk-load', '--source', source, '--no-resume', '--table-filter', 'sales_%']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const a = await readWithPyIceberg(`${namespace}.sales_a`);
    assert.equal(a.rows.length, 501);
    assert.equal(new Set(a.rows.map((row) => row.id)).size, 501);
    assert.equal((await readWithPyIceberg(`${namespace}.sales_b`)).rows.length, 300);
  });

  test('unreachable database and missing schema: clear errors, exit 1', async () => {
    const down = testConfigDir({ [source]: { schemas: [schema], namespace, connection: { host: '127.0.0.1', port: 1, database: 'x', user: 'u', password: 'wrong-password-123' } } });
    const r1 = await runCli(['--config', down, 'bulk-load', '--source', source]);
    assert.equal(r1.code, 1);
    assert.match(r1.stderr, new RegExp(`cannot connect to PostgreSQL source ${source} at 127\\.0\\.0\\.1:1/x`));
    assert.doesNotMatch(r1.stderr, /wrong-password-123/);
    const missing = testConfigDir({ [source]: { schemas: ['no_such_schema'], namespace } });
    const r2 = await runCli(['--config', missing, 'bulk-load', '--source', source]);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /schema\(s\) no_such_schema not found in database/);
  });
});
