/** The consumer's maintenance scheduler: when it plans, what it hands the consumer, and in which order. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { maintenanceSchema } from '../../lib/config/schema.js';
import type { EngineTableRequest, MaintenanceEngine } from '../../lib/maintenance/engine.js';
import type { TableMaintainer, TableMaintenanceReport } from '../../lib/maintenance/maintainer.js';
import { MaintenanceMetrics } from '../../lib/maintenance/metrics.js';
import { planTable, tableHealth, type MaintenanceMode, type TablePlan } from '../../lib/maintenance/policy.js';
import { MaintenanceScheduler } from '../../lib/maintenance/scheduler.js';
import { logger } from '../../lib/log/logger.js';

const policy = maintenanceSchema.parse({ check_interval: '10s', max_delete_files: 2 });
const NOW = Date.UTC(2026, 11, 2);

/** A table with `deletes` delete files and 30 one-minute-old-and-older snapshots. */
function plan(table: string, deletes: number): TablePlan {
  const snapshots = Array.from({ length: 30 }, (_, i) => ({ id: String(i), timestampMs: NOW - (30 - i) * 3_600_000, operation: 'append', summary: (i === 29 ? { 'total-data-files': '3', 'total-delete-files': String(deletes) } : {}) as Record<string, string> }));
  const meta = { location: 'x', metadataLocation: 'x', formatVersion: 2, currentSnapshotId: '29', snapshots, previousMetadataFiles: 1, columns: [],
    properties: { 'write.metadata.delete-after-commit.enabled': 'true', 'write.metadata.previous-versions-max': '20' } };
  return planTable(tableHealth(table, meta, policy, NOW), policy, 'threshold', NOW);
}

class FakeMaintainer implements Pick<TableMaintainer, 'plan' | 'execute' | 'namespace'> {
  readonly namespace = 'ns';
  readonly executed: { tables: string[]; parts: string[] }[] = [];
  constructor(private readonly plans: TablePlan[]) {}
  async plan(_mode: MaintenanceMode, filters: string[] = []): Promise<TablePlan[]> {
    return filters.length === 0 ? this.plans : this.plans.filter((p) => filters.includes(p.table));
  }
  async execute(plans: TablePlan[], engine: MaintenanceEngine): Promise<TableMaintenanceReport[]> {
    await engine.run([]);
    this.executed.push({ tables: plans.map((p) => p.table), parts: plans.map((p) => [p.rewrite && 'rewrite', p.rewriteManifests && 'manifests', p.expire && 'expire', p.removeOrphans && 'orphans'].filter(Boolean).join('+')) });
    return [];
  }
}

class FakeEngine implements MaintenanceEngine {
  readonly name = 'fake';
  started: string[] | undefined;
  closed = false;
  async start(warm: { table: string }[] = []) { this.started = warm.map((w) => w.table); }
  async run(_t: EngineTableRequest[]) { return []; }
  async close() { this.closed = true; }
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('maintenance scheduler', () => {
  test('rewrites one table per gap between micro-batches, then manifests, expiry and orphans beside CDC', async () => {
    const maintainer = new FakeMaintainer([plan('a', 5), plan('b', 0), plan('c', 3)]);
    const engines: FakeEngine[] = [];
    const scheduler = new MaintenanceScheduler(maintainer, policy, () => { const e = new FakeEngine(); engines.push(e); return e; },
      logger, new MaintenanceMetrics(new Registry()), NOW - 60_000);
    assert.equal(scheduler.poll(NOW - 59_000), undefined, 'not before the first check');
    assert.equal(scheduler.poll(NOW), undefined, 'planning and engine start happen in the background');
    await tick();
    assert.deepEqual(engines[0]!.started, ['a', 'c'], 'the engine loads the tables to rewrite before any pause');
    const first = scheduler.poll(NOW)!;
    assert.equal(scheduler.poll(NOW), undefined, 'one rewrite at a time');
    await first();
    assert.deepEqual(maintainer.executed, [{ tables: ['a'], parts: ['rewrite'] }]);
    await scheduler.poll(NOW)!();
    assert.deepEqual(maintainer.executed.at(-1), { tables: ['c'], parts: ['rewrite'] });
    assert.equal(scheduler.poll(NOW), undefined, 'the rest is not the consumer\'s to wait for');
    await tick();
    assert.deepEqual(maintainer.executed.at(-1), { tables: ['a', 'b', 'c'], parts: ['manifests+expire+orphans', 'expire+orphans', 'manifests+expire+orphans'] });
    assert.equal(engines[0]!.closed, true, 'the engine stops after the cycle');
    assert.equal(scheduler.poll(Date.now() + 1000), undefined, 'the next check waits check_interval');
  });

  test('nothing due: no engine at all', async () => {
    const quiet = planTable(tableHealth('q', { location: 'x', metadataLocation: 'x', formatVersion: 2, currentSnapshotId: null, snapshots: [], previousMetadataFiles: 0, columns: [],
      properties: { 'write.metadata.delete-after-commit.enabled': 'true', 'write.metadata.previous-versions-max': '20' } }, policy, NOW), policy, 'threshold', NOW);
    let engines = 0;
    const scheduler = new MaintenanceScheduler(new FakeMaintainer([quiet]), policy, () => { engines++; return new FakeEngine(); }, logger, new MaintenanceMetrics(new Registry()), NOW - 60_000);
    scheduler.poll(NOW);
    await tick();
    assert.equal(scheduler.poll(NOW), undefined);
    assert.equal(engines, 0);
  });

  test('disabled: never plans', async () => {
    const off = maintenanceSchema.parse({ enabled: false });
    const maintainer = new FakeMaintainer([plan('a', 50)]);
    const scheduler = new MaintenanceScheduler(maintainer, off, () => new FakeEngine(), logger, new MaintenanceMetrics(new Registry()), 0);
    assert.equal(scheduler.poll(Date.now()), undefined);
    await tick();
    assert.equal(maintainer.executed.length, 0);
  });
});
