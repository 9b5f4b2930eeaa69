/**
 * Committing a micro-batch so that one table cannot stop the others. The batch is one Iceberg
 * transaction across its tables; when that keeps failing, each table is committed on its own (its
 * data with its own `_cdc_status` row, so exactly-once holds per table) and a table that fails alone,
 * while the catalog answers, is handed back as blocked — its events stay in Kafka — instead of
 * retrying the batch forever with no table advancing.
 */
import pRetry from 'p-retry';
import { errorMessage } from '../errors.js';
import type { BatchResult } from './applier.js';

export interface IsolatingCommitOptions {
  /** Commits these tables' data, positions and dead letters (null: the whole batch; []: what belongs to no table). */
  commit: (tables: string[] | null) => Promise<BatchResult>;
  /** The tables the batch touches. */
  tables: string[];
  /** True when the catalog and warehouse answer: failures are then the table's own. */
  healthy: () => Promise<boolean>;
  onRetry: (message: string) => void;
  /** Retries before isolating tables, and for failures that look like an outage. */
  quickRetries?: number;
  outageRetries?: number;
  minTimeoutMs?: number;
}

export interface IsolatedCommit {
  result: BatchResult;
  /** Tables that failed on their own, with the error: nothing of theirs was committed. */
  blocked: Map<string, string>;
}

/** Errors a retry can cure: commit conflicts, a catalog or object store away. */
export function looksTransient(err: unknown): boolean {
  return /HTTP (409|429|5\d\d)|Failed to commit|conflict|ECONN|ETIMEDOUT|EAI_AGAIN|socket hang up|fetch failed|timed? ?out|Could not establish connection|Connection refused|Service Unavailable/i.test(errorMessage(err));
}

function merge(into: BatchResult, from: BatchResult): void {
  for (const [t, n] of from.applied) into.applied.set(t, n);
  into.deadLetters.push(...from.deadLetters);
  for (const [phase, s] of Object.entries(from.phases)) into.phases[phase] = (into.phases[phase] ?? 0) + s;
}

export async function commitIsolating(options: IsolatingCommitOptions): Promise<IsolatedCommit> {
  const { commit, tables, onRetry } = options;
  const retry = (fn: () => Promise<BatchResult>, retries: number) => pRetry(fn, {
    retries, factor: 2, minTimeout: options.minTimeoutMs ?? 500, maxTimeout: 30_000, randomize: true,
    onFailedAttempt: (err) => onRetry(`(attempt ${err.attemptNumber}) ${err.message}`),
  });
  const outage = options.outageRetries ?? 8;
  try {
    return { result: await retry(() => commit(null), options.quickRetries ?? 2), blocked: new Map() };
  } catch (err) {
    if (tables.length === 0) return { result: await retry(() => commit(null), outage), blocked: new Map() };
    if (!(await options.healthy().catch(() => false))) {
      // the catalog itself is away: wait for it with the whole batch
      return { result: await retry(() => commit(null), outage), blocked: new Map() };
    }
    onRetry(`the micro-batch keeps failing (${errorMessage(err)}): committing its ${tables.length} table(s) one by one`);
  }
  const result: BatchResult = { applied: new Map(), deadLetters: [], phases: {} };
  const blocked = new Map<string, string>();
  for (const table of tables) {
    try {
      merge(result, await retry(() => commit([table]), 1));
    } catch (err) {
      if (looksTransient(err)) merge(result, await retry(() => commit([table]), outage));
      else blocked.set(table, errorMessage(err));
    }
  }
  if (blocked.size === tables.length && !(await options.healthy().catch(() => false))) {
    return { result: await retry(() => commit(null), outage), blocked: new Map() };
  }
  merge(result, await retry(() => commit([]), outage));
  return { result, blocked };
}
