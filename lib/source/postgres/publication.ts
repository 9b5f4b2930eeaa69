/**
 * The publication Debezium reads (pgoutput): created or extended BEFORE the slot exists, because
 * pgoutput looks publications up as of each change's position. A table PostgreSQL refuses (not owner,
 * permissions, a kind it cannot publish) is reported with PostgreSQL's error, never stopping the rest.
 */
import type pg from 'pg';
import { errorMessage } from '../../errors.js';
import { quoteIdent } from '../../lakehouse/sql.js';

export interface PublicationTable { schema: string; name: string }

const qualified = (t: PublicationTable) => `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;

/**
 * Makes `publication` cover `tables`, with `publish_via_partition_root = viaPartitionRoot` (true: a
 * partitioned table's changes are published as the table itself, and partitions created later are
 * covered). Returns the tables PostgreSQL refused (`schema.table` → its error); the others are published.
 */
export async function ensurePublication(
  client: pg.Client,
  publication: string,
  tables: PublicationTable[],
  options: { viaPartitionRoot: boolean },
): Promise<Map<string, string>> {
  const pub = quoteIdent(publication);
  const { rows: [existing] } = await client.query<{ puballtables: boolean; pubviaroot: boolean }>(
    'SELECT puballtables, pubviaroot FROM pg_publication WHERE pubname = $1', [publication]);
  if (!existing) {
    await client.query(`CREATE PUBLICATION ${pub} WITH (publish_via_partition_root = ${options.viaPartitionRoot})`);
  } else if (existing.pubviaroot !== options.viaPartitionRoot) {
    await client.query(`ALTER PUBLICATION ${pub} SET (publish_via_partition_root = ${options.viaPartitionRoot})`);
  }
  if (existing?.puballtables) return new Map(); // FOR ALL TABLES: nothing to add (and ADD TABLE is refused)

  // the tables named in the publication itself (pg_publication_tables would show leaves instead of a partitioned table)
  const { rows } = await client.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name FROM pg_publication_rel pr
       JOIN pg_publication p ON p.oid = pr.prpubid JOIN pg_class c ON c.oid = pr.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE p.pubname = $1`, [publication]);
  const present = new Set(rows.map((r) => `${r.schema}.${r.name}`));
  const missing = tables.filter((t) => !present.has(`${t.schema}.${t.name}`));
  const refused = new Map<string, string>();
  if (missing.length === 0) return refused;
  try {
    await client.query(`ALTER PUBLICATION ${pub} ADD TABLE ${missing.map(qualified).join(', ')}`);
  } catch {
    // one statement is all or nothing: table by table, to publish every table PostgreSQL accepts
    for (const t of missing) {
      try {
        await client.query(`ALTER PUBLICATION ${pub} ADD TABLE ${qualified(t)}`);
      } catch (err) {
        refused.set(`${t.schema}.${t.name}`, errorMessage(err));
      }
    }
  }
  return refused;
}
