/**
 * CDC on tables that used to break it, through the README's flow (bulk-load → connector apply → cdc):
 * a table whose writes fail on their own is blocked while the others go on; generated columns and
 * TOASTed values come out current; a consumer killed before its first commit loses nothing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RestCatalogClient } from '../../lib/lakehouse/rest-catalog.js';
import { lakehouseFileSchema } from '../../lib/config/schema.js';
import { BackgroundCdc, catchUp, cdcUntilIdle, cdcTestSource, sleep } from '../helpers/cdc.js';
import { runCli } from '../helpers/cli.js';
import { readWithPyIceberg, stack } from '../helpers/stack.js';

/** ~12 kB of hex that compresses to well over TOAST's 2 kB threshold: stored out of line, omitted by Debezium when unchanged. */
const incompressible = (seed: string) => `(SELECT string_agg(md5(random()::text || ${seed} || g), '') FROM generate_series(1, 400) g)`;

describe('CDC isolation and exact values', () => {
  const source = cdcTestSource('lliso', (schema) => `
      CREATE TABLE ${schema}.good (id int PRIMARY KEY, v int);
      CREATE TABLE ${schema}.victim (id int PRIMARY KEY, v int);
      CREATE TABLE ${schema}.priced (id int PRIMARY KEY, qty int, price numeric(10,2),
        total numeric(12,2) GENERATED ALWAYS AS (qty * price) STORED, label text GENERATED ALWAYS AS (upper(coalesce(note, '-'))) STORED, note text);
      CREATE TABLE ${schema}.docs (id int PRIMARY KEY, small int, body text);
      INSERT INTO ${schema}.good SELECT i, 0 FROM generate_series(1, 20) i;
      INSERT INTO ${schema}.priced (id, qty, price, note) SELECT i, i, 1.5, 'n' || i FROM generate_series(1, 5) i;
      INSERT INTO ${schema}.docs SELECT i, 0, ${incompressible('i')} FROM generate_series(1, 10) i;`);
  const { schema, namespace } = source;

  test('a consumer SIGKILLed before its first commit, then the default flow: nothing is skipped', async () => {
    // changes made right after `connector apply`, before any consumer has committed anything
    await source.db.query(`UPDATE ${schema}.good SET v = v + 1 WHERE id <= 10`);
    const early = new BackgroundCdc(source.configDir, schema);
    await sleep(1500);
    await early.kill();
    await source.db.query(`UPDATE ${schema}.good SET v = v + 10 WHERE id > 10`);
    await catchUp(source.db, source.configDir, schema, schema, namespace, ['good']);
  });

  test('generated columns are computed for changed rows; TOASTed values stay the latest, within a batch and through key changes', async () => {
    await source.db.query(`UPDATE ${schema}.priced SET qty = qty * 10 WHERE id <= 3`);
    await source.db.query(`UPDATE ${schema}.priced SET note = NULL WHERE id = 4`);
    await source.db.query(`INSERT INTO ${schema}.priced (id, qty, price) VALUES (6, 7, 2.25)`);
    // in one micro-batch: the large value changes, then only the small column does (Debezium omits the large one)
    await source.db.query(`UPDATE ${schema}.docs SET body = ${incompressible('id')} WHERE id <= 5`);
    await source.db.query(`UPDATE ${schema}.docs SET small = small + 1`);
    await catchUp(source.db, source.configDir, schema, schema, namespace, ['priced', 'docs']);
    // a primary-key change (Debezium: delete + create, the create without the unchanged large value), alone and chained
    await source.db.query(`UPDATE ${schema}.docs SET id = id + 100 WHERE id IN (2, 7)`);
    await source.db.query(`UPDATE ${schema}.docs SET small = 9 WHERE id = 102`);
    await source.db.query(`UPDATE ${schema}.docs SET id = 202 WHERE id = 102`);
    await catchUp(source.db, source.configDir, schema, schema, namespace, ['docs']);
    const priced = await readWithPyIceberg(`${namespace}.priced`, { orderBy: 'id' });
    assert.deepEqual(priced.rows.map((r) => [r.id, r.total, r.label]), [
      ['1', '15.00', 'N1'], ['2', '30.00', 'N2'], ['3', '45.00', 'N3'], ['4', '6.00', '-'], ['5', '7.50', 'N5'], ['6', '15.75', '-'],
    ]);
  });

  test('a table whose writes keep failing is blocked with the reason; the others go on', async () => {
    // a table an older version created under a non-ASCII path: DuckDB cannot write deletes for its files
    const lakehouse = lakehouseFileSchema.parse({ catalog: { uri: stack.restUri }, duckdb: { extension_directory: stack.extensionDir } });
    const rest = new RestCatalogClient(lakehouse);
    await rest.setLocation(namespace, 'victim', `${await rest.tableLocation(namespace, 'victim')}/données`);
    await source.db.query(`INSERT INTO ${schema}.victim SELECT i, 0 FROM generate_series(1, 5) i`);
    await cdcUntilIdle(source.configDir, schema);
    await source.db.query(`UPDATE ${schema}.victim SET v = 1`);
    await source.db.query(`UPDATE ${schema}.good SET v = v + 100`);
    await catchUp(source.db, source.configDir, schema, schema, namespace, ['good']);
    const status = (await readWithPyIceberg(`${namespace}._cdc_status`)).rows.find((r) => r.table_name === `${schema}.victim`)!;
    assert.equal(status.load_status, 'blocked');
    assert.match(String(status.error), /CDC apply failed/);
    const victim = await readWithPyIceberg(`${namespace}.victim`, { orderBy: 'id' });
    assert.ok(victim.rows.every((r) => r.v === '0'), 'nothing of the failing batch was applied to it');
    const r = await runCli(['--config', source.configDir, 'status', '--source', schema]);
    assert.equal(r.code, 1, `status exits 1 while a table is blocked: ${r.stdout}`);
    assert.match(r.stdout, /blocked/);
  });
});
