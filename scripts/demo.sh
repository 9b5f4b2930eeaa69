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
# a previous demo's connector and slot pin the old data's WAL: remove them with the data
[ -f config/debezium_demo_pg.json ] && lakeloader connector delete --source demo_pg >/dev/null 2>&1 || true
psql_demo -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'lakeloader_demo_pg' AND NOT active" >/dev/null
psql_demo -f scripts/sql/demo.sql 2>/dev/null

step "lakeloader bulk-load --source demo_pg --dry-run"
lakeloader bulk-load --source demo_pg --dry-run --no-resume

step "lakeloader bulk-load --source demo_pg --no-resume"
lakeloader bulk-load --source demo_pg --no-resume

step "Read back from Iceberg with lakeloader sql"
lakeloader sql "SELECT table_name, load_status, rows_loaded, snapshot_lsn, slot_name FROM bronze.demo_pg._cdc_status ORDER BY table_name"
lakeloader sql "SELECT state, count(*) AS orders, sum(total) AS revenue FROM bronze.demo_pg.orders GROUP BY state ORDER BY state"

step "CDC: lakeloader connector apply --source demo_pg (Debezium streams the load's slot into Kafka)"
lakeloader connector apply --source demo_pg

step "PostgreSQL: a customer changes e-mail, order 7 ships, order 8 is deleted, a new customer signs up"
psql_demo <<'SQL'
UPDATE customers SET email = 'new-address@example.com' WHERE id = 42;
UPDATE orders SET state = 'shipped', note = 'shipped by the demo' WHERE id = 7;
DELETE FROM order_items WHERE order_id = 8;
DELETE FROM orders WHERE id = 8;
INSERT INTO customers (id, email, name, country) VALUES (5001, 'hello@example.com', 'Demo Newcomer', 'DE');
SQL

step "lakeloader cdc --source demo_pg --exit-when-idle 5 (applies the changes, exits when caught up)"
lakeloader cdc --source demo_pg --exit-when-idle 5 --metrics-port 0

step "The changes, read back from Iceberg"
lakeloader sql "SELECT id, email, name FROM bronze.demo_pg.customers WHERE id IN (42, 5001) ORDER BY id"
lakeloader sql "SELECT id, state, note FROM bronze.demo_pg.orders WHERE id IN (7, 8) ORDER BY id"
lakeloader sql "SELECT table_name, load_status, last_applied_lsn, events_applied FROM bronze.demo_pg._cdc_status WHERE events_applied > 0 ORDER BY table_name"
lakeloader status --source demo_pg || true
