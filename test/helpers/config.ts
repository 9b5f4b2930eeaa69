/** A throwaway config directory: the shipped lakehouse/kafka files plus the sources a test needs. */
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { stack } from './stack.js';

export function testConfigDir(sources: Record<string, Record<string, unknown>>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lakeloader-test-config-'));
  for (const f of ['lakehouse.yaml', 'kafka_clusters.yaml']) cpSync(path.join(PROJECT_ROOT, 'config', f), path.join(dir, f));
  const full = Object.fromEntries(Object.entries(sources).map(([name, s]) => [name, {
    type: 'postgres',
    connection: { host: stack.pg.host, port: stack.pg.port, database: stack.pg.database, user: stack.pg.user, password: '${LAKELOADER_PG_PASSWORD:' + stack.pg.password + '}' },
    max_retries: 0,
    retry_backoff: 0.1,
    ...s,
  }]));
  writeFileSync(path.join(dir, 'sources.yaml'), stringify({ sources: full }));
  return dir;
}

/** A name unique to this test run, usable as a PostgreSQL/Iceberg identifier. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
}
