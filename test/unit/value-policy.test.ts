/**
 * Values Iceberg cannot hold: the conversion expressions (`textToIceberg` with a policy) evaluated in
 * an in-memory DuckDB on PostgreSQL's canonical text, the policy resolution, the count scan and what
 * each policy does with what it counted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { applyValuePolicies, parseUnrepresentableCounts, unrepresentableCountSql } from '../../lib/bulk/unrepresentable.js';
import { postgresSourceSchema } from '../../lib/config/schema.js';
import { DataError } from '../../lib/errors.js';
import type { IcebergPrimitive } from '../../lib/lakehouse/types.js';
import { mapPgColumn, textToIceberg, valuePolicyFor, type ValuePolicy } from '../../lib/source/postgres/type-mapping.js';

let conn: DuckDBConnection;
before(async () => {
  conn = await (await DuckDBInstance.create(':memory:')).connect();
});
after(() => conn.closeSync());

/** The Iceberg value (as DuckDB's text) of each PostgreSQL text under the type and policy; 'ERROR' when the cast fails. */
async function convert(type: IcebergPrimitive, policy: ValuePolicy | undefined, values: (string | null)[]): Promise<(string | null)[]> {
  const out: (string | null)[] = [];
  for (const v of values) {
    const literal = v === null ? 'CAST(NULL AS VARCHAR)' : `'${v}'`;
    try {
      const r = await conn.runAndReadAll(`SELECT (${textToIceberg(type, policy)(literal)})::VARCHAR AS v`);
      out.push(r.getRowObjectsJson()[0]!.v as string | null);
    } catch {
      out.push('ERROR');
    }
  }
  return out;
}

describe('textToIceberg with a value policy', () => {
  const timestamps = ['2030-01-01 10:00:00+00', 'infinity', '-infinity', '0044-03-15 00:00:00+00 BC', '20000-01-01 00:00:00+00', null];

  test('clamp: ±infinity and years outside 1..9999 to the bounds every engine reads; others exact', async () => {
    await conn.run("SET TimeZone = 'UTC'");
    assert.deepEqual(await convert('timestamptz', 'clamp', timestamps), [
      '2030-01-01 10:00:00+00', '9999-12-31 23:59:59.999999+00', '0001-01-01 00:00:00+00', '0001-01-01 00:00:00+00', '9999-12-31 23:59:59.999999+00', null,
    ]);
    assert.deepEqual(await convert('timestamp', 'clamp', ['2030-01-01 10:00:00', 'infinity', '-infinity', '294276-12-31 23:59:59']),
      ['2030-01-01 10:00:00', '9999-12-31 23:59:59.999999', '0001-01-01 00:00:00', '9999-12-31 23:59:59.999999']);
    assert.deepEqual(await convert('date', 'clamp', ['2024-02-29', 'infinity', '-infinity', '4713-01-01 BC', '5874897-12-31']),
      ['2024-02-29', '9999-12-31', '0001-01-01', '0001-01-01', '9999-12-31']);
  });

  test('clamp on a decimal: NaN has no clamp value, so NULL', async () => {
    assert.deepEqual(await convert('decimal(10,2)', 'clamp', ['12.50', 'NaN', null]), ['12.50', null, null]);
  });

  test('null: every value Iceberg cannot hold becomes NULL', async () => {
    assert.deepEqual(await convert('timestamptz', 'null', timestamps), ['2030-01-01 10:00:00+00', null, null, null, null, null]);
    assert.deepEqual(await convert('decimal(10,2)', 'null', ['NaN', '1.00']), [null, '1.00']);
  });

  test('no policy (the one-argument form) and fail: the plain cast, as before', async () => {
    assert.equal(textToIceberg('timestamptz')('x'), 'CAST(x AS TIMESTAMPTZ)');
    assert.equal(textToIceberg('timestamptz', 'fail')('x'), 'CAST(x AS TIMESTAMPTZ)');
    assert.deepEqual(await convert('decimal(10,2)', 'fail', ['NaN']), ['ERROR']);
    assert.equal(textToIceberg('int', 'clamp')('x'), 'CAST(x AS INTEGER)', 'types where every value fits are untouched');
  });
});

