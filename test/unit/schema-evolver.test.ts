/**
 * The schema evolver against in-memory stand-ins for the catalog and state tables: an event older than
 * the table's latest schema change (read again after a restart) infers nothing, and a change replayed
 * after a crash is recorded once.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { postgresSourceSchema } from '../../lib/config/schema.js';
import { debeziumColumnFromPg, type DecodedChange } from '../../lib/cdc/debezium.js';
import { CdcMetrics } from '../../lib/cdc/metrics.js';
import { SchemaEvolver, type EvolverContext } from '../../lib/cdc/schema-evolver.js';
import { tableStateFromStatus } from '../../lib/cdc/table-state.js';
import type { CdcStatusRow } from '../../lib/state/cdc-status.js';
import type { SchemaChange } from '../../lib/state/schema-changes.js';

const intCol = (name: string) => debeziumColumnFromPg({ name, type: 'integer', typtype: 'b', category: 'N', notNull: name === 'id' });

function event(lsn: bigint, columns: string[]): DecodedChange {
  return {
    kind: 'change', op: 'u', schema: 'app', table: 't', lsn, lastCommitLsn: null, txId: null, tsMs: 0, sourceTsMs: null, snapshot: false,
    before: null, after: Object.fromEntries(columns.map((c) => [c, '1'])), key: { id: '1' }, columns: columns.map(intCol), unavailableColumns: [],
  };
}

function world(history: SchemaChange[] = []) {
  const recorded: SchemaChange[] = [...history];
  const altered: string[] = [];
  const ctx = {
    lakehouse: { ref: () => 'lake.t', run: async (sql: string) => (altered.push(sql), 0), query: async () => [] },
    rest: { currentSnapshotId: async () => null },
    schemaChanges: {
      record: async (rows: SchemaChange[]) => void recorded.push(...rows),
      readCdcChanges: async () => recorded.filter((r) => r.source_lsn).map((r) => ({ ...r, source_lsn: r.source_lsn! })),
    },
    status: { upsert: async () => undefined },
    namespace: 'bronze.app', sourceName: 'app', metrics: new CdcMetrics(),
    source: postgresSourceSchema.parse({ type: 'postgres', connection: { host: 'h', database: 'd', user: 'u' } }),
  } as unknown as EvolverContext;
  const status = { table_name: 'app.t', iceberg_table: 'bronze.app.t', load_status: 'completed', key_columns: 'id', key_source: 'primary_key' } as CdcStatusRow;
  const state = tableStateFromStatus(status, [{ name: 'id', type: 'int' }, { name: 'a', type: 'int' }], 'bronze.app');
  return { ctx, state, recorded, altered };
}

describe('schema evolution and event positions', () => {
  test('a column added at LSN 200: events before it, read again, record no drop', async () => {
    const w = world();
    const evolver = new SchemaEvolver(w.ctx);
    assert.equal(await evolver.evolve(w.state, event(200n, ['id', 'a', 'b'])), true);
    assert.deepEqual(w.recorded.map((r) => [r.change_type, r.column_name, r.source_lsn]), [['column_added', 'b', '0/C8']]);
    assert.equal(w.altered.length, 1);
    // after a restart the consumer reads the pre-ALTER events again
    const restarted = new SchemaEvolver(w.ctx);
    const again = world(w.recorded);
    again.state.columns.push({ name: 'b', type: 'int' });
    assert.equal(await restarted.evolve(again.state, event(150n, ['id', 'a'])), true);
    assert.equal(await restarted.evolve(again.state, event(200n, ['id', 'a', 'b'])), true);
    assert.deepEqual(w.recorded.map((r) => r.change_type), ['column_added'], 'no column_dropped from an event older than the schema');
  });

  test('a crash between recording and ALTER: the replayed event alters without a second record', async () => {
    const w = world([{ table_name: 'app.t', change_type: 'column_added', column_name: 'b', schema_before: null, schema_after: null, iceberg_snapshot_id: null, source_lsn: '0/C8' }]);
    const evolver = new SchemaEvolver(w.ctx);
    assert.equal(await evolver.evolve(w.state, event(200n, ['id', 'a', 'b'])), true);
    assert.equal(w.altered.length, 1, 'the column is added');
    assert.equal(w.recorded.length, 1, 'recorded once');
  });

  test('a real drop after the add is still recorded', async () => {
    const w = world();
    const evolver = new SchemaEvolver(w.ctx);
    await evolver.evolve(w.state, event(200n, ['id', 'a', 'b']));
    await evolver.evolve(w.state, event(300n, ['id', 'b']));
    assert.deepEqual(w.recorded.map((r) => [r.change_type, r.column_name]), [['column_added', 'b'], ['column_dropped', 'a']]);
  });
});
