#!/usr/bin/env bash
# `make bench-soak`: does the CDC consumer keep its speed for months? (issue 10)
#
#   1. benchcdc.items, 1,000,000 rows (bench/cdc/items.sql), bulk-loaded into Iceberg (bench.soak); reads of
#      the freshly loaded table timed (the baseline); its Debezium connector started.
#   2. `lakeloader cdc --trigger-interval BENCH_TRIGGER` runs with the product's default automatic
#      maintenance, while a writer makes small mixed transactions (8 updates, 1 insert, 1 delete), one
#      micro-batch's worth at a time, for BENCH_BATCHES micro-batches.
#   3. every BENCH_EVERY micro-batches (bench/soak/soak.ts): apply p50/p95 of those batches, count(*) and
#      point-lookup time (fresh DuckDB process), live data and delete files, metadata.json and table bytes.
#   4. Iceberg == PostgreSQL at the end (aggregates + sampled rows).
#
# Targets: apply p50 of the last window <= 1.2x the first; reads <= 1.2x the freshly loaded table; files and
# bytes flat after the first maintenance cycles.
# The soak compresses time: at BENCH_TRIGGER=0.3 a micro-batch commits about every 0.5 s, ten times as often as
# at the product's 5 s trigger, so the retention is compressed likewise (BENCH_RETAIN_FOR=5m keeps about as many
# snapshots as retain_for: 1h does at 5 s); every other maintenance setting is the product's default.
# Environment: BENCH_BATCHES=3000  BENCH_EVERY=100  BENCH_ROWS=1000000  BENCH_TRIGGER=0.3  BENCH_RETAIN_FOR=5m  BENCH_KEEP=0
#              BENCH_CLI=dist/jobs/cli.js  BENCH_RESULT=<file> (the JSON lines)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
LOG_TAG=bench-soak

: "${BENCH_BATCHES:=3000}"
: "${BENCH_EVERY:=100}"
: "${BENCH_ROWS:=1000000}"
: "${BENCH_TRIGGER:=0.3}"
: "${BENCH_RETAIN_FOR:=5m}"
: "${BENCH_KEEP:=0}"
: "${BENCH_CLI:=dist/jobs/cli.js}"
: "${BENCH_RESULT:=}"
SOURCE=bench_soak
NAMESPACE=bench.soak
CONNECTOR="lakeloader-$SOURCE"
PREFIX="benchsoak_$(date +%s)"
PYH="$ROOT/bench/cdc/helpers.py"
helper() { node --import tsx "$ROOT/bench/cdc/helpers.ts" "$@"; }

make_work_dir lakeloader-bench-soak "$BENCH_KEEP"
CDC_PID=
cleanup() {
  # CDC_PID is /usr/bin/time's: the consumer is its child
  [ -n "$CDC_PID" ] && { pkill -TERM -P "$CDC_PID" 2>/dev/null; kill "$CDC_PID" 2>/dev/null; } || true
  drop_replication "$SOURCE" "$CONNECTOR"
  if [ "$BENCH_KEEP" = 1 ]; then say "kept: work dir $WORK, namespace $NAMESPACE"; else
    helper topics-delete --prefix benchsoak_ >/dev/null 2>&1 || true
    "$PY" "$PYH" purge --uri "$CATALOG_URI" --namespace "$NAMESPACE" >/dev/null 2>&1 || true
  fi
}
on_exit cleanup

start_stack spark postgres iceberg_rest kafka connect
require_built_cli "make bench-soak"
drop_replication "$SOURCE" "$CONNECTOR"
"$PY" "$PYH" purge --uri "$CATALOG_URI" --namespace "$NAMESPACE"

say "generating benchcdc.items ($BENCH_ROWS rows)"
run_sql_file bench/cdc/items.sql rows="$BENCH_ROWS" marker="lakeloader bench-soak items rows=$BENCH_ROWS"
write_config "$SOURCE" benchcdc.items "$NAMESPACE" "parallel_workers: 1" "parallel_tables: 2" \
  "kafka: {cluster: local, topic_prefix: $PREFIX, schemas_enable: false}" \
  "cdc: {trigger_interval: $BENCH_TRIGGER, metrics_port: 0}" \
  "maintenance: {retain_for: $BENCH_RETAIN_FOR}"
say "bulk load into $NAMESPACE"
lakeloader --log-format json bulk-load --source "$SOURCE" >"$WORK/load.txt" 2>"$WORK/load.log" || { tail -5 "$WORK/load.log" >&2; die "bulk load failed"; }
helper readtime --config "$WORK/config" --namespace "$NAMESPACE" --runs 3 >"$WORK/read-fresh.json"
lakeloader connector apply --source "$SOURCE" >&2

say "soak: $BENCH_BATCHES micro-batches, automatic maintenance with the default policy (retain_for $BENCH_RETAIN_FOR)"
t0=$(now)
/usr/bin/time -f '%M' -o "$WORK/cdc.time" node "$BENCH_CLI" --config "$WORK/config" --log-format json cdc --source "$SOURCE" --metrics-port 0 \
  >"$WORK/cdc.txt" 2>"$WORK/cdc.log" &
CDC_PID=$!
node --import tsx bench/soak/soak.ts --config "$WORK/config" --namespace "$NAMESPACE" --log "$WORK/cdc.log" \
  --batches "$BENCH_BATCHES" --every "$BENCH_EVERY" --rows "$BENCH_ROWS" --baseline "$WORK/read-fresh.json" | tee "$WORK/soak.jsonl"
sleep 10   # the last transactions applied
pkill -TERM -P "$CDC_PID"; wait "$CDC_PID" || true; CDC_PID=
say "consumer peak RSS $(( $(cat "$WORK/cdc.time") / 1024 )) MiB, $(seconds_since "$t0" | cut -d. -f1)s"
grep -c '"component":"maintenance"' "$WORK/cdc.log" | xargs -I{} echo "maintenance log lines: {}" >&2
grep '"component":"maintenance"' "$WORK/cdc.log" | grep -E 'tables in|failed' | tail -20 >&2 || true
helper verify --config "$WORK/config" --namespace "$NAMESPACE" >"$WORK/verify.json" || { cat "$WORK/verify.json" >&2; die "Iceberg differs from PostgreSQL after the soak"; }
say "Iceberg = PostgreSQL after the soak"
[ -n "$BENCH_RESULT" ] && cp "$WORK/soak.jsonl" "$BENCH_RESULT"
exit 0
