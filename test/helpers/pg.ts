/** A pg client on the local stack's PostgreSQL, for tests that set up source data. */
import pg from 'pg';
import { stack } from './stack.js';

export async function pgClient(): Promise<pg.Client> {
  const client = new pg.Client({ ...stack.pg });
  await client.connect();
  return client;
}
