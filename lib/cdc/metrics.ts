/** Prometheus metrics and the /metrics, /health, /ready endpoints of the CDC consumer (prom-client). */
import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { logger } from '../log/logger.js';

export class CdcMetrics {
  readonly registry = new Registry();
  readonly consumed = new Counter({ name: 'lakeloader_cdc_events_consumed_total', help: 'Kafka messages consumed', labelNames: ['table', 'op'], registers: [this.registry] });
  readonly applied = new Counter({ name: 'lakeloader_cdc_events_applied_total', help: 'Change events applied to Iceberg', labelNames: ['table', 'op'], registers: [this.registry] });
  readonly skipped = new Counter({ name: 'lakeloader_cdc_events_skipped_total', help: 'Events skipped (already in the bulk load, tombstones, replays)', labelNames: ['table', 'reason'], registers: [this.registry] });
  readonly deadLettered = new Counter({ name: 'lakeloader_cdc_dead_letters_total', help: 'Events sent to _dead_letters', labelNames: ['table'], registers: [this.registry] });
  readonly schemaChanges = new Counter({ name: 'lakeloader_cdc_schema_changes_total', help: 'Schema changes detected', labelNames: ['table', 'change_type'], registers: [this.registry] });
  readonly commitRetries = new Counter({ name: 'lakeloader_cdc_commit_retries_total', help: 'Micro-batch commits retried', registers: [this.registry] });
  readonly batchSeconds = new Histogram({
    name: 'lakeloader_cdc_batch_duration_seconds', help: 'Micro-batch apply time (decode to Iceberg commit)',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60], registers: [this.registry],
  });
  readonly batchEvents = new Histogram({ name: 'lakeloader_cdc_batch_events', help: 'Events per micro-batch', buckets: [1, 10, 100, 1000, 5000, 10000, 50000, 100000], registers: [this.registry] });
  readonly lag = new Gauge({ name: 'lakeloader_cdc_consumer_lag', help: 'Messages behind the partition high watermark', labelNames: ['topic', 'partition'], registers: [this.registry] });
  readonly tablesBlocked = new Gauge({ name: 'lakeloader_cdc_table_blocked', help: '1 while a table is blocked by an apply error (its events kept in Kafka)', labelNames: ['table'], registers: [this.registry] });
  readonly lastAppliedLsn = new Gauge({ name: 'lakeloader_cdc_last_applied_lsn', help: 'Last applied WAL position per table (as a number)', labelNames: ['table'], registers: [this.registry] });
  ready = false;
  private server?: http.Server;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'lakeloader_' });
  }

  async listen(port: number): Promise<void> {
    if (port === 0) return;
    this.server = http.createServer((req, res) => {
      void (async () => {
        if (req.url === '/metrics') {
          res.writeHead(200, { 'content-type': this.registry.contentType });
          res.end(await this.registry.metrics());
        } else if (req.url === '/health') {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
        } else if (req.url === '/ready') {
          res.writeHead(this.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ready: this.ready }));
        } else {
          res.writeHead(404).end();
        }
      })();
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'EADDRINUSE' ? new Error(`metrics port ${port} is already in use (sources.yaml cdc.metrics_port or --metrics-port)`) : err));
      this.server!.listen(port, () => resolve());
    });
    logger.info(`metrics on http://0.0.0.0:${port}/metrics (also /health, /ready)`);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/**
 * Counter increments gathered over a micro-batch and added at its end: prom-client resolves labels on
 * every call, which costs more than the rest of an event's bookkeeping.
 */
export class CounterTally {
  private readonly counts = new Map<Counter<string>, Map<string, { labels: Record<string, string>; n: number }>>();

  add(counter: Counter<string>, labels: Record<string, string>, n = 1): void {
    let perCounter = this.counts.get(counter);
    if (!perCounter) this.counts.set(counter, (perCounter = new Map()));
    const key = Object.values(labels).join('\u0000');
    const entry = perCounter.get(key);
    if (entry) entry.n += n;
    else perCounter.set(key, { labels, n });
  }

  flush(): void {
    for (const [counter, entries] of this.counts) for (const { labels, n } of entries.values()) counter.inc(labels, n);
    this.counts.clear();
  }
}