describe('policy resolution and mapping', () => {
  const source = postgresSourceSchema.parse({
    type: 'postgres', connection: { host: 'h', database: 'd', user: 'u' },
    unrepresentable_columns: { 'public.events.valid_until': 'text', 'public.events.amount': 'fail' },
  });

  test('default clamp; per-column overrides win', () => {
    assert.equal(source.unrepresentable_values, 'clamp');
    assert.equal(valuePolicyFor(source, 'public.events', 'valid_until'), 'text');
    assert.equal(valuePolicyFor(source, 'public.events', 'amount'), 'fail');
    assert.equal(valuePolicyFor(source, 'public.events', 'created'), 'clamp');
  });

  test('text keeps a column whose type cannot hold every value as exact text; other columns keep their type', () => {
    const col = (type: string) => ({ name: 'c', type, typtype: 'b', category: 'X', notNull: false });
    const ts = mapPgColumn(col('timestamp with time zone'), undefined, 'text');
    assert.deepEqual([ts.icebergType, ts.pgSelect, ts.textFallback], ['string', '"c"::text', true]);
    assert.equal(mapPgColumn(col('numeric(10,2)'), undefined, 'text').icebergType, 'string');
    assert.equal(mapPgColumn(col('integer'), undefined, 'text').icebergType, 'int');
    assert.equal(mapPgColumn(col('money'), undefined, 'text').icebergType, 'decimal(38,2)', 'money is never NaN: stays exact');
  });

  test('invalid policies and keys are configuration errors naming the choices', () => {
    const bad = postgresSourceSchema.safeParse({
      type: 'postgres', connection: { host: 'h', database: 'd', user: 'u' }, unrepresentable_values: 'drop', unrepresentable_columns: { 'events.valid_until': 'null' },
    });
    assert.equal(bad.success, false);
    const messages = bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.ok(messages.some((m) => /^unrepresentable_values: must be one of fail, clamp, null, text/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /unrepresentable_columns\.events\.valid_until: must be schema\.table\.column/.test(m)), messages.join('\n'));
  });
});

describe('counting and applying the policies', () => {
  const mapping = (name: string, type: string, policy: ValuePolicy, notNull = false) => mapPgColumn({ name, type, typtype: 'b', category: 'X', notNull }, undefined, policy);

  test('one scan counts each checked column, with an example', async () => {
    const mappings = [mapping('id', 'integer', 'clamp'), mapping('until', 'timestamp with time zone', 'clamp'), mapping('amount', 'numeric(10,2)', 'null')];
    const rows = "(VALUES ('1', 'infinity', 'NaN'), ('2', '2020-01-01 00:00:00+00', '1.5'), ('3', '-infinity', NULL)) AS t(c0, c1, c2)";
    const sql = unrepresentableCountSql(mappings, rows)!;
    const row = (await conn.runAndReadAll(sql)).getRowObjectsJson()[0]!;
    const counts = parseUnrepresentableCounts(mappings, row);
    assert.deepEqual(counts.map((c) => [c.mapping.name, c.count]), [['until', 2], ['amount', 1]]);
    assert.deepEqual(applyValuePolicies('public.t', counts).map((a) => [a.column, a.action, a.count]), [['until', 'clamped', 2], ['amount', 'nulled', 1]]);
    assert.equal(unrepresentableCountSql([mapping('id', 'integer', 'clamp')], rows), undefined, 'nothing to scan');
  });

  test('fail, and NULL into a NOT NULL column, stop the table with a DataError naming column, value and key', () => {
    const failing = [{ mapping: mapping('until', 'timestamp with time zone', 'fail'), count: 1, example: 'infinity' }];
    assert.throws(() => applyValuePolicies('public.t', failing), (err: unknown) => err instanceof DataError &&
      /column until \(timestamp with time zone\) of public\.t holds 'infinity'.*unrepresentable_columns: \{"public\.t\.until": clamp \| null \| text\}/.test(err.message));
    const required = [{ mapping: mapping('amount', 'numeric(10,2)', 'clamp', true), count: 3, example: 'NaN' }];
    assert.throws(() => applyValuePolicies('public.t', required), /NOT NULL and holds 'NaN'.*"public\.t\.amount": text/);
  });
});
