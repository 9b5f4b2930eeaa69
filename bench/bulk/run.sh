#!/usr/bin/env bash
# `make bench-bulk`: bulk-load throughput of one 5,000,000-row, 14-column table (bench.trips, ~140 bytes/row)
# from PostgreSQL into Iceberg, against the source's own limit (`COPY bench.trips TO STDOUT` into /dev/null).
# Prints rows/s, the loader's peak RSS (the whole process: main thread, extract workers, DuckDB) and
# loader_seconds / copy_seconds, then appends a row to docs/benchmarks.md. See docs/benchmarks.md.
#
# Environment (all optional):
#   BENCH_ROWS=5000000              rows of bench.trips (regenerated only when missing or different)
#   BENCH_PARALLEL_WORKERS=1        --parallel-workers (tables at once; the benchmark has one table)
#   BENCH_PARALLEL_TABLES=2         --parallel-tables (chunks of the table read at once); a list such as
#                                   "1 2 4" runs the loader once per value against the same baseline
#   BENCH_COPY_RUNS=2               baseline COPY runs; the fastest counts (warm cache, fair to both)
#   BENCH_RECORD=1                  0: do not append to docs/benchmarks.md
#   BENCH_STRICT=0                  1: exit 3 when a target (ratio <= 2.0, peak RSS <= 1 GiB) is missed
#   BENCH_KEEP_WORKDIR=0            1: keep the temp dir (config, loader log) for inspection
#   BENCH_WAIT_IDLE=0               1: before each timed step, wait (up to 10 min) until the CPUs are >= 85 % idle
#                                   over 3 s (a shared machine otherwise skews the timing)
#   BENCH_CLI=dist/jobs/cli.js      the loader to run (e.g. another checkout's build, to compare)
#   BENCH_STAGING_DIR=<temp dir>    --staging-dir (default: inside the temp dir, on the same disk as /tmp)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
LOG_TAG=bench

: "${BENCH_ROWS:=5000000}"
: "${BENCH_PARALLEL_WORKERS:=1}"
: "${BENCH_PARALLEL_TABLES:=2}"
: "${BENCH_COPY_RUNS:=2}"
: "${BENCH_RECORD:=1}"
: "${BENCH_STRICT:=0}"
: "${BENCH_KEEP_WORKDIR:=0}"
: "${BENCH_CLI:=dist/jobs/cli.js}"
: "${BENCH_WAIT_IDLE:=0}"
SOURCE=bench_pg
NAMESPACE=bench.bulk
TARGET_RATIO=2.0
TARGET_RSS_MIB=1024
HELPERS="$ROOT/bench/bulk/helpers.py"
DOC="$ROOT/docs/benchmarks.md"

# idle_pct: percentage of CPU time idle over the next 3 s, all CPUs
idle_pct() {
  local a b
  a=($(head -1 /proc/stat)); sleep 3; b=($(head -1 /proc/stat))
  local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  echo $(( total > 0 ? 100 * idle / total : 100 ))
}
wait_idle() {
  [ "$BENCH_WAIT_IDLE" = 1 ] || return 0
  local i p
  for i in $(seq 1 200); do
    p=$(idle_pct); [ "$p" -ge 85 ] && return 0
    [ $((i % 10)) = 1 ] && say "waiting for an idle machine (CPUs ${p}% idle)"
  done
  say "the machine stayed busy: timing anyway"
}

make_work_dir lakeloader-bench "$BENCH_KEEP_WORKDIR"
: "${BENCH_STAGING_DIR:=$WORK/staging}"
cleanup() {
  # The load leaves a logical replication slot for CDC: drop it (it would retain WAL) and its publication.
  drop_slot_and_publication "$SOURCE"
  # The loaded Iceberg tables go too (the warehouse would keep ~200 MB per run); bench.trips stays as the cache.
  "$PY" "$HELPERS" purge --uri "$CATALOG_URI" --namespace "$NAMESPACE" 2>/dev/null || true
  if [ "$BENCH_KEEP_WORKDIR" = 1 ]; then say "work dir kept: $WORK"; fi
}
on_exit cleanup

# 1. The stack: PostgreSQL, the local-filesystem Iceberg REST catalog, DuckDB extensions, pyiceberg (idempotent).
start_stack postgres iceberg_rest
require_built_cli "make bench-bulk"

# 2. The table, generated once: regenerated only when missing or generated with other parameters.
if trips_table_is_current "$BENCH_ROWS"; then
  say "bench.trips is there ($BENCH_ROWS rows)"
else
  say "generating bench.trips ($BENCH_ROWS rows; about a minute per 5 million)"
  t0=$(now)
  generate_trips_table "$BENCH_ROWS"
  say "generated in $(seconds_since "$t0") s"
fi
read -r heap_bytes bytes_per_row < <(psqlq -AtF ' ' -c "SELECT pg_relation_size('bench.trips'), round(pg_relation_size('bench.trips')::numeric / $BENCH_ROWS, 1)")

# 3. The config: the shipped lakehouse.yaml and kafka_clusters.yaml, one source for the bench schema.
write_config "$SOURCE" bench.trips "$NAMESPACE" "parallel_workers: $BENCH_PARALLEL_WORKERS" "parallel_tables: 2"

# 4. The baseline: the source's own limit, COPY to /dev/null through psql. Fastest of BENCH_COPY_RUNS.
copy_seconds=
for i in $(seq 1 "$BENCH_COPY_RUNS"); do
  wait_idle
  s=$(time_trips_copy)
  say "baseline COPY run $i: ${s}s"
  if is_faster "$s" "$copy_seconds"; then copy_seconds=$s; fi
done

