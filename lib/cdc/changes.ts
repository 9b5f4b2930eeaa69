/**
 * Reducing a micro-batch of one table's changes to what Iceberg must do: the last state per primary
 * key wins, a key change deletes the old key, a truncate forgets everything before it. Values Debezium
 * did not send (unchanged TOASTed columns) come from the row's previous state in the batch when there
 * is one (it may be newer than Iceberg's), else from the current Iceberg row of the key the row had.
 */
export type TextRow = Record<string, string | null>;
export type ChangeOp = 'c' | 'u' | 'd' | 'r' | 't';

export interface TableChange {
  op: ChangeOp;
  before: TextRow | null;
  after: TextRow | null;
  /** The Kafka message key (the primary key columns), used when before/after lack them. */
  key: TextRow | null;
  /** Columns of `after` Debezium did not send (unchanged TOASTed values). */
  unavailable?: string[];
  /** For a create that is the second half of a primary-key change: the row's old key (Debezium's `__debezium.oldkey`). */
  oldKey?: TextRow;
}

export interface KeyedBatch<T extends TableChange> {
  /** Delete every row first (a truncate happened in this batch). */
  truncate: boolean;
  /** Keys whose current rows must go: deleted keys, and keys about to be rewritten. */
  deleteKeys: TextRow[];
  /**
   * The last change per upserted key (its `after` is the row to write), parallel to its key in
   * upsertKeys. Unsent values already filled from earlier changes of the batch; what is still
   * `unavailable` must come from the current Iceberg row of `fillFrom`'s key.
   */
  upserts: T[];
  upsertKeys: TextRow[];
  /** Per upsert: the key whose current row holds its still-unavailable values (its old key after a key change), or null. */
  fillFrom: (TextRow | null)[];
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
  // per key: its last change (null: deleted); a deleted key keeps its last image and where its row's
  // values come from, for the key change whose create follows its delete
  const state = new Map<string, { key: TextRow; change: T | null; image: T | null; fillFrom: TextRow | null }>();
  for (const ch of changes) {
    if (ch.op === 't') {
      truncate = true;
      state.clear();
      continue;
    }
    if (ch.op === 'd') {
      if (!ch.before && !ch.key) throw new Error('delete event without before image or key');
      const k = keyOf({ ...ch.key, ...stripNulls(ch.before) }, keyColumns);
      const prior = state.get(k.id);
      state.set(k.id, { key: k.values, change: null, image: prior ? prior.change ?? prior.image : null, fillFrom: prior ? prior.fillFrom : k.values });
      continue;
    }
    if (!ch.after) throw new Error(`'${ch.op}' event without after image`);
    const next = keyOf(ch.after, keyColumns);
    // the row's previous identity: its old key after a primary-key update (REPLICA IDENTITY FULL or DEFAULT)
    let previous = next;
    if (ch.op === 'c' && ch.oldKey) {
      const old = keyOf({ ...ch.oldKey }, keyColumns);
      if (old.id !== next.id) previous = old;
    } else if (ch.op === 'u' && ch.before) {
      const old = keyOf({ ...ch.before }, keyColumns);
      if (old.id !== next.id && keyColumns.every((c) => ch.before![c] !== null && ch.before![c] !== undefined)) previous = old;
    }
    const earlier = state.get(previous.id);
    const filled = ch.unavailable?.length ? fillUnavailable(ch, earlier ? earlier.change ?? earlier.image : null) : ch;
    const fillFrom = !filled.unavailable?.length ? null : earlier ? earlier.fillFrom : previous.values;
    if (previous !== next) {
      state.set(previous.id, { key: previous.values, change: null, image: earlier ? earlier.change ?? earlier.image : null, fillFrom: earlier ? earlier.fillFrom : previous.values });
    }
    state.set(next.id, { key: next.values, change: filled, image: null, fillFrom });
  }
  const deleteKeys: TextRow[] = [];
  const upserts: T[] = [];
  const upsertKeys: TextRow[] = [];
  const fillFrom: (TextRow | null)[] = [];
  for (const { key, change, fillFrom: from } of state.values()) {
    deleteKeys.push(key);
    if (change) {
      upserts.push(change);
      upsertKeys.push(key);
      fillFrom.push(from);
    }
  }
  return { truncate, deleteKeys, upserts, upsertKeys, fillFrom };
}

/**
 * The change with its unsent values taken from the same row's earlier change in the batch, where that
 * one has them: the earlier event is newer than anything Iceberg holds.
 */
function fillUnavailable<T extends TableChange>(ch: T, earlier: T | null): T {
  if (!earlier?.after) return ch;
  const stillUnavailable = new Set(earlier.unavailable ?? []);
  const after: TextRow = { ...ch.after };
  const remaining: string[] = [];
  for (const column of ch.unavailable ?? []) {
    if (column in earlier.after && !stillUnavailable.has(column)) after[column] = earlier.after[column] ?? null;
    else remaining.push(column);
  }
  return { ...ch, after, unavailable: remaining };
}

/** Delete events under REPLICA IDENTITY DEFAULT carry nulls for non-key columns: keep the key's real values. */
function stripNulls(row: TextRow | null): TextRow {
  if (!row) return {};
  return Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null));
}
