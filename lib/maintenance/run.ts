/** One maintenance pass over a source's namespace: `lakeloader maintain` (a CronJob) and the end of a bulk load. */
import type { LakeloaderConfig } from '../config/load.js';
import { getSource, sourceNamespace } from '../config/load.js';
import { RestCatalogClient } from '../lakehouse/rest-catalog.js';
import { Lakehouse } from '../lakehouse/session.js';
import { logger } from '../log/logger.js';
import { CDC_STATUS_TABLE, CdcStatusStore } from '../state/cdc-status.js';
import { TableMaintainer, type MaintenanceTrigger, type TableMaintenanceReport } from './maintainer.js';
import { needsEngine, type MaintenanceMode, type TablePlan } from './policy.js';
import { SparkEngine } from './spark-engine.js';

export interface MaintainOptions {
  source: string;
  tableFilters: string[];
  dryRun: boolean;
  /** `full` for `lakeloader maintain`; `threshold` after a bulk load. */
  mode: MaintenanceMode;
  trigger: MaintenanceTrigger;
}

export interface MaintainReport {
  source: string;
  namespace: string;
  dry_run: boolean;
  plans: TablePlan[];
  reports: TableMaintenanceReport[];
  exit_code: number;
}

export async function runMaintain(config: LakeloaderConfig, options: MaintainOptions): Promise<MaintainReport> {
  const source = getSource(config, options.source);
  const namespace = sourceNamespace(options.source, source);
  const log = logger.child({ job: 'maintain', source: options.source });
  const rest = new RestCatalogClient(config.lakehouse);
  const lakehouse = await Lakehouse.open(config.lakehouse);
  try {
    const sourceNames = new Map<string, string>();
    if (await lakehouse.tableExists(namespace, CDC_STATUS_TABLE)) {
      for (const row of (await new CdcStatusStore(lakehouse, namespace).readAll()).values()) {
        if (row.iceberg_table) sourceNames.set(row.iceberg_table, row.table_name);
      }
    }
    const maintainer = new TableMaintainer({ rest, lakehouse: options.dryRun ? undefined : lakehouse, namespace, policy: source.maintenance, log, sourceNames });
    const plans = await maintainer.plan(options.mode, options.tableFilters);
    if (options.dryRun || plans.every((p) => !needsEngine(p) && !p.trimMetadata)) {
      return { source: options.source, namespace, dry_run: options.dryRun, plans, reports: [], exit_code: 0 };
    }
    const engine = new SparkEngine(config.lakehouse, source.maintenance.spark);
    try {
      const reports = await maintainer.execute(plans, engine, options.trigger);
      const failed = reports.some((r) => r.error !== null && !r.rescheduled);
      return { source: options.source, namespace, dry_run: false, plans, reports, exit_code: failed ? 1 : 0 };
    } finally {
      await engine.close();
    }
  } finally {
    lakehouse.close();
  }
}
