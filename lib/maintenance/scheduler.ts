/**
 * Automatic maintenance inside the CDC consumer. Every `check_interval` it plans from metadata (catalog
 * reads only, while CDC goes on). When a table needs the engine, the engine starts and loads the
 * tables in the background; then each table's rewrite runs as its own task between two micro-batches
 * (the consumer holds still for that table's rewrite alone: CDC commits would add deletes to the files
 * being replaced), and expiry and orphan removal run last, beside CDC, since Iceberg commits them
 * safely next to appends. Nothing is lost or applied twice; a commit that loses a race is rescheduled.
 */
import type { MaintenanceConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { MaintenanceEngine } from './engine.js';
import type { TableMaintainer } from './maintainer.js';
import type { MaintenanceMetrics } from './metrics.js';
import { needsEngine, splitPlan, type TablePlan } from './policy.js';

/** The first check comes soon after start: a consumer restarted often must still get its tables maintained. */
const FIRST_CHECK_MS = 30_000;

type State = 'idle' | 'preparing' | 'ready' | 'rewriting' | 'finishing';

export class MaintenanceScheduler {
  private state: State = 'idle';
  private nextCheckAt: number;
  private engine: MaintenanceEngine | undefined;
  private closed = false;
  /** Tables whose rewrite waits for a gap between micro-batches. */
  private rewrites: TablePlan[] = [];
  /** Expiry, orphans and metadata trimming, done after the rewrites, beside CDC. */
  private concurrent: TablePlan[] = [];
  private cycleStarted = 0;

  constructor(
    private readonly maintainer: Pick<TableMaintainer, 'plan' | 'execute' | 'namespace'>,
    private readonly policy: MaintenanceConfig,
    private readonly newEngine: () => MaintenanceEngine,
    private readonly log: Logger,
    private readonly metrics: MaintenanceMetrics,
    now = Date.now(),
  ) {
    this.nextCheckAt = now + Math.min(FIRST_CHECK_MS, policy.check_interval);
  }

  /**
   * Called by the consumer whenever no micro-batch is in flight. Returns one table's rewrite to run
   * before the next micro-batch, or undefined (planning, engine start and expiry go on in the background).
   */
  poll(now = Date.now()): (() => Promise<void>) | undefined {
    if (this.closed || !this.policy.enabled) return undefined;
    if (this.state === 'idle' && now >= this.nextCheckAt) {
      this.state = 'preparing';
      void this.prepare();
    }
    if (this.state !== 'ready') return undefined;
    const next = this.rewrites.shift();
    if (!next) {
      this.state = 'finishing';
      void this.finishCycle();
      return undefined;
    }
    this.state = 'rewriting';
    return () => this.rewrite(next);
  }

  private async prepare(): Promise<void> {
    try {
      const plans = await this.maintainer.plan('threshold');
      this.rewrites = plans.flatMap((p) => splitPlan(p).exclusive ?? []);
      this.concurrent = plans.flatMap((p) => splitPlan(p).concurrent ?? []);
      this.cycleStarted = Date.now();
      if (!plans.some(needsEngine)) {
        // metadata trimming alone is a catalog property: no engine
        if (this.concurrent.length > 0) await this.maintainer.execute(this.concurrent, idleEngine, 'auto');
        await this.endCycle();
        return;
      }
      const due = plans.filter(needsEngine).map((p) => p.table);
      this.log.info(`maintenance due for ${due.join(', ')}: starting the engine`);
      const t0 = Date.now();
      this.engine = this.newEngine();
      await this.engine.start(this.rewrites.map((p) => ({ namespace: this.maintainer.namespace, table: p.table })));
      this.metrics.seconds.observe({ phase: 'start' }, (Date.now() - t0) / 1000);
      if (!this.closed) this.state = 'ready';
    } catch (err) {
      this.log.warn(`maintenance could not start, trying again in ${Math.round(this.policy.check_interval / 1000)}s: ${errorMessage(err)}`);
      this.metrics.runs.inc({ table: '*', outcome: 'failed' });
      await this.endCycle();
    }
  }

  /** The consumer holds still while this runs. The plan is made again: the table moved on since. */
  private async rewrite(planned: TablePlan): Promise<void> {
    const t0 = Date.now();
    try {
      const fresh = (await this.maintainer.plan('threshold', [likeLiteral(planned.table)])).find((p) => p.table === planned.table);
      const exclusive = fresh ? splitPlan(fresh).exclusive : null;
      if (exclusive) await this.maintainer.execute([exclusive], this.engine!, 'auto');
    } catch (err) {
      this.log.warn(`maintenance of ${planned.table} failed, trying again later: ${errorMessage(err)}`, { table: planned.table });
      this.metrics.runs.inc({ table: planned.table, outcome: 'failed' });
    } finally {
      this.metrics.pausedSeconds.inc((Date.now() - t0) / 1000);
      if (this.state === 'rewriting') this.state = 'ready';
    }
  }

  private async finishCycle(): Promise<void> {
    try {
      // the same work with fresh before-counts: the rewrites changed the tables since
      const health = new Map((await this.maintainer.plan('threshold')).map((p) => [p.table, p.health]));
      const fresh = this.concurrent.map((p) => ({ ...p, health: health.get(p.table) ?? p.health }));
      if (fresh.length > 0) await this.maintainer.execute(fresh, this.engine!, 'auto');
      this.log.info(`maintenance: ${new Set([...this.concurrent.map((p) => p.table)]).size} tables in ${((Date.now() - this.cycleStarted) / 1000).toFixed(1)}s`);
    } catch (err) {
      this.log.warn(`maintenance (expiry, orphans) failed, trying again in ${Math.round(this.policy.check_interval / 1000)}s: ${errorMessage(err)}`);
      this.metrics.runs.inc({ table: '*', outcome: 'failed' });
    } finally {
      await this.endCycle();
    }
  }

  private async endCycle(): Promise<void> {
    const engine = this.engine;
    this.engine = undefined;
    this.rewrites = [];
    this.concurrent = [];
    await engine?.close().catch(() => undefined);
    this.nextCheckAt = Date.now() + this.policy.check_interval;
    this.state = 'idle';
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.engine?.close().catch(() => undefined);
  }
}

const idleEngine: MaintenanceEngine = { name: 'none', start: async () => undefined, run: async () => [], close: async () => undefined };

/** A table name as a LIKE pattern that matches only itself. */
function likeLiteral(name: string): string {
  return name.replace(/[\\%_]/g, '\\$&');
}
