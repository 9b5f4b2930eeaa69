# A Python virtualenv with pyiceberg + pyarrow: the independent reader tests use to check what we wrote.
PYENV_DIR="$STACK_DIR/venv"
PYICEBERG_VERSION=0.12.0

pyenv_install() {
  [ -f "$PYENV_DIR/.complete-$PYICEBERG_VERSION" ] && return 0
  log "creating Python virtualenv with pyiceberg $PYICEBERG_VERSION"
  python3 -m venv "$PYENV_DIR" || die "python3 -m venv failed (install python3-venv)"
  "$PYENV_DIR/bin/pip" install -q --cache-dir "$CACHE_DIR/pip" "pyiceberg[pyarrow,sql-sqlite]==$PYICEBERG_VERSION" \
    || die "pip install pyiceberg failed"
  touch "$PYENV_DIR/.complete-$PYICEBERG_VERSION"
}
pyenv_start() { :; }
pyenv_stop() { :; }
pyenv_status() { printf '%-13s %s\n' pyiceberg "$PYENV_DIR/bin/python ($( [ -x "$PYENV_DIR/bin/python" ] && "$PYENV_DIR/bin/python" -c 'import pyiceberg; print(pyiceberg.__version__)' 2>/dev/null || echo 'not installed'))"; }
