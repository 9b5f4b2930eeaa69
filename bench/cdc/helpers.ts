/**
 * Helpers of bench/cdc/run.sh (`node --import tsx bench/cdc/helpers.ts <command> …`). Each prints one
 * JSON document on stdout; progress goes to stderr.
 *
 *   topic-wait  --topic T --min N [--stable S] [--timeout S]   wait until T holds >= N messages and stops growing
 *   baseline    --topic T [--parse json|none] [--max-bytes-per-partition B]
 *                                                              kafkajs: read every message of T and JSON.parse key and value
 *                                                              (none: read only, to split fetching from parsing)
 *   topics-delete --prefix P                                   delete the topics whose names start with P (and the bench's groups)
 *   group-delete --group G                                     delete a consumer group (a rerun from the beginning needs it gone)
 *   latency     --config DIR --namespace NS [--rows N] [--rate R] [--seconds S] [--poll S] [--first-id N]
 *                                                              steady writer in PostgreSQL + poller of Iceberg (commit → visible)
 *   readtime    --config DIR --namespace NS [--runs N]         time reads of items and _cdc_status (DuckDB)
 *   verify      --config DIR --namespace NS [--sample N]       Iceberg (DuckDB) == PostgreSQL: aggregates + sampled rows
 *   batches     --log FILE [--since ISO]                       micro-batch figures from a `lakeloader cdc` JSON log
 *
 * PostgreSQL comes from PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE, Kafka from LL_KAFKA_PORT (127.0.0.1).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { loadConfig } from '../../lib/config/load.js';
import { Lakehouse } from '../../lib/lakehouse/session.js';

const TABLE = 'benchcdc.items';
const broker = `127.0.0.1:${process.env.LL_KAFKA_PORT ?? 9092}`;
const kafka = () => new Kafka({ clientId: 'lakeloader-bench-cdc', brokers: [broker], logLevel: logLevel.WARN });
const log = (msg: string) => process.stderr.write(`[bench-cdc] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const out = (v: unknown) => process.stdout.write(`${JSON.stringify(v)}\n`);

function pgClient(): pg.Client {
  return new pg.Client({
    host: process.env.PGHOST ?? '127.0.0.1', port: Number(process.env.PGPORT ?? 55432), user: process.env.PGUSER ?? 'lakeloader',
    password: process.env.PGPASSWORD ?? 'lakeloader-local-pw', database: process.env.PGDATABASE ?? 'demo',
  });
}

async function openLakehouse(configDir: string): Promise<Lakehouse> {
  return Lakehouse.open(loadConfig(configDir).lakehouse);
}

const iceRef = (ns: string, table: string) => `lake."${ns}"."${table}"`;

/** Messages in a topic (high − low over its partitions). */
async function topicCount(admin: ReturnType<Kafka['admin']>, topic: string): Promise<{ messages: number; high: Map<number, bigint> }> {
  const offsets = await admin.fetchTopicOffsets(topic);
  let messages = 0;
  const high = new Map<number, bigint>();
  for (const p of offsets) {
    messages += Number(BigInt(p.high) - BigInt(p.low));
    high.set(p.partition, BigInt(p.high));
  }
  return { messages, high };
}

async function topicWait(topic: string, min: number, stable: number, timeout: number): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  const t0 = Date.now();
  let last = -1;
  let lastChange = Date.now();
  let firstSeen: number | null = null;
  let reachedAt: number | null = null;
  try {
    for (;;) {
      const exists = (await admin.listTopics()).includes(topic);
      const n = exists ? (await topicCount(admin, topic)).messages : 0;
      if (n > 0 && firstSeen === null) firstSeen = Date.now();
      if (n !== last) {
        last = n;
        lastChange = Date.now();
      }
      if (n >= min && reachedAt === null) reachedAt = Date.now();
      if (n >= min && Date.now() - lastChange >= stable * 1000) break;
      if (Date.now() - t0 > timeout * 1000) throw new Error(`topic ${topic} holds ${n} messages after ${timeout}s, expected >= ${min}`);
      if ((Date.now() - t0) % 10_000 < 1000) log(`topic ${topic}: ${n} / ${min} messages`);
      await sleep(1000);
    }
    out({ topic, messages: last, seconds_to_min: reachedAt ? (reachedAt - t0) / 1000 : null });
  } finally {
    await admin.disconnect();
  }
}

