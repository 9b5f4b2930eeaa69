/**
 * Tables a database we have not seen may hold, against the real stack and read back through pyiceberg:
 * an UNLOGGED table (loaded, not published, `not_replicated` in _cdc_status, the summary, --dry-run and
 * validate), a sub-partitioned table (one Iceberg table through its root, published via the root; or
 * `partitioned_tables: leaves`), a stored generated column, and a publication that refuses a table.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { ensurePublication } from '../../lib/source/postgres/publication.js';
import type { ValidateReport } from '../../lib/validate/validate.js';
import { runCli } from '../helpers/cli.js';
import { testConfigDir, uniqueName } from '../helpers/config.js';
import { dropTestSource, pgClient } from '../helpers/pg.js';
import { readWithPyIceberg } from '../helpers/stack.js';

const schema = uniqueName('llspecial');
const source = schema;
const namespace = `lltest.${schema}`;
const publication = `lakeloader_${source}`;

const statusOf = async (ns: string) => new Map((await readWithPyIceberg(`${ns}._cdc_status`)).rows.map((r) => [String(r.table_name), r]));

describe('bulk-load of unlogged, partitioned and generated-column tables', () => {
  let db: pg.Client;
  let configDir: string;

  before(async () => {
    db = await pgClient();
    await db.query(`CREATE SCHEMA ${schema}`);
    await db.query(`
      CREATE TABLE ${schema}.plain (id int PRIMARY KEY, v text);
      INSERT INTO ${schema}.plain SELECT i, 'v' || i FROM generate_series(1, 100) i;
      CREATE UNLOGGED TABLE ${schema}.scratch (id int PRIMARY KEY);
      INSERT INTO ${schema}.scratch SELECT generate_series(1, 10);
      CREATE TABLE ${schema}.measurements (id int, region text, day date, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
      CREATE TABLE ${schema}.m_eu PARTITION OF ${schema}.measurements FOR VALUES IN ('eu') PARTITION BY RANGE (id);
      CREATE TABLE ${schema}.m_eu_low PARTITION OF ${schema}.m_eu FOR VALUES FROM (MINVALUE) TO (1000);
      CREATE TABLE ${schema}.m_eu_high PARTITION OF ${schema}.m_eu FOR VALUES FROM (1000) TO (MAXVALUE);
      CREATE TABLE ${schema}.m_us PARTITION OF ${schema}.measurements FOR VALUES IN ('us');
      CREATE TABLE ${schema}.m_empty PARTITION OF ${schema}.measurements FOR VALUES IN ('none');
      INSERT INTO ${schema}.measurements SELECT i, CASE WHEN i % 2 = 0 THEN 'eu' ELSE 'us' END, DATE '2024-01-01' + i FROM generate_series(1, 3000) i;
      CREATE TABLE ${schema}.gen (id int PRIMARY KEY, a int, b int GENERATED ALWAYS AS (a * 2) STORED);
      INSERT INTO ${schema}.gen (id, a) VALUES (1, 10), (2, NULL), (3, -4);
      ANALYZE;`);
    configDir = testConfigDir({ [source]: { schemas: [schema], namespace } });
  });

  after(async () => {
    await db.query(`DROP PUBLICATION IF EXISTS ${schema}_refusing`);
    await dropTestSource(db, source);
    await db.end();
  });

  test('--dry-run shows the unlogged table as not replicated and the partitioned table as one', async () => {
    const r = await runCli(['--config', configDir, 'bulk-load', '--source', source, '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Bulk load plan \(dry run\): 4 of 4 tables to load/);
    assert.match(r.stdout, new RegExp(`${schema}\\.scratch\\s+.*load\\s+not_replicated`));
    assert.match(r.stdout, new RegExp(`not replicated by CDC ${schema}\\.scratch: UNLOGGED table`));
    assert.match(r.stdout, new RegExp(`${schema}\\.measurements\\s+${namespace}\\.measurements\\s+3000\\s+4\\s+id,region\\s+new\\s+load\\s+logical`), 'one chunk per leaf');
    assert.match(r.stdout, new RegExp(`${schema}\\.measurements: partitioned, 4 leaf partition\\(s\\) loaded as one table`));
    assert.match(r.stdout, new RegExp(`skipped ${schema}\\.m_eu_low: partition of ${schema}\\.measurements: loaded through its parent`));
  });

  test('every table loads; the unlogged one is marked not_replicated; partitions arrive as one table; generated values are there', async () => {
    const r = await runCli(['--config', configDir, 'bulk-load', '--source', source]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /4 tables, 3113 rows, 0 failed/);
    assert.match(r.stdout, new RegExp(`${schema}\\.scratch\\s+10\\s+.*completed\\s+not_replicated`));
    assert.match(r.stdout, new RegExp(`  ${schema}\\.scratch: not replicated by CDC: UNLOGGED table`));

    const status = await statusOf(namespace);
    assert.equal(status.get(`${schema}.scratch`)!.replication, 'not_replicated');
    assert.match(String(status.get(`${schema}.scratch`)!.replication_reason), /UNLOGGED/);
    for (const t of ['plain', 'measurements', 'gen']) assert.equal(status.get(`${schema}.${t}`)!.replication, 'logical', t);
    const m = status.get(`${schema}.measurements`)!;
    assert.equal(m.load_status, 'completed');
    assert.deepEqual(JSON.parse(String(m.partitions)), ['m_empty', 'm_eu_high', 'm_eu_low', 'm_us'].map((p) => `${schema}.${p}`));
    for (const p of ['m_eu', 'm_eu_low', 'm_eu_high', 'm_us', 'm_empty']) {
      assert.equal(status.get(`${schema}.${p}`)!.load_status, 'skipped', p);
      assert.equal(status.get(`${schema}.${p}`)!.error, `partition of ${schema}.measurements: loaded through its parent`);
    }

    const measurements = await readWithPyIceberg(`${namespace}.measurements`, { orderBy: 'id' });
    assert.equal(measurements.rows.length, 3000);
    assert.deepEqual(measurements.rows[0], { id: '1', region: 'us', day: '2024-01-02' });
    assert.deepEqual(measurements.rows[1999], { id: '2000', region: 'eu', day: '2029-06-23' });
    await assert.rejects(readWithPyIceberg(`${namespace}.m_eu_low`), 'no Iceberg table per partition');
    const gen = await readWithPyIceberg(`${namespace}.gen`, { orderBy: 'id' });
    assert.deepEqual(gen.rows.map((row) => [row.a, row.b]), [['10', '20'], [null, null], ['-4', '-8']]);

    const pub = await db.query<{ pubviaroot: boolean }>('SELECT pubviaroot FROM pg_publication WHERE pubname = $1', [publication]);
    assert.equal(pub.rows[0]!.pubviaroot, true, 'changes of the partitions are published as the partitioned table');
    const members = await db.query<{ t: string }>(`SELECT c.relname AS t FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
      JOIN pg_class c ON c.oid = pr.prrelid WHERE p.pubname = $1 ORDER BY 1`, [publication]);
    assert.deepEqual(members.rows.map((row) => row.t), ['gen', 'measurements', 'plain']);
  });

  test('validate: a changed not_replicated table shows its state and reason, not a mismatch', async () => {
    await db.query(`INSERT INTO ${schema}.scratch VALUES (11)`);
    const r = await runCli(['--config', configDir, '--log-level', 'warn', 'validate', '--source', source, '--format', 'json']);
    const report = JSON.parse(r.stdout) as ValidateReport;
    const scratch = report.tables.find((t) => t.table === `${schema}.scratch`)!;
    assert.equal(scratch.result, 'not_replicated', scratch.detail);
    assert.match(scratch.detail, /1 row\(s\) fewer in Iceberg; not replicated by CDC \(UNLOGGED table/);
    assert.equal(report.tables.find((t) => t.table === `${schema}.measurements`)!.result, 'ok');
    assert.equal(report.summary.not_replicated, 1);
    assert.equal(r.code, 0, 'a known, reported state is not a failure');
    const text = await runCli(['--config', configDir, '--log-level', 'warn', 'validate', '--source', source]);
    assert.match(text.stdout, new RegExp(`${schema}\\.scratch \\(not replicated by CDC\\): 1 row\\(s\\) fewer`));
  });

  test('partitioned_tables: leaves loads each leaf as its own table, the parent skipped, published per partition', async () => {
    const leavesNs = `${namespace}_leaves`;
    const leaves = testConfigDir({ [source]: { schemas: [schema], namespace: leavesNs, partitioned_tables: 'leaves', include_tables: ['m%', 'measurements'] } });
    const r = await runCli(['--config', leaves, 'bulk-load', '--source', source]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /4 tables, 3000 rows, 0 failed/);
    const status = await statusOf(leavesNs);
    assert.equal(status.get(`${schema}.measurements`)!.load_status, 'skipped');
    assert.equal(status.get(`${schema}.m_eu_low`)!.load_status, 'completed');
    assert.equal((await readWithPyIceberg(`${leavesNs}.m_eu_low`)).rows.length, 499);
    const pub = await db.query<{ pubviaroot: boolean }>('SELECT pubviaroot FROM pg_publication WHERE pubname = $1', [publication]);
    assert.equal(pub.rows[0]!.pubviaroot, false);
  });

  test('a table the publication refuses is reported with PostgreSQL\'s error; the others are published', async () => {
    const refusing = `${schema}_refusing`;
    const refused = await ensurePublication(db, refusing, [{ schema, name: 'plain' }, { schema, name: 'scratch' }, { schema, name: 'gen' }], { viaPartitionRoot: true });
    assert.deepEqual([...refused.keys()], [`${schema}.scratch`]);
    assert.match(refused.get(`${schema}.scratch`)!, /cannot add relation "scratch" to publication/);
    const members = await db.query<{ t: string }>(`SELECT c.relname AS t FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
      JOIN pg_class c ON c.oid = pr.prrelid WHERE p.pubname = $1 ORDER BY 1`, [refusing]);
    assert.deepEqual(members.rows.map((row) => row.t), ['gen', 'plain']);
  });
});
