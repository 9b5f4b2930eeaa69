/**
 * The snapshot cut under concurrent writes, and crash safety: a writer keeps committing while the
 * load runs, yet every loaded table shows one instant; a loader SIGKILLed mid-table and rerun ends
 * with exactly the source's rows.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { runCli } from '../helpers/cli.js';
import { testConfigDir, uniqueName } from '../helpers/config.js';
import { dropTestSource, pgClient } from '../helpers/pg.js';
import { readWithPyIceberg } from '../helpers/stack.js';

describe('bulk load consistency under concurrent writes', () => {
  const schema = uniqueName('llconsist');
  const namespace = `lltest.${schema}`;
  let db: pg.Client;
  let writer: pg.Client;

  before(async () => {
    db = await pgClient();
    writer = await pgClient();
    await db.query(`CREATE SCHEMA ${schema}`);
    await db.query(`
      CREATE TABLE ${schema}.a_filler (id bigint PRIMARY KEY, pad text);
      INSERT INTO ${schema}.a_filler SELECT i, repeat('x', 100) FROM generate_series(1, 400000) i;
      CREATE TABLE ${schema}.acct_a (id int PRIMARY KEY, counter int NOT NULL);
      INSERT INTO ${schema}.acct_a SELECT i, 0 FROM generate_series(1, 5000) i;
      CREATE TABLE ${schema}.acct_b (id int PRIMARY KEY, counter int NOT NULL);
      INSERT INTO ${schema}.acct_b SELECT i, 0 FROM generate_series(1, 5000) i;
      CREATE TABLE ${schema}.log_c (id int PRIMARY KEY);
      ANALYZE;`);
  });

  after(async () => {
    await dropTestSource(db, schema);
    await writer.end();
    await db.end();
  });

  test('every table equals the snapshot instant, not a later state', { timeout: 240_000 }, async () => {
    let writing = true;
    let committed = 0;
    // each transaction moves all three tables one step: counter k everywhere <=> log_c has k rows
    const writes = (async () => {
      while (writing) {
        await writer.query('BEGIN');
        await writer.query(`UPDATE ${schema}.acct_a SET counter = counter + 1`);
        await writer.query(`UPDATE ${schema}.acct_b SET counter = counter + 1`);
        await writer.query(`INSERT INTO ${schema}.log_c SELECT COALESCE(max(id), 0) + 1 FROM ${schema}.log_c`);
        await writer.query('COMMIT');
        committed++;
      }
    })();
    while (committed < 3) await new Promise((r) => setTimeout(r, 50));
    const configDir = testConfigDir({ [schema]: { schemas: [schema], namespace, parallel_workers: 1, parallel_tables: 2 } });
    const r = await runCli(['--config', configDir, 'bulk-load', '--source', schema]);
    const committedDuringLoad = committed;
    writing = false;
    await writes;
    assert.equal(r.code, 0, r.stdout + r.stderr);

    const a = await readWithPyIceberg(`${namespace}.acct_a`);
    const b = await readWithPyIceberg(`${namespace}.acct_b`);
    const c = await readWithPyIceberg(`${namespace}.log_c`);
    const countersA = new Set(a.rows.map((row) => row.counter));
    const countersB = new Set(b.rows.map((row) => row.counter));
    assert.equal(a.rows.length, 5000);
    assert.equal(countersA.size, 1, 'acct_a comes from one instant');
    assert.deepEqual(countersB, countersA, 'acct_b comes from the same instant as acct_a');
    const k = Number([...countersA][0]);
    assert.equal(c.rows.length, k, 'log_c has exactly the rows committed before that instant');
    const final = (await db.query(`SELECT max(counter) AS m FROM ${schema}.acct_a`)).rows[0].m as number;
    assert.ok(final > k, `the writer committed after the snapshot (snapshot at ${k}, source now at ${final}, ${committedDuringLoad} commits during the load)`);
  });
});

describe('bulk load crash safety', () => {
  const schema = uniqueName('llkill');
  const namespace = `lltest.${schema}`;
  let db: pg.Client;

  before(async () => {
    db = await pgClient();
    await db.query(`CREATE SCHEMA ${schema}`);
    await db.query(`
      CREATE TABLE ${schema}.big (id bigint PRIMARY KEY, v text, n numeric(12,2), t timestamptz);
      INSERT INTO ${schema}.big SELECT i, md5(i::text), i / 7.0, timestamptz '2024-01-01 00:00+00' + i * interval '1 second' FROM generate_series(1, 1000000) i;
      CREATE TABLE ${schema}.small (id int PRIMARY KEY);
      INSERT INTO ${schema}.small SELECT generate_series(1, 10);
      ANALYZE;`);
  });

  after(async () => {
    await dropTestSource(db, schema);
    await db.end();
  });

  test('SIGKILL mid-table, rerun: row counts equal the source, no duplicates', { timeout: 300_000 }, async () => {
    const configDir = testConfigDir({ [schema]: { schemas: [schema], namespace, parallel_workers: 1, parallel_tables: 2 } });
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'jobs', 'cli.js'), '--config', configDir, '--log-format', 'json', 'bulk-load', '--source', schema], { cwd: PROJECT_ROOT });
    let log = '';
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    child.stdout.resume();
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    // kill once the snapshot is taken and extraction of big is under way
    while (!log.includes('consistent snapshot taken')) {
      if (child.exitCode !== null) assert.fail(`loader exited before the snapshot: ${log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 400));
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    assert.doesNotMatch(log, /table loaded.*"table":"[^"]*\.big"/, 'the kill hit before big was committed');

    const rerun = await runCli(['--config', configDir, 'bulk-load', '--source', schema]);
    assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr);
    const big = await readWithPyIceberg(`${namespace}.big`);
    assert.equal(big.rows.length, 1_000_000);
    assert.equal(new Set(big.rows.map((row) => row.id)).size, 1_000_000, 'no duplicate keys');
    assert.equal((await readWithPyIceberg(`${namespace}.small`)).rows.length, 10);
    const status = await readWithPyIceberg(`${namespace}._cdc_status`);
    const bigStatus = status.rows.find((row) => row.table_name === `${schema}.big`)!;
    assert.equal(bigStatus.load_status, 'completed');
    assert.equal(bigStatus.rows_loaded, '1000000');
    assert.ok(Number(bigStatus.attempts) >= 2, 'the killed attempt is counted');
  });
});
