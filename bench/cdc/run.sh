#!/usr/bin/env bash
# `make bench-cdc`: throughput and latency of `lakeloader cdc` (Debezium events in Kafka → Iceberg).
#
#   1. benchcdc.items, 1,000,000 rows x 10 columns (bench/cdc/items.sql), bulk-loaded into Iceberg (bench.cdc);
#      its Debezium connector started (`lakeloader connector apply`).
#   2. 500,000 changes in PostgreSQL, 50 transactions of 70% UPDATE / 20% INSERT / 10% DELETE
#      (bench/cdc/changes.sql, deterministic), waited for until Debezium has published all of them
#      (550,000 messages: each delete is followed by its tombstone).
#   3. baseline: a kafkajs consumer that only reads every message and JSON.parse's key and value.
#   4. apply: `lakeloader cdc --exit-when-idle 3`, timed from process start to the last
#      'micro-batch committed' log line (the idle wait is not counted); events/s = changes / that time,
#      ratio = apply seconds / baseline seconds. Then Iceberg == PostgreSQL (aggregates + sampled rows).
#   5. latency: the consumer running with --trigger-interval 5 while a writer makes 2,000 changes/s for
#      BENCH_LATENCY_SECONDS; each tick's rows carry its number in `seq`, a poller asks Iceberg every second
#      for max(seq): p50/p95 from PostgreSQL COMMIT to the first poll that sees it.
#   6. read-time growth: reads of items and _cdc_status timed (fresh DuckDB connection; pyiceberg counts the
#      files) before and after 100 and 1,000 small micro-batches (BENCH_GROWTH_EVENTS events each), then
#      after `lakeloader maintain` (automatic maintenance is off in this benchmark, to measure the growth).
#
# Environment (all optional):
#   BENCH_ROWS=1000000          rows of benchcdc.items (regenerated every run: the run changes it; ~7 s)
#   BENCH_CHANGES=500000        changes of step 2, in BENCH_TXNS transactions
#   BENCH_TXNS=50
#   BENCH_BATCH_SIZE=50000      cdc.batch_size of the apply and latency phases
#   BENCH_SCHEMAS=false         kafka.schemas_enable: true = JSON messages with embedded schemas (~10x the bytes)
#   BENCH_APPLY_RUNS=1          apply phase runs (Iceberg rolled back to the bulk load in between); fastest counts
#   BENCH_COMPARE_CLI=          another build's CLI (e.g. /tmp/other/dist/jobs/cli.js) whose apply runs alternate
#                               with BENCH_CLI's on the same events: the report shows both (A/B of a change)
#   BENCH_LATENCY_SECONDS=60    0 skips the latency phase
#   BENCH_LATENCY_RATE=2000     changes/s of the steady writer
#   BENCH_TRIGGER=5             --trigger-interval of the latency phase
#   BENCH_GROWTH="100 1000"     cumulative micro-batch counts at which reads are timed ("" skips the phase)
#   BENCH_GROWTH_EVENTS=20      events per micro-batch of the growth phase (UPDATEs, one message each)
#   BENCH_GROWTH_BUDGET=480     seconds the growth phase may take (0 = no limit): each micro-batch costs more
#                               than the one before (see the results), and 1,000 of them take well over 30
#                               minutes on 2 cores; the phase stops between chunks of 100 when the budget is spent
#   BENCH_COMPACT=1             0: no `lakeloader maintain` at the end of the growth phase
#   BENCH_KEEP=0                1: keep the Iceberg namespace, the work dir, the connector's topic and benchcdc.items
#   BENCH_STRICT=0              1: exit 3 when a target is missed (>= 30,000 events/s, ratio <= 3, p95 <= 15 s)
#   BENCH_CLI=dist/jobs/cli.js  the lakeloader CLI to measure (e.g. another checkout's build)
#   BENCH_RESULT=<file>         also write the results as JSON there
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
LOG_TAG=bench-cdc

