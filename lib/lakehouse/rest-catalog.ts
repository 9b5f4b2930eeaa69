/**
 * Direct Iceberg REST catalog calls for what DuckDB's SQL cannot express: identifier fields (the
 * primary key in Iceberg's schema, which engines use for upserts and equality deletes), table
 * locations and properties, and the snapshot history maintenance decides on.
 */
import type { LakehouseConfig } from '../config/schema.js';
import { JobError } from '../errors.js';

interface IcebergField { id: number; name: string; required: boolean; type: unknown }
interface IcebergSchema { 'schema-id': number; type: 'struct'; fields: IcebergField[]; 'identifier-field-ids'?: number[] }
interface TableMetadata { 'current-schema-id': number; schemas: IcebergSchema[] }

export interface IcebergColumn { name: string; type: string; required: boolean }

/** What maintenance needs of a snapshot (ids are 64-bit: kept as text). */
export interface SnapshotInfo {
  id: string;
  timestampMs: number;
  operation: string;
  summary: Record<string, string>;
}

/** A table's metadata as maintenance sees it: snapshots oldest first, the current one last. */
export interface TableMetadataInfo {
  location: string;
  metadataLocation: string;
  formatVersion: number;
  currentSnapshotId: string | null;
  snapshots: SnapshotInfo[];
  /** metadata.json files the catalog still lists as previous versions. */
  previousMetadataFiles: number;
  properties: Record<string, string>;
  /** Columns of the current schema with their Iceberg types (nested types as JSON). */
  columns: { name: string; type: string }[];
}

export class RestCatalogClient {
  private prefix: string | undefined;
  private token: string | undefined;

  constructor(private readonly config: LakehouseConfig) {}

