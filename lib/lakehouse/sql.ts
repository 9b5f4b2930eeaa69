/** Small SQL text helpers for DuckDB: identifiers and literals are always quoted, never interpolated raw. */

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A SQL literal for a JS value; the column's CAST turns it into the exact type. */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return "'NaN'";
    if (!Number.isFinite(value)) return value > 0 ? "'Infinity'" : "'-Infinity'";
    return Object.is(value, -0) ? "'-0.0'" : String(value);
  }
  if (value instanceof Date) return quoteString(value.toISOString());
  if (value instanceof Uint8Array) return `from_hex(${quoteString(Buffer.from(value).toString('hex'))})`;
  if (typeof value === 'string') return quoteString(value);
  return quoteString(JSON.stringify(value));
}

/** `"catalog"."ns.sub"."table"`: Iceberg namespaces may be nested; DuckDB sees them as one schema name. */
export function tableRef(catalog: string, namespace: string, table: string): string {
  return `${quoteIdent(catalog)}.${quoteIdent(namespace)}.${quoteIdent(table)}`;
}