: "${BENCH_ROWS:=1000000}"
: "${BENCH_CHANGES:=500000}"
: "${BENCH_TXNS:=50}"
: "${BENCH_BATCH_SIZE:=50000}"
: "${BENCH_SCHEMAS:=false}"
: "${BENCH_APPLY_RUNS:=1}"
: "${BENCH_LATENCY_SECONDS:=60}"
: "${BENCH_LATENCY_RATE:=2000}"
: "${BENCH_TRIGGER:=5}"
: "${BENCH_GROWTH=100 1000}"
: "${BENCH_GROWTH_EVENTS:=20}"
: "${BENCH_GROWTH_BUDGET:=480}"
: "${BENCH_COMPACT:=1}"
: "${BENCH_KEEP:=0}"
: "${BENCH_STRICT:=0}"
: "${BENCH_CLI:=dist/jobs/cli.js}"
: "${BENCH_RESULT:=}"
: "${BENCH_COMPARE_CLI:=}"
SOURCE=bench_cdc
NAMESPACE=bench.cdc
CONNECTOR="lakeloader-$SOURCE"
GROUP="lakeloader-cdc-$SOURCE"
TOPIC_PREFIX_BASE=benchcdc_
PREFIX="${TOPIC_PREFIX_BASE}$(date +%s)"
TOPIC="$PREFIX.benchcdc.items"
PYH="$ROOT/bench/cdc/helpers.py"
TARGET_EPS=30000
TARGET_RATIO=3
TARGET_P95=15

helper() { node --import tsx "$ROOT/bench/cdc/helpers.ts" "$@"; }

make_work_dir lakeloader-bench-cdc "$BENCH_KEEP"
CDC_PID=
# Everything this benchmark leaves in the stack: its connector, slot and publication, topics and groups.
cleanup() {
  [ -n "$CDC_PID" ] && kill "$CDC_PID" 2>/dev/null || true
  drop_replication "$SOURCE" "$CONNECTOR"
  if [ "$BENCH_KEEP" = 1 ]; then
    say "kept: work dir $WORK, namespace $NAMESPACE, topic $TOPIC"
  else
    helper topics-delete --prefix "$PREFIX" >/dev/null 2>&1 || true
    "$PY" "$PYH" purge --uri "$CATALOG_URI" --namespace "$NAMESPACE" >/dev/null 2>&1 || true
    psqlq -c "DROP SCHEMA IF EXISTS benchcdc CASCADE" >/dev/null 2>&1 || true   # regenerated by every run (~7 s)
  fi
}
on_exit cleanup

# 0. The stack (idempotent) and leftovers of an interrupted run.
start_stack postgres iceberg_rest kafka connect
require_built_cli "make bench-cdc"
drop_replication "$SOURCE" "$CONNECTOR"
helper topics-delete --prefix "$TOPIC_PREFIX_BASE" >/dev/null
"$PY" "$PYH" purge --uri "$CATALOG_URI" --namespace "$NAMESPACE"

# 1. The table (regenerated: every run changes it), its bulk load and its connector.
say "generating benchcdc.items ($BENCH_ROWS rows)"
run_sql_file bench/cdc/items.sql rows="$BENCH_ROWS" marker="lakeloader bench-cdc items rows=$BENCH_ROWS"
write_config "$SOURCE" benchcdc.items "$NAMESPACE" "parallel_workers: 1" "parallel_tables: 2" \
  "kafka: {cluster: local, topic_prefix: $PREFIX, schemas_enable: $BENCH_SCHEMAS}" \
  "cdc: {batch_size: $BENCH_BATCH_SIZE, trigger_interval: $BENCH_TRIGGER, metrics_port: 0}" \
  "maintenance: {enabled: false}"   # the growth phase measures the untended table; \`lakeloader maintain\` at its end
say "bulk load into $NAMESPACE"
lakeloader --log-format json bulk-load --source "$SOURCE" >"$WORK/load.txt" 2>"$WORK/load.log" || { tail -5 "$WORK/load.log" >&2; die "bulk load failed"; }
"$PY" "$PYH" save --uri "$CATALOG_URI" --namespace "$NAMESPACE" --out "$WORK/loaded-snapshots.json" >/dev/null
lakeloader connector apply --source "$SOURCE" >&2

