# Shared helpers for the local stack scripts. Sourced, never executed.
# Layout (all git-ignored):
#   $STACK_DIR/cache/<component>/...   downloads, kept between runs (CI caches this)
#   $STACK_DIR/run/<component>/...     data, config, logs, pid of a running service
set -euo pipefail

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK_DIR="${LAKELOADER_STACK_DIR:-$ROOT_DIR/.stack}"
# Downloads may live outside the clone (LAKELOADER_CACHE_DIR) so fresh clones reuse them.
CACHE_DIR="${LAKELOADER_CACHE_DIR:-$STACK_DIR/cache}"
RUN_DIR="$STACK_DIR/run"
mkdir -p "$CACHE_DIR" "$RUN_DIR"

# Ports (override with env).
: "${LL_PG_PORT:=55432}"
: "${LL_REST_PORT:=8181}"       # Iceberg REST catalog, local filesystem warehouse
: "${LL_REST_S3_PORT:=8182}"    # Iceberg REST catalog, S3 (MinIO) warehouse
: "${LL_MINIO_PORT:=9000}"
: "${LL_KAFKA_PORT:=9092}"
: "${LL_KAFKA_CONTROLLER_PORT:=9093}"
: "${LL_CONNECT_PORT:=8083}"
: "${LL_MINIO_USER:=lakeloader}"
: "${LL_MINIO_PASSWORD:=lakeloader-secret}"
: "${LL_S3_BUCKET:=warehouse}"
: "${LL_PG_USER:=lakeloader}"
: "${LL_PG_PASSWORD:=lakeloader-local-pw}"
: "${LL_PG_DB:=demo}"

log()  { printf '\033[1;34m[stack]\033[0m %s\n' "$*" >&2; }
die()  { printf '\033[1;31m[stack] ERROR:\033[0m %s\n' "$*" >&2; exit 1; }

# port_in_use PORT -> 0 if something listens on 127.0.0.1:PORT
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# require_free_port NAME PORT: fail clearly if a port we are about to bind is taken.
require_free_port() {
  if port_in_use "$2"; then
    die "$1 cannot start: port $2 on 127.0.0.1 is already in use (set the matching LL_*_PORT to another port, or stop whatever listens there: ss -ltnp 'sport = :$2')"
  fi
}

# wait_for_port NAME PORT TIMEOUT_SECONDS LOGFILE [PIDFILE]: fails early when the process died.
wait_for_port() {
  local name=$1 port=$2 timeout=$3 logfile=${4:-} pidfile=${5:-}
  local i=0
  while ! port_in_use "$port"; do
    i=$((i + 1))
    if [ -n "$pidfile" ] && ! pid_alive "$pidfile"; then
      [ -n "$logfile" ] && tail -n 40 "$logfile" >&2 || true
      die "$name exited before listening on port $port (log: $logfile)"
    fi
    if [ "$i" -gt $((timeout * 2)) ]; then
      [ -n "$logfile" ] && tail -n 40 "$logfile" >&2 || true
      die "$name did not listen on port $port within ${timeout}s (log: $logfile)"
    fi
    sleep 0.5
  done
}

# pid_alive PIDFILE
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# start_daemon NAME PIDFILE LOGFILE CMD...: start CMD detached (own session), record its pid.
start_daemon() {
  local name=$1 pidfile=$2 logfile=$3; shift 3
  mkdir -p "$(dirname "$pidfile")" "$(dirname "$logfile")"
  setsid nohup "$@" >>"$logfile" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  log "$name started (pid $(cat "$pidfile"), log $logfile)"
}

# stop_daemon NAME PIDFILE: stop only what we started (by recorded pid), TERM then KILL.
stop_daemon() {
  local name=$1 pidfile=$2
  if pid_alive "$pidfile"; then
    local pid; pid=$(cat "$pidfile")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    log "$name stopped"
  fi
  rm -f "$pidfile"
}

# maven_fetch OUTDIR GROUP:ARTIFACT:VERSION[:TYPE[:CLASSIFIER]]...: resolve artifacts (with deps) from
# Maven Central into OUTDIR using a throwaway pom; idempotent via a stamp file.
maven_fetch() {
  local outdir=$1; shift
  local stamp="$outdir/.complete-$(printf '%s\n' "$@" | sha1sum | cut -c1-12)"
  [ -f "$stamp" ] && return 0
  command -v mvn >/dev/null || die "maven (mvn) is required to fetch $*"
  local work; work=$(mktemp -d)
  local deps=""
  local coord
  for coord in "$@"; do
    local g a v t c
    IFS=: read -r g a v t c <<<"$coord"
    deps+="<dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version>"
    [ -n "${t:-}" ] && deps+="<type>$t</type>"
    [ -n "${c:-}" ] && deps+="<classifier>$c</classifier>"
    deps+="</dependency>"
  done
  cat > "$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>lakeloader.stack</groupId><artifactId>fetch</artifactId><version>1</version><packaging>pom</packaging>
<dependencies>$deps</dependencies></project>
POM
  mkdir -p "$outdir"
  log "fetching from Maven Central: $*"
  (cd "$work" && mvn -q -B -Dstyle.color=never -Dmaven.repo.local="$CACHE_DIR/m2" dependency:copy-dependencies -DoutputDirectory="$outdir" -DincludeScope=runtime) \
    || die "maven could not fetch $* (see output above)"
  rm -rf "$work"
  touch "$stamp"
}
