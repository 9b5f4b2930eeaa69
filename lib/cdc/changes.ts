/**
 * Reducing a micro-batch of one table's changes to what Iceberg must do: the last state per primary
 * key wins, a key change deletes the old key, a truncate forgets everything before it.
 */
export type TextRow = Record<string, string | null>;
export type ChangeOp = 'c' | 'u' | 'd' | 'r' | 't';

export interface TableChange {
  op: ChangeOp;
  before: TextRow | null;
  after: TextRow | null;
  /** The Kafka message key (the primary key columns), used when before/after lack them. */
  key: TextRow | null;
}

export interface KeyedBatch<T extends TableChange> {
  /** Delete every row first (a truncate happened in this batch). */
  truncate: boolean;
  /** Keys whose current rows must go: deleted keys, and keys about to be rewritten. */
  deleteKeys: TextRow[];
  /** The last change per upserted key (its `after` is the row to write), parallel to its key in upsertKeys. */
  upserts: T[];
  upsertKeys: TextRow[];
}

function keyOf(row: TextRow, keyColumns: string[]): { id: string; values: TextRow } {
  const values: TextRow = {};
  for (const k of keyColumns) {
    if (!(k in row)) throw new Error(`change event lacks key column ${k}`);
    values[k] = row[k] ?? null;
  }
  return { id: JSON.stringify(keyColumns.map((k) => values[k])), values };
}

export function reduceKeyed<T extends TableChange>(changes: T[], keyColumns: string[]): KeyedBatch<T> {
  let truncate = false;
  const state = new Map<string, { key: TextRow; change: T | null }>();
  for (const ch of changes) {
    if (ch.op === 't') {
      truncate = true;
      state.clear();
      continue;
    }
    if (ch.op === 'd') {
      if (!ch.before && !ch.key) throw new Error('delete event without before image or key');
      const k = keyOf({ ...ch.key, ...stripNulls(ch.before) }, keyColumns);
      state.set(k.id, { key: k.values, change: null });
      continue;
    }
    if (!ch.after) throw new Error(`'${ch.op}' event without after image`);
    const next = keyOf(ch.after, keyColumns);
    if (ch.op === 'u' && ch.before) {
      // a primary-key update arrives with the old key in before (REPLICA IDENTITY FULL or DEFAULT)
      const old = keyOf({ ...ch.before }, keyColumns);
      if (old.id !== next.id && keyColumns.every((c) => ch.before![c] !== null && ch.before![c] !== undefined)) {
        state.set(old.id, { key: old.values, change: null });
      }
    }
    state.set(next.id, { key: next.values, change: ch });
  }
  const deleteKeys: TextRow[] = [];
  const upserts: T[] = [];
  const upsertKeys: TextRow[] = [];
  for (const { key, change } of state.values()) {
    deleteKeys.push(key);
    if (change) {
      upserts.push(change);
      upsertKeys.push(key);
    }
  }
  return { truncate, deleteKeys, upserts, upsertKeys };
}

/** Delete events under REPLICA IDENTITY DEFAULT carry nulls for non-key columns: keep the key's real values. */
function stripNulls(row: TextRow | null): TextRow {
  if (!row) return {};
  return Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null));
}
