/**
 * Loads DuckDB's avro, httpfs and iceberg extensions (in that order: iceberg needs both) from the
 * project-local extension repository `make up` fills from PyPI wheels; when a binary is missing there,
 * DuckDB's own INSTALL is tried (works only online).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { JobError, errorMessage } from '../errors.js';

export const REQUIRED_EXTENSIONS = ['avro', 'httpfs', 'iceberg'] as const;

function platform(): string {
  return process.arch === 'arm64' ? 'linux_arm64' : 'linux_amd64';
}

export async function loadLakehouseExtensions(conn: DuckDBConnection, extensionDir: string): Promise<void> {
  const version = (await conn.runAndReadAll('SELECT version()')).getRows()[0]?.[0] as string; // e.g. v1.5.5
  const localDir = path.join(extensionDir, version, platform());
  for (const name of REQUIRED_EXTENSIONS) {
    const file = path.join(localDir, `${name}.duckdb_extension`);
    try {
      if (existsSync(file)) {
        await conn.run(`LOAD '${file.replace(/'/g, "''")}'`);
      } else {
        await conn.run(`INSTALL ${name}`);
        await conn.run(`LOAD ${name}`);
      }
    } catch (err) {
      const available = existsSync(extensionDir) ? readdirSync(extensionDir).join(', ') : 'none';
      throw new JobError(
        `cannot load DuckDB extension '${name}' for DuckDB ${version}: ${errorMessage(err)}. ` +
          `Expected ${file} (extension versions present in ${extensionDir}: ${available}). ` +
          `Run 'make up' (or scripts/stack/stack.sh install duckdb_ext) so the extension binaries match the pinned @duckdb/node-api.`,
      );
    }
  }
}
