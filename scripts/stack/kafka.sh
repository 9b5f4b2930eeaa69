# Kafka: one KRaft node (broker + controller in one JVM), jars from Maven Central. Sourced by stack.sh.
# Kafka 4.1.x because Debezium 3.4 (connect.sh) is built and tested against it; both run on Java 17.

KAFKA_VERSION=4.1.1
KAFKA_LOG4J_VERSION=2.24.3
KAFKA_LIB="$CACHE_DIR/kafka/lib"
KAFKA_RUN="$RUN_DIR/kafka"
KAFKA_PID="$KAFKA_RUN/kafka.pid"
KAFKA_LOG="$KAFKA_RUN/kafka.log"
: "${LL_KAFKA_HEAP:=-Xms256m -Xmx512m}"

kafka_install() {
  # kafka-tools brings the CLI classes (ConsoleConsumer, TopicCommand) used by tests and humans.
  # Maven has no Kafka distribution, so the log4j2 binding the tarball bundles is added here.
  maven_fetch "$KAFKA_LIB" \
    "org.apache.kafka:kafka_2.13:$KAFKA_VERSION" \
    "org.apache.kafka:kafka-tools:$KAFKA_VERSION" \
    "org.apache.logging.log4j:log4j-core:$KAFKA_LOG4J_VERSION" \
    "org.apache.logging.log4j:log4j-slf4j-impl:$KAFKA_LOG4J_VERSION"
}

# kafka_cmd LOG4J_CONFIG HEAP_FLAGS: set KAFKA_CMD to the JVM command line shared by broker and CLI tools.
kafka_cmd() {
  local heap; read -ra heap <<<"$2"
  KAFKA_CMD=(java "${heap[@]}" -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$1" -cp "$KAFKA_LIB/*")
}

# kafka_tool CLASS ARGS...: run a Kafka CLI class, e.g. org.apache.kafka.tools.consumer.ConsoleConsumer
# or org.apache.kafka.tools.TopicCommand. Its logging goes to stderr at WARN, so stdout is the output.
kafka_tool() {
  mkdir -p "$KAFKA_RUN"
  cat > "$KAFKA_RUN/tools-log4j2.properties" <<'EOF'
appender.err.type=Console
appender.err.name=STDERR
appender.err.target=SYSTEM_ERR
appender.err.layout.type=PatternLayout
appender.err.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=WARN
rootLogger.appenderRef.err.ref=STDERR
EOF
  kafka_cmd "$KAFKA_RUN/tools-log4j2.properties" "-Xmx256m"
  "${KAFKA_CMD[@]}" "$@"
}

kafka_write_config() {
  mkdir -p "$KAFKA_RUN/data"
  # Static voter list (not --standalone's dynamic quorum): the controller port can then change
  # between runs without reformatting.
  cat > "$KAFKA_RUN/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$LL_KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$LL_KAFKA_PORT,CONTROLLER://127.0.0.1:$LL_KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$LL_KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_RUN/data
num.partitions=1
# one partition per internal topic (default 50): fewer files, faster start on a dev box
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
# single node: no need to wait for a consumer group to fill up
group.initial.rebalance.delay.ms=0
log.retention.hours=168
EOF
  # stdout only: start_daemon sends it to the log file
  cat > "$KAFKA_RUN/log4j2.properties" <<'EOF'
appender.out.type=Console
appender.out.name=STDOUT
appender.out.layout.type=PatternLayout
appender.out.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=INFO
rootLogger.appenderRef.out.ref=STDOUT
logger.state.name=state.change.logger
logger.state.level=WARN
logger.raft.name=org.apache.kafka.raft
logger.raft.level=WARN
EOF
}

kafka_start() {
  if pid_alive "$KAFKA_PID"; then
    log "kafka already running (pid $(cat "$KAFKA_PID"))"
    return 0
  fi
  require_free_port kafka "$LL_KAFKA_PORT"
  require_free_port "kafka controller" "$LL_KAFKA_CONTROLLER_PORT"
  kafka_write_config
  # Format once; meta.properties marks a formatted log dir, so data survives restarts.
  if [ ! -f "$KAFKA_RUN/data/meta.properties" ]; then
    local cluster_id
    cluster_id=$(kafka_tool kafka.tools.StorageTool random-uuid)
    [[ $cluster_id =~ ^[A-Za-z0-9_-]{22}$ ]] || die "kafka: unexpected cluster id '$cluster_id'"
    log "formatting kafka storage (cluster id $cluster_id)"
    kafka_tool kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_RUN/server.properties" >>"$KAFKA_LOG" 2>&1 \
      || { tail -n 20 "$KAFKA_LOG" >&2; die "kafka storage format failed (log: $KAFKA_LOG)"; }
  fi
  kafka_cmd "$KAFKA_RUN/log4j2.properties" "$LL_KAFKA_HEAP"
  start_daemon kafka "$KAFKA_PID" "$KAFKA_LOG" "${KAFKA_CMD[@]}" kafka.Kafka "$KAFKA_RUN/server.properties"
  wait_for_port kafka "$LL_KAFKA_PORT" 90 "$KAFKA_LOG"
}

kafka_stop() { stop_daemon kafka "$KAFKA_PID"; }

kafka_status() {
  if pid_alive "$KAFKA_PID"; then
    echo "kafka: running on 127.0.0.1:$LL_KAFKA_PORT (controller 127.0.0.1:$LL_KAFKA_CONTROLLER_PORT), pid $(cat "$KAFKA_PID"), log $KAFKA_LOG"
  else
    echo "kafka: not running"
  fi
}
