/**
 * Content fingerprints for `validate --deep`. Both sides are turned into the same DuckDB values (the
 * source from the staged canonical PostgreSQL text through each column's `duckdbFromText`, Iceberg by
 * reading the table cast to the same types), then every row gets a 64-bit hash of all its values.
 * Rows fall into buckets by a hash of their key (by the row hash for tables without a key); a bucket's
 * fingerprint is its row count and the sum of its row hashes, so the comparison ignores row order and
 * a single changed value changes one bucket. Only mismatching buckets are read again, joined on the
 * key, to name the rows that differ (and, for changed rows, the columns).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteIdent } from '../lakehouse/sql.js';

export interface FingerprintColumn {
  name: string;
  /** The DuckDB type both sides are compared as (the source mapping's Iceberg type). */
  duckdbType: string;
}

/** A bucket's fingerprint: rows in it and the sum of their row hashes (exact, as decimal text). */
export interface BucketPrint { n: number; s: string }
export type Fingerprint = Map<number, BucketPrint>;

export type DifferenceKind = 'missing_in_iceberg' | 'extra_in_iceberg' | 'changed' | 'duplicate_in_iceberg';

export interface RowDifference {
  kind: DifferenceKind;
  /** Key column → value; null for tables without a key. */
  key: Record<string, unknown> | null;
  /** Changed rows: the columns whose values differ. */
  columns?: string[];
  /** Tables without a key: how many identical rows are affected. */
  rows?: number;
}

export interface DifferenceSummary {
  missing_in_iceberg: number;
  extra_in_iceberg: number;
  changed: number;
  duplicate_in_iceberg: number;
  /** The first differences in key order (at most the requested number). */
  listed: RowDifference[];
  truncated: boolean;
}

/** Buckets for a table of about `rows` rows: ~1,000 rows each, 16 to 16,384 buckets. */
export function bucketCount(rows: number): number {
  const wanted = Math.ceil(Math.max(rows, 1) / 1000);
  return Math.min(16_384, Math.max(16, 2 ** Math.ceil(Math.log2(wanted))));
}

const hashOf = (names: string[]) => `hash(${names.map(quoteIdent).join(', ')})`;

/**
 * What a column contributes to the row hash. Floating-point values go in by their exact text
 * (shortest round-trip form): hash() follows SQL equality, which would not tell -0 from 0.
 */
export function hashInput(c: FingerprintColumn): string {
  return c.duckdbType === 'FLOAT' || c.duckdbType === 'DOUBLE' ? `CAST(${quoteIdent(c.name)} AS VARCHAR)` : quoteIdent(c.name);
}

const rowHashOf = (columns: FingerprintColumn[]) => `hash(${columns.map(hashInput).join(', ')})`;

/** The Iceberg table's compared columns cast to the source's types, pinned to one snapshot. */
export function icebergRelation(ref: string, columns: FingerprintColumn[], snapshotId: string | null): string {
  const cols = columns.map((c) => `CAST(${quoteIdent(c.name)} AS ${c.duckdbType}) AS ${quoteIdent(c.name)}`).join(', ');
  return `SELECT ${cols} FROM ${ref}${snapshotId ? ` AT (VERSION => ${snapshotId})` : ''}`;
}

/** The compared columns of a relation that has all of them (e.g. the staged-CSV SELECT of every column). */
export function projectRelation(relation: string, columns: FingerprintColumn[]): string {
  return `SELECT ${columns.map((c) => quoteIdent(c.name)).join(', ')} FROM (${relation})`;
}

function bucketExpr(columns: FingerprintColumn[], key: string[], buckets: number): string {
  return `(${key.length > 0 ? hashOf(key) : rowHashOf(columns)} % ${buckets})`;
}

/** One row per non-empty bucket: b, n (rows), s (sum of row hashes as text). */
export function bucketFingerprintSql(relation: string, columns: FingerprintColumn[], key: string[], buckets: number): string {
  const rowHash = rowHashOf(columns);
  return `SELECT ${bucketExpr(columns, key, buckets)}::INTEGER AS b, count(*)::BIGINT AS n, sum(${rowHash})::VARCHAR AS s ` +
    `FROM (${relation}) GROUP BY 1`;
}

/** Buckets whose fingerprints differ (present on one side only, other count, other hash sum). */
export function mismatchedBuckets(source: Fingerprint, iceberg: Fingerprint): number[] {
  const out: number[] = [];
  for (const b of new Set([...source.keys(), ...iceberg.keys()])) {
    const s = source.get(b);
    const i = iceberg.get(b);
    if (!s || !i || s.n !== i.n || s.s !== i.s) out.push(b);
  }
  return out.sort((a, b) => a - b);
}

