# MinIO (S3-compatible object store), built from source with `go install` (no Docker, no binary download).
# Sourced by stack.sh; defines minio_install, minio_start, minio_stop, minio_status.
#   cache: $CACHE_DIR/go (GOPATH, module + build cache), $CACHE_DIR/minio/bin/minio (+ .version stamp)
#   run:   $RUN_DIR/minio/{data,minio.log,minio.pid}
# The MinIO repository publishes no semver tags (its tags are RELEASE.<date>), so the Go module proxy only
# knows pseudo-versions; we pin one. Override with LL_MINIO_VERSION (a pseudo-version or a commit hash).

: "${LL_MINIO_VERSION:=v0.0.0-20260212201848-7aac2a2c5b7c}"   # last commit on master (2026-02-12), go 1.24+
: "${LL_MINIO_CONSOLE_PORT:=$((LL_MINIO_PORT + 1))}"
: "${LL_MINIO_BROWSER:=off}"                                  # web console; off saves memory and a port

MINIO_BIN="$CACHE_DIR/minio/bin/minio"
MINIO_RUN="$RUN_DIR/minio"
MINIO_PID="$MINIO_RUN/minio.pid"
MINIO_LOG="$MINIO_RUN/minio.log"
MINIO_ENDPOINT="http://127.0.0.1:$LL_MINIO_PORT"

minio_install() {
  local stamp="$CACHE_DIR/minio/.version"
  if [ -x "$MINIO_BIN" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$LL_MINIO_VERSION" ]; then
    return 0
  fi
  command -v go >/dev/null || die "minio: Go is required to build MinIO (go install github.com/minio/minio@$LL_MINIO_VERSION)"
  local gobin="$CACHE_DIR/minio/bin.tmp" started
  rm -rf "$gobin"; mkdir -p "$gobin" "$CACHE_DIR/go"
  started=$(date +%s)
  log "building MinIO $LL_MINIO_VERSION with $(go env GOVERSION) (cold build: several minutes; cached in $CACHE_DIR/go)"
  # CGO off like MinIO's release builds (static binary, no C toolchain needed). The version shows up as
  # `minio --version` commit-id (go install has no VCS info; release builds set it via ldflags too).
  # -modcacherw keeps the module cache deletable with plain rm -rf.
  env GOPATH="$CACHE_DIR/go" GOMODCACHE="$CACHE_DIR/go/pkg/mod" GOCACHE="$CACHE_DIR/go/build-cache" \
      GOBIN="$gobin" CGO_ENABLED=0 GOFLAGS="-modcacherw -buildvcs=false" \
      go install -trimpath -ldflags "-s -w -X github.com/minio/minio/cmd.CommitID=$LL_MINIO_VERSION" \
        "github.com/minio/minio@$LL_MINIO_VERSION" \
    || die "minio: go install github.com/minio/minio@$LL_MINIO_VERSION failed (see output above)"
  mkdir -p "$(dirname "$MINIO_BIN")"
  mv -f "$gobin/minio" "$MINIO_BIN"
  rm -rf "$gobin"
  echo "$LL_MINIO_VERSION" > "$stamp"
  log "MinIO built in $(( $(date +%s) - started ))s: $MINIO_BIN ($(du -h "$MINIO_BIN" | cut -f1))"
}

# _minio_alive: our recorded pid is a live (not zombie) minio process (guards against stale pid files / pid reuse).
_minio_alive() {
  pid_alive "$MINIO_PID" || return 1
  local pid; pid=$(cat "$MINIO_PID")
  [ -r "/proc/$pid/cmdline" ] || return 0   # no procfs: trust kill -0
  grep -qa minio "/proc/$pid/cmdline" && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$pid/stat" 2>/dev/null
}

# _minio_s3 METHOD PATH [curl args...]: signed (SigV4) S3 request; prints the HTTP status, body to $MINIO_RUN/last-response.
_minio_s3() {
  local method=$1 path=$2; shift 2
  rm -f "$MINIO_RUN/last-response"
  curl -sS -o "$MINIO_RUN/last-response" -w '%{http_code}' -X "$method" \
    --aws-sigv4 "aws:amz:us-east-1:s3" --user "$LL_MINIO_USER:$LL_MINIO_PASSWORD" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@" "$MINIO_ENDPOINT/$path" || true   # curl prints 000 itself when it cannot connect
}

_minio_ensure_bucket() {
  local code i
  for i in $(seq 1 20); do
    code=$(_minio_s3 PUT "$LL_S3_BUCKET")
    case "$code" in
      200) log "minio: created bucket $LL_S3_BUCKET"; return 0 ;;
      409) if grep -q BucketAlreadyOwnedByYou "$MINIO_RUN/last-response"; then return 0; fi
           die "minio: bucket $LL_S3_BUCKET exists but is not ours: $(cat "$MINIO_RUN/last-response")" ;;
      503|000|"") sleep 0.5 ;;   # still initialising / not reachable yet
      *) die "minio: creating bucket $LL_S3_BUCKET failed (HTTP $code): $(cat "$MINIO_RUN/last-response")" ;;
    esac
  done
  die "minio: creating bucket $LL_S3_BUCKET failed (HTTP $code) after retries: $(cat "$MINIO_RUN/last-response" 2>/dev/null)"
}

minio_start() {
  mkdir -p "$MINIO_RUN/data"
  if _minio_alive; then
    log "minio already running (pid $(cat "$MINIO_PID"))"
    _minio_ensure_bucket
    return 0
  fi
  [ -x "$MINIO_BIN" ] || die "minio: $MINIO_BIN missing (run: scripts/stack/stack.sh install minio)"
  require_free_port minio "$LL_MINIO_PORT"
  [ "$LL_MINIO_BROWSER" = off ] || require_free_port "minio console" "$LL_MINIO_CONSOLE_PORT"
  start_daemon minio "$MINIO_PID" "$MINIO_LOG" \
    env MINIO_ROOT_USER="$LL_MINIO_USER" MINIO_ROOT_PASSWORD="$LL_MINIO_PASSWORD" \
        MINIO_BROWSER="$LL_MINIO_BROWSER" MINIO_UPDATE=off MINIO_CALLHOME_ENABLE=off \
        MINIO_REGION=us-east-1 \
    "$MINIO_BIN" server --anonymous \
      --address "127.0.0.1:$LL_MINIO_PORT" --console-address "127.0.0.1:$LL_MINIO_CONSOLE_PORT" \
      "$MINIO_RUN/data"
  local i=0
  until curl -fsS -o /dev/null "$MINIO_ENDPOINT/minio/health/live" 2>/dev/null; do
    i=$((i + 1))
    if ! _minio_alive || [ "$i" -gt 120 ]; then
      tail -n 40 "$MINIO_LOG" >&2 || true
      _minio_alive || die "minio exited during startup (log: $MINIO_LOG)"
      die "minio not healthy on $MINIO_ENDPOINT within 60s (log: $MINIO_LOG)"
    fi
    sleep 0.5
  done
  _minio_ensure_bucket
  log "minio healthy on $MINIO_ENDPOINT"
}

minio_stop() {
  if _minio_alive; then stop_daemon minio "$MINIO_PID"; else rm -f "$MINIO_PID"; fi
}

minio_status() {
  if _minio_alive; then
    echo "minio: $MINIO_ENDPOINT (S3, region us-east-1, path-style) bucket=$LL_S3_BUCKET user=$LL_MINIO_USER pid=$(cat "$MINIO_PID") log=$MINIO_LOG"
  else
    echo "minio: not running"
  fi
}
