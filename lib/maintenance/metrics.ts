/** Prometheus metrics of maintenance runs, registered beside the consumer's own. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class MaintenanceMetrics {
  readonly runs: Counter<'table' | 'outcome'>;
  readonly seconds: Histogram<'phase'>;
  readonly dataFiles: Gauge<'table'>;
  readonly deleteFiles: Gauge<'table'>;
  readonly snapshots: Gauge<'table'>;
  readonly filesDeleted: Counter<'table'>;
  readonly pausedSeconds: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.runs = new Counter({ name: 'lakeloader_maintenance_runs_total', help: 'Table maintenance runs by outcome (ok, failed)', labelNames: ['table', 'outcome'], registers });
    this.seconds = new Histogram({
      name: 'lakeloader_maintenance_duration_seconds', help: 'Maintenance time: engine start, and the work itself (the consumer holds still during work)',
      labelNames: ['phase'], buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 900], registers,
    });
    this.dataFiles = new Gauge({ name: 'lakeloader_table_data_files', help: 'Live data files per table (after the latest maintenance check)', labelNames: ['table'], registers });
    this.deleteFiles = new Gauge({ name: 'lakeloader_table_delete_files', help: 'Live delete files per table (DuckDB reads each at every scan)', labelNames: ['table'], registers });
    this.snapshots = new Gauge({ name: 'lakeloader_table_snapshots', help: 'Snapshots per table', labelNames: ['table'], registers });
    this.filesDeleted = new Counter({ name: 'lakeloader_maintenance_files_deleted_total', help: 'Files deleted by snapshot expiry and orphan removal', labelNames: ['table'], registers });
    this.pausedSeconds = new Counter({ name: 'lakeloader_maintenance_consumer_paused_seconds_total', help: 'Seconds the consumer held still for maintenance', registers });
  }
}