/** What any consumer of these events must do at least: fetch every message and parse its JSON. */
async function baseline(topic: string, parse: boolean, maxBytesPerPartition: number): Promise<void> {
  const k = kafka();
  const admin = k.admin();
  await admin.connect();
  const { messages: expected, high } = await topicCount(admin, topic);
  await admin.disconnect();
  // the settings of lakeloader's consumer (lib/cdc/consumer.ts)
  const consumer = k.consumer({ groupId: `lakeloader-bench-baseline-${Date.now()}`, sessionTimeout: 60_000, heartbeatInterval: 3000, maxBytesPerPartition });
  let count = 0;
  let bytes = 0;
  let ops = 0;
  const remaining = new Set([...high].filter(([, h]) => h > 0n).map(([p]) => p));
  const t0 = process.hrtime.bigint();
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let firstAt: bigint | null = null;
  let lastAt = t0;
  await new Promise<void>((resolve, reject) => {
    consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        firstAt ??= process.hrtime.bigint();
        for (const m of batch.messages) {
          if (m.key) {
            if (parse) JSON.parse(m.key.toString('utf8'));
            bytes += m.key.length;
          }
          if (m.value) {
            if (parse) {
              const v = JSON.parse(m.value.toString('utf8')) as { payload?: { op?: string } };
              if (v.payload?.op ?? (v as { op?: string }).op) ops++;
            } else ops++;
            bytes += m.value.length;
          }
          count++;
        }
        lastAt = process.hrtime.bigint();
        if (BigInt(batch.lastOffset()) + 1n >= (high.get(batch.partition) ?? 0n)) remaining.delete(batch.partition);
        if (remaining.size === 0) resolve();
      },
    }).catch(reject);
    if (remaining.size === 0) resolve();
  });
  await consumer.disconnect();
  const seconds = Number(lastAt - t0) / 1e9;
  out({
    topic, messages: count, expected, change_events: ops, tombstones: count - ops, bytes, seconds,
    first_message_after: firstAt ? Number(firstAt - t0) / 1e9 : null,
    messages_per_second: Math.round(count / seconds), change_events_per_second: Math.round(ops / seconds),
  });
}

async function topicsDelete(prefix: string): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    // the connector's topics, and the heartbeat topic Debezium keeps next to them
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix) || t.startsWith(`__debezium-heartbeat.${prefix}`));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith('lakeloader-bench-baseline-') || g.startsWith('lakeloader-cdc-bench_cdc'));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
    out({ deleted_topics: topics, deleted_groups: groups });
  } finally {
    await admin.disconnect();
  }
}

async function groupDelete(group: string): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    const exists = (await admin.listGroups()).groups.some((g) => g.groupId === group);
    if (exists) await admin.deleteGroups([group]);
    out({ group, deleted: exists });
  } finally {
    await admin.disconnect();
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i]!;
}

/**
 * A steady writer: every 100 ms one transaction of rate/10 changes (70% update, 20% insert, 10% delete),
 * the updated and inserted rows carrying the tick number in `seq`; the tick's commit time is taken when
 * COMMIT returns. A poller asks Iceberg every `poll` seconds for max(seq): a tick is visible at the start
 * of the first poll that sees it (an upper bound: it became visible between that poll and the one before).
 */
