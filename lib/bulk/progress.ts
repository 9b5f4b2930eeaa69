/**
 * Load progress: per-table and total rows, rows/s and ETA. A live multi-bar (cli-progress) on a TTY,
 * a structured JSON log line every few seconds otherwise.
 */
import cliProgress from 'cli-progress';
import { logger } from '../log/logger.js';

interface TableProgress { rows: number; estimated: number; started: number; bar?: cliProgress.SingleBar }

export class LoadProgress {
  private readonly tables = new Map<string, TableProgress>();
  private readonly started = Date.now();
  private readonly multibar?: cliProgress.MultiBar;
  private readonly total?: cliProgress.SingleBar;
  private timer?: NodeJS.Timeout;

  constructor(private readonly estimatedTotal: number, interactive = Boolean(process.stderr.isTTY)) {
    if (interactive) {
      this.multibar = new cliProgress.MultiBar({
        format: '{name} |{bar}| {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}',
        hideCursor: true, clearOnComplete: false, stopOnComplete: false, etaBuffer: 50, stream: process.stderr,
      }, cliProgress.Presets.shades_classic);
      this.total = this.multibar.create(Math.max(1, estimatedTotal), 0, { name: 'TOTAL'.padEnd(32), rate: 0 });
    } else {
      this.timer = setInterval(() => this.logLine(), 5000).unref();
    }
  }

  startTable(name: string, estimated: number): void {
    const bar = this.multibar?.create(Math.max(1, estimated), 0, { name: name.slice(0, 32).padEnd(32), rate: 0 });
    this.tables.set(name, { rows: 0, estimated, started: Date.now(), ...(bar ? { bar } : {}) });
  }

  update(name: string, rows: number): void {
    const t = this.tables.get(name);
    if (!t) return;
    t.rows = rows;
    const rate = Math.round(rows / Math.max(0.001, (Date.now() - t.started) / 1000));
    if (t.bar) {
      if (rows > t.bar.getTotal()) t.bar.setTotal(rows);
      t.bar.update(rows, { rate });
    }
    this.refreshTotal();
  }

  finishTable(name: string, rows: number): void {
    const t = this.tables.get(name);
    if (!t) return;
    t.rows = rows;
    t.bar?.setTotal(Math.max(1, rows));
    t.bar?.update(rows);
    this.refreshTotal();
  }

  private totalRows(): number {
    let sum = 0;
    for (const t of this.tables.values()) sum += t.rows;
    return sum;
  }

  private refreshTotal(): void {
    if (!this.total) return;
    const rows = this.totalRows();
    if (rows > this.total.getTotal()) this.total.setTotal(rows);
    this.total.update(rows, { rate: Math.round(rows / Math.max(0.001, (Date.now() - this.started) / 1000)) });
  }

  private logLine(): void {
    const seconds = (Date.now() - this.started) / 1000;
    const rows = this.totalRows();
    const rate = rows / Math.max(0.001, seconds);
    const remaining = Math.max(0, this.estimatedTotal - rows);
    logger.info('bulk load progress', {
      rows, estimated_rows: this.estimatedTotal, rows_per_second: Math.round(rate),
      eta_seconds: rate > 0 ? Math.round(remaining / rate) : null,
      tables: Object.fromEntries([...this.tables].map(([n, t]) => [n, t.rows])),
    });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.multibar?.stop();
  }
}