# 2. The changes, all in Kafka before anything consumes them.
deletes=$(( BENCH_CHANGES - BENCH_CHANGES * 7 / 10 - BENCH_CHANGES * 2 / 10 ))
expected=$(( BENCH_CHANGES + deletes ))
say "$BENCH_CHANGES changes in $BENCH_TXNS transactions; waiting for Debezium to publish $expected messages"
t0=$(now)
psqlq -v rows="$BENCH_ROWS" -v txns="$BENCH_TXNS" -v per_txn=$(( BENCH_CHANGES / BENCH_TXNS )) -f bench/cdc/changes.sql
pg_seconds=$(seconds_since "$t0")
helper topic-wait --topic "$TOPIC" --min "$expected" --stable 5 >"$WORK/topic.json"
publish_seconds=$(seconds_since "$t0")
[ "$(json "$WORK/topic.json" r.messages)" = "$expected" ] || die "topic $TOPIC holds $(json "$WORK/topic.json" r.messages) messages, expected $expected"
say "PostgreSQL ${pg_seconds}s; all published after ${publish_seconds}s"

# 3. The baseline: read and parse every message.
say "baseline: kafkajs read + JSON.parse of $expected messages"
load_baseline=$(load_avg_1m)
helper baseline --topic "$TOPIC" >"$WORK/baseline.json"
say "baseline: $(json "$WORK/baseline.json" 'r.seconds.toFixed(2)')s"

# 4. The apply, from process start to the last micro-batch commit; Iceberg rolled back to the bulk load
#    between runs. With BENCH_COMPARE_CLI the two CLIs alternate (same data, same machine state).
apply_once() {   # apply_once TAG CLI: one timed run, checked against PostgreSQL
  local tag=$1 cli=$2 started s
  if [ -f "$WORK/applied-once" ]; then "$PY" "$PYH" rollback --uri "$CATALOG_URI" --namespace "$NAMESPACE" --saved "$WORK/loaded-snapshots.json" >/dev/null; fi
  touch "$WORK/applied-once"
  helper group-delete --group "$GROUP" >/dev/null
  load_avg_1m >"$WORK/apply-$tag.load"
  started=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  /usr/bin/time -f '%M %U %S' -o "$WORK/apply-$tag.time" node "$cli" --config "$WORK/config" --log-format json \
    cdc --source "$SOURCE" --exit-when-idle 3 --metrics-port 0 >"$WORK/apply-$tag.txt" 2>"$WORK/apply-$tag.log" \
    || { tail -5 "$WORK/apply-$tag.log" >&2; die "lakeloader cdc ($cli) failed"; }
  helper batches --log "$WORK/apply-$tag.log" --since "$started" >"$WORK/apply-$tag.json"
  [ "$(json "$WORK/apply-$tag.json" r.applied)" = "$BENCH_CHANGES" ] || die "$cli applied $(json "$WORK/apply-$tag.json" r.applied) changes, expected $BENCH_CHANGES"
  helper verify --config "$WORK/config" --namespace "$NAMESPACE" >"$WORK/verify-$tag.json" || { cat "$WORK/verify-$tag.json" >&2; die "Iceberg differs from PostgreSQL after the apply by $cli"; }
  s=$(json "$WORK/apply-$tag.json" r.seconds_to_last_commit)
  say "apply $tag ($cli): last commit ${s}s after start, $(json "$WORK/apply-$tag.json" r.batches) micro-batches, cpu $(cut -d' ' -f2 "$WORK/apply-$tag.time")s user, load avg $(cat "$WORK/apply-$tag.load"); Iceberg = PostgreSQL"
}
fastest() {   # fastest PREFIX: the tag of the quickest run among apply-PREFIX*
  for f in "$WORK"/apply-"$1"*.json; do echo "$(json "$f" r.seconds_to_last_commit) $(basename "$f" .json)"; done | sort -n | head -1 | cut -d' ' -f2 | sed 's/^apply-//'
}
for run in $(seq 1 "$BENCH_APPLY_RUNS"); do
  apply_once "main-$run" "$BENCH_CLI"
  if [ -n "$BENCH_COMPARE_CLI" ]; then apply_once "compare-$run" "$BENCH_COMPARE_CLI"; fi
done
best=$(fastest main-)
for ext in json time load; do cp "$WORK/apply-$best.$ext" "$WORK/apply.$ext"; done
cp "$WORK/verify-$best.json" "$WORK/verify-apply.json"
if [ -n "$BENCH_COMPARE_CLI" ]; then
  cbest=$(fastest compare-)
  for ext in json time load; do cp "$WORK/apply-$cbest.$ext" "$WORK/compare.$ext"; done