async function latency(configDir: string, namespace: string, rows: number, rate: number, seconds: number, pollSeconds: number, firstId: number, drain: number): Promise<void> {
  const db = pgClient();
  await db.connect();
  const lakehouse = await openLakehouse(configDir);
  const items = iceRef(namespace, 'items');
  const base = Number((await db.query('SELECT coalesce(max(seq), 0) AS s FROM benchcdc.items')).rows[0].s);
  // rows never deleted (id % 20 <> 0) of the generated ones: k in [0, live) maps onto them
  const live = Math.floor(rows / 20) * 19;
  const perTick = Math.round(rate / 10);
  const upd = Math.round(perTick * 0.7);
  const ins = Math.round(perTick * 0.2);
  const del = perTick - upd - ins;
  const ticks = Math.round(seconds * 10);
  const committedAt = new Map<number, number>();
  const visibleAt = new Map<number, number>();
  let maxVisible = base;
  const polls: number[] = [];
  let writing = true;
  let late = 0;

  const poller = (async () => {
    let drainUntil = Infinity;
    while (writing || Date.now() < drainUntil) {
      if (!writing && drainUntil === Infinity) drainUntil = Date.now() + drain * 1000;
      const t = Date.now();
      const seen = await lakehouse.query(`SELECT max(seq) AS s FROM ${items} WHERE seq > ${maxVisible}`);
      polls.push((Date.now() - t) / 1000);
      const s = seen[0]?.s === null || seen[0]?.s === undefined ? null : Number(seen[0].s);
      if (s !== null && s > maxVisible) {
        for (let i = maxVisible + 1; i <= s; i++) visibleAt.set(i, t);
        maxVisible = s;
      }
      if (!writing && maxVisible >= base + ticks) break;
      const wait = pollSeconds * 1000 - (Date.now() - t);
      if (wait > 0) await sleep(wait);
    }
  })();

  const t0 = Date.now();
  for (let tick = 1; tick <= ticks; tick++) {
    const due = t0 + (tick - 1) * 100;
    const now = Date.now();
    if (due > now) await sleep(due - now);
    else if (now - due > 100) late++;
    const seq = base + tick;
    const u0 = (seq * upd) % live;
    const i0 = firstId + (seq - 1) * ins;
    await db.query('BEGIN');
    // updates: `upd` distinct live rows (id % 20 <> 0) in a scrambled order, rotating through the table
    await db.query(`UPDATE benchcdc.items i SET seq = $1, qty = coalesce(i.qty, 0) + 1, updated_at = clock_timestamp(), status = 'latency'
      FROM (SELECT (k / 19) * 20 + k % 19 + 1 AS id FROM (SELECT (($2::bigint + j) * 7919) % $3 AS k FROM generate_series(0, $4 - 1) j) s) u WHERE i.id = u.id`, [seq, u0, live, upd]);
    await db.query(`INSERT INTO benchcdc.items (id, customer_id, status, amount, qty, score, created_at, updated_at, note, seq)
      SELECT $1::bigint + j, j, 'latency', j / 10.0, j, j / 3.0, clock_timestamp(), clock_timestamp(), 'latency insert', $2 FROM generate_series(0, $3 - 1) j`, [i0, seq, ins]);
    // deletes: rows this writer inserted 10 ticks earlier
    if (tick > 10) await db.query('DELETE FROM benchcdc.items WHERE id >= $1 AND id < $1 + $2', [firstId + (seq - 11) * ins, del]);
    await db.query('COMMIT');
    committedAt.set(seq, Date.now());
  }
  const writeSeconds = (Date.now() - t0) / 1000;
  writing = false;
  log(`writer done: ${ticks * (upd + ins) + Math.max(0, ticks - 10) * del} changes in ${writeSeconds.toFixed(1)}s; waiting for the last tick to become visible`);
  await poller;
  await db.end();
  const lat: number[] = [];
  let missing = 0;
  for (const [seq, c] of committedAt) {
    const v = visibleAt.get(seq);
    if (v === undefined) missing++;
    else lat.push((v - c) / 1000);
  }
  lat.sort((a, b) => a - b);
  const pollsSorted = [...polls].sort((a, b) => a - b);
  out({
    // the first 10 ticks delete nothing (they delete what the tick 10 before inserted)
    rate, ticks, changes: ticks * (upd + ins) + Math.max(0, ticks - 10) * del, per_tick: { updates: upd, inserts: ins, deletes: del }, write_seconds: writeSeconds,
    achieved_rate: Math.round((ticks * (upd + ins) + Math.max(0, ticks - 10) * del) / writeSeconds), late_ticks: late, visible_ticks: lat.length, missing_ticks: missing,
    p50: percentile(lat, 0.5), p95: percentile(lat, 0.95), p99: percentile(lat, 0.99), max: lat[lat.length - 1] ?? null, min: lat[0] ?? null,
    poll_seconds: pollSeconds, polls: polls.length, poll_query_p50: percentile(pollsSorted, 0.5), poll_query_max: pollsSorted[pollsSorted.length - 1] ?? null,
    last_seq: base + ticks, next_first_id: firstId + ticks * ins,
  });
}

