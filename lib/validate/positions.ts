/**
 * Where the two sides stand in the source's WAL, and what a difference means given that: CDC moves
 * the lakehouse continuously, so a difference is only a mismatch when both sides describe the same
 * position (or nothing will ever move the lakehouse); otherwise the table is "in flux".
 */
import { formatLsn, parseLsn } from '../source/postgres/lsn.js';

/** `not_replicated`: differs because CDC cannot follow the table (e.g. UNLOGGED); Iceberg holds its bulk load. */
export type TableResult = 'ok' | 'mismatch' | 'in_flux' | 'not_replicated' | 'missing_in_iceberg' | 'missing_in_source' | 'error';

/** Load states whose Iceberg table is not (yet) a full copy: a difference there is the load's, not CDC's. */
export const UNFINISHED_LOAD = new Set(['failed', 'running', 'pending']);

export function lsnCompare(a: string, b: string): number {
  const x = parseLsn(a);
  const y = parseLsn(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Bytes of WAL from `from` to `to` (0 when `from` is ahead). */
export function lsnDistance(from: string, to: string): bigint {
  const d = parseLsn(to) - parseLsn(from);
  return d > 0n ? d : 0n;
}

export function minLsn(values: (string | null | undefined)[]): string | null {
  let min: bigint | null = null;
  for (const v of values) {
    if (!v) continue;
    const n = parseLsn(v);
    if (min === null || n < min) min = n;
  }
  return min === null ? null : formatLsn(min);
}

/** The position a table's Iceberg copy has applied: CDC's last applied LSN, else the bulk load's snapshot LSN. */
export function appliedLsn(status: { last_applied_lsn?: string | null; snapshot_lsn?: string | null } | undefined): string | null {
  return status?.last_applied_lsn || status?.snapshot_lsn || null;
}

export interface PositionFacts {
  /** Source snapshot's WAL position. */
  sourceLsn: string;
  /** The table's applied position (null: no status row). */
  applied: string | null;
  loadStatus: string | null;
  /** `_cdc_status.replication` and its reason: a `not_replicated` table only ever holds its bulk load. */
  replication?: string | null;
  replicationReason?: string | null;
  /** A Debezium connector streams from the source's slot right now. */
  streaming: boolean;
  /** Proof that CDC has applied everything of this table up to sourceLsn even if the table had no event since
   * (the slot confirmed past sourceLsn and the consumer has no lag on the table's topic). */
  caughtUp: boolean;
  slotName: string;
}

/** The verdict for a table whose two sides differ. */
export function classifyDifference(f: PositionFacts): { result: TableResult; note: string } {
  if (f.loadStatus && UNFINISHED_LOAD.has(f.loadStatus)) return { result: 'mismatch', note: `load_status ${f.loadStatus}` };
  if (f.replication === 'not_replicated') {
    return {
      result: 'not_replicated',
      note: `not replicated by CDC (${f.replicationReason ?? 'no reason recorded'}): Iceberg holds the bulk load at ${f.applied ?? 'an unknown position'}; ` +
        'rerun bulk-load --no-resume --table-filter on it to refresh',
    };
  }
  if (!f.applied) return { result: 'mismatch', note: 'no _cdc_status position for this table' };
  const cmp = lsnCompare(f.applied, f.sourceLsn);
  if (cmp > 0) {
    return { result: 'in_flux', note: `lakehouse applied up to ${f.applied}, past the source snapshot at ${f.sourceLsn}: the table changed while validating (rerun)` };
  }
  if (cmp === 0 || f.caughtUp) return { result: 'mismatch', note: `both sides at ${f.sourceLsn}` };
  if (f.streaming) {
    return { result: 'in_flux', note: `source at ${f.sourceLsn}, lakehouse at ${f.applied}: CDC has not applied the latest changes yet (use --wait-for-lsn)` };
  }
  return { result: 'mismatch', note: `source at ${f.sourceLsn}, lakehouse at ${f.applied}, and no connector streams from slot ${f.slotName}` };
}

/** Exit code of a validation: 0 only when every listed table matched, or differs only because CDC cannot follow it (known, reported). */
export function validateExitCode(results: TableResult[]): number {
  return results.every((r) => r === 'ok' || r === 'not_replicated') ? 0 : 1;
}
