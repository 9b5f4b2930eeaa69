/**
 * Comparing the awkward source with its Iceberg tables: PostgreSQL's canonical text of every value
 * against what pyiceberg reads (compare.ts's expectedValue/actualValue), for composite keys, quoted
 * identifiers, the ±infinity clamping policy and the keyless table's base + changelog. Every
 * difference is described with its table, key and column.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type pg from 'pg';
import { quoteIdent } from '../../lib/lakehouse/sql.js';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { EXACT_TEXT_SETTINGS } from '../../lib/source/postgres/type-mapping.js';
import { qualified, sourceTableName, type AwkwardTable } from './awkward-schema.js';
import { actualValue, expectedValue } from './compare.js';
import { stack, type PyIcebergTable } from './stack.js';

const run = promisify(execFile);

export type IcebergRead = PyIcebergTable | { error: string };
export const readFailed = (r: IcebergRead): r is { error: string } => 'error' in r;

/** Reads Iceberg tables through pyiceberg in one process; each identifier is its parts (names may contain dots). */
export async function readIcebergTables(identifiers: string[][]): Promise<IcebergRead[]> {
  const script = path.join(PROJECT_ROOT, 'test', 'py', 'read_tables.py');
  const { stdout } = await run(stack.python, [script, '--uri', stack.restUri, '--tables', JSON.stringify(identifiers)], { maxBuffer: 1024 * 1024 * 1024 });
  return JSON.parse(stdout) as IcebergRead[];
}

/** The identifier parts of `_cdc_status.iceberg_table` (`<namespace>.<table>`, the table name may hold dots). */
export function icebergIdentifier(namespace: string, icebergTable: string): string[] {
  if (!icebergTable.startsWith(`${namespace}.`)) throw new Error(`iceberg_table ${icebergTable} is not in namespace ${namespace}`);
  return [...namespace.split('.'), icebergTable.slice(namespace.length + 1)];
}

/** A value as a failure message shows it: JSON, long texts cut (with their length). */
export function showValue(value: unknown): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 80 ? `${text.slice(0, 60)}…(${text.length} chars)` : text;
}

const CLAMPED_TIMESTAMP = { max: '9999-12-31 23:59:59.999999', min: '0001-01-01 00:00:00' };
const CLAMPED_DATE = { max: '9999-12-31', min: '0001-01-01' };

/**
 * PostgreSQL's canonical text of a column, as lakeloader must write it: COPY's text (char(n) padded,
 * money as numeric, timetz in UTC) with the default policy for ±infinity, clamped to the ends of
 * Iceberg's range (timestamps 9999-12-31 23:59:59.999999 / 0001-01-01 00:00:00 UTC, dates
 * 9999-12-31 / 0001-01-01).
 */
function canonicalText(column: SourceColumn): string {
  const c = quoteIdent(column.name);
  const clamp = (max: string, min: string) => `CASE WHEN ${c} = 'infinity' THEN '${max}' WHEN ${c} = '-infinity' THEN '${min}' ELSE ${c}::text END`;
  if (column.type.startsWith('character(')) return c;
  switch (column.type) {
    case 'money': return `${c}::numeric(38,2)::text`;
    case 'time with time zone': return `(${c} AT TIME ZONE 'UTC')::text`;
    case 'timestamp with time zone': return clamp(`${CLAMPED_TIMESTAMP.max}+00`, `${CLAMPED_TIMESTAMP.min}+00`);
    case 'timestamp without time zone': return clamp(CLAMPED_TIMESTAMP.max, CLAMPED_TIMESTAMP.min);
    case 'date': return clamp(CLAMPED_DATE.max, CLAMPED_DATE.min);
    default: return `${c}::text`;
  }
}

export interface SourceColumn {
  name: string;
  type: string;
}

export interface SourceSnapshot {
  columns: SourceColumn[];
  rows: (string | null)[][];
}

/** Every column (generated ones included) and row of a source table, as canonical text. */
export async function readSourceTable(db: pg.Client, table: { schema: string; name: string }): Promise<SourceSnapshot> {
  for (const s of EXACT_TEXT_SETTINGS) await db.query(s);
  const { rows: columns } = await db.query<SourceColumn>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, [qualified(table)]);
  const { rows } = await db.query({ text: `SELECT ${columns.map(canonicalText).join(', ')} FROM ${qualified(table)}`, rowMode: 'array' });
  return { columns, rows: rows as (string | null)[][] };
}

function icebergTypes(iceberg: PyIcebergTable): Map<string, string> {
  return new Map(iceberg.schema.map((f) => [f.name, f.type.replace(/ /g, '')]));
}

/** Problems of the Iceberg schema against the source's columns (missing columns), or []. */
function missingColumns(label: string, source: SourceSnapshot, types: Map<string, string>): string[] {
  const missing = source.columns.filter((c) => !types.has(c.name)).map((c) => quoteIdent(c.name));
  return missing.length > 0 ? [`${label}: column(s) ${missing.join(', ')} missing in Iceberg (Iceberg has ${[...types.keys()].map(quoteIdent).join(', ')})`] : [];
}

const MAX_EXAMPLES = 4;
function summarise(label: string, what: string, items: string[]): string[] {
  if (items.length === 0) return [];
  return [`${label}: ${items.length} ${what}; ${items.slice(0, MAX_EXAMPLES).join('; ')}${items.length > MAX_EXAMPLES ? '; …' : ''}`];
}