/** Times each read on a fresh DuckDB session (the catalog attached anew: nothing cached), `runs` times. */
async function readtime(configDir: string, namespace: string, runs: number): Promise<void> {
  const queries = {
    items_count: `SELECT count(*) AS n FROM ${iceRef(namespace, 'items')}`,
    items_point: `SELECT * FROM ${iceRef(namespace, 'items')} WHERE id = 500001`,
    cdc_status: `SELECT * FROM ${iceRef(namespace, '_cdc_status')}`,
  };
  const lakehouse = await openLakehouse(configDir);
  const result: Record<string, { best: number; runs: number[]; rows?: unknown }> = {};
  for (const [name, sql] of Object.entries(queries)) {
    const times: number[] = [];
    let rows: unknown;
    for (let i = 0; i < runs; i++) {
      // a new connection: DuckDB's iceberg extension loads the table's metadata anew per transaction
      const conn = await lakehouse.connect();
      const t = process.hrtime.bigint();
      const reader = await conn.runAndReadAll(sql);
      times.push(Number(process.hrtime.bigint() - t) / 1e9);
      rows = name === 'items_count' ? Number((reader.getRowObjectsJson()[0] as { n: string }).n) : reader.currentRowCount;
      conn.closeSync();
    }
    result[name] = { best: Math.min(...times), runs: times, rows };
  }
  out(result);
}

/** Iceberg (through DuckDB) against PostgreSQL: whole-table aggregates, then `sample` rows value by value. */
async function verify(configDir: string, namespace: string, sample: number): Promise<void> {
  const db = pgClient();
  await db.connect();
  const lakehouse = await openLakehouse(configDir);
  const common = `count(*) AS n, sum(id) AS sum_id, sum(customer_id) AS sum_customer, sum(amount) AS sum_amount,
    sum(coalesce(qty, -1)) AS sum_qty, sum(seq) AS sum_seq, sum(length(coalesce(note, ''))) AS sum_note, count(DISTINCT status) AS statuses`;
  const pgAgg = (await db.query(`SELECT ${common}, sum((extract(epoch FROM updated_at) * 1000000)::bigint) AS sum_updated_us, sum(score) AS sum_score FROM ${TABLE}`)).rows[0] as Record<string, unknown>;
  const iceAgg = (await lakehouse.query(`SELECT ${common}, sum(epoch_us(updated_at)) AS sum_updated_us, sum(score) AS sum_score FROM ${iceRef(namespace, 'items')}`))[0] as Record<string, unknown>;
  const norm = (v: unknown) => (v === null || v === undefined ? null : String(v).replace(/\.0+$|(\.\d*?)0+$/, '$1'));
  // floating-point sums depend on the order of addition: compared with a relative tolerance
  const same = (k: string) => (k === 'sum_score' ? Math.abs(Number(pgAgg[k]) - Number(iceAgg[k])) <= 1e-9 * Math.abs(Number(pgAgg[k])) : norm(pgAgg[k]) === norm(iceAgg[k]));
  const aggDiff = Object.keys(pgAgg).filter((k) => !same(k));
  // sampled rows: every column as text, PostgreSQL's rendering vs Iceberg's
  const ids = (await db.query(`SELECT id FROM ${TABLE} ORDER BY hashint8(id) LIMIT $1`, [sample])).rows.map((r: { id: string }) => r.id);
  const cols = `id::text AS id, customer_id::text AS customer_id, status, amount::text AS amount, qty::text AS qty, score AS score,
    (extract(epoch FROM created_at) * 1000000)::bigint::text AS created_us, (extract(epoch FROM updated_at) * 1000000)::bigint::text AS updated_us, note, seq::text AS seq`;
  const pgRows = new Map((await db.query(`SELECT ${cols} FROM ${TABLE} WHERE id = ANY($1::bigint[])`, [ids])).rows.map((r: Record<string, unknown>) => [String(r.id), r]));
  const iceCols = cols.replace(/\(extract\(epoch FROM (\w+)\) \* 1000000\)::bigint::text/g, 'epoch_us($1)::VARCHAR').replace(/::text/g, '::VARCHAR');
  const iceRows = new Map((await lakehouse.query(`SELECT ${iceCols} FROM ${iceRef(namespace, 'items')} WHERE id IN (${ids.join(',') || 'NULL'})`)).map((r) => [String(r.id), r]));
  const rowDiffs: string[] = [];
  for (const id of ids) {
    const a = pgRows.get(id);
    const b = iceRows.get(id);
    if (!b) { rowDiffs.push(`id ${id}: missing in Iceberg`); continue; }
    for (const k of Object.keys(a!)) {
      const x = k === 'score' ? Number(a![k]) : norm(a![k]);
      const y = k === 'score' ? Number(b[k]) : norm(b[k]);
      if (x !== y) rowDiffs.push(`id ${id} ${k}: pg ${String(x)} iceberg ${String(y)}`);
    }
  }
  if (iceRows.size !== ids.length) rowDiffs.push(`Iceberg returned ${iceRows.size} of ${ids.length} sampled rows`);
  await db.end();
  const ok = aggDiff.length === 0 && rowDiffs.length === 0;
  out({ ok, pg_rows: Number(pgAgg.n), iceberg_rows: Number(iceAgg.n), aggregates_differing: aggDiff.map((k) => `${k}: pg ${String(pgAgg[k])} iceberg ${String(iceAgg[k])}`), sampled: ids.length, row_differences: rowDiffs.slice(0, 20) });
  if (!ok) process.exitCode = 1;
}