  private async headers(): Promise<Record<string, string>> {
    const auth = this.config.catalog.auth;
    if (auth.type === 'bearer') return { authorization: `Bearer ${auth.token}` };
    if (auth.type === 'oauth2') {
      if (!this.token) {
        const url = auth.oauth2_server_uri ?? `${this.config.catalog.uri}/v1/oauth/tokens`;
        const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: auth.client_id, client_secret: auth.client_secret, ...(auth.scope ? { scope: auth.scope } : {}) });
        const res = await fetch(url, { method: 'POST', body });
        if (!res.ok) throw new JobError(`OAuth2 token request to ${url} failed with HTTP ${res.status} (lakehouse.yaml:catalog.auth)`);
        this.token = ((await res.json()) as { access_token: string }).access_token;
      }
      return { authorization: `Bearer ${this.token}` };
    }
    return {};
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return JSON.parse(await this.callRaw(method, path, body)) as T;
  }

  private async callRaw(method: string, path: string, body?: unknown): Promise<string> {
    const base = this.config.catalog.uri.replace(/\/$/, '');
    if (this.prefix === undefined) {
      const warehouse = this.config.catalog.warehouse ? `?warehouse=${encodeURIComponent(this.config.catalog.warehouse)}` : '';
      const res = await fetch(`${base}/v1/config${warehouse}`, { headers: await this.headers() });
      const conf = res.ok ? ((await res.json()) as { overrides?: Record<string, string>; defaults?: Record<string, string> }) : {};
      this.prefix = conf.overrides?.prefix ?? conf.defaults?.prefix ?? '';
    }
    const url = `${base}/v1/${this.prefix ? `${encodeURIComponent(this.prefix)}/` : ''}${path}`;
    const res = await fetch(url, {
      method,
      headers: { 'content-type': 'application/json', ...(await this.headers()) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new JobError(`Iceberg REST ${method} ${path} failed with HTTP ${res.status}: ${text.slice(0, 300)}`);
    return text;
  }

  private namespacePath(namespace: string): string {
    // nested namespace levels are joined by the unit separator (0x1F) in REST paths
    return `namespaces/${encodeURIComponent(namespace.split('.').join('\x1f'))}`;
  }

  private tablePath(namespace: string, table: string): string {
    return `${this.namespacePath(namespace)}/tables/${encodeURIComponent(table)}`;
  }

  private async metadata(namespace: string, table: string): Promise<TableMetadata> {
    return (await this.call<{ metadata: TableMetadata }>('GET', this.tablePath(namespace, table))).metadata;
  }

  /** The table's current schema as Iceberg type strings (`long`, `decimal(10,2)`, …). */
  async tableSchema(namespace: string, table: string): Promise<IcebergColumn[]> {
    const metadata = await this.metadata(namespace, table);
    const current = metadata.schemas.find((s) => s['schema-id'] === metadata['current-schema-id']);
    return (current?.fields ?? []).map((f) => ({ name: f.name, type: typeof f.type === 'string' ? f.type.replace(/\s/g, '') : JSON.stringify(f.type), required: f.required }));
  }

  async currentSnapshotId(namespace: string, table: string): Promise<string | null> {
    return (await this.tableMetadata(namespace, table)).currentSnapshotId;
  }

  /** Where the table's data and metadata files live (`location` of its metadata). */
  async tableLocation(namespace: string, table: string): Promise<string> {
    return (await this.tableMetadata(namespace, table)).location;
  }

  /** Moves a table's location; for a table without data files yet (its files would stay where they are). */
  async setLocation(namespace: string, table: string, location: string): Promise<void> {
    await this.call('POST', this.tablePath(namespace, table), { requirements: [], updates: [{ action: 'set-location', location }] });
  }

  /** Table names of a namespace. */
  async listTables(namespace: string): Promise<string[]> {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.call<{ identifiers: { name: string }[]; 'next-page-token'?: string | null }>(
        'GET', `${this.namespacePath(namespace)}/tables${token ? `?pageToken=${encodeURIComponent(token)}` : ''}`);
      names.push(...page.identifiers.map((i) => i.name));
      token = page['next-page-token'] ?? undefined;
    } while (token);
    return names.sort();
  }

  /** Snapshots, properties and locations of a table. */
  async tableMetadata(namespace: string, table: string): Promise<TableMetadataInfo> {
    // snapshot ids are 64-bit: quote them before JSON.parse turns them into lossy numbers
    const raw = (await this.callRaw('GET', this.tablePath(namespace, table)))
      .replace(/"(snapshot-id|current-snapshot-id|parent-snapshot-id)"\s*:\s*(-?\d+)/g, '"$1":"$2"');
    const doc = JSON.parse(raw) as {
      'metadata-location': string;
      metadata: {
        location: string; 'format-version': number; 'current-snapshot-id'?: string | null; properties?: Record<string, string>;
        snapshots?: { 'snapshot-id': string; 'timestamp-ms': number; summary?: Record<string, string> }[];
        'metadata-log'?: unknown[];
        'current-schema-id'?: number;
        schemas?: IcebergSchema[];
      };
    };
    const m = doc.metadata;
    const current = m['current-snapshot-id'];
    return {
      location: m.location,
      metadataLocation: doc['metadata-location'],
      formatVersion: m['format-version'],
      currentSnapshotId: current === undefined || current === null || current === '-1' ? null : current,
      snapshots: (m.snapshots ?? [])
        .map((s) => ({ id: s['snapshot-id'], timestampMs: s['timestamp-ms'], operation: s.summary?.operation ?? 'unknown', summary: s.summary ?? {} }))
        .sort((a, b) => a.timestampMs - b.timestampMs),
      previousMetadataFiles: m['metadata-log']?.length ?? 0,
      properties: m.properties ?? {},
      columns: (m.schemas?.find((s) => s['schema-id'] === m['current-schema-id'])?.fields ?? [])
        .map((f) => ({ name: f.name, type: typeof f.type === 'string' ? f.type : JSON.stringify(f.type) })),
    };
  }

  /** Sets table properties (no requirement: properties never conflict with a concurrent data commit). */
  async setProperties(namespace: string, table: string, updates: Record<string, string>): Promise<void> {
    await this.call('POST', this.tablePath(namespace, table), { requirements: [], updates: [{ action: 'set-properties', updates }] });
  }

  /** Declares the key columns as the table's identifier fields (they must be required columns). */
  async setIdentifierFields(namespace: string, table: string, columns: string[]): Promise<void> {
    const path = this.tablePath(namespace, table);
    const metadata = await this.metadata(namespace, table);
    const current = metadata.schemas.find((s) => s['schema-id'] === metadata['current-schema-id']);
    if (!current) throw new JobError(`table ${namespace}.${table} has no current schema`);
    const ids = columns.map((name) => {
      const field = current.fields.find((f) => f.name === name);
      if (!field) throw new JobError(`key column ${name} not found in ${namespace}.${table}`);
      if (!field.required) throw new JobError(`key column ${name} of ${namespace}.${table} is nullable; Iceberg identifier fields must be required`);
      return field.id;
    });
    if (JSON.stringify(current['identifier-field-ids'] ?? []) === JSON.stringify(ids)) return;
    const nextId = Math.max(...metadata.schemas.map((s) => s['schema-id'])) + 1;
    await this.call('POST', path, {
      requirements: [{ type: 'assert-current-schema-id', 'current-schema-id': metadata['current-schema-id'] }],
      updates: [
        { action: 'add-schema', schema: { ...current, 'schema-id': nextId, 'identifier-field-ids': ids } },
        { action: 'set-current-schema', 'schema-id': -1 },
      ],
    });
  }
}
