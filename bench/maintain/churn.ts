/**
 * Makes an Iceberg table the way the CDC consumer leaves it: a bulk-loaded table, then many small
 * micro-batches, each a DELETE of changed keys + INSERT of their new rows in one DuckDB transaction
 * (one snapshot, one positional delete file per touched data file). Input for maintenance
 * experiments and the soak benchmark.
 *
 *   npx tsx bench/maintain/churn.ts --namespace maint_exp --table t --rows 100000 --batches 300 \
 *     [--changes 50] [--s3] [--seed 1]
 */
import { parseArgs } from 'node:util';
import { lakehouseFileSchema } from '../../lib/config/schema.js';
import { Lakehouse } from '../../lib/lakehouse/session.js';

const { values: a } = parseArgs({
  options: {
    namespace: { type: 'string', default: 'maint_exp' },
    table: { type: 'string', default: 't' },
    rows: { type: 'string', default: '100000' },
    batches: { type: 'string', default: '300' },
    changes: { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
    s3: { type: 'boolean', default: false },
    append: { type: 'boolean', default: false, description: 'keep the existing table, only add batches' },
  },
});

const env = process.env;
const s3 = a.s3;
const config = lakehouseFileSchema.parse({
  catalog: { uri: s3 ? `http://127.0.0.1:${env.LL_REST_S3_PORT ?? 8182}` : `http://127.0.0.1:${env.LL_REST_PORT ?? 8181}` },
  storage: s3
    ? { type: 's3', endpoint: `http://127.0.0.1:${env.LL_MINIO_PORT ?? 9000}`, access_key_id: env.LL_MINIO_USER ?? 'lakeloader',
        secret_access_key: env.LL_MINIO_PASSWORD ?? 'lakeloader-secret', path_style: true, use_ssl: false }
    : { type: 'local' },
  duckdb: { extension_directory: '.stack/duckdb/extensions' },
});

/** Deterministic PRNG (mulberry32), so a run can be repeated. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rows = Number(a.rows);
const batches = Number(a.batches);
const changes = Number(a.changes);
const random = prng(Number(a.seed));
const lake = await Lakehouse.open(config);
const ns = a.namespace!;
const ref = lake.ref(ns, a.table!);
await lake.ensureNamespace(ns);
if (!a.append) {
  await lake.run(`DROP TABLE IF EXISTS ${ref}`);
  await lake.createTable(ns, a.table!, [
    { name: 'id', type: 'long', nullable: false }, { name: 'v', type: 'long' }, { name: 'note', type: 'string' }, { name: 'at', type: 'timestamptz' },
  ]);
  await lake.run(`INSERT INTO ${ref} SELECT i, 0, 'row ' || i, TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(i) FROM range(1, ${rows + 1}) r(i)`);
}
let nextId = rows + 1;
const started = Date.now();
for (let b = 1; b <= batches; b++) {
  // mostly updates, some deletes and inserts: the mix of an OLTP table's change stream
  const updated = new Set<number>();
  while (updated.size < changes) updated.add(1 + Math.floor(random() * rows));
  const ids = [...updated];
  const deleted = ids.slice(0, Math.floor(changes / 10));
  const upserted = ids.slice(deleted.length);
  const inserted = Array.from({ length: Math.floor(changes / 10) }, () => nextId++);
  await lake.transaction(async (tx) => {
    await tx.run(`DELETE FROM ${ref} WHERE id IN (${ids.join(', ')})`);
    const values = [...upserted, ...inserted].map((id) => `(${id}, ${b}, 'batch ${b} id ${id}', now())`).join(', ');
    await tx.run(`INSERT INTO ${ref} VALUES ${values}`);
  });
  if (b % 50 === 0 || b === batches) process.stderr.write(`churn: ${b}/${batches} batches, ${((Date.now() - started) / b).toFixed(0)} ms/batch\n`);
}
const [count] = await lake.query(`SELECT count(*)::BIGINT AS n, sum(v)::BIGINT AS s FROM ${ref}`);
console.log(JSON.stringify({ table: `${ns}.${a.table}`, rows: String(count!.n), sum_v: String(count!.s), batches }));
lake.close();
