# PostgreSQL (Debian packages) as the replication source: its own cluster under $RUN_DIR, on loopback,
# configured for logical decoding so the bulk load can create a slot and Debezium can stream from it.
PG_BIN_DIR=""

postgres_bin() {
  if [ -z "$PG_BIN_DIR" ]; then
    PG_BIN_DIR=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  fi
  [ -n "$PG_BIN_DIR" ] && [ -x "$PG_BIN_DIR/pg_ctl" ]
}

postgres_install() {
  postgres_bin && return 0
  log "installing PostgreSQL from Debian packages"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql postgresql-contrib >/dev/null \
    || die "apt-get install postgresql failed"
  PG_BIN_DIR=""; postgres_bin || die "PostgreSQL binaries not found after install"
}

postgres_dir() { echo "$RUN_DIR/postgres"; }

# Postgres refuses to run as root: run it as an unprivileged user when we are root.
postgres_as() {
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

postgres_start() {
  postgres_bin || postgres_install
  local dir; dir=$(postgres_dir)
  local data="$dir/data" logfile="$dir/postgres.log"
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown -R postgres "$dir" 2>/dev/null || true
  if [ -f "$data/postmaster.pid" ] && postgres_as "$PG_BIN_DIR/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    log "postgres already running"; postgres_ensure_role; return 0
  fi
  require_free_port postgres "$LL_PG_PORT"
  if [ ! -f "$data/PG_VERSION" ]; then
    postgres_as "$PG_BIN_DIR/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --encoding=UTF8 --locale=C.UTF-8 >/dev/null || die "initdb failed"
    cat >> "$data/postgresql.conf" <<CONF
# lakeloader local stack
listen_addresses = '127.0.0.1'
port = $LL_PG_PORT
unix_socket_directories = '$dir'
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
max_connections = 200
shared_buffers = 512MB
synchronous_commit = off
fsync = off
full_page_writes = off
CONF
    cat > "$data/pg_hba.conf" <<HBA
local all all trust
host all all 127.0.0.1/32 scram-sha-256
host replication all 127.0.0.1/32 scram-sha-256
HBA
  fi
  postgres_as "$PG_BIN_DIR/pg_ctl" -D "$data" -l "$logfile" -w -t 60 start >/dev/null || { tail -20 "$logfile" >&2; die "postgres failed to start (log: $logfile)"; }
  postgres_ensure_role
  log "postgres listening on 127.0.0.1:$LL_PG_PORT"
}

# role + database, idempotently: REPLICATION so the loader can create slots and export snapshots
postgres_ensure_role() {
  local dir; dir=$(postgres_dir)
  postgres_as "$PG_BIN_DIR/psql" -h "$dir" -p "$LL_PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -q <<SQL >/dev/null
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$LL_PG_USER') THEN
    CREATE ROLE "$LL_PG_USER" LOGIN REPLICATION SUPERUSER;
  END IF;
  ALTER ROLE "$LL_PG_USER" PASSWORD '$LL_PG_PASSWORD';
END \$\$;
SELECT 'CREATE DATABASE "$LL_PG_DB" OWNER "$LL_PG_USER"' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$LL_PG_DB')\gexec
SQL
}

postgres_stop() {
  postgres_bin || return 0
  local data; data="$(postgres_dir)/data"
  if [ -f "$data/postmaster.pid" ]; then
    postgres_as "$PG_BIN_DIR/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 && log "postgres stopped" || true
  fi
}

postgres_status() {
  local dir; dir=$(postgres_dir)
  if postgres_bin && [ -f "$dir/data/postmaster.pid" ] && postgres_as "$PG_BIN_DIR/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    echo "postgres      postgresql://$LL_PG_USER@127.0.0.1:$LL_PG_PORT/$LL_PG_DB   log: $dir/postgres.log"
  else
    echo "postgres      not running"
  fi
}
