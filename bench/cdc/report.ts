/**
 * The results block of bench/cdc/run.sh, from the JSON files its phases left in $BENCH_WORK; also writes
 * $BENCH_WORK/result.json. Run as `node --import tsx bench/cdc/report.ts`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';

const work = process.env.BENCH_WORK!;
const env = (name: string) => process.env[name] ?? '';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = any;
const read = (file: string): J => {
  const p = path.join(work, file);
  return existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) : null;
};
const fmt = (n: number | null | undefined, digits = 2) => (n === null || n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits));
const int = (n: number | null | undefined) => (n === null || n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));
const mib = (b: number | null | undefined) => (b === null || b === undefined ? '-' : `${(b / 2 ** 20).toFixed(1)} MiB`);

const topic = read('topic.json');
const baseline = read('baseline.json');
const apply = read('apply.json');
const verify = read('verify-apply.json');
const latency = read('latency.json');
const latencyBatches = read('latency-batches.json');
const labels = existsSync(path.join(work, 'read-labels')) ? readFileSync(path.join(work, 'read-labels'), 'utf8').trim().split('\n').filter(Boolean) : [];

const changes = apply.applied as number;
const applySeconds = apply.seconds_to_last_commit as number;
const eps = changes / applySeconds;
const ratio = applySeconds / baseline.seconds;
const [cpuUser, cpuSys] = env('BENCH_APPLY_CPU').split(' ').map(Number);
const targets = {
  events_per_second: eps >= Number(env('BENCH_TARGET_EPS')),
  ratio: ratio <= Number(env('BENCH_TARGET_RATIO')),
  p95: latency ? latency.p95 <= Number(env('BENCH_TARGET_P95')) : null,
};

const growth = labels.map((label) => {
  const r = read(`read-${label}.json`);
  const items = read(`stats-items-${label}.json`);
  const status = read(`stats-status-${label}.json`);
  const g = /^\d+$/.test(label) && label !== '0' ? read(`growth-${label}.json`) : null;
  return { label, read: r, items, status, growth: g };
});

const lines: string[] = [];
const p = (s = '') => lines.push(s);
p();
p(`== bench-cdc: ${int(changes)} changes (70% update / 20% insert / 10% delete) on a ${int(Number(env('BENCH_ROWS')))}-row table ==`);
p(`machine             ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB; commit ${env('BENCH_COMMIT')}`);
p(`kafka               ${int(topic.messages)} messages (${int(baseline.change_events)} changes + ${int(baseline.tombstones)} tombstones), ${mib(baseline.bytes)} (${int(baseline.bytes / topic.messages)} B/message: JSON ${process.env.BENCH_SCHEMAS === 'true' ? 'with schemas' : 'without schemas'})`);
p(`                    all published ${fmt(Number(env('BENCH_PUBLISH_SECONDS')), 1)} s after the first PostgreSQL commit (Debezium ${int(topic.messages / Number(env('BENCH_PUBLISH_SECONDS')))} msg/s)`);
p(`baseline            ${fmt(baseline.seconds)} s  kafkajs read + JSON.parse of every message: ${int(baseline.change_events_per_second)} changes/s (${int(baseline.messages_per_second)} msg/s; load avg ${env('BENCH_LOAD_BASELINE')})`);
p(`apply               ${fmt(applySeconds)} s  lakeloader cdc, process start → last micro-batch committed (${apply.batches} micro-batches; load avg ${env('BENCH_LOAD_APPLY')})`);
p(`                    ready after ${fmt(apply.seconds_to_ready)} s, first commit ${fmt(apply.seconds_to_first_commit)} s; batch seconds sum ${fmt(apply.batch_seconds_sum, 1)} (p50 ${fmt(apply.batch_seconds_p50)}, max ${fmt(apply.batch_seconds_max)})`);
p(`                    peak RSS ${int(Number(env('BENCH_APPLY_RSS_KIB')) / 1024)} MiB, cpu user ${fmt(cpuUser, 1)} s sys ${fmt(cpuSys, 1)} s`);
p(`events/s            ${int(eps)}   (target >= ${int(Number(env('BENCH_TARGET_EPS')))}: ${targets.events_per_second ? 'met' : 'MISSED'})`);
p(`ratio               ${fmt(ratio)}   (apply / baseline; target <= ${env('BENCH_TARGET_RATIO')}: ${targets.ratio ? 'met' : 'MISSED'})`);
const compare = read('compare.json');
if (compare) {
  const [cu, cs] = readFileSync(path.join(work, 'compare.time'), 'utf8').trim().split(' ').slice(1).map(Number);
  const cSeconds = compare.seconds_to_last_commit as number;
  p(`compare             ${fmt(cSeconds)} s  ${env('BENCH_COMPARE_CLI')}: ${int(compare.applied / cSeconds)} events/s, ratio ${fmt(cSeconds / baseline.seconds)}, cpu user ${fmt(cu, 1)} s sys ${fmt(cs, 1)} s`);
  p(`                    vs ${env('BENCH_CLI')}: ${fmt(100 * (cSeconds / applySeconds - 1), 1)}% time (fastest of each, runs alternated; every run checked against PostgreSQL)`);
}
p(`correctness         ${verify?.ok ? 'ok' : 'FAILED'}: Iceberg ${int(verify?.iceberg_rows)} rows = PostgreSQL ${int(verify?.pg_rows)}; aggregates of every column equal; ${verify?.sampled} sampled rows equal value by value`);
if (latency) {
  p(`latency             p50 ${fmt(latency.p50)} s, p95 ${fmt(latency.p95)} s, p99 ${fmt(latency.p99)} s, max ${fmt(latency.max)} s   (target p95 <= ${env('BENCH_TARGET_P95')} s: ${targets.p95 ? 'met' : 'MISSED'})`);
  p(`                    ${int(latency.changes)} changes at ${int(latency.achieved_rate)}/s (${latency.ticks} transactions of ${latency.per_tick.updates}+${latency.per_tick.inserts}+${latency.per_tick.deletes}), PostgreSQL COMMIT → first poll (every ${latency.poll_seconds} s) seeing it;`);
  p(`                    ${latencyBatches?.batches ?? '-'} micro-batches (p50 ${fmt(latencyBatches?.batch_seconds_p50)} s apply); poll query p50 ${fmt(latency.poll_query_p50)} s; ${latency.missing_ticks} ticks never seen`);
}
if (growth.length > 0) {
  p();
  p(`read time (best of 3, fresh DuckDB connection) and what a reader opens, after N more micro-batches of ${env('BENCH_GROWTH_EVENTS')} updates:`);
  p('| after | apply s per micro-batch, last chunk (p50, last) | items count(*) s | items point s | _cdc_status s | items snapshots / manifests / data files / delete files | _cdc_status snapshots / manifests / data / delete files | metadata.json items / status |');
  p('|---|---|---|---|---|---|---|---|');
  for (const g of growth) {
    const batches = g.growth ? `${fmt(g.growth.batch_seconds_p50)}, ${fmt(g.growth.batch_seconds_last)}` : '';
    const i = g.items;
    const s = g.status;
    p(`| ${g.label} | ${batches} | ${fmt(g.read.items_count.best, 3)} | ${fmt(g.read.items_point.best, 3)} | ${fmt(g.read.cdc_status.best, 3)} | ${i.snapshots} / ${i.manifests} / ${i.data_files} / ${i.delete_files} | ${s.snapshots} / ${s.manifests} / ${s.data_files} / ${s.delete_files} | ${mib(i.metadata_json_bytes)} / ${mib(s.metadata_json_bytes)} |`);
  }
  const truncated = existsSync(path.join(work, 'growth-truncated')) ? readFileSync(path.join(work, 'growth-truncated'), 'utf8').trim().split(' ') : null;
  if (truncated) p(`(growth stopped by BENCH_GROWTH_BUDGET=${env('BENCH_GROWTH_BUDGET')} s after ${truncated[0]} micro-batches of the ${truncated[1]} asked for)`);
  const after = read('growth-after-compaction.json');
  const maintainTime = existsSync(path.join(work, 'maintain.time')) ? readFileSync(path.join(work, 'maintain.time'), 'utf8').trim().split(' ') : null;
  if (maintainTime) p(`lakeloader maintain (Spark, every table of the namespace, consumer stopped): ${maintainTime[0]} s, lakeloader's peak RSS ${Math.round(Number(maintainTime[1]) / 1024)} MiB`);
  if (after) p(`after maintenance   ${after.batches} more micro-batches: batch seconds p50 ${fmt(after.batch_seconds_p50)} (before maintenance: ${fmt(growth[growth.length - 2]?.growth?.batch_seconds_p50)}); Iceberg = PostgreSQL: ${read('verify-compacted.json')?.ok ? 'ok' : 'FAILED'}`);
}
const met = Object.values(targets).every((t) => t !== false);
p();
p(`targets             ${met ? 'met' : 'MISSED'} (events/s ${targets.events_per_second ? 'met' : 'missed'}, ratio ${targets.ratio ? 'met' : 'missed'}, p95 ${targets.p95 === null ? 'not measured' : targets.p95 ? 'met' : 'missed'})`);
process.stdout.write(`${lines.join('\n')}\n`);

writeFileSync(path.join(work, 'result.json'), JSON.stringify({
  date: new Date().toISOString(), commit: env('BENCH_COMMIT'), cores: cpus().length,
  messages: topic.messages, bytes: baseline.bytes, changes, baseline_seconds: baseline.seconds, apply_seconds: applySeconds,
  events_per_second: Math.round(eps), baseline_changes_per_second: baseline.change_events_per_second, ratio,
  apply: { ...apply, peak_rss_mib: Number(env('BENCH_APPLY_RSS_KIB')) / 1024, cpu_user: cpuUser, cpu_sys: cpuSys },
  verify, latency, latency_batches: latencyBatches, growth, targets, targets_met: met,
  compare: compare ? { cli: env('BENCH_COMPARE_CLI'), ...compare } : null,
}, null, 2));
