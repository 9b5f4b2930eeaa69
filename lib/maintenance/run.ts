/** One maintenance pass over a source's namespace: `lakeloader maintain` (a CronJob) and the end of a bulk load. */
import type { LakeloaderConfig } from '../config/load.js';
import { getSource, sourceNamespace } from '../config/load.js';
import { RestCatalogClient } from '../lakehouse/rest-catalog.js';
import { Lakehouse } from '../lakehouse/session.js';
import type { SourceConfig } from '../config/schema.js';
import { errorMessage, JobError } from '../errors.js';
import { logger, type Logger } from '../log/logger.js';
import { CDC_STATUS_TABLE, CdcStatusStore } from '../state/cdc-status.js';
import { cdcGroupId, groupMembers } from '../validate/kafka-lag.js';
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
  /** What to do when the source's CDC consumer is running: refuse (an error), or skip quietly (after a bulk load). */
  whileConsumerRuns: 'refuse' | 'skip';
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
  // before any catalog or DuckDB work: a refusal costs one Kafka call
  const running = options.dryRun || config.lakehouse.catalog.atomic_multi_table_commits ? null : await runningConsumer(config, options.source, source, log);
  if (running) {
    const why = `the CDC consumer of source ${options.source} is running (${running}). A maintenance commit beside it can make the catalog drop ` +
      'a micro-batch of the consumer: Apache Iceberg\'s reference REST server, for one, does not apply a multi-table commit atomically when ' +
      'another writer commits to one of its tables meanwhile. The running consumer maintains its tables itself between micro-batches ' +
      `(sources.yaml:sources.${options.source}.maintenance.enabled: true, the default); otherwise stop it first, or set ` +
      'lakehouse.yaml catalog.atomic_multi_table_commits: true if your catalog guarantees such commits';
    if (options.whileConsumerRuns === 'refuse') throw new JobError(`maintain: ${why}`);
    log.info(`maintenance after the load left to the consumer: ${running}`);
    return { source: options.source, namespace, dry_run: false, plans: [], reports: [], exit_code: 0 };
  }
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

/** "group G, N member(s)" when the source's CDC consumer group has members; null when none (or no Kafka). */
async function runningConsumer(config: LakeloaderConfig, sourceName: string, source: SourceConfig, log: Logger): Promise<string | null> {
  if (!source.kafka) return null;
  const cluster = config.kafkaClusters[source.kafka.cluster];
  if (!cluster) return null;
  const group = cdcGroupId(sourceName, source);
  try {
    const members = await groupMembers(source.kafka.cluster, cluster, group);
    return members > 0 ? `Kafka consumer group ${group} has ${members} member(s); a killed consumer stays one until its session times out` : null;
  } catch (err) {
    // no Kafka, no consumer committing
    log.warn(`maintain: cannot tell whether the CDC consumer runs (${errorMessage(err)}); going on`);
    return null;
  }
}
