/**
 * Automatic maintenance inside the CDC consumer. Every `check_interval` it plans from metadata (catalog
 * reads only, while CDC goes on); when a table needs the engine, it starts the engine in the background,
 * and only once the engine is ready does it hand the consumer a task to run between two micro-batches.
 * The consumer holds still for the work alone, so no CDC commit races a rewrite: nothing is lost or
 * applied twice, and a conflicting commit from elsewhere only reschedules the table.
 */
import type { MaintenanceConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { MaintenanceEngine } from './engine.js';
import type { TableMaintainer } from './maintainer.js';
import type { MaintenanceMetrics } from './metrics.js';
import { needsEngine } from './policy.js';

/** The first check comes soon after start: a consumer restarted often must still get its tables maintained. */
const FIRST_CHECK_MS = 30_000;

type State = 'idle' | 'planning' | 'starting' | 'ready' | 'running';

export class MaintenanceScheduler {
  private state: State = 'idle';
  private nextCheckAt: number;
  private engine: MaintenanceEngine | undefined;
  private closed = false;
  /** Runs so far (tests and `status` read them through the log and _maintenance_runs). */
  runs = 0;

  constructor(
    private readonly maintainer: TableMaintainer,
    private readonly policy: MaintenanceConfig,
    private readonly newEngine: () => MaintenanceEngine,
    private readonly log: Logger,
    private readonly metrics: MaintenanceMetrics,
    now = Date.now(),
  ) {
    this.nextCheckAt = now + Math.min(FIRST_CHECK_MS, policy.check_interval);
  }

  /**
   * Called often by the consumer. Returns the work to run between micro-batches once it is due and the
   * engine is ready; undefined otherwise (planning and engine start go on in the background).
   */
  poll(now = Date.now()): (() => Promise<void>) | undefined {
    if (this.closed || !this.policy.enabled) return undefined;
    if (this.state === 'idle' && now >= this.nextCheckAt) {
      this.state = 'planning';
      void this.prepare();
    }
    if (this.state !== 'ready') return undefined;
    this.state = 'running';
    return () => this.work();
  }

  /** Plans; starts the engine only when some table needs it. */
  private async prepare(): Promise<void> {
    try {
      const plans = await this.maintainer.plan('threshold');
      if (!plans.some(needsEngine)) {
        // metadata trimming is a catalog property: no engine, no pause
        if (plans.some((p) => p.trimMetadata)) await this.maintainer.execute(plans.filter((p) => p.trimMetadata), this.unusedEngine(), 'auto');
        await this.finish();
        return;
      }
      this.log.info(`maintenance due for ${plans.filter(needsEngine).map((p) => p.table).join(', ')}: starting the engine`);
      this.state = 'starting';
      const t0 = Date.now();
      this.engine = this.newEngine();
      await this.engine.start();
      this.metrics.seconds.observe({ phase: 'start' }, (Date.now() - t0) / 1000);
      if (this.closed) return;
      this.state = 'ready';
    } catch (err) {
      this.log.warn(`maintenance could not start, trying again in ${Math.round(this.policy.check_interval / 1000)}s: ${errorMessage(err)}`);
      this.metrics.runs.inc({ table: '*', outcome: 'failed' });
      await this.finish();
    }
  }

  /** The consumer holds still while this runs. Plans again: the tables moved on while the engine started. */
  private async work(): Promise<void> {
    const t0 = Date.now();
    try {
      const plans = (await this.maintainer.plan('threshold')).filter((p) => needsEngine(p) || p.trimMetadata);
      const reports = await this.maintainer.execute(plans, this.engine!, 'auto');
      this.runs++;
      const failed = reports.filter((r) => r.error && !r.rescheduled).length;
      this.log.info(`maintenance: ${reports.length} tables in ${((Date.now() - t0) / 1000).toFixed(1)}s with the consumer paused${failed ? `, ${failed} failed` : ''}`);
    } catch (err) {
      this.log.warn(`maintenance failed, trying again in ${Math.round(this.policy.check_interval / 1000)}s: ${errorMessage(err)}`);
      this.metrics.runs.inc({ table: '*', outcome: 'failed' });
    } finally {
      this.metrics.pausedSeconds.inc((Date.now() - t0) / 1000);
      await this.finish();
    }
  }

  private async finish(): Promise<void> {
    const engine = this.engine;
    this.engine = undefined;
    await engine?.close().catch(() => undefined);
    this.nextCheckAt = Date.now() + this.policy.check_interval;
    this.state = 'idle';
  }

  private unusedEngine(): MaintenanceEngine {
    return { name: 'none', start: async () => undefined, run: async () => [], close: async () => undefined };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.engine?.close().catch(() => undefined);
  }
}
