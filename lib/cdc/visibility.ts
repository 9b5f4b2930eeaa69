/**
 * Which change events the bulk load already holds. A table loaded from snapshot S contains exactly the
 * transactions visible to S (pg_current_snapshot(): xmin:xmax:xip…), so CDC applies an event iff its
 * transaction was NOT visible to S. Comparing LSNs alone would be wrong for transactions that began
 * before S and committed after it (their changes precede S's LSN but are not in the snapshot).
 */
import { parseLsn } from '../source/postgres/lsn.js';

export interface SnapshotVisibility {
  xmin: bigint;
  xmax: bigint;
  inProgress: Set<bigint>;
}

export function parseSnapshot(text: string): SnapshotVisibility {
  const m = /^(\d+):(\d+):([\d,]*)$/.exec(text.trim());
  if (!m) throw new Error(`invalid pg_current_snapshot text '${text}'`);
  return { xmin: BigInt(m[1]!), xmax: BigInt(m[2]!), inProgress: new Set(m[3] ? m[3].split(',').map((x) => BigInt(x) & 0xffffffffn) : []) };
}

/** a < b for 32-bit transaction ids, with PostgreSQL's wraparound arithmetic. */
function xidPrecedes(a: bigint, b: bigint): boolean {
  const diff = (a - b) & 0xffffffffn;
  return diff >= 0x80000000n;
}

/** Was 32-bit transaction `txId` (Debezium's source.txId) committed and visible in the snapshot? */
export function visibleInSnapshot(txId: bigint, snapshot: SnapshotVisibility): boolean {
  const tx = txId & 0xffffffffn;
  if (!xidPrecedes(tx, snapshot.xmax & 0xffffffffn)) return false;
  return !snapshot.inProgress.has(tx);
}

export interface TablePosition {
  /** Snapshot LSN of the table's bulk load (text X/Y), if any. */
  snapshotLsn: string | null;
  /** pg_current_snapshot() of the bulk load, if recorded. */
  snapshotXids: string | null;
}

/** Builds the per-table filter: true = the bulk load already contains this change, skip it. */
export function alreadyLoaded(position: TablePosition): (event: { lsn: bigint; txId: bigint | null }) => boolean {
  if (position.snapshotXids) {
    const snapshot = parseSnapshot(position.snapshotXids);
    const lsn = position.snapshotLsn ? parseLsn(position.snapshotLsn) : null;
    return (e) => (e.txId !== null ? visibleInSnapshot(e.txId, snapshot) : lsn !== null && e.lsn <= lsn);
  }
  if (position.snapshotLsn) {
    const lsn = parseLsn(position.snapshotLsn);
    return (e) => e.lsn <= lsn;
  }
  return () => false;
}
