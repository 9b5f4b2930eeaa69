/**
 * Table maintenance on the real stack (Spark's Iceberg procedures on tables DuckDB wrote through CDC):
 * `lakeloader maintain` retires delete files without changing what readers see, keeps time travel
 * within the retention and refuses it beyond, removes only old orphans; the consumer maintains its
 * tables by itself, between micro-batches, while it is SIGKILLed; a scheduled `maintain` refuses to
 * commit beside it (the reference catalog's multi-table commit is not atomic under concurrency); S3 too.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { lakehouseFileSchema } from '../../lib/config/schema.js';
import { RestCatalogClient } from '../../lib/lakehouse/rest-catalog.js';
import { Lakehouse } from '../../lib/lakehouse/session.js';
import {
  assertOffsetsAtEnd, backgroundCatchUp, BackgroundCdc, cdcTestSource, KeyedWorkload, keyedTableDdl, rng, sleep, tablesDiffer,
} from '../helpers/cdc.js';
import { runCli } from '../helpers/cli.js';
import { testConfigDir, uniqueName } from '../helpers/config.js';
import { readWithPyIceberg, stack } from '../helpers/stack.js';

const lakehouse = (s3: boolean) => lakehouseFileSchema.parse(s3
  ? {
    catalog: { uri: stack.restS3Uri },
    storage: { type: 's3', endpoint: stack.s3.endpoint, access_key_id: stack.s3.accessKeyId, secret_access_key: stack.s3.secretAccessKey, path_style: true, use_ssl: false },
    duckdb: { extension_directory: stack.extensionDir },
  }
  : { catalog: { uri: stack.restUri }, duckdb: { extension_directory: stack.extensionDir } });

/** Rows as DuckDB reads them, through `lakeloader sql` (the users' way), optionally at a snapshot. */
async function duckdbRows(configDir: string, table: string, snapshotId?: string): Promise<{ code: number; rows: Record<string, unknown>[]; stderr: string }> {
  const at = snapshotId ? ` AT (VERSION => ${snapshotId})` : '';
  const r = await runCli(['--config', configDir, 'sql', '--format', 'json', `SELECT id::VARCHAR AS id, balance::VARCHAR AS balance, note FROM ${table}${at}`]);
  return { code: r.code ?? -1, rows: r.code === 0 ? JSON.parse(r.stdout) as Record<string, unknown>[] : [], stderr: r.stderr };
}

/** The rows in key order, as text: equal fingerprints, equal contents. */
const fingerprint = (rows: Record<string, unknown>[]) =>
  [...rows].sort((a, b) => Number(a.id) - Number(b.id)).map((r) => `${String(r.id)}|${String(r.balance)}|${String(r.note)}`).join('\n');

