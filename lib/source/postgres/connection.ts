/** node-postgres connection settings from a source's config. */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { PostgresSourceConfig } from '../../config/schema.js';

export function pgClientConfig(source: PostgresSourceConfig, extra: pg.ClientConfig = {}): pg.ClientConfig {
  const c = source.connection;
  const ssl = typeof c.ssl === 'boolean'
    ? c.ssl
    : {
        rejectUnauthorized: c.ssl.reject_unauthorized,
        ...(c.ssl.ca ? { ca: readFileSync(c.ssl.ca, 'utf8') } : {}),
        ...(c.ssl.cert ? { cert: readFileSync(c.ssl.cert, 'utf8') } : {}),
        ...(c.ssl.key ? { key: readFileSync(c.ssl.key, 'utf8') } : {}),
      };
  return {
    host: c.host,
    port: c.port,
    database: c.database,
    user: c.user,
    ...(c.password !== undefined ? { password: c.password } : {}),
    ssl,
    application_name: 'lakeloader',
    connectionTimeoutMillis: 15_000,
    ...extra,
  };
}

export async function connectPg(source: PostgresSourceConfig, extra: pg.ClientConfig = {}): Promise<pg.Client> {
  const client = new pg.Client(pgClientConfig(source, extra));
  await client.connect();
  return client;
}
