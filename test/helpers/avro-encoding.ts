/**
 * Debezium events in Avro as Confluent's AvroConverter would write them (AvroData's mapping of Connect
 * schemas and values, the registry's wire format), made from JsonConverter messages. No
 * Confluent-compatible registry or AvroConverter can be installed here (neither is on Maven Central or
 * PyPI), so tests encode the events themselves.
 */
import { avroType, type AvroSchema } from '../../lib/cdc/avro.js';
import { JsonNumber, parseJson } from '../../lib/cdc/debezium.js';

interface JsonConnectSchema {
  type: string;
  optional?: boolean;
  name?: string;
  parameters?: Record<string, string>;
  fields?: (JsonConnectSchema & { field: string })[];
  items?: JsonConnectSchema;
  keys?: JsonConnectSchema;
  values?: JsonConnectSchema;
}

const AVRO_PRIMITIVE: Record<string, string> = {
  int8: 'int', int16: 'int', int32: 'int', int64: 'long', float32: 'float', float64: 'double', float: 'float', double: 'double', boolean: 'boolean', string: 'string', bytes: 'bytes',
};

/** Connect schema → Avro schema as AvroData writes it (connect.* annotations, optional = union with null). */
function toAvro(s: JsonConnectSchema, path: string): AvroSchema {
  const annotations = {
    ...(s.name ? { 'connect.name': s.name } : {}),
    ...(s.parameters && Object.keys(s.parameters).length > 0 ? { 'connect.parameters': s.parameters } : {}),
    ...(s.type === 'int8' || s.type === 'int16' ? { 'connect.type': s.type } : {}),
  };
  let avro: AvroSchema;
  if (s.type === 'struct') {
    avro = { type: 'record', name: path.replace(/[^A-Za-z0-9_]/g, '_'), fields: (s.fields ?? []).map((f) => ({ name: f.field, type: toAvro(f, `${path}_${f.field}`), ...(f.optional ? { default: null } : {}) })), ...annotations };
  } else if (s.type === 'array') {
    avro = { type: 'array', items: toAvro(s.items!, `${path}_item`), ...annotations };
  } else if (s.type === 'map') {
    avro = { type: 'map', values: toAvro(s.values!, `${path}_value`), ...annotations };
  } else {
    avro = { type: AVRO_PRIMITIVE[s.type]!, ...annotations };
  }
  return s.optional ? ['null', avro] : avro;
}

/** A JsonConverter payload value (numbers exact) → the value AvroData would write (bytes from base64, int64 as bigint). */
function toAvroValue(v: unknown, s: JsonConnectSchema): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof JsonNumber) return s.type === 'int64' ? BigInt(v.text) : Number(v.text);
  switch (s.type) {
    case 'struct': return Object.fromEntries((s.fields ?? []).map((f) => [f.field, toAvroValue((v as Record<string, unknown>)[f.field], f)]));
    case 'array': return (v as unknown[]).map((x) => toAvroValue(x, s.items!));
    case 'map': return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, toAvroValue(x, s.values!)]));
    case 'bytes': return Buffer.from(v as string, 'base64');
    case 'float32': case 'float64': case 'float': case 'double': return typeof v === 'string' ? Number(v) : v;
    default: return v;
  }
}

/** Registers the schema under a new id and returns the message in the registry's wire format. */
export function avroEncoder(registry: Map<number, string>) {
  const ids = new Map<string, number>();
  return (jsonMessage: string | null): Buffer | null => {
    if (jsonMessage === null) return null;
    const { schema: exactSchema, payload } = parseJson(jsonMessage) as unknown as { schema: unknown; payload: unknown };
    const schema = JSON.parse(JSON.stringify(exactSchema, (_k, x: unknown) => (x instanceof JsonNumber ? Number(x.text) : x))) as JsonConnectSchema;
    const avroSchema = toAvro(schema, schema.name ?? 'record');
    const text = JSON.stringify(avroSchema);
    let id = ids.get(text);
    if (id === undefined) ids.set(text, (id = registry.size + 1));
    registry.set(id, text);
    const header = Buffer.alloc(5);
    header.writeUInt32BE(id, 1);
    return Buffer.concat([header, avroType(avroSchema).toBuffer(toAvroValue(payload, schema))]);
  };
}

