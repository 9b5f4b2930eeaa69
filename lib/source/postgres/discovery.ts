/** Finds the tables of a PostgreSQL source: columns in source order, primary keys, size estimates; other objects are reported as skipped. */
import type pg from 'pg';
import type { PostgresSourceConfig } from '../../config/schema.js';
import { likeToRegExp } from '../../bulk/patterns.js';
import type { PgColumn } from './type-mapping.js';

export interface PgTable {
  schema: string;
  name: string;
  columns: PgColumn[];
  primaryKey: string[];
  /** Where the key came from: the table's primary key, a config override, or none. */
  keySource: 'primary_key' | 'config' | 'none';
  estimatedRows: number;
  pages: number;
}

export interface SkippedObject {
  schema: string;
  name: string;
  reason: string;
}

const RELKIND_REASON: Record<string, string> = {
  v: 'view: not a table (load its base tables)',
  m: 'materialized view: derived data, not replicated by logical decoding',
  f: 'foreign table: data lives in another server',
  p: 'partitioned table parent: its partitions are loaded as tables',
};

export function qualifiedName(t: { schema: string; name: string }): string {
  return `${t.schema}.${t.name}`;
}

/** A table is selected when it matches an include pattern and no exclude pattern (on `table` or `schema.table`). */
export function tableSelected(schema: string, name: string, include: string[], exclude: string[]): boolean {
  const matches = (patterns: string[]) => patterns.some((p) => {
    const re = likeToRegExp(p);
    return re.test(name) || re.test(`${schema}.${name}`);
  });
  return matches(include) && !matches(exclude);
}

export async function discoverTables(
  client: pg.Client,
  source: PostgresSourceConfig,
  filters: string[] = [],
): Promise<{ tables: PgTable[]; skipped: SkippedObject[]; missingSchemas: string[] }> {
  const schemas = source.schemas;
  const existing = await client.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname = ANY($1)', [schemas]);
  const missingSchemas = schemas.filter((s) => !existing.rows.some((r) => r.nspname === s));

  const rels = await client.query<{ schema: string; name: string; relkind: string; reltuples: string; relpages: number; ispartition: boolean }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relkind, c.reltuples::bigint::text AS reltuples, c.relpages, c.relispartition AS ispartition
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
      ORDER BY n.nspname, c.relname`,
    [schemas],
  );
  const include = source.include_tables;
  const tables: PgTable[] = [];
  const skipped: SkippedObject[] = [];
  for (const rel of rels.rows) {
    if (!tableSelected(rel.schema, rel.name, include, source.exclude_tables)) continue;
    if (filters.length > 0 && !filters.some((f) => tableSelected(rel.schema, rel.name, [f], []))) continue;
    const reason = RELKIND_REASON[rel.relkind];
    if (reason) {
      skipped.push({ schema: rel.schema, name: rel.name, reason });
      continue;
    }
    tables.push({ schema: rel.schema, name: rel.name, columns: [], primaryKey: [], keySource: 'none', estimatedRows: Math.max(0, Number(rel.reltuples)), pages: rel.relpages });
  }
  if (tables.length === 0) return { tables, skipped, missingSchemas };

  const columns = await readColumns(client, schemas);
  const pks = await client.query<{ schema: string; table: string; columns: string[] }>(
    `SELECT n.nspname AS schema, c.relname AS table, array_agg(a.attname::text ORDER BY k.ord) AS columns
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
      WHERE i.indisprimary AND n.nspname = ANY($1)
      GROUP BY n.nspname, c.relname`,
    [schemas],
  );
  const byName = new Map(tables.map((t) => [qualifiedName(t), t]));
  for (const [name, cols] of columns) {
    const t = byName.get(name);
    if (t) t.columns = cols;
  }
  for (const pk of pks.rows) {
    const t = byName.get(`${pk.schema}.${pk.table}`);
    if (t) {
      t.primaryKey = pk.columns;
      t.keySource = 'primary_key';
    }
  }
  for (const t of tables) {
    const override = source.primary_keys[qualifiedName(t)] ?? source.primary_keys[t.name];
    if (override) {
      t.primaryKey = override;
      t.keySource = 'config';
    }
  }
  return { tables, skipped, missingSchemas };
}

/**
 * The columns of every table in `schemas` (or only of `tables`, as `schema.table`), keyed by
 * `schema.table`, in column order; dropped and generated columns left out (neither is replicated).
 */
export async function readColumns(client: pg.Client, schemas: string[], tables?: string[]): Promise<Map<string, PgColumn[]>> {
  const cols = await client.query<{ schema: string; table: string; name: string; type: string; typtype: string; category: string; base_type: string | null; not_null: boolean }>(
    `SELECT n.nspname AS schema, c.relname AS table, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            t.typtype, COALESCE(bt.typcategory, t.typcategory) AS category,
            CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base_type, a.attnotnull AS not_null
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
      WHERE n.nspname = ANY($1) AND ($2::text[] IS NULL OR n.nspname || '.' || c.relname = ANY($2))
        AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
      ORDER BY n.nspname, c.relname, a.attnum`,
    [schemas, tables ?? null],
  );
  const byTable = new Map<string, PgColumn[]>();
  for (const c of cols.rows) {
    const key = `${c.schema}.${c.table}`;
    const list = byTable.get(key) ?? [];
    list.push({ name: c.name, type: c.type, typtype: c.typtype, category: c.category, notNull: c.not_null, ...(c.base_type ? { baseType: c.base_type } : {}) });
    byTable.set(key, list);
  }
  return byTable;
}
