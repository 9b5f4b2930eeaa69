/**
 * Debezium events in Avro through a Confluent-compatible schema registry (the AvroConverter's wire
 * format: magic byte 0, a 4-byte schema id, the Avro binary). Writer schemas are fetched ahead of a
 * micro-batch's decoding (decoding is synchronous) and cached by id. The Avro schema is translated back
 * to the Kafka Connect schema it came from (AvroData keeps `connect.name`, `connect.parameters`,
 * `connect.type`), and values come out as the JS forms the Debezium decoder takes: int64 as bigint,
 * bytes as Buffer.
 */
import avro from 'avsc';
import { errorMessage } from '../errors.js';
import type { ConnectSchema, ConnectType, DecodedMessage, MessageDecoder } from './debezium.js';

const MAGIC = 0;

/** int64 as bigint: a JS number would round LSNs, ids and microsecond timestamps beyond 2^53. */
const bigintLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(n);
    return buf;
  },
  fromJSON: (n: number | string) => BigInt(n),
  toJSON: (n: bigint) => Number(n),
  isValid: (n: unknown) => typeof n === 'bigint',
  compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
});

interface RegisteredSchema {
  type: avro.Type;
  connect: ConnectSchema;
}

/** Where writer schemas come from: `GET <url>/schemas/ids/<id>` of a Confluent-compatible registry. */
export interface SchemaSource {
  schema(id: number): Promise<string>;
}

export function registrySchemaSource(registry: { url: string; username?: string | undefined; password?: string | undefined }): SchemaSource {
  const auth = registry.username ? `Basic ${Buffer.from(`${registry.username}:${registry.password ?? ''}`).toString('base64')}` : undefined;
  return {
    async schema(id: number): Promise<string> {
      const url = `${registry.url.replace(/\/$/, '')}/schemas/ids/${id}`;
      const response = await fetch(url, { headers: { accept: 'application/vnd.schemaregistry.v1+json', ...(auth ? { authorization: auth } : {}) } });
      if (!response.ok) throw new Error(`schema registry ${url}: HTTP ${response.status} ${await response.text().catch(() => '')}`.trim());
      const body = (await response.json()) as { schema?: string; schemaType?: string };
      if (body.schemaType && body.schemaType !== 'AVRO') throw new Error(`schema ${id} is ${body.schemaType}, not AVRO`);
      if (typeof body.schema !== 'string') throw new Error(`schema registry ${url}: no schema in the answer`);
      return body.schema;
    },
  };
}

export class AvroDecoder implements MessageDecoder {
  private readonly schemas = new Map<number, RegisteredSchema>();
  /** Why a schema could not be had; it is asked for again with the next batch that needs it. */
  private readonly failed = new Map<number, string>();

  constructor(private readonly source: SchemaSource) {}

  /** The schema id of a message in the registry's wire format, else undefined. */
  static schemaId(bytes: Buffer | null): number | undefined {
    return bytes && bytes.length >= 5 && bytes[0] === MAGIC ? bytes.readUInt32BE(1) : undefined;
  }

  /** Fetches the writer schemas these messages need; a schema that cannot be had fails only its messages. */
  async prefetch(messages: Iterable<Buffer | null>): Promise<void> {
    const missing = new Set<number>();
    for (const bytes of messages) {
      const id = AvroDecoder.schemaId(bytes);
      if (id !== undefined && !this.schemas.has(id)) missing.add(id);
    }
    await Promise.all([...missing].map(async (id) => {
      try {
        const schema = JSON.parse(await this.source.schema(id)) as AvroSchema;
        this.schemas.set(id, { type: avroType(schema), connect: connectSchema(schema) });
        this.failed.delete(id);
      } catch (err) {
        this.failed.set(id, errorMessage(err));
      }
    }));
  }

  decode(bytes: Buffer): DecodedMessage {
    const id = AvroDecoder.schemaId(bytes);
    if (id === undefined) throw new Error('not in the schema registry wire format (magic byte 0 + schema id)');
    const registered = this.schemas.get(id);
    if (!registered) throw new Error(`Avro schema ${id} is not available: ${this.failed.get(id) ?? 'not fetched'}`);
    return { schema: registered.connect, payload: registered.type.fromBuffer(bytes.subarray(5)) as unknown };
  }
}

/** An avsc type for a writer schema: nullable unions unwrapped, int64 as bigint, logical types left to the Debezium decoder. */
export function avroType(schema: AvroSchema): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, { registry: {}, wrapUnions: false, logicalTypes: {}, typeHook: longHook });
}

function longHook(schema: avro.Schema): avro.Type | undefined {
  return schema === 'long' || (typeof schema === 'object' && !Array.isArray(schema) && (schema as { type?: unknown }).type === 'long') ? bigintLong : undefined;
}

export type AvroSchema = string | AvroSchema[] | { type: unknown; name?: string; fields?: { name: string; type: AvroSchema }[]; items?: AvroSchema; values?: AvroSchema; [key: string]: unknown };

const PRIMITIVE: Record<string, ConnectType> = { boolean: 'boolean', int: 'int32', long: 'int64', float: 'float32', double: 'float64', bytes: 'bytes', string: 'string' };

/** The Kafka Connect schema an Avro schema was made from (Confluent AvroData's mapping, reversed). */
export function connectSchema(schema: AvroSchema, optional = false): ConnectSchema {
  if (Array.isArray(schema)) {
    const branches = schema.filter((s) => s !== 'null');
    if (branches.length !== 1) throw new Error(`Avro union ${JSON.stringify(schema)} is not an optional value`);
    return connectSchema(branches[0]!, true);
  }
  if (typeof schema === 'string') {
    const type = PRIMITIVE[schema];
    if (!type) throw new Error(`Avro type ${schema} has no Kafka Connect equivalent`);
    return { type, optional, parameters: {} };
  }
  if (typeof schema.type === 'object' || Array.isArray(schema.type)) {
    // a field's type written out in full: its annotations live on the inner schema
    return connectSchema(schema.type as AvroSchema, optional);
  }
  const name = typeof schema['connect.name'] === 'string' ? schema['connect.name'] : undefined;
  const parameters = Object.fromEntries(Object.entries((schema['connect.parameters'] ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
  const base = { optional, parameters, ...(name ? { name } : {}) };
  switch (schema.type) {
    case 'record':
      return { ...base, type: 'struct', fields: (schema.fields ?? []).map((f) => ({ ...connectSchema(f.type), field: f.name })) };
    case 'array':
      return { ...base, type: 'array', items: connectSchema(schema.items!) };
    case 'map':
      return { ...base, type: 'map', keys: { type: 'string', optional: false, parameters: {} }, values: connectSchema(schema.values!) };
    case 'enum':
      return { ...base, type: 'string' };
    case 'fixed':
      return { ...base, type: 'bytes' };
    default: {
      const connectType = typeof schema['connect.type'] === 'string' ? schema['connect.type'] as ConnectType : PRIMITIVE[String(schema.type)];
      if (!connectType) throw new Error(`Avro type ${String(schema.type)} has no Kafka Connect equivalent`);
      return { ...base, type: connectType };
    }
  }
}
