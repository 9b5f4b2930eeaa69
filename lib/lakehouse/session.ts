/**
 * One DuckDB instance per process with the Iceberg REST catalog attached: the only way lakeloader
 * reads or writes Iceberg. Work is serialised on one connection (a DuckDB connection runs one
 * transaction at a time); independent readers can take their own connection.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { LakehouseConfig } from '../config/schema.js';
import { JobError, errorMessage } from '../errors.js';
import { logger } from '../log/logger.js';
import { loadLakehouseExtensions } from './extensions.js';
import { safeTableLocation } from './location.js';
import { RestCatalogClient } from './rest-catalog.js';
import { quoteIdent, quoteString, sqlLiteral, tableRef } from './sql.js';
import { duckdbType, type ColumnSpec } from './types.js';

export type Row = Record<string, unknown>;

/** SQL run inside one Iceberg transaction: everything commits together or not at all. */
export interface LakehouseTx {
  run(sql: string): Promise<number>;
  query(sql: string): Promise<Row[]>;
  ref(namespace: string, table: string): string;
}

let sharedInstance: Promise<DuckDBInstance> | undefined;

/** DuckDB's maintainers advise one instance per process: every session shares this one. */
function duckdbInstance(config: LakehouseConfig): Promise<DuckDBInstance> {
  sharedInstance ??= DuckDBInstance.create(':memory:', {
    allow_unsigned_extensions: 'true',
    autoinstall_known_extensions: 'false',
    extension_directory: config.duckdb.extension_directory,
    ...(config.duckdb.memory_limit ? { memory_limit: config.duckdb.memory_limit } : {}),
    ...(config.duckdb.threads ? { threads: String(config.duckdb.threads) } : {}),
  });
  return sharedInstance;
}

function attachSql(config: LakehouseConfig): { secrets: string[]; attach: string } {
  const { catalog, storage } = config;
  const secrets: string[] = [];
  const options = ['TYPE ICEBERG', `ENDPOINT ${quoteString(catalog.uri)}`, 'SUPPORT_NESTED_NAMESPACES true'];
  const secretName = `${catalog.alias}_catalog_secret`;
  switch (catalog.auth.type) {
    case 'none':
      options.push("AUTHORIZATION_TYPE 'none'");
      break;
    case 'bearer':
      secrets.push(`CREATE OR REPLACE SECRET ${quoteIdent(secretName)} (TYPE ICEBERG, TOKEN ${quoteString(catalog.auth.token)})`);
      options.push(`SECRET ${quoteIdent(secretName)}`);
      break;
    case 'oauth2': {
      const a = catalog.auth;
      const parts = [`TYPE ICEBERG`, `CLIENT_ID ${quoteString(a.client_id)}`, `CLIENT_SECRET ${quoteString(a.client_secret)}`];
      if (a.oauth2_server_uri) parts.push(`OAUTH2_SERVER_URI ${quoteString(a.oauth2_server_uri)}`);
      if (a.scope) parts.push(`OAUTH2_SCOPE ${quoteString(a.scope)}`);
      secrets.push(`CREATE OR REPLACE SECRET ${quoteIdent(secretName)} (${parts.join(', ')})`);
      options.push(`SECRET ${quoteIdent(secretName)}`);
      break;
    }
  }
  if (storage.type === 's3') {
    const parts = ['TYPE S3', `REGION ${quoteString(storage.region)}`];
    if (storage.access_key_id) parts.push(`KEY_ID ${quoteString(storage.access_key_id)}`);
    if (storage.secret_access_key) parts.push(`SECRET ${quoteString(storage.secret_access_key)}`);
    if (storage.endpoint) parts.push(`ENDPOINT ${quoteString(storage.endpoint.replace(/^https?:\/\//, ''))}`);
    parts.push(`URL_STYLE ${quoteString(storage.path_style ? 'path' : 'vhost')}`, `USE_SSL ${storage.use_ssl}`);
    secrets.push(`CREATE OR REPLACE SECRET ${quoteIdent(`${catalog.alias}_s3_secret`)} (${parts.join(', ')})`);
    // Our catalog does not vend credentials: DuckDB must use the S3 secret above.
    options.push("ACCESS_DELEGATION_MODE 'none'");
  }
  return { secrets, attach: `ATTACH ${quoteString(catalog.warehouse)} AS ${quoteIdent(catalog.alias)} (${options.join(', ')})` };
}