/**
 * The differences between a keyed source table and its Iceberg table: duplicate keys, keys missing or
 * extra, values that differ (with key and column). [] when they are equal row for row.
 */
export function diffKeyedTable(table: AwkwardTable, source: SourceSnapshot, iceberg: PyIcebergTable): string[] {
  const label = sourceTableName(table);
  const types = icebergTypes(iceberg);
  const problems = missingColumns(label, source, types);
  const keyIndexes = table.key.map((k) => source.columns.findIndex((c) => c.name === k));
  const describeKey = (values: unknown[]) => `(${table.key.map((k, i) => `${quoteIdent(k)}=${showValue(values[i])}`).join(', ')})`;
  const sourceByKey = new Map<string, (string | null)[]>();
  for (const row of source.rows) sourceByKey.set(JSON.stringify(keyIndexes.map((i) => row[i])), row);
  const lakeByKey = new Map<string, Record<string, unknown>>();
  const duplicates: string[] = [];
  for (const row of iceberg.rows) {
    const values = table.key.map((k) => (row[k] === null || row[k] === undefined ? null : String(actualValue(row[k], types.get(k) ?? 'string'))));
    const key = JSON.stringify(values);
    if (lakeByKey.has(key)) duplicates.push(describeKey(values));
    lakeByKey.set(key, row);
  }
  const missing: string[] = [];
  const changed: string[] = [];
  for (const [key, row] of sourceByKey) {
    const lake = lakeByKey.get(key);
    const keyText = describeKey(JSON.parse(key) as unknown[]);
    if (!lake) {
      missing.push(keyText);
      continue;
    }
    for (const [i, column] of source.columns.entries()) {
      const type = types.get(column.name);
      if (!type) continue;
      const want = expectedValue(row[i] ?? null, type);
      const got = actualValue(lake[column.name] ?? null, type);
      if (JSON.stringify(want) !== JSON.stringify(got)) changed.push(`key ${keyText} column ${quoteIdent(column.name)} (${column.type}): PostgreSQL ${showValue(want)} vs Iceberg ${showValue(got)}`);
    }
  }
  const extra = [...lakeByKey.keys()].filter((k) => !sourceByKey.has(k)).map((k) => describeKey(JSON.parse(k) as unknown[]));
  return [
    ...problems,
    ...summarise(label, 'duplicate key(s) in Iceberg', duplicates),
    ...summarise(label, `key(s) missing in Iceberg (of ${sourceByKey.size})`, missing),
    ...summarise(label, 'key(s) in Iceberg but not in PostgreSQL', extra),
    ...summarise(label, 'value(s) differ', changed),
  ];
}

/**
 * The keyless table: PostgreSQL's rows against the Iceberg base table (the bulk load) plus its
 * `<table>_changelog` applied in `_lsn` order (`c`/`r` add the row, `d` removes one equal row), as
 * multisets. A change event twice in the changelog is a duplicate.
 */
export function diffKeylessTable(table: AwkwardTable, source: SourceSnapshot, base: PyIcebergTable, changelog: PyIcebergTable | null): string[] {
  const label = sourceTableName(table);
  const types = icebergTypes(base);
  const problems = missingColumns(label, source, types);
  if (problems.length > 0) return problems;
  const sourceRow = (row: (string | null)[]) => JSON.stringify(source.columns.map((c, i) => expectedValue(row[i] ?? null, types.get(c.name)!)));
  const lakeRow = (row: Record<string, unknown>) => JSON.stringify(source.columns.map((c) => actualValue(row[c.name] ?? null, types.get(c.name)!)));
  const counts = new Map<string, number>();
  const add = (row: string, n: number) => counts.set(row, (counts.get(row) ?? 0) + n);
  for (const row of source.rows) add(sourceRow(row), 1);
  for (const row of base.rows) add(lakeRow(row), -1);
  const seenEvents = new Set<string>();
  const duplicates: string[] = [];
  const unexpected: string[] = [];
  const events = [...(changelog?.rows ?? [])].sort((a, b) => (BigInt(String(a._lsn)) < BigInt(String(b._lsn)) ? -1 : 1));
  for (const event of events) {
    const row = lakeRow(event);
    const id = `${String(event._lsn)} ${String(event._op)} ${row}`;
    if (seenEvents.has(id)) duplicates.push(`_lsn ${String(event._lsn)} ${String(event._op)} ${showValue(row)}`);
    seenEvents.add(id);
    if (event._op === 'c' || event._op === 'r') add(row, -1);
    else if (event._op === 'd') add(row, 1);
    else unexpected.push(`_op ${showValue(event._op)} at _lsn ${String(event._lsn)}`);
  }
  const inSourceOnly: string[] = [];
  const inLakeOnly: string[] = [];
  for (const [row, n] of counts) {
    for (let i = 0; i < Math.abs(n); i++) (n > 0 ? inSourceOnly : inLakeOnly).push(showValue(JSON.parse(row)));
  }
  return [
    ...summarise(label, 'duplicate change event(s) in the changelog', duplicates),
    ...summarise(label, 'changelog event(s) that cannot be applied to a multiset', unexpected),
    ...summarise(label, `row(s) in PostgreSQL but not in Iceberg base + changelog (PostgreSQL has ${source.rows.length})`, inSourceOnly),
    ...summarise(label, 'row(s) in Iceberg base + changelog but not in PostgreSQL', inLakeOnly),
  ];
}