export function totalRows(print: Fingerprint): number {
  let n = 0;
  for (const b of print.values()) n += b.n;
  return n;
}

function bucketFilter(columns: FingerprintColumn[], key: string[], buckets: number, only: number[] | undefined): string {
  return only ? `WHERE ${bucketExpr(columns, key, buckets)} IN (${only.join(', ')})` : '';
}

/**
 * SQL creating temp table `diffTable` with one row per differing key: k0…kN (the key values),
 * source_n / iceberg_n (rows with that key on each side) and changed_columns (comma-separated).
 * Reads only the given buckets (all when undefined).
 */
export function keyedDiffSql(
  diffTable: string, sourceRel: string, icebergRel: string, columns: FingerprintColumn[], key: string[], buckets: number, only?: number[],
): string {
  const names = columns.map((c) => c.name);
  const keyAliases = key.map((_k, i) => `k${i}`);
  const side = (rel: string) =>
    `SELECT ${key.map((k, i) => `${quoteIdent(k)} AS k${i}`).join(', ')}, count(*) AS n, min(${rowHashOf(columns)}) AS h, ` +
    `${columns.map((c, i) => `min(hash(${hashInput(c)})) AS h${i}`).join(', ')} ` +
    `FROM (${rel}) ${bucketFilter(columns, key, buckets, only)} GROUP BY ${keyAliases.join(', ')}`;
  const changed = names.map((c, i) => `CASE WHEN s.h${i} IS DISTINCT FROM i.h${i} THEN ${quoteLiteral(c)} END`).join(', ');
  return `CREATE OR REPLACE TEMP TABLE ${quoteIdent(diffTable)} AS ` +
    `WITH s AS (${side(sourceRel)}), i AS (${side(icebergRel)}) ` +
    `SELECT ${keyAliases.map((k) => `COALESCE(s.${k}, i.${k}) AS ${k}`).join(', ')}, ` +
    `COALESCE(s.n, 0)::BIGINT AS source_n, COALESCE(i.n, 0)::BIGINT AS iceberg_n, ` +
    `CASE WHEN s.n IS NOT NULL AND i.n IS NOT NULL THEN concat_ws(',', ${changed}) END AS changed_columns ` +
    `FROM s FULL OUTER JOIN i ON ${keyAliases.map((k) => `s.${k} IS NOT DISTINCT FROM i.${k}`).join(' AND ')} ` +
    `WHERE s.n IS DISTINCT FROM i.n OR s.h IS DISTINCT FROM i.h`;
}

/** Tables without a key: the multiset of row hashes; one row per hash whose multiplicity differs. */
export function keylessDiffSql(diffTable: string, sourceRel: string, icebergRel: string, columns: FingerprintColumn[], buckets: number, only?: number[]): string {
  const h = rowHashOf(columns);
  const side = (rel: string) => `SELECT ${h} AS h, count(*) AS n FROM (${rel}) ${bucketFilter(columns, [], buckets, only)} GROUP BY 1`;
  return `CREATE OR REPLACE TEMP TABLE ${quoteIdent(diffTable)} AS ` +
    `WITH s AS (${side(sourceRel)}), i AS (${side(icebergRel)}) ` +
    `SELECT COALESCE(s.h, i.h) AS h, COALESCE(s.n, 0)::BIGINT AS source_n, COALESCE(i.n, 0)::BIGINT AS iceberg_n ` +
    `FROM s FULL OUTER JOIN i ON s.h = i.h WHERE s.n IS DISTINCT FROM i.n`;
}

function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

async function rows(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
}

export async function computeFingerprint(conn: DuckDBConnection, relation: string, columns: FingerprintColumn[], key: string[], buckets: number): Promise<Fingerprint> {
  const print: Fingerprint = new Map();
  for (const r of await rows(conn, bucketFingerprintSql(relation, columns, key, buckets))) {
    print.set(Number(r.b), { n: Number(r.n), s: String(r.s) });
  }
  return print;
}

let diffSeq = 0;

