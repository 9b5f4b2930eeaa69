/** Where the local stack (`make up`) listens, and how tests reach its independent tools. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../lib/paths.js';

const run = promisify(execFile);
const env = process.env;

export const stack = {
  pg: {
    host: '127.0.0.1',
    port: Number(env.LL_PG_PORT ?? 55432),
    user: env.LL_PG_USER ?? 'lakeloader',
    password: env.LL_PG_PASSWORD ?? 'lakeloader-local-pw',
    database: env.LL_PG_DB ?? 'demo',
  },
  restUri: `http://127.0.0.1:${env.LL_REST_PORT ?? 8181}`,
  restS3Uri: `http://127.0.0.1:${env.LL_REST_S3_PORT ?? 8182}`,
  s3: {
    endpoint: `http://127.0.0.1:${env.LL_MINIO_PORT ?? 9000}`,
    accessKeyId: env.LL_MINIO_USER ?? 'lakeloader',
    secretAccessKey: env.LL_MINIO_PASSWORD ?? 'lakeloader-secret',
  },
  kafkaBroker: `127.0.0.1:${env.LL_KAFKA_PORT ?? 9092}`,
  connectUrl: `http://127.0.0.1:${env.LL_CONNECT_PORT ?? 8083}`,
  python: path.join(PROJECT_ROOT, '.stack', 'venv', 'bin', 'python'),
  extensionDir: path.join(PROJECT_ROOT, '.stack', 'duckdb', 'extensions'),
};

export interface PyIcebergTable {
  schema: { name: string; type: string; required: boolean }[];
  identifier_fields: string[];
  snapshot_id: string | null;
  rows: Record<string, unknown>[];
  /** With `inventory`: snapshot ids (oldest first) and the live files of the current snapshot. */
  inventory: { snapshots: string[]; data_files: string[]; delete_files: string[] } | null;
}

/** Reads a table through pyiceberg: an engine independent of DuckDB checks what we wrote. */
export async function readWithPyIceberg(
  table: string,
  options: {
    s3?: boolean; orderBy?: string; /** the namespace, when `table` is the bare table name (it may hold dots) */ namespace?: string;
    /** time travel to this snapshot */ snapshotId?: string; inventory?: boolean;
  } = {},
): Promise<PyIcebergTable> {
  const args = [path.join(PROJECT_ROOT, 'test', 'py', 'read_table.py'), '--uri', options.s3 ? stack.restS3Uri : stack.restUri, '--table', table];
  if (options.namespace) args.push('--namespace', options.namespace);
  if (options.s3) args.push('--s3-endpoint', stack.s3.endpoint, '--s3-key', stack.s3.accessKeyId, '--s3-secret', stack.s3.secretAccessKey);
  if (options.orderBy) args.push('--order-by', options.orderBy);
  if (options.snapshotId) args.push('--snapshot-id', options.snapshotId);
  if (options.inventory) args.push('--inventory');
  const { stdout } = await run(stack.python, args, { maxBuffer: 512 * 1024 * 1024 });
  return JSON.parse(stdout) as PyIcebergTable;
}

/**
 * Stops or starts one component of the local stack (`scripts/stack/stack.sh down|up <component>`),
 * on the ports this process's LL_*_PORT variables name, as the stack itself does.
 */
export async function stackComponent(action: 'up' | 'down', component: string): Promise<void> {
  await run('bash', [path.join(PROJECT_ROOT, 'scripts', 'stack', 'stack.sh'), action, component], { cwd: PROJECT_ROOT, maxBuffer: 16 * 1024 * 1024 });
}

/** Takes a component down for `ms`, then up again — up even when something in between fails. */
export async function outage(component: string, ms: number, during: () => Promise<void> = async () => undefined): Promise<void> {
  await stackComponent('down', component);
  try {
    await Promise.all([during(), new Promise((r) => setTimeout(r, ms))]);
  } finally {
    await stackComponent('up', component);
  }
}
