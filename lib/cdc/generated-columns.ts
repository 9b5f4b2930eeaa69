/**
 * Generated columns (`GENERATED ALWAYS AS (…) STORED`) under CDC. PostgreSQL before 18 does not
 * publish them to logical replication, so change events lack them; the bulk load has their values.
 * To keep them exact, each changed row's generation expressions are evaluated by the source itself,
 * on the row's other values: the same function PostgreSQL applies, so the result is what the source
 * row holds (generation expressions must be immutable). Read through the column's bulk-load mapping,
 * the text is exactly what the bulk load writes.
 */
import type pg from 'pg';
import type { PostgresSourceConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { quoteIdent } from '../lakehouse/sql.js';
import { logger } from '../log/logger.js';
import { connectPg } from '../source/postgres/connection.js';
import { readColumns } from '../source/postgres/discovery.js';
import { EXACT_TEXT_SETTINGS, mapPgColumn, type PgColumn } from '../source/postgres/type-mapping.js';
import type { TextRow } from './changes.js';

export interface GeneratedColumn { name: string; expression: string; column: PgColumn }

export interface TableGeneration {
  /** Columns events carry: the generation expressions' inputs. */
  base: PgColumn[];
  generated: GeneratedColumn[];
}

/** PostgreSQL's bind-parameter limit, with room to spare. */
const MAX_PARAMETERS = 60_000;
const REFRESH_MS = 30_000;
/** Orders the computed rows like the input rows. */
const ROW_NUMBER = '"__lakeloader_row"';

/** The SELECT evaluating the generation expressions on `rows` base rows ($1… in row order), as exact text. */
export function generationQuery(table: TableGeneration, rows: number, columnTypes: (c: PgColumn) => string = (c) => c.type): string {
  const names = [...table.base.map((c) => quoteIdent(c.name)), ROW_NUMBER].join(', ');
  const values = Array.from({ length: rows }, (_r, row) =>
    `(${table.base.map((c, i) => `CAST($${row * table.base.length + i + 1}::text AS ${columnTypes(c)})`).join(', ')}, ${row})`).join(', ');
  const computed = table.generated.map((g) => `(${g.expression}) AS ${quoteIdent(g.name)}`).join(', ');
  // the mapping's pgSelect reads the generated column exactly as the bulk load's COPY does
  const texts = table.generated.map((g, i) => `(${mapPgColumn(g.column).pgSelect})::text AS ${quoteIdent(`g${i}`)}`).join(', ');
  return `SELECT ${texts} FROM (SELECT ${ROW_NUMBER}, ${computed} FROM (VALUES ${values}) AS r(${names})) AS generated_row ORDER BY ${ROW_NUMBER}`;
}

export class GeneratedColumns {
  private connection: Promise<pg.Client> | undefined;
  private tables = new Map<string, TableGeneration>();
  private readAt = 0;

  constructor(private readonly source: PostgresSourceConfig, private readonly log = logger) {}

  private client(): Promise<pg.Client> {
    this.connection ??= (async () => {
      const client = await connectPg(this.source, { application_name: 'lakeloader-cdc-generated' });
      for (const s of EXACT_TEXT_SETTINGS) await client.query(s);
      return client;
    })();
    return this.connection;
  }

  /** The source's tables that have generated columns, re-read every 30 s (an ALTER may add one). */
  async refresh(force = false): Promise<void> {
    if (!force && Date.now() - this.readAt < REFRESH_MS) return;
    try {
      const client = await this.client();
      const tables = new Map<string, TableGeneration>();
      for (const [key, columns] of await readColumns(client, this.source.schemas)) {
        const generated = columns.flatMap((c) => (c.generated ? [{ name: c.name, expression: c.generated.expression, column: c }] : []));
        if (generated.length > 0) tables.set(key, { base: columns.filter((c) => !c.generated), generated });
      }
      this.tables = tables;
      this.readAt = Date.now();
    } catch (err) {
      await this.close();
      if (this.readAt === 0) throw new Error(`cannot read generated columns from PostgreSQL: ${errorMessage(err)}`, { cause: err });
      this.log.warn(`cannot re-read generated columns from PostgreSQL, using the last known ones: ${errorMessage(err)}`);
    }
  }

  /** The table's generated columns (never in change events). */
  columnsOf(table: string): readonly PgColumn[] {
    return this.tables.get(table)?.generated.map((g) => g.column) ?? [];
  }

  has(table: string): boolean {
    return this.tables.has(table);
  }

  /** Fills each row's generated columns with the value the source computes from its other values. */
  async fill(table: string, rows: TextRow[]): Promise<void> {
    const generation = this.tables.get(table);
    if (!generation || rows.length === 0) return;
    const perQuery = Math.max(1, Math.floor(MAX_PARAMETERS / Math.max(1, generation.base.length)));
    const client = await this.client();
    for (let start = 0; start < rows.length; start += perQuery) {
      const chunk = rows.slice(start, start + perQuery);
      const params = chunk.flatMap((row) => generation.base.map((c) => row[c.name] ?? null));
      const { rows: computed } = await client.query<Record<string, string | null>>(generationQuery(generation, chunk.length), params);
      chunk.forEach((row, i) => {
        generation.generated.forEach((g, j) => (row[g.name] = computed[i]?.[`g${j}`] ?? null));
      });
    }
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    const client = await connection?.catch(() => undefined);
    await client?.end().catch(() => undefined);
  }
}
