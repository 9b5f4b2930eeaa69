/**
 * Loading one table: extract its chunks in worker threads (inside the shared snapshot) to staging
 * files, then one Iceberg transaction replaces the table's rows and marks it completed in
 * `_cdc_status`: a reader sees all of the table's rows or none.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import type pg from 'pg';
import { DataError, JobError } from '../errors.js';
import type { Lakehouse } from '../lakehouse/session.js';
import { quoteIdent, quoteString } from '../lakehouse/sql.js';
import type { ColumnSpec } from '../lakehouse/types.js';
import type { ExtractChunkResult, ExtractChunkTask } from '../source/postgres/extract-chunk.js';
import { hasFiniteRange, type ColumnMapping } from '../source/postgres/type-mapping.js';
import type { CdcStatusRow, CdcStatusStore } from '../state/cdc-status.js';
import { chunkSelects, type ChunkSource } from './plan.js';
import { applyValuePolicies, parseUnrepresentableCounts, unrepresentableCountSql, type ValueAdjustment } from './unrepresentable.js';

export interface TableLoadInput {
  /** Source schema.table */
  sourceName: string;
  schema: string;
  table: string;
  icebergTable: string;
  namespace: string;
  mappings: ColumnMapping[];
  /** Where the rows are stored: the table, or its leaf partitions. */
  relations: ChunkSource[];
  maxChunks: number;
  snapshotName: string;
  connection: pg.ClientConfig;
  stagingDir: string;
}

export function icebergColumns(mappings: ColumnMapping[]): ColumnSpec[] {
  return mappings.map((m) => ({ name: m.name, type: m.icebergType, nullable: m.nullable, comment: m.sourceType }));
}

function stagedFiles(mappings: ColumnMapping[], files: string[]): string {
  const columns = mappings.map((_m, i) => `${quoteString(`c${i}`)}: 'VARCHAR'`).join(', ');
  const list = files.map(quoteString).join(', ');
  // quoted empty strings are values, unquoted empties are NULL: exactly COPY's CSV convention
  return `read_csv([${list}], header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', ` +
    `allow_quoted_nulls = false, columns = {${columns}})`;
}

/** The DuckDB SELECT turning staged CSV text into the table's Iceberg values, column by column. */
export function stagedSelect(mappings: ColumnMapping[], files: string[]): string {
  const exprs = mappings.map((m, i) => `${m.duckdbFromText(quoteIdent(`c${i}`))} AS ${quoteIdent(m.name)}`).join(', ');
  return `SELECT ${exprs} FROM ${stagedFiles(mappings, files)}`;
}

/**
 * Before the commit: counts the staged values Iceberg cannot hold and applies the columns' value
 * policies — a `fail` column stops the table here (a DataError, not retried); clamped and nulled
 * values are returned to be reported.
 */
export async function checkStagedValues(lakehouse: Lakehouse, input: TableLoadInput, staged: { files: string[]; rows: number }): Promise<ValueAdjustment[]> {
  const sql = unrepresentableCountSql(input.mappings, stagedFiles(input.mappings, staged.files));
  if (!sql || staged.rows === 0) return [];
  const [row] = await lakehouse.query(sql);
  return applyValuePolicies(input.sourceName, parseUnrepresentableCounts(input.mappings, row ?? {}));
}

/**
 * After a failed commit: find the first column and value Iceberg cannot take, so the error names
 * them (and the way out) instead of DuckDB's bare conversion message.
 */
export async function diagnoseStagedValues(lakehouse: Lakehouse, input: TableLoadInput, files: string[]): Promise<string | undefined> {
  for (const [i, m] of input.mappings.entries()) {
    const col = quoteIdent(`c${i}`);
    const converted = `TRY(${m.duckdbFromText(col)})`;
    const bad = hasFiniteRange(m.icebergType) ? `(${converted} IS NULL OR NOT isfinite(${converted}))` : `${converted} IS NULL`;
    const rows = await lakehouse.query(`SELECT ${col} AS v FROM ${stagedFiles(input.mappings, files)} WHERE ${col} IS NOT NULL AND ${bad} LIMIT 1`);
    if (rows.length > 0) {
      return `column ${m.name} (${m.sourceType}) of ${input.sourceName} holds '${String(rows[0]!.v).slice(0, 80)}', which Iceberg ${m.icebergType} cannot store; ` +
        `set sources.yaml column_types: {"${input.sourceName}.${m.name}": string} to keep this column as exact text`;
    }
  }
  return undefined;
}

export async function extractTable(
  input: TableLoadInput,
  pool: Piscina,
  onRows: (rows: number) => void,
): Promise<{ files: string[]; rows: number; bytes: number }> {
  const selects = chunkSelects(input.mappings.map((m) => m.pgSelect).join(', '), input.relations, input.maxChunks);
  const dir = path.join(input.stagingDir, `${input.schema}.${input.table}`);
  await rm(dir, { recursive: true, force: true });
  const live = new Array<number>(selects.length).fill(0);
  const results = await Promise.all(selects.map(async (selectSql, i) => {
    const channel = new MessageChannel();
    channel.port1.on('message', (rows: number) => {
      live[i] = rows;
      onRows(live.reduce((a, b) => a + b, 0));
    });
    const task: ExtractChunkTask = {
      connection: input.connection,
      snapshotName: input.snapshotName,
      selectSql,
      outputFile: path.join(dir, `chunk-${String(i).padStart(4, '0')}.csv`),
      progress: channel.port2,
    };
    try {
      const result = (await pool.run(task, { transferList: [channel.port2] })) as ExtractChunkResult;
      live[i] = result.rows;
      return { file: task.outputFile, ...result };
    } finally {
      channel.port1.close();
    }
  }));
  return { files: results.map((r) => r.file), rows: results.reduce((a, r) => a + r.rows, 0), bytes: results.reduce((a, r) => a + r.bytes, 0) };
}

/** One Iceberg commit: old rows out, staged rows in, status completed. Verifies the row count against COPY's. */
export async function commitTable(
  lakehouse: Lakehouse,
  status: CdcStatusStore,
  input: TableLoadInput,
  staged: { files: string[]; rows: number },
  completedRow: Omit<CdcStatusRow, 'rows_loaded'>,
): Promise<number> {
  const target = lakehouse.ref(input.namespace, input.icebergTable);
  const names = input.mappings.map((m) => quoteIdent(m.name)).join(', ');
  try {
    return await lakehouse.transaction(async (tx) => {
      await tx.run(`DELETE FROM ${target}`);
      const written = staged.rows === 0 ? 0 : await tx.run(`INSERT INTO ${target} (${names}) ${stagedSelect(input.mappings, staged.files)}`);
      if (written !== staged.rows) {
        throw new JobError(`${input.sourceName}: PostgreSQL COPY returned ${staged.rows} rows but ${written} were staged for Iceberg; nothing committed`);
      }
      await status.upsert({ ...completedRow, rows_loaded: written }, tx);
      return written;
    });
  } catch (err) {
    // the transaction is rolled back: look for the value DuckDB refused, to name it; such a value
    // fails every attempt alike, so it is a DataError (not retried)
    const cause = err instanceof JobError ? undefined : await diagnoseStagedValues(lakehouse, input, staged.files).catch(() => undefined);
    throw cause ? new DataError(cause, { cause: err }) : err;
  }
}
