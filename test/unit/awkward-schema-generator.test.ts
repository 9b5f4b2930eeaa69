/** The awkward schema generator is a pure function of its seed: a failing run is replayed exactly. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_AWKWARD_SEED, LONG_TABLE_NAME, awkwardSeed, generateAwkwardSource } from '../helpers/awkward-schema.js';

const generate = (seed: number) => generateAwkwardSource({ seed, plainSchema: 'plain', spacedSchema: 'plain space', transactions: 300 });
const text = (seed: number) => {
  const s = generate(seed);
  return JSON.stringify({ setup: s.setup, workload: s.workload, schemaChanges: s.schemaChanges });
};

test('the same seed gives the same DDL, data and workload; another seed another workload', () => {
  assert.equal(text(7), text(7));
  assert.equal(text(DEFAULT_AWKWARD_SEED), text(DEFAULT_AWKWARD_SEED));
  assert.notEqual(JSON.stringify(generate(7).workload), JSON.stringify(generate(8).workload));
});

test('the workload holds the two DDL changes, the late partition, key changes and partition moves', () => {
  const source = generate(DEFAULT_AWKWARD_SEED);
  const ddl = source.workload.filter((s) => s.kind === 'ddl').map((s) => s.statement);
  assert.equal(ddl.length, 3);
  assert.match(ddl[0]!, /ADD COLUMN "added Ünï" text/);
  assert.match(ddl[1]!, /PARTITION OF .*"Measurements" FOR VALUES IN \('af'\)/);
  assert.match(ddl[2]!, /ALTER COLUMN v TYPE bigint/);
  const statements = source.workload.flatMap((s) => (s.kind === 'transaction' ? s.statements : []));
  assert.ok(statements.some((s) => /^UPDATE "plain"\."Measurements" SET "region" = 'af'/.test(s)), 'a row moves into the late partition');
  assert.ok(statements.some((s) => /^UPDATE "plain"\."select" SET "order" = /.test(s)), 'a composite key changes');
  assert.ok(statements.some((s) => /^UPDATE "plain"\."toasted_docs" SET ("title"|"revision")/.test(s) && !s.includes('"body"')), 'a TOASTed row changes without its large column');
  assert.equal(LONG_TABLE_NAME.length, 63);
  assert.ok(source.setup.some((s) => s.startsWith('CREATE UNLOGGED TABLE')));
  assert.ok(source.setup.some((s) => /"wide_table" \((.*?, ){210}/.test(s)), 'a table of 210 columns');
});

test('the seed comes from LL_AWKWARD_SEED: a number, random, or the fixed default', () => {
  assert.equal(awkwardSeed({}), DEFAULT_AWKWARD_SEED);
  assert.equal(awkwardSeed({ LL_AWKWARD_SEED: '42' }), 42);
  assert.ok(Number.isInteger(awkwardSeed({ LL_AWKWARD_SEED: 'random' })));
  assert.throws(() => awkwardSeed({ LL_AWKWARD_SEED: 'abc' }), /LL_AWKWARD_SEED/);
});
