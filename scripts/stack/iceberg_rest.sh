# Apache Iceberg's REST catalog server (the same fixture DuckDB's CI uses), assembled from Maven Central:
# a JDBC catalog on SQLite under $RUN_DIR so tables survive restarts (one pooled connection, WAL and a
# busy timeout: SQLite allows one writer, and concurrent commits otherwise fail with SQLITE_BUSY). Two instances:
#   iceberg-rest     warehouse on the local filesystem   (port LL_REST_PORT)
#   iceberg-rest-s3  warehouse in the MinIO bucket        (port LL_REST_S3_PORT)
ICEBERG_VERSION=1.10.1
ICEBERG_REST_LIB="$CACHE_DIR/iceberg-rest/lib-$ICEBERG_VERSION"

iceberg_rest_install() {
  maven_fetch "$ICEBERG_REST_LIB" \
    "org.apache.iceberg:iceberg-open-api:$ICEBERG_VERSION:jar:test-fixtures" \
    "org.apache.iceberg:iceberg-core:$ICEBERG_VERSION:jar:tests" \
    "org.apache.iceberg:iceberg-core:$ICEBERG_VERSION" \
    "org.apache.iceberg:iceberg-aws:$ICEBERG_VERSION" \
    "software.amazon.awssdk:s3:2.31.78" \
    "software.amazon.awssdk:sts:2.31.78" \
    "software.amazon.awssdk:kms:2.31.78" \
    "software.amazon.awssdk:url-connection-client:2.31.78" \
    "software.amazon.awssdk:apache-client:2.31.78" \
    "org.eclipse.jetty:jetty-servlet:11.0.25" \
    "org.eclipse.jetty:jetty-server:11.0.25" \
    "org.eclipse.jetty:jetty-util:11.0.25" \
    "org.xerial:sqlite-jdbc:3.50.3.0" \
    "org.apache.hadoop:hadoop-common:3.4.1" \
    "org.slf4j:slf4j-simple:2.0.17"
}

# iceberg_rest_instance NAME PORT WAREHOUSE [extra env assignments...]
iceberg_rest_run() {
  local name=$1 port=$2 warehouse=$3; shift 3
  local dir="$RUN_DIR/$name"
  if pid_alive "$dir/pid"; then log "$name already running"; return 0; fi
  require_free_port "$name" "$port"
  mkdir -p "$dir"
  start_daemon "$name" "$dir/pid" "$dir/server.log" env \
    CATALOG_URI="jdbc:sqlite:$dir/catalog.db?journal_mode=WAL&busy_timeout=30000" \
    CATALOG_CLIENTS=1 \
    CATALOG_JDBC_USER=user CATALOG_JDBC_PASSWORD=password \
    CATALOG_WAREHOUSE="$warehouse" \
    CATALOG_REST_PORT="$port" \
    "$@" \
    java -Xmx512m -cp "$ICEBERG_REST_LIB/*" org.apache.iceberg.rest.RESTCatalogServer
  wait_for_port "$name" "$port" 90 "$dir/server.log" "$dir/pid"
  local i
  for i in $(seq 1 60); do curl -sf "http://127.0.0.1:$port/v1/config" >/dev/null && return 0; sleep 0.5; done
  die "$name listens on $port but /v1/config does not answer (log: $dir/server.log)"
}

iceberg_rest_start() {
  mkdir -p "$RUN_DIR/warehouse"
  iceberg_rest_run iceberg-rest "$LL_REST_PORT" "file://$RUN_DIR/warehouse"
  if port_in_use "$LL_MINIO_PORT"; then
    iceberg_rest_run iceberg-rest-s3 "$LL_REST_S3_PORT" "s3://$LL_S3_BUCKET/wh" \
      CATALOG_IO__IMPL=org.apache.iceberg.aws.s3.S3FileIO \
      CATALOG_S3_ENDPOINT="http://127.0.0.1:$LL_MINIO_PORT" \
      CATALOG_S3_PATH__STYLE__ACCESS=true \
      CATALOG_CLIENT_REGION=us-east-1 \
      AWS_ACCESS_KEY_ID="$LL_MINIO_USER" AWS_SECRET_ACCESS_KEY="$LL_MINIO_PASSWORD" AWS_REGION=us-east-1
  else
    log "MinIO is not running on $LL_MINIO_PORT: skipping the S3 catalog (start minio first)"
  fi
}

iceberg_rest_stop() {
  stop_daemon iceberg-rest-s3 "$RUN_DIR/iceberg-rest-s3/pid"
  stop_daemon iceberg-rest "$RUN_DIR/iceberg-rest/pid"
}

iceberg_rest_status() {
  local name port
  for name in iceberg-rest iceberg-rest-s3; do
    port=$LL_REST_PORT; [ "$name" = iceberg-rest-s3 ] && port=$LL_REST_S3_PORT
    if pid_alive "$RUN_DIR/$name/pid"; then
      printf '%-13s http://127.0.0.1:%s   log: %s\n' "$name" "$port" "$RUN_DIR/$name/server.log"
    else
      printf '%-13s not running\n' "$name"
    fi
  done
}
