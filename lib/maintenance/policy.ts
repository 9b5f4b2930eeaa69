/**
 * What a table needs, decided from its Iceberg metadata alone (no file listing): rewrite its data
 * files (retiring the delete files DuckDB piles up), expire snapshots, remove orphan files. Pure, so
 * the thresholds are unit-tested; the engine does the work.
 */
import type { MaintenanceConfig } from '../config/schema.js';
import type { TableMetadataInfo } from '../lakehouse/rest-catalog.js';

/** Table properties lakeloader keeps its maintenance bookkeeping in (they survive snapshot expiry). */
export const MAINTENANCE_PROPERTIES = {
  dataFilesAfterRewrite: 'lakeloader.maintenance.data-files-after-rewrite',
  lastRewriteMs: 'lakeloader.maintenance.last-rewrite-ms',
  lastOrphanScanMs: 'lakeloader.maintenance.last-orphan-scan-ms',
} as const;

/** The catalog deletes metadata.json files beyond the newest N at each commit (Iceberg's own properties). */
export function metadataTrimProperties(policy: MaintenanceConfig): Record<string, string> {
  return { 'write.metadata.delete-after-commit.enabled': 'true', 'write.metadata.previous-versions-max': String(policy.metadata_versions) };
}

export interface TableHealth {
  table: string;
  dataFiles: number;
  deleteFiles: number;
  positionDeletes: number;
  records: number;
  snapshots: number;
  /** Snapshots the retention policy lets go: older than retain_for and not among the newest retain_last. */
  expirableSnapshots: number;
  /** Data files added since the last rewrite (each micro-batch adds one per table it touches). */
  newDataFiles: number;
  previousMetadataFiles: number;
  lastOrphanScanMs: number | null;
  metadataTrimmed: boolean;
  /** Columns the engine cannot read, so it cannot rewrite the table's data files (Spark 3.5: Iceberg `time`). */
  unreadableColumns: string[];
}

const count = (value: string | undefined) => (value === undefined ? 0 : Number(value) || 0);

export function tableHealth(table: string, meta: TableMetadataInfo, policy: MaintenanceConfig, now: number): TableHealth {
  const current = meta.snapshots.find((s) => s.id === meta.currentSnapshotId) ?? meta.snapshots.at(-1);
  const summary = current?.summary ?? {};
  const dataFiles = count(summary['total-data-files']);
  const newestFirst = [...meta.snapshots].sort((a, b) => b.timestampMs - a.timestampMs);
  const expirable = newestFirst.slice(policy.retain_last)
    .filter((s) => s.id !== meta.currentSnapshotId && s.timestampMs < now - policy.retain_for).length;
  const baseline = meta.properties[MAINTENANCE_PROPERTIES.dataFilesAfterRewrite];
  const trim = metadataTrimProperties(policy);
  const lastOrphanScan = meta.properties[MAINTENANCE_PROPERTIES.lastOrphanScanMs];
  return {
    table,
    dataFiles,
    deleteFiles: count(summary['total-delete-files']),
    positionDeletes: count(summary['total-position-deletes']),
    records: count(summary['total-records']),
    snapshots: meta.snapshots.length,
    expirableSnapshots: expirable,
    newDataFiles: Math.max(0, dataFiles - (baseline === undefined ? 0 : count(baseline))),
    previousMetadataFiles: meta.previousMetadataFiles,
    lastOrphanScanMs: lastOrphanScan === undefined ? null : count(lastOrphanScan),
    metadataTrimmed: Object.entries(trim).every(([k, v]) => meta.properties[k] === v),
    unreadableColumns: meta.columns.filter((c) => /(^|")time("|$)/.test(c.type)).map((c) => c.name),
  };
}

/**
 * `threshold`: what the CDC consumer does between micro-batches — only what crossed a threshold.
 * `full`: what `lakeloader maintain` does — everything there is to do.
 */
export type MaintenanceMode = 'threshold' | 'full';

export interface TablePlan {
  table: string;
  rewrite: boolean;
  /** Rewrite the manifests (DuckDB adds one per commit and reads them all): after a rewrite. */
  rewriteManifests: boolean;
  expire: boolean;
  removeOrphans: boolean;
  /** Set the metadata-trimming properties (they take effect at the table's next commit). */
  trimMetadata: boolean;
  /** Why, per action, in words a user can act on. */
  reasons: string[];
  health: TableHealth;
}

export function planTable(health: TableHealth, policy: MaintenanceConfig, mode: MaintenanceMode, now: number): TablePlan {
  const reasons: string[] = [];
  const full = mode === 'full';
  let rewrite = false;
  if (health.deleteFiles >= (full ? 1 : policy.max_delete_files)) {
    rewrite = true;
    reasons.push(`${health.deleteFiles} delete files (${full ? 'any' : `threshold ${policy.max_delete_files}`}) over ${health.dataFiles} data files`);
  }
  if (health.newDataFiles >= (full ? 2 : policy.max_new_data_files)) {
    rewrite = true;
    reasons.push(`${health.newDataFiles} data files added since the last rewrite (${full ? 'more than one' : `threshold ${policy.max_new_data_files}`})`);
  }
  if (rewrite && health.unreadableColumns.length > 0) {
    rewrite = false;
    reasons.push(`its data files are not rewritten: Spark 3.5 cannot read Iceberg time columns (${health.unreadableColumns.join(', ')}); ` +
      'map them to text (column_types: {<schema.table.column>: string}) and reload the table to have it compacted');
  }
  // alone, expiry waits for a batch of snapshots; it rides along with a rewrite (the engine runs anyway)
  const expire = health.expirableSnapshots > 0 && (full || rewrite || health.expirableSnapshots >= policy.max_expirable_snapshots);
  if (expire) reasons.push(`${health.expirableSnapshots} of ${health.snapshots} snapshots are older than the retention (newest ${policy.retain_last}, ${formatDuration(policy.retain_for)})`);
  // orphans come from commits that failed: the scan (a listing of the table's files) rides along with
  // other work in the consumer, never starting the engine on its own
  const scanDue = health.lastOrphanScanMs === null || now - health.lastOrphanScanMs >= policy.orphan_interval;
  const removeOrphans = full || (scanDue && (rewrite || expire));
  if (removeOrphans) reasons.push(health.lastOrphanScanMs === null ? 'never scanned for orphan files' : `last orphan scan ${formatDuration(now - health.lastOrphanScanMs)} ago`);
  const trimMetadata = !health.metadataTrimmed;
  if (trimMetadata) reasons.push(`keep ${policy.metadata_versions} metadata.json versions (${health.previousMetadataFiles} kept now)`);
  return { table: health.table, rewrite, rewriteManifests: rewrite, expire, removeOrphans, trimMetadata, reasons, health };
}

/** Whether a plan has engine work (metadata trimming alone is a catalog call). */
export function needsEngine(plan: TablePlan): boolean {
  return plan.rewrite || plan.rewriteManifests || plan.expire || plan.removeOrphans;
}

export function formatDuration(millis: number): string {
  const s = Math.round(millis / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}
