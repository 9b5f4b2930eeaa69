/**
 * validate and status against the real stack, after a real bulk load: counts match; a deleted row,
 * an inserted row and one changed value are each detected (--deep naming the key, also in a 1M-row
 * table); missing tables in both directions; JSON/CSV output parses; --wait-for-lsn waits for CDC and
 * times out clearly without it; status summarises load, CDC position, Kafka, schema changes and dead
 * letters and exits 1 on a failed table; `sql` reads the status tables and refuses writes.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { stringify } from 'yaml';
import { loadConfig } from '../../lib/config/index.js';
import { Lakehouse } from '../../lib/lakehouse/session.js';
import { CdcStatusStore } from '../../lib/state/cdc-status.js';
import { DEAD_LETTER_COLUMNS, DEAD_LETTERS_TABLE } from '../../lib/state/dead-letters.js';
import { SchemaChangeStore } from '../../lib/state/schema-changes.js';
import type { StatusReport } from '../../lib/validate/status.js';
import type { ValidateReport, ValidateTableRow } from '../../lib/validate/validate.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { testConfigDir, uniqueName } from '../helpers/config.js';
import { dropTestSource, pgClient } from '../helpers/pg.js';

const schema = uniqueName('llvalid');
const source = schema;
const namespace = `lltest.${schema}`;

/** The built CLI, as users run it. */
const lakeloader = (args: string[], onStderr?: (text: string) => void): Promise<CliResult> => runCli(args, {}, onStderr);

/** The accounts rows with ids from..to, the same values every time (to put a deleted row back). */
const accountRows = (from: number, to: number) => `
  SELECT i, 'name ' || i, i * 1.25, timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute 0.000123 seconds',
         ARRAY['a' || (i % 7), NULL], jsonb_build_object('i', i, 'q', 'it''s "quoted"'), decode(lpad(to_hex(i), 8, '0'), 'hex'),
         i / 3.0, date '2020-01-01' + (i % 1000), md5(i::text)::uuid, i % 2 = 0, CASE WHEN i % 10 = 0 THEN NULL ELSE 'é,"\n' || i END
    FROM generate_series(${from}, ${to}) i`;

