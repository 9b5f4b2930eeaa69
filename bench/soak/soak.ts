/**
 * The soak of `make bench-soak` (bench/soak/run.sh starts the consumer and calls this): a writer makes
 * small mixed transactions on benchcdc.items while `lakeloader cdc` (automatic maintenance on, the
 * product's defaults) applies them; every --every committed micro-batches a sample: apply p50/p95 of
 * those batches (the consumer's log), count(*) and point-lookup time through a fresh DuckDB process,
 * live data and delete files, metadata.json bytes, the table's bytes on disk. Prints JSON lines, then
 * a summary with the targets of issue 10.
 *
 *   npx tsx bench/soak/soak.ts --config DIR --namespace NS --log CDC_LOG --batches 3000 [--every 100] [--rows 1000000]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../../lib/config/load.js';
import { RestCatalogClient } from '../../lib/lakehouse/rest-catalog.js';

const { values: a } = parseArgs({
  options: {
    config: { type: 'string' }, namespace: { type: 'string' }, log: { type: 'string' },
    batches: { type: 'string', default: '3000' }, every: { type: 'string', default: '100' }, rows: { type: 'string', default: '1000000' },
    baseline: { type: 'string', description: 'readtime JSON of the freshly loaded table' },
  },
});
const configDir = a.config!;
const namespace = a.namespace!;
const target = Number(a.batches);
const every = Number(a.every);
const rows = Number(a.rows);
const say = (m: string) => process.stderr.write(`[bench-soak] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Commit { seconds: number; at: string }
/** The consumer's committed micro-batches and maintenance runs so far, from its JSON log. */
function consumerLog(): { commits: Commit[]; maintenance: string[] } {
  const commits: Commit[] = [];
  const maintenance: string[] = [];
  for (const line of readFileSync(a.log!, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const j = JSON.parse(line) as { message?: string; seconds?: number; timestamp?: string; component?: string };
      if (j.message === 'micro-batch committed') commits.push({ seconds: j.seconds ?? 0, at: j.timestamp ?? '' });
      else if (j.component === 'maintenance' && j.message) maintenance.push(j.message);
    } catch { /* a partial last line */ }
  }
  return { commits, maintenance };
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

const rest = new RestCatalogClient(loadConfig(configDir).lakehouse);
/** Files, delete files, metadata bytes and bytes on disk of one table. */
interface TableFiles { data_files: number; delete_files: number; snapshots: number; metadata_json_bytes: number; table_bytes: number }
async function tableFiles(table: string): Promise<TableFiles> {
  const meta = await rest.tableMetadata(namespace, table);
  const current = meta.snapshots.find((s) => s.id === meta.currentSnapshotId);
  const dir = fileURLToPath(meta.location.replace(/^file:(?!\/\/)/, 'file://'));
  const bytes = Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
  return {
    data_files: Number(current?.summary['total-data-files'] ?? 0), delete_files: Number(current?.summary['total-delete-files'] ?? 0),
    snapshots: meta.snapshots.length, metadata_json_bytes: statSync(fileURLToPath(meta.metadataLocation.replace(/^file:(?!\/\/)/, 'file://'))).size,
    table_bytes: bytes,
  };
}

/** Read times through a fresh process (a fresh DuckDB instance and catalog attach), best of 3. */
function readTimes(): { count_s: number; point_s: number; cdc_status_s: number } {
  const out = execFileSync('node', ['--import', 'tsx', 'bench/cdc/helpers.ts', 'readtime', '--config', configDir, '--namespace', namespace, '--runs', '3'], { encoding: 'utf8' });
  const r = JSON.parse(out) as Record<string, { best: number }>;
  return { count_s: r.items_count!.best, point_s: r.items_point!.best, cdc_status_s: r.cdc_status!.best };
}

// The writer: one small mixed transaction at a time (8 updates, 1 insert, 1 delete), as fast as PostgreSQL
// takes them but never far ahead of the consumer (at most two micro-batches' worth in flight).
const db = new pg.Client({
  host: process.env.PGHOST ?? '127.0.0.1', port: Number(process.env.PGPORT ?? 55432), user: process.env.PGUSER ?? 'lakeloader',
  password: process.env.PGPASSWORD ?? 'lakeloader-local-pw', database: process.env.PGDATABASE ?? 'demo',
});
await db.connect();
let stop = false;
let transactions = 0;
let nextId = rows * 3 + 1;
let seed = 12345;
const random = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
const writer = (async () => {
  while (!stop) {
    const committed = consumerLog().commits.length;
    if (transactions > committed + 4) {
      await sleep(50);
      continue;
    }
    const ids = Array.from({ length: 9 }, () => 1 + Math.floor(random() * rows));
    await db.query('BEGIN');
    await db.query(`UPDATE benchcdc.items SET qty = coalesce(qty, 0) + 1, status = 'soak' WHERE id = ANY($1::bigint[])`, [ids.slice(0, 8)]);
    await db.query(`INSERT INTO benchcdc.items (id, customer_id, status, amount, qty, created_at, updated_at) VALUES ($1, 1, 'new', 1.00, 1, now(), now())`, [nextId++]);
    await db.query('DELETE FROM benchcdc.items WHERE id = $1', [ids[8]]);
    await db.query('COMMIT');
    transactions++;
    await sleep(150);
  }
})();

const baseline = a.baseline ? (JSON.parse(readFileSync(a.baseline, 'utf8')) as Record<string, { best: number }>) : null;
const samples: Record<string, unknown>[] = [];
let sampled = 0;
const started = Date.now();
while (sampled < target) {
  await sleep(2000);
  const { commits, maintenance } = consumerLog();
  if (commits.length < sampled + every) continue;
  const window = commits.slice(sampled, sampled + every).map((c) => c.seconds);
  sampled += every;
  const sample = {
    batches: sampled, minutes: Number(((Date.now() - started) / 60_000).toFixed(1)),
    apply_p50_s: quantile(window, 0.5), apply_p95_s: quantile(window, 0.95),
    ...readTimes(), items: await tableFiles('items'), cdc_status: await tableFiles('_cdc_status'),
    maintenance_log_lines: maintenance.length,
  };
  samples.push(sample);
  console.log(JSON.stringify(sample));
  say(`${sampled} batches: apply p50 ${sample.apply_p50_s}s p95 ${sample.apply_p95_s}s, count ${sample.count_s}s, point ${sample.point_s}s, ` +
    `items ${sample.items.data_files} data / ${sample.items.delete_files} delete files, ${(sample.items.table_bytes / 1e6).toFixed(1)} MB`);
}
stop = true;
await writer;
await db.end();

const first = samples[0] as { apply_p50_s: number; count_s: number; point_s: number };
const last = samples.at(-1) as { apply_p50_s: number; count_s: number; point_s: number };
const fresh = baseline ? { count_s: baseline.items_count!.best, point_s: baseline.items_point!.best } : null;
const summary = {
  batches: sampled, transactions, minutes: Number(((Date.now() - started) / 60_000).toFixed(1)),
  apply_p50_ratio_last_vs_first: Number((last.apply_p50_s / first.apply_p50_s).toFixed(2)),
  count_ratio_vs_fresh: fresh ? Number((last.count_s / fresh.count_s).toFixed(2)) : null,
  point_ratio_vs_fresh: fresh ? Number((last.point_s / fresh.point_s).toFixed(2)) : null,
  fresh,
};
console.log(JSON.stringify({ summary }));
say(`summary: ${JSON.stringify(summary)}`);
