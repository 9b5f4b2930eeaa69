/** What maintenance decides from a table's metadata, and the config that drives it. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { maintenanceSchema } from '../../lib/config/schema.js';
import type { SnapshotInfo, TableMetadataInfo } from '../../lib/lakehouse/rest-catalog.js';
import { filesDeleted } from '../../lib/maintenance/maintainer.js';
import { MAINTENANCE_PROPERTIES, metadataTrimProperties, needsEngine, planTable, tableHealth } from '../../lib/maintenance/policy.js';

const policy = maintenanceSchema.parse({});
const NOW = Date.UTC(2026, 11, 2, 12);
const HOUR = 3_600_000;

/** A table with `snapshots` commits, one a minute up to `newestAgoMs` before NOW, the last one's totals given. */
function metadata(snapshots: number, totals: { data: number; deletes: number }, props: Record<string, string> = {}, newestAgoMs = 0): TableMetadataInfo {
  const list: SnapshotInfo[] = Array.from({ length: snapshots }, (_, i) => ({
    id: String(1000 + i), timestampMs: NOW - newestAgoMs - (snapshots - 1 - i) * 60_000, operation: 'append',
    summary: i === snapshots - 1 ? ({ 'total-data-files': String(totals.data), 'total-delete-files': String(totals.deletes), 'total-records': '100' } as Record<string, string>) : {},
  }));
  return {
    location: 'file:///w/t', metadataLocation: 'file:///w/t/metadata/5.metadata.json', formatVersion: 2,
    currentSnapshotId: list.at(-1)?.id ?? null, snapshots: list, previousMetadataFiles: snapshots, properties: props,
    columns: [{ name: 'id', type: 'long' }],
  };
}

const trimmed = metadataTrimProperties(policy);

