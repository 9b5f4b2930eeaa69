/**
 * Applying one micro-batch to Iceberg: per table DELETE the touched keys and INSERT their final rows
 * (a MERGE in two statements, which sidesteps MERGE's one-action limit), or append to a changelog
 * table; then `_cdc_status` (positions, Kafka offsets) and `_dead_letters` — all in ONE Iceberg
 * transaction, which the catalog commits atomically across tables.
 */
import { JobError } from '../errors.js';
import type { Lakehouse, LakehouseTx } from '../lakehouse/session.js';
import { appendStatements } from '../lakehouse/session.js';
import { quoteIdent } from '../lakehouse/sql.js';
import type { IcebergPrimitive } from '../lakehouse/types.js';
import { hasFiniteRange, textToIceberg, unrepresentableCondition, type ValuePolicy } from '../source/postgres/type-mapping.js';
import type { CdcStatusRow, CdcStatusStore } from '../state/cdc-status.js';
import { DEAD_LETTER_COLUMNS, DEAD_LETTERS_TABLE, type DeadLetter } from '../state/dead-letters.js';
import { reduceKeyed, type KeyedBatch, type TableChange, type TextRow } from './changes.js';
import { logger } from '../log/logger.js';

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
}

export interface TableTarget {
  sourceTable: string;
  icebergTable: string;
  mode: 'keyed' | 'changelog';
  keyColumns: string[];
  /** Current Iceberg columns of the target table, in order. */
  columns: { name: string; type: IcebergPrimitive }[];
  changes: PendingChange[];
  /** What to do with a value the column's Iceberg type cannot hold (sources.yaml unrepresentable_values); `fail` when absent. */
  policyOf?: ((column: string) => ValuePolicy) | undefined;
  /** Computes the generated columns of these rows (change events lack them), when the table has any. */
  fillGenerated?: ((rows: TextRow[]) => Promise<void>) | undefined;
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

interface PolicyColumn { name: string; type: IcebergPrimitive; policy: ValuePolicy }

/** The target's columns with the value policy each converts by. */
function policyColumns(t: TableTarget, columns: { name: string; type: IcebergPrimitive }[] = t.columns): PolicyColumn[] {
  return columns.map((c) => ({ ...c, policy: t.policyOf?.(c.name) ?? 'fail' }));
}

/** A key column's conversion: by the column's policy, so a clamped key finds the row written clamped. */
function keyConversion(t: TableTarget, column: string, type: IcebergPrimitive): (textExpr: string) => string {
  return textToIceberg(type, t.policyOf?.(column) ?? 'fail');
}

/** Each column's text → Iceberg expression on the staged `c<i>` columns (or `prefix.c<i>`). */
function conversions(columns: PolicyColumn[], prefix = ''): string[] {
  return columns.map((c, i) => textToIceberg(c.type, c.policy)(`${prefix}${quoteIdent(`c${i}`)}`));
}

/**
 * Rows whose text does not convert to the column's Iceberg type, with the culprit columns: values
 * that are no value of the type, and under `fail` values the type cannot hold (±infinity, years
 * beyond 1..9999, NaN in a decimal). Under `clamp` and `null` those convert, and are counted.
 */
async function invalidRows(lakehouse: Lakehouse, table: string, staged: string, columns: PolicyColumn[]): Promise<Map<number, string>> {
  const checks = columns.map((c, i) => {
    const col = quoteIdent(`c${i}`);
    const converted = `TRY(${textToIceberg(c.type, c.policy)(col)})`;
    const unrepresentable = unrepresentableCondition(c.type, col);
    const nulled = c.policy === 'null' || (c.policy === 'clamp' && !hasFiniteRange(c.type));
    const failed = `(${converted} IS NULL${nulled ? ` AND NOT ${unrepresentable}` : ''})`;
    const bad = `${failed}${hasFiniteRange(c.type) ? ` OR NOT isfinite(${converted})` : ''}${c.policy === 'fail' ? ` OR ${unrepresentable}` : ''}`;
    return { c, expr: `(${col} IS NOT NULL AND (${bad}))`, col, adjusted: c.policy === 'clamp' || c.policy === 'null' ? unrepresentable : undefined };
  }).filter(({ c }) => c.type !== 'string');
  const adjusted = checks.filter((ch) => ch.adjusted && ch.adjusted !== 'FALSE');
  if (adjusted.length > 0) {
    const [counts] = await lakehouse.query(`SELECT ${adjusted.map((ch, i) => `count_if(${ch.col} IS NOT NULL AND ${ch.adjusted}) AS n${i}`).join(', ')} FROM ${staged}`);
    adjusted.forEach((ch, i) => {
      const n = Number(counts?.[`n${i}`] ?? 0);
      if (n > 0) logger.warn(`${table}.${ch.c.name}: ${n} value(s) Iceberg ${ch.c.type} cannot hold ${ch.c.policy === 'clamp' ? 'clamped' : 'written as NULL'} (policy ${ch.c.policy})`, { table, column: ch.c.name, count: n });
    });
  }
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

/** The exact text of an Iceberg value, which textToIceberg turns back into the same value. */
function icebergToText(type: IcebergPrimitive, expr: string): string {
  if (type === 'string') return expr;
  if (type === 'binary') return `'\\x' || lower(hex(${expr}))`;
  return `CAST(${expr} AS VARCHAR)`;
}

/**
 * Values Debezium did not send and no earlier change of the batch holds: read from the current Iceberg
 * row of the key the row had (its old key after a key change), before the transaction rewrites it.
 */
async function fillFromIceberg(lakehouse: Lakehouse, target: string, t: TableTarget, batch: KeyedBatch<PendingChange>): Promise<void> {
  const wanted = batch.upserts.flatMap((ch, index) => (ch.unavailable?.length && batch.fillFrom[index] ? [index] : []));
  if (wanted.length === 0) return;
  const typeOf = new Map(t.columns.map((c) => [c.name, c.type]));
  const columns = [...new Set(wanted.flatMap((i) => batch.upserts[i]!.unavailable!))].filter((c) => typeOf.has(c));
  const keysName = `cdc_fill_${++stageCounter}`;
  const keysRef = await lakehouse.stageTextRows(keysName, t.keyColumns.length, wanted.map((i) => t.keyColumns.map((k) => batch.fillFrom[i]![k] ?? null)));
  try {
    const join = t.keyColumns.map((k, i) => `o.${quoteIdent(k)} = ${keyConversion(t, k, typeOf.get(k)!)(`f.${quoteIdent(`c${i}`)}`)}`).join(' AND ');
    const values = columns.map((c, i) => `${icebergToText(typeOf.get(c)!, `o.${quoteIdent(c)}`)} AS v${i}`);
    const rows = await lakehouse.query(`SELECT f.row_index${values.map((v) => `, ${v}`).join('')} FROM ${keysRef} f JOIN ${target} o ON ${join}`);
    const found = new Set<number>();
    for (const r of rows) {
      const index = wanted[Number(r.row_index)]!;
      const ch = batch.upserts[index]!;
      const after = { ...ch.after };
      for (const [i, c] of columns.entries()) if (ch.unavailable!.includes(c)) after[c] = r[`v${i}`] === null ? null : String(r[`v${i}`]);
      batch.upserts[index] = { ...ch, after, unavailable: [] };
      found.add(index);
    }
    const missing = wanted.filter((i) => !found.has(i));
    if (missing.length > 0) {
      logger.warn(`${missing.length} change(s) of ${t.sourceTable} lack unchanged TOASTed values and their row is not in Iceberg: those columns are written as NULL`, {
        table: t.sourceTable, columns: [...new Set(missing.flatMap((i) => batch.upserts[i]!.unavailable!))],
      });
    }
  } finally {
    await lakehouse.dropStaged(keysName);
  }
}

interface PreparedTable { target: TableTarget; statements: (tx: LakehouseTx) => Promise<number>; staged: string[] }

async function prepareKeyed(lakehouse: Lakehouse, namespace: string, t: TableTarget, deadLetters: DeadLetter[], timer: PhaseTimer): Promise<PreparedTable> {
  const batch = reduceKeyed(t.changes, t.keyColumns);
  await timer.time('toast', () => fillFromIceberg(lakehouse, lakehouse.ref(namespace, t.icebergTable), t, batch));
  if (t.fillGenerated) await timer.time('generated', () => t.fillGenerated!(batch.upserts.map((ch) => (ch.after = { ...ch.after }))));
  const names = t.columns.map((c) => c.name);
  const rowsName = `cdc_rows_${++stageCounter}`;
  const rowsRef = await timer.time('stage', () => lakehouse.stageTextRows(rowsName, names.length, batch.upserts.map((ch) => names.map((n) => ch.after?.[n] ?? null))));
  const columns = policyColumns(t);
  const bad = await timer.time('check', () => invalidRows(lakehouse, t.sourceTable, rowsRef, columns));
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
    return keyConversion(t, k, type)(quoteIdent(`c${i}`));
  }).join(', ');
  const staged = [rowsName, keysName];
  const conv = conversions(columns);
  const insertSelect = `SELECT ${conv.join(', ')} FROM ${rowsRef}`;
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
  if (t.fillGenerated) {
    const images = t.changes.filter((ch) => ch.after).map((ch) => (ch.after = { ...ch.after }));
    await timer.time('generated', () => t.fillGenerated!(images));
  }
  const rows = t.changes.map((ch) => {
    const image = ch.after ?? ch.before ?? {};
    return [...data.map((c) => image[c.name] ?? null), ch.op, ch.lsn.toString(), new Date(ch.tsMs).toISOString()];
  });
  const name = `cdc_log_${++stageCounter}`;
  const ref = await timer.time('stage', () => lakehouse.stageTextRows(name, all.length, rows));
  const bad = await timer.time('check', () => invalidRows(lakehouse, t.sourceTable, ref, policyColumns(t, data)));
  for (const [index, reason] of bad) deadLetters.push(deadLetter(t.changes[index]!, t.sourceTable, reason));
  if (bad.size > 0) await lakehouse.run(`DELETE FROM ${ref} WHERE row_index IN (${[...bad.keys()].join(', ')})`);
  const target = lakehouse.ref(namespace, t.icebergTable);
  const conv = conversions(policyColumns(t, all)).join(', ');
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