describe('validate and status', () => {
  let db: pg.Client;
  let configDir: string;

  const validate = async (...args: string[]): Promise<{ r: CliResult; report: ValidateReport; row: (t: string) => ValidateTableRow }> => {
    const r = await lakeloader(['--config', configDir, '--log-level', 'warn', 'validate', '--source', source, '--format', 'json', ...args]);
    let report: ValidateReport;
    try {
      report = JSON.parse(r.stdout) as ValidateReport;
    } catch {
      assert.fail(`validate printed no JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
    }
    const row = (t: string) => {
      const found = report.tables.find((x) => x.table === `${schema}.${t}`);
      assert.ok(found, `${t} in ${JSON.stringify(report.tables.map((x) => x.table))}`);
      return found;
    };
    return { r, report, row };
  };

  before(async () => {
    db = await pgClient();
    await db.query(`CREATE SCHEMA ${schema}`);
    await db.query(`
      CREATE TABLE ${schema}.accounts (id int PRIMARY KEY, name text NOT NULL, balance numeric(12,2), opened timestamptz, tags text[], doc jsonb,
        blob bytea, ratio double precision, day date, uid uuid, active boolean, note varchar(40));
      INSERT INTO ${schema}.accounts ${accountRows(1, 5000)};
      CREATE TABLE ${schema}.lines (order_id bigint, line int, sku varchar(20), qty int, PRIMARY KEY (order_id, line));
      INSERT INTO ${schema}.lines SELECT i / 10, i % 10, 'sku-' || (i % 37), i % 5 FROM generate_series(10, 1009) i;
      CREATE TABLE ${schema}.notes_nokey (kind text, n int);
      INSERT INTO ${schema}.notes_nokey SELECT 'k' || (i % 10), i % 3 FROM generate_series(1, 100) i;
      ALTER TABLE ${schema}.notes_nokey REPLICA IDENTITY FULL;
      CREATE TABLE ${schema}.empty_t (id int PRIMARY KEY);
      CREATE TABLE ${schema}.big (id bigint PRIMARY KEY, v int NOT NULL, t text);
      INSERT INTO ${schema}.big SELECT i, (i * 7) % 1000, 'row ' || i FROM generate_series(1, 1000000) i;
      ANALYZE;`);
    configDir = testConfigDir({ [source]: { schemas: [schema], namespace, kafka: { cluster: 'local', topic_prefix: schema } } });
    const load = await runCli(['--config', configDir, 'bulk-load', '--source', source]);
    assert.equal(load.code, 0, load.stdout + load.stderr);
  });

  after(async () => {
    await dropTestSource(db, source);
    await db.end();
  });

  test('counts match after a bulk load; JSON and CSV output parse; --hide-empty', { timeout: 120_000 }, async () => {
    const { r, report, row } = await validate();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(report.tables.map((t) => t.table).sort(), ['accounts', 'big', 'empty_t', 'lines', 'notes_nokey'].map((t) => `${schema}.${t}`));
    assert.ok(report.tables.every((t) => t.result === 'ok' && t.difference === 0), JSON.stringify(report.tables));
    assert.deepEqual([row('accounts').source_rows, row('accounts').iceberg_rows], [5000, 5000]);
    assert.equal(row('big').iceberg_rows, 1_000_000);
    assert.equal(row('lines').load_status, 'completed');
    assert.match(row('accounts').applied_lsn ?? '', /^[0-9A-F]+\/[0-9A-F]+$/);
    assert.match(row('accounts').last_snapshot_at ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.match(report.source_lsn, /^[0-9A-F]+\/[0-9A-F]+$/);
    assert.deepEqual(report.summary, { tables: 5, ok: 5, mismatch: 0, in_flux: 0, not_replicated: 0, missing_in_iceberg: 0, missing_in_source: 0, error: 0 });
    assert.equal(report.slot.exists, true);

    const csv = await lakeloader(['--config', configDir, 'validate', '--source', source, '--format', 'csv', '--hide-empty']);
    assert.equal(csv.code, 0, csv.stderr);
    const lines = csv.stdout.trim().split('\n');
    assert.equal(lines[0], 'table,iceberg_table,source_rows,iceberg_rows,difference,load_status,applied_lsn,last_snapshot_at,result,detail');
    assert.equal(lines.length, 5, 'empty_t is hidden');
    assert.match(lines.find((l) => l.startsWith(`${schema}.accounts,`)) ?? '', new RegExp(`^${schema}\\.accounts,${namespace}\\.accounts,5000,5000,0,completed,`));

    const text = await lakeloader(['--config', configDir, 'validate', '--source', source, '--hide-empty']);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /5 tables: 5 ok \(1 empty hidden\)/);
  });

  test('--deep: every value matches after the load (1M-row table included)', { timeout: 300_000 }, async () => {
    const { r, report, row } = await validate('--deep');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(report.tables.every((t) => t.result === 'ok'), JSON.stringify(report.tables, null, 1));
    assert.equal(row('accounts').deep?.columns_compared, 12);
    assert.deepEqual(row('accounts').deep?.key, ['id']);
    assert.deepEqual(row('lines').deep?.key, ['order_id', 'line']);
    assert.deepEqual(row('notes_nokey').deep?.key, []);
    assert.equal(row('big').deep?.mismatched_buckets, 0);
    assert.equal(row('big').source_rows, 1_000_000);
  });

  test('a deleted row is detected; --deep names its key', { timeout: 120_000 }, async () => {
    await db.query(`DELETE FROM ${schema}.accounts WHERE id = 17`);
    try {
      const counts = await validate('--table-filter', 'accounts');
      assert.equal(counts.r.code, 1);
      const a = counts.row('accounts');
      assert.deepEqual([a.result, a.source_rows, a.iceberg_rows, a.difference], ['mismatch', 4999, 5000, 1]);
      assert.match(a.detail, /1 row\(s\) more in Iceberg/);
      assert.match(a.detail, new RegExp(`source at [0-9A-F/]+, lakehouse at ${a.applied_lsn}, and no connector streams from slot lakeloader_${source}`));

      const deep = await validate('--table-filter', 'accounts', '--deep');
      assert.equal(deep.r.code, 1);
      const d = deep.row('accounts').deep!.differences!;
      assert.equal(d.extra_in_iceberg, 1);
      assert.deepEqual(d.listed, [{ kind: 'extra_in_iceberg', key: { id: 17 } }]);
      const text = await lakeloader(['--config', configDir, 'validate', '--source', source, '--table-filter', 'accounts', '--deep']);
      assert.equal(text.code, 1);
      assert.match(text.stdout, new RegExp(`${schema}\\.accounts \\(mismatched\\): 1 row\\(s\\) more in Iceberg; 1 only in Iceberg: extra id=17`));
    } finally {
      await db.query(`INSERT INTO ${schema}.accounts ${accountRows(17, 17)}`);
    }
    const back = await validate('--table-filter', 'accounts', '--deep');
    assert.equal(back.r.code, 0, 'the same row put back matches again');
  });

  test('an inserted row is detected; --deep names its key', { timeout: 120_000 }, async () => {
    await db.query(`INSERT INTO ${schema}.accounts ${accountRows(5001, 5001)}`);
    try {
      const counts = await validate('--table-filter', 'accounts');
      assert.equal(counts.r.code, 1);
      assert.deepEqual([counts.row('accounts').result, counts.row('accounts').difference], ['mismatch', -1]);
      const deep = await validate('--table-filter', 'accounts', '--deep');
      assert.equal(deep.r.code, 1);
      assert.deepEqual(deep.row('accounts').deep!.differences!.listed, [{ kind: 'missing_in_iceberg', key: { id: 5001 } }]);
      assert.match(deep.row('accounts').detail, /1 missing in Iceberg: missing id=5001/);
    } finally {
      await db.query(`DELETE FROM ${schema}.accounts WHERE id = 5001`);
    }
  });

  test('one changed value: counts cannot see it, --deep names the key and the column', { timeout: 120_000 }, async () => {
    await db.query(`
      UPDATE ${schema}.accounts SET balance = balance + 0.01 WHERE id = 4242;
      UPDATE ${schema}.lines SET qty = qty + 1 WHERE order_id = 50 AND line = 3;
      UPDATE ${schema}.notes_nokey SET n = 42 WHERE ctid = (SELECT ctid FROM ${schema}.notes_nokey WHERE kind = 'k1' AND n = 1 LIMIT 1);`);
    try {
      const counts = await validate();
      assert.equal(counts.r.code, 0, 'row counts are unchanged');
      const deep = await validate('--deep');
      assert.equal(deep.r.code, 1);
      assert.deepEqual(deep.row('accounts').deep!.differences!.listed, [{ kind: 'changed', key: { id: 4242 }, columns: ['balance'] }]);
      assert.deepEqual(deep.row('lines').deep!.differences!.listed, [{ kind: 'changed', key: { order_id: '50', line: 3 }, columns: ['qty'] }]);
      assert.match(deep.row('lines').detail, /changed \(order_id=50, line=3\) \[qty\]/);
      const nokey = deep.row('notes_nokey');
      assert.equal(nokey.result, 'mismatch');
      assert.deepEqual([nokey.deep!.differences!.missing_in_iceberg, nokey.deep!.differences!.extra_in_iceberg], [1, 1]);
      assert.deepEqual(['big', 'empty_t'].map((t) => deep.row(t).result), ['ok', 'ok']);
    } finally {
      await db.query(`
        UPDATE ${schema}.accounts SET balance = balance - 0.01 WHERE id = 4242;
        UPDATE ${schema}.lines SET qty = qty - 1 WHERE order_id = 50 AND line = 3;
        UPDATE ${schema}.notes_nokey SET n = 1 WHERE n = 42;`);
    }
  });

  test('a single changed value in a 1M-row table is found and its key named', { timeout: 300_000 }, async () => {
    await db.query(`UPDATE ${schema}.big SET t = 'changed' WHERE id = 765432`);
    try {
      const deep = await validate('--table-filter', 'big', '--deep');
      assert.equal(deep.r.code, 1);
      const big = deep.row('big');
      assert.equal(big.difference, 0);
      assert.equal(big.deep!.mismatched_buckets, 1);
      assert.deepEqual(big.deep!.differences!.listed, [{ kind: 'changed', key: { id: '765432' }, columns: ['t'] }]);
    } finally {
      await db.query(`UPDATE ${schema}.big SET t = 'row 765432' WHERE id = 765432`);
    }
  });

  test('tables missing in Iceberg and missing in the source are reported; --no-check-missing leaves them out', { timeout: 120_000 }, async () => {
    const iceberg = `lake."${namespace}".only_in_iceberg`;
    await db.query(`CREATE TABLE ${schema}.only_in_pg (id int PRIMARY KEY); INSERT INTO ${schema}.only_in_pg VALUES (1), (2), (3)`);
    const created = await runCli(['--config', configDir, 'sql', '--allow-writes', `CREATE TABLE ${iceberg} (id INTEGER)`]);
    assert.equal(created.code, 0, created.stderr);
    const inserted = await runCli(['--config', configDir, 'sql', '--allow-writes', `INSERT INTO ${iceberg} VALUES (1), (2)`]);
    assert.equal(inserted.code, 0, inserted.stderr);
    try {
      const { r, row, report } = await validate();
      assert.equal(r.code, 1);
      assert.deepEqual([row('only_in_pg').result, row('only_in_pg').source_rows, row('only_in_pg').iceberg_rows], ['missing_in_iceberg', 3, null]);
      assert.deepEqual([row('only_in_iceberg').result, row('only_in_iceberg').source_rows, row('only_in_iceberg').iceberg_rows], ['missing_in_source', null, 2]);
      assert.equal(row('only_in_iceberg').iceberg_table, `${namespace}.only_in_iceberg`);
      assert.equal(report.summary.missing_in_iceberg + report.summary.missing_in_source, 2);

      const unchecked = await validate('--no-check-missing');
      assert.equal(unchecked.r.code, 0, unchecked.r.stdout);
      assert.ok(!unchecked.report.tables.some((t) => /only_in/.test(t.table)));
    } finally {
      await db.query(`DROP TABLE ${schema}.only_in_pg`);
      await runCli(['--config', configDir, 'sql', '--allow-writes', `DROP TABLE ${iceberg}`]);
    }
  });

  test('sql reads the status tables; a write without --allow-writes is refused', { timeout: 60_000 }, async () => {
    const r = await runCli(['--config', configDir, 'sql', '--format', 'json', `SELECT table_name, load_status, rows_loaded FROM ${namespace}._cdc_status ORDER BY table_name`]);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as { table_name: string; load_status: string; rows_loaded: string }[];
    assert.deepEqual(rows.map((x) => [x.table_name, x.load_status, Number(x.rows_loaded)]), [
      [`${schema}.accounts`, 'completed', 5000], [`${schema}.big`, 'completed', 1_000_000], [`${schema}.empty_t`, 'completed', 0],
      [`${schema}.lines`, 'completed', 1000], [`${schema}.notes_nokey`, 'completed', 100],
    ]);
    const refused = await runCli(['--config', configDir, 'sql', `DELETE FROM lake."${namespace}"._cdc_status`]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /statement 1 is a DELETE statement: lakeloader sql is read-only unless --allow-writes is given/);
    const still = await runCli(['--config', configDir, 'sql', '--format', 'csv', `SELECT count(*) AS n FROM lake."${namespace}"._cdc_status`]);
    assert.equal(still.stdout, 'n\n5\n', 'nothing was deleted');
  });

  test('--wait-for-lsn times out clearly without CDC, and returns as soon as CDC has applied the source position', { timeout: 180_000 }, async () => {
    await db.query(`DELETE FROM ${schema}.accounts WHERE id = 18`);
    const timedOut = await validate('--table-filter', 'accounts', '--wait-for-lsn', '2');
    assert.equal(timedOut.r.code, 1);
    const a = timedOut.row('accounts');
    assert.equal(a.result, 'in_flux');
    assert.match(a.detail, new RegExp(`waited 2s: CDC did not apply up to ${timedOut.report.source_lsn} \\(lakehouse at ${a.applied_lsn}, slot lakeloader_${source} not streaming\\)`));
    assert.ok((timedOut.report.waited_seconds ?? 0) >= 2);

    // play the CDC consumer: once validate waits, apply the delete and the position in one Iceberg commit
    let waiting!: () => void;
    const isWaiting = new Promise<void>((resolve) => (waiting = resolve));
    const running = lakeloader(['--config', configDir, '--log-format', 'json', 'validate', '--source', source, '--table-filter', 'accounts', '--format', 'json', '--wait-for-lsn', '90'],
      (stderr) => { if (stderr.includes('waiting up to 90s')) waiting(); });
    await Promise.race([isWaiting, running.then((r) => assert.fail(`validate did not wait: ${r.stdout}${r.stderr}`))]);
    const config = loadConfig(configDir);
    const lakehouse = await Lakehouse.open(config.lakehouse);
    const store = new CdcStatusStore(lakehouse, namespace);
    await store.ensure();
    const status = (await store.readAll()).get(`${schema}.accounts`)!;
    const lsn = (await db.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
    await lakehouse.transaction(async (tx) => {
      await tx.run(`DELETE FROM ${tx.ref(namespace, 'accounts')} WHERE id = 18`);
      await store.upsert({ ...status, last_applied_lsn: lsn, events_applied: 1, last_event_at: new Date().toISOString(), updated_at: new Date().toISOString() }, tx);
    });
    const r = await running;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as ValidateReport;
    assert.deepEqual([report.tables[0]!.result, report.tables[0]!.source_rows, report.tables[0]!.iceberg_rows, report.tables[0]!.applied_lsn], ['ok', 4999, 4999, lsn]);
    assert.ok((report.waited_seconds ?? 0) > 0 && (report.waited_seconds ?? 99) < 90);
  });

  test('status: load states, rows, CDC position, Kafka, schema changes, dead letters; exit 1 on a failed table', { timeout: 180_000 }, async () => {
    const status = async (dir = configDir) => {
      const r = await lakeloader(['--config', dir, '--log-level', 'error', 'status', '--source', source, '--format', 'json']);
      return { r, report: JSON.parse(r.stdout) as StatusReport };
    };
    const ok = await status();
    assert.equal(ok.r.code, 0, ok.r.stderr);
    assert.deepEqual(ok.report.tables, { total: 5, by_status: { completed: 5 } });
    assert.equal(ok.report.rows_loaded, 5000 + 1_000_000 + 0 + 1000 + 100);
    assert.match(ok.report.cdc.source_lsn ?? '', /^[0-9A-F]+\/[0-9A-F]+$/);
    assert.ok(ok.report.cdc.lsn_distance_bytes !== null && ok.report.cdc.lsn_distance_bytes >= 0);
    assert.deepEqual([ok.report.cdc.slot?.exists, ok.report.cdc.slot?.active], [true, false]);
    assert.ok('reachable' in ok.report.cdc.kafka && ok.report.cdc.kafka.reachable, JSON.stringify(ok.report.cdc.kafka));
    assert.equal(ok.report.cdc.kafka.group, `lakeloader-cdc-${source}`);
    assert.equal(ok.report.dead_letters, null);
    assert.deepEqual(ok.report.schema_changes, [], 'baselines are not changes');

    // what the CDC consumer leaves behind: a schema change and dead letters
    const lakehouse = await Lakehouse.open(loadConfig(configDir).lakehouse);
    await new SchemaChangeStore(lakehouse, namespace).record([{ table_name: `${schema}.accounts`, change_type: 'column_added', column_name: 'email', schema_before: null, schema_after: null, iceberg_snapshot_id: null }]);
    await lakehouse.createTable(namespace, DEAD_LETTERS_TABLE, DEAD_LETTER_COLUMNS, { ifNotExists: true });
    await lakehouse.append(namespace, DEAD_LETTERS_TABLE, DEAD_LETTER_COLUMNS, [
      [new Date().toISOString(), `${schema}.accounts`, `${schema}.${schema}.accounts`, 0, 10n, null, null, 'bad event'],
      [new Date().toISOString(), null, `${schema}.${schema}.accounts`, 0, 11n, null, null, 'undecodable'],
    ]);

    // a table that fails to load (its value policy says fail)
    await db.query(`CREATE TABLE ${schema}.bad_ts (id int PRIMARY KEY, at timestamptz); INSERT INTO ${schema}.bad_ts VALUES (1, 'infinity')`);
    const failing = testConfigDir({ [source]: { schemas: [schema], namespace, kafka: { cluster: 'local', topic_prefix: schema }, unrepresentable_values: 'fail' } });
    const load = await runCli(['--config', failing, 'bulk-load', '--source', source, '--table-filter', 'bad_ts']);
    assert.equal(load.code, 1);
    const failed = await status();
    assert.equal(failed.r.code, 1);
    assert.deepEqual(failed.report.tables.by_status, { completed: 5, failed: 1 });
    assert.equal(failed.report.problems.length, 1);
    assert.equal(failed.report.problems[0]!.table, `${schema}.bad_ts`);
    assert.match(failed.report.problems[0]!.error ?? '', /infinity/);
    assert.equal(failed.report.dead_letters, 2);
    assert.deepEqual(failed.report.schema_changes.map((c) => [c.table_name, c.change_type, c.column_name]), [[`${schema}.accounts`, 'column_added', 'email']]);

    const text = await lakeloader(['--config', configDir, 'status', '--source', source]);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /tables: 6 \(5 completed, 1 failed\), 1006100 rows loaded/);
    assert.match(text.stdout, new RegExp(`FAILED ${schema}\\.bad_ts: column at .*infinity`));
    assert.match(text.stdout, /dead letters: 2/);
    assert.match(text.stdout, /status: 1 table\(s\) failed or blocked/);

    // an unreachable Kafka is reported, not fatal
    const down = testConfigDir({ [source]: { schemas: [schema], namespace, kafka: { cluster: 'local', topic_prefix: schema } } });
    writeFileSync(path.join(down, 'kafka_clusters.yaml'), stringify({ clusters: { local: { brokers: ['127.0.0.1:1'] } } }));
    const started = Date.now();
    const unreachable = await status(down);
    assert.equal(unreachable.r.code, 1, 'the failed table still decides the exit code');
    assert.ok('reachable' in unreachable.report.cdc.kafka && !unreachable.report.cdc.kafka.reachable);
    assert.ok(Date.now() - started < 30_000, 'short timeouts');
  });
});

describe('validate while Debezium and the CDC consumer move the lakehouse', () => {
  const cdcSchema = uniqueName('llvalcdc');
  let db: pg.Client;
  let configDir: string;

  before(async () => {
    db = await pgClient();
    await db.query(`CREATE SCHEMA ${cdcSchema}`);
    await db.query(`CREATE TABLE ${cdcSchema}.t (id int PRIMARY KEY, v int, note text);
      INSERT INTO ${cdcSchema}.t SELECT i, i * 10, 'n' || i FROM generate_series(1, 2000) i; ANALYZE;`);
    configDir = testConfigDir({
      [cdcSchema]: {
        schemas: [cdcSchema], namespace: `lltest.${cdcSchema}`, kafka: { cluster: 'local', topic_prefix: cdcSchema },
        cdc: { batch_size: 500, trigger_interval: 1, metrics_port: 0 },
      },
    });
    const load = await runCli(['--config', configDir, 'bulk-load', '--source', cdcSchema]);
    assert.equal(load.code, 0, load.stdout + load.stderr);
    const apply = await runCli(['--config', configDir, 'connector', 'apply', '--source', cdcSchema]);
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
  });

  after(async () => {
    await runCli(['--config', configDir, 'connector', 'delete', '--source', cdcSchema]).catch(() => undefined);
    await dropTestSource(db, cdcSchema);
    await db.end();
  });

  test('changes not yet applied are "in flux", not a mismatch; --wait-for-lsn returns ok once the consumer applied them', { timeout: 300_000 }, async () => {
    await db.query(`DELETE FROM ${cdcSchema}.t WHERE id <= 5; INSERT INTO ${cdcSchema}.t VALUES (3001, 1, 'new'), (3002, 2, NULL);
      UPDATE ${cdcSchema}.t SET v = -1 WHERE id = 1500;`);
    const args = ['validate', '--source', cdcSchema, '--format', 'json'];
    const before = await lakeloader(['--config', configDir, '--log-level', 'warn', ...args]);
    assert.equal(before.code, 1);
    const flux = (JSON.parse(before.stdout) as ValidateReport).tables[0]!;
    assert.equal(flux.result, 'in_flux', flux.detail);
    assert.equal(flux.difference, 3);
    assert.match(flux.detail, /CDC has not applied the latest changes yet \(use --wait-for-lsn\)/);

    // validate waits while the consumer applies the changes (started after validate took its snapshot)
    let waiting!: () => void;
    const isWaiting = new Promise<void>((resolve) => (waiting = resolve));
    const validating = lakeloader(['--config', configDir, '--log-format', 'json', ...args, '--deep', '--wait-for-lsn', '180'],
      (stderr) => { if (stderr.includes('waiting up to 180s')) waiting(); });
    await Promise.race([isWaiting, validating.then((r) => assert.fail(`validate did not wait: ${r.stdout}${r.stderr}`))]);
    let applied = false;
    const consumer = (async () => {
      for (let i = 0; i < 6 && !applied; i++) {
        const r = await runCli(['--config', configDir, 'cdc', '--source', cdcSchema, '--exit-when-idle', '4', '--metrics-port', '0']);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const rows = await runCli(['--config', configDir, 'sql', '--format', 'csv', `SELECT count(*) AS n FROM lake."lltest.${cdcSchema}".t`]);
        applied = rows.stdout === 'n\n1997\n';
      }
    })();
    const [r] = await Promise.all([validating, consumer]);
    assert.ok(applied, 'the consumer applied the changes');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const after = (JSON.parse(r.stdout) as ValidateReport).tables[0]!;
    assert.deepEqual([after.result, after.source_rows, after.iceberg_rows, after.deep?.mismatched_buckets], ['ok', 1997, 1997, 0]);
    assert.notEqual(after.applied_lsn, flux.applied_lsn, 'the applied position moved');

    const status = await lakeloader(['--config', configDir, '--log-level', 'error', 'status', '--source', cdcSchema, '--format', 'json']);
    assert.equal(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout) as StatusReport;
    assert.equal(s.cdc.slot?.active, true);
    assert.ok(s.cdc.events_applied >= 6, `events applied: ${s.cdc.events_applied}`);
    assert.ok('reachable' in s.cdc.kafka && s.cdc.kafka.reachable);
    assert.deepEqual(s.cdc.kafka.topics.map((t) => [t.topic, t.lag]), [[`${cdcSchema}.${cdcSchema}.t`, 0]]);
  });
});

describe('validate --deep over every PostgreSQL type', () => {
  const typesSchema = uniqueName('llvaltypes');
  let db: pg.Client;
  let configDir: string;

  before(async () => {
    db = await pgClient();
    await db.query(`CREATE SCHEMA ${typesSchema}`);
    await db.query(`
      CREATE TYPE ${typesSchema}.mood AS ENUM ('sad', 'ok', 'happy');
      CREATE DOMAIN ${typesSchema}.positive_int AS integer CHECK (VALUE > 0);
      CREATE TABLE ${typesSchema}.all_types (
        id bigint PRIMARY KEY, c_smallint smallint, c_int integer, c_bigint bigint,
        c_numeric numeric, c_numeric_10_2 numeric(10,2), c_numeric_38_10 numeric(38,10), c_numeric_50_5 numeric(50,5),
        c_money money, c_real real, c_double double precision, c_bool boolean, c_char char(5), c_varchar varchar(20), c_text text, c_bytea bytea,
        c_date date, c_time time, c_timetz timetz, c_timestamp timestamp, c_timestamptz timestamptz, c_ts3 timestamp(3),
        c_interval interval, c_uuid uuid, c_json json, c_jsonb jsonb, c_inet inet, c_cidr cidr, c_macaddr macaddr,
        c_mood ${typesSchema}.mood, c_domain ${typesSchema}.positive_int, c_int_array integer[], c_text_array text[], c_bit bit(4), c_varbit varbit,
        c_xml xml, c_tsvector tsvector, c_point point, c_box box, c_polygon polygon, c_int4range int4range);
      INSERT INTO ${typesSchema}.all_types VALUES
       (1, 32767, 2147483647, 9223372036854775807, 123456789012345678901234567890.123456789, 12345678.90, 1234567890123456789012345678.0123456789,
        123456789012345678901234567890123456789012345.12345, '1234.56', 3.4028235e38, 1.7976931348623157e308, true, 'ab', 'ünïcödé 日本',
        'text with ''quotes'', "double", \\ backslash, newline
      and comma,', '\\x00ff10', '2024-02-29', '23:59:59.999999', '12:00:00+05:30', '2024-02-29 23:59:59.999999', '2024-02-29 23:59:59.999999+02',
        '2000-01-01 00:00:00.123', '1 year 2 months 3 days 04:05:06.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2.5, "x"]}',
        '{"b": {"c": null}}', '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03', 'happy', 42, '{1,2,NULL}', '{"a b","c,d",NULL}', B'1010', B'101',
        '<a>x</a>', 'a fat cat', '(1.5,2)', '((0,0),(1,1))', '((0,0),(1,0),(0,1))', '[1,10)'),
       (2, -32768, -2147483648, -9223372036854775808, -0.000000000000000000001, -0.01, 0.0000001000, 0, '-0.01', 'NaN', '-Infinity', false,
        '', '', '', '\\x', '0001-01-01', '00:00:00', '00:00:00-12', '1900-01-01 00:00:00', '1970-01-01 00:00:00+00', '1999-12-31 23:59:59.999',
        '-1 days', '00000000-0000-0000-0000-000000000000', '[]', '{}', '::1', '::/0', 'ff:ff:ff:ff:ff:ff', 'sad', 1, '{}', '{}', B'0000', B'',
        '<r/>', '', '(0,0)', '((0,0),(0,0))', '((0,0),(0,0),(0,0))', 'empty'),
       (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'Infinity', 'NaN', NULL, NULL, NULL, NULL, NULL, '9999-12-31', NULL, NULL,
        '9999-12-31 23:59:59.999999', '2262-04-11 23:47:16.854775+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
       (4, 0, 0, 0, 0, 0, 0, 0, '0', '-0', '-0', true, ' ', ' ', ' ', '\\x00', '2000-01-01', '12:00', '12:00+00', '2000-01-01', '2000-01-01 00:00+00',
        '2000-01-01', '0', '00000000-0000-0000-0000-000000000001', 'null', 'null', '0.0.0.0', '0.0.0.0/32', '00:00:00:00:00:00', 'ok', 7,
        '{NULL}', '{""}', B'1111', B'1', '<x/>', 'x', '(-0,0)', '((1,1),(0,0))', '((0,0),(2,0),(0,2))', '(,)');`);
    configDir = testConfigDir({ [typesSchema]: { schemas: [typesSchema], namespace: `lltest.${typesSchema}` } });
    const load = await runCli(['--config', configDir, 'bulk-load', '--source', typesSchema]);
    assert.equal(load.code, 0, load.stdout + load.stderr);
  });

  after(async () => {
    await dropTestSource(db, typesSchema);
    await db.end();
  });

  test('no false difference on edge values (NaN, ±Infinity, -0, unicode, huge numerics, year 1/9999); a changed edge value is named', { timeout: 120_000 }, async () => {
    const run = async () => {
      const r = await lakeloader(['--config', configDir, '--log-level', 'warn', 'validate', '--source', typesSchema, '--deep', '--format', 'json']);
      return { r, row: (JSON.parse(r.stdout) as ValidateReport).tables[0]! };
    };
    const same = await run();
    assert.equal(same.r.code, 0, JSON.stringify(same.row, null, 1));
    assert.equal(same.row.deep?.columns_compared, 41);
    assert.deepEqual(same.row.deep?.schema_differences, []);

    await db.query(`UPDATE ${typesSchema}.all_types SET c_double = 0, c_jsonb = '{"b": {"c": 1}}' WHERE id = 2; UPDATE ${typesSchema}.all_types SET c_real = '0' WHERE id = 4`);
    const changed = await run();
    assert.equal(changed.r.code, 1);
    assert.deepEqual(changed.row.deep?.differences?.listed, [
      { kind: 'changed', key: { id: '2' }, columns: ['c_double', 'c_jsonb'] },
      { kind: 'changed', key: { id: '4' }, columns: ['c_real'] },
    ]);
  });
});
