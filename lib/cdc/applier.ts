/**
 * Applying one micro-batch to Iceberg: per table DELETE the touched keys and INSERT their final rows
 * (a MERGE in two statements, which sidesteps MERGE's one-action limit), or append to a changelog
 * table; then `_cdc_status` (positions, Kafka offsets) and `_dead_letters` — all in ONE Iceberg
 * transaction, which the catalog commits atomically across tables.
 */
import { JobError } from '../errors.js';
import type { Lakehouse, LakehouseTx } from '../lakehouse/session.js';
import { appendStatements } from '../lakehouse/session.js';
import { quoteIdent, quoteString } from '../lakehouse/sql.js';
import type { IcebergPrimitive } from '../lakehouse/types.js';
import { hasFiniteRange, textToIceberg } from '../source/postgres/type-mapping.js';
import type { CdcStatusRow, CdcStatusStore } from '../state/cdc-status.js';
import { DEAD_LETTER_COLUMNS, DEAD_LETTERS_TABLE, type DeadLetter } from '../state/dead-letters.js';
import { reduceKeyed, type TableChange, type TextRow } from './changes.js';

export interface EventOrigin {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

export interface PendingChange extends TableChange {
  lsn: bigint;
  tsMs: number;
  origin: EventOrigin;
  /** Columns Debezium did not send (unchanged TOASTed values): they keep their current value. */
  unavailable?: string[];
}

export interface TableTarget {
  sourceTable: string;
  icebergTable: string;
  mode: 'keyed' | 'changelog';
  keyColumns: string[];
  /** Current Iceberg columns of the target table, in order. */
  columns: { name: string; type: IcebergPrimitive }[];
  changes: PendingChange[];
}

export const CHANGELOG_COLUMNS = [
  { name: '_op', type: 'string' as const },
  { name: '_lsn', type: 'long' as const },
  { name: '_source_ts', type: 'timestamptz' as const },
];

export interface BatchResult {
  /** Changes written per source table. */
  applied: Map<string, number>;
  deadLetters: DeadLetter[];
  /** Seconds spent per phase (stage, check, delete, insert, status, commit): where a batch's time goes. */
  phases: Record<string, number>;
}

/** Accumulates wall time per named phase. */
class PhaseTimer {
  readonly seconds: Record<string, number> = {};
  async time<T>(phase: string, fn: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    try {
      return await fn();
    } finally {
      this.seconds[phase] = (this.seconds[phase] ?? 0) + Number(process.hrtime.bigint() - started) / 1e9;
    }
  }
}

let stageCounter = 0;

/** Rows whose text does not convert to the column's Iceberg type, with the culprit columns. */
async function invalidRows(lakehouse: Lakehouse, staged: string, columns: { name: string; type: IcebergPrimitive }[]): Promise<Map<number, string>> {
  const checks = columns.map((c, i) => {
    const col = quoteIdent(`c${i}`);
    const converted = `TRY(${textToIceberg(c.type)(col)})`;
    const bad = hasFiniteRange(c.type) ? `(${converted} IS NULL OR NOT isfinite(${converted}))` : `${converted} IS NULL`;
    return { c, expr: `(${col} IS NOT NULL AND ${bad})`, col };
  }).filter(({ c }) => c.type !== 'string');
  if (checks.length === 0) return new Map();
  const rows = await lakehouse.query(
    `SELECT row_index, ${checks.map(({ expr }, i) => `${expr} AS b${i}`).join(', ')}, ${checks.map(({ col }, i) => `${col} AS v${i}`).join(', ')} ` +
      `FROM ${staged} WHERE ${checks.map(({ expr }) => expr).join(' OR ')}`,
  );
  const bad = new Map<number, string>();
  for (const r of rows) {
    const reasons = checks.flatMap(({ c }, i) => (r[`b${i}`] ? [`column ${c.name}: '${String(r[`v${i}`]).slice(0, 80)}' is not a valid ${c.type}`] : []));
    bad.set(Number(r.row_index), reasons.join('; '));
  }
  return bad;
}

function deadLetter(change: PendingChange, table: string, error: string): DeadLetter {
  return { table_name: table, topic: change.origin.topic, partition: change.origin.partition, offset: change.origin.offset, key: change.origin.key, value: change.origin.value, error };
}

interface PreparedTable { target: TableTarget; statements: (tx: LakehouseTx) => Promise<number>; staged: string[] }

async function prepareKeyed(lakehouse: Lakehouse, namespace: string, t: TableTarget, deadLetters: DeadLetter[], timer: PhaseTimer): Promise<PreparedTable> {
  const batch = reduceKeyed(t.changes, t.keyColumns);
  const names = t.columns.map((c) => c.name);
  const rowsName = `cdc_rows_${++stageCounter}`;
  const rowsRef = await timer.time('stage', () => lakehouse.stageTextRows(rowsName, names.length, batch.upserts.map((ch) => names.map((n) => ch.after?.[n] ?? null))));
  const bad = await timer.time('check', () => invalidRows(lakehouse, rowsRef, t.columns));
  const keep = new Set<string>();
  let upserts = batch.upserts.length;
  if (bad.size > 0) {
    // a row Iceberg cannot take keeps the old row and goes to the dead letters; the rest applies
    for (const [index, reason] of bad) deadLetters.push(deadLetter(batch.upserts[index]!, t.sourceTable, reason));
    await lakehouse.run(`DELETE FROM ${rowsRef} WHERE row_index IN (${[...bad.keys()].join(', ')})`);
    upserts -= bad.size;
    for (const index of bad.keys()) keep.add(JSON.stringify(t.keyColumns.map((k) => batch.upsertKeys[index]![k])));
  }
  const keys = batch.deleteKeys.filter((k) => !keep.has(JSON.stringify(t.keyColumns.map((c) => k[c]))));
  const keysName = `cdc_keys_${++stageCounter}`;
  const keysRef = await timer.time('stage', () => lakehouse.stageTextRows(keysName, t.keyColumns.length, keys.map((k) => t.keyColumns.map((c) => k[c] ?? null))));
  const typeOf = new Map(t.columns.map((c) => [c.name, c.type]));
  const target = lakehouse.ref(namespace, t.icebergTable);
  const keyList = t.keyColumns.map(quoteIdent).join(', ');
  const keyConv = t.keyColumns.map((k, i) => {
    const type = typeOf.get(k);
    if (!type) throw new JobError(`key column ${k} of ${t.sourceTable} is not in Iceberg table ${t.icebergTable}`);
    return textToIceberg(type)(quoteIdent(`c${i}`));
  }).join(', ');
  const staged = [rowsName, keysName];
  const conv = t.columns.map((c, i) => textToIceberg(c.type)(quoteIdent(`c${i}`)));
  let insertSelect = `SELECT ${conv.join(', ')} FROM ${rowsRef}`;
  const partial = batch.upserts.some((ch) => ch.unavailable && ch.unavailable.length > 0);
  if (partial && upserts > 0) {
    // unchanged TOASTed values were not sent: take them from the current rows, read before the
    // transaction deletes them (a transaction cannot also write the in-memory copy)
    const oldName = `cdc_old_${++stageCounter}`;
    const unavailName = `cdc_unavail_${++stageCounter}`;
    const unavailRef = await lakehouse.stageTextRows(unavailName, 1, batch.upserts.map((ch) => [(ch.unavailable ?? []).join(',') || null]));
    const rowKey = (k: string) => textToIceberg(typeOf.get(k)!)(`r.${quoteIdent(`c${names.indexOf(k)}`)}`);
    await lakehouse.run(`CREATE OR REPLACE TABLE memory.main.${quoteIdent(oldName)} AS SELECT * FROM ${target} WHERE (${keyList}) IN ` +
      `(SELECT ${t.keyColumns.map(rowKey).join(', ')} FROM ${rowsRef} r JOIN ${unavailRef} u USING (row_index) WHERE u.c0 IS NOT NULL)`);
    staged.push(oldName, unavailName);
    const keyJoin = t.keyColumns.map((k) => `o.${quoteIdent(k)} = ${rowKey(k)}`).join(' AND ');
    const cols = t.columns.map((c, i) => `CASE WHEN list_contains(string_split(u.c0, ','), ${quoteString(c.name)}) THEN o.${quoteIdent(c.name)} ELSE ${textToIceberg(c.type)(`r.${quoteIdent(`c${i}`)}`)} END`);
    insertSelect = `SELECT ${cols.join(', ')} FROM ${rowsRef} r JOIN ${unavailRef} u USING (row_index) LEFT JOIN memory.main.${quoteIdent(oldName)} o ON ${keyJoin}`;
  }
  return {
    target: t,
    staged,
    statements: async (tx) => {
      if (batch.truncate) await timer.time('delete', () => tx.run(`DELETE FROM ${target}`));
      else if (keys.length > 0) {
        await timer.time('delete', () => tx.run(`DELETE FROM ${target} WHERE (${keyList}) IN (SELECT ${keyConv} FROM ${keysRef})`));
      }
      if (upserts > 0) await timer.time('insert', () => tx.run(`INSERT INTO ${target} (${names.map(quoteIdent).join(', ')}) ${insertSelect}`));
      return t.changes.length;
    },
  };
}

async function prepareChangelog(lakehouse: Lakehouse, namespace: string, t: TableTarget, deadLetters: DeadLetter[], timer: PhaseTimer): Promise<PreparedTable> {
  const data = t.columns.filter((c) => !CHANGELOG_COLUMNS.some((m) => m.name === c.name));
  const all = [...data, ...CHANGELOG_COLUMNS];
  const rows = t.changes.map((ch) => {
    const image = ch.after ?? ch.before ?? {};
    return [...data.map((c) => image[c.name] ?? null), ch.op, ch.lsn.toString(), new Date(ch.tsMs).toISOString()];
  });
  const name = `cdc_log_${++stageCounter}`;
  const ref = await timer.time('stage', () => lakehouse.stageTextRows(name, all.length, rows));
  const bad = await timer.time('check', () => invalidRows(lakehouse, ref, data));
  for (const [index, reason] of bad) deadLetters.push(deadLetter(t.changes[index]!, t.sourceTable, reason));
  if (bad.size > 0) await lakehouse.run(`DELETE FROM ${ref} WHERE row_index IN (${[...bad.keys()].join(', ')})`);
  const target = lakehouse.ref(namespace, t.icebergTable);
  const conv = all.map((c, i) => textToIceberg(c.type)(quoteIdent(`c${i}`))).join(', ');
  return {
    target: t,
    staged: [name],
    statements: async (tx) => {
      if (rows.length > bad.size) await timer.time('insert', () => tx.run(`INSERT INTO ${target} (${all.map((c) => quoteIdent(c.name)).join(', ')}) SELECT ${conv} FROM ${ref}`));
      return t.changes.length;
    },
  };
}

export async function applyMicroBatch(
  lakehouse: Lakehouse,
  namespace: string,
  status: CdcStatusStore,
  targets: TableTarget[],
  statusRows: (applied: Map<string, number>) => CdcStatusRow[],
  deadLettersIn: DeadLetter[],
): Promise<BatchResult> {
  const deadLetters = [...deadLettersIn];
  const prepared: PreparedTable[] = [];
  const timer = new PhaseTimer();
  try {
    for (const t of targets) {
      if (t.changes.length === 0) continue;
      prepared.push(t.mode === 'keyed' ? await prepareKeyed(lakehouse, namespace, t, deadLetters, timer) : await prepareChangelog(lakehouse, namespace, t, deadLetters, timer));
    }
    const applied = new Map<string, number>();
    let statements = 0;
    await timer.time('transaction', () => lakehouse.transaction(async (tx) => {
      for (const p of prepared) applied.set(p.target.sourceTable, await p.statements(tx));
      await timer.time('status', async () => {
        for (const row of statusRows(applied)) await status.upsert(row, tx);
        if (deadLetters.length > 0) {
          const rows = deadLetters.map((d) => [new Date().toISOString(), d.table_name, d.topic, d.partition, d.offset, d.key, d.value, d.error]);
          for (const sql of appendStatements(tx.ref(namespace, DEAD_LETTERS_TABLE), DEAD_LETTER_COLUMNS, rows)) await tx.run(sql);
        }
      });
      statements = ['delete', 'insert', 'status'].reduce((sum, p) => sum + (timer.seconds[p] ?? 0), 0);
    }));
    // DuckDB writes data and delete files and calls the catalog at COMMIT
    const { transaction = 0, ...phases } = timer.seconds;
    phases.commit = transaction - statements;
    return { applied, deadLetters, phases };
  } finally {
    for (const p of prepared) for (const s of p.staged) await lakehouse.dropStaged(s).catch(() => undefined);
  }
}

export type { TextRow };
