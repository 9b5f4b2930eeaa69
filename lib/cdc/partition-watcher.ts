/**
 * Partitions attached to or detached from a partitioned table. Publishing via the root sends every
 * row change as the parent's, partitions created later included; but ATTACH PARTITION brings rows in
 * and DETACH PARTITION takes rows out with no row change in the WAL. So the consumer compares each
 * partitioned table's leaves with those its bulk load read (`_cdc_status.partitions`): a detached
 * leaf, or a new leaf that already holds rows, means the table must be reloaded (at a new snapshot,
 * from which CDC continues exactly); a new empty leaf (a partition created ahead of time) needs nothing.
 */
import type pg from 'pg';
import type { PostgresSourceConfig } from '../config/schema.js';
import { quoteIdent } from '../lakehouse/sql.js';
import { connectPg } from '../source/postgres/connection.js';

export interface PartitionChange {
  table: string;
  added: string[];
  removed: string[];
  /** The leaves now (sorted JSON, as `_cdc_status.partitions`). */
  current: string;
  /** Rows came or went without change events: reload the table. */
  reload: boolean;
}

/** What the leaf sets say, given which added leaves hold rows. */
export function comparePartitions(table: string, recorded: string[], current: string[], nonEmpty: ReadonlySet<string>): PartitionChange | null {
  const before = new Set(recorded);
  const now = new Set(current);
  const added = current.filter((l) => !before.has(l));
  const removed = recorded.filter((l) => !now.has(l));
  if (added.length === 0 && removed.length === 0) return null;
  return { table, added, removed, current: JSON.stringify([...current].sort()), reload: removed.length > 0 || added.some((l) => nonEmpty.has(l)) };
}

export class PartitionWatcher {
  private connection: Promise<pg.Client> | undefined;

  constructor(private readonly source: PostgresSourceConfig) {}

  /** Changes of the given partitioned tables (`schema.table` → recorded leaves). */
  async check(tables: Map<string, string[]>): Promise<PartitionChange[]> {
    if (tables.size === 0) return [];
    this.connection ??= connectPg(this.source, { application_name: 'lakeloader-cdc-partitions' });
    const client = await this.connection.catch((err: unknown) => {
      this.connection = undefined;
      throw err;
    });
    const { rows } = await client.query<{ root: string; leaf: string; schema: string; name: string }>(
      `SELECT pn.nspname || '.' || p.relname AS root, n.nspname || '.' || c.relname AS leaf, n.nspname AS schema, c.relname AS name
         FROM pg_class p JOIN pg_namespace pn ON pn.oid = p.relnamespace
         CROSS JOIN LATERAL pg_partition_tree(p.oid) t
         JOIN pg_class c ON c.oid = t.relid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE p.relkind = 'p' AND pn.nspname || '.' || p.relname = ANY($1) AND t.isleaf`,
      [[...tables.keys()]],
    );
    const changes: PartitionChange[] = [];
    for (const [table, recorded] of tables) {
      const leaves = rows.filter((r) => r.root === table);
      const known = new Set(recorded);
      const nonEmpty = new Set<string>();
      for (const leaf of leaves.filter((l) => !known.has(l.leaf))) {
        const { rows: any } = await client.query(`SELECT 1 FROM ONLY ${quoteIdent(leaf.schema)}.${quoteIdent(leaf.name)} LIMIT 1`);
        if (any.length > 0) nonEmpty.add(leaf.leaf);
      }
      const change = comparePartitions(table, recorded, leaves.map((l) => l.leaf), nonEmpty);
      if (change) changes.push(change);
    }
    return changes;
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    const client = await connection?.catch(() => undefined);
    await client?.end().catch(() => undefined);
  }
}
