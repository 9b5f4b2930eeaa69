/**
 * Finds the tables of a PostgreSQL source: columns in source order, primary keys, size estimates, the
 * physical relations holding their rows (a partitioned table's leaf partitions), and whether logical
 * replication can follow them; other objects are reported as skipped.
 */
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
  /**
   * The physical relations holding the rows, read chunk by chunk: the table itself, or every leaf
   * partition of a partitioned table (sorted by name), whose rows the table holds in one Iceberg table.
   */
  relations: PgRelation[];
  /** True for a declaratively partitioned table loaded through its root (`partitioned_tables: root`). */
  partitioned: boolean;
  /** Why logical decoding can never see this table's changes (UNLOGGED, temporary); it is loaded but not published. */
  notReplicable?: string;
}

/** A relation with its own heap (ctid ranges are per physical relation). */
export interface PgRelation {
  schema: string;
  name: string;
  pages: number;
  /** A heap table (ctid ranges apply); false for e.g. a foreign-table partition, read whole. */
  heap: boolean;
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
};

/** relpersistence values logical decoding cannot follow: their changes are not WAL-logged. */
const PERSISTENCE_REASON: Record<string, string> = {
  u: 'UNLOGGED table: its changes are not written to the WAL, so logical replication cannot see them (loaded once; reload to refresh)',
  t: 'temporary table: its changes are not written to the WAL, so logical replication cannot see them',
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

  const rels = await client.query<RelRow>(
    `SELECT c.oid::int8::text AS oid, n.nspname AS schema, c.relname AS name, c.relkind, c.reltuples::bigint::text AS reltuples, c.relpages,
            c.relpersistence AS persistence, c.relispartition AS ispartition, rn.nspname || '.' || r.relname AS root
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_class r ON c.relispartition AND r.oid = pg_partition_root(c.oid) LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace
      WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
      ORDER BY n.nspname, c.relname`,
    [schemas],
  );
  const selected = rels.rows.filter((rel) => tableSelected(rel.schema, rel.name, source.include_tables, source.exclude_tables) &&
    (filters.length === 0 || filters.some((f) => tableSelected(rel.schema, rel.name, [f], []))));
  const byRoot = source.partitioned_tables === 'root';
  const selectedNames = new Set(selected.map((r) => `${r.schema}.${r.name}`));
  const tables: PgTable[] = [];
  const skipped: SkippedObject[] = [];
  const roots: { table: PgTable; oid: string }[] = [];
  for (const rel of selected) {
    // with partitioned_tables root, a partition whose root is loaded is read through that root
    if (byRoot && rel.ispartition && rel.root && selectedNames.has(rel.root)) {
      skipped.push({ schema: rel.schema, name: rel.name, reason: `partition of ${rel.root}: loaded through its parent` });
      continue;
    }
    if (rel.relkind === 'p' && !byRoot) {
      skipped.push({ schema: rel.schema, name: rel.name, reason: 'partitioned table: its partitions are loaded as tables (partitioned_tables: leaves)' });
      continue;
    }
    const reason = RELKIND_REASON[rel.relkind];
    if (reason) {
      skipped.push({ schema: rel.schema, name: rel.name, reason });
      continue;
    }
    const notReplicable = PERSISTENCE_REASON[rel.persistence];
    const table: PgTable = {
      schema: rel.schema, name: rel.name, columns: [], primaryKey: [], keySource: 'none', estimatedRows: Math.max(0, Number(rel.reltuples)), pages: rel.relpages,
      relations: [{ schema: rel.schema, name: rel.name, pages: rel.relpages, heap: true }], partitioned: rel.relkind === 'p', ...(notReplicable ? { notReplicable } : {}),
    };
    tables.push(table);
    if (table.partitioned) roots.push({ table, oid: rel.oid });
  }
  if (roots.length > 0) await readLeafPartitions(client, roots);
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

interface RelRow {
  oid: string; schema: string; name: string; relkind: string; reltuples: string; relpages: number; persistence: string; ispartition: boolean; root: string | null;
}

/**
 * Fills in each partitioned table's leaf partitions (`pg_partition_tree`, so sub-partitioned trees
 * too), its size as theirs, and whether any leaf keeps logical replication from following it.
 */
async function readLeafPartitions(client: pg.Client, roots: { table: PgTable; oid: string }[]): Promise<void> {
  const { rows } = await client.query<{ root: string; schema: string; name: string; relkind: string; reltuples: string; relpages: number; persistence: string }>(
    `SELECT r.root::text AS root, n.nspname AS schema, c.relname AS name, c.relkind, c.reltuples::bigint::text AS reltuples, c.relpages, c.relpersistence AS persistence
       FROM unnest($1::int8[]) AS r(root) CROSS JOIN LATERAL pg_partition_tree(r.root::oid::regclass) t
       JOIN pg_class c ON c.oid = t.relid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE t.isleaf
      ORDER BY n.nspname, c.relname`,
    [roots.map((r) => r.oid)],
  );
  for (const { table, oid } of roots) {
    const leaves = rows.filter((l) => l.root === oid);
    table.relations = leaves.map((l) => ({ schema: l.schema, name: l.name, pages: l.relpages, heap: l.relkind === 'r' }));
    table.pages = leaves.reduce((a, l) => a + l.relpages, 0);
    table.estimatedRows = leaves.reduce((a, l) => a + Math.max(0, Number(l.reltuples)), 0);
    const unlogged = leaves.find((l) => PERSISTENCE_REASON[l.persistence]);
    if (unlogged && !table.notReplicable) table.notReplicable = `partition ${unlogged.schema}.${unlogged.name}: ${PERSISTENCE_REASON[unlogged.persistence]}`;
  }
}

/**
 * The columns of every table in `schemas` (or only of `tables`, as `schema.table`), keyed by
 * `schema.table`, in column order; dropped columns left out. Stored generated columns are kept with
 * their expression (`generated`): the bulk load reads their values, CDC must compute them.
 */
export async function readColumns(client: pg.Client, schemas: string[], tables?: string[]): Promise<Map<string, PgColumn[]>> {
  const cols = await client.query<{
    schema: string; table: string; name: string; type: string; typtype: string; category: string; base_type: string | null; not_null: boolean; generation: string | null;
  }>(
    `SELECT n.nspname AS schema, c.relname AS table, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            t.typtype, COALESCE(bt.typcategory, t.typcategory) AS category,
            CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base_type, a.attnotnull AS not_null,
            CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END AS generation
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = ANY($1) AND ($2::text[] IS NULL OR n.nspname || '.' || c.relname = ANY($2))
        AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY n.nspname, c.relname, a.attnum`,
    [schemas, tables ?? null],
  );
  const byTable = new Map<string, PgColumn[]>();
  for (const c of cols.rows) {
    const key = `${c.schema}.${c.table}`;
    const list = byTable.get(key) ?? [];
    list.push({
      name: c.name, type: c.type, typtype: c.typtype, category: c.category, notNull: c.not_null,
      ...(c.base_type ? { baseType: c.base_type } : {}), ...(c.generation !== null ? { generated: { expression: c.generation } } : {}),
    });
    byTable.set(key, list);
  }
  return byTable;
}
