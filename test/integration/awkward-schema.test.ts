/**
 * Issue 9: lakeloader tried as a new user would, on a schema with the variety of a real application
 * database (test/helpers/awkward-schema.ts, seeded: LL_AWKWARD_SEED), following the README and
 * nothing else: `bulk-load`, then `connector apply` and `cdc` with the default flags, the consumer
 * SIGKILLed again and again. Iceberg, read back through pyiceberg, must equal PostgreSQL row for row;
 * `_cdc_status` must say what is special about a table; `_schema_changes` must hold exactly the
 * changes made. Each test gathers every problem it finds and reports them together, naming table, key
 * and column, with the seed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type pg from 'pg';
import {
  diffKeyedTable, diffKeylessTable, icebergIdentifier, readFailed, readIcebergTables, readSourceTable, showValue, type IcebergRead,
} from '../helpers/awkward-compare.js';
import { ReadmeCdc, WorkloadRun, awkwardSourceConfig, createAwkwardSchema, lakeloader, lastLines, removeAwkwardSource } from '../helpers/awkward-cdc.js';
import { awkwardSeed, generateAwkwardSource, sourceTableName, type AwkwardSource, type AwkwardTable } from '../helpers/awkward-schema.js';
import { rng, sleep } from '../helpers/cdc.js';
import { uniqueName } from '../helpers/config.js';
import { pgClient } from '../helpers/pg.js';
import type { PyIcebergTable } from '../helpers/stack.js';

const seed = awkwardSeed();
console.log(`awkward schema seed ${seed} (replay: LL_AWKWARD_SEED=${seed})`);

const WORKLOAD_SECONDS = 75;

function failIfProblems(stage: string, problems: string[]): void {
  if (problems.length > 0) assert.fail(`[seed ${seed}] ${stage}: ${problems.length} problem(s):\n - ${problems.join('\n - ')}`);
}

type StatusRow = Record<string, unknown>;

/** The Iceberg side of the source: `_cdc_status`, `_schema_changes`, and each table found through `_cdc_status.iceberg_table`. */
interface LakeState {
  status: Map<string, StatusRow>;
  schemaChanges: StatusRow[];
  tables: Map<AwkwardTable, { table: PyIcebergTable; changelog: PyIcebergTable | null }>;
  problems: string[];
}

async function readLake(source: AwkwardSource, namespace: string): Promise<LakeState> {
  const ns = namespace.split('.');
  const [status, changes] = await readIcebergTables([[...ns, '_cdc_status'], [...ns, '_schema_changes']]);
  const problems: string[] = [];
  const rowsOf = (read: IcebergRead | undefined, name: string): StatusRow[] => {
    if (read && !readFailed(read)) return read.rows;
    problems.push(`${namespace}.${name} cannot be read: ${read && readFailed(read) ? read.error : 'no answer'}`);
    return [];
  };
  const state: LakeState = {
    status: new Map(rowsOf(status, '_cdc_status').map((r) => [String(r.table_name), r])),
    schemaChanges: rowsOf(changes, '_schema_changes'),
    tables: new Map(),
    problems,
  };
  const located: { table: AwkwardTable; identifier: string[] }[] = [];
  for (const t of source.tables) {
    const icebergTable = state.status.get(sourceTableName(t))?.iceberg_table;
    if (typeof icebergTable === 'string') located.push({ table: t, identifier: icebergIdentifier(namespace, icebergTable) });
  }
  // the keyless table's changes: `<table>_changelog` beside its base table (README, "What is applied")
  const changelogs = located.filter((l) => l.table.key.length === 0).map((l) => ({ ...l, identifier: [...l.identifier.slice(0, -1), `${l.identifier.at(-1)!}_changelog`] }));
  const reads = await readIcebergTables([...located, ...changelogs].map((l) => l.identifier));
  located.forEach((l, i) => {
    const read = reads[i]!;
    if (readFailed(read)) problems.push(`${sourceTableName(l.table)}: Iceberg table ${l.identifier.join('.')} cannot be read: ${read.error}`);
    else state.tables.set(l.table, { table: read, changelog: null });
  });
  changelogs.forEach((l, i) => {
    const read = reads[located.length + i]!;
    const entry = state.tables.get(l.table);
    if (entry && !readFailed(read)) entry.changelog = read;
  });
  return state;
}

/** Every table whose contents Iceberg must hold, compared row for row with PostgreSQL. */
async function contentProblems(db: pg.Client, source: AwkwardSource, lake: LakeState, replicatedOnly: boolean): Promise<string[]> {
  const problems: string[] = [];
  for (const t of source.tables) {
    if (replicatedOnly && !t.replicated) continue;
    const read = lake.tables.get(t);
    if (!read) {
      if (lake.status.has(sourceTableName(t))) problems.push(`${sourceTableName(t)}: no readable Iceberg table (_cdc_status.iceberg_table = ${showValue(lake.status.get(sourceTableName(t))?.iceberg_table)})`);
      continue;
    }
    const pgRows = await readSourceTable(db, t);
    problems.push(...(t.key.length > 0 ? diffKeyedTable(t, pgRows, read.table) : diffKeylessTable(t, pgRows, read.table, read.changelog)));
  }
  return problems;
}

