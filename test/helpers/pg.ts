/** A pg client on the local stack's PostgreSQL, for tests that set up source data. */
import pg from 'pg';
import { stack } from './stack.js';

export async function pgClient(): Promise<pg.Client> {
  const client = new pg.Client({ ...stack.pg });
  await client.connect();
  return client;
}

/**
 * Removes what a test source left in PostgreSQL: its replication slot (waiting for a just-deleted
 * connector to let go of it), its publication and its schema. Source and schema share a name in tests.
 */
export async function dropTestSource(db: pg.Client, name: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const { rows } = await db.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [`lakeloader_${name}`]);
    if (rows.length === 0) break;
    if (!rows[0]!.active) {
      await db.query('SELECT pg_drop_replication_slot($1)', [`lakeloader_${name}`]);
      break;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  await db.query(`DROP PUBLICATION IF EXISTS lakeloader_${name}`);
  await db.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
}