describe('maintenance policy', () => {
  test('defaults: on, thresholds and retention as documented', () => {
    assert.equal(policy.enabled, true);
    assert.equal(policy.check_interval, 60_000);
    assert.equal(policy.max_delete_files, 32);
    assert.equal(policy.retain_last, 20);
    assert.equal(policy.retain_for, HOUR);
    assert.equal(policy.orphan_min_age, 3 * 24 * HOUR);
    assert.equal(policy.spark.master, 'local[2]');
  });

  test('durations: ms notation or seconds; anything else names the key', () => {
    assert.equal(maintenanceSchema.parse({ retain_for: '90s' }).retain_for, 90_000);
    assert.equal(maintenanceSchema.parse({ retain_for: 7200 }).retain_for, 7_200_000);
    const bad = maintenanceSchema.safeParse({ orphan_min_age: 'soon' });
    assert.equal(bad.success, false);
    assert.deepEqual(bad.error!.issues[0]!.path, ['orphan_min_age']);
    assert.match(bad.error!.issues[0]!.message, /duration such as 30s/);
    const short = maintenanceSchema.safeParse({ orphan_min_age: '1h' });
    assert.match(short.error!.issues[0]!.message, /at least 24h/);
  });

  test('a quiet table needs nothing (after its metadata trimming is set)', () => {
    const plan = planTable(tableHealth('t', metadata(3, { data: 1, deletes: 0 }, trimmed), policy, NOW), policy, 'threshold', NOW);
    assert.deepEqual([plan.rewrite, plan.expire, plan.removeOrphans, plan.trimMetadata], [false, false, false, false]);
    assert.equal(needsEngine(plan), false);
  });

  test('delete files past the threshold: rewrite, and the orphan scan rides along', () => {
    const plan = planTable(tableHealth('t', metadata(40, { data: 5, deletes: 32 }, trimmed), policy, NOW), policy, 'threshold', NOW);
    assert.equal(plan.rewrite, true);
    assert.equal(plan.removeOrphans, true);
    assert.match(plan.reasons.join('; '), /32 delete files \(threshold 32\) over 5 data files/);
  });

  test('new data files are counted from the last rewrite, which table properties remember', () => {
    const props = { ...trimmed, [MAINTENANCE_PROPERTIES.dataFilesAfterRewrite]: '10' };
    assert.equal(tableHealth('t', metadata(5, { data: 41, deletes: 0 }, props), policy, NOW).newDataFiles, 31);
    assert.equal(planTable(tableHealth('t', metadata(5, { data: 41, deletes: 0 }, props), policy, NOW), policy, 'threshold', NOW).rewrite, false);
    assert.equal(planTable(tableHealth('t', metadata(5, { data: 42, deletes: 0 }, props), policy, NOW), policy, 'threshold', NOW).rewrite, true);
  });

  test('snapshots expire only beyond both the newest N and the retention time', () => {
    // 30 snapshots a minute apart, the newest 2 h ago: all older than 1 h, so all but the newest 20 go
    assert.equal(tableHealth('t', metadata(30, { data: 1, deletes: 0 }, trimmed, 2 * HOUR), policy, NOW).expirableSnapshots, 10);
    // the same, the newest now: none is older than an hour except those beyond 60 minutes (none)
    assert.equal(tableHealth('t', metadata(30, { data: 1, deletes: 0 }, trimmed), policy, NOW).expirableSnapshots, 0);
    // 100 snapshots, newest now: 100 - 61 of them are older than one hour (one a minute)
    assert.equal(tableHealth('t', metadata(100, { data: 1, deletes: 0 }, trimmed), policy, NOW).expirableSnapshots, 39);
  });

  test('expiry alone waits for max_expirable_snapshots; it rides along with a rewrite; `maintain` expires any', () => {
    // 100 snapshots a minute apart, newest now: 39 past the hour
    const few = tableHealth('t', metadata(100, { data: 1, deletes: 0 }, trimmed), policy, NOW);
    assert.equal(planTable(few, policy, 'threshold', NOW).expire, false);
    assert.equal(planTable(few, policy, 'full', NOW).expire, true);
    const many = tableHealth('t', metadata(111, { data: 1, deletes: 0 }, trimmed), policy, NOW);
    assert.equal(many.expirableSnapshots, 50);
    assert.equal(planTable(many, policy, 'threshold', NOW).expire, true);
    const rewriting = planTable(tableHealth('t', metadata(100, { data: 5, deletes: 32 }, trimmed), policy, NOW), policy, 'threshold', NOW);
    assert.deepEqual([rewriting.rewrite, rewriting.expire], [true, true]);
    // the run table gains one snapshot per recorded cycle: recording never makes it due at once
    const runs = tableHealth('_maintenance_runs', metadata(100, { data: 3, deletes: 0 }, trimmed), { ...policy, retain_last: 5, retain_for: 0 }, NOW);
    assert.equal(planTable(runs, { ...policy, retain_last: 5, retain_for: 0 }, 'threshold', NOW).expire, true);
    const justExpired = tableHealth('_maintenance_runs', metadata(6, { data: 3, deletes: 0 }, trimmed), { ...policy, retain_last: 5, retain_for: 0 }, NOW);
    assert.equal(planTable(justExpired, { ...policy, retain_last: 5, retain_for: 0 }, 'threshold', NOW).expire, false);
  });

  test('the orphan scan never starts the engine by itself in the consumer; `maintain` always does it', () => {
    const health = tableHealth('t', metadata(3, { data: 1, deletes: 0 }, trimmed), policy, NOW);
    assert.equal(health.lastOrphanScanMs, null);
    assert.equal(planTable(health, policy, 'threshold', NOW).removeOrphans, false);
    const full = planTable(health, policy, 'full', NOW);
    assert.equal(full.removeOrphans, true);
    assert.equal(full.rewrite, false, 'one data file and no deletes: nothing to rewrite even in full mode');
  });

  test('full mode rewrites any delete file; untrimmed metadata is planned', () => {
    const plan = planTable(tableHealth('t', metadata(3, { data: 1, deletes: 1 }), policy, NOW), policy, 'full', NOW);
    assert.equal(plan.rewrite, true);
    assert.equal(plan.trimMetadata, true);
    assert.match(plan.reasons.join('; '), /keep 20 metadata.json versions/);
  });

  test('a table with a time column is never handed to Spark for a rewrite (it cannot read the type); expiry still runs', () => {
    const meta = { ...metadata(120, { data: 40, deletes: 40 }, trimmed), columns: [{ name: 'id', type: 'long' }, { name: 'opens', type: 'time' }] };
    const plan = planTable(tableHealth('t', meta, policy, NOW), policy, 'threshold', NOW);
    assert.equal(plan.rewrite, false);
    assert.equal(plan.expire, true);
    assert.match(plan.reasons.join('; '), /cannot read Iceberg time columns \(opens\)/);
  });

  test('files deleted: expiry counts and orphans', () => {
    assert.equal(filesDeleted({
      table: 't', durationsMs: {},
      actions: { expire_snapshots: { deleted_data_files_count: 3, deleted_manifest_files_count: 2, deleted_manifest_lists_count: 4 }, remove_orphan_files: { orphan_files: 1 } },
    }), 10);
  });
});