fi
read -r apply_rss_kib apply_user apply_sys <"$WORK/apply.time"
load_apply=$(cat "$WORK/apply.load")

# 5. Latency at a steady rate, the consumer running with its trigger interval.
if [ "$BENCH_LATENCY_SECONDS" != 0 ]; then
  say "latency: $BENCH_LATENCY_RATE changes/s for ${BENCH_LATENCY_SECONDS}s, --trigger-interval $BENCH_TRIGGER"
  node "$BENCH_CLI" --config "$WORK/config" --log-format json cdc --source "$SOURCE" --trigger-interval "$BENCH_TRIGGER" --metrics-port 0 \
    >"$WORK/latency-cdc.txt" 2>"$WORK/latency-cdc.log" &
  CDC_PID=$!
  for _ in $(seq 1 60); do grep -q '"CDC for ' "$WORK/latency-cdc.log" 2>/dev/null && break; sleep 0.5; done
  sleep 3   # joined the group
  helper latency --config "$WORK/config" --namespace "$NAMESPACE" --rows "$BENCH_ROWS" --rate "$BENCH_LATENCY_RATE" --seconds "$BENCH_LATENCY_SECONDS" \
    --first-id $(( BENCH_ROWS * 2 + 1 )) --drain 60 >"$WORK/latency.json"
  kill -TERM "$CDC_PID"; wait "$CDC_PID" || true; CDC_PID=
  helper batches --log "$WORK/latency-cdc.log" >"$WORK/latency-batches.json"
  say "latency: p50 $(json "$WORK/latency.json" r.p50)s, p95 $(json "$WORK/latency.json" r.p95)s"
  helper verify --config "$WORK/config" --namespace "$NAMESPACE" >"$WORK/verify-latency.json" || { cat "$WORK/verify-latency.json" >&2; die "Iceberg differs from PostgreSQL after the latency phase"; }
fi