export class Lakehouse {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    readonly alias: string,
    private readonly rest: RestCatalogClient,
  ) {}

  static async open(config: LakehouseConfig): Promise<Lakehouse> {
    const instance = await duckdbInstance(config);
    const conn = await instance.connect();
    const alias = config.catalog.alias;
    const attached = (await conn.runAndReadAll(`SELECT 1 FROM duckdb_databases() WHERE database_name = ${quoteString(alias)}`)).currentRowCount > 0;
    if (!attached) {
      await loadLakehouseExtensions(conn, config.duckdb.extension_directory);
      const { secrets, attach } = attachSql(config);
      try {
        for (const s of secrets) await conn.run(s);
        await conn.run(attach);
      } catch (err) {
        throw new JobError(`cannot attach the Iceberg REST catalog at ${config.catalog.uri} (lakehouse.yaml:catalog.uri): ${errorMessage(err)}`, { cause: err });
      }
      logger.debug('attached Iceberg catalog', { uri: config.catalog.uri, warehouse: config.catalog.warehouse, alias });
    }
    return new Lakehouse(instance, conn, alias, new RestCatalogClient(config));
  }

  /** A fully quoted reference to an Iceberg table in the attached catalog. */
  ref(namespace: string, table: string): string {
    return tableRef(this.alias, namespace, table);
  }

  /** Runs fn alone on the session connection (DuckDB transactions are per connection). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async runOn(sql: string): Promise<number> {
    const result = await this.conn.run(sql);
    return Number(result.rowsChanged);
  }

  private async queryOn(sql: string): Promise<Row[]> {
    const reader = await this.conn.runAndReadAll(sql);
    return reader.getRowObjectsJson() as Row[];
  }

  /** Runs a statement; returns rows changed. */
  run(sql: string): Promise<number> {
    return this.exclusive(() => this.runOn(sql));
  }

  /** Runs a query; values come back JSON-safe (BIGINT/DECIMAL as strings, so nothing loses precision). */
  query(sql: string): Promise<Row[]> {
    return this.exclusive(() => this.queryOn(sql));
  }

  /** A separate connection for concurrent reads or independent transactions. */
  connect(): Promise<DuckDBConnection> {
    return this.instance.connect();
  }

  async ensureNamespace(namespace: string): Promise<void> {
    // Nested namespaces need each parent first (bronze, then bronze.mydb).
    const parts = namespace.split('.');
    for (let i = 1; i <= parts.length; i++) {
      await this.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.alias)}.${quoteIdent(parts.slice(0, i).join('.'))}`);
    }
  }

  async tableExists(namespace: string, table: string): Promise<boolean> {
    const rows = await this.query(
      `SELECT 1 FROM duckdb_tables() WHERE database_name = ${quoteString(this.alias)} AND schema_name = ${quoteString(namespace)} AND table_name = ${quoteString(table)}`,
    );
    return rows.length > 0;
  }

  async createTable(namespace: string, table: string, columns: ColumnSpec[], options: { ifNotExists?: boolean } = {}): Promise<void> {
    if (columns.length === 0) throw new JobError(`cannot create ${namespace}.${table}: no columns`);
    const cols = columns.map((c) => `${quoteIdent(c.name)} ${duckdbType(c.type)}${c.nullable === false ? ' NOT NULL' : ''}`);
    await this.run(`CREATE TABLE ${options.ifNotExists ? 'IF NOT EXISTS ' : ''}${this.ref(namespace, table)} (${cols.join(', ')})`);
    if (safeTableLocation('', table) === undefined) return;
    // still empty: move it to a location DuckDB can later delete from (a table with data stays put)
    if ((await this.rest.currentSnapshotId(namespace, table)) !== null) return;
    const location = safeTableLocation(await this.rest.tableLocation(namespace, table), table);
    if (location) await this.rest.setLocation(namespace, table, location);
  }

  /** Columns of an Iceberg table as DuckDB sees them, in order. */
  async columns(namespace: string, table: string): Promise<{ name: string; type: string; nullable: boolean }[]> {
    // DESCRIBE loads the table's current metadata; duckdb_columns() may not list a table created moments ago
    const rows = await this.query(`DESCRIBE ${this.ref(namespace, table)}`);
    return rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type), nullable: r.null !== 'NO' }));
  }

  /** Schema evolution of our own state tables: columns added in later versions appear in existing tables. */
  async addMissingColumns(namespace: string, table: string, columns: ColumnSpec[]): Promise<string[]> {
    const existing = new Set((await this.columns(namespace, table)).map((c) => c.name));
    const missing = columns.filter((c) => !existing.has(c.name));
    for (const c of missing) await this.run(`ALTER TABLE ${this.ref(namespace, table)} ADD COLUMN ${quoteIdent(c.name)} ${duckdbType(c.type)}`);
    return missing.map((c) => c.name);
  }

  /** Appends JS rows (in column order) as one Iceberg snapshot. For small volumes; bulk data goes through insertFrom. */
  async append(namespace: string, table: string, columns: ColumnSpec[], rows: readonly unknown[][]): Promise<number> {
    if (rows.length === 0) return 0;
    return this.transaction(async (tx) => {
      let written = 0;
      for (const sql of appendStatements(tx.ref(namespace, table), columns, rows)) written += await tx.run(sql);
      return written;
    });
  }

  /**
   * Loads text rows into an in-memory DuckDB table (fast appender) for a following Iceberg statement
   * to read. Runs outside any Iceberg transaction: one transaction may not write two databases.
   */
  stageTextRows(name: string, columnCount: number, rows: readonly (string | null)[][]): Promise<string> {
    return this.exclusive(async () => {
      const ref = `memory.main.${quoteIdent(name)}`;
      const cols = Array.from({ length: columnCount }, (_v, i) => `c${i} VARCHAR`).join(', ');
      await this.conn.run(`CREATE OR REPLACE TABLE ${ref} (${cols}, row_index INTEGER)`);
      const appender = await this.conn.createAppender(name, 'main', 'memory');
      try {
        rows.forEach((row, index) => {
          for (let i = 0; i < columnCount; i++) {
            const v = row[i];
            if (v === null || v === undefined) appender.appendNull();
            else appender.appendVarchar(v);
          }
          appender.appendInteger(index);
          appender.endRow();
        });
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
      return ref;
    });
  }

  dropStaged(name: string): Promise<number> {
    return this.run(`DROP TABLE IF EXISTS memory.main.${quoteIdent(name)}`);
  }

  /** INSERT INTO the table from any DuckDB query (staged files, other tables…). */
  insertFrom(namespace: string, table: string, selectSql: string): Promise<number> {
    return this.run(`INSERT INTO ${this.ref(namespace, table)} ${selectSql}`);
  }

  /**
   * Runs fn in one DuckDB transaction. With no table created inside it, DuckDB commits all touched
   * Iceberg tables through the catalog's atomic multi-table commit.
   */
  transaction<T>(fn: (tx: LakehouseTx) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      await this.conn.run('BEGIN TRANSACTION');
      const tx: LakehouseTx = {
        run: (sql) => this.runOn(sql),
        query: (sql) => this.queryOn(sql),
        ref: (ns, t) => this.ref(ns, t),
      };
      try {
        const result = await fn(tx);
        await this.conn.run('COMMIT');
        return result;
      } catch (err) {
        await this.conn.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  close(): void {
    this.conn.closeSync();
  }
}

/** INSERT statements of at most `chunk` rows, each value cast to its column's exact type (VALUES alone would unify types across rows). */
export function appendStatements(target: string, columns: ColumnSpec[], rows: readonly unknown[][], chunk = 1000): string[] {
  const names = columns.map((c) => quoteIdent(c.name)).join(', ');
  const types = columns.map((c) => duckdbType(c.type));
  const statements: string[] = [];
  for (let start = 0; start < rows.length; start += chunk) {
    const values = rows.slice(start, start + chunk).map((row, r) => {
      if (row.length !== columns.length) throw new JobError(`row ${start + r} has ${row.length} values, table ${target} has ${columns.length} columns`);
      return `(${row.map((v, i) => `CAST(${sqlLiteral(v)} AS ${types[i]})`).join(', ')})`;
    });
    statements.push(`INSERT INTO ${target} (${names}) VALUES ${values.join(', ')}`);
  }
  return statements;
}