interface LogLine { timestamp?: string; message?: string; events?: number; applied?: number; seconds?: number; tables?: number }

/** The consumer's micro-batches from its JSON log: count, events, the first and last commit, per-batch seconds. */
function batches(file: string, since: string | undefined): void {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
  const start = since ? Date.parse(since) : Date.parse(lines[0]?.timestamp ?? '');
  const commits = lines.filter((l) => l.message === 'micro-batch committed');
  const ready = lines.find((l) => l.message?.startsWith('CDC for '));
  const secs = commits.map((c) => c.seconds ?? 0).sort((a, b) => a - b);
  const events = commits.reduce((s, c) => s + (c.events ?? 0), 0);
  const applied = commits.reduce((s, c) => s + (c.applied ?? 0), 0);
  const last = commits.length ? Date.parse(commits[commits.length - 1]!.timestamp!) : NaN;
  const first = commits.length ? Date.parse(commits[0]!.timestamp!) : NaN;
  out({
    batches: commits.length, events, applied,
    seconds_to_ready: ready?.timestamp ? (Date.parse(ready.timestamp) - start) / 1000 : null,
    seconds_to_first_commit: (first - start) / 1000, seconds_to_last_commit: (last - start) / 1000,
    batch_seconds_sum: Number(secs.reduce((s, x) => s + x, 0).toFixed(3)), batch_seconds_p50: percentile(secs, 0.5), batch_seconds_max: secs[secs.length - 1] ?? null,
    batch_seconds_first: commits[0]?.seconds ?? null, batch_seconds_last: commits[commits.length - 1]?.seconds ?? null,
  });
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  const { values: v } = parseArgs({
    args: rest,
    options: {
      topic: { type: 'string' }, min: { type: 'string' }, stable: { type: 'string', default: '5' }, timeout: { type: 'string', default: '900' },
      prefix: { type: 'string' }, config: { type: 'string' }, namespace: { type: 'string' }, rate: { type: 'string', default: '2000' },
      seconds: { type: 'string', default: '60' }, poll: { type: 'string', default: '1' }, 'first-id': { type: 'string', default: '2000001' },
      drain: { type: 'string', default: '60' }, runs: { type: 'string', default: '3' }, sample: { type: 'string', default: '2000' },
      log: { type: 'string' }, since: { type: 'string' }, group: { type: 'string' }, rows: { type: 'string', default: '1000000' }, parse: { type: 'string', default: 'json' },
      'max-bytes-per-partition': { type: 'string', default: String(8 * 1024 * 1024) },
    },
  });
  const need = (name: keyof typeof v): string => {
    const x = v[name];
    if (typeof x !== 'string') throw new Error(`--${name} is required`);
    return x;
  };
  switch (command) {
    case 'topic-wait': return topicWait(need('topic'), Number(need('min')), Number(v.stable), Number(v.timeout));
    case 'baseline': return baseline(need('topic'), v.parse !== 'none', Number(v['max-bytes-per-partition']));
    case 'topics-delete': return topicsDelete(need('prefix'));
    case 'group-delete': return groupDelete(need('group'));
    case 'latency': return latency(need('config'), need('namespace'), Number(v.rows), Number(v.rate), Number(v.seconds), Number(v.poll), Number(v['first-id']), Number(v.drain));
    case 'readtime': return readtime(need('config'), need('namespace'), Number(v.runs));
    case 'verify': return verify(need('config'), need('namespace'), Number(v.sample));
    case 'batches': return batches(need('log'), v.since);
    default: throw new Error(`unknown command '${command}'`);
  }
}

main().then(() => process.exit(process.exitCode ?? 0), (err: unknown) => {
  process.stderr.write(`[bench-cdc] ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
