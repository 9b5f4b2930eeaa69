/**
 * The Debezium PostgreSQL connector config that continues from the bulk load: same slot (its position
 * is the load's snapshot), our publication, no snapshot of its own. Written to config/debezium_<source>.json
 * and applied with `lakeloader connector apply`.
 */
import type { PostgresSourceConfig } from '../config/schema.js';

export function debeziumConnectorConfig(
  sourceName: string,
  source: PostgresSourceConfig,
  options: { slotName: string; publicationName: string },
): { name: string; config: Record<string, string> } {
  const c = source.connection;
  return {
    name: `lakeloader-${sourceName}`,
    config: {
      'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
      'tasks.max': '1',
      'database.hostname': c.host,
      'database.port': String(c.port),
      'database.user': c.user,
      // the secret stays out of the file: `lakeloader connector apply` fills it in from sources.yaml
      'database.password': '<set by lakeloader connector apply>',
      'database.dbname': c.database,
      'plugin.name': 'pgoutput',
      'slot.name': options.slotName,
      'publication.name': options.publicationName,
      'publication.autocreate.mode': 'disabled',
      'topic.prefix': source.kafka?.topic_prefix ?? sourceName,
      // the publication decides which tables stream; the schema-wide list lets a table added to the
      // publication later reach Kafka (and become a cdc_only table) without reconfiguring Debezium
      'table.include.list': source.schemas.map((s) => `${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\..*`).join(','),
      // the bulk load already holds the snapshot: stream from the slot's position only
      'snapshot.mode': 'no_data',
      // string keeps every numeric exactly (trailing zeros, NaN, ±Infinity); precise loses some
      'decimal.handling.mode': 'string',
      'include.unknown.datatypes': 'true',
      'time.precision.mode': 'adaptive_time_microseconds',
      'interval.handling.mode': 'string',
      'hstore.handling.mode': 'json',
      'binary.handling.mode': 'bytes',
      // keeps the slot's confirmed position moving when the loaded tables are quiet (WAL can be freed,
      // and validate --wait-for-lsn can prove CDC caught up)
      'heartbeat.interval.ms': '10000',
      // Debezium skips TRUNCATE by default; CDC must empty the table too
      'skipped.operations': 'none',
      'tombstones.on.delete': 'true',
      // source column types in the event schema: CDC maps new columns exactly like the bulk load
      'column.propagate.source.type': '.*',
      'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'key.converter.schemas.enable': String(source.kafka?.schemas_enable ?? true),
      'value.converter.schemas.enable': String(source.kafka?.schemas_enable ?? true),
    },
  };
}
