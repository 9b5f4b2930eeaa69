# Kafka Connect (distributed mode, one worker) with the Debezium PostgreSQL connector. Sourced by stack.sh.
# Distributed rather than standalone so connectors are created and deleted through the REST API;
# needs the kafka component running. Debezium 3.4 is built against Kafka 4.1 and runs on Java 17
# (Debezium >= 3.6 targets Kafka 4.3).

CONNECT_KAFKA_VERSION=4.1.1          # keep equal to KAFKA_VERSION in kafka.sh
CONNECT_LOG4J_VERSION=2.24.3
DEBEZIUM_VERSION=3.4.3.Final
CONNECT_LIB="$CACHE_DIR/connect/lib"
CONNECT_PLUGINS="$CACHE_DIR/connect/plugins"
CONNECT_RUN="$RUN_DIR/connect"
CONNECT_PID="$CONNECT_RUN/connect.pid"
CONNECT_LOG="$CONNECT_RUN/connect.log"
CONNECT_URL="http://127.0.0.1:$LL_CONNECT_PORT"
: "${LL_CONNECT_HEAP:=-Xms256m -Xmx512m}"

connect_install() {
  maven_fetch "$CONNECT_LIB" \
    "org.apache.kafka:connect-runtime:$CONNECT_KAFKA_VERSION" \
    "org.apache.kafka:connect-json:$CONNECT_KAFKA_VERSION" \
    "org.apache.kafka:connect-transforms:$CONNECT_KAFKA_VERSION" \
    "org.apache.logging.log4j:log4j-core:$CONNECT_LOG4J_VERSION" \
    "org.apache.logging.log4j:log4j-slf4j-impl:$CONNECT_LOG4J_VERSION"

  # The plugin is a self-contained tar.gz (its own jars + JDBC driver); fetched alone, without the
  # transitive jars maven_fetch would add, and unpacked into its own plugin.path directory.
  local dest="$CONNECT_PLUGINS/debezium-connector-postgres"
  local stamp="$dest/.version-$DEBEZIUM_VERSION"
  [ -f "$stamp" ] && return 0
  command -v mvn >/dev/null || die "maven (mvn) is required to fetch the Debezium plugin"
  local dl="$CACHE_DIR/connect/download"
  log "fetching from Maven Central: Debezium PostgreSQL connector $DEBEZIUM_VERSION"
  mvn -q -B -C -Dstyle.color=never -Dmaven.repo.local="$CACHE_DIR/m2" dependency:copy \
    -Dartifact="io.debezium:debezium-connector-postgres:$DEBEZIUM_VERSION:tar.gz:plugin" \
    -DoutputDirectory="$dl" \
    || die "maven could not fetch the Debezium PostgreSQL plugin $DEBEZIUM_VERSION"
  rm -rf "$dest"
  mkdir -p "$CONNECT_PLUGINS"
  tar -xzf "$dl/debezium-connector-postgres-$DEBEZIUM_VERSION-plugin.tar.gz" -C "$CONNECT_PLUGINS"
  touch "$stamp"
}

connect_write_config() {
  mkdir -p "$CONNECT_RUN"
  cat > "$CONNECT_RUN/worker.properties" <<EOF
bootstrap.servers=127.0.0.1:$LL_KAFKA_PORT
group.id=lakeloader-connect
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true
# connector configs, source offsets and statuses live in Kafka, so they survive restarts
config.storage.topic=lakeloader-connect-configs
offset.storage.topic=lakeloader-connect-offsets
status.storage.topic=lakeloader-connect-status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
offset.storage.partitions=1
status.storage.partitions=1
# commit source offsets often (default 60s) so a restarted worker replays little
offset.flush.interval.ms=5000
listeners=http://127.0.0.1:$LL_CONNECT_PORT
rest.advertised.host.name=127.0.0.1
rest.advertised.port=$LL_CONNECT_PORT
plugin.path=$CONNECT_PLUGINS
# Kafka's and Debezium's jars all carry ServiceLoader manifests; skipping the reflective scan
# saves ~9s of startup on 2 cores.
plugin.discovery=service_load
EOF
  cat > "$CONNECT_RUN/log4j2.properties" <<'EOF'
# stdout only: start_daemon sends it to the log file
appender.out.type=Console
appender.out.name=STDOUT
appender.out.layout.type=PatternLayout
appender.out.layout.pattern=[%d] %p %X{connector.context}%m (%c)%n
rootLogger.level=INFO
rootLogger.appenderRef.out.ref=STDOUT
EOF
}

connect_start() {
  if pid_alive "$CONNECT_PID"; then
    log "connect already running (pid $(cat "$CONNECT_PID"))"
    return 0
  fi
  port_in_use "$LL_KAFKA_PORT" || die "connect needs kafka on 127.0.0.1:$LL_KAFKA_PORT (stack.sh up kafka connect)"
  require_free_port connect "$LL_CONNECT_PORT"
  connect_write_config
  local heap; read -ra heap <<<"$LL_CONNECT_HEAP"
  start_daemon connect "$CONNECT_PID" "$CONNECT_LOG" \
    java "${heap[@]}" -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true -Duser.timezone=UTC \
      -Dlog4j2.configurationFile="$CONNECT_RUN/log4j2.properties" \
      -cp "$CONNECT_LIB/*" org.apache.kafka.connect.cli.ConnectDistributed "$CONNECT_RUN/worker.properties"
  wait_for_port connect "$LL_CONNECT_PORT" 120 "$CONNECT_LOG"
  # The REST port opens before the worker has joined its group and can serve; ready = plugin listed.
  for _ in $(seq 1 120); do
    curl -fsS "$CONNECT_URL/connector-plugins" 2>/dev/null | grep -q 'io.debezium.connector.postgresql.PostgresConnector' && return 0
    pid_alive "$CONNECT_PID" || { tail -n 40 "$CONNECT_LOG" >&2; die "connect exited during startup (log: $CONNECT_LOG)"; }
    sleep 1
  done
  tail -n 40 "$CONNECT_LOG" >&2
  die "connect REST API did not list PostgresConnector within 120s (log: $CONNECT_LOG)"
}

connect_stop() { stop_daemon connect "$CONNECT_PID"; }

connect_status() {
  if pid_alive "$CONNECT_PID"; then
    echo "connect: running, REST $CONNECT_URL (Debezium $DEBEZIUM_VERSION), pid $(cat "$CONNECT_PID"), log $CONNECT_LOG"
  else
    echo "connect: not running"
  fi
}
