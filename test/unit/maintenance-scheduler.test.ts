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

const policy = maintenanceSchema.parse({ check_interval: '10s', max_delete_files: 2, max_expirable_snapshots: 5, spark: { keep_alive: 0 } });
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
  planned = 0;
  constructor(public plans: TablePlan[]) {}
  async plan(_mode: MaintenanceMode, filters: string[] = []): Promise<TablePlan[]> {
    this.planned++;
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
  alive = true;
  started: string[] | undefined;
  closed = false;
  async start(warm: { table: string }[] = []) { this.started = warm.map((w) => w.table); }
  async run(_t: EngineTableRequest[]) { return []; }
  async close() { this.closed = true; }
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('maintenance scheduler', () => {
  test('one table per gap between micro-batches, rewrites first, each with its manifests, expiry and orphans', async () => {
    const maintainer = new FakeMaintainer([plan('a', 5), plan('b', 0), plan('c', 3)]);
    const engines: FakeEngine[] = [];
    const scheduler = new MaintenanceScheduler(maintainer, policy, () => { const e = new FakeEngine(); engines.push(e); return e; },
      logger, new MaintenanceMetrics(new Registry()), NOW - 60_000);
    assert.equal(scheduler.poll(NOW - 59_000), undefined, 'not before the first check');
    assert.equal(scheduler.poll(NOW), undefined, 'planning and engine start happen in the background');
    await tick();
    assert.deepEqual(engines[0]!.started, ['a', 'c'], 'the engine loads the tables to rewrite before any pause');
    const first = scheduler.poll(NOW)!;
    assert.equal(scheduler.poll(NOW), undefined, 'one table at a time');
    await first();
    assert.deepEqual(maintainer.executed, [{ tables: ['a'], parts: ['rewrite+manifests+expire+orphans'] }]);
    await scheduler.poll(NOW)!();
    assert.deepEqual(maintainer.executed.at(-1), { tables: ['c'], parts: ['rewrite+manifests+expire+orphans'] });
    await scheduler.poll(NOW)!();
    assert.deepEqual(maintainer.executed.at(-1), { tables: ['b'], parts: ['expire+orphans'] }, 'no commit ever runs beside a micro-batch');
    assert.equal(scheduler.poll(NOW), undefined, 'the cycle is over');
    await tick();
    assert.equal(engines[0]!.closed, true, 'the engine stops after the cycle (keep_alive: 0)');
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

  test('the engine is kept between cycles for keep_alive, replaced when it died, then let go', async () => {
    const keep = maintenanceSchema.parse({ check_interval: '10s', max_delete_files: 2, spark: { keep_alive: '1m' } });
    const engines: FakeEngine[] = [];
    const maintainer = new FakeMaintainer([plan('a', 5)]);
    const scheduler = new MaintenanceScheduler(maintainer, keep, () => { const e = new FakeEngine(); engines.push(e); return e; },
      logger, new MaintenanceMetrics(new Registry()), NOW - 60_000);
    const cycle = async (at: number) => {
      scheduler.poll(at);
      await tick();
      await scheduler.poll(at)!();
      assert.equal(scheduler.poll(at), undefined);
      await tick();
    };
    await cycle(NOW);
    assert.equal(engines.length, 1);
    assert.equal(engines[0]!.closed, false, 'kept for the next cycle');
    await cycle(Date.now() + 11_000);
    assert.equal(engines.length, 1, 'the second cycle reuses it');
    engines[0]!.alive = false;
    await cycle(Date.now() + 22_000);
    assert.equal(engines.length, 2, 'a dead engine is replaced');
    assert.equal(engines[0]!.closed, true);
    maintainer.plans = [{ ...plan('a', 0), expire: false, removeOrphans: false }];
    scheduler.poll(Date.now() + 40_000); // a check with nothing due does not count as the engine's work
    await tick();
    assert.equal(engines[1]!.closed, false);
    scheduler.poll(Date.now() + 22_000 + 61_000);
    await tick();
    assert.equal(engines[1]!.closed, true, 'let go after keep_alive without work');
  });

  test('enough commits for a table to cross a threshold bring the check forward', async () => {
    const maintainer = new FakeMaintainer([plan('a', 5)]);
    const scheduler = new MaintenanceScheduler(maintainer, policy, () => new FakeEngine(), logger, new MaintenanceMetrics(new Registry()), NOW);
    const early = NOW + 6_000; // before the first check (check_interval 10 s)
    scheduler.noteCommit();
    assert.equal(scheduler.poll(early), undefined);
    await tick();
    assert.equal(maintainer.planned, 0, 'one commit: no check yet');
    scheduler.noteCommit(); // max_delete_files 2: two commits may have made two delete files
    scheduler.poll(early);
    await tick();
    assert.equal(maintainer.planned, 1);
    assert.ok(scheduler.poll(early), 'planned: a rewrite is handed to the consumer');
  });

  test('a table gaining several delete files per commit brings the next check forward accordingly', async () => {
    // below every threshold: each check plans and finds nothing to do
    const quiet = (deletes: number) => ({ ...plan('a', deletes), rewrite: false, rewriteManifests: false, expire: false, removeOrphans: false });
    const maintainer = new FakeMaintainer([quiet(0)]);
    const paced = maintenanceSchema.parse({ check_interval: '10m', max_delete_files: 32, spark: { keep_alive: 0 } });
    const scheduler = new MaintenanceScheduler(maintainer, paced, () => new FakeEngine(), logger, new MaintenanceMetrics(new Registry()), NOW);
    scheduler.poll(NOW + 30_000); // the first check
    await tick();
    maintainer.plans = [quiet(20)];
    for (let i = 0; i < 32; i++) scheduler.noteCommit();
    scheduler.poll(Date.now() + 10_000); // 32 commits: the default pace
    await tick();
    assert.equal(maintainer.planned, 2);
    // 20 delete files in 32 commits: 0.6 a commit, under one, so the pace stays at 32 commits
    for (let i = 0; i < 20; i++) scheduler.noteCommit();
    scheduler.poll(Date.now() + 20_000);
    await tick();
    assert.equal(maintainer.planned, 2);
    maintainer.plans = [quiet(20 + 40)];
    for (let i = 0; i < 12; i++) scheduler.noteCommit();
    scheduler.poll(Date.now() + 30_000); // 32 commits since the last check
    await tick();
    assert.equal(maintainer.planned, 3);
    // 40 delete files in 32 commits = 1.25 a commit: the next check after floor(32 / 1.25) = 25 commits
    for (let i = 0; i < 24; i++) scheduler.noteCommit();
    scheduler.poll(Date.now() + 40_000);
    await tick();
    assert.equal(maintainer.planned, 3, '24 commits: not yet');
    scheduler.noteCommit();
    scheduler.poll(Date.now() + 50_000);
    await tick();
    assert.equal(maintainer.planned, 4, '25 commits: checked');
  });
});