/** Names the differing rows of the mismatching buckets: counts by kind, and the first `limit` in key order. */
export async function diffRows(
  conn: DuckDBConnection,
  input: { sourceRel: string; icebergRel: string; columns: FingerprintColumn[]; key: string[]; buckets: number; only: number[]; limit: number },
): Promise<DifferenceSummary> {
  const { columns, key, buckets, limit } = input;
  // reading every bucket is as cheap as filtering when most of them differ
  const only = input.only.length > buckets / 2 ? undefined : input.only;
  const table = `_lakeloader_validate_diff_${process.pid}_${++diffSeq}`;
  try {
    if (key.length > 0) {
      await conn.run(keyedDiffSql(table, input.sourceRel, input.icebergRel, columns, key, buckets, only));
      const [totals] = await rows(conn, `SELECT count(*) FILTER (WHERE iceberg_n = 0) AS missing, count(*) FILTER (WHERE source_n = 0) AS extra, ` +
        `count(*) FILTER (WHERE source_n > 0 AND iceberg_n > source_n) AS duplicate, ` +
        `count(*) FILTER (WHERE source_n > 0 AND iceberg_n > 0 AND iceberg_n <= source_n) AS changed FROM ${quoteIdent(table)}`);
      const order = key.map((_k, i) => `k${i}`).join(', ');
      const listed = (await rows(conn, `SELECT * FROM ${quoteIdent(table)} ORDER BY ${order} LIMIT ${limit + 1}`)).map((r): RowDifference => {
        const keyValues = Object.fromEntries(key.map((k, i) => [k, r[`k${i}`]]));
        const s = Number(r.source_n);
        const i = Number(r.iceberg_n);
        if (i === 0) return { kind: 'missing_in_iceberg', key: keyValues };
        if (s === 0) return { kind: 'extra_in_iceberg', key: keyValues };
        if (i > s) return { kind: 'duplicate_in_iceberg', key: keyValues, rows: i };
        const changed = String(r.changed_columns ?? '');
        return { kind: 'changed', key: keyValues, columns: changed ? changed.split(',') : [] };
      });
      return {
        missing_in_iceberg: Number(totals?.missing ?? 0),
        extra_in_iceberg: Number(totals?.extra ?? 0),
        changed: Number(totals?.changed ?? 0),
        duplicate_in_iceberg: Number(totals?.duplicate ?? 0),
        listed: listed.slice(0, limit),
        truncated: listed.length > limit,
      };
    }
    await conn.run(keylessDiffSql(table, input.sourceRel, input.icebergRel, columns, buckets, only));
    const [totals] = await rows(conn, `SELECT COALESCE(sum(greatest(source_n - iceberg_n, 0)), 0)::BIGINT AS missing, ` +
      `COALESCE(sum(greatest(iceberg_n - source_n, 0)), 0)::BIGINT AS extra FROM ${quoteIdent(table)}`);
    const listed = (await rows(conn, `SELECT source_n, iceberg_n FROM ${quoteIdent(table)} ORDER BY h LIMIT ${limit + 1}`)).map((r): RowDifference => {
      const d = Number(r.iceberg_n) - Number(r.source_n);
      return d < 0 ? { kind: 'missing_in_iceberg', key: null, rows: -d } : { kind: 'extra_in_iceberg', key: null, rows: d };
    });
    return {
      missing_in_iceberg: Number(totals?.missing ?? 0),
      extra_in_iceberg: Number(totals?.extra ?? 0),
      changed: 0,
      duplicate_in_iceberg: 0,
      listed: listed.slice(0, limit),
      truncated: listed.length > limit,
    };
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${quoteIdent(table)}`).catch(() => undefined);
  }
}

/** `id=42`, `(a=1, b=x)`: a key as people read it. */
export function formatKey(key: Record<string, unknown> | null): string {
  if (!key) return '(no key)';
  const parts = Object.entries(key).map(([k, v]) => `${k}=${v === null || v === undefined ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return parts.length === 1 ? parts[0]! : `(${parts.join(', ')})`;
}

/** One line naming what differs, e.g. `changed id=42 [amount]; missing in Iceberg id=7`. */
export function describeDifferences(d: DifferenceSummary): string {
  const counts: string[] = [];
  if (d.changed) counts.push(`${d.changed} changed`);
  if (d.missing_in_iceberg) counts.push(`${d.missing_in_iceberg} missing in Iceberg`);
  if (d.extra_in_iceberg) counts.push(`${d.extra_in_iceberg} only in Iceberg`);
  if (d.duplicate_in_iceberg) counts.push(`${d.duplicate_in_iceberg} duplicated in Iceberg`);
  const items = d.listed.map((x) => {
    switch (x.kind) {
      case 'changed': return `changed ${formatKey(x.key)}${x.columns?.length ? ` [${x.columns.join(', ')}]` : ''}`;
      case 'missing_in_iceberg': return x.key ? `missing ${formatKey(x.key)}` : `${x.rows} row(s) missing`;
      case 'extra_in_iceberg': return x.key ? `extra ${formatKey(x.key)}` : `${x.rows} extra row(s)`;
      case 'duplicate_in_iceberg': return `duplicate ${formatKey(x.key)} ×${x.rows}`;
    }
  });
  return `${counts.join(', ')}${items.length ? `: ${items.join('; ')}${d.truncated ? '; …' : ''}` : ''}`;
}
