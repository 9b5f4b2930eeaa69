/**
 * The pure logic behind unlogged, partitioned and refused tables: chunks planned per physical relation,
 * the publication built table by table when PostgreSQL refuses one, the leaf list recorded in
 * _cdc_status, and validate's verdict for a table CDC cannot follow.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type pg from 'pg';
import { partitionList } from '../../lib/bulk/bulk-load.js';
import { chunkSelects, planChunks } from '../../lib/bulk/plan.js';
import { ensurePublication } from '../../lib/source/postgres/publication.js';
import { classifyDifference, validateExitCode } from '../../lib/validate/positions.js';

describe('chunks of a partitioned table', () => {
  const leaf = (name: string, pages: number, heap = true) => ({ schema: 's', name, pages, heap });

  test('each leaf is split by its own pages; an empty leaf and a non-heap leaf get one whole chunk', () => {
    const chunks = planChunks([leaf('big', 4096), leaf('empty', 0), leaf('remote', 99_999, false)], 4);
    assert.deepEqual(chunks.map((c) => [c.relation.name, c.range.from, c.range.to]), [
      ['big', 0, 1024], ['big', 1024, 2048], ['big', 2048, 3072], ['big', 3072, null], ['empty', 0, null], ['remote', 0, null],
    ]);
    assert.deepEqual(planChunks([], 4), [], 'a partitioned table without partitions has no rows to read');
  });

  test('one SELECT per chunk, from the leaf itself', () => {
    assert.deepEqual(chunkSelects('"id"', [leaf('p1', 10), leaf('p"2', 2048)], 2), [
      'SELECT "id" FROM "s"."p1" WHERE TRUE',
      `SELECT "id" FROM "s"."p""2" WHERE ctid >= '(0,0)'::tid AND ctid < '(1024,0)'::tid`,
      `SELECT "id" FROM "s"."p""2" WHERE ctid >= '(1024,0)'::tid`,
    ]);
  });

  test('_cdc_status.partitions: sorted JSON array of schema.table', () => {
    assert.equal(partitionList({ relations: [leaf('m_us', 1), leaf('m_eu_low', 1)] }), '["s.m_eu_low","s.m_us"]');
  });
});

/** A pg client stand-in: answers the catalog queries, records statements, refuses ADD TABLE of `refuse`. */
function fakeClient(refuse: string[], existing?: { puballtables: boolean; pubviaroot: boolean }) {
  const statements: string[] = [];
  const client = {
    query: async (sql: string) => {
      if (sql.startsWith('SELECT puballtables')) return { rows: existing ? [existing] : [] };
      if (sql.startsWith('SELECT n.nspname')) return { rows: [] };
      statements.push(sql);
      const bad = refuse.find((t) => sql.includes('ADD TABLE') && sql.includes(`"${t}"`));
      if (bad) throw new Error(`cannot add relation "${bad}" to publication`);
      return { rows: [] };
    },
  };
  return { client: client as unknown as pg.Client, statements };
}

describe('publication', () => {
  const tables = ['a', 'u', 'b'].map((name) => ({ schema: 's', name }));

  test('all tables in one statement when PostgreSQL accepts them', async () => {
    const { client, statements } = fakeClient([]);
    assert.deepEqual(await ensurePublication(client, 'pub', tables, { viaPartitionRoot: true }), new Map());
    assert.deepEqual(statements, ['CREATE PUBLICATION "pub" WITH (publish_via_partition_root = true)', 'ALTER PUBLICATION "pub" ADD TABLE "s"."a", "s"."u", "s"."b"']);
  });

  test('a refused table: the others are added one by one, the refused one reported with PostgreSQL\'s error', async () => {
    const { client, statements } = fakeClient(['u'], { puballtables: false, pubviaroot: false });
    const refused = await ensurePublication(client, 'pub', tables, { viaPartitionRoot: true });
    assert.deepEqual([...refused], [['s.u', 'cannot add relation "u" to publication']]);
    assert.deepEqual(statements.slice(0, 1), ['ALTER PUBLICATION "pub" SET (publish_via_partition_root = true)']);
    assert.deepEqual(statements.slice(2), ['ALTER PUBLICATION "pub" ADD TABLE "s"."a"', 'ALTER PUBLICATION "pub" ADD TABLE "s"."u"', 'ALTER PUBLICATION "pub" ADD TABLE "s"."b"']);
  });

  test('FOR ALL TABLES: nothing to add', async () => {
    const { client, statements } = fakeClient([], { puballtables: true, pubviaroot: true });
    assert.deepEqual(await ensurePublication(client, 'pub', tables, { viaPartitionRoot: true }), new Map());
    assert.deepEqual(statements, []);
  });
});

describe('validate verdict of a table CDC cannot follow', () => {
  const facts = { sourceLsn: '0/200', applied: '0/100', loadStatus: 'completed', streaming: false, caughtUp: false, slotName: 'slot' };

  test('not_replicated with its reason, instead of a mismatch; not a failing exit code', () => {
    const v = classifyDifference({ ...facts, replication: 'not_replicated', replicationReason: 'UNLOGGED table' });
    assert.equal(v.result, 'not_replicated');
    assert.match(v.note, /not replicated by CDC \(UNLOGGED table\): Iceberg holds the bulk load at 0\/100/);
    assert.equal(classifyDifference({ ...facts, replication: 'logical' }).result, 'mismatch');
    assert.equal(classifyDifference({ ...facts, loadStatus: 'failed', replication: 'not_replicated' }).result, 'mismatch', 'a failed load is still a mismatch');
    assert.equal(validateExitCode(['ok', 'not_replicated']), 0);
  });
});
