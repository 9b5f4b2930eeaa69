# Spark in local mode with Iceberg's Spark runtime: the engine that runs Iceberg table maintenance
# (compaction that retires DuckDB's position-delete files, snapshot expiry, orphan removal, manifest
# rewrite) through lib/maintenance/spark/driver.py. Nothing runs in the background: each maintenance
# cycle starts its own Spark driver (spark_start/spark_stop are no-ops).
#   $STACK_DIR/spark-venv                      Python venv with pyspark (brings Spark's own jars)
#   $CACHE_DIR/spark-jars-<iceberg version>    iceberg-spark-runtime + iceberg-aws-bundle (for S3), cached
#   $STACK_DIR/spark/jars                      links to them, where lakeloader looks (maintenance.spark.jars)
SPARK_VERSION=3.5.8
SPARK_ICEBERG_VERSION=1.10.1
SPARK_VENV="$STACK_DIR/spark-venv"
SPARK_JARS="$CACHE_DIR/spark-jars-$SPARK_ICEBERG_VERSION"

spark_install() {
  command -v java >/dev/null || die "spark needs Java 17 (java not found)"
  if [ ! -f "$SPARK_VENV/.complete-$SPARK_VERSION" ]; then
    log "creating Python virtualenv with pyspark $SPARK_VERSION (a ~320 MB download the first time)"
    python3 -m venv "$SPARK_VENV" || die "python3 -m venv failed (install python3-venv)"
    "$SPARK_VENV/bin/pip" install -q --cache-dir "$CACHE_DIR/pip" "pyspark==$SPARK_VERSION" \
      || die "pip install pyspark failed"
    touch "$SPARK_VENV/.complete-$SPARK_VERSION"
  fi
  # The bundles are shaded, self-contained jars: their declared dependencies are not needed at runtime.
  if [ ! -f "$SPARK_JARS/.complete" ]; then
    maven_fetch "$SPARK_JARS/m2-resolved" \
      "org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:$SPARK_ICEBERG_VERSION" \
      "org.apache.iceberg:iceberg-aws-bundle:$SPARK_ICEBERG_VERSION"
    local jar
    for jar in "iceberg-spark-runtime-3.5_2.12-$SPARK_ICEBERG_VERSION.jar" "iceberg-aws-bundle-$SPARK_ICEBERG_VERSION.jar"; do
      [ -f "$SPARK_JARS/m2-resolved/$jar" ] || die "maven did not deliver $jar into $SPARK_JARS/m2-resolved"
      ln -sf "m2-resolved/$jar" "$SPARK_JARS/$jar"
    done
    touch "$SPARK_JARS/.complete"
  fi
  mkdir -p "$STACK_DIR/spark/jars"
  ln -sf "$SPARK_JARS/iceberg-spark-runtime-3.5_2.12-$SPARK_ICEBERG_VERSION.jar" "$SPARK_JARS/iceberg-aws-bundle-$SPARK_ICEBERG_VERSION.jar" "$STACK_DIR/spark/jars/"
}

spark_start() { :; }
spark_stop() { :; }

spark_status() {
  local v='not installed'
  [ -f "$SPARK_VENV/.complete-$SPARK_VERSION" ] && v="pyspark $("$SPARK_VENV/bin/python" -c 'import pyspark; print(pyspark.__version__)' 2>/dev/null || echo '?')"
  local j='jars missing'
  [ -f "$SPARK_JARS/.complete" ] && j="jars in $SPARK_JARS"
  printf '%-13s %s (%s), %s\n' spark "$SPARK_VENV/bin/python" "$v" "$j"
}