# 5. The loader, once per parallel_tables value: a fresh Iceberg namespace each time, whole process timed.
commit=$(code_commit)
cpu=$(cpu_model)
missed=0
for chunks in $BENCH_PARALLEL_TABLES; do
  "$PY" "$HELPERS" purge --uri "$CATALOG_URI" --namespace "$NAMESPACE"
  say "loader: bulk-load --source $SOURCE --no-resume --parallel-workers $BENCH_PARALLEL_WORKERS --parallel-tables $chunks"
  log="$WORK/loader-$chunks.log"
  wait_idle
  load1=$(load_avg_1m)   # other work on the machine skews the timing: recorded with the result
  t0=$(now)
  set +e
  /usr/bin/time -f '%e %M %U %S' -o "$WORK/time-$chunks" \
    node "$BENCH_CLI" --config "$WORK/config" --log-level debug --log-format json \
      bulk-load --source "$SOURCE" --no-resume --parallel-workers "$BENCH_PARALLEL_WORKERS" --parallel-tables "$chunks" \
      --staging-dir "$BENCH_STAGING_DIR" >"$WORK/summary-$chunks.txt" 2>"$log"
  rc=$?
  set -e
  loader_seconds=$(seconds_since "$t0")
  if [ $rc -ne 0 ]; then tail -20 "$log" >&2; cat "$WORK/summary-$chunks.txt" >&2; die "loader exited with $rc"; fi
  read -r _elapsed max_rss_kib user_s sys_s <"$WORK/time-$chunks"
  grep -q ' completed$' "$WORK/summary-$chunks.txt" || { cat "$WORK/summary-$chunks.txt" >&2; die "the loader did not complete bench.trips"; }

  verify=$("$PY" "$HELPERS" verify --uri "$CATALOG_URI" --namespace "$NAMESPACE" --rows "$BENCH_ROWS") || die "Iceberg row count check failed"
  phases=$("$PY" "$HELPERS" phases --log "$log" --table bench.trips)

  result="$WORK/result-$chunks.json"
  BENCH_VERIFY=$verify BENCH_PHASES=$phases "$PY" - "$result" <<PYEOF
import json, os, sys, datetime
verify = json.loads(os.environ["BENCH_VERIFY"]); phases = json.loads(os.environ["BENCH_PHASES"])
rows = $BENCH_ROWS; copy_s = $copy_seconds; loader_s = $loader_seconds; rss_mib = $max_rss_kib / 1024
extract_s = phases["extract_seconds"]; commit_s = phases["commit_seconds"]
r = {
  "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"), "commit": "$commit",
  "rows": rows, "parallel_workers": $BENCH_PARALLEL_WORKERS, "parallel_tables": $chunks,
  "copy_seconds": copy_s, "loader_seconds": loader_s, "rows_per_second": round(rows / loader_s),
  "ratio": loader_s / copy_s, "peak_rss_mib": rss_mib,
  "loader_cpu_user_seconds": $user_s, "loader_cpu_sys_seconds": $sys_s,
  "extract_seconds": extract_s, "commit_seconds": commit_s, "other_seconds": loader_s - extract_s - commit_s,
  "staged_bytes": phases.get("staged_bytes"), "heap_bytes": $heap_bytes, "heap_bytes_per_row": $bytes_per_row,
  "iceberg": verify, "loadavg_1m_before": $load1, "cpu": "$cpu", "cores": $(nproc), "mem_gib": round($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1048576),
}
r["target_met"] = r["ratio"] <= $TARGET_RATIO and r["peak_rss_mib"] <= $TARGET_RSS_MIB
json.dump(r, open(sys.argv[1], "w"), indent=2)
print(f"""
== bench-bulk: bench.trips -> {verify['table']} ==
rows                {rows:,}  ({r['heap_bytes_per_row']} heap bytes/row, {r['heap_bytes'] / 2**20:.0f} MiB heap)
settings            --parallel-workers {r['parallel_workers']} --parallel-tables {r['parallel_tables']}
copy_seconds        {copy_s:.2f}   (COPY bench.trips TO STDOUT > /dev/null, fastest of $BENCH_COPY_RUNS)
loader_seconds      {loader_s:.2f}   (whole process: start, snapshot, extract, Iceberg commit, exit)
  setup/exit        {r['other_seconds']:.2f}
  extract           {extract_s:.2f}   ({(r['staged_bytes'] or 0) / 2**20:.0f} MiB CSV staged)
  iceberg commit    {commit_s:.2f}   (DuckDB INSERT … read_csv → Parquet, commit; {verify['data_files']} data files, {verify['files_bytes'] / 2**20:.0f} MiB)
rows/s              {r['rows_per_second']:,}
ratio               {r['ratio']:.2f}   (loader_seconds / copy_seconds; target <= $TARGET_RATIO)
peak_rss_mib        {rss_mib:.0f}   (VmHWM of the loader process, all threads; target <= $TARGET_RSS_MIB)
loader cpu          user {r['loader_cpu_user_seconds']:.1f} s, sys {r['loader_cpu_sys_seconds']:.1f} s
iceberg rows        {verify['rows']:,} (pyiceberg)
target              {'met' if r['target_met'] else 'MISSED'}
""")
PYEOF
  [ "$BENCH_RECORD" = 1 ] && "$PY" "$HELPERS" record --doc "$DOC" --result "$result"
  "$PY" -c "import json,sys; sys.exit(0 if json.load(open('$result'))['target_met'] else 1)" || missed=1
done
[ "$BENCH_RECORD" = 1 ] && say "results appended to docs/benchmarks.md"
if [ "$missed" = 1 ] && [ "$BENCH_STRICT" = 1 ]; then exit 3; fi
exit 0
