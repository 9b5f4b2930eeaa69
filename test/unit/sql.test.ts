import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { appendStatements } from '../../lib/lakehouse/session.js';
import { quoteIdent, sqlLiteral, tableRef } from '../../lib/lakehouse/sql.js';
import { duckdbType, isIcebergPrimitive } from '../../lib/lakehouse/types.js';

describe('SQL text', () => {
  test('identifiers and strings are quoted, embedded quotes doubled', () => {
    assert.equal(quoteIdent('we"ird'), '"we""ird"');
    assert.equal(sqlLiteral("it's"), "'it''s'");
    assert.equal(tableRef('lake', 'bronze.db', 't'), '"lake"."bronze.db"."t"');
  });

  test('literals keep every value exact', () => {
    assert.equal(sqlLiteral(null), 'NULL');
    assert.equal(sqlLiteral(undefined), 'NULL');
    assert.equal(sqlLiteral(9223372036854775807n), '9223372036854775807');
    assert.equal(sqlLiteral(Number.NaN), "'NaN'");
    assert.equal(sqlLiteral(-Infinity), "'-Infinity'");
    assert.equal(sqlLiteral(-0), "'-0.0'");
    assert.equal(sqlLiteral(true), 'TRUE');
    assert.equal(sqlLiteral(new Uint8Array([0, 255])), "from_hex('00ff')");
    assert.equal(sqlLiteral(new Date('2024-01-02T03:04:05.678Z')), "'2024-01-02T03:04:05.678Z'");
    assert.equal(sqlLiteral({ a: 1 }), `'{"a":1}'`);
  });

  test('append casts every value to its column type, in chunks', () => {
    const stmts = appendStatements('"t"', [{ name: 'a', type: 'long' }, { name: 'b', type: 'decimal(10,2)' }], [[1n, '1.50'], [2n, null], [3n, '0']], 2);
    assert.equal(stmts.length, 2);
    assert.equal(stmts[0], `INSERT INTO "t" ("a", "b") VALUES (CAST(1 AS BIGINT), CAST('1.50' AS DECIMAL(10,2))), (CAST(2 AS BIGINT), CAST(NULL AS DECIMAL(10,2)))`);
    assert.throws(() => appendStatements('"t"', [{ name: 'a', type: 'long' }], [[1n, 2n]]), /row 0 has 2 values/);
  });
});

describe('Iceberg types', () => {
  test('map to the DuckDB types the iceberg extension writes', () => {
    assert.equal(duckdbType('long'), 'BIGINT');
    assert.equal(duckdbType('decimal(38,10)'), 'DECIMAL(38,10)');
    assert.equal(duckdbType('timestamptz'), 'TIMESTAMPTZ');
    assert.equal(isIcebergPrimitive('decimal(39,0)'), false);
    assert.equal(isIcebergPrimitive('fixed[16]'), false);
  });
});
