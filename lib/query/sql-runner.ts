/**
 * `lakeloader sql`: DuckDB SQL against the attached Iceberg catalog. Read-only unless allowed:
 * every statement's type is checked (by DuckDB's own parser) before anything runs.
 */
import { StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { ConfigError, JobError } from '../errors.js';
import type { Lakehouse } from '../lakehouse/session.js';
import { quoteIdent, quoteString } from '../lakehouse/sql.js';
import type { ResultSet } from './format.js';

const READ_ONLY = new Set<StatementType>([
  StatementType.SELECT, StatementType.EXPLAIN, StatementType.PRAGMA, StatementType.SET,
  StatementType.VARIABLE_SET, StatementType.RELATION, StatementType.CALL,
]);

/**
 * Nested namespaces (`bronze.mydb`) are one schema name in DuckDB (`lake."bronze.mydb".t`). So that
 * users can write `bronze.mydb.t`, each such namespace also gets an in-memory catalog `bronze` with
 * schema `mydb` holding a view per table (skipped where the name is already a database).
 */
const namespaceCatalogs = new Set<string>();

export async function exposeNestedNamespaces(conn: DuckDBConnection, alias: string): Promise<void> {
  const tables = (await conn.runAndReadAll(
    `SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ${quoteString(alias)} AND schema_name LIKE '%.%'`,
  )).getRowObjectsJson() as { schema_name: string; table_name: string }[];
  const databases = new Set(((await conn.runAndReadAll('SELECT database_name FROM duckdb_databases()')).getRowObjectsJson() as { database_name: string }[]).map((d) => d.database_name));
  for (const { schema_name: namespace, table_name: table } of tables) {
    const [first, ...rest] = namespace.split('.');
    if (!first || (databases.has(first) && !namespaceCatalogs.has(first))) continue;
    if (!namespaceCatalogs.has(first)) {
      await conn.run(`ATTACH ':memory:' AS ${quoteIdent(first)}`);
      namespaceCatalogs.add(first);
    }
    const schema = rest.join('.');
    await conn.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(first)}.${quoteIdent(schema)}`);
    await conn.run(`CREATE OR REPLACE VIEW ${quoteIdent(first)}.${quoteIdent(schema)}.${quoteIdent(table)} AS SELECT * FROM ${quoteIdent(alias)}.${quoteIdent(namespace)}.${quoteIdent(table)}`);
  }
}

/** DuckDB's words for a time travel to a snapshot that is gone, with what users need to know. */
export function explainSqlError(err: unknown): unknown {
  const message = err instanceof Error ? err.message : String(err);
  const snapshot = /Could not find snapshot with id (\d+)/.exec(message);
  if (!snapshot) return err;
  return new JobError(`${message}: the snapshot never existed or was expired by table maintenance (a snapshot older than ` +
    `maintenance.retain_for that is not among the newest maintenance.retain_last is expired); the snapshots a table keeps: ` +
    `SELECT * FROM iceberg_snapshots('<table>'); maintenance runs: the namespace's _maintenance_runs table`, { cause: err });
}

export async function runSql(lakehouse: Lakehouse, sql: string, options: { allowWrites: boolean }): Promise<ResultSet> {
  return runStatements(lakehouse, sql, options).catch((err: unknown) => {
    throw explainSqlError(err);
  });
}

async function runStatements(lakehouse: Lakehouse, sql: string, options: { allowWrites: boolean }): Promise<ResultSet> {
  const conn = await lakehouse.connect();
  try {
    await exposeNestedNamespaces(conn, lakehouse.alias);
    const statements = await conn.extractStatements(sql);
    if (statements.count === 0) throw new ConfigError(['no SQL statement given']);
    let result: ResultSet = { columns: [], rows: [] };
    const run = async (stmt: Awaited<ReturnType<typeof statements.prepare>>) => {
      const reader = await stmt.runAndReadAll();
      result = { columns: reader.columnNames(), rows: reader.getRowObjectsJson() as Record<string, unknown>[] };
    };
    if (options.allowWrites) {
      // one at a time: a statement may use what an earlier one created
      for (let i = 0; i < statements.count; i++) await run(await statements.prepare(i));
      return result;
    }
    // read-only: every statement is checked before anything runs
    const prepared = [];
    for (let i = 0; i < statements.count; i++) {
      const stmt = await statements.prepare(i);
      if (!READ_ONLY.has(stmt.statementType)) {
        throw new ConfigError([`statement ${i + 1} is a ${StatementType[stmt.statementType]} statement: lakeloader sql is read-only unless --allow-writes is given`]);
      }
      prepared.push(stmt);
    }
    for (const stmt of prepared) await run(stmt);
    return result;
  } finally {
    conn.closeSync();
  }
}