# 6. Read time as micro-batches accumulate, then after compaction.
measure() {   # measure LABEL: read times + file counts of items and _cdc_status
  helper readtime --config "$WORK/config" --namespace "$NAMESPACE" --runs 3 >"$WORK/read-$1.json"
  "$PY" "$PYH" stats --uri "$CATALOG_URI" --namespace "$NAMESPACE" --table items >"$WORK/stats-items-$1.json"
  "$PY" "$PYH" stats --uri "$CATALOG_URI" --namespace "$NAMESPACE" --table _cdc_status >"$WORK/stats-status-$1.json"
  echo "$1" >>"$WORK/read-labels"
}
next_k=0
growth_batches() {   # growth_batches N LABEL: N micro-batches of BENCH_GROWTH_EVENTS updates each; sets last_batches
  local n=$1 label=$2 events before t0
  events=$(( n * BENCH_GROWTH_EVENTS ))
  before=$(helper topic-wait --topic "$TOPIC" --min 0 --stable 0 | json /dev/stdin r.messages)
  # UPDATEs only (one message each) of distinct live rows, in one transaction
  psqlq -c "UPDATE benchcdc.items SET qty = coalesce(qty, 0) + 1, status = 'growth' WHERE id IN (SELECT (k / 19) * 20 + k % 19 + 1 FROM generate_series($next_k, $(( next_k + events - 1 ))) k)" >/dev/null
  next_k=$(( next_k + events ))
  helper topic-wait --topic "$TOPIC" --min $(( before + events )) --stable 2 >/dev/null
  t0=$(now)
  lakeloader --log-format json cdc --source "$SOURCE" --batch-size "$BENCH_GROWTH_EVENTS" --exit-when-idle 2 --metrics-port 0 \
    >"$WORK/growth-$label.txt" 2>"$WORK/growth-$label.log" || { tail -5 "$WORK/growth-$label.log" >&2; die "lakeloader cdc failed in the growth phase"; }
  helper batches --log "$WORK/growth-$label.log" >"$WORK/growth-$label.json"
  last_batches=$(json "$WORK/growth-$label.json" r.batches)
  say "growth: $last_batches micro-batches in $(seconds_since "$t0" | cut -c1-6)s (batch seconds p50 $(json "$WORK/growth-$label.json" r.batch_seconds_p50), first $(json "$WORK/growth-$label.json" r.batch_seconds_first), last $(json "$WORK/growth-$label.json" r.batch_seconds_last))"
}
if [ -n "$BENCH_GROWTH" ]; then
  measure start
  done_batches=0
  growth_started=$(now)
  out_of_time=0
  measured_at=0
  for target in $BENCH_GROWTH; do
    # in chunks of at most 100 micro-batches, so that the time budget can stop the phase between chunks
    while [ "$done_batches" -lt "$target" ]; do
      if [ "$BENCH_GROWTH_BUDGET" != 0 ] && [ "$(echo "$(now) - $growth_started > $BENCH_GROWTH_BUDGET" | bc)" = 1 ]; then out_of_time=1; break; fi
      n=$(( target - done_batches )); [ "$n" -gt 100 ] && n=100
      say "growth: $n micro-batches of $BENCH_GROWTH_EVENTS updates ($done_batches done, to $target)"
      growth_batches "$n" "chunk-$done_batches"
      done_batches=$(( done_batches + last_batches ))
      cp "$WORK/growth-chunk-$(( done_batches - last_batches )).json" "$WORK/growth-last.json"
    done
    if [ "$done_batches" != "$measured_at" ]; then
      cp "$WORK/growth-last.json" "$WORK/growth-$done_batches.json"
      measure "$done_batches"
      measured_at=$done_batches
    fi
    if [ "$out_of_time" = 1 ]; then
      say "growth: BENCH_GROWTH_BUDGET=${BENCH_GROWTH_BUDGET}s spent after $done_batches micro-batches (target $target): stopped there"
      echo "$done_batches $target" >"$WORK/growth-truncated"
      break
    fi
  done
  if [ "$BENCH_COMPACT" = 1 ]; then
    say "maintenance (lakeloader maintain: Spark's Iceberg procedures) of every table"
    /usr/bin/time -f '%e %M' -o "$WORK/maintain.time" node "$BENCH_CLI" --config "$WORK/config" maintain --source "$SOURCE" >"$WORK/maintain.txt" 2>"$WORK/maintain.log" \
      || { tail -5 "$WORK/maintain.log" >&2; die "lakeloader maintain failed"; }
    say "maintain: $(cut -d' ' -f1 "$WORK/maintain.time")s, peak RSS of lakeloader $(( $(cut -d' ' -f2 "$WORK/maintain.time") / 1024 )) MiB"
    measure compacted
    say "after maintenance: 20 more micro-batches, then Iceberg = PostgreSQL"
    growth_batches 20 after-compaction
    helper verify --config "$WORK/config" --namespace "$NAMESPACE" >"$WORK/verify-compacted.json" || { cat "$WORK/verify-compacted.json" >&2; die "Iceberg differs from PostgreSQL after the compaction"; }
  fi
fi

# 7. Results.
commit=$(code_commit)
BENCH_SCHEMAS="$BENCH_SCHEMAS" BENCH_GROWTH_EVENTS="$BENCH_GROWTH_EVENTS" BENCH_GROWTH_BUDGET="$BENCH_GROWTH_BUDGET" BENCH_COMPARE_CLI="$BENCH_COMPARE_CLI" BENCH_CLI="$BENCH_CLI" BENCH_ROWS="$BENCH_ROWS" BENCH_WORK="$WORK" BENCH_COMMIT="$commit" BENCH_LOAD_BASELINE="$load_baseline" BENCH_LOAD_APPLY="$load_apply" \
BENCH_APPLY_RSS_KIB="$apply_rss_kib" BENCH_APPLY_CPU="$apply_user $apply_sys" BENCH_PUBLISH_SECONDS="$publish_seconds" \
BENCH_TARGET_EPS=$TARGET_EPS BENCH_TARGET_RATIO=$TARGET_RATIO BENCH_TARGET_P95=$TARGET_P95 \
  node --import tsx "$ROOT/bench/cdc/report.ts" >"$WORK/report.txt"
cat "$WORK/report.txt"
[ -n "$BENCH_RESULT" ] && cp "$WORK/result.json" "$BENCH_RESULT"
met=$(json "$WORK/result.json" r.targets_met)
if [ "$met" != true ] && [ "$BENCH_STRICT" = 1 ]; then exit 3; fi
exit 0