/** What `_cdc_status` must say of every table, partition and view. */
function statusProblems(source: AwkwardSource, lake: LakeState, withLatePartition: boolean): string[] {
  const problems: string[] = [];
  for (const t of source.tables) {
    const name = sourceTableName(t);
    const row = lake.status.get(name);
    if (!row) {
      problems.push(`${name}: no _cdc_status row (rows: ${[...lake.status.keys()].join(', ')})`);
      continue;
    }
    if (row.load_status !== 'completed') problems.push(`${name}: _cdc_status.load_status ${showValue(row.load_status)}, expected "completed" (error: ${showValue(row.error)})`);
    if (t.replicated && row.replication !== 'logical') problems.push(`${name}: _cdc_status.replication ${showValue(row.replication)}, expected "logical"`);
    if (!t.replicated && (row.replication !== 'not_replicated' || !row.replication_reason)) {
      problems.push(`${name} (UNLOGGED): _cdc_status.replication ${showValue(row.replication)} with reason ${showValue(row.replication_reason)}, expected "not_replicated" with a reason`);
    }
    if (t.partitions) {
      const leaves = [...t.partitions.map((p) => p.name), ...(withLatePartition ? [source.latePartition.name] : [])].map((p) => `${t.schema}.${p}`).sort();
      let recorded: unknown = row.partitions;
      try {
        recorded = typeof row.partitions === 'string' ? (JSON.parse(row.partitions) as unknown) : row.partitions;
      } catch { /* shown as it is */ }
      if (!Array.isArray(recorded) || JSON.stringify([...(recorded as unknown[])].sort()) !== JSON.stringify(leaves)) {
        problems.push(`${name} (partitioned): _cdc_status.partitions ${showValue(row.partitions)}, expected the leaves ${showValue(leaves)}`);
      }
      for (const leaf of leaves) {
        const leafRow = lake.status.get(leaf);
        if (leafRow?.iceberg_table && leafRow.iceberg_table !== row.iceberg_table) {
          problems.push(`partition ${leaf} became its own Iceberg table ${showValue(leafRow.iceberg_table)} (expected only the parent's ${showValue(row.iceberg_table)})`);
        }
      }
    }
  }
  for (const v of source.views) {
    const row = lake.status.get(sourceTableName(v));
    if (row?.load_status !== 'skipped' || !/view/i.test(String(row.error))) {
      problems.push(`${v.kind} ${sourceTableName(v)}: _cdc_status ${showValue(row ? { load_status: row.load_status, error: row.error } : null)}, expected load_status "skipped" with a reason naming the ${v.kind}`);
    }
  }
  return problems;
}

/** `_schema_changes` holds one baseline per loaded table and, after the workload, exactly its DDL. */
function schemaChangeProblems(source: AwkwardSource, lake: LakeState, withWorkloadDdl: boolean): string[] {
  const describe = (table: string, changeType: string, column: string | null) => `${changeType} ${table}${column === null ? '' : ` column ${column}`}`;
  const expected = [
    ...source.tables.map((t) => describe(sourceTableName(t), 'baseline', null)),
    ...(withWorkloadDdl ? source.schemaChanges.map((c) => describe(c.table, c.changeType, c.column)) : []),
  ];
  const actual = lake.schemaChanges.map((r) => describe(String(r.table_name), String(r.change_type), r.column_name === null ? null : String(r.column_name)));
  const remaining = [...actual];
  const missing = expected.filter((e) => {
    const i = remaining.indexOf(e);
    if (i < 0) return true;
    remaining.splice(i, 1);
    return false;
  });
  return [
    ...missing.map((m) => `_schema_changes lacks: ${m}`),
    ...remaining.map((r) => `_schema_changes has a row for a change never made: ${r}`),
  ];
}

/** A source made of the awkward schema (its name is the plain schema's), cleaned up afterwards. */
async function withAwkwardSource(prefix: string, transactions: number, body: (ctx: { db: pg.Client; source: AwkwardSource; name: string; namespace: string; configDir: string }) => Promise<void>): Promise<void> {
  const name = uniqueName(prefix);
  const namespace = `lltest.${name}`;
  const source = generateAwkwardSource({ seed, plainSchema: name, spacedSchema: `${name} space`, transactions });
  const configDir = awkwardSourceConfig(name, source, namespace);
  const db = await pgClient();
  try {
    await createAwkwardSchema(db, source);
    await body({ db, source, name, namespace, configDir });
  } finally {
    await removeAwkwardSource(db, configDir, name, source);
    await db.end();
  }
}