describe('lakeloader maintain on a CDC-churned table', () => {
  const source = cdcTestSource('llmnt', (schema) => keyedTableDdl(`${schema}.acct`, 2000), {
    // automatic maintenance off: this test runs it by hand; a short retention so expiry has work
    maintenance: { enabled: false, retain_last: 6, retain_for: '0s' },
  });

  test('delete files retired, reads unchanged, time travel within the retention only, only old orphans removed', async () => {
    const { schema, namespace, db, configDir } = source;
    const cdc = new BackgroundCdc(configDir, schema);
    try {
      // small spaced changes: one micro-batch (one DuckDB snapshot and delete file) each
      const workload = new KeyedWorkload(db, `${schema}.acct`, { seed: 101, keys: 2000, seconds: 14, perSecond: 2 });
      await workload.done;
      await backgroundCatchUp(cdc, () => tablesDiffer(db, schema, namespace, ['acct']));
    } finally {
      await cdc.stop();
    }
    const before = await readWithPyIceberg(`${namespace}.acct`, { orderBy: 'id', inventory: true });
    assert.ok(before.inventory!.delete_files.length >= 5, `CDC left delete files: ${before.inventory!.delete_files.length}`);
    const firstSnapshot = before.inventory!.snapshots[0]!;
    const beforeSnapshot = before.snapshot_id!;

    // two files nothing references: one older than the 3-day window, one fresh (a commit in flight)
    const location = fileURLToPath((await new RestCatalogClient(lakehouse(false)).tableLocation(namespace, 'acct')).replace(/^file:(?!\/\/)/, 'file://'));
    mkdirSync(path.join(location, 'data'), { recursive: true });
    const oldOrphan = path.join(location, 'data', 'orphan-old.parquet');
    const freshOrphan = path.join(location, 'data', 'orphan-fresh.parquet');
    writeFileSync(oldOrphan, 'not referenced');
    writeFileSync(freshOrphan, 'not referenced');
    const fourDaysAgo = new Date(Date.now() - 4 * 86_400_000);
    utimesSync(oldOrphan, fourDaysAgo, fourDaysAgo);

    const dry = await runCli(['--config', configDir, 'maintain', '--source', schema, '--dry-run']);
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    assert.match(dry.stdout, /acct .*rewrite, manifests, expire, orphans/);
    assert.match(dry.stdout, new RegExp(`acct: ${before.inventory!.delete_files.length} delete files`));
    assert.equal((await readWithPyIceberg(`${namespace}.acct`, { inventory: true })).inventory!.delete_files.length, before.inventory!.delete_files.length, 'a dry run changes nothing');

    const run = await runCli(['--config', configDir, 'maintain', '--source', schema]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /acct .*│ ok/);

    const after = await readWithPyIceberg(`${namespace}.acct`, { orderBy: 'id', inventory: true });
    assert.equal(after.inventory!.delete_files.length, 0, 'no delete file left');
    assert.ok(after.inventory!.data_files.length < before.inventory!.data_files.length, `data files ${before.inventory!.data_files.length} → ${after.inventory!.data_files.length}`);
    assert.equal(fingerprint(after.rows), fingerprint(before.rows), 'pyiceberg reads the same rows');
    assert.equal(await tablesDiffer(db, schema, namespace, ['acct']), null);
    const duck = await duckdbRows(configDir, `lake."${namespace}".acct`);
    assert.equal(duck.code, 0, duck.stderr);
    assert.equal(fingerprint(duck.rows), fingerprint(before.rows), 'DuckDB reads the same rows');

    // time travel: the pre-maintenance snapshot is among the newest 6, the bulk load's is not
    assert.ok(after.inventory!.snapshots.length <= 6, `snapshots kept: ${after.inventory!.snapshots.length}`);
    assert.ok(after.inventory!.snapshots.includes(beforeSnapshot));
    const travelled = await readWithPyIceberg(`${namespace}.acct`, { orderBy: 'id', snapshotId: beforeSnapshot });
    assert.equal(fingerprint(travelled.rows), fingerprint(before.rows));
    assert.equal(fingerprint((await duckdbRows(configDir, `lake."${namespace}".acct`, beforeSnapshot)).rows), fingerprint(before.rows));
    await assert.rejects(readWithPyIceberg(`${namespace}.acct`, { snapshotId: firstSnapshot }), /snapshot \d+ does not exist/);
    const expired = await duckdbRows(configDir, `lake."${namespace}".acct`, firstSnapshot);
    assert.equal(expired.code, 1);
    assert.match(expired.stderr, new RegExp(`snapshot with id ${firstSnapshot}.*expired by table maintenance`));

    assert.equal(existsSync(oldOrphan), false, 'the old orphan is gone');
    assert.equal(existsSync(freshOrphan), true, 'the fresh one stays (it may belong to a commit in flight)');

    const runs = (await readWithPyIceberg(`${namespace}._maintenance_runs`)).rows.filter((r) => r.table_name === 'acct');
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.trigger, 'manual');
    assert.equal(runs[0]!.delete_files_after, '0');
    assert.equal(runs[0]!.error, null);
    const status = await runCli(['--config', configDir, 'status', '--source', schema]);
    assert.match(status.stdout, /maintenance: external \(maintenance.enabled: false\); \d+ table\(s\) maintained/);
  });
});

