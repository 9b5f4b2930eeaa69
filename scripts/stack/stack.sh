#!/usr/bin/env bash
# The local lakehouse stack, without Docker: install (cached, idempotent) and start/stop each service.
#   scripts/stack/stack.sh up     [component...]
#   scripts/stack/stack.sh down   [component...]
#   scripts/stack/stack.sh status [component...]
#   scripts/stack/stack.sh install [component...]   (download/build only)
# Each component is scripts/stack/<name>.sh defining <name>_install, <name>_start, <name>_stop, <name>_status.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ALL_COMPONENTS=(duckdb_ext pyenv spark postgres minio iceberg_rest kafka connect)
action=${1:-status}; shift || true
components=("$@"); [ ${#components[@]} -eq 0 ] && components=("${ALL_COMPONENTS[@]}")

for c in "${components[@]}"; do
  [ -f "$ROOT_DIR/scripts/stack/$c.sh" ] || die "unknown component '$c' (known: ${ALL_COMPONENTS[*]})"
  source "$ROOT_DIR/scripts/stack/$c.sh"
done

case "$action" in
  install) for c in "${components[@]}"; do "${c}_install"; done ;;
  up)
    started=$(date +%s)
    for c in "${components[@]}"; do "${c}_install"; "${c}_start"; done
    log "stack up in $(( $(date +%s) - started ))s"
    for c in "${components[@]}"; do "${c}_status"; done ;;
  down)
    # reverse order: dependants first
    for (( i=${#components[@]}-1; i>=0; i-- )); do "${components[$i]}_stop"; done ;;
  status) for c in "${components[@]}"; do "${c}_status"; done ;;
  *) die "usage: stack.sh up|down|status|install [component...]" ;;
esac