test('awkward schema: bulk load alone loads every table exactly and says what is special', { timeout: 240_000 }, async () => {
  await withAwkwardSource('llawk', 0, async ({ db, source, name, namespace, configDir }) => {
    const problems: string[] = [];
    const load = await lakeloader(configDir, name, ['bulk-load']);
    if (load.code !== 0) problems.push(`bulk-load exited ${String(load.code)}:\n${lastLines(load.stdout + load.stderr)}`);
    else if (!/infinity/i.test(load.stdout + load.stderr)) problems.push('bulk-load did not report the ±infinity values it clamped');
    const lake = await readLake(source, namespace);
    problems.push(...lake.problems, ...statusProblems(source, lake, false), ...await contentProblems(db, source, lake, false), ...schemaChangeProblems(source, lake, false));
    failIfProblems('bulk load alone', problems);
  });
});

test('awkward schema: README flow (bulk-load, connector apply, cdc) through a workload with DDL and SIGKILLs ends exact, and stays so through maintain', { timeout: 720_000 }, async () => {
  await withAwkwardSource('llawkcdc', 900, async ({ db, source, name, namespace, configDir }) => {
    const problems: string[] = [];
    const load = await lakeloader(configDir, name, ['bulk-load']);
    if (load.code !== 0) problems.push(`bulk-load exited ${String(load.code)}:\n${lastLines(load.stdout + load.stderr)}`);
    const apply = await lakeloader(configDir, name, ['connector', 'apply']);
    if (apply.code !== 0) failIfProblems('README flow', [...problems, `connector apply exited ${String(apply.code)}:\n${lastLines(apply.stdout + apply.stderr)}`]);

    const writer = await pgClient();
    const workload = new WorkloadRun(writer, source.workload, WORKLOAD_SECONDS, seed);
    let workloadRunning = true;
    const workloadEnded = workload.done.finally(() => (workloadRunning = false));
    workloadEnded.catch(() => undefined);
    const killDelays = rng(seed + 1);
    const earlyExits: string[] = [];
    let kills = 0;
    let consumer: ReadmeCdc | undefined;
    /** Runs a consumer for `ms`, then SIGKILLs it; a consumer that exits by itself is a problem. */
    const runThenKill = async (ms: number) => {
      consumer = new ReadmeCdc(configDir, name);
      await Promise.race([sleep(ms), consumer.exited]);
      if (!consumer.running) {
        if (earlyExits.length < 3) earlyExits.push(`the consumer exited by itself (code ${String(consumer.exitCode)}) after ${kills} kills:\n${consumer.tail()}`);
        if (workloadRunning) await sleep(ms); // no tight restart loop
        return;
      }
      await consumer.kill();
      kills++;
    };
    try {
      await sleep(3000); // changes are flowing through Debezium into Kafka
      // the first consumer dies before its first commit: the new group must still start from the first change
      await runThenKill(1500);
      if (consumer!.committed) console.log(`[seed ${seed}] note: the first consumer committed within 1.5 s, before its kill`);
      while (workloadRunning) await runThenKill(8000 + Math.floor(killDelays() * 12000));
      await workloadEnded; // a statement PostgreSQL refused is a bug of the generator: fails here, naming it
    } finally {
      await workload.stop();
      await consumer?.kill();
      await writer.end();
    }
    problems.push(...earlyExits);
    assert.ok(kills >= 4, `[seed ${seed}] only ${kills} SIGKILLs during the workload (${workload.transactions} transactions)\n${earlyExits.join('\n')}`);
    assert.equal(workload.ddl.length, 3, `[seed ${seed}] DDL steps run: ${workload.ddl.join(', ')}`);

    // catch up the README way, until the tables match (Debezium may still be publishing the tail)
    for (let round = 1; round <= 4; round++) {
      const idle = await lakeloader(configDir, name, ['cdc', '--exit-when-idle', '10'], 180_000);
      if (idle.code !== 0) {
        problems.push(`cdc --exit-when-idle 10 (round ${round}) exited ${String(idle.code)}:\n${lastLines(idle.stdout + idle.stderr)}`);
        break;
      }
      if ((await contentProblems(db, source, await readLake(source, namespace), true)).length === 0) break;
    }
    const lake = await readLake(source, namespace);
    const contents = await contentProblems(db, source, lake, true);
    problems.push(...lake.problems, ...statusProblems(source, lake, true), ...contents, ...schemaChangeProblems(source, lake, true));
    failIfProblems(`README flow (${workload.transactions} transactions, ${kills} SIGKILLs)`, problems);

    // table maintenance on every awkward table (Spark reads what DuckDB wrote): nothing may change
    const maintain = await lakeloader(configDir, name, ['maintain'], 300_000);
    const after = await readLake(source, namespace);
    failIfProblems('lakeloader maintain', [
      ...(maintain.code === 0 ? [] : [`maintain exited ${String(maintain.code)}:\n${lastLines(maintain.stdout + maintain.stderr)}`]),
      ...after.problems, ...(await contentProblems(db, source, after, true)),
    ]);
  });
});