describe('automatic maintenance in the consumer', () => {
  const source = cdcTestSource('llamnt', (schema) => keyedTableDdl(`${schema}.acct`, 3000), {
    maintenance: { check_interval: '5s', max_delete_files: 4, max_new_data_files: 4, retain_last: 5, retain_for: '0s', max_expirable_snapshots: 3 },
  });

  test('under a workload and SIGKILLs, a scheduled `maintain` refused beside it: Iceberg equals PostgreSQL, offsets at the end', async () => {
    const { schema, namespace, db, configDir } = source;
    const seed = Number(process.env.LL_MAINT_SEED ?? 20261202);
    console.log(`maintenance fault seed ${seed} (LL_MAINT_SEED)`);
    const random = rng(seed);
    const workload = new KeyedWorkload(db, `${schema}.acct`, { seed, keys: 3000, perSecond: 25 });
    let cdc = new BackgroundCdc(configDir, schema);
    // a table maintained by the consumer (the cycle's summary line may not come before a SIGKILL)
    const autoRuns = () => cdc.logLines(/"message":"maintenance of [^"]*".*"trigger":"auto"/).length;
    let autoSeen = 0;
    try {
      for (let round = 0; round < 2; round++) {
        // let it run long enough for a maintenance cycle to start (5 s checks, ~10 s Spark start), then kill it somewhere
        await sleep(15_000 + random() * 10_000);
        autoSeen += autoRuns();
        assert.ok(cdc.running, `the consumer exited: ${cdc.tail()}`);
        await cdc.kill();
        cdc = new BackgroundCdc(configDir, schema);
      }
      // a CronJob's `maintain` while the consumer commits (and maintains) on its own: the reference REST
      // catalog would drop a micro-batch of the consumer that met one of its commits, so it refuses, saying why
      const scheduled = await runCli(['--config', configDir, 'maintain', '--source', schema]);
      assert.notEqual(scheduled.code, 0, `maintain beside a running consumer must refuse: ${scheduled.stdout}${scheduled.stderr}`);
      assert.match(scheduled.stderr, new RegExp(`CDC consumer of source ${schema} is running \\(Kafka consumer group lakeloader-cdc-${schema} has \\d+ member`));
      assert.match(scheduled.stderr, /catalog\.atomic_multi_table_commits: true/);
      const dry = await runCli(['--config', configDir, 'maintain', '--source', schema, '--dry-run']);
      assert.equal(dry.code, 0, `a dry run commits nothing, so it runs: ${dry.stderr}`);
      await sleep(10_000);
      await workload.stop();
      await backgroundCatchUp(cdc, () => tablesDiffer(db, schema, namespace, ['acct']), 240_000);
      // once the workload is over the consumer brings the table within its thresholds by itself:
      // snapshots beyond retain_last expire in batches of max_expirable_snapshots, delete files below max_delete_files
      const withinThresholds = async () => {
        const inv = (await readWithPyIceberg(`${namespace}.acct`, { inventory: true })).inventory!;
        return inv.snapshots.length <= 5 + 3 - 1 && inv.delete_files.length < 4 ? null : `${inv.snapshots.length} snapshots, ${inv.delete_files.length} delete files`;
      };
      const end = Date.now() + 180_000;
      let state = await withinThresholds();
      while (state !== null && Date.now() < end) {
        await sleep(5000);
        state = await withinThresholds();
      }
      assert.equal(state, null, `the consumer keeps the table within its thresholds:\n${cdc.tail()}`);
      autoSeen += autoRuns();
    } finally {
      await workload.stop();
      await cdc.stop();
    }
    assert.ok(autoSeen > 0, `the consumer maintained its tables by itself:\n${cdc.tail()}`);
    assert.equal(await tablesDiffer(db, schema, namespace, ['acct']), null);
    const table = await readWithPyIceberg(`${namespace}.acct`, { inventory: true });
    const ids = table.rows.map((r) => String(r.id));
    assert.equal(new Set(ids).size, ids.length, 'no key twice');
    await assertOffsetsAtEnd(namespace, `${schema}.acct`, `${schema}.${schema}.acct`);
    const runs = (await readWithPyIceberg(`${namespace}._maintenance_runs`)).rows;
    assert.ok(runs.some((r) => r.trigger === 'auto' && r.table_name === 'acct' && r.error === null && String(r.actions).includes('rewrite')), JSON.stringify(runs.slice(-5)));
    assert.ok(runs.every((r) => r.error === null), `no commit races the consumer, so no run fails: ${JSON.stringify(runs.filter((r) => r.error))}`);
    assert.ok(table.inventory!.snapshots.length <= 7, `snapshots beyond the newest 5 are expired in batches of 3: ${table.inventory!.snapshots.length}`);
    assert.ok(table.inventory!.delete_files.length < 4, `delete files stay below max_delete_files: ${table.inventory!.delete_files.length}`);
  });
});

describe('maintenance on the S3 warehouse', () => {
  test('a DuckDB-churned table in MinIO: delete files retired, rows unchanged', async () => {
    const namespace = uniqueName('llmnts3');
    const config = lakehouse(true);
    const lake = await Lakehouse.open(config);
    try {
      await lake.ensureNamespace(namespace);
      await lake.createTable(namespace, 't', [{ name: 'id', type: 'long', nullable: false }, { name: 'balance', type: 'long' }, { name: 'note', type: 'string' }]);
      const ref = lake.ref(namespace, 't');
      await lake.run(`INSERT INTO ${ref} SELECT i, 0, 'start' FROM range(1, 5001) r(i)`);
      for (let b = 1; b <= 6; b++) {
        await lake.transaction(async (tx) => {
          await tx.run(`DELETE FROM ${ref} WHERE id % 97 = ${b}`);
          await tx.run(`INSERT INTO ${ref} SELECT i, ${b}, 'batch ${b}' FROM range(1, 5001) r(i) WHERE i % 97 = ${b}`);
        });
      }
    } finally {
      lake.close();
    }
    const before = await readWithPyIceberg(`${namespace}.t`, { s3: true, orderBy: 'id', inventory: true });
    assert.ok(before.inventory!.delete_files.length >= 6);
    const configDir = testConfigDir({ s3src: { schemas: ['public'], namespace, maintenance: { enabled: false } } });
    writeFileSync(path.join(configDir, 'lakehouse.yaml'), JSON.stringify({
      catalog: { uri: stack.restS3Uri },
      storage: { type: 's3', endpoint: stack.s3.endpoint, access_key_id: '${LL_TEST_S3_KEY:' + stack.s3.accessKeyId + '}', secret_access_key: '${LL_TEST_S3_SECRET:' + stack.s3.secretAccessKey + '}', path_style: true, use_ssl: false },
      duckdb: { extension_directory: stack.extensionDir },
    }));
    const run = await runCli(['--config', configDir, 'maintain', '--source', 's3src']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.doesNotMatch(run.stdout + run.stderr, new RegExp(stack.s3.secretAccessKey), 'the S3 secret is never printed');
    const after = await readWithPyIceberg(`${namespace}.t`, { s3: true, orderBy: 'id', inventory: true });
    assert.equal(after.inventory!.delete_files.length, 0);
    assert.equal(fingerprint(after.rows), fingerprint(before.rows));
    assert.equal(after.rows.length, 5000);
  });
});
