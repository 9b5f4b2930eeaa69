# DuckDB's iceberg, avro and httpfs extensions, which DuckDB cannot download here: taken from the PyPI
# wheels duckdb-extension-<name>==<version> and laid out as a local extension repository
#   .stack/duckdb/extensions/v<version>/<platform>/<name>.duckdb_extension
# which lib/lakehouse loads. The version must equal the DuckDB of @duckdb/node-api (package.json).
DUCKDB_EXT_DIR="$STACK_DIR/duckdb/extensions"

duckdb_version() {
  # "@duckdb/node-api": "1.5.5-r.5" -> 1.5.5
  sed -n 's/.*"@duckdb\/node-api": *"\([0-9.]*\)-r\..*/\1/p' "$ROOT_DIR/package.json"
}

duckdb_ext_install() {
  local version; version=$(duckdb_version)
  [ -n "$version" ] || die "cannot read the @duckdb/node-api version from package.json"
  local platform=linux_amd64; [ "$(uname -m)" = aarch64 ] && platform=linux_arm64
  local target="$DUCKDB_EXT_DIR/v$version/$platform" wheels="$CACHE_DIR/duckdb-wheels/$version"
  local name missing=0
  for name in iceberg avro httpfs; do [ -f "$target/$name.duckdb_extension" ] || missing=1; done
  [ "$missing" -eq 0 ] && return 0
  mkdir -p "$target" "$wheels"
  log "downloading DuckDB $version extensions (iceberg, avro, httpfs) from PyPI"
  python3 -m pip download -q --no-deps --only-binary=:all: --dest "$wheels" \
    "duckdb-extension-iceberg==$version" "duckdb-extension-avro==$version" "duckdb-extension-httpfs==$version" \
    || die "pip could not download duckdb-extension-*==$version: PyPI must carry wheels for the DuckDB version pinned in package.json"
  for name in iceberg avro httpfs; do
    local whl; whl=$(ls "$wheels"/duckdb_extension_"$name"-"$version"-*.whl | head -n 1)
    python3 - "$whl" "$name" "$version" "$target" <<'PY' || die "wheel $whl does not hold $name.duckdb_extension for v$version"
import sys, zipfile
whl, name, version, target = sys.argv[1:]
with zipfile.ZipFile(whl) as z:
    member = next(m for m in z.namelist() if m.endswith(f"extensions/v{version}/{name}.duckdb_extension"))
    with z.open(member) as src, open(f"{target}/{name}.duckdb_extension", "wb") as dst:
        dst.write(src.read())
PY
  done
  log "DuckDB extensions installed in $target"
}

duckdb_ext_start() { :; }
duckdb_ext_stop() { :; }
duckdb_ext_status() {
  local version; version=$(duckdb_version)
  printf '%-13s %s\n' duckdb-ext "$(ls "$DUCKDB_EXT_DIR/v$version"/*/ 2>/dev/null | tr '\n' ' ' || echo 'not installed')"
}
