/** Comparing what pyiceberg reads with PostgreSQL's own text of the same values. */
import type pg from 'pg';
import { EXACT_TEXT_SETTINGS } from '../../lib/source/postgres/type-mapping.js';
import type { PyIcebergTable } from './stack.js';

function temporal(s: string): string {
  const [main, frac = ''] = s.replace(' ', 'T').replace(/(\+00(:00)?|Z)$/, '').split('.');
  return `${main}.${frac.padEnd(6, '0')}`;
}

/** PostgreSQL's text of a value → what read_table.py prints for the Iceberg value of that type. */
export function expectedValue(text: string | null, icebergType: string): unknown {
  if (text === null) return null;
  const type = icebergType.replace(/ /g, '');
  if (type === 'boolean') return text === 'true' || text === 't';
  if (type === 'int' || type === 'long') return text;
  if (type === 'float') return ['NaN', 'Infinity', '-Infinity'].includes(text) ? text : Math.fround(Number(text));
  if (type === 'double') return ['NaN', 'Infinity', '-Infinity'].includes(text) ? text : Number(text);
  if (type === 'binary') return text.slice(2);
  if (type === 'timestamp' || type === 'timestamptz' || type === 'time') return temporal(text);
  return text;
}

/** pyiceberg's value in the same normal form. */
export function actualValue(value: unknown, icebergType: string): unknown {
  const type = icebergType.replace(/ /g, '');
  if (value !== null && (type === 'timestamp' || type === 'timestamptz' || type === 'time')) return temporal(String(value).replace(/\+00:00$/, ''));
  return value;
}

/**
 * Asserts that an Iceberg table read by pyiceberg holds exactly the PostgreSQL table's rows (by key),
 * value by value. Returns a description of the first difference, or null.
 */
export async function diffTable(db: pg.Client, qualified: string, key: string, iceberg: PyIcebergTable, castOverrides: Record<string, string> = {}): Promise<string | null> {
  for (const s of EXACT_TEXT_SETTINGS) await db.query(s);
  const types = Object.fromEntries(iceberg.schema.map((f) => [f.name, f.type]));
  const { rows: cols } = await db.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, [qualified]);
  const select = cols.map((c) => castOverrides[c.name] ?? (c.type.startsWith('character(') ? `"${c.name}"` : `"${c.name}"::text`)).join(', ');
  const { rows } = await db.query({ text: `SELECT ${select} FROM ${qualified}`, rowMode: 'array' });
  const source = new Map<string, (string | null)[]>();
  const keyIndex = cols.findIndex((c) => c.name === key);
  for (const r of rows as (string | null)[][]) source.set(String(r[keyIndex]), r);
  const lake = new Map<string, Record<string, unknown>>();
  for (const r of iceberg.rows) {
    const k = String(r[key]);
    if (lake.has(k)) return `duplicate key ${key}=${k} in Iceberg`;
    lake.set(k, r);
  }
  for (const [k, r] of source) {
    const l = lake.get(k);
    if (!l) return `key ${key}=${k} missing in Iceberg`;
    for (const [i, c] of cols.entries()) {
      const type = types[c.name];
      if (!type) return `column ${c.name} missing in Iceberg`;
      const want = expectedValue(r[i] ?? null, type);
      const got = actualValue(l[c.name] ?? null, type);
      if (JSON.stringify(want) !== JSON.stringify(got)) return `key ${key}=${k} column ${c.name}: PostgreSQL ${JSON.stringify(want)} vs Iceberg ${JSON.stringify(got)}`;
    }
  }
  for (const k of lake.keys()) if (!source.has(k)) return `key ${key}=${k} in Iceberg but not in PostgreSQL`;
  return null;
}
