/**
 * Table locations that every reader and writer can handle. The catalog derives a table's location
 * from its name, and DuckDB's positional deletes fail on data-file paths with non-ASCII bytes
 * (`Invalid byte encountered in STRING -> BLOB conversion`): a table named `données` could be read
 * but never updated. Such a table gets a location of safe ASCII characters, unique by a hash of its name.
 */
import { createHash } from 'node:crypto';

const SAFE_SEGMENT = /^[A-Za-z0-9_.-]+$/;

/** The location with its last path segment (the table's, named after it) made safe, or undefined when the name is safe. */
export function safeTableLocation(location: string, table: string): string | undefined {
  if (SAFE_SEGMENT.test(table)) return undefined;
  const cut = location.replace(/\/+$/, '').lastIndexOf('/');
  const slug = table.normalize('NFKD').replace(/\p{M}/gu, '').replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 80) || 'table';
  const hash = createHash('sha256').update(table).digest('hex').slice(0, 10);
  return `${location.slice(0, cut)}/${slug}-${hash}`;
}
