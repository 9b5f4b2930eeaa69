/**
 * Column types for change events sent without schemas (JsonConverter schemas.enable=false): read from
 * the PostgreSQL catalog for the tables of each micro-batch, so an ALTER TABLE is seen within one
 * batch. A column dropped since keeps its last known type: events from before the drop still carry it.
 */
import type pg from 'pg';
import type { PostgresSourceConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { logger } from '../log/logger.js';
import { connectPg } from '../source/postgres/connection.js';
import { readColumns } from '../source/postgres/discovery.js';
import type { PgColumn } from '../source/postgres/type-mapping.js';

export class SourceColumns {
  /** One connection, opened on first use; concurrent refreshes (pipelined batches) share it. */
  private connection: Promise<pg.Client> | undefined;
  /** Per `schema.table`; a table's map is replaced (never mutated) when its columns change, so decoders can cache by identity. */
  private readonly known = new Map<string, ReadonlyMap<string, PgColumn>>();
  private readonly signatures = new Map<string, string>();

  constructor(private readonly source: PostgresSourceConfig, private readonly log = logger) {}

  columns(table: string): ReadonlyMap<string, PgColumn> | undefined {
    return this.known.get(table);
  }

  /**
   * Re-reads the catalog for these tables. When PostgreSQL cannot be reached, tables read before keep
   * their columns (a warning says so); a table never read fails the batch, which is retried.
   */
  async refresh(tables: readonly string[]): Promise<void> {
    if (tables.length === 0) return;
    let current: Map<string, PgColumn[]>;
    try {
      this.connection ??= connectPg(this.source, { application_name: 'lakeloader-cdc-catalog' });
      current = await readColumns(await this.connection, this.source.schemas, [...tables]);
    } catch (err) {
      await this.close();
      const unknown = tables.filter((t) => !this.known.has(t));
      if (unknown.length > 0) throw new Error(`cannot read the column types of ${unknown.join(', ')} from PostgreSQL (needed for events without schemas): ${errorMessage(err)}`, { cause: err });
      this.log.warn(`cannot re-read column types from PostgreSQL, using the last known ones: ${errorMessage(err)}`);
      return;
    }
    for (const table of tables) this.merge(table, current.get(table) ?? []);
  }

  private merge(table: string, columns: PgColumn[]): void {
    const previous = this.known.get(table);
    const merged = new Map(columns.map((c) => [c.name, c]));
    for (const [name, column] of previous ?? []) if (!merged.has(name)) merged.set(name, column);
    const signature = JSON.stringify([...merged.values()]);
    if (this.signatures.get(table) === signature) return;
    this.signatures.set(table, signature);
    this.known.set(table, merged);
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    const client = await connection?.catch(() => undefined);
    await client?.end().catch(() => undefined);
  }
}
