/**
 * Maintenance of one namespace's tables (a source's bronze tables, changelogs and state tables):
 * plan from metadata, let the engine work, then record what happened (`_maintenance_runs`, table
 * properties, metrics, log). Used by `lakeloader maintain`, by the CDC consumer between micro-batches
 * and after a bulk load.
 */
import { randomUUID } from 'node:crypto';
import type { MaintenanceConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { RestCatalogClient } from '../lakehouse/rest-catalog.js';
import type { Lakehouse } from '../lakehouse/session.js';
import type { Logger } from '../log/logger.js';
import { likeToRegExp } from '../bulk/patterns.js';
import { MAINTENANCE_RUNS_TABLE, MaintenanceRunStore, type MaintenanceRunRow } from '../state/maintenance-runs.js';
import type { EngineTableRequest, EngineTableResult, MaintenanceEngine } from './engine.js';
import type { MaintenanceMetrics } from './metrics.js';
import {
  MAINTENANCE_PROPERTIES, metadataTrimProperties, needsEngine, planTable, tableHealth,
  type MaintenanceMode, type TableHealth, type TablePlan,
} from './policy.js';

export type MaintenanceTrigger = 'auto' | 'manual' | 'bulk-load';

export interface TableMaintenanceReport {
  table: string;
  plan: TablePlan;
  /** Null in a dry run and for tables with nothing to do. */
  result: EngineTableResult | null;
  after: TableHealth | null;
  error: string | null;
  /** A conflicting commit (e.g. CDC's) won: the work is left for the next run, nothing is lost. */
  rescheduled: boolean;
}

export interface MaintainerContext {
  rest: RestCatalogClient;
  /** For `_maintenance_runs`; without it runs are only logged. */
  lakehouse?: Lakehouse;
  namespace: string;
  policy: MaintenanceConfig;
  log: Logger;
  metrics?: MaintenanceMetrics;
  /** Source table name of each Iceberg table, for --table-filter on either name. */
  sourceNames?: Map<string, string>;
}

/** Iceberg's message when another commit won the race (REST 409 / CommitFailedException / validation). */
const CONFLICT = /CommitFailedException|ValidationException|409|Conflict|Cannot commit|found new (position )?delete|concurrent/i;

export class TableMaintainer {
  private readonly runs: MaintenanceRunStore | undefined;

  constructor(private readonly ctx: MaintainerContext) {
    this.runs = ctx.lakehouse ? new MaintenanceRunStore(ctx.lakehouse, ctx.namespace) : undefined;
  }

  get namespace(): string {
    return this.ctx.namespace;
  }

  /** Plans every table of the namespace (matching the filters, if any). */
  async plan(mode: MaintenanceMode, tableFilters: string[] = [], now = Date.now()): Promise<TablePlan[]> {
    const patterns = tableFilters.map(likeToRegExp);
    const plans: TablePlan[] = [];
    for (const table of await this.ctx.rest.listTables(this.ctx.namespace)) {
      const source = this.ctx.sourceNames?.get(table);
      if (patterns.length > 0 && !patterns.some((p) => p.test(table) || (source !== undefined && p.test(source)))) continue;
      try {
        const health = tableHealth(table, await this.ctx.rest.tableMetadata(this.ctx.namespace, table), this.ctx.policy, now);
        this.ctx.metrics?.dataFiles.set({ table }, health.dataFiles);
        this.ctx.metrics?.deleteFiles.set({ table }, health.deleteFiles);
        this.ctx.metrics?.snapshots.set({ table }, health.snapshots);
        plans.push(planTable(health, this.ctx.policy, mode, now));
      } catch (err) {
        // a table dropped meanwhile, or one the catalog cannot load: the others go on
        this.ctx.log.warn(`maintenance: cannot read ${this.ctx.namespace}.${table}: ${errorMessage(err)}`, { table });
      }
    }
    return plans;
  }

  /** The engine's work for the plans that need it. */
  requests(plans: TablePlan[], now = Date.now()): EngineTableRequest[] {
    const p = this.ctx.policy;
    return plans.filter(needsEngine).map((plan) => ({
      namespace: this.ctx.namespace,
      table: plan.table,
      ...(plan.rewrite ? { rewrite: { targetFileSizeBytes: p.target_file_size_mb * 1024 * 1024 } } : {}),
      ...(plan.rewriteManifests ? { rewriteManifests: true } : {}),
      ...(plan.expire ? { expire: { olderThanMs: now - p.retain_for, retainLast: p.retain_last } } : {}),
      ...(plan.removeOrphans ? { removeOrphans: { olderThanMs: now - p.orphan_min_age } } : {}),
    }));
  }

  /**
   * Does the planned work. The caller decides when: the CDC consumer calls it between micro-batches
   * (with the engine already started), so no CDC commit races the rewrite.
   */
  async execute(plans: TablePlan[], engine: MaintenanceEngine, trigger: MaintenanceTrigger): Promise<TableMaintenanceReport[]> {
    const started = new Date();
    const runId = randomUUID();
    for (const plan of plans.filter((x) => x.trimMetadata)) {
      await this.ctx.rest.setProperties(this.ctx.namespace, plan.table, metadataTrimProperties(this.ctx.policy))
        .catch((err) => this.ctx.log.warn(`maintenance: cannot set metadata properties of ${plan.table}: ${errorMessage(err)}`, { table: plan.table }));
    }
    const requests = this.requests(plans, started.getTime());
    const results = new Map<string, EngineTableResult>();
    if (requests.length > 0) {
      const t0 = Date.now();
      for (const r of await engine.run(requests)) results.set(r.table, r);
      this.ctx.metrics?.seconds.observe({ phase: 'work' }, (Date.now() - t0) / 1000);
    }
    const reports: TableMaintenanceReport[] = [];
    for (const plan of plans) {
      const result = results.get(plan.table) ?? null;
      if (!result && !plan.trimMetadata) continue;
      const error = result?.error ?? null;
      const rescheduled = error !== null && CONFLICT.test(error);
      let after: TableHealth | null = null;
      try {
        after = tableHealth(plan.table, await this.ctx.rest.tableMetadata(this.ctx.namespace, plan.table), this.ctx.policy, Date.now());
        const props = bookkeeping(plan, result, after);
        if (Object.keys(props).length > 0) await this.ctx.rest.setProperties(this.ctx.namespace, plan.table, props);
      } catch (err) {
        this.ctx.log.warn(`maintenance: cannot read back ${plan.table}: ${errorMessage(err)}`, { table: plan.table });
      }
      reports.push({ table: plan.table, plan, result, after, error, rescheduled });
    }
    await this.record(runId, trigger, started, reports);
    return reports;
  }

  private async record(runId: string, trigger: MaintenanceTrigger, started: Date, reports: TableMaintenanceReport[]): Promise<void> {
    const finished = new Date().toISOString();
    const rows: MaintenanceRunRow[] = [];
    for (const r of reports) {
      const before = r.plan.health;
      const deleted = r.result ? filesDeleted(r.result) : 0;
      const outcome = r.error ? (r.rescheduled ? 'rescheduled' : 'failed') : 'ok';
      this.ctx.metrics?.runs.inc({ table: r.table, outcome });
      if (deleted > 0) this.ctx.metrics?.filesDeleted.inc({ table: r.table }, deleted);
      if (r.after) {
        this.ctx.metrics?.dataFiles.set({ table: r.table }, r.after.dataFiles);
        this.ctx.metrics?.deleteFiles.set({ table: r.table }, r.after.deleteFiles);
        this.ctx.metrics?.snapshots.set({ table: r.table }, r.after.snapshots);
      }
      const actions = actionNames(r.plan);
      const summary = `maintenance of ${r.table} (${actions.join(', ')}): data files ${before.dataFiles} → ${r.after?.dataFiles ?? '?'}, ` +
        `delete files ${before.deleteFiles} → ${r.after?.deleteFiles ?? '?'}, snapshots ${before.snapshots} → ${r.after?.snapshots ?? '?'}, ${deleted} files deleted`;
      if (r.error) this.ctx.log.warn(`${summary}: ${r.rescheduled ? 'a concurrent commit won, left for the next run' : 'failed'}: ${r.error}`, { table: r.table, trigger });
      else this.ctx.log.info(summary, { table: r.table, trigger, durations_ms: r.result?.durationsMs });
      rows.push({
        run_id: runId, table_name: r.table, trigger, started_at: started.toISOString(), finished_at: finished, actions: actions.join(','),
        reasons: r.plan.reasons.join('; '), data_files_before: before.dataFiles, data_files_after: r.after?.dataFiles ?? before.dataFiles,
        delete_files_before: before.deleteFiles, delete_files_after: r.after?.deleteFiles ?? before.deleteFiles,
        snapshots_before: before.snapshots, snapshots_after: r.after?.snapshots ?? before.snapshots, files_deleted: deleted,
        details: JSON.stringify({ actions: r.result?.actions ?? {}, durations_ms: r.result?.durationsMs ?? {} }), error: r.error,
      });
    }
    // the run table is itself maintained: its own row is written after its maintenance
    try {
      await this.runs?.ensure();
      await this.runs?.record(rows);
    } catch (err) {
      this.ctx.log.warn(`maintenance: cannot record the run in ${MAINTENANCE_RUNS_TABLE}: ${errorMessage(err)}`);
    }
  }
}

export function actionNames(plan: TablePlan): string[] {
  return [plan.rewrite && 'rewrite', plan.rewriteManifests && 'manifests', plan.expire && 'expire', plan.removeOrphans && 'orphans', plan.trimMetadata && 'trim_metadata']
    .filter((a): a is string => typeof a === 'string');
}

/** Files an engine run deleted: expired snapshots' data, delete, manifest and list files, and orphans. */
export function filesDeleted(result: EngineTableResult): number {
  let n = 0;
  for (const [key, value] of Object.entries(result.actions.expire_snapshots ?? {})) if (key.startsWith('deleted_')) n += value;
  n += result.actions.remove_orphan_files?.orphan_files ?? 0;
  return n;
}

/** The properties the next plan derives "since the last rewrite/scan" from. */
function bookkeeping(plan: TablePlan, result: EngineTableResult | null, after: TableHealth): Record<string, string> {
  const props: Record<string, string> = {};
  const now = String(Date.now());
  if (plan.rewrite && result && !result.error) {
    props[MAINTENANCE_PROPERTIES.dataFilesAfterRewrite] = String(after.dataFiles);
    props[MAINTENANCE_PROPERTIES.lastRewriteMs] = now;
  }
  if (plan.removeOrphans && result?.actions.remove_orphan_files) props[MAINTENANCE_PROPERTIES.lastOrphanScanMs] = now;
  return props;
}
