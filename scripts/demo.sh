#!/usr/bin/env bash
# `make demo`: the product end to end on the local stack (which `make up` has started):
# a small shop database in PostgreSQL is bulk-loaded into Iceberg, then read back.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/stack/common.sh
lakeloader() { node dist/jobs/cli.js "$@"; }
export PGPASSWORD="$LL_PG_PASSWORD"
psql_demo() { psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$LL_PG_PORT" -U "$LL_PG_USER" "$LL_PG_DB" "$@"; }

step() { printf '\n\033[1;32m==> %s\033[0m\n' "$*"; }

step "PostgreSQL: (re)create the demo shop database"
# a previous demo's slot pins the old data's WAL: drop it with the data
psql_demo -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'lakeloader_demo_pg' AND NOT active" >/dev/null
psql_demo -f scripts/sql/demo.sql 2>/dev/null

step "lakeloader bulk-load --source demo_pg --dry-run"
lakeloader bulk-load --source demo_pg --dry-run --no-resume

step "lakeloader bulk-load --source demo_pg --no-resume"
lakeloader bulk-load --source demo_pg --no-resume

step "Read back from Iceberg with lakeloader sql"
lakeloader sql "SELECT table_name, load_status, rows_loaded, snapshot_lsn, slot_name FROM bronze.demo_pg._cdc_status ORDER BY table_name"
lakeloader sql "SELECT state, count(*) AS orders, sum(total) AS revenue FROM bronze.demo_pg.orders GROUP BY state ORDER BY state"

step "Debezium connector config generated for CDC: config/debezium_demo_pg.json"
