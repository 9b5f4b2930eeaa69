/**
 * Automatic maintenance inside the CDC consumer. Every `check_interval`, and sooner once enough
 * micro-batches committed for a table to cross a threshold, it plans from metadata (catalog reads only,
 * while CDC goes on). When a table needs the engine, the engine starts (or is still up from the last
 * cycle) and loads the tables in the background; then each table's work (rewrite, manifests, expiry,
 * orphans, metadata properties) runs as its own task between two micro-batches, the consumer holding
 * still for that table alone.
 *
 * Every maintenance commit waits for a gap because a catalog need not make a multi-table commit atomic
 * under concurrency: Apache Iceberg's reference REST server applies a transaction table by table, and
 * when another commit lands on one of them meanwhile it drops that table's change and reports success
 * (CatalogHandlers.commitTransaction; seen here as a lost micro-batch while `_cdc_status` moved on).
 * So nothing commits to a table while a micro-batch is in flight. Nothing is lost or applied twice; a
 * commit that loses a race (with a `lakeloader maintain` elsewhere) is rescheduled.
 */
import type { MaintenanceConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { MaintenanceEngine } from './engine.js';
import type { TableMaintainer } from './maintainer.js';
import type { MaintenanceMetrics } from './metrics.js';
import { needsEngine, type TablePlan } from './policy.js';

/** The first check comes soon after start: a consumer restarted often must still get its tables maintained. */
const FIRST_CHECK_MS = 30_000;
/** Commit-driven checks come no sooner than this after the previous cycle (planning reads every table's metadata). */
const MIN_CHECK_GAP_MS = 5_000;

type State = 'idle' | 'preparing' | 'ready' | 'working';

export class MaintenanceScheduler {
  private state: State = 'idle';
  private nextCheckAt: number;
  private engine: MaintenanceEngine | undefined;
  private closed = false;
  /** Tables whose work waits for a gap between micro-batches, in order: rewrites first. */
  private queue: TablePlan[] = [];
  private cycleStarted = 0;
  private cycleTables = 0;
  private cycleEnded = 0;
  private commitsSinceCheck = 0;
  /** Commits after which the next check comes, learnt from how fast delete files grew (see learnPace). */
  private commitsPerCheck: number;
  private lastDeleteFiles = new Map<string, number>();
  /** When the kept engine was last used; it is closed after spark.keep_alive without work. */
  private engineIdleSince = 0;
  private engineUsed = false;

  constructor(
    private readonly maintainer: Pick<TableMaintainer, 'plan' | 'execute' | 'namespace'>,
    private readonly policy: MaintenanceConfig,
    private readonly newEngine: () => MaintenanceEngine,
    private readonly log: Logger,
    private readonly metrics: MaintenanceMetrics,
    now = Date.now(),
  ) {
    this.nextCheckAt = now + Math.min(FIRST_CHECK_MS, policy.check_interval);
    this.commitsPerCheck = Math.min(policy.max_delete_files, policy.max_new_data_files);
  }

  /**
   * Called by the consumer whenever no micro-batch is in flight. Returns one table's work to run
   * before the next micro-batch, or undefined (planning and engine start go on in the background).
   */
  poll(now = Date.now()): (() => Promise<void>) | undefined {
    if (this.closed || !this.policy.enabled) return undefined;
    if (this.state === 'idle' && this.engine && now - this.engineIdleSince >= this.policy.spark.keep_alive) void this.dropEngine();
    if (this.state === 'idle' && this.checkDue(now)) {
      this.state = 'preparing';
      const commits = this.commitsSinceCheck;
      this.commitsSinceCheck = 0;
      void this.prepare(commits);
    }
    if (this.state !== 'ready') return undefined;
    const next = this.queue.shift();
    if (!next) {
      this.log.info(`maintenance: ${this.cycleTables} tables in ${((Date.now() - this.cycleStarted) / 1000).toFixed(1)}s`);
      void this.endCycle();
      return undefined;
    }
    this.state = 'working';
    return () => this.work(next);
  }

  /** Called by the consumer after each micro-batch's commit. */
  noteCommit(): void {
    this.commitsSinceCheck++;
  }

  private checkDue(now: number): boolean {
    if (now >= this.nextCheckAt) return true;
    return this.commitsSinceCheck >= this.commitsPerCheck && now - this.cycleEnded >= MIN_CHECK_GAP_MS;
  }

  /**
   * A micro-batch adds a data file to each table it touches, and DuckDB a delete file per data file it
   * deletes from, so a table can gain several delete files per commit. From the growth since the last
   * check, the next one comes after as many commits as the fastest-growing table needs to reach
   * max_delete_files again (never more than the data-file threshold allows).
   */
  private learnPace(plans: TablePlan[], commits: number): void {
    let fastest = 0;
    for (const p of plans) {
      const before = this.lastDeleteFiles.get(p.table);
      if (before !== undefined && commits > 0) fastest = Math.max(fastest, (p.health.deleteFiles - before) / commits);
      this.lastDeleteFiles.set(p.table, p.health.deleteFiles);
    }
    const byFiles = Math.min(this.policy.max_delete_files, this.policy.max_new_data_files);
    this.commitsPerCheck = fastest > 1 ? Math.max(1, Math.min(byFiles, Math.floor(this.policy.max_delete_files / fastest))) : byFiles;
  }

  private async prepare(commits: number): Promise<void> {
    try {
      const all = await this.maintainer.plan('threshold');
      this.learnPace(all, commits);
      const plans = all.filter((p) => needsEngine(p) || p.trimMetadata);
      // rewrites first: the expiry of a later table then also lets go of what they replaced sooner
      this.queue = [...plans.filter((p) => p.rewrite), ...plans.filter((p) => !p.rewrite)];
      this.cycleStarted = Date.now();
      this.cycleTables = plans.length;
      if (plans.length === 0) {
        await this.endCycle();
        return;
      }
      const due = plans.filter(needsEngine);
      if (due.length > 0) {
        this.log.info(`maintenance due for ${due.map((p) => p.table).join(', ')}: ${this.engine?.alive ? 'the engine is up' : 'starting the engine'}`);
        const t0 = Date.now();
        if (this.engine && !this.engine.alive) await this.dropEngine();
        this.engine ??= this.newEngine();
        this.engineUsed = true;
        await this.engine.start(due.filter((p) => p.rewrite).map((p) => ({ namespace: this.maintainer.namespace, table: p.table })));
        this.metrics.seconds.observe({ phase: 'start' }, (Date.now() - t0) / 1000);
      }
      if (!this.closed) this.state = 'ready';
    } catch (err) {
      this.log.warn(`maintenance could not start, trying again in ${Math.round(this.policy.check_interval / 1000)}s: ${errorMessage(err)}`);
      this.metrics.runs.inc({ table: '*', outcome: 'failed' });
      await this.endCycle();
    }
  }

  /** The consumer holds still while this runs. The plan is made again: the table moved on since. */
  private async work(planned: TablePlan): Promise<void> {
    const t0 = Date.now();
    try {
      const fresh = (await this.maintainer.plan('threshold', [likeLiteral(planned.table)])).find((p) => p.table === planned.table);
      if (fresh && (needsEngine(fresh) || fresh.trimMetadata)) {
        const reports = await this.maintainer.execute([fresh], needsEngine(fresh) && this.engine ? this.engine : idleEngine, 'auto');
        // the pace is learnt from what the table gains after its rewrite
        for (const r of reports) if (r.after) this.lastDeleteFiles.set(r.table, r.after.deleteFiles);
      }
    } catch (err) {
      this.log.warn(`maintenance of ${planned.table} failed, trying again later: ${errorMessage(err)}`, { table: planned.table });
      this.metrics.runs.inc({ table: planned.table, outcome: 'failed' });
    } finally {
      this.metrics.pausedSeconds.inc((Date.now() - t0) / 1000);
      if (this.state === 'working') this.state = 'ready';
    }
  }

  private async endCycle(): Promise<void> {
    this.queue = [];
    // kept for the next cycle unless it failed or keeping is off; poll() lets it go after keep_alive
    if (this.engine && (!this.engine.alive || this.policy.spark.keep_alive === 0)) await this.dropEngine();
    if (this.engineUsed) this.engineIdleSince = Date.now();
    this.engineUsed = false;
    this.cycleEnded = Date.now();
    this.nextCheckAt = this.cycleEnded + this.policy.check_interval;
    this.state = 'idle';
  }

  private async dropEngine(): Promise<void> {
    const engine = this.engine;
    this.engine = undefined;
    await engine?.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.engine?.close().catch(() => undefined);
  }
}

/** For work without the engine (metadata properties only): a catalog call. */
const idleEngine: MaintenanceEngine = { name: 'none', alive: true, start: async () => undefined, run: async () => [], close: async () => undefined };

/** A table name as a LIKE pattern that matches only itself. */
function likeLiteral(name: string): string {
  return name.replace(/[\\%_]/g, '\\$&');
}
