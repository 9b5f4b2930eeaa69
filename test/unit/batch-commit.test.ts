/** Committing a micro-batch table by table when the whole keeps failing: one bad table cannot stop the rest. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BatchResult } from '../../lib/cdc/applier.js';
import { commitIsolating, looksTransient } from '../../lib/cdc/batch-commit.js';

const ok = (tables: string[]): BatchResult => ({ applied: new Map(tables.map((t) => [t, 1])), deadLetters: [], phases: { commit: 0.01 } });

function fakeCatalog(failing: Set<string>, options: { outageCalls?: number } = {}) {
  const calls: (string[] | null)[] = [];
  let outage = options.outageCalls ?? 0;
  const commit = async (unit: string[] | null) => {
    calls.push(unit);
    if (outage > 0) {
      outage--;
      throw new Error('IO Error: Could not establish connection');
    }
    const tables = unit ?? ['a', 'b', 'c'];
    const bad = tables.find((t) => failing.has(t));
    if (bad) throw new Error(`Conversion Error: Invalid byte encountered in STRING -> BLOB conversion (${bad})`);
    return ok(tables);
  };
  return { calls, commit };
}

describe('isolating a failing table', () => {
  test('a healthy batch commits once, whole', async () => {
    const c = fakeCatalog(new Set());
    const r = await commitIsolating({ commit: c.commit, tables: ['a', 'b', 'c'], healthy: async () => true, onRetry: () => undefined, minTimeoutMs: 1 });
    assert.deepEqual(c.calls, [null]);
    assert.equal(r.blocked.size, 0);
    assert.equal(r.result.applied.size, 3);
  });

  test('one table failing deterministically is blocked; the others commit', async () => {
    const c = fakeCatalog(new Set(['b']));
    const r = await commitIsolating({ commit: c.commit, tables: ['a', 'b', 'c'], healthy: async () => true, onRetry: () => undefined, minTimeoutMs: 1 });
    assert.deepEqual([...r.blocked.keys()], ['b']);
    assert.match(r.blocked.get('b')!, /Invalid byte/);
    assert.deepEqual([...r.result.applied.keys()].sort(), ['a', 'c']);
    assert.deepEqual(c.calls.at(-1), [], 'then what belongs to no table');
  });

  test('an outage is waited out with the whole batch, nothing blocked', async () => {
    let up = false;
    const c = fakeCatalog(new Set(), { outageCalls: 4 });
    const r = await commitIsolating({
      commit: async (u) => { const res = await c.commit(u); up = true; return res; },
      tables: ['a', 'b'], healthy: async () => up, onRetry: () => undefined, minTimeoutMs: 1, outageRetries: 5,
    });
    assert.equal(r.blocked.size, 0);
    assert.ok(c.calls.every((u) => u === null), 'never split while the catalog is away');
  });

  test('commit conflicts and connection errors count as transient', () => {
    assert.ok(looksTransient(new Error('TransactionContext Error: Failed to commit Iceberg transaction: HTTP 409')));
    assert.ok(looksTransient(new Error('fetch failed')));
    assert.ok(!looksTransient(new Error('Conversion Error: Invalid byte encountered in STRING -> BLOB conversion')));
  });
});
